/*
 * The cgroup1 rung: a fresh cgroup v1 freezer cgroup per box, for hosts
 * that mount only the v1 hierarchies (older CI runners, RHEL/CentOS 7,
 * Docker's cgroupfs driver on old kernels). Made, attached to and removed
 * through libcgroup (cgv1.h); killed by the freezer loop: freezer.state
 * FROZEN, SIGKILL every task, THAWED, until `tasks` is empty.
 *
 * Like cgroup2: a context directory nsreload.<pid>.<rand> below our own
 * freezer cgroup (or $NSRELOAD_CGROUP1_PARENT below it), flock'd for our
 * whole life, stale ones swept at start-up, a box per kind below it, and a
 * death guard (cgroup2_guard.h) that runs the freezer loop over the context
 * directory if we die. The box's first process joins its cgroup by itself
 * before exec (cgroup.procs, through an fd: no libcgroup in a forked child).
 *
 * v1 has no "populated" event: a box is found empty by reading `tasks` when
 * the caller's loop wakes (SIGCHLD: we are the subreaper, so every process
 * of the box that dies was our child or is reparented to us), and, during a
 * kill, by the re-reads the box's timer times (box.c's kill passes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box-internal.h"
#include "cgfs.h"
#include "cgroup2_guard.h"
#include "cgv1.h"
#include "ctxdir.h"

/*
 * Sweeps one stale context directory of parent (ctxdir.h): owned by us
 * (the euid), its flock free (the owner is gone), killed with the freezer
 * loop and removed, the lock kept until then.
 */
static int sweep_one(int parentfd, const char *name, void *data)
{
	const struct cgv1_cg *parent = data;
	struct cgv1_cg dir;
	struct stat st;
	int r;

	(void)parentfd;
	r = cgv1_open_below(parent, name, &dir);
	if (r < 0)
		return r;
	if (fstat(dir.fd, &st) < 0 || st.st_uid != geteuid())
		r = -EPERM;
	else if (flock(dir.fd, LOCK_EX | LOCK_NB) < 0)
		r = -errno;
	else
		r = cgv1_freeze_kill_all(dir.fd);
	if (r == 0)
		r = cgv1_delete(parent, &dir);
	cgv1_close(&dir);
	return r;
}

/*
 * Creates and locks a fresh context directory. -EEXIST: the name is taken.
 * -EAGAIN: a sweeper took it between its creation and our flock: never
 * touch it, take another name. After the flock the name must still be the
 * directory we hold.
 */
