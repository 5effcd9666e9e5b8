/*
 * The cgroup v1 side of the per-box limits (limits.c says the model): a
 * context directory below our own cgroup of each v1 hierarchy a limit needs,
 * a directory per box below that, made, set and removed with libcgroup
 * through cgv1.h (the one libcgroup glue), and v1's notifications.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "box-internal.h"
#include "cgfs.h"
#include "cgv1.h"
#include "ctxdir.h"

/* ctxdir.h's sweep_one for a v1 context directory: locked (its owner gone) and empty, it is removed. */
static int v1_sweep_one(int parentfd, const char *name, void *data)
{
	const struct cgv1_cg *own = data;
	struct cgv1_cg stale;
	int r;

	(void)parentfd;
	r = cgv1_open_below(own, name, &stale);
	if (r < 0)
		return r;
	r = flock(stale.fd, LOCK_EX | LOCK_NB) < 0 ? -errno : cgv1_delete(own, &stale);
	if (r < 0)
		cgv1_close(&stale);
	return r;
}

/*
 * Removes the context directories below own whose owner is gone, as the
 * cgroup rungs sweep theirs (ctxdir.h): each held an flock while its
 * nsreload lived, so taking the lock proves it is gone. Only empty ones go
 * (cgv1_delete removes nothing that still lists a task); a box of a dead
 * nsreload was killed by its rung (the guard, the namespace), so its
 * directories are.
 */
static void v1_sweep(struct cgv1_cg *own)
{
	box_ctxdir_sweep(own->fd, own->path, &(struct box_ctx_opts){ 0 }, v1_sweep_one, own);
}

/*
 * The parent of our context directories in ctl's hierarchy: our own cgroup
 * of it, or $NSRELOAD_CGROUP1_PARENT below it (a test's own parent).
 */
static int v1_open_parent(const char *controller, struct cgv1_cg *out)
{
	struct cgv1_cg own;
	const char *rel = getenv("NSRELOAD_CGROUP1_PARENT");
	int r = cgv1_open_own(controller, &own);

	if (r < 0 || !rel || !rel[0]) {
		if (r == 0)
			*out = own;
		return r;
	}
	r = cgv1_open_below(&own, rel, out);
	cgv1_close(&own);
	return r;
}

/* A context directory of ours in ctl's v1 hierarchy, below our own cgroup there, locked. */
int box_lim_v1_ctx_init(struct box_ctx *ctx, enum box_lim_ctl ctl, const char *controller, const char *key)
{
	struct cgv1_cg *own = calloc(1, sizeof(*own)), *cg = calloc(1, sizeof(*cg));
	char name[BOX_CTX_NAME_MAX + 1];
	int r;

	if (!own || !cg) {
		free(own);
		free(cg);
		return -ENOMEM;
	}
	r = v1_open_parent(controller, own);
	if (r == 0) {
		v1_sweep(own);
		/* The cgroup2 rung's name where there is one, so that both say whose it is; else a fresh one.
		 */
		if (ctx->name[0])
			snprintf(name, sizeof(name), "%s", ctx->name);
		else
			box_ctxdir_make_name(name, sizeof(name));
		r = cgv1_create(own, name, cg);
		if (r == 0 && (flock(cg->fd, LOCK_EX | LOCK_NB) < 0 || cgv1_same(own, cg) < 0)) {
			r = -EAGAIN;
			(void)cgv1_delete(own, cg);
		}
		if (r < 0)
			cgv1_close(own);
	}
	if (r < 0) {
		snprintf(ctx->why, sizeof(ctx->why), "%s: cannot make a cgroup in the v1 %s hierarchy: %s",
			 key, controller, strerror(-r));
		free(own);
		free(cg);
		/* Not mounted: the caller says "neither delegated nor in a v1 hierarchy". */
		if (r == -ENOENT)
			ctx->why[0] = '\0';
		return r == -ENOENT ? -ENOENT : -ENOTSUP;
	}
	ctx->lim_v1_own[ctl] = own;
	ctx->lim_v1[ctl] = cg;
	return 0;
}

