/*
 * loop.h - 'nsreload run' after its options: the event loop around the state
 * machine (reload.h).
 *
 * One thread, one epoll set: the watcher's inotify fd, a signalfd (SIGINT,
 * SIGTERM, SIGHUP, SIGCHLD, blocked everywhere else), the machine's two
 * timerfds, every box's fds, the output pipes and, for the r and q keys,
 * stdin. Nothing polls or sleeps: with nothing changing, the process does not
 * wake up. The loop turns each readable fd into one of the machine's events,
 * and after every wake-up brings the boxes up to date (reload_update()).
 *
 * Why apart from the machine: the fds, the signals, the terminal and the
 * watcher are the kernel's side, which the unit tests leave out; the machine
 * is the policy, which they drive by hand.
 */
#ifndef NSRELOAD_LOOP_H
#define NSRELOAD_LOOP_H

#include <stdbool.h>

struct config;
struct log;

struct reload_opts {
	bool vcs_ignore;   /* honour .gitignore and .ignore (not --no-vcs-ignore) */
	bool stdin_to_app; /* --stdin: the app gets stdin, no keys */
};

/*
 * Sets up the loop (signals, the box context, the watcher), runs it until the
 * exit sequence is over, and tears it all down. Returns the exit status:
 * 0 after a requested exit, 1 when the loop or the watcher cannot be set up,
 * 125 when no box of the requested rung can be (docs/run.md).
 */
int reload_run(const struct config *c, struct log *log, const struct reload_opts *o);

#endif