static int make_ctx_dir(const struct cgv1_cg *parent, const char *name, struct cgv1_cg *out)
{
	int r = cgv1_create(parent, name, out);

	if (r < 0)
		return r == -ENOENT ? -EAGAIN : r;
	if (flock(out->fd, LOCK_EX | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
	else if ((r = cgv1_same(parent, out)) == -ENOENT || r == -ESTALE)
		r = -EAGAIN;
	if (r < 0)
		cgv1_close(out);
	return r;
}

/* Where the contexts go: our own freezer cgroup, or the test's parent below it. */
static int open_parent(struct box_ctx *ctx)
{
	struct cgv1_cg own;
	int r = cgv1_open_own("freezer", &own);

	if (r < 0) {
		snprintf(ctx->why, sizeof(ctx->why), "cgroup1: no v1 freezer cgroup of ours: %s",
			 strerror(-r));
		return r;
	}
	if (!ctx->probe.cgroup1_parent[0]) {
		ctx->v1_parent = own;
		return 0;
	}
	r = cgv1_open_below(&own, ctx->probe.cgroup1_parent, &ctx->v1_parent);
	if (r < 0)
		snprintf(ctx->why, sizeof(ctx->why), "cgroup1: cannot open %.1500s/%.200s: %s", own.path,
			 ctx->probe.cgroup1_parent, strerror(-r));
	cgv1_close(&own);
	return r;
}

static int cgroup1_ctx_init(struct box_ctx *ctx, const struct box_ctx_opts *opts)
{
	char name[BOX_CTX_NAME_MAX + 1];
	int r = open_parent(ctx);

	if (r < 0)
		return r;
	box_ctxdir_sweep(ctx->v1_parent.fd, ctx->v1_parent.path, opts, sweep_one, &ctx->v1_parent);
	r = -EEXIST;
	for (int i = 0; i < CTX_NAME_TRIES && (r == -EEXIST || r == -EAGAIN); i++) {
		box_ctxdir_make_name(name, sizeof(name));
		r = make_ctx_dir(&ctx->v1_parent, name, &ctx->v1_dir);
	}
	if (r == 0) {
		r = cg_guard_start_v1(ctx->v1_dir.fd, &ctx->guard_pid, &ctx->guard_pidfd);
		if (r < 0) {
			snprintf(ctx->why, sizeof(ctx->why),
				 "cgroup1: cannot start the guard that kills the boxes if nsreload dies: %s",
				 strerror(-r));
			(void)cgv1_delete(&ctx->v1_parent, &ctx->v1_dir);
			cgv1_close(&ctx->v1_dir);
		}
	} else {
		snprintf(ctx->why, sizeof(ctx->why),
			 "cgroup1: cannot create a context directory in %.1900s: %s", ctx->v1_parent.path,
			 r == -EEXIST || r == -EAGAIN ? "every name tried was taken" : strerror(-r));
	}
	if (r < 0) {
		cgv1_close(&ctx->v1_parent);
		return r;
	}
	snprintf(ctx->name, sizeof(ctx->name), "%s", name);
	snprintf(ctx->dir, sizeof(ctx->dir), "%s", ctx->v1_dir.path);
	return 0;
}

static int cgroup1_ctx_fini(struct box_ctx *ctx)
{
	int r = 0;

	if (ctx->v1_dir.fd < 0)
		return 0;
	/* Removed while we still hold the lock, so that no sweeper can take the directory midway. */
	if (cgv1_populated(ctx->v1_dir.fd) > 0)
		r = cgv1_freeze_kill_all(ctx->v1_dir.fd);
	if (r == 0)
		r = cgv1_delete(&ctx->v1_parent, &ctx->v1_dir);
	cgv1_close(&ctx->v1_dir);
	cgv1_close(&ctx->v1_parent);
	/* After the removal: had we died during it, the guard would have killed what was left. */
	cg_guard_stop(ctx->guard_pid, ctx->guard_pidfd);
	ctx->guard_pid = 0;
	ctx->guard_pidfd = -1;
	return r;
}

static int cgroup1_create(struct box *b)
{
	int r = cgv1_create(&b->ctx->v1_dir, b->name, &b->v1);

	if (r < 0)
		return r;
	b->cg_fd = b->v1.fd;
	snprintf(b->path, sizeof(b->path), "%s", b->v1.path);
	return 0;
}

static int cgroup1_spawn(struct box *b, const struct box_spawn *sp)
{
	/* clone3 cannot clone into a v1 cgroup: the child writes itself into cgroup.procs before exec. */
	return box_spawn_direct(b, sp, false);
}

static int cgroup1_signal_all(struct box *b, int sig)
{
	return cg_signal_all(b->cg_fd, sig);
}

/* One freeze-kill-thaw pass; while tasks remain (dying), another after a pause, CG_KILL_PASSES at most. */
static int cgroup1_kill(struct box *b)
{
	int r = cgv1_freeze_kill_pass(b->cg_fd);

	if (r <= 0)
		return r;
	if (b->kill_passes + 1 >= CG_KILL_PASSES)
		return -EBUSY;
	return cg_kill_pass_pause_ms((int)b->kill_passes) * 1000;
}

/* Empty is an empty `tasks` (here and below) with the main process reaped. */
static int cgroup1_update(struct box *b)
{
	int r = cgv1_populated(b->cg_fd);

	if (r < 0)
		return r;
	return r == 0 && b->pid_reaped;
}

static int cgroup1_destroy(struct box *b)
{
	int r = 0;

	if (b->v1.fd < 0)
		return 0;
	/* Given up on, or something moved in: nothing of ours may stay running in it. */
	if (cgv1_populated(b->v1.fd) > 0)
		r = cgv1_freeze_kill_all(b->v1.fd);
	if (r == 0)
		r = cgv1_delete(&b->ctx->v1_dir, &b->v1);
	/* What stays is removed with the context directory, or swept by the next start. */
	cgv1_close(&b->v1);
	b->cg_fd = -1;
	return r;
}

static bool cgroup1_works(const struct box_probe *p, char *why, size_t size)
{
	if (!p->cgroup1.ok)
		box_why(why, size, "%s", p->cgroup1.detail);
	else if (!p->pidfd.ok)
		box_why(why, size, "%s", p->pidfd.detail);
	else
		return true;
	return false;
}

const struct box_ops box_cgroup1_ops = {
	.probe_parts = BOX_PROBE_CGROUP1 | BOX_PROBE_PIDFD,
	.works = cgroup1_works,
	.ctx_init = cgroup1_ctx_init,
	.ctx_fini = cgroup1_ctx_fini,
	.create = cgroup1_create,
	.destroy = cgroup1_destroy,
	.spawn = cgroup1_spawn,
	.signal_all = cgroup1_signal_all,
	.kill = cgroup1_kill,
	.update = cgroup1_update,
};
