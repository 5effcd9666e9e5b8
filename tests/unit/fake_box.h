/*
 * fake_box.h - a box layer without processes, behind the real cgroup/box.h,
 * for the unit tests of the run loop's state machine (src/reload/reload.h).
 *
 * Why: the machine's rules (restart waits for an empty box, on_busy, rerun,
 * quit during a build) are about the order of box events, and on the real
 * kernel that order is a race. Here the test decides it. fake_box.c defines
 * every function of box.h; the unit tests test_reload*.c link it with
 * src/reload instead of the box library (tests/CMakeLists.txt), so a call
 * that reaches the real library cannot link.
 *
 * The model, close to the real one:
 *  - box_spawn() starts nothing: it records argv, envp and a pid, and keeps
 *    a copy of the stdout fd: the test writes the "output" with
 *    fake_box_write(), and it closes when the main process ends.
 *  - fake_box_exit() ends the main process with a wait status. The box
 *    empties at once, unless fake_box_leave() said that the process leaves
 *    something behind: then only a kill empties it.
 *  - box_kill() is asynchronous, as on the kernel: the box is empty at the
 *    next box_process(). box_stop() records its signal and timeout and kills
 *    at once for a timeout of 0 or an exited main process, as the real one
 *    does; fake_box_timeout() is the stop timeout running out.
 *  - box_process() reports BOX_EV_MAIN_EXITED, BOX_EV_EMPTY and
 *    BOX_EV_KILLED once each, as they happen.
 *  - box_free() frees nothing: the box stays in the context's list, marked
 *    freed, so that a test can look at it afterwards; box_ctx_free() frees
 *    them all. Each box_new(), emptying and box_free() takes a number from
 *    one sequence (new_seq, empty_seq, free_seq), for tests of their order.
 */
#ifndef NSRELOAD_FAKE_BOX_H
#define NSRELOAD_FAKE_BOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "box.h"

#define FAKE_BOX_MAX_SIGNALS 8

struct box {
	struct box_ctx *ctx;
	struct box *next; /* the context's list, newest first */
	char kind[16];
	char name[32]; /* <kind>.<seq>, as box_name() says */
	pid_t pid;     /* after box_spawn() */
	bool spawned, main_exited, empty, killed, stopping, needed_kill, freed;
	bool leaves;   /* fake_box_leave(): a process stays after the main one exits */
	bool kill_due; /* box_kill() was called: empty at the next box_process() */
	int status;    /* the main process's wait status */
	int stop_sig;  /* box_stop()'s signal, or 0 */
	bool stop_all; /* the stop was box_stop_all() */
	unsigned stop_timeout_ms;
	int signals[FAKE_BOX_MAX_SIGNALS]; /* box_signal_main() and box_stop()'s signal, in order */
	size_t nsignals;
	unsigned pending; /* BOX_EV_* not reported yet */
	enum box_spawn_stage stage;
	unsigned new_seq, empty_seq, free_seq;
	int out_fd; /* the stdout given to box_spawn(), or -1 */
	char **argv, **envp;
	struct box_limits lim;          /* box_new_limited()'s, all 0 for box_new() */
	struct box_limit_report report; /* what box_limit_report() gives (fake_box_oom()) */
};

struct box_ctx {
	enum box_rung rung;
	struct box *boxes;
	unsigned seq;
	pid_t next_pid;
	/* The next box_spawn() of a box of this kind fails with -fail_errno at fail_stage. */
	const char *fail_kind;
	int fail_errno;
	enum box_spawn_stage fail_stage;
};

/* The main process ends with this wait status ("exit 2" is 2 << 8). */
void fake_box_exit(struct box *b, int status);
/* The main process leaves a process behind when it ends: the box empties only when killed. */
void fake_box_leave(struct box *b);
/* The stop timeout of box_stop() ran out: the box is killed (BOX_EV_KILLED). */
void fake_box_timeout(struct box *b);
/*
 * The OOM killer kills the main process (status SIGKILL) at peak bytes: the
 * next box_process() reports BOX_EV_OOM with it, then the exit.
 */
void fake_box_oom(struct box *b, unsigned long long peak);
/* refused forks at pids_max: BOX_EV_PIDS_MAX at the next box_process(). */
void fake_box_pids_max(struct box *b, unsigned long long refused);
/* Writes text to the box's stdout, as its command would. */
void fake_box_write(struct box *b, const char *text);

/* The newest box of this kind ("build", "run", "post"), freed or not; NULL if none. */
struct box *fake_box_last(const struct box_ctx *ctx, const char *kind);
/* How many boxes of this kind were made; kind NULL: all. */
size_t fake_box_count(const struct box_ctx *ctx, const char *kind);
/* How many boxes are not freed yet. */
size_t fake_box_live(const struct box_ctx *ctx);
/* The value of name in the box's environment, or NULL. */
const char *fake_box_env(const struct box *b, const char *name);
/* The command: argv[2] of "/bin/sh -c CMD ...", else argv[0]. */
const char *fake_box_cmd(const struct box *b);

#endif
