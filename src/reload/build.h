/*
 * build.h - the build: pre_cmd[0], pre_cmd[1], ..., cmd, one at a time, each
 * in a box of its own (docs/run.md, "Build").
 *
 *   BUILD_IDLE --build_begin--> BUILD_RUNNING --(a step ends 0)--> the next step (BUILD_RUNNING)
 *   BUILD_RUNNING --(the last step ends 0, a step fails, a step cannot start)--> BUILD_IDLE
 *   BUILD_RUNNING --build_cancel--> BUILD_CANCELLING --(its box is empty)--> BUILD_IDLE
 *
 * Why apart: the steps, the changed paths handed to them, the build log and
 * the messages that say what to fix are the build's; what a build's end
 * means for the app (restart, stop_on_error) and for the next build (queued)
 * is the machine's (reload_build_ended() in reload.c). Never two builds at
 * once: build_begin() is called in BUILD_IDLE only.
 */
#ifndef NSRELOAD_BUILD_H
#define NSRELOAD_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "safefs.h"

struct reload;

enum build_state {
	BUILD_IDLE,       /* no build runs */
	BUILD_RUNNING,    /* step `step` runs in its box: pre_cmd[step], or cmd when step is pre_cmd.n */
	BUILD_CANCELLING, /* its box was killed (on_busy restart, quit): over, uncounted, once the box is
			     empty */
};

/* How a build ended, for the machine. */
enum build_outcome {
	BUILD_SUCCEEDED,   /* every step exited 0: restart the app */
	BUILD_BIN_MISSING, /* every step exited 0, but build.bin is not there: the old app keeps serving */
	BUILD_FAILED,      /* a step failed, or could not start */
	BUILD_CANCELLED,   /* build_cancel() */
};

struct build {
	enum build_state state;
	bool queued;           /* one more build once this one is over (on_busy queue and restart) */
	uint64_t queued_place; /* while queued: its place in line among rules (reload_next_job) */
	struct job job;
	size_t step;
	uint64_t start_ns;
	char **paths; /* what this build was told changed */
	size_t npaths;
	struct safefs_file changed_file; /* NSRELOAD_CHANGED_FILE of this build, removed at its end */
};

/* BUILD_IDLE -> BUILD_RUNNING: takes the changed paths and starts the first step. */
void build_begin(struct reload *st);
/* BUILD_RUNNING -> BUILD_CANCELLING: kills the step's box (again, if already cancelling). */
void build_cancel(struct reload *st);
/* On box events: a step that is over starts the next, or ends the build (-> BUILD_IDLE). */
void build_update(struct reload *st);
/* Frees what the build holds (at the end of the loop). */
void build_free(struct reload *st);

#endif
