/*
 * pathset.h - the paths changed since the last build, in the order they first
 * changed, each once.
 *
 * Why a set of its own: a build is told what changed (NSRELOAD_CHANGED_PATHS,
 * docs/run.md), in arrival order and without repeats, and an editor saving a
 * file ten times during a long build must not grow the list. An open
 * addressing table over the ordered array keeps each add O(1). Pure: no I/O.
 */
#ifndef NSRELOAD_PATHSET_H
#define NSRELOAD_PATHSET_H

#include <stddef.h>

struct pathset {
	char **v; /* the paths, in arrival order */
	size_t n, cap;
	size_t *slot; /* open addressing: index + 1, 0 empty */
	size_t nslots;
};

/* Adds a copy of path unless it is there already. Returns 0 or -ENOMEM. */
int pathset_add(struct pathset *ps, const char *path);
/* Hands the paths over (free them with paths_free()) and empties the set. */
char **pathset_take(struct pathset *ps, size_t *n);
/* Empties the set, freeing the paths. */
void pathset_clear(struct pathset *ps);
/* Frees what pathset_take() gave. */
void paths_free(char **v, size_t n);

#endif
