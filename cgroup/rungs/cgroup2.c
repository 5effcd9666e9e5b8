/*
 * Rung 1: a fresh cgroup v2 per box, killed with cgroup.kill, emptiness from
 * cgroup.events. These ops are also the outer half of cgroup2+pidns: they
 * make, kill, watch and remove the box's cgroup, and pidns's ops start and
 * signal what runs in it. Each context has a death guard (cgroup2_guard.h)
 * that kills its tree if we die, so that a SIGKILL of the supervisor leaves
 * nothing running here either.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "box-internal.h"
#include "cgfs.h"
#include "cgroup2_guard.h"
#include "ctxdir.h"

/* A swept stale box is waited for this long to empty before its removal is tried. */
#define SWEEP_WAIT_MS 2000

/*
 * Sweeps one stale context directory: its owner held an flock on it for its
 * whole life, so taking the lock proves that the owner is gone (SIGKILL, a
 * crash) and its boxes are nobody's. The kill goes through the fd we locked;
 * the name is removed only while it still is that directory, and the lock is
 * kept until then. Returns 0 once removed.
 */
static int sweep_one(int parentfd, const char *name, void *data)
{
	struct stat st;
	int fd, r;

	(void)data;
	fd = cg_open_child(parentfd, name);
	if (fd < 0)
		return fd;
	/* A supervisor of another user made it, or someone else did: not ours to sweep. */
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	(void)cg_kill_all(fd, false);
	(void)cg_wait_events(fd, false, SWEEP_WAIT_MS);
	r = cg_remove_tree(parentfd, name, fd);
	close(fd);
	return r;
}

/*
 * Creates and locks the context directory name. -EEXIST: the name is taken,
 * and whoever made it, it is not ours. -EAGAIN: a sweeper took our fresh
 * directory between mkdir and flock (it holds the lock, or has removed it):
 * never touch it, take another name. After the flock the name must still be
 * the directory we hold: from then on no sweeper can take it.
 */
static int make_ctx_dir(int parentfd, const char *name, int *out)
{
	struct stat held, named;
	int fd, r;

	if (mkdirat(parentfd, name, 0755) < 0)
		return -errno;
	fd = cg_open_child(parentfd, name);
	if (fd < 0)
		return fd == -ENOENT ? -EAGAIN : fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
	else if (fstat(fd, &held) < 0 || fstatat(parentfd, name, &named, AT_SYMLINK_NOFOLLOW) < 0)
		r = errno == ENOENT ? -EAGAIN : -errno;
	else if (held.st_dev != named.st_dev || held.st_ino != named.st_ino)
		r = -EAGAIN;
	else
		r = 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

/* Opens the parent and checks, on that very fd, that it is a cgroup2 directory whose paths fit. */
static int open_ctx_parent(struct box_ctx *ctx, const char *parent)
{
	struct statfs sfs;
	int fd, r;

	if (strlen(parent) > BOX_CGROUP_PARENT_MAX) {
		snprintf(ctx->why, sizeof(ctx->why),
			 "cgroup2: the cgroup parent (--cgroup-parent, $NSRELOAD_CGROUP_PARENT or "
			 "box.cgroup_parent) is too long: %zu bytes, at most %zu fit",
			 strlen(parent), (size_t)BOX_CGROUP_PARENT_MAX);
		return -ENAMETOOLONG;
	}
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(ctx->why, sizeof(ctx->why), "cgroup2: cannot open %s: %s", parent, strerror(-r));
		return r;
	}
	/* The probe checked the path; the directory there may have changed since. */
	if (fstatfs(fd, &sfs) < 0)
		sfs.f_type = 0;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		r = -EMEDIUMTYPE;
		snprintf(ctx->why, sizeof(ctx->why),
			 "cgroup2: %s is not a directory of a cgroup2 file system", parent);
		close(fd);
		return r;
	}
	return fd;
}

static int cgroup2_ctx_init(struct box_ctx *ctx, const struct box_ctx_opts *opts)
{
	const char *parent = ctx->probe.cgroup_dir;
	char name[BOX_CTX_NAME_MAX + 1];
	int parentfd, fd = -1, r = -EEXIST;

	parentfd = open_ctx_parent(ctx, parent);
	if (parentfd < 0)
		return parentfd;
	box_ctxdir_sweep(parentfd, parent, opts, sweep_one, NULL);
	for (int i = 0; i < CTX_NAME_TRIES && (r == -EEXIST || r == -EAGAIN); i++) {
		box_ctxdir_make_name(name, sizeof(name));
		r = make_ctx_dir(parentfd, name, &fd);
	}
	if (r < 0) {
		snprintf(ctx->why, sizeof(ctx->why),
			 "cgroup2: cannot create a context directory in %.1900s: %s", parent,
			 r == -EEXIST || r == -EAGAIN ? "every name tried was taken" : strerror(-r));
		close(parentfd);
		return r;
	}
	r = cg_guard_start(fd, ctx->probe.hide_cgroup_kill, &ctx->guard_pid, &ctx->guard_pidfd);
	if (r < 0) {
		snprintf(ctx->why, sizeof(ctx->why),
			 "cgroup2: cannot start the guard that kills the boxes if nsreload dies: %s",
			 strerror(-r));
		(void)cg_rmdir_same(parentfd, name, fd);
		close(fd);
		close(parentfd);
		return r;
	}
	ctx->parentfd = parentfd;
	ctx->dirfd = fd;
	snprintf(ctx->name, sizeof(ctx->name), "%s", name);
	/* open_ctx_parent() refused a longer parent: the precision only tells the compiler so. */
	snprintf(ctx->dir, sizeof(ctx->dir), "%.*s/%s", (int)BOX_CGROUP_PARENT_MAX, parent, name);
	return 0;
}

