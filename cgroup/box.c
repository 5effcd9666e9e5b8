/*
 * The contract of box.h on top of the rung table: contexts, boxes, the stop
 * timer and kill passes, emptiness. Every rung-specific step goes through the
 * box's ops (box-internal.h says how they combine); nothing here names a rung.
 */
#define _GNU_SOURCE
#include "box.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "box-internal.h"
#include "pin.h"

/* box_free() and a failed box_spawn() wait this long for the box to empty. */
#define BOX_DRAIN_NS (10ull * 1000000000ull)

/* The ops of def at i, or NULL past the last. */
static const struct box_ops *op_at(const struct box_rung_def *def, int i)
{
	return i < BOX_OPS_PER_RUNG ? def->ops[i] : NULL;
}

/* The op that starts and signals the box's processes: the last. */
static const struct box_ops *proc_ops(const struct box_rung_def *def)
{
	int i = 0;

	while (op_at(def, i + 1))
		i++;
	return def->ops[i];
}

uint64_t box_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int box_supervisor_init(void)
{
	/* Orphans of every rung must come back to us, so that we can reap them and know a box is empty. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int box_ctx_new(struct box_ctx **out, const struct box_ctx_opts *opts)
{
	struct box_ctx *ctx;
	int r;

	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->dirfd = ctx->parentfd = -1;
	ctx->v1_parent.fd = ctx->v1_dir.fd = -1;
	ctx->no_pin = opts->no_pin;
	ctx->pin_notice = opts->pin_notice;
	if (opts->limits_failed)
		*opts->limits_failed = false;
	r = box_rung_choose(ctx, opts);
	if (r == 0) {
		r = box_limits_ctx_init(ctx, opts);
		if (r < 0) {
			(void)box_rung_ctx_fini(ctx);
			if (opts->limits_failed)
				*opts->limits_failed = true;
		}
	}
	if (r < 0) {
		/* Keep the reason for the caller's message. */
		if (opts->errbuf && opts->errbuf_size)
			snprintf(opts->errbuf, opts->errbuf_size, "%s", ctx->why);
		free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

enum box_rung box_ctx_rung(const struct box_ctx *ctx)
{
	return ctx->rung;
}

const char *box_ctx_why(const struct box_ctx *ctx)
{
	return ctx->why;
}

const char *box_ctx_cgroup_dir(const struct box_ctx *ctx)
{
	return ctx->dir;
}

const char *box_ctx_systemd_unit(const struct box_ctx *ctx)
{
	bool cgroup2 = ctx->rung == BOX_RUNG_CGROUP2 || ctx->rung == BOX_RUNG_CGROUP2_PIDNS;

	return cgroup2 && ctx->probe.systemd_scope.ok ? ctx->probe.systemd_unit : "";
}

int box_ctx_free(struct box_ctx *ctx)
{
	int r, rr;

	if (!ctx)
		return 0;
	while (ctx->boxes)
		(void)box_free(ctx->boxes);
	r = box_limits_ctx_fini(ctx);
	rr = box_rung_ctx_fini(ctx);
	if (r == 0)
		r = rr;
	free(ctx);
	return r;
}

/* Undoes create of the ops before n, last first. Returns the first error. */
static int destroy_ops(struct box *b, int n)
{
	int r = 0;

	for (int i = n - 1; i >= 0; i--) {
		const struct box_ops *op = b->def->ops[i];
		int rr = op->destroy ? op->destroy(b) : 0;
		if (rr < 0 && r == 0)
			r = rr;
	}
	return r;
}

static int create_ops(struct box *b)
{
	const struct box_ops *op;

	for (int i = 0; (op = op_at(b->def, i)); i++) {
		int r = op->create ? op->create(b) : 0;
		if (r < 0) {
			(void)destroy_ops(b, i);
			return r;
		}
	}
	return 0;
}

int box_new(struct box_ctx *ctx, const char *kind, struct box **out)
{
	return box_new_limited(ctx, kind, NULL, out);
}

int box_new_limited(struct box_ctx *ctx, const char *kind, const struct box_limits *lim, struct box **out)
{
	struct box *b;
	int r = 0;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ctx = ctx;
	b->rung = ctx->rung;
	b->def = ctx->def;
	b->cg_fd = b->events_fd = b->pidfd = b->status_fd = b->timer_fd = b->pin_fd = -1;
	b->v1.fd = -1;
	for (int i = 0; i < BOX_LIM_N; i++)
		b->lim_join_fd[i] = -1;
	b->lim_pids_fd = b->lim_oom_fd = -1;
	b->pid = -1;
	snprintf(b->name, sizeof(b->name), "%s.%u", kind, ++ctx->next_id);
	snprintf(b->token, sizeof(b->token), "%d.%s", (int)getpid(), b->name);
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0)
		r = -errno;
	if (r == 0)
		r = create_ops(b);
	/* Before any process: a limited box never runs unlimited. */
	if (r == 0 && (r = box_limits_create(b, lim)) < 0) {
		int n = 0;
		while (op_at(b->def, n))
			n++;
		(void)destroy_ops(b, n);
	}
	if (r < 0) {
		if (b->timer_fd >= 0)
			close(b->timer_fd);
		free(b);
		return r;
	}
	b->next = ctx->boxes;
	ctx->boxes = b;
	*out = b;
	return 0;
}

