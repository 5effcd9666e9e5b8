/* What the rungs share: naming, the context, spawning, the stop timer and reaping. */
#define _GNU_SOURCE
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "box-internal.h"
#include "pin.h"
#include "probe.h"
#include "proctree.h"

extern char **environ;

static const char *const rung_names[] = {
	[BOX_RUNG_AUTO] = "auto",
	[BOX_RUNG_CGROUP2] = "cgroup2",
	[BOX_RUNG_CGROUP2_PIDNS] = "cgroup2+pidns",
	[BOX_RUNG_PIDNS] = "pidns",
	[BOX_RUNG_PGROUP] = "pgroup",
};

const char *box_rung_name(enum box_rung rung)
{
	if ((unsigned)rung >= sizeof(rung_names) / sizeof(rung_names[0]))
		return "?";
	return rung_names[rung];
}

int box_rung_parse(const char *name, enum box_rung *out)
{
	for (unsigned i = 0; i < sizeof(rung_names) / sizeof(rung_names[0]); i++) {
		if (strcmp(name, rung_names[i]) == 0) {
			*out = (enum box_rung)i;
			return 0;
		}
	}
	return -EINVAL;
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

static bool rung_uses_cgroup(enum box_rung r)
{
	return r == BOX_RUNG_CGROUP2 || r == BOX_RUNG_CGROUP2_PIDNS;
}

/*
 * The probe found the cgroup rungs usable but the context could not be set
 * up (ctx->why says why): auto takes the next rung that works, keeping the
 * reason in why.
 */
static int fall_back_from_cgroup(struct box_ctx *ctx, struct box_probe *probe, enum box_rung *rung)
{
	static const enum box_rung next[] = { BOX_RUNG_PIDNS, BOX_RUNG_PGROUP };
	char reason[sizeof(ctx->why)], skip[256];

	snprintf(reason, sizeof(reason), "%s", ctx->why);
	for (unsigned i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
		if (!box_rung_works(probe, next[i], skip, sizeof(skip)))
			continue;
		*rung = next[i];
		snprintf(ctx->why, sizeof(ctx->why), "%.1900s; took %s instead", reason,
			 box_rung_name(next[i]));
		return 0;
	}
	return -ENOTSUP;
}

int box_ctx_new(struct box_ctx **out, const struct box_ctx_opts *opts)
{
	struct box_ctx *ctx;
	struct box_probe *probe;
	enum box_rung rung = opts->rung;
	int r;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->dirfd = -1;
	ctx->no_pin = opts->no_pin;
	ctx->force_freeze =
		getenv("NSRELOAD_HIDE_CGROUP_KILL") && strcmp(getenv("NSRELOAD_HIDE_CGROUP_KILL"), "1") == 0;

	probe = calloc(1, sizeof(*probe));
	if (!probe) {
		free(ctx);
		return -ENOMEM;
	}
	r = box_probe(probe, opts->cgroup_parent);
	if (r == 0) {
		if (rung == BOX_RUNG_AUTO)
			r = box_pick_rung(probe, &rung, ctx->why, sizeof(ctx->why));
		else if (!box_rung_works(probe, rung, ctx->why, sizeof(ctx->why)))
			r = -ENOTSUP;
	}
	if (r == 0 && rung_uses_cgroup(rung)) {
		r = cgroup2_ctx_init(ctx, probe->cgroup_dir, opts);
		if (r < 0 && opts->rung == BOX_RUNG_AUTO)
			r = fall_back_from_cgroup(ctx, probe, &rung);
	}
	free(probe);
	if (r < 0) {
		/* Keep the reason for the caller's message. */
		*out = NULL;
		if (opts->errbuf && opts->errbuf_size)
			snprintf(opts->errbuf, opts->errbuf_size, "%s", ctx->why);
		free(ctx);
		return r;
	}
	ctx->rung = rung;
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

int box_ctx_free(struct box_ctx *ctx)
{
	int r;

	if (!ctx)
		return 0;
	while (ctx->boxes)
		(void)box_free(ctx->boxes);
	r = cgroup2_ctx_fini(ctx);
	free(ctx);
	return r;
}

int box_new(struct box_ctx *ctx, const char *kind, struct box **out)
{
	struct box *b;
	int r = 0;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ctx = ctx;
	b->rung = ctx->rung;
	b->cg_fd = b->events_fd = b->pidfd = b->status_fd = b->timer_fd = -1;
	b->pid = -1;
	/* The leader's pid is the group's id: it must not be reused while the group may be signalled. */
	b->hold_main = b->rung == BOX_RUNG_PGROUP;
	snprintf(b->name, sizeof(b->name), "%s.%u", kind, ++ctx->next_id);
	snprintf(b->token, sizeof(b->token), "%d.%s", (int)getpid(), b->name);
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0)
		r = -errno;
	if (r == 0 && rung_uses_cgroup(b->rung))
		r = cgroup2_box_create(b);
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

char **box_make_env(const struct box *b, char *const *envp)
{
	static const char key[] = "NSRELOAD_BOX=";
	size_t n = 0, j = 0;
	char **env;

	if (!envp)
		envp = environ;
	while (envp[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], key, sizeof(key) - 1) != 0)
			env[j++] = envp[i];
	/* One allocation holds the array and our entry, so one free() releases both. */
	env[j] = NULL;
	{
		size_t len = sizeof(key) + strlen(b->token);
		char **all = realloc(env, (j + 2) * sizeof(*env) + len);
		if (!all) {
			free(env);
			return NULL;
		}
		env = all;
		char *entry = (char *)(env + j + 2);
		snprintf(entry, len, "%s%s", key, b->token);
		env[j] = entry;
		env[j + 1] = NULL;
	}
	return env;
}

static void write_child_err(int fd, int stage, int err)
{
	struct box_child_err e = { .err = err, .stage = stage };
	ssize_t r;
	if (fd < 0)
		return;
	do
		r = write(fd, &e, sizeof(e));
	while (r < 0 && errno == EINTR);
}

void box_child_exec(const struct box_child *c)
{
	sigset_t all;
	int stage = BOX_SPAWN_SETUP;

	if (c->procs_fd >= 0) {
		/* Fallback for kernels without CLONE_INTO_CGROUP: exec must never happen outside the box. */
		if (write(c->procs_fd, "0", 1) != 1) {
			write_child_err(c->err_fd, BOX_SPAWN_CGROUP, errno);
			_exit(125);
		}
		close(c->procs_fd);
	}
	if (setpgid(0, 0) < 0)
		goto fail;
	/* Signals are still blocked here, so SIGTTOU cannot stop us while we take the terminal. */
	if (c->tty_fd >= 0)
		(void)tcsetpgrp(c->tty_fd, getpid());
	for (int i = 0; i < 3; i++) {
		if (c->stdio[i] >= 0 && c->stdio[i] != i && dup2(c->stdio[i], i) < 0)
			goto fail;
	}
	if (c->cwd && chdir(c->cwd) < 0)
		goto fail;
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	if (c->pin) {
		int r = pin_install();
		if (r < 0) {
			errno = -r;
			goto fail;
		}
	}
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		goto fail;
	stage = BOX_SPAWN_EXEC;
	execvpe(c->argv[0], c->argv, c->envp);
fail:
	write_child_err(c->err_fd, stage, errno);
	_exit(stage == BOX_SPAWN_EXEC ? 127 : 125);
}

pid_t box_clone(uint64_t flags, int cgroup_fd, int *pidfd)
{
	struct clone_args args;
	long r;

	memset(&args, 0, sizeof(args));
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r >= 0)
		return (pid_t)r;
	if (errno != ENOSYS || cgroup_fd >= 0)
		return -errno;
	if (flags & (CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNS)) {
		/* clone3 refused with ENOSYS (Docker's seccomp profile): clone takes the same flags. */
		r = syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), NULL, pidfd, NULL,
			    0UL);
		return r < 0 ? -errno : (pid_t)r;
	}
	r = fork();
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	*pidfd = (int)syscall(SYS_pidfd_open, (pid_t)r, 0);
	if (*pidfd < 0) {
		int e = -errno;
		/* r is our child and not reaped until the waitpid below: its pid cannot be anyone else's. */
		kill((pid_t)r, SIGKILL);
		(void)waitpid((pid_t)r, NULL, 0);
		return e;
	}
	return (pid_t)r;
}

