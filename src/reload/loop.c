/* The event loop of 'nsreload run' and its set-up (loop.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "files.h"
#include "filter.h"
#include "log.h"
#include "loop.h"
#include "reload.h"
#include "rules.h"
#include "tty.h"
#include "watch.h"

/*
 * What nsreload needs open at once at its peak: the loop's own fds, the
 * watcher's, and a build, a run and a post_cmd box being spawned. Below it,
 * start-up fails with a message rather than builds failing at random later.
 */
#define MIN_OPEN_FILES 32

struct loop {
	struct reload st;
	const struct reload_opts *o;
	struct rules *rules; /* [[build.rules]]; NULL: none */
	struct filter *filter;
	struct watch *watch;
	int sigfd;
	struct ttyctl *tty; /* the terminal (tty.h), or NULL */
	bool stdin_keys;
	bool keys_paused; /* in the background (bg): stdin is watched, not read, until we own the terminal */
	char keys[64];
	size_t keys_len;
	char *cwd; /* where we started: re-entered when the root is back (. was the old inode) */
};

/* ---- the watcher's sink ------------------------------------------------------------------------ */

static void on_watch_event(void *data, enum watch_event ev, const char *path)
{
	struct loop *lp = data;
	struct reload *st = &lp->st;

	switch (ev) {
	case WATCH_WARNING:
		log_msg(st->log, LOG_WATCHER, "%s", path);
		return;
	case WATCH_ROOT_GONE:
		log_msg(st->log, LOG_WATCHER, "%s", path);
		reload_root_gone(st, true);
		return;
	case WATCH_ROOT_BACK:
		log_msg(st->log, LOG_WATCHER, "%s", path);
		reload_root_gone(st, false);
		/* With root ".", our cwd is still the deleted directory: enter the new one by its path. */
		if (lp->cwd && chdir(lp->cwd) < 0)
			log_msg(st->log, LOG_MAIN, "cannot enter %s again: %s", lp->cwd, strerror(errno));
		reload_change(st, NULL);
		return;
	case WATCH_OVERFLOW:
		log_msg(st->log, LOG_WATCHER,
			"events were lost (the kernel's queue overflowed): the tree was "
			"rescanned, and that counts as a change");
		reload_change(st, NULL);
		return;
	case WATCH_CHANGED: {
		/* exclude_unchanged: a save that leaves the content as it was is no change (always true when
		 * off). */
		char *abs = path_under_root(st->c, path);
		bool changed = !abs || filter_content_changed(lp->filter, path, abs);
		/* A file a rule takes runs that rule and never a build (air runner/rule.go). */
		int rule = changed ? rules_match(lp->rules, path, NULL) : -1;
		free(abs);
		if (rule >= 0)
			reload_rule_change(st, (size_t)rule, path);
		else if (changed)
			reload_change(st, path);
		return;
	}
	}
}

/* ---- signals and keys ---------------------------------------------------------------------------- */

/*
 * In the background (after bg) the terminal's input is the shell's: stdin is then watched edge-triggered
 * and not read, so that nsreload wakes once per new input to see whether it owns the terminal again (fg
 * sends no SIGCONT to a job that runs), instead of spinning on input left for the shell. With the keys,
 * stdin is watched level-triggered in the foreground; with --stdin, only in the background.
 */
static void stdin_watch(struct loop *lp, bool bg)
{
	struct epoll_event ev = { .events = EPOLLIN | (bg ? EPOLLET : 0), .data.u64 = TAG_STDIN };

	if (lp->stdin_keys) {
		if (lp->keys_paused != bg && epoll_ctl(lp->st.ep, EPOLL_CTL_MOD, STDIN_FILENO, &ev) == 0)
			lp->keys_paused = bg;
	} else if (lp->tty && lp->o->stdin_to_app && lp->keys_paused != bg) {
		if (epoll_ctl(lp->st.ep, bg ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, STDIN_FILENO, &ev) == 0)
			lp->keys_paused = bg;
	}
}

/*
 * After a SIGCONT (fg, or bg), or input while in the background: every box goes on, and when nsreload
 * owns the terminal again the app gets it back and the keys are read again.
 */
static void on_continued(struct loop *lp)
{
	bool fg = ttyctl_resume(lp->tty);

	reload_signal_boxes(&lp->st, SIGCONT);
	stdin_watch(lp, !fg);
}

