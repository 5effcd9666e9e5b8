/*
 * quit.h - the exit sequence: SIGINT, SIGTERM, SIGHUP or q (docs/run.md, "Exit").
 *
 *   QUIT_NONE --quit_begin--> QUIT_POST_CMD --(each post_cmd over)--> ... --> QUIT_STOPPING
 *   QUIT_STOPPING --(every box empty and freed)--> QUIT_DONE: the loop ends
 *   any state but QUIT_NONE --quit_force--> the same state, every box killed,
 *                                           no further post_cmd started
 *
 * Why apart: quitting crosses every other part (no more builds, the running
 * build cancelled, post_cmd while the app still serves, then the app
 * stopped), and its order is what air users expect; here it is one sequence
 * instead of a flag tested everywhere.
 */
#ifndef NSRELOAD_QUIT_H
#define NSRELOAD_QUIT_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"

struct reload;

enum quit_state {
	QUIT_NONE,     /* not quitting */
	QUIT_POST_CMD, /* post_cmd[step - 1] runs in its box, one after the other, while the app still runs */
	QUIT_STOPPING, /* post_cmd is over: the app is stopped; waits until every box is empty and freed */
	QUIT_DONE,     /* nothing is left: the loop ends */
};

struct quit {
	enum quit_state state;
	struct job post;
	size_t step; /* the next post_cmd to start */
	bool forced; /* a second request killed everything: nothing more is started */
};

/*
 * QUIT_NONE -> QUIT_POST_CMD: timers disarmed, nothing queued, the build
 * cancelled, the first post_cmd started (QUIT_STOPPING when there is none).
 */
void quit_begin(struct reload *st);
/* A second request: every box is killed now, and logged; the post_cmds left are skipped. */
void quit_force(struct reload *st);
/* On box events: a post_cmd that is over starts the next, and the last one stops the app. */
void post_update(struct reload *st);
/* QUIT_STOPPING -> QUIT_DONE once no box is left. */
void quit_update(struct reload *st);
/* Frees what the quit holds (at the end of the loop). */
void quit_free(struct reload *st);

#endif
