/*
 * job.h - a command in a box of its own whose output is read line by line:
 * a build step or a post_cmd.
 *
 * Why apart: a build step and a post_cmd are started, read and ended the
 * same way, and "a step is over when its main process has exited and its box
 * is empty" (docs/run.md) is one rule, written once. A job is mechanics, not
 * policy: what a failed step means is the build's business (build.h).
 *
 * Each function takes the whole machine (struct reload, reload.h) for its box
 * context, its epoll set, its log and /dev/null.
 */
#ifndef NSRELOAD_JOB_H
#define NSRELOAD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct box;
struct reload;

#define JOB_LINE_MAX 4096 /* longer output lines are split */

struct box_limits;
struct config;

struct job {
	struct box *box; /* NULL: no job */
	int out_fd;      /* the read end of its stdout and stderr, or -1 */
	uint64_t tag;    /* out_fd's epoll data (enum reload_tag) */
	char line[JOB_LINE_MAX];
	size_t line_len;
	char *capture; /* the output's first 256 KiB, for build-errors.log */
	size_t capture_len;
	const char *kind; /* job_start()'s kind, a literal: who a limit event names */
};

/*
 * Starts /bin/sh -c cmd in a new box named kind ("build": the spare one, spare.h), in nsreload's own
 * directory (as air, never root), stdin on /dev/null, with its output into a pipe in the epoll set. Returns 0
 * or -errno; when box_spawn() itself failed, why says at which step. After a failure the job may still hold a
 * box: job_reset() it.
 */
int job_start(struct reload *st, struct job *j, const char *kind, const char *cmd, char **envp, char *why,
	      size_t why_size);
/* Reads what the job wrote and logs it a line at a time; closes the pipe at its end. */
void job_read_output(struct reload *st, struct job *j);
/*
 * Brings the job's box up to date; when the main process has exited, what it
 * left behind is killed. True once the box is empty and the output read: the
 * job is over and *status holds its wait status.
 */
bool job_update(struct reload *st, struct job *j, int *status);
/*
 * Closes the pipe, lets the box go (spare_retire(): an empty one is removed at the end of the
 * wake-up, one that is not is killed and freed now) and forgets the output.
 */
void job_reset(struct reload *st, struct job *j);

/*
 * Frees *bp (killing what is left; box_free() may wait, bounded), taking its
 * fds out of the epoll set first, and logs a cgroup left behind. *bp = NULL.
 */
void reload_box_free(struct reload *st, struct box **bp);
/*
 * The limits a box of the run gets (box.h): box.memory_max, pids_max and
 * cpu_max for the app, and for the others (build, rules, pre_cmd, post_cmd)
 * only with box.limit_builds; all 0 otherwise. any: the most any box gets,
 * for the context.
 */
void reload_box_limits(const struct config *c, bool app, struct box_limits *out);
/* Logs each limit event of ev (BOX_EV_OOM, BOX_EV_PIDS_MAX) of b, with who's name. */
void reload_limit_events(struct reload *st, struct box *b, const char *who, int ev);
/* Why box_spawn() of b failed with r, for a log line: the box's step, or the command's errno. */
const char *spawn_why(const struct box *b, int r, char *buf, size_t size);

#endif