/*
 * Waits, processing the box, until it is empty: at most BOX_DRAIN_NS.
 * Returns 0 once empty, -EBUSY when it is not by then, or box_process()'s
 * error.
 */
static int drain(struct box *b)
{
	uint64_t deadline = box_now_ns() + BOX_DRAIN_NS;

	while (!box_is_empty(b) && box_now_ns() < deadline) {
		struct pollfd pfd[BOX_MAX_FDS];
		int n = box_fds(b, pfd), r;

		(void)poll(pfd, (nfds_t)n, 10);
		r = box_process(b);
		if (r < 0)
			return r;
	}
	return box_is_empty(b) ? 0 : -EBUSY;
}

int box_spawn(struct box *b, const struct box_spawn *sp)
{
	int r;

	if (b->spawned)
		return -EALREADY;
	b->spawned = true;
	r = proc_ops(b->def)->spawn(b, sp);
	if (r < 0 && b->spawn_stage == BOX_SPAWN_NONE)
		b->spawn_stage = BOX_SPAWN_START;
	if (r < 0 && b->pid <= 0) {
		/* Nothing was started: the box is empty, and no kill may ever see pid -1 (kill(-1) is
		 * everyone). */
		b->empty = true;
	} else if (r < 0) {
		/* The exec failed: the box must be left empty, so finish it here. */
		(void)box_kill(b);
		(void)drain(b);
		b->pending = 0;
	}
	return r;
}

enum box_spawn_stage box_spawn_stage(const struct box *b)
{
	return b->spawn_stage;
}

const char *box_spawn_stage_what(enum box_spawn_stage stage)
{
	switch (stage) {
	case BOX_SPAWN_START:
		return "create its first process";
	case BOX_SPAWN_CGROUP:
		return "move its first process into the box's cgroup";
	case BOX_SPAWN_SETUP:
		return "set up its first process before exec";
	case BOX_SPAWN_EXEC:
		return "execute the command";
	default:
		return "start the box";
	}
}

const char *box_name(const struct box *b)
{
	return b->name;
}

pid_t box_main_pid(const struct box *b)
{
	return b->pid;
}

/* Whether something proves what the box holds: its main process, or its cgroup. */
static bool box_has_handle(const struct box *b)
{
	return b->pid > 0 || b->cg_fd >= 0;
}

int box_signal_main(struct box *b, int sig)
{
	const struct box_ops *op = proc_ops(b->def);

	if (b->pid <= 0 || b->main_exited)
		return -ESRCH;
	return op->signal_main ? op->signal_main(b, sig) : box_pidfd_signal(b, sig, NULL);
}

int box_signal_all(struct box *b, int sig)
{
	if (b->empty || !box_has_handle(b))
		return -ESRCH;
	return proc_ops(b->def)->signal_all(b, sig);
}

/* The stop clock starts at the first stop or kill request. */
static void mark_stopping(struct box *b)
{
	if (!b->stopping) {
		b->stopping = true;
		b->stop_start_ns = box_now_ns();
	}
}

static int set_timer_us(struct box *b, uint64_t us)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(us / 1000000);
	its.it_value.tv_nsec = (long)(us % 1000000) * 1000L;
	return timerfd_settime(b->timer_fd, 0, &its, NULL) < 0 ? -errno : 0;
}

