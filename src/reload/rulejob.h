/*
 * rulejob.h - [[build.rules]] in the run loop: each rule's changes,
 * debounced, and its cmd run in a box of its own (docs/run.md, "Rules").
 *
 * Each rule has its own paths and debounce (rule.delay after its last
 * change; one timerfd, armed to the earliest deadline). Once a rule's
 * changes settle, its cmd runs, or, while something runs, on_busy decides,
 * as for a build. The jobs never overlap: one build or one rule command at
 * a time, nothing else, so that a rule writing files the build reads (templ
 * generate, sqlc) never races it. What waits runs in the order it came to
 * wait (a place in line, reload.h: reload_next_job()).
 *
 *   RULEJOB_IDLE --rulejob_start--> RULEJOB_RUNNING --(its box is empty)--> RULEJOB_IDLE
 *   RULEJOB_RUNNING --rulejob_cancel--> RULEJOB_CANCELLING --(its box is empty)--> RULEJOB_IDLE
 *
 * Why apart from build.h: a rule's end means nothing for the app (air only
 * logs it), and a rule has no steps, no stop_on_error and no bin to check.
 * What they share is job.h (a command in a box, its output logged) and the
 * changed-paths environment (env.h).
 */
#ifndef NSRELOAD_RULEJOB_H
#define NSRELOAD_RULEJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "pathset.h"
#include "safefs.h"

struct reload;

/* One rule's changes. */
struct rule_pending {
	struct pathset changed; /* since its last run began */
	uint64_t deadline_ns;   /* its debounce runs out then (box_now_ns()); 0: not armed */
	bool due;               /* settled, and waiting for its turn */
	uint64_t place;         /* while due: its place in line (reload_next_job) */
};

enum rulejob_state {
	RULEJOB_IDLE,       /* no rule command runs */
	RULEJOB_RUNNING,    /* rule `running`'s cmd runs in its box */
	RULEJOB_CANCELLING, /* its box was killed (on_busy restart, quit): over once the box is empty */
};

struct rulejob {
	struct rule_pending *v; /* by rule index; n is c->build.nrules */
	size_t n;
	int timer_fd;

	enum rulejob_state state;
	size_t running;
	struct job job;
	uint64_t start_ns;
	char **paths; /* what the running command was told changed */
	size_t npaths;
	struct safefs_file changed_file;
};

/* Sets up the part (its timerfd in the machine's epoll set). Returns 0 or -errno. */
int rulejob_init(struct reload *st);
void rulejob_free(struct reload *st);

/* A change rule i takes: -> its debounce, pushed back to rule.delay from now. */
void rulejob_change(struct reload *st, size_t i, const char *path);
/* The timerfd ran out: the rules whose debounce is over settle, in their order. */
void rulejob_timer_expired(struct reload *st);
/* RULEJOB_IDLE -> RULEJOB_RUNNING: runs rule i's cmd with its paths (it must be idle, as the build). */
void rulejob_start(struct reload *st, size_t i);
/* RULEJOB_RUNNING -> RULEJOB_CANCELLING. */
void rulejob_cancel(struct reload *st);
/* On box events: a command whose box is empty ends (-> RULEJOB_IDLE), and the next job starts. */
void rulejob_update(struct reload *st);
/* quit: nothing waits any more, the timer is off, the running command is cancelled. */
void rulejob_quit(struct reload *st);
/* The rule due first: its index, and *place; -1 when none is due. */
int rulejob_first_due(const struct reload *st, uint64_t *place);

#endif
