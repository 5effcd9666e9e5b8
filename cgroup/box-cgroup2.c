/* Rung 1: a fresh cgroup v2 per box, killed with cgroup.kill, emptiness from cgroup.events. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box-internal.h"
#include "cgfs.h"

#define CTX_PREFIX "nsreload."

/* Waits (bounded) for a cgroup to hold no process. */
static int wait_unpopulated(int dirfd, int timeout_ms)
{
	struct pollfd pfd;
	int fd, r;

	fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pfd.fd = fd;
	pfd.events = POLLPRI;
	for (int waited = 0;; waited += 10) {
		r = cg_is_populated(dirfd);
		if (r <= 0 || waited >= timeout_ms)
			break;
		(void)poll(&pfd, 1, 10);
	}
	close(fd);
	return r < 0 ? r : (r ? -ETIMEDOUT : 0);
}

/* True when name is nsreload.<digits>, the only names we ever sweep. */
static bool is_ctx_dir_name(const char *name, pid_t *pid)
{
	const char *p = name + strlen(CTX_PREFIX);
	char *end;
	long v;

	if (strncmp(name, CTX_PREFIX, strlen(CTX_PREFIX)) != 0 || *p < '0' || *p > '9')
		return false;
	v = strtol(p, &end, 10);
	if (*end != '\0' || v <= 0)
		return false;
	*pid = (pid_t)v;
	return true;
}

/*
 * A live supervisor holds an flock on its nsreload.<pid> directory. If we can
 * take the lock and the pid is gone, the owner died (SIGKILL, a crash) and its
 * boxes may still hold processes: kill them and remove the directory.
 */
static void sweep_stale(int parentfd, const char *parent, const struct box_ctx_opts *opts)
{
	DIR *d;
	struct dirent *de;
	int dfd = dup(parentfd);

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		pid_t pid;
		int fd;

		if (de->d_type != DT_DIR || !is_ctx_dir_name(de->d_name, &pid))
			continue;
		if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		fd = openat(parentfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		(void)cg_kill_all(fd, false);
		(void)wait_unpopulated(fd, 2000);
		close(fd);
		(void)cg_remove_tree(parentfd, de->d_name);
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		if (opts->on_stale)
			opts->on_stale(path, opts->data);
	}
	closedir(d);
}

int cgroup2_ctx_init(struct box_ctx *ctx, const char *parent, const struct box_ctx_opts *opts)
{
	char name[64];
	int parentfd, r = 0;

	parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd < 0) {
		r = -errno;
		snprintf(ctx->why, sizeof(ctx->why), "cgroup2: cannot open %s: %s", parent, strerror(-r));
		return r;
	}
	sweep_stale(parentfd, parent, opts);
	snprintf(name, sizeof(name), CTX_PREFIX "%d", (int)getpid());
	if (mkdirat(parentfd, name, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(ctx->why, sizeof(ctx->why), "cgroup2: cannot create %s/%s: %s", parent, name,
			 strerror(-r));
		close(parentfd);
		return r;
	}
	ctx->dirfd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->dirfd < 0 || flock(ctx->dirfd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(ctx->why, sizeof(ctx->why), "cgroup2: cannot lock %s/%s: %s", parent, name,
			 strerror(-r));
		if (ctx->dirfd >= 0)
			close(ctx->dirfd);
		ctx->dirfd = -1;
		(void)unlinkat(parentfd, name, AT_REMOVEDIR);
		close(parentfd);
		return r;
	}
	close(parentfd);
	snprintf(ctx->dir, sizeof(ctx->dir), "%s/%s", parent, name);
	return 0;
}

int cgroup2_ctx_fini(struct box_ctx *ctx)
{
	char parent[PATH_MAX], *slash;
	int parentfd, r = 0;

	if (ctx->dirfd < 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", ctx->dir);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		parentfd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parentfd >= 0) {
			r = cg_remove_tree(parentfd, slash + 1);
			close(parentfd);
		}
	}
	close(ctx->dirfd);
	ctx->dirfd = -1;
	return r;
}

int cgroup2_box_create(struct box *b)
{
	int r;

	if (mkdirat(b->ctx->dirfd, b->name, 0755) < 0)
		return -errno;
	b->cg_fd = openat(b->ctx->dirfd, b->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->cg_fd < 0)
		goto fail;
	b->events_fd = openat(b->cg_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (b->events_fd < 0)
		goto fail;
	snprintf(b->path, sizeof(b->path), "%s/%s", b->ctx->dir, b->name);
	return 0;
fail:
	r = -errno;
	if (b->cg_fd >= 0)
		close(b->cg_fd);
	b->cg_fd = -1;
	(void)unlinkat(b->ctx->dirfd, b->name, AT_REMOVEDIR);
	return r;
}

int cgroup2_box_spawn(struct box *b, const struct box_spawn *sp, bool pidns)
{
	if (pidns)
		return pidns_box_spawn(b, sp, b->cg_fd);
	return box_spawn_direct(b, sp, b->cg_fd, false);
}

int cgroup2_box_signal_all(struct box *b, int sig)
{
	return cg_signal_all(b->cg_fd, sig);
}

int cgroup2_box_kill(struct box *b)
{
	int r = cg_kill_all(b->cg_fd, b->ctx->force_freeze);
	/* On the combined rung, also take down our init so that its exit is seen. */
	if (b->rung == BOX_RUNG_CGROUP2_PIDNS && b->pid > 0 && !b->pid_reaped)
		(void)kill(b->pid, SIGKILL);
	return r;
}

int cgroup2_box_update(struct box *b)
{
	struct cg_events ev;
	char buf[256];
	ssize_t n;
	int r;

	if (b->rung == BOX_RUNG_CGROUP2_PIDNS) {
		r = pidns_box_update(b);
		if (r < 0)
			return r;
		b->empty = false;
	} else {
		r = box_try_reap_main(b);
		if (r < 0)
			return r;
	}
	/* Reading through events_fd itself re-arms its POLLPRI; a level-triggered epoll would spin otherwise.
	 */
	n = pread(b->events_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	r = cg_parse_events(buf, &ev);
	if (r == 0 && ev.populated < 0)
		r = -EINVAL;
	if (r < 0)
		return r;
	if (ev.populated == 0 && b->pid_reaped) {
		/* Orphans that died last are zombies of ours until reaped. */
		(void)box_ctx_reap(b->ctx);
		b->empty = true;
	}
	return 0;
}

int cgroup2_box_destroy(struct box *b)
{
	if (b->cg_fd < 0)
		return 0;
	if (b->events_fd >= 0) {
		close(b->events_fd);
		b->events_fd = -1;
	}
	close(b->cg_fd);
	b->cg_fd = -1;
	return cg_remove_tree(b->ctx->dirfd, b->name);
}