/*
 * Ctrl-Z (SIGTSTP to nsreload, or reported by the sentinel): the whole session stops, as a shell's job
 * does. The terminal and its modes go back, every box gets SIGTSTP, and nsreload stops itself with the
 * default action of SIGTSTP, so that the shell says "Stopped"; it goes on here after the SIGCONT.
 */
static void suspend(struct loop *lp)
{
	sigset_t tstp;

	ttyctl_suspend(lp->tty);
	reload_signal_boxes(&lp->st, SIGTSTP);
	log_msg(lp->st.log, LOG_MAIN, "suspended with the app; fg resumes both");
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	/* Pending, then unblocked for a moment: delivered there. An orphaned group is not stopped by it. */
	(void)kill(getpid(), SIGTSTP);
	(void)sigprocmask(SIG_UNBLOCK, &tstp, NULL);
	(void)sigprocmask(SIG_BLOCK, &tstp, NULL);
	on_continued(lp);
}

/* A signal meant for the session, from the signalfd or the sentinel. */
static void on_session_signal(struct loop *lp, int sig)
{
	switch (sig) {
	case SIGHUP:
		/* A hang-up comes twice (the shell's, then the kernel's to the foreground): it never forces.
		 */
		if (reload_quitting(&lp->st))
			break;
		/* fall through */
	case SIGINT:
	case SIGTERM:
		reload_quit(&lp->st);
		break;
	case SIGTSTP:
		suspend(lp);
		break;
	case SIGCONT:
		on_continued(lp);
		break;
	default:
		break; /* SIGCHLD: the boxes are brought up to date after every wake-up */
	}
}

static void on_signals(struct loop *lp)
{
	struct signalfd_siginfo si;

	while (read(lp->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		on_session_signal(lp, (int)si.ssi_signo);
}

static void on_sentinel(struct loop *lp)
{
	int sigs[16], n = ttyctl_read(lp->tty, sigs, 16);

	for (int i = 0; i < n; i++)
		on_session_signal(lp, sigs[i]);
}

static void on_stdin(struct loop *lp)
{
	char buf[256];
	ssize_t n;

	if (lp->keys_paused || !lp->stdin_keys) {
		/* Input while in the background: still there, or fg since (the app stopped by SIGTTIN goes
		 * on). */
		if (tcgetpgrp(STDIN_FILENO) == getpgrp())
			on_continued(lp);
		return;
	}
	if (tcgetpgrp(STDIN_FILENO) != getpgrp()) {
		stdin_watch(lp, true);
		return;
	}
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0) {
		/* A closed terminal is not a quit request; it just has no more keys. */
		(void)epoll_ctl(lp->st.ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
		lp->stdin_keys = false;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (lp->keys_len < sizeof(lp->keys) - 1)
				lp->keys[lp->keys_len++] = buf[i];
			continue;
		}
		lp->keys[lp->keys_len] = '\0';
		lp->keys_len = 0;
		if (strcmp(lp->keys, "r") == 0)
			reload_rebuild(&lp->st);
		else if (strcmp(lp->keys, "q") == 0)
			reload_quit(&lp->st);
	}
}

/* ---- the loop ---------------------------------------------------------------------------------------- */

/* A timerfd that ran out; false when it was re-armed or disarmed since. */
static bool timer_expired(int fd)
{
	uint64_t x;
	return read(fd, &x, sizeof(x)) == (ssize_t)sizeof(x);
}

/* Whether fd has input now (poll with no wait). */
static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static void dispatch(struct loop *lp, enum reload_tag tag)
{
	struct reload *st = &lp->st;

	switch (tag) {
	case TAG_SIGNAL:
		on_signals(lp);
		break;
	case TAG_WATCH:
		if (lp->watch)
			(void)watch_process(lp->watch);
		break;
	case TAG_DEBOUNCE:
		/* Changes that came before the timer ran out are part of the burst: read them first. */
		if (lp->watch && fd_readable(watch_fd(lp->watch)))
			(void)watch_process(lp->watch);
		if (timer_expired(st->debounce_fd))
			reload_debounce_expired(st);
		break;
	case TAG_RERUN:
		if (timer_expired(st->rerun_fd))
			reload_rerun_expired(st);
		break;
	case TAG_STDIN:
		on_stdin(lp);
		break;
	case TAG_RULE_TIMER:
		if (timer_expired(st->rules.timer_fd))
			reload_rules_timer(st);
		break;
	case TAG_BUILD_OUT:
	case TAG_POST_OUT:
	case TAG_RULE_OUT:
		reload_output(st, tag);
		break;
	case TAG_FRONT:
		frontctl_readable(&lp->st.front, lp->st.log);
		break;
	case TAG_TTY:
		on_sentinel(lp);
		break;
	case TAG_BOX:
		break;
	}
}

static int event_loop(struct loop *lp)
{
	while (!reload_done(&lp->st)) {
		struct epoll_event evs[16];
		int n = epoll_wait(lp->st.ep, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		bool debounce = false;

		/* The debounce last: the changes of this wake-up go first, and may re-arm it. */
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == TAG_DEBOUNCE)
				debounce = true;
			else
				dispatch(lp, (enum reload_tag)evs[i].data.u64);
		}
		if (debounce)
			dispatch(lp, TAG_DEBOUNCE);
		reload_update(&lp->st);
	}
	return 0;
}

