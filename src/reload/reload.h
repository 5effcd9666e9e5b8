/*
 * reload.h - the state machine of 'nsreload run' (docs/run.md, "The state
 * machine"): changes collected and debounced, one build at a time, the app
 * restarted only once its old box is empty, and the exit sequence.
 *
 * Five parts, each with an explicit state and its transitions in its own file:
 *
 *   changes (here, reload.c)  DEBOUNCE_IDLE, DEBOUNCE_ARMED
 *   build   (build.h)         BUILD_IDLE, BUILD_RUNNING, BUILD_CANCELLING, and `queued`
 *   app     (app.h)           APP_DOWN, APP_RUNNING, APP_EXITED, APP_STOPPING, APP_RESTARTING,
 *                             APP_RERUN_WAIT
 *   quit    (quit.h)          QUIT_NONE, QUIT_POST_CMD, QUIT_STOPPING, QUIT_DONE
 *   rules   (rulejob.h)       RULEJOB_IDLE, RULEJOB_RUNNING, RULEJOB_CANCELLING, and per rule a
 *                             debounce deadline and `due`
 *
 * Each transition is one function, named for what it does (build_begin,
 * app_restart, quit_begin, ...); the parts meet in reload.c, where a settled
 * change meets on_busy and where a build's end decides about the app and the
 * next build. The events below are the machine's whole input; the loop
 * (loop.h) turns fds into them.
 *
 * spare.h keeps a box of each kind the cycle uses made ahead, and removes
 * emptied ones after the spawn that waited: off the way from a save to the app.
 *
 * The machine's effects are box.h calls, its two timerfds (the debounce and
 * the rerun delay), the jobs' output pipes, the log and the files of files.h.
 * That is the seam for tests: tests/unit/test_reload.c links this folder with
 * tests/unit/fake_box.c, a box layer behind the real box.h in which the test
 * decides when a main process exits and when a box is empty, and drives the
 * events by hand. The kernel's side is for the integration tests.
 */
#ifndef NSRELOAD_RELOAD_H
#define NSRELOAD_RELOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "build.h"
#include "frontctl.h"
#include "handoff.h"
#include "pathset.h"
#include "quit.h"
#include "rulejob.h"
#include "spare.h"

struct box_ctx;
struct config;
struct log;
struct ttyctl;

/* The epoll data of every fd of the loop. */
enum reload_tag {
	TAG_SIGNAL = 1,
	TAG_WATCH,
	TAG_DEBOUNCE,
	TAG_RERUN,
	TAG_STDIN,
	TAG_BUILD_OUT,
	TAG_POST_OUT,
	TAG_BOX,
	TAG_RULE_TIMER, /* [[build.rules]]: their debounce (rulejob.h) */
	TAG_RULE_OUT,   /* the running rule command's output */
	TAG_TTY,        /* the terminal's sentinel reports a Ctrl-C, Ctrl-Z or hang-up (tty.h) */
	TAG_FRONT,      /* the front's control socket: its log lines, its end (frontctl.h) */
};

enum debounce_state {
	DEBOUNCE_IDLE,  /* no change waits for the debounce */
	DEBOUNCE_ARMED, /* changes came; the timer runs out debounce_window_ms() after the last one */
};

/*
 * A burst that has lasted this long is waited out by this much quiet at most
 * (unless build.delay is longer): the longest a burst's build waits after it.
 */
#define DEBOUNCE_BURST_CAP_MS 500ULL
/* Each change of a burst after its first lengthens the quiet it needs by this much (up to the cap). */
#define DEBOUNCE_PER_CHANGE_MS 25ULL

struct reload {
	const struct config *c;
	struct log *log;
	struct box_ctx *ctx;
	bool stdin_to_app;  /* the app gets nsreload's stdin (--stdin) */
	struct ttyctl *tty; /* the terminal (tty.h), borrowed; NULL: none, or not ours to hand on */
	int ep;             /* the loop's epoll set; the machine adds its own fds and its boxes' */
	int debounce_fd, rerun_fd, devnull;

	enum debounce_state debounce;
	uint64_t burst_start_ns; /* box_now_ns() of the first change since DEBOUNCE_IDLE */
	size_t burst_changes;    /* changes reported since then (reload_change() calls) */
	struct pathset changed;  /* since the last build began */
	bool root_gone;          /* the watched root was deleted: no builds until it is back */

