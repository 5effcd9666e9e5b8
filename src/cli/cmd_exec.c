/*
 * nsreload exec: one contained run in the foreground, for CI and for use as
 * a container entrypoint. When it returns, the box is empty.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "box.h"
#include "cmds.h"
#include "config.h"
#include "log.h"
#include "termjob.h"
#include "util.h"

/* box_stop() takes unsigned milliseconds: every duration the parser lets through must fit. */
_Static_assert(DURATION_MAX_MS <= UINT_MAX, "a stop timeout must fit box_stop()'s unsigned");

enum { EXIT_OWN_FAILURE = 125, EXIT_NOT_EXECUTABLE = 126, EXIT_NOT_FOUND = 127, EXIT_TIMEOUT = 124 };

struct exec_opts {
	enum box_rung rung;
	int stop_signal;
	unsigned long long stop_timeout_ms;
	unsigned long long timeout_ms;
	bool wait_all;
	bool no_pin;
	bool verbose;
	const char *cgroup_parent;
	struct box_limits lim; /* --memory-max, --pids-max, --cpu-max */
	bool limits_optional;
	char **argv;
};

enum {
	EXEC_BOX = 1,
	EXEC_STOP_SIGNAL,
	EXEC_STOP_TIMEOUT,
	EXEC_TIMEOUT,
	EXEC_WAIT_ALL,
	EXEC_NO_PIN,
	EXEC_CGROUP_PARENT,
	EXEC_VERBOSE,
	EXEC_MEMORY_MAX,
	EXEC_PIDS_MAX,
	EXEC_CPU_MAX,
	EXEC_LIMITS_OPTIONAL,
};

static const struct opt exec_opts_table[] = {
	{ "--box", 0, NULL, OPT_VALUE, "RUNG",
	  "auto (default), cgroup2, pidns, cgroup2+pidns,\ncgroup1, cgroup1+pidns, pgroup", EXEC_BOX,
	  .complete = OPT_COMPLETE_WORDS, .words = CLI_RUNG_WORDS },
	{ "--stop-signal", 0, "--signal", OPT_VALUE, "SIG",
	  "the signal that asks the command to stop when\n--timeout ends it (default TERM)", EXEC_STOP_SIGNAL,
	  .complete = OPT_COMPLETE_WORDS, .words = CLI_SIGNAL_WORDS },
	{ "--stop-timeout", 0, NULL, OPT_VALUE, "DUR",
	  "grace after the stop signal before the whole box\nis killed (default 10s)", EXEC_STOP_TIMEOUT },
	{ "--timeout", 0, NULL, OPT_VALUE, "DUR", "stop the command after DUR; exit 124", EXEC_TIMEOUT },
	{ "--wait-all", 0, NULL, OPT_NONE, NULL,
	  "wait for the box to empty instead of killing it\nwhen the main process exits", EXEC_WAIT_ALL },
	{ "--no-pin", 0, NULL, OPT_NONE, NULL, "pgroup rung: allow setsid (weaker guarantee)", EXEC_NO_PIN },
	{ "--cgroup-parent", 0, NULL, OPT_VALUE, "DIR",
	  "create the boxes under this cgroup v2 directory\n(default $NSRELOAD_CGROUP_PARENT)",
	  EXEC_CGROUP_PARENT, .complete = OPT_COMPLETE_DIR },
	{ "--memory-max", 0, NULL, OPT_VALUE, "SIZE",
	  "memory limit of the box (512M, bytes, max); past it\nthe OOM killer ends the command, and exec "
	  "says so",
	  EXEC_MEMORY_MAX },
	{ "--pids-max", 0, NULL, OPT_VALUE, "N", "process and thread limit of the box (or max)",
	  EXEC_PIDS_MAX },
	{ "--cpu-max", 0, NULL, OPT_VALUE, "CPU",
	  "CPU limit of the box: 50% of one CPU, 200% for two,\nor cpu.max's 'QUOTA PERIOD' in microseconds",
	  EXEC_CPU_MAX },
	{ "--limits-optional", 0, NULL, OPT_NONE, NULL,
	  "run without a limit this host cannot apply (saying\nso) instead of failing",
	  EXEC_LIMITS_OPTIONAL },
	{ "--verbose", 'v', NULL, OPT_NONE, NULL, "say which rung was chosen and why", EXEC_VERBOSE },
	{ NULL },
};