/*
 * One kill pass over every op. When one asks for another pass, the box's
 * timer brings box_process() back to make it after the shortest pause asked.
 */
static int kill_pass(struct box *b)
{
	const struct box_ops *op;
	int r = 0, pause_us = 0;

	for (int i = 0; (op = op_at(b->def, i)); i++) {
		int rr = op->kill(b);
		if (rr > 0 && (pause_us == 0 || rr < pause_us))
			pause_us = rr;
		else if (rr < 0 && r == 0)
			r = rr;
	}
	b->kill_passes++;
	/* The timer was the retry's: left armed, it would later pass for a stop timeout. */
	if (b->kill_retry || pause_us > 0) {
		int rr = set_timer_us(b, pause_us > 0 && !b->empty ? (uint64_t)pause_us : 0);
		if (rr < 0 && r == 0)
			r = rr;
	}
	b->kill_retry = pause_us > 0 && !b->empty;
	return r;
}

int box_kill(struct box *b)
{
	if (b->empty || !b->spawned)
		return 0;
	if (!box_has_handle(b)) {
		/* Never kill(-1) or kill(1): a box without a process has nothing to kill. */
		b->empty = true;
		return 0;
	}
	/* Ending a graceful stop early (a second request) is a kill of that stop, as the timeout's is. */
	if (b->stopping && !b->main_exited)
		b->stop_killed = true;
	mark_stopping(b);
	b->kill_passes = 0;
	b->kill_start_ns = box_now_ns();
	return kill_pass(b);
}

/* box_stop() and box_stop_all(): sig to the main process or to all, then the timer for the kill. */
static int stop(struct box *b, int sig, unsigned timeout_ms, bool all)
{
	int r;

	if (b->empty || !b->spawned)
		return 0;
	mark_stopping(b);
	if (timeout_ms == 0 || b->main_exited)
		return box_kill(b);
	/* A kill under way owns the timer and needs no help. */
	if (b->kill_retry)
		return 0;
	r = all ? box_signal_all(b, sig) : box_signal_main(b, sig);
	if (r < 0 && r != -ESRCH)
		return r;
	return set_timer_us(b, (uint64_t)timeout_ms * 1000);
}

int box_stop(struct box *b, int sig, unsigned timeout_ms)
{
	return stop(b, sig, timeout_ms, false);
}

int box_stop_all(struct box *b, int sig, unsigned timeout_ms)
{
	return stop(b, sig, timeout_ms, true);
}

int box_fds(const struct box *b, struct pollfd fds[BOX_MAX_FDS])
{
	const struct pollfd all[] = {
		{ .fd = b->pidfd, .events = POLLIN },
		{ .fd = b->events_fd, .events = POLLPRI },
		{ .fd = b->status_fd, .events = POLLIN },
		{ .fd = b->timer_fd, .events = POLLIN },
		{ .fd = b->pin_fd, .events = POLLIN },
		{ .fd = b->lim_pids_fd, .events = b->lim_pids_timer ? POLLIN : POLLPRI },
		{ .fd = b->lim_oom_fd, .events = b->lim_oom_eventfd ? POLLIN : POLLPRI },
	};
	int n = 0;

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i].fd >= 0)
			fds[n++] = all[i];
	return n;
}

int box_epoll_add(const struct box *b, int ep, uint64_t tag)
{
	struct pollfd fds[BOX_MAX_FDS];
	int n = box_fds(b, fds);

	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = (uint32_t)fds[i].events, .data.u64 = tag };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* Brings emptiness up to date: the main process first, then each op's view. */
static int update(struct box *b)
{
	const struct box_ops *op;
	bool empty = true;
	int r;

	box_read_main_status(b);
	r = box_poll_main_stop(b);
	if (r == 0)
		r = box_try_reap_main(b);
	if (r < 0)
		return r;
	for (int i = 0; (op = op_at(b->def, i)); i++) {
		r = op->update ? op->update(b) : 1;
		if (r < 0)
			return r;
		empty = empty && r > 0;
	}
	if (empty && !b->empty) {
		b->empty = true;
		/* Orphans that died last are zombies of ours until reaped. */
		(void)box_ctx_reap(b->ctx);
	}
	return 0;
}

