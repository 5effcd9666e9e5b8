/*
 * proctree.h - the process tree as /proc shows it.
 *
 * /proc/P/task/T/children lists only the children forked by thread T, so a
 * walk reads the file of every thread. Returns 0/positive or -errno.
 */
#ifndef NSRELOAD_PROCTREE_H
#define NSRELOAD_PROCTREE_H

#include <stdbool.h>
#include <sys/types.h>

/* Return non-zero from the callback to stop the walk with that value. */
typedef int (*proctree_fn)(pid_t pid, void *data);

/*
 * Calls fn for every descendant of root, parents before children. Returns
 * the number visited, or the callback's non-zero value, or -errno.
 */
int proctree_walk(pid_t root, proctree_fn fn, void *data);

/*
 * Calls fn for every child of pid (of each of its threads), zombies
 * included. Returns 0, the callback's non-zero value, or -errno.
 */
int proctree_children(pid_t pid, proctree_fn fn, void *data);

/*
 * /proc numbers processes in the PID namespace it was mounted in, which is
 * not ours when we run as PID 1 of a namespace whose /proc is the parent's
 * (unshare --pid --fork without --mount-proc). Pids read from /proc are
 * compared with proc_self() and proc_pidfd_pid(), never with getpid() or a
 * clone's return value, and a process found there is pinned by proc_open():
 * its /proc/<pid> directory fd is a pidfd for pidfd_send_signal(2), and the
 * _at reads through it see that process or fail with ESRCH once it is gone.
 */
pid_t proc_self(void);
/* The pid the pidfd pins as /proc numbers it (0: none there, -1: gone), or -errno. */
pid_t proc_pidfd_pid(int pidfd);
/* Opens /proc/pid as a directory: a pin on that process. Returns the fd or -errno. */
int proc_open(pid_t pid);

/*
 * proctree_children() of ourselves, each child given by the number our PID
 * namespace has for it (for waitid), even where /proc is not ours.
 */
int proctree_own_children(proctree_fn fn, void *data);

/*
 * Reads the parent (when ppid is not NULL), process group and state letter
 * from /proc/pid/stat, or from name (e.g. "stat") under dirfd.
 */
int proc_read_stat(pid_t pid, pid_t *ppid, pid_t *pgid, char *state);
int proc_read_stat_at(int dirfd, const char *name, pid_t *ppid, pid_t *pgid, char *state);

/*
 * Whether /proc/pid/environ holds the exact entry "entry" (e.g. "K=V"): 1 or
 * 0, or -EAGAIN when it reads empty. A process in the middle of an execve
 * reads empty until its new stack is set up: ask again a moment later.
 */
int proc_environ_has(pid_t pid, const char *entry);
int proc_environ_has_at(int dirfd, const char *name, const char *entry);

#endif