/* ---- set-up ---------------------------------------------------------------------------------------- */

static void report_stale(const char *path, void *data)
{
	struct loop *lp = data;
	log_msg(lp->st.log, LOG_MAIN, "removed stale box %s left by a supervisor that died", path);
}

/* Fails with a message when ulimit -n is too low for nsreload to work at all. */
static int check_open_files(struct log *log)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= MIN_OPEN_FILES)
		return 0;
	log_msg(log, LOG_MAIN,
		"ulimit -n is %llu: nsreload needs at least %d open files (its event loop, the watcher and "
		"three boxes); raise it with 'ulimit -n 4096' and start again",
		(unsigned long long)rl.rlim_cur, MIN_OPEN_FILES);
	return -EMFILE;
}

/* The machine's fds, the signalfd and, when stdin is a terminal for keys, stdin. */
static int open_loop_fds(struct loop *lp, const struct config *c, struct log *log, const sigset_t *mask)
{
	int r;

	lp->sigfd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (lp->sigfd < 0)
		return -errno;
	r = reload_init(&lp->st, c, log, lp->o->stdin_to_app);
	if (r < 0 || (r = reload_epoll_add(lp->st.ep, lp->sigfd, TAG_SIGNAL)) < 0)
		return r;
	r = ttyctl_new(&lp->tty, lp->st.ep, TAG_TTY, lp->o->stdin_to_app, log);
	if (r < 0)
		return r;
	lp->st.tty = lp->tty;
	/* Boxes made while idle (spare.h); the machine's unit tests leave them off. */
	lp->st.spares.on = true;
	if (!lp->o->stdin_to_app && isatty(STDIN_FILENO) &&
	    reload_epoll_add(lp->st.ep, STDIN_FILENO, TAG_STDIN) == 0)
		lp->stdin_keys = true;
	return 0;
}

/* The box context, and a line per rung skipped; the exit status on failure. */
static int open_box_ctx(struct loop *lp)
{
	const struct config *c = lp->st.c;
	char why[2048] = "";
	bool limits_failed = false;
	struct box_limits lim;
	const char *line;
	int r;

	/* The context prepares every controller the app's box needs; the builds' limits are the same. */
	reload_box_limits(c, true, &lim);

	r = box_ctx_new(&lp->st.ctx,
			&(struct box_ctx_opts){ .rung = (enum box_rung)c->box.mode,
						.cgroup_parent = c->box.cgroup_parent[0]
									 ? c->box.cgroup_parent
									 : getenv("NSRELOAD_CGROUP_PARENT"),
						.no_pin = !c->box.pin_sessions,
						.limits = &lim,
						.limits_optional = !c->box.limits_required,
						.on_stale = report_stale,
						.data = lp,
						.limits_failed = &limits_failed,
						.errbuf = why,
						.errbuf_size = sizeof(why) });
	if (r < 0 && limits_failed) {
		log_msg(lp->st.log, LOG_MAIN,
			"the [box] limits cannot be applied here: %s; box.limits_required = false runs "
			"without "
			"those this host cannot give; 'nsreload doctor' says where each would go",
			why);
		return 125;
	}
	if (r < 0) {
		log_msg(lp->st.log, LOG_MAIN,
			"box %s is not available here: %s; run 'nsreload doctor' for details",
			box_rung_name((enum box_rung)c->box.mode), why[0] ? why : strerror(-r));
		/* As nsreload exec: 125 is "nsreload itself could not do its job". */
		return 125;
	}
	/* The why has a line per rung skipped, and log_msg() shows a newline as "\n": a call per line. */
	line = box_ctx_why(lp->st.ctx);
	log_msg(lp->st.log, LOG_MAIN, "box: %s%s%.*s", box_rung_name(box_ctx_rung(lp->st.ctx)),
		line[0] ? "; " : "", (int)strcspn(line, "\n"), line);
	while ((line = strchr(line, '\n')) != NULL) {
		line++;
		log_msg(lp->st.log, LOG_MAIN, "  %.*s", (int)strcspn(line, "\n"), line);
	}
	if (box_ctx_systemd_unit(lp->st.ctx)[0])
		log_msg(lp->st.log, LOG_MAIN, "box: in %s, a scope systemd delegated to nsreload (%s)",
			box_ctx_systemd_unit(lp->st.ctx), box_ctx_cgroup_dir(lp->st.ctx));
	if (box_ctx_limits_how(lp->st.ctx)[0])
		log_msg(lp->st.log, LOG_MAIN, "limits: %s", box_ctx_limits_how(lp->st.ctx));
	if (box_ctx_limits_note(lp->st.ctx)[0])
		log_msg(lp->st.log, LOG_MAIN,
			"warning: running without limits (box.limits_required = false): %s",
			box_ctx_limits_note(lp->st.ctx));
	return 0;
}