const struct opts_cmd cmd_exec_spec = {
	.name = "exec",
	.synopsis = "[options] -- command [args...]",
	.summary = "run one command in a box, in the foreground",
	.about = "Runs command in a box and returns its exit status. Whatever the command\n"
		 "started is killed when it ends, or when nsreload gets INT, TERM or HUP\n"
		 "(forwarded as they are; the box is killed --stop-timeout later, or at a\n"
		 "second one). On a terminal the command gets it, and Ctrl-C goes to the\n"
		 "command only; Ctrl-Z, fg and bg work as for a job of the shell.",
	.tables = { exec_opts_table },
	.epilogue = "DUR is a number and a unit (500ms, 2s, 1m30s) or bare milliseconds.\n"
		    "Exit status: the command's, or 128+N if killed by signal N; 124 timeout,\n"
		    "125 nsreload failed (the box could not be started), 126 not executable,\n"
		    "127 not found, 2 usage error.",
};

/* --stop-timeout and --timeout: never a silent 0, which is "no grace" for one and "no timeout" for the other.
 */
static int take_duration(const char *value, const char *written, unsigned long long *ms)
{
	char esc[256];
	int r = duration_parse_ms(value, ms);

	if (r < 0)
		fprintf(stderr, "nsreload exec: %s: %s, got '%s'\n", written,
			duration_strerror(r) ? duration_strerror(r)
					     : "expected a duration like 500ms, 2s or 1m",
			text_escape(esc, sizeof(esc), value));
	return r < 0 ? -EINVAL : 0;
}

/* --memory-max, --pids-max and --cpu-max: the syntax of box.memory_max, pids_max and cpu_max. */
static int take_limit(struct exec_opts *o, int id, const char *value, const char *written)
{
	unsigned long long v;
	char esc[256];
	const char *want;
	int r;

	if (id == EXEC_MEMORY_MAX) {
		r = config_parse_bytes(value, &v);
		o->lim.memory_max = v;
		want = "a size like 512M, bytes, or max";
	} else if (id == EXEC_PIDS_MAX) {
		r = config_parse_limit(value, &v);
		o->lim.pids_max = v;
		want = "a positive integer or max";
	} else {
		r = config_parse_cpu(value, &v);
		o->lim.cpu_quota_us = config_cpu_quota_us(v);
		o->lim.cpu_period_us = config_cpu_period_us(v);
		want = "a share like 50%, max, or 'QUOTA PERIOD' in microseconds (period 1000 to 1000000, "
		       "quota at least 1000)";
	}
	if (r < 0)
		fprintf(stderr, "nsreload exec: %s: expected %s, got '%s'\n", written, want,
			text_escape(esc, sizeof(esc), value));
	return r < 0 ? -EINVAL : 0;
}

static int take_exec_option(void *data, const struct opt *opt, const char *value, const char *written)
{
	struct exec_opts *o = data;
	char esc[256];

	switch (opt->id) {
	case EXEC_BOX:
		if (box_rung_parse(value, &o->rung) == 0)
			return 0;
		fprintf(stderr,
			"nsreload exec: --box: unknown rung '%s' (auto, cgroup2, pidns, cgroup2+pidns, "
			"pgroup)\n",
			text_escape(esc, sizeof(esc), value));
		return -EINVAL;
	case EXEC_STOP_SIGNAL:
		if (sig_parse(value, &o->stop_signal) == 0)
			return 0;
		fprintf(stderr, "nsreload exec: %s: unknown signal '%s'\n", written,
			text_escape(esc, sizeof(esc), value));
		return -EINVAL;
	case EXEC_STOP_TIMEOUT:
		return take_duration(value, written, &o->stop_timeout_ms);
	case EXEC_TIMEOUT:
		return take_duration(value, written, &o->timeout_ms);
	case EXEC_WAIT_ALL:
		o->wait_all = true;
		return 0;
	case EXEC_NO_PIN:
		o->no_pin = true;
		return 0;
	case EXEC_CGROUP_PARENT:
		o->cgroup_parent = value;
		return 0;
	case EXEC_VERBOSE:
		o->verbose = true;
		return 0;
	case EXEC_MEMORY_MAX:
	case EXEC_PIDS_MAX:
	case EXEC_CPU_MAX:
		return take_limit(o, opt->id, value, written);
	case EXEC_LIMITS_OPTIONAL:
		o->limits_optional = true;
		return 0;
	}
	return -EINVAL;
}