int box_read_child_err(int err_rd, enum box_spawn_stage *stage)
{
	struct box_child_err e;
	ssize_t n;

	do
		n = read(err_rd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(err_rd);
	if (n == (ssize_t)sizeof(e)) {
		if (stage)
			*stage = e.stage >= BOX_SPAWN_CGROUP && e.stage <= BOX_SPAWN_EXEC
					 ? (enum box_spawn_stage)e.stage
					 : BOX_SPAWN_SETUP;
		return -e.err;
	}
	return 0;
}

/* Records the main process's end, once: the status init reported wins over init's own. */
static void note_main_exit(struct box *b, const siginfo_t *si)
{
	if (b->main_exited)
		return;
	b->main_exited = true;
	b->pending |= BOX_EV_MAIN_EXITED;
	if (si->si_code == CLD_EXITED)
		b->main_status = W_EXITCODE(si->si_status, 0);
	else
		b->main_status = W_EXITCODE(0, si->si_status);
}

static void close_pidfd(struct box *b)
{
	/* A zombie's or a reaped pidfd stays readable for ever; closing it also drops it from the caller's
	 * epoll set. */
	if (b->pidfd >= 0)
		close(b->pidfd);
	b->pidfd = -1;
}

int box_try_reap_main(struct box *b)
{
	siginfo_t si;

	if (b->pid_reaped)
		return 1;
	if (b->main_zombie || b->pidfd < 0)
		return 0;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)b->pidfd, &si, WEXITED | WNOHANG | (b->hold_main ? WNOWAIT : 0)) < 0) {
		if (errno != ECHILD)
			return -errno;
		/* Not our child (any more): never signal that pid again. */
		b->pid_reaped = true;
		close_pidfd(b);
		note_main_exit(b, &(siginfo_t){ .si_code = CLD_EXITED, .si_status = 125 });
		return 1;
	}
	if (si.si_pid == 0)
		return 0;
	if (b->hold_main) {
		/* Still our zombie: the pid, and the process group of the same number, stay ours. */
		b->main_zombie = true;
		close_pidfd(b);
		note_main_exit(b, &si);
		return 0;
	}
	b->pid_reaped = true;
	/* init wrote the target's status before exiting: it, not init's own, is the main status. */
	pidns_box_read_status(b);
	close_pidfd(b);
	note_main_exit(b, &si);
	return 1;
}

