/*
 * cgroup2_guard.h - the cgroup2 rung's death guard: a small fork of the
 * supervisor, outside every box, that kills the context directory's whole
 * tree (cgroup.kill, or the freeze-and-kill loop before 5.14) when the
 * supervisor dies, SIGKILL included. Without it a SIGKILLed supervisor left
 * its boxes running, and their ports held, until the next start swept them.
 * rungs/cgroup2.c uses it, and rungs/cgroup1.c for its v1 freezer directory.
 */
#ifndef NSRELOAD_CGROUP2_GUARD_H
#define NSRELOAD_CGROUP2_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Starts the guard of the context directory held by ctx_dirfd. The guard
 * gets its own fd on that directory (a fresh open of ".", so that it never
 * shares the flock that marks the directory as ours), and nothing else of
 * ours. Returns 0 once the guard is forked (our death is covered from then
 * on, armed or not yet), with *pid and *pidfd set, or -errno (nothing left
 * running).
 */
int cg_guard_start(int ctx_dirfd, bool force_freeze_loop, pid_t *pid, int *pidfd);

/* The same guard over a cgroup v1 freezer context directory: it kills with the freezer loop. */
int cg_guard_start_v1(int ctx_dirfd, pid_t *pid, int *pidfd);

/* Ends a guard (SIGKILL through its pidfd: it kills nothing then) and reaps it. Closes pidfd. */
void cg_guard_stop(pid_t pid, int pidfd);

#endif