/* Returns 0, 1 after --help, or -EINVAL after a usage error. */
static int parse_exec_opts(int argc, char **argv, struct exec_opts *o)
{
	int first, r;

	*o = (struct exec_opts){ .rung = BOX_RUNG_AUTO,
				 .stop_signal = SIGTERM,
				 .stop_timeout_ms = 10000,
				 .cgroup_parent = getenv("NSRELOAD_CGROUP_PARENT") };
	r = cli_parse(&cmd_exec_spec, argc, argv, take_exec_option, o, &first);
	if (r != 0)
		return r;
	if (first >= argc) {
		fputs("nsreload exec: no command given\n", stderr);
		fputs("Try 'nsreload exec --help'.\n", stderr);
		return -EINVAL;
	}
	o->argv = argv + first;
	return 0;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_OWN_FAILURE;
}

/* What an epoll event is about. */
enum { TAG_SIGNAL = 1, TAG_TIMEOUT, TAG_BOX };

static int epoll_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

struct exec_state {
	struct box *box;
	int sigfd;
	int timerfd;
	int stop_sig; /* the signal of the stop under way */
	bool stopping;
	bool timed_out;
	bool suspended;     /* we stopped ourselves because the command stopped: SIGCONT resumes */
	bool continuing;    /* we continued the stopped command: its stop is old news until it says so */
	struct termjob tty; /* the terminal, when we were its foreground at start */
};

/*
 * Stops this process with sig, as the command stopped: a shell waiting for
 * us reports the job stopped the way it would report the command. sig may be
 * one of those we keep blocked (TTIN, TTOU): it is let through for this.
 */
