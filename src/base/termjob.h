/*
 * termjob.h - the terminal between a supervisor and the job it runs, kept as
 * a job-control shell keeps it for its jobs (bash's give_terminal_to and its
 * saved tty state): the job gets the terminal's foreground; when the job
 * stops, the terminal comes back with the modes the supervisor started with
 * (the job's are saved), so that the supervisor can stop in turn and its own
 * shell take over; when the supervisor is continued in the foreground (fg)
 * the job gets the terminal and its modes again, in the background (bg) it
 * gets neither.
 *
 * A supervisor may run jobs one after another (nsreload run's app, one
 * run after the other): termjob_end() closes one job, termjob_given() opens
 * the next.
 *
 * Every call does nothing without a terminal (fd -1). The caller keeps
 * SIGTTOU blocked: tcsetpgrp() and tcsetattr() from the background then act
 * instead of stopping it, so these only ever take the terminal from the job,
 * never from the caller's shell.
 */
#ifndef NSRELOAD_TERMJOB_H
#define NSRELOAD_TERMJOB_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct termjob {
	int fd;              /* our session's controlling terminal, in front of it or not; else -1 */
	bool job_has_it;     /* the job was given the foreground and it was not taken back since */
	bool have_job_modes; /* job holds the modes the job had when it stopped */
	pid_t job_pgrp;      /* the group that had the foreground when the job stopped, or 0 */
	struct termios own;  /* ours: at start, and again at each fg (what our shell gave us) */
	struct termios job;
};

/*
 * t->fd = fd when fd is our session's controlling terminal, else -1; its
 * modes are ours. Whether we are in front of it is asked when it matters
 * (termjob_foreground()): started in the background, a supervisor gives the
 * job nothing until its shell brings it to the front.
 */
void termjob_init(struct termjob *t, int fd);
/* Whether we are the terminal's foreground process group. */
bool termjob_foreground(const struct termjob *t);
/* The job was given the foreground (by its spawn). */
void termjob_given(struct termjob *t);
/* The job stopped: when it held the foreground, save its modes and group, take the terminal, restore ours. */
void termjob_take(struct termjob *t);
/*
 * We were continued: in the foreground (fg), the job gets its modes and the
 * terminal back (true): to the group that had it, else to fallback_pgrp when
 * that is above 0. In the background (bg), nothing (false).
 */
bool termjob_give_back(struct termjob *t, pid_t fallback_pgrp);
/*
 * The job ended: the terminal back from the job when it holds it, and our
 * modes too when restore_modes (a job killed, as bash restores the modes
 * after a job that died of a signal). Nothing when the job ran in the
 * background: the terminal is our shell's then. What was saved of the job
 * is forgotten, so that a next job starts afresh.
 */
void termjob_end(struct termjob *t, bool restore_modes);

#endif
