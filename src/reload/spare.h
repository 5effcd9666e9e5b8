/*
 * spare.h - boxes made before they are needed, and boxes removed after the
 * work that waited on them (docs/run.md, "The reload cycle"; docs/design.md).
 *
 * Why: making a box (on the cgroup rungs a cgroup directory, its fds, the
 * limits written into it) and removing one (rmdir) need nothing from the
 * change. On the way from a save to the new app they are pure delay. So the
 * machine keeps one spare box per kind that the cycle uses, "build" (the
 * build's steps) and "run" (the app), made while it waits (at the end of a
 * wake-up, after whatever that wake-up started), and a build step or the
 * app takes its spare instead of making one. A box that emptied (a finished
 * step, the old app's) is retired: out of the epoll set at once, removed at
 * the end of the wake-up, after the next step or the new app has been
 * spawned.
 *
 * The rules a spare keeps: it is empty and never spawned (box_spawn() only
 * ever happens after it was taken), it has the limits of the kind it stands
 * for, none is made while quitting (quit_begin() frees them), and
 * reload_free() frees every spare and retired box. A rule's command and a
 * post_cmd make their box as before. Spares are made only when the loop asks
 * for them (spares.on): the machine's unit tests count boxes one by one.
 */
#ifndef NSRELOAD_SPARE_H
#define NSRELOAD_SPARE_H

#include <stdbool.h>
#include <stddef.h>

struct box;
struct reload;

enum spare_kind {
	SPARE_BUILD, /* a build step's box, "build" */
	SPARE_RUN,   /* the app's box, "run" */
	SPARE_N,
};

#define SPARE_RETIRED_MAX 4

struct spares {
	bool on;                  /* make spares (the loop sets it); off: every box is made when needed */
	struct box *box[SPARE_N]; /* empty, never spawned, out of the epoll set; NULL: none now */
	bool failed[SPARE_N];     /* making one failed: no new try until a box of that kind is made */
	struct box *retired[SPARE_RETIRED_MAX]; /* empty boxes whose removal waits for spare_idle() */
	size_t nretired;
};

/*
 * A box of kind k for a spawn now: the spare when there is one (*out, and
 * the spare slot is emptied), else box_new_limited() with the kind's limits.
 * Returns 0 or box_new_limited()'s -errno.
 */
int spare_take(struct reload *st, enum spare_kind k, struct box **out);
/*
 * *bp is done with: when it is empty, it leaves the epoll set now and is
 * freed by spare_idle(); otherwise (or when the list is full) it is freed at
 * once as reload_box_free() does. *bp = NULL.
 */
void spare_retire(struct reload *st, struct box **bp);
/*
 * The end of a wake-up: frees the retired boxes, then, unless quitting,
 * makes the spares that are missing.
 */
void spare_idle(struct reload *st);
/* Frees every spare and retired box (quit_begin(), reload_free()). */
void spare_free(struct reload *st);

#endif