static void filter_warning(void *data, const char *msg)
{
	log_msg(data, LOG_MAIN, "warning: %s", msg);
}

/*
 * The rules and the filter, before any box: 0, -EINVAL for a configuration
 * error (a bad exclude_regex, the build's or a rule's), or another -errno.
 */
static int open_filter(struct loop *lp, const struct config *c, struct log *log)
{
	char err[PATH_MAX + 1024] = "";
	int r;

	r = rules_new(&lp->rules, c, err, sizeof(err));
	if (r < 0) {
		log_msg(log, LOG_MAIN, "%s", err[0] ? err : strerror(-r));
		return r;
	}
	r = filter_new(&lp->filter, c,
		       &(struct filter_opts){ .vcs_ignore = lp->o->vcs_ignore,
					      .rules = lp->rules,
					      .warn = filter_warning,
					      .warn_data = log },
		       err, sizeof(err));
	if (r < 0)
		log_msg(log, LOG_MAIN, "%s%s", err[0] ? "" : "filter: ", err[0] ? err : strerror(-r));
	return r;
}

static int open_watcher(struct loop *lp)
{
	const struct config *c = lp->st.c;
	int r;

	/* build.poll unset: auto, per file system; true: everywhere; false: never. */
	enum watch_poll poll = !config_key_set(c, "build.poll") ? WATCH_POLL_AUTO
			       : c->build.poll                  ? WATCH_POLL_ALWAYS
								: WATCH_POLL_NEVER;

	r = watch_new(&lp->watch,
		      &(struct watch_opts){ .root = c->root,
					    .watcher = (enum watch_watcher)c->build.watcher,
					    .follow_symlink = c->build.follow_symlink,
					    .filter = lp->filter,
					    .sink = { .event = on_watch_event, .data = lp },
					    .poll = poll,
					    .poll_interval_ms = (unsigned)c->build.poll_interval_ms });
	if (r < 0) {
		log_msg(lp->st.log, LOG_MAIN, "cannot watch %s: %s", c->root, strerror(-r));
		return r;
	}
	if (strcmp(watch_backend_name(lp->watch), "poll") == 0)
		log_msg(lp->st.log, LOG_WATCHER, "watching %s (%zu directories, polled every %llu ms)",
			c->root, watch_count(lp->watch), c->build.poll_interval_ms);
	else if (strcmp(watch_backend_name(lp->watch), "fanotify") == 0)
		log_msg(lp->st.log, LOG_WATCHER,
			"watching %s with fanotify (one mark per file system; directories are met as they "
			"change)",
			c->root);
	else
		log_msg(lp->st.log, LOG_WATCHER, "watching %s (%zu directories)", c->root,
			watch_count(lp->watch));
	return reload_epoll_add(lp->st.ep, watch_fd(lp->watch), TAG_WATCH);
}