int box_reap_held_main(struct box *b)
{
	siginfo_t si;

	if (b->pid_reaped)
		return 0;
	if (!b->main_zombie)
		return -EBUSY;
	memset(&si, 0, sizeof(si));
	/* b->pid is our unreaped zombie (nothing else reaps a held leader), so P_PID names exactly it. */
	if (waitid(P_PID, (id_t)b->pid, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
		return -errno;
	b->pid_reaped = true;
	return 0;
}

int box_pidfd_signal(struct box *b, int sig, const siginfo_t *info)
{
	siginfo_t copy;

	if (b->pidfd < 0 || b->pid_reaped || b->main_zombie)
		return -ESRCH;
	if (info)
		copy = *info;
	if (syscall(SYS_pidfd_send_signal, b->pidfd, sig, info ? &copy : NULL, 0) < 0)
		return -errno;
	return 0;
}

int box_spawn_direct(struct box *b, const struct box_spawn *sp, int cgroup_fd, bool pin)
{
	struct box_child c;
	int errp[2], procs_fd = -1, pidfd = -1, r;
	char **env;
	pid_t pid;

	env = box_make_env(b, sp->envp);
	if (!env)
		return -ENOMEM;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		r = -errno;
		free(env);
		return r;
	}
	pid = box_clone(0, cgroup_fd, &pidfd);
	if (pid < 0 && cgroup_fd >= 0 && pid != -ENOMEM && pid != -EAGAIN) {
		/* No CLONE_INTO_CGROUP here: the child moves itself before exec instead. */
		procs_fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		pid = procs_fd < 0 ? -errno : box_clone(0, -1, &pidfd);
	}
	if (pid == 0) {
		c = (struct box_child){ .argv = sp->argv,
					.envp = env,
					.cwd = sp->cwd,
					.stdio = { sp->stdin_fd, sp->stdout_fd, sp->stderr_fd },
					.tty_fd = sp->tty_fd,
					.pin = pin,
					.err_fd = errp[1],
					.procs_fd = procs_fd };
		box_child_exec(&c);
	}
	if (procs_fd >= 0)
		close(procs_fd);
	close(errp[1]);
	free(env);
	if (pid < 0) {
		close(errp[0]);
		return pid;
	}
	b->pid = pid;
	b->pidfd = pidfd;
	if (cgroup_fd < 0) {
		/* Set it from both sides, so that a kill right after spawn cannot miss the group. */
		(void)setpgid(pid, pid);
	}
	return box_read_child_err(errp[0], &b->spawn_stage);
}

int box_spawn(struct box *b, const struct box_spawn *sp)
{
	int r;

	if (b->spawned)
		return -EALREADY;
	b->spawned = true;
	switch (b->rung) {
	case BOX_RUNG_CGROUP2:
		r = cgroup2_box_spawn(b, sp, false);
		break;
	case BOX_RUNG_CGROUP2_PIDNS:
		r = cgroup2_box_spawn(b, sp, true);
		break;
	case BOX_RUNG_PIDNS:
		r = pidns_box_spawn(b, sp, -1);
		break;
	case BOX_RUNG_PGROUP:
		r = pgroup_box_spawn(b, sp);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0 && b->spawn_stage == BOX_SPAWN_NONE)
		b->spawn_stage = BOX_SPAWN_START;
	if (r < 0 && b->pid <= 0) {
		/* Nothing was started: the box is empty, and no kill may ever see pid -1 (kill(-1) is
		 * everyone). */
		b->empty = true;
	} else if (r < 0) {
		/* The exec failed: the box must be left empty, so finish it here. */
		(void)box_kill(b);
		for (int i = 0; i < 1000 && !box_is_empty(b); i++) {
			struct pollfd pfd = { .fd = b->pidfd, .events = POLLIN };
			(void)poll(&pfd, 1, 10);
			(void)box_process(b);
		}
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

pid_t box_main_pid(const struct box *b)
{
	return b->pid;
}

int box_signal_main(struct box *b, int sig)
{
	if (b->pid <= 0 || b->main_exited)
		return -ESRCH;
	if (b->rung == BOX_RUNG_PIDNS || b->rung == BOX_RUNG_CGROUP2_PIDNS)
		return pidns_box_signal_main(b, sig);
	return box_pidfd_signal(b, sig, NULL);
}

int box_signal_all(struct box *b, int sig)
{
	if (b->empty || (b->pid <= 0 && !rung_uses_cgroup(b->rung)))
		return -ESRCH;
	switch (b->rung) {
	case BOX_RUNG_CGROUP2:
		return cgroup2_box_signal_all(b, sig);
	case BOX_RUNG_CGROUP2_PIDNS:
	case BOX_RUNG_PIDNS:
		return pidns_box_signal_all(b, sig);
	case BOX_RUNG_PGROUP:
		return pgroup_box_signal_all(b, sig);
	default:
		return -EINVAL;
	}
}

/* The stop clock starts at the first stop or kill request. */
static void mark_stopping(struct box *b)
{
	if (!b->stopping) {
		b->stopping = true;
		b->stop_start_ns = box_now_ns();
	}
}

int box_kill(struct box *b)
{
	int r;

	if (b->empty || !b->spawned)
		return 0;
	if (b->pid <= 0 && !rung_uses_cgroup(b->rung)) {
		/* Never kill(-1) or kill(1): a box without a process has nothing to kill. */
		b->empty = true;
		return 0;
	}
	mark_stopping(b);
	b->killed = true;
	switch (b->rung) {
	case BOX_RUNG_CGROUP2:
	case BOX_RUNG_CGROUP2_PIDNS:
		r = cgroup2_box_kill(b);
		break;
	case BOX_RUNG_PIDNS:
		/* PID 1 of the namespace going takes every other process with it. Through the pidfd: once
		 * init is reaped (maybe by box_ctx_reap() for another box) its pid may be anyone's. */
		r = box_pidfd_signal(b, SIGKILL, NULL);
		if (r == -ESRCH)
			r = 0;
		break;
	case BOX_RUNG_PGROUP:
		r = pgroup_box_kill(b);
		break;
	default:
		r = -EINVAL;
	}
	return r;
}

int box_stop(struct box *b, int sig, unsigned timeout_ms)
{
	struct itimerspec its = { 0 };
	int r;

	if (b->empty || !b->spawned)
		return 0;
	mark_stopping(b);
	if (timeout_ms == 0 || b->main_exited)
		return box_kill(b);
	r = box_signal_main(b, sig);
	if (r < 0 && r != -ESRCH)
		return r;
	its.it_value.tv_sec = timeout_ms / 1000;
	its.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	if (timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int box_fds(const struct box *b, struct pollfd fds[BOX_MAX_FDS])
{
	const struct pollfd all[] = {
		{ .fd = b->pidfd, .events = POLLIN },
		{ .fd = b->events_fd, .events = POLLPRI },
		{ .fd = b->status_fd, .events = POLLIN },
		{ .fd = b->timer_fd, .events = POLLIN },
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

static int update_rung(struct box *b)
{
	switch (b->rung) {
	case BOX_RUNG_CGROUP2:
	case BOX_RUNG_CGROUP2_PIDNS:
		return cgroup2_box_update(b);
	case BOX_RUNG_PIDNS:
		return pidns_box_update(b);
	case BOX_RUNG_PGROUP:
		return pgroup_box_update(b);
	default:
		return -EINVAL;
	}
}

int box_process(struct box *b)
{
	uint64_t expirations;
	unsigned ev;
	int r;

	if (!b->spawned)
		return 0;
	(void)box_ctx_reap(b->ctx);
	if (!b->empty &&
	    read(b->timer_fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations)) {
		r = box_kill(b);
		if (r < 0)
			return r;
		b->stop_killed = true;
		b->pending |= BOX_EV_KILLED;
	}
	if (!b->empty) {
		r = update_rung(b);
		if (r < 0)
			return r;
	}
	if (b->empty && !b->empty_reported) {
		struct itimerspec off = { 0 };
		b->empty_reported = true;
		b->pending |= BOX_EV_EMPTY;
		if (b->stopping)
			b->stop_ns = box_now_ns() - b->stop_start_ns;
		/* The timer has nothing left to stop. */
		(void)timerfd_settime(b->timer_fd, 0, &off, NULL);
	}
	ev = b->pending;
	b->pending = 0;
	return (int)ev;
}

bool box_main_exited(const struct box *b)
{
	return b->main_exited;
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

/* The box whose main process (not yet reaped) is pid, or NULL. */
static struct box *box_of_main(const struct box_ctx *ctx, pid_t pid)
{
	for (struct box *b = ctx->boxes; b; b = b->next)
		if (b->spawned && b->pid == pid && !b->pid_reaped)
			return b;
	return NULL;
}

/*
 * Reaps our exited child pid: into its box when it is a box's main process.
 * Returns 1 when reaped, 0 when it stays a zombie (a held pgroup leader).
 */
static int reap_child(struct box_ctx *ctx, pid_t pid)
{
	struct box *b = box_of_main(ctx, pid);

	if (b)
		return box_try_reap_main(b) > 0;
	(void)waitpid(pid, NULL, WNOHANG);
	return 1;
}

struct reap_walk {
	struct box_ctx *ctx;
	int n;
};

static int reap_listed_child(pid_t pid, void *data)
{
	struct reap_walk *w = data;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	/* Only our own children are waitable: a pid read from /proc that is not one is left alone. */
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid)
		return 0;
	w->n += reap_child(w->ctx, pid);
	return 0;
}

int box_ctx_reap(struct box_ctx *ctx)
{
	int n = 0;

	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* Look before reaping: a box's main process is reaped by its box, which wants the status. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			return errno == ECHILD ? n : -errno;
		if (si.si_pid == 0)
			return n;
		if (reap_child(ctx, si.si_pid) == 0) {
			/*
			 * A held leader: waitid(P_ALL) may keep returning it ahead of the others, so
			 * go through our children one by one instead.
			 */
			struct reap_walk w = { .ctx = ctx };
			int r = proctree_children(getpid(), reap_listed_child, &w);
			return r < 0 ? r : n + w.n;
		}
		n++;
	}
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
	int r = 0;

	if (!b)
		return 0;
	if (b->spawned && !b->empty) {
		uint64_t deadline = box_now_ns() + 10ull * 1000000000ull;
		(void)box_kill(b);
		while (!b->empty && box_now_ns() < deadline) {
			struct pollfd pfd[BOX_MAX_FDS];
			int n = box_fds(b, pfd);
			(void)poll(pfd, (nfds_t)n, 10);
			if (box_process(b) < 0)
				break;
		}
		if (!b->empty)
			r = -EBUSY;
	}
	/* A leader held for a box that never emptied: nobody signals its group after this. */
	if (b->main_zombie)
		(void)box_reap_held_main(b);
	if (rung_uses_cgroup(b->rung)) {
		int rr = cgroup2_box_destroy(b);
		if (rr < 0 && r == 0)
			r = rr;
	}
	int fds[] = { b->pidfd, b->events_fd, b->status_fd, b->timer_fd, b->cg_fd };
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	unlink_box(b);
	free(b);
	return r;
}
