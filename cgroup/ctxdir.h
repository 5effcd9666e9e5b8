/*
 * ctxdir.h - what the cgroup rungs (cgroup2, cgroup1) and the v1 limits share about their
 * context directories, nsreload.<pid>.<16 hex digits>: the name, and the
 * sweep of stale ones at start-up. Each owner holds an flock on its context
 * directory for its whole life, so taking the lock proves the owner gone;
 * the rung's own sweep_one does that, kills and removes.
 */
#ifndef NSRELOAD_CTXDIR_H
#define NSRELOAD_CTXDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "box-internal.h"

#define CTX_PREFIX "nsreload."
/* Fresh context names tried before giving up: 64 random bits collide only on purpose. */
#define CTX_NAME_TRIES 8

/*
 * True when name is a context directory's: nsreload.<pid>.<16 hex digits>,
 * or nsreload.<pid> as older versions named it. The only names we sweep.
 */
bool box_ctxdir_is_name(const char *name, pid_t *pid);

/* A fresh context name. The random part needs no strength: a taken name is only skipped. */
void box_ctxdir_make_name(char *name, size_t size);

/*
 * Calls sweep_one(parentfd, name, data) for each context directory under
 * parentfd whose owner looks gone, and reports each one it removed (0) to
 * opts->on_stale as <parent>/<name>.
 */
void box_ctxdir_sweep(int parentfd, const char *parent, const struct box_ctx_opts *opts,
		      int (*sweep_one)(int parentfd, const char *name, void *data), void *data);

#endif
