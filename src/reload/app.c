/* The app's lifecycle (app.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "app.h"
#include "box.h"
#include "config.h"
#include "env.h"
#include "files.h"
#include "job.h"
#include "log.h"
#include "reload.h"
#include "tty.h"

/* Spawns the app into a new box; -errno after logging why (the box is freed). */
static int app_spawn(struct reload *st, char **argv, char **envp)
{
	char why[512];
	int r, tty_fd;

	/* The box made for it while idle, when there is one (spare.h). */
	r = spare_take(st, SPARE_RUN, &st->app.box);
	if (r < 0) {
		log_msg(st->log, LOG_MAIN,
			"cannot create a box for the app: %s; nothing runs until the next build",
			explain_errno(-r, why, sizeof(why)));
		return r;
	}
	/* In nsreload's own directory, as air (root is only what is watched). wait_all: the pidns init
	 * outlives a main process that exits during a stop, so that the rest gets its grace
	 * (app_main_exited). With --stdin on a terminal the box's group gets its foreground (tty.h). */
	tty_fd = st->stdin_to_app ? ttyctl_spawn_fd(st->tty) : -1;
	r = box_spawn(st->app.box, &(struct box_spawn){ .argv = argv,
							.envp = envp,
							.cwd = NULL,
							.stdin_fd = st->stdin_to_app ? -1 : st->devnull,
							.stdout_fd = -1,
							.stderr_fd = -1,
							.tty_fd = tty_fd,
							.wait_all = true,
							/* The app alone: builds and rules never get them. */
							.pass_fds = st->handoff.fds,
							.n_pass_fds = st->handoff.n });
	if (tty_fd >= 0)
		ttyctl_app_started(st->tty, st->ctx, r == 0);
	if (r < 0) {
		log_msg(st->log, LOG_RUNNER, "cannot start %s: %s; nothing runs until the next build",
			argv[0], spawn_why(st->app.box, r, why, sizeof(why)));
		reload_box_free(st, &st->app.box);
	}
	return r;
}

void app_start(struct reload *st)
{
	char **argv = NULL, **envp = NULL;
	int r;

	st->app.state = APP_DOWN;
	r = config_app_argv(st->c, &argv);
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "nothing to run: %s",
			r == -ENOENT ? "no bin, entrypoint or full_bin" : strerror(-r));
		frontctl_send(&st->front, 'D', NULL, 0);
		return;
	}
	handoff_check_argv(&st->handoff, argv, st->log);
	if (envp_make(st->c, st->log, NULL, 0, &envp) == 0 && app_spawn(st, argv, envp) == 0) {
		st->app.state = APP_RUNNING;
		st->app.pid = box_main_pid(st->app.box);
		frontctl_send(&st->front, 'R', NULL, 0);
		log_run_start(st->log, st->app.pid, box_rung_name(box_rung_of(st->app.box)));
		(void)box_epoll_add(st->app.box, st->ep, TAG_BOX);
	}
	envp_free(envp);
	config_argv_free(argv);
	if (st->app.state == APP_DOWN)
		frontctl_send(&st->front, 'D', NULL, 0);
}

static bool stop_to_all(const struct reload *st)
{
	return st->c->box.stop_scope == CONFIG_STOP_ALL;
}

/*
 * APP_RUNNING or APP_EXITED -> then: box_stop_all() or box_stop() (box.stop_scope), which kill the box
 * after the stop timeout.
 */
static void app_stop_box(struct reload *st, enum app_state then)
{
	unsigned timeout_ms = (unsigned)st->c->box.stop_timeout_ms;
	int sig = st->c->box.stop_signal, r;

	st->app.state = then;
	/* Before the signal: the front holds new requests instead of sending them to a run that ends. */
	frontctl_send(&st->front, 'S', NULL, 0);
	r = stop_to_all(st) ? box_stop_all(st->app.box, sig, timeout_ms)
			    : box_stop(st->app.box, sig, timeout_ms);
	if (r < 0 && r != -ESRCH)
		(void)box_kill(st->app.box);
	/* A stopped app (Ctrl-Z, or SIGTTIN after bg) acts on the stop signal only once it goes on. */
	else
		(void)box_signal_all(st->app.box, SIGCONT);
}