/* Every box freed (what is left in it killed), then the context, the watcher and the fds. */
static void teardown(struct loop *lp)
{
	struct box_ctx *ctx = lp->st.ctx;

	if (lp->st.c) /* reload_init() ran */
		reload_free(&lp->st);
	/* After the app's box is gone: the terminal, its foreground and its modes as they were. */
	ttyctl_free(lp->tty);
	if (ctx) {
		char dir[PATH_MAX];

		(void)box_ctx_reap(ctx);
		snprintf(dir, sizeof(dir), "%s", box_ctx_cgroup_dir(ctx));
		if (box_ctx_free(ctx) < 0)
			log_msg(lp->st.log, LOG_MAIN,
				"cannot remove nsreload's cgroup %s: still busy after retries for about a "
				"second; it is left behind, and the next nsreload start with this cgroup "
				"parent removes it",
				dir);
	}
	free(lp->cwd);
	if (lp->watch)
		watch_free(lp->watch);
	if (lp->filter)
		filter_free(lp->filter);
	rules_free(lp->rules);
	if (lp->sigfd >= 0)
		close(lp->sigfd);
}

/* From the event loop's fds to the first build; the exit status on failure, else 0. */
static int loop_setup(struct loop *lp, const struct config *c, struct log *log, const sigset_t *mask)
{
	char why[512];
	int r;

	if (check_open_files(log) < 0)
		return 1;
	lp->cwd = getcwd(NULL, 0);
	r = open_loop_fds(lp, c, log, mask);
	if (r < 0) {
		log_msg(log, LOG_MAIN, "cannot set up the event loop: %s",
			explain_errno(-r, why, sizeof(why)));
		return 1;
	}
	r = box_supervisor_init();
	if (r < 0) {
		log_msg(log, LOG_MAIN, "cannot become a child subreaper: %s", strerror(-r));
		return 1;
	}
	r = open_filter(lp, c, log);
	if (r < 0)
		/* As for every other configuration error: exit 2. */
		return r == -EINVAL ? 2 : 1;
	/* Before the first build: connections queue from now on, even while it builds (handoff.h). */
	r = handoff_open(&lp->st.handoff, c, log);
	if (r < 0)
		return r == -EINVAL ? 2 : 1;
	/* Before the box context: an address in use stops the start before anything is made. */
	r = frontctl_start(&lp->st.front, c, log);
	if (r != 0)
		return r;
	if (lp->st.front.fd >= 0 && reload_epoll_add(lp->st.ep, lp->st.front.fd, TAG_FRONT) < 0)
		return 1;
	r = open_box_ctx(lp);
	if (r != 0)
		return r;
	/* The pgroup rung kills every child of ours no box claims; the front is no box's. */
	if (frontctl_exempt(&lp->st.front, lp->st.ctx) < 0)
		log_msg(log, LOG_MAIN, "cannot mark the proxy as no box's: it may be stopped with a run");
	if (open_watcher(lp) < 0)
		return 1;
	if (lp->stdin_keys)
		log_msg(log, LOG_MAIN, "r+Enter rebuilds and restarts, q+Enter quits");
	return 0;
}

int reload_run(const struct config *c, struct log *log, const struct reload_opts *o)
{
	struct loop lp = { .o = o, .sigfd = -1 };
	sigset_t mask;
	int r, code;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	/* Ctrl-Z and fg (tty.h); SIGTTIN and SIGTTOU blocked: nothing of nsreload's is ever stopped by the
	 * terminal, and from the background it still writes its log, sets the foreground and the modes. */
	sigaddset(&mask, SIGTSTP);
	sigaddset(&mask, SIGCONT);
	sigaddset(&mask, SIGTTIN);
	sigaddset(&mask, SIGTTOU);
	/* Signals come through the signalfd only; box_spawn() unblocks them in the child. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror("nsreload run: sigprocmask");
		return 1;
	}
	code = loop_setup(&lp, c, log, &mask);
	if (code == 0) {
		reload_start(&lp.st);
		r = event_loop(&lp);
		if (r < 0) {
			log_msg(log, LOG_MAIN, "event loop: %s", strerror(-r));
			code = 1;
		}
	}
	teardown(&lp);
	if (code == 0 && c->misc.clean_on_exit)
		tmp_dir_clean(c, log);
	/*
	 * INT, TERM and HUP stay blocked: the process ends now, and one that comes meanwhile (a third Ctrl-C)
	 * must not turn a requested exit's 0 into 128+N.
	 */
	return code;
}