	struct build build;
	struct app app;
	struct quit quit;
	struct rulejob rules;   /* [[build.rules]] */
	uint64_t places;        /* the last place in line given to a job that waits (reload_next_job) */
	struct spares spares;   /* boxes made ahead, boxes removed late (spare.h) */
	struct handoff handoff; /* socket.listen's sockets, passed to every run of the app (handoff.h) */
	struct frontctl front;  /* the proxy and the tcp front door, told what happens here (frontctl.h) */
};

/*
 * Sets up the machine with its epoll set and timerfds; c and log are
 * borrowed. Returns 0 or -errno; reload_free() after either. The caller sets
 * st->ctx (borrowed too) before the first event.
 */
int reload_init(struct reload *st, const struct config *c, struct log *log, bool stdin_to_app);
/* Frees every box left (killing what is in it) and closes the machine's fds. */
void reload_free(struct reload *st);

/* ---- the events ---- */

/* The first build, with no changed paths. */
void reload_start(struct reload *st);
/* A change of path (relative to root), or NULL for a change without one (overflow, the root back). */
void reload_change(struct reload *st, const char *path);
/* The watched root went away (no builds) or came back. */
void reload_root_gone(struct reload *st, bool gone);
/* A change of path that [[build.rules]] entry i takes (rules.h: rules_match): that rule, never a build. */
void reload_rule_change(struct reload *st, size_t i, const char *path);
/* The rules' debounce timer ran out. */
void reload_rules_timer(struct reload *st);
/* The debounce timer ran out. */
void reload_debounce_expired(struct reload *st);
/* r+Enter: build now, as if the debounce had run out. */
void reload_rebuild(struct reload *st);
/* The rerun timer ran out. */
void reload_rerun_expired(struct reload *st);
/* SIGINT, SIGTERM, SIGHUP or q+Enter: the exit sequence, or, the second time, kill everything. */
void reload_quit(struct reload *st);
/* The output pipe with this tag is readable. */
void reload_output(struct reload *st, enum reload_tag tag);
/* After every wake-up (box fds, SIGCHLD): brings the boxes, and with them the parts, up to date. */
void reload_update(struct reload *st);
/* Ctrl-Z and fg: sends sig (SIGTSTP, SIGCONT) to every process of every live box. */
void reload_signal_boxes(struct reload *st, int sig);
/* QUIT_DONE: the loop ends. */
bool reload_done(const struct reload *st);

/* ---- between the parts ---- */

/* The build is over (now BUILD_IDLE): restart or stop the app, and start a queued build. */
void reload_build_ended(struct reload *st, enum build_outcome how);
bool reload_quitting(const struct reload *st);
/* A build or a rule command runs (they never overlap). */
bool reload_busy(const struct reload *st);
/* Rule i's changes settled: its command now, or whatever on_busy says while a job runs. */
void reload_rule_settled(struct reload *st, size_t i);
/*
 * Nothing runs: starts what waits, the build (build.queued) or a due rule,
 * whichever came to wait first (place 0 is the front: on_busy restart).
 */
void reload_next_job(struct reload *st);
/* Adds fd to the epoll set ep for EPOLLIN with data.u64 = tag. Returns 0 or -errno. */
int reload_epoll_add(int ep, int fd, uint64_t tag);
/*
 * The quiet the tree needs after a change, age_ms into a burst (since the
 * first change the debounce waits for) that has brought changes changes
 * (reload_change() calls, this one included): build.delay (delay_ms), or,
 * when longer, as many ms as the burst has lasted or DEBOUNCE_PER_CHANGE_MS
 * per change after the first, up to DEBOUNCE_BURST_CAP_MS. A lone save (one
 * change) waits build.delay; a tool at work (git, gofmt, tar, a generator,
 * a loop of writes) is not cut in two by a pause of its writer.
 */
unsigned long long debounce_window_ms(unsigned long long delay_ms, unsigned long long age_ms, size_t changes);
/* Arms a timerfd to ms from now (0: at once), or disarms it. */
int timer_arm_ms(int fd, unsigned long long ms);
void timer_disarm(int fd);

#endif