void app_restart(struct reload *st)
{
	timer_disarm(st->rerun_fd);
	if (reload_quitting(st))
		return;
	switch (st->app.state) {
	case APP_DOWN:
	case APP_RERUN_WAIT:
		app_start(st);
		break;
	case APP_RUNNING:
	case APP_EXITED:
		app_stop_box(st, APP_RESTARTING);
		break;
	case APP_STOPPING:
		/* A build that succeeds while the old box empties only confirms the start. */
		st->app.state = APP_RESTARTING;
		break;
	case APP_RESTARTING:
		break;
	}
}

void app_stop(struct reload *st)
{
	if (st->app.state == APP_RUNNING || st->app.state == APP_EXITED)
		app_stop_box(st, APP_STOPPING);
	else if (st->app.state == APP_RESTARTING)
		st->app.state = APP_STOPPING;
}

void app_keep_down(struct reload *st)
{
	timer_disarm(st->rerun_fd);
	if (st->app.state == APP_RESTARTING)
		st->app.state = APP_STOPPING;
	else if (st->app.state == APP_RERUN_WAIT)
		st->app.state = APP_DOWN;
}

void app_signal(struct reload *st, int sig)
{
	if (st->app.box && stop_to_all(st))
		(void)box_signal_all(st->app.box, sig);
	else if (st->app.box)
		(void)box_signal_main(st->app.box, sig);
}

void app_kill(struct reload *st)
{
	if (st->app.box)
		(void)box_kill(st->app.box);
}

void app_rerun_due(struct reload *st)
{
	if (st->app.state == APP_RERUN_WAIT && !reload_quitting(st))
		app_start(st);
}

/*
 * APP_RUNNING -> APP_EXITED when the main process ended by itself; what it left goes with it. During a
 * stop that signalled every process (box.stop_scope = all), the rest keeps its grace: a shell that dies
 * of the signal at once must not take the app's shutdown handler with it. The box's timer kills what is
 * left when the stop timeout runs out.
 */
static void app_main_exited(struct reload *st)
{
	bool stopping = st->app.state == APP_STOPPING || st->app.state == APP_RESTARTING;

	if (st->app.state == APP_RUNNING) {
		st->app.state = APP_EXITED;
		log_run_exit(st->log, st->app.pid, box_main_status(st->app.box));
	}
	if (!box_is_empty(st->app.box) && !(stopping && stop_to_all(st)))
		(void)box_kill(st->app.box);
}

/*
 * The box is empty: APP_STOPPING -> APP_DOWN, APP_RESTARTING -> app_start, APP_EXITED -> APP_RERUN_WAIT
 * (build.rerun) or APP_DOWN.
 */
static void app_emptied(struct reload *st)
{
	enum app_state was = st->app.state;
	bool stopped = was == APP_STOPPING || was == APP_RESTARTING;

	if (stopped)
		log_run_stop(st->log, st->app.pid, box_rung_name(box_rung_of(st->app.box)),
			     box_stop_duration_ns(st->app.box) / 1000000, box_stop_needed_kill(st->app.box));
	/* Removed after the new app is spawned (spare.h). */
	spare_retire(st, &st->app.box);
	st->app.state = APP_DOWN;
	if (reload_quitting(st) || (was != APP_RESTARTING && (stopped || !st->c->build.rerun)))
		frontctl_send(&st->front, 'D', NULL, 0);
	if (reload_quitting(st))
		return;
	if (was == APP_RESTARTING) {
		app_start(st);
	} else if (!stopped && st->c->build.rerun) {
		st->app.state = APP_RERUN_WAIT;
		(void)timer_arm_ms(st->rerun_fd, st->c->build.rerun_delay_ms);
	}
}

void app_update(struct reload *st)
{
	int ev;

	if (!st->app.box)
		return;
	ev = box_process(st->app.box);
	if (ev < 0) {
		log_msg(st->log, LOG_MAIN, "run box: %s", strerror(-ev));
		return;
	}
	/* Before the exit it explains: "app killed by the OOM killer", then "killed by signal 9". */
	reload_limit_events(st, st->app.box, "app", ev);
	if (ev & BOX_EV_MAIN_EXITED) {
		/* Before app_main_exited() kills the rest: the sentinel must be out of a pgroup box's group.
		 */
		ttyctl_app_ended(st->tty);
		app_main_exited(st);
	}
	if (box_is_empty(st->app.box) && box_main_exited(st->app.box))
		app_emptied(st);
}

void app_free(struct reload *st)
{
	ttyctl_app_ended(st->tty);
	reload_box_free(st, &st->app.box);
	st->app.state = APP_DOWN;
}
