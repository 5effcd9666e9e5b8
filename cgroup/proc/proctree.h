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

/* Reads the parent (when ppid is not NULL), process group and state letter of pid from /proc/pid/stat. */
int proc_read_stat(pid_t pid, pid_t *ppid, pid_t *pgid, char *state);

/*
 * Whether /proc/pid/environ holds the exact entry "entry" (e.g. "K=V"): 1 or
 * 0, or -EAGAIN when it reads empty. A process in the middle of an execve
 * reads empty until its new stack is set up: ask again a moment later.
 */
int proc_environ_has(pid_t pid, const char *entry);

#endif