static int cgroup2_ctx_fini(struct box_ctx *ctx)
{
	int r;

	if (ctx->dirfd < 0)
		return 0;
	/* Removed while we still hold the lock, so that no sweeper can take the directory midway. */
	r = cg_remove_tree(ctx->parentfd, ctx->name, ctx->dirfd);
	/* Our directory was removed by someone else and its name taken again: nothing of ours is left. */
	if (r == -ESTALE)
		r = 0;
	close(ctx->dirfd);
	close(ctx->parentfd);
	ctx->dirfd = -1;
	ctx->parentfd = -1;
	/* After the removal: had we died during it, the guard would have killed what was left. */
	cg_guard_stop(ctx->guard_pid, ctx->guard_pidfd);
	ctx->guard_pid = 0;
	ctx->guard_pidfd = -1;
	return r;
}

static int cgroup2_create(struct box *b)
{
	int r;

	if (mkdirat(b->ctx->dirfd, b->name, 0755) < 0)
		return -errno;
	b->cg_fd = cg_open_child(b->ctx->dirfd, b->name);
	/* Without an fd to check it by, the directory stays for box_ctx_free() to remove with ours. */
	if (b->cg_fd < 0) {
		r = b->cg_fd;
		b->cg_fd = -1;
		return r;
	}
	b->events_fd = openat(b->cg_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (b->events_fd < 0) {
		r = -errno;
		(void)cg_rmdir_same(b->ctx->dirfd, b->name, b->cg_fd);
		close(b->cg_fd);
		b->cg_fd = -1;
		return r;
	}
	snprintf(b->path, sizeof(b->path), "%s/%s", b->ctx->dir, b->name);
	return 0;
}

static int cgroup2_spawn(struct box *b, const struct box_spawn *sp)
{
	return box_spawn_direct(b, sp, false);
}

static int cgroup2_signal_all(struct box *b, int sig)
{
	return cg_signal_all(b->cg_fd, sig);
}

/* cgroup.kill is one write; the freeze-and-kill rounds of older kernels go one per pass. */
static int cgroup2_kill(struct box *b)
{
	int r = cg_kill_pass(b->cg_fd, b->ctx->probe.hide_cgroup_kill);

	if (r <= 0)
		return r;
	if (b->kill_passes + 1 >= CG_KILL_PASSES)
		return -EBUSY;
	return cg_kill_pass_pause_ms((int)b->kill_passes) * 1000;
}

/* Empty is "populated 0" with the main process reaped. */
static int cgroup2_update(struct box *b)
{
	struct cg_events ev;
	char buf[256];
	ssize_t n;
	int r;

	/* Reading through events_fd itself re-arms its POLLPRI; a level-triggered epoll would spin otherwise.
	 */
	n = pread(b->events_fd, buf, sizeof(buf) - 1, 0);
	/* ENODEV: someone removed our cgroup, which only an empty one can be. */
	if (n < 0 && errno == ENODEV)
		n = (ssize_t)snprintf(buf, sizeof(buf), "populated 0\n");
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	r = cg_parse_events(buf, &ev);
	if (r == 0 && ev.populated < 0)
		r = -EINVAL;
	if (r < 0)
		return r;
	return ev.populated == 0 && b->pid_reaped;
}

static int cgroup2_destroy(struct box *b)
{
	int r;

	if (b->cg_fd < 0)
		return 0;
	if (b->events_fd >= 0) {
		close(b->events_fd);
		b->events_fd = -1;
	}
	r = cg_remove_tree(b->ctx->dirfd, b->name, b->cg_fd);
	/* The box was removed by someone else and its name taken again: not ours to remove. */
	if (r == -ESTALE)
		r = 0;
	close(b->cg_fd);
	b->cg_fd = -1;
	return r;
}

static bool cgroup2_works(const struct box_probe *p, char *why, size_t size)
{
	if (!p->cgroup2.ok)
		box_why(why, size, "%s", p->cgroup2.detail);
	else if (!p->cgroup_writable.ok && p->systemd_asked && !p->systemd_scope.ok)
		box_why(why, size, "%s; and no delegated scope from systemd: %s", p->cgroup_writable.detail,
			p->systemd_scope.detail);
	else if (!p->cgroup_writable.ok)
		box_why(why, size, "%s", p->cgroup_writable.detail);
	else if (!p->cgroup_kill.ok && !p->cgroup_freeze.ok)
		box_why(why, size, "no way to kill a cgroup: %s; %s", p->cgroup_kill.detail,
			p->cgroup_freeze.detail);
	else if (!p->pidfd.ok)
		box_why(why, size, "%s", p->pidfd.detail);
	else
		return true;
	return false;
}

const struct box_ops box_cgroup2_ops = {
	.probe_parts = BOX_PROBE_CGROUP | BOX_PROBE_PIDFD,
	.works = cgroup2_works,
	.ctx_init = cgroup2_ctx_init,
	.ctx_fini = cgroup2_ctx_fini,
	.create = cgroup2_create,
	.destroy = cgroup2_destroy,
	.spawn = cgroup2_spawn,
	.signal_all = cgroup2_signal_all,
	.kill = cgroup2_kill,
	.update = cgroup2_update,
};