static void stop_self(int sig)
{
	sigset_t one, old;

	sigemptyset(&one);
	sigaddset(&one, sig);
	(void)raise(sig);
	if (sigprocmask(SIG_UNBLOCK, &one, &old) == 0)
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Where the box's main process is its process group's leader (not behind our init), that group. */
static pid_t main_pgrp(const struct box *b)
{
	enum box_rung r = box_rung_of(b);

	return r == BOX_RUNG_PIDNS || r == BOX_RUNG_CGROUP2_PIDNS ? 0 : box_main_pid(b);
}

/* fg or bg: in the foreground the command gets the terminal back first; then the whole box goes on. */
static void resume(struct exec_state *st)
{
	st->suspended = false;
	if (!st->stopping)
		(void)termjob_give_back(&st->tty, main_pgrp(st->box));
	/* On the pidns rungs the continue is known when init says so: until then the box still looks stopped.
	 */
	st->continuing = box_main_stopped(st->box);
	(void)box_signal_all(st->box, SIGCONT);
}

/*
 * The command stopped (Ctrl-Z, or SIGTTIN in the background): the terminal
 * comes back with the modes we started with, and we stop the same way. The
 * kernel discards TSTP, TTIN and TTOU in an orphaned process group (nobody
 * could continue us): then we go on at once, the command too.
 */
static void suspend(struct exec_state *st)
{
	sigset_t pending;

	termjob_take(&st->tty);
	st->suspended = true;
	stop_self(box_main_stop_signal(st->box));
	if (sigpending(&pending) == 0 && !sigismember(&pending, SIGCONT)) {
		fputs("nsreload exec: the command stopped, but no job-control shell can continue nsreload "
		      "(orphaned process group): continuing the command\n",
		      stderr);
		resume(st);
	}
}

/* INT, TERM or HUP: the stop, or at a second one the kill. */
static int on_stop_request(struct exec_state *st, const struct exec_opts *o, int sig)
{
	int r;

	if (st->stopping) {
		fprintf(stderr, "nsreload exec: killed pid %d and its box after a second signal (SIG%s)\n",
			(int)box_main_pid(st->box), sig_name(sig));
		return box_kill(st->box);
	}
	st->stopping = true;
	st->stop_sig = sig;
	r = box_stop(st->box, sig, (unsigned)o->stop_timeout_ms);
	/* A stopped command would not see the signal until continued: so that it can act on it. */
	if (r == 0 && box_main_stopped(st->box))
		(void)box_signal_all(st->box, SIGCONT);
	return r;
}

/* Handles one signal from the signalfd. Returns 0 or -errno. */
static int on_signal(struct exec_state *st, const struct exec_opts *o, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;

	switch (sig) {
	case SIGCHLD:
		return 0;
	case SIGINT:
	case SIGTERM:
	case SIGHUP:
		return on_stop_request(st, o, sig);
	case SIGCONT:
		/* fg or bg of our stopped job; else someone continues us, and the box with us. */
		if (st->suspended)
			resume(st);
		else if (box_main_stopped(st->box))
			(void)box_signal_all(st->box, SIGCONT);
		return 0;
	default:
		(void)box_signal_main(st->box, sig);
		return 0;
	}
}

/* "nsreload exec: command killed by the OOM killer: memory_max 64M, peak 64M", and pids_max's line. */
static void report_limits(struct box *b, int ev)
{
	struct box_limit_report rep;
	char text[256];

	if (!(ev & (BOX_EV_OOM | BOX_EV_PIDS_MAX)) || box_limit_report(b, &rep) < 0)
		return;
	for (int bit = BOX_EV_OOM; bit <= BOX_EV_PIDS_MAX; bit <<= 1) {
		if (!(ev & bit))
			continue;
		log_limit_text(text, sizeof(text), "command", (unsigned)bit, &rep);
		fprintf(stderr, "nsreload exec: %s\n", text);
	}
}

static int run_loop(struct exec_state *st, const struct exec_opts *o, int ep)
{
	for (;;) {
		struct epoll_event evs[8];
		int n, r;

		r = box_process(st->box);
		if (r < 0)
			return r;
		if (r & BOX_EV_PIN_BLOCKED)
			fprintf(stderr, "nsreload exec: %s\n", box_pin_note(st->box));
		report_limits(st->box, r);
		if (r & BOX_EV_KILLED)
			fprintf(stderr,
				"nsreload exec: killed pid %d and its box: still there %llu ms after SIG%s "
				"(the stop timeout)\n",
				(int)box_main_pid(st->box), o->stop_timeout_ms, sig_name(st->stop_sig));
		if ((r & BOX_EV_MAIN_EXITED) && !o->wait_all)
			(void)box_kill(st->box);
		/* Continued, or stopped anew (a continue between two stops may go unseen). */
		if (r & (BOX_EV_MAIN_CONTINUED | BOX_EV_MAIN_STOPPED))
			st->continuing = false;
		/* Job control, with a terminal only: without one nobody could fg us. */
		if (box_main_stopped(st->box) && !st->suspended && !st->continuing && !st->stopping &&
		    st->tty.fd >= 0)
			suspend(st);
		if (box_is_empty(st->box) && box_main_exited(st->box))
			return 0;

		n = epoll_wait(ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == TAG_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(st->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					if ((r = on_signal(st, o, &si)) < 0 && r != -ESRCH)
						return r;
			} else if (evs[i].data.u64 == TAG_TIMEOUT) {
				uint64_t x;
				if (read(st->timerfd, &x, sizeof(x)) == (ssize_t)sizeof(x) && !st->stopping) {
					st->timed_out = true;
					(void)on_stop_request(st, o, o->stop_signal);
				}
			}
		}
	}
}

/*
 * 127 and 126 blame the command, as a shell's do: only for a failed exec.
 * Anything before it (clone3 refused, no namespace, the child's set-up) is
 * nsreload failing to start the box: 125.
 */
static int spawn_error_exit(const struct box *b, const char *cmd, int r)
{
	enum box_spawn_stage stage = box_spawn_stage(b);

	if (stage != BOX_SPAWN_EXEC) {
		fprintf(stderr, "nsreload exec: cannot start the box: could not %s (%s rung): %s\n",
			box_spawn_stage_what(stage), box_rung_name(box_rung_of(b)), strerror(-r));
		return EXIT_OWN_FAILURE;
	}
	switch (r) {
	case -ENOENT:
		fprintf(stderr, "nsreload exec: %s: command not found\n", cmd);
		return EXIT_NOT_FOUND;
	case -EACCES:
	case -ENOEXEC:
	case -EISDIR:
	case -EPERM:
		fprintf(stderr, "nsreload exec: %s: not executable: %s\n", cmd, strerror(-r));
		return EXIT_NOT_EXECUTABLE;
	default:
		fprintf(stderr, "nsreload exec: %s: cannot execute: %s\n", cmd, strerror(-r));
		return EXIT_NOT_EXECUTABLE;
	}
}

static void print_stale(const char *path, void *data)
{
	char esc[4096];

	(void)data;
	fprintf(stderr, "nsreload: removed stale box %s left by a supervisor that died\n",
		text_escape(esc, sizeof(esc), path));
}

int cmd_exec(int argc, char **argv)
{
	/* TTOU blocked also lets us take the terminal back from the background (termjob.h). */
	static const int forwarded[] = { SIGINT,   SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2,
					 SIGWINCH, SIGCHLD, SIGTTOU, SIGTTIN, SIGCONT };
	struct exec_opts o;
	struct exec_state st = { .sigfd = -1, .timerfd = -1, .tty = { .fd = -1 } };
	struct box_ctx *ctx = NULL;
	struct box_spawn sp;
	char why[2048] = "";
	sigset_t mask;
	int ep = -1, r, code = EXIT_OWN_FAILURE, tty_fd;
	bool limits_failed = false;

	r = parse_exec_opts(argc, argv, &o);
	if (r)
		return r > 0 ? 0 : 2;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	/* Signals come through the signalfd only; the child unblocks them before exec. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror("nsreload exec: sigprocmask");
		return EXIT_OWN_FAILURE;
	}
	st.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (st.sigfd < 0 || ep < 0 || epoll_add(ep, st.sigfd, TAG_SIGNAL) < 0) {
		perror("nsreload exec: signalfd/epoll");
		goto out;
	}
	r = box_supervisor_init();
	if (r < 0) {
		fprintf(stderr, "nsreload exec: cannot become a child subreaper: %s\n", strerror(-r));
		goto out;
	}
	r = box_ctx_new(&ctx, &(struct box_ctx_opts){ .rung = o.rung,
						      .cgroup_parent = o.cgroup_parent,
						      .no_pin = o.no_pin,
						      /* run_loop() serves the box at all times. */
						      .pin_notice = true,
						      .limits = &o.lim,
						      .limits_optional = o.limits_optional,
						      .on_stale = print_stale,
						      .limits_failed = &limits_failed,
						      .errbuf = why,
						      .errbuf_size = sizeof(why) });
	if (r < 0 && limits_failed) {
		fprintf(stderr, "nsreload exec: the limits cannot be applied here: %s\n", why);
		fputs("nsreload exec: --limits-optional runs without those this host cannot give; 'nsreload "
		      "doctor' says where each would go\n",
		      stderr);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "nsreload exec: box %s is not available here: %s\n", box_rung_name(o.rung),
			why[0] ? why : strerror(-r));
		fputs("nsreload exec: run 'nsreload doctor' for details\n", stderr);
		goto out;
	}
	if (box_ctx_limits_note(ctx)[0])
		fprintf(stderr, "nsreload exec: warning: running without limits (--limits-optional): %s\n",
			box_ctx_limits_note(ctx));
	if (o.verbose && box_ctx_systemd_unit(ctx)[0])
		fprintf(stderr, "nsreload exec: box: in %s, a scope systemd delegated to nsreload\n",
			box_ctx_systemd_unit(ctx));
	if (o.verbose && box_ctx_limits_how(ctx)[0])
		fprintf(stderr, "nsreload exec: limits: %s\n", box_ctx_limits_how(ctx));
	if (o.verbose || (o.rung == BOX_RUNG_AUTO && box_ctx_rung(ctx) != BOX_RUNG_CGROUP2))
		fprintf(stderr, "nsreload exec: box: %s%s%s\n", box_rung_name(box_ctx_rung(ctx)),
			box_ctx_why(ctx)[0] ? "; " : "", box_ctx_why(ctx));

	if (o.timeout_ms) {
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)(o.timeout_ms / 1000),
							.tv_nsec = (long)(o.timeout_ms % 1000) * 1000000L } };
		st.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (st.timerfd < 0 || timerfd_settime(st.timerfd, 0, &its, NULL) < 0 ||
		    epoll_add(ep, st.timerfd, TAG_TIMEOUT) < 0) {
			perror("nsreload exec: timerfd");
			goto out;
		}
	}
	/* Interactive programs need the terminal: hand it to the box's group while we hold it (in front). */
	termjob_init(&st.tty, STDIN_FILENO);
	tty_fd = termjob_foreground(&st.tty) ? st.tty.fd : -1;

	r = box_new_limited(ctx, "exec", &o.lim, &st.box);
	if (r < 0) {
		fprintf(stderr, "nsreload exec: cannot create a %s box: %s\n",
			box_rung_name(box_ctx_rung(ctx)), strerror(-r));
		goto out;
	}
	sp = (struct box_spawn){ .argv = o.argv,
				 .stdin_fd = -1,
				 .stdout_fd = -1,
				 .stderr_fd = -1,
				 .tty_fd = tty_fd,
				 .wait_all = o.wait_all };
	/* The child takes the terminal before its exec: even one that then fails had it. */
	if (tty_fd >= 0)
		termjob_given(&st.tty);
	r = box_spawn(st.box, &sp);
	if (r < 0) {
		code = spawn_error_exit(st.box, o.argv[0], r);
		goto out;
	}
	r = box_epoll_add(st.box, ep, TAG_BOX);
	if (r < 0) {
		fprintf(stderr, "nsreload exec: epoll: %s\n", strerror(-r));
		goto out;
	}
	r = run_loop(&st, &o, ep);
	if (r < 0) {
		fprintf(stderr, "nsreload exec: %s\n", strerror(-r));
		goto out;
	}
	code = st.timed_out ? EXIT_TIMEOUT : exit_code_of(box_main_status(st.box));
out:
	/* Our modes back after a command that was stopped or killed, as a shell does; not after a normal
	 * exit (exec -- stty sane keeps its effect). */
	termjob_end(&st.tty, r < 0 || st.stopping || !st.box || !box_main_exited(st.box) ||
				     !WIFEXITED(box_main_status(st.box)));
	if (st.box && (r = box_free(st.box)) < 0) {
		fprintf(stderr, "nsreload exec: the box could not be removed: %s\n", strerror(-r));
		code = EXIT_OWN_FAILURE;
	}
	if (ctx) {
		(void)box_ctx_reap(ctx);
		box_ctx_free(ctx);
	}
	if (st.timerfd >= 0)
		close(st.timerfd);
	if (st.sigfd >= 0)
		close(st.sigfd);
	if (ep >= 0)
		close(ep);
	/*
	 * The signals stay blocked: the process ends now, and one that comes
	 * meanwhile (a third Ctrl-C) must not replace our status with 128+N.
	 */
	return code;
}
