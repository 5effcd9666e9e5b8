/*
 * tty.h - the terminal under 'nsreload run' (docs/run.md, "The terminal"):
 * with --stdin, each run of the app gets the terminal's foreground, as a
 * shell's job would; Ctrl-Z suspends the whole session and fg resumes it;
 * the terminal's modes are put back after every run and at exit.
 *
 * How nsreload hears Ctrl-C while the app's process group owns the terminal:
 * a sentinel, a small child of nsreload (a fork that never execs, outside
 * every box), joins the app's foreground group. The terminal's SIGINT,
 * SIGTSTP and SIGHUP reach it with the app's; it blocks every signal, takes
 * them with sigwaitinfo() and writes the signal's number, one byte, into a
 * pipe that the loop watches. Signals that nsreload itself sends (the pgroup
 * rung signals the whole group, sentinel included) are not reported. The
 * sentinel dies with nsreload (PR_SET_PDEATHSIG) and leaves the group when the
 * app's main process ends, before nsreload kills the rest of the app's box:
 * marked as no box's (box_ctx_exempt()), it is then never counted or killed
 * by the pgroup rung's sweep, and reports the Ctrl-C that may have killed the
 * app before it exits.
 *
 * Why apart: the terminal is a second owner of the app's process group, and
 * its rules (who may read, who gets the keyboard's signals, which modes are
 * in force) cut across the app's states; here they are in one place, and the
 * state machine only says when a run starts and when its main process ended.
 * Everything here is a no-op on a NULL struct ttyctl (no terminal, or the
 * unit tests).
 */
#ifndef NSRELOAD_TTY_H
#define NSRELOAD_TTY_H

#include <stdbool.h>
#include <stdint.h>

struct box_ctx;
struct log;
struct ttyctl;

/*
 * *out = NULL when stdin is not our controlling terminal; else the terminal,
 * its modes saved. to_app: --stdin, the app's runs get its foreground. The
 * sentinel's pipe goes into ep with data.u64 = tag. Returns 0 or -errno.
 */
int ttyctl_new(struct ttyctl **out, int ep, uint64_t tag, bool to_app, struct log *log);
/* Takes the terminal back, puts its modes back, ends the sentinel. */
void ttyctl_free(struct ttyctl *t);

/* The fd for box_spawn's tty_fd: the terminal when the app is to get it and we own it now, else -1. */
int ttyctl_spawn_fd(struct ttyctl *t);
/*
 * The app was spawned with ttyctl_spawn_fd() (ok: it runs): its group owns the terminal; a sentinel joins it,
 * marked in ctx as no box's (box_ctx_exempt()).
 */
void ttyctl_app_started(struct ttyctl *t, struct box_ctx *ctx, bool ok);
/* The app's main process ended: the terminal and its modes come back to nsreload, the sentinel ends. */
void ttyctl_app_ended(struct ttyctl *t);

/*
 * The sentinel's pipe is readable: fills sigs (up to max) with the signals
 * the terminal sent the app's group (SIGINT, SIGTSTP, SIGHUP) and returns
 * their count. A sentinel that was killed is replaced while the app runs.
 */
int ttyctl_read(struct ttyctl *t, int *sigs, int max);

/* Before nsreload stops itself (Ctrl-Z): the terminal back from the app, the modes saved and put back. */
void ttyctl_suspend(struct ttyctl *t);
/*
 * After a SIGCONT: when nsreload owns the terminal again (fg, not bg), the
 * saved modes are applied again and the app's group gets the foreground back.
 * Returns whether nsreload (or its app) owns the terminal's foreground.
 */
bool ttyctl_resume(struct ttyctl *t);

#endif