/*
 * Answers every setsid the pin's listener holds (each returns 0, as without a
 * listener), and the first of the context becomes BOX_EV_PIN_BLOCKED with a
 * note naming the call, the process and --no-pin.
 */
static void answer_pin(struct box *b)
{
	pid_t pid = 0;

	/* Bounded: the calls pending now, and a box that keeps calling cannot hold us here. */
	for (int i = 0; b->pin_fd >= 0 && i < 64; i++) {
		char comm[32];
		int r = pin_answer(b->pin_fd, &pid, comm, sizeof(comm));
		if (r <= 0)
			break;
		if (b->ctx->pin_told)
			continue;
		snprintf(b->pin_note, sizeof(b->pin_note),
			 "setsid() of pid %d (%s) did nothing: the pgroup rung pins the box to its session; "
			 "--no-pin allows it",
			 (int)pid, comm);
		b->ctx->pin_told = true;
		b->pending |= BOX_EV_PIN_BLOCKED;
	}
}

/* The timer ran out: the pause before another kill pass, or the stop timeout. */
static int on_timer(struct box *b)
{
	int r;

	if (b->kill_retry)
		return kill_pass(b);
	r = box_kill(b);
	if (r < 0)
		return r;
	b->stop_killed = true;
	b->pending |= BOX_EV_KILLED;
	return 0;
}

int box_process(struct box *b)
{
	uint64_t expirations;
	unsigned ev;
	int r;

	if (!b->spawned)
		return 0;
	answer_pin(b);
	(void)box_ctx_reap(b->ctx);
	if (!b->empty &&
	    read(b->timer_fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations)) {
		r = on_timer(b);
		if (r < 0)
			return r;
	}
	if (!b->empty) {
		r = update(b);
		if (r < 0)
			return r;
	}
	/* The limits' counters: on every call, and so once more as the box empties. */
	b->pending |= box_limits_events(b);
	if (b->empty && !b->empty_reported) {
		b->empty_reported = true;
		b->pending |= BOX_EV_EMPTY;
		if (b->stopping)
			b->stop_ns = box_now_ns() - b->stop_start_ns;
		/* The timer has nothing left to stop or retry. */
		b->kill_retry = false;
		(void)set_timer_us(b, 0);
	}
	ev = b->pending;
	b->pending = 0;
	return (int)ev;
}

bool box_main_exited(const struct box *b)
{
	return b->main_exited;
}

bool box_main_stopped(const struct box *b)
{
	return b->main_stop_sig != 0;
}

int box_main_stop_signal(const struct box *b)
{
	return b->main_stop_sig;
}

int box_main_status(const struct box *b)
{
	return b->main_status;
}

bool box_is_empty(const struct box *b)
{
	return b->empty || !b->spawned;
}

bool box_stop_needed_kill(const struct box *b)
{
	return b->stop_killed;
}

uint64_t box_stop_duration_ns(const struct box *b)
{
	return b->stop_ns;
}

enum box_rung box_rung_of(const struct box *b)
{
	return b->rung;
}

const char *box_cgroup_path(const struct box *b)
{
	return b->cg_fd >= 0 ? b->path : NULL;
}

const char *box_pin_note(const struct box *b)
{
	return b->pin_note;
}

static void unlink_box(struct box *b)
{
	struct box **pp;
	for (pp = &b->ctx->boxes; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
}

int box_free(struct box *b)
{
	int n = 0, r = 0, rr;

	if (!b)
		return 0;
	if (b->spawned && !b->empty) {
		(void)box_kill(b);
		if (drain(b) < 0)
			r = -EBUSY;
	}
	/* A leader held for a box that never emptied: nobody signals its group after this. */
	if (b->main_zombie)
		(void)box_reap_held_main(b);
	while (op_at(b->def, n))
		n++;
	rr = destroy_ops(b, n);
	if (rr < 0 && r == 0)
		r = rr;
	rr = box_limits_destroy(b);
	if (rr < 0 && r == 0)
		r = rr;
	int fds[] = { b->pidfd, b->events_fd, b->status_fd, b->timer_fd, b->cg_fd, b->pin_fd };
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	unlink_box(b);
	free(b);
	return r;
}
