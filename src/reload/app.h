/*
 * app.h - the app's lifecycle: started in a box, stopped (signal, timeout,
 * kill, empty) before the next one starts, started again by build.rerun
 * (docs/run.md, "Run", "Restart", "The app exits by itself").
 *
 *   APP_DOWN       --app_start-->   APP_RUNNING (APP_DOWN when it cannot start)
 *   APP_RUNNING    --(main exits)--> APP_EXITED --(box empty)--> APP_RERUN_WAIT (build.rerun) or APP_DOWN
 *   APP_RERUN_WAIT --(rerun timer)--> app_start
 *   APP_RUNNING, APP_EXITED --app_stop-->    APP_STOPPING   --(box empty)--> APP_DOWN
 *   APP_RUNNING, APP_EXITED --app_restart--> APP_RESTARTING --(box empty)--> app_start
 *   APP_STOPPING --app_restart--> APP_RESTARTING;  APP_RESTARTING --app_stop--> APP_STOPPING
 *   APP_DOWN, APP_RERUN_WAIT --app_restart--> app_start
 *
 * Why apart: the rule that makes ports reusable lives here, once: a new app
 * is spawned only from APP_DOWN or APP_RERUN_WAIT, that is, never while the
 * old app's box holds a process. Whatever a main process leaves behind when
 * it ends by itself is killed at once: the box is one unit. During a stop the
 * stop signal goes to every process of the box (box.stop_scope = all), and
 * what outlives the main process keeps its grace until the stop timeout.
 */
#ifndef NSRELOAD_APP_H
#define NSRELOAD_APP_H

#include <sys/types.h>

struct box;
struct reload;

enum app_state {
	APP_DOWN,    /* no app: not started yet, or down until the next successful build */
	APP_RUNNING, /* its main process runs */
	APP_EXITED, /* its main process ended by itself; what it left is killed; waits for the box to empty */
	APP_STOPPING,   /* stop signal sent (the box kills all after the stop timeout); down once the box is
			   empty */
	APP_RESTARTING, /* as APP_STOPPING, and the new app starts once the box is empty */
	APP_RERUN_WAIT, /* ended by itself with build.rerun: starts again when the rerun timer runs out */
};

struct app {
	enum app_state state;
	struct box *box; /* NULL in APP_DOWN and APP_RERUN_WAIT */
	pid_t pid;
};

/* APP_DOWN or APP_RERUN_WAIT -> APP_RUNNING, or APP_DOWN when the app cannot start (logged). */
void app_start(struct reload *st);
/* A build succeeded: start the app now, or once the old box is empty (nothing while quitting). */
void app_restart(struct reload *st);
/* Stop the app and keep it down: APP_RUNNING, APP_EXITED, APP_RESTARTING -> APP_STOPPING. */
void app_stop(struct reload *st);
/* Quitting: no start any more: APP_RESTARTING -> APP_STOPPING, APP_RERUN_WAIT -> APP_DOWN. */
void app_keep_down(struct reload *st);
/* Sends sig to the main process (on_busy signal); the state changes when it ends. */
void app_signal(struct reload *st, int sig);
/* Kills the whole box now (a second quit request). */
void app_kill(struct reload *st);
/* The rerun timer ran out: APP_RERUN_WAIT -> app_start. */
void app_rerun_due(struct reload *st);
/* On box events: the main process ending, the box emptying. */
void app_update(struct reload *st);
/* Frees the box (at the end of the loop). */
void app_free(struct reload *st);

#endif