void box_lim_v1_ctx_fini(struct box_ctx *ctx, enum box_lim_ctl ctl)
{
	if (ctx->lim_v1[ctl]) {
		if (cgv1_delete(ctx->lim_v1_own[ctl], ctx->lim_v1[ctl]) < 0)
			cgv1_close(ctx->lim_v1[ctl]);
		free(ctx->lim_v1[ctl]);
		ctx->lim_v1[ctl] = NULL;
	}
	if (ctx->lim_v1_own[ctl]) {
		cgv1_close(ctx->lim_v1_own[ctl]);
		free(ctx->lim_v1_own[ctl]);
		ctx->lim_v1_own[ctl] = NULL;
	}
}

/* Writes key = value into cg, as a number. */
static int v1_set_num(const struct cgv1_cg *cg, const char *key, uint64_t v)
{
	char val[32];

	snprintf(val, sizeof(val), "%" PRIu64, v);
	return cgv1_set(cg, key, val);
}

/* The box's own directory in ctl's hierarchy, with lim's value, and its cgroup.procs for the child. */
int box_lim_v1_create(struct box *b, enum box_lim_ctl ctl, const struct box_limits *lim)
{
	struct cgv1_cg *cg = calloc(1, sizeof(*cg));
	int r;

	if (!cg)
		return -ENOMEM;
	r = cgv1_create(b->ctx->lim_v1[ctl], b->name, cg);
	if (r < 0) {
		free(cg);
		return r;
	}
	b->lim_v1[ctl] = cg;
	if (ctl == BOX_LIM_MEMORY) {
		r = v1_set_num(cg, "memory.limit_in_bytes", lim->memory_max);
		/* Memory and swap together at the same limit: no swap. Absent without swap accounting. */
		if (r == 0 && faccessat(cg->fd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0)
			r = v1_set_num(cg, "memory.memsw.limit_in_bytes", lim->memory_max);
	} else if (ctl == BOX_LIM_PIDS) {
		r = v1_set_num(cg, "pids.max", lim->pids_max);
	} else {
		r = v1_set_num(cg, "cpu.cfs_period_us", lim->cpu_period_us ? lim->cpu_period_us : 100000);
		if (r == 0)
			r = v1_set_num(cg, "cpu.cfs_quota_us", lim->cpu_quota_us);
	}
	if (r == 0) {
		b->lim_join_fd[ctl] = cgv1_procs_fd(cg);
		if (b->lim_join_fd[ctl] < 0)
			r = b->lim_join_fd[ctl];
	}
	return r;
}

int box_lim_v1_destroy(struct box *b, enum box_lim_ctl ctl)
{
	int r = cgv1_delete(b->ctx->lim_v1[ctl], b->lim_v1[ctl]);

	/* Still busy after cgv1_delete's tries: left for the context's removal, or the next sweep. */
	if (r < 0)
		cgv1_close(b->lim_v1[ctl]);
	free(b->lim_v1[ctl]);
	b->lim_v1[ctl] = NULL;
	return r;
}

/* Sets up v1's OOM notification: an eventfd registered on dirfd's memory.oom_control. */
int box_lim_v1_oom_eventfd(int dirfd)
{
	char reg[64];
	int efd, ofd, r;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	ofd = openat(dirfd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
	if (ofd < 0) {
		r = -errno;
		close(efd);
		return r;
	}
	snprintf(reg, sizeof(reg), "%d %d", efd, ofd);
	r = cg_write_file_at(dirfd, "cgroup.event_control", reg);
	/* The kernel keeps the eventfd, not the file: ours can go. */
	close(ofd);
	if (r < 0) {
		close(efd);
		return r;
	}
	return efd;
}

/* v1's pids.events makes no notification (checked on 6.18): a timer looks at it every second. */
int box_lim_v1_pids_timer(void)
{
	struct itimerspec its = { .it_interval = { .tv_sec = 1 }, .it_value = { .tv_sec = 1 } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}
