/*
 * watch_backend.h - what a watcher backend and the shared core see of each
 * other (inside src/watch/ only; callers use watch.h).
 *
 * The core (watch.c, watch_tree.c) owns everything every backend shares:
 * the tree of watched directories and which ones count (the filter), the
 * walk, symlink loop detection, the root going and coming back, the batch of
 * changed paths and the sink. A backend (watch_inotify.c) owns how the kernel
 * is told about a directory and how its news are read. It names each watched
 * directory with an id, an int >= 0 that it chooses; adding a directory it
 * already watches must give the same id back, which is how the core sees a
 * symlink loop. inotify's wd is such an id, since inotify keys watches by
 * inode. A backend then feeds what it read to the watch_on_*() calls below.
 */
#ifndef NSRELOAD_WATCH_BACKEND_H
#define NSRELOAD_WATCH_BACKEND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "watch.h"

#define WATCH_NONE UINT32_MAX

struct watch_backend_ops {
	const char *name;
	/* Sets w->fd, the fd for the caller's epoll loop; may warn through the sink. */
	int (*open)(struct watch *w);
	void (*close)(struct watch *w);
	/*
	 * Watches the directory at path (not through a final symlink unless
	 * follow). Returns its id, or -errno after saying why through
	 * watch_warn_errno() or a warning of the backend's own.
	 */
	int (*add)(struct watch *w, const char *path, bool follow);
	/* Stops watching id; the kernel may have dropped it already. */
	void (*remove)(struct watch *w, int id);
	/*
	 * Watches the root's parent for the root's name (root_parent() gives
	 * both) and sets w->parent_id. Never fatal: without it only the root's
	 * own deletion is seen.
	 */
	int (*watch_parent)(struct watch *w);
	/* Takes in what is pending on w->fd without blocking, through the watch_on_*() calls. */
	int (*read)(struct watch *w);
	/*
	 * Optional, for a lazy backend (w->lazy): forgets what it knows of the
	 * directories it has no node for (the rules changed, or events were lost).
	 */
	void (*forget)(struct watch *w);
};

extern const struct watch_backend_ops watch_inotify_ops;
/* One fanotify mark per file system, directories found from their handles (watch_fanotify.c). */
extern const struct watch_backend_ops watch_fanotify_ops;
/* Polling, alone or beside inotify for the subtrees it cannot see (watch_poll.c). */
extern const struct watch_backend_ops watch_poll_ops;
/* How many directories are polled (the root's parent among them when it is polled). */
uint32_t watch_poll_count(const struct watch *w);

enum watch_kind {
	K_APPEAR = 1, /* created or moved in */
	K_VANISH,     /* deleted or moved away */
	K_WRITE,
};

enum walk_mode {
	WALK_INIT,    /* the first walk: nothing to report */
	WALK_NEW,     /* a directory that appeared: its files count as changes */
	WALK_RESCAN,  /* after lost events: descend into watched directories too, relink moved ones */
	WALK_REFRESH, /* the ignore rules changed under a directory: add what they now admit */
};

struct node {
	char *name;                         /* NULL for a free slot; "" for the root */
	int id;                             /* the backend's */
	uint32_t parent, child, next, prev; /* next also links the free list */
	uint32_t gen;                       /* the last full rescan that saw this directory */
	bool via_link;                      /* reached through a followed symlink */
};

struct change {
	char *path;
	uint32_t hash;
	uint8_t first, last;
	bool dir; /* a watched directory moved away: its files are gone without events */
};

struct watch {
	const struct watch_backend_ops *ops;
	int fd;                  /* the backend's, for the caller's epoll loop */
	int ifd;                 /* inotify's: fd itself, or inside it when the poll backend nests it */
	struct poll_state *poll; /* watch_poll.c's */
	struct fan_state *fan;   /* watch_fanotify.c's */
	/*
	 * The backend sees every directory without a watch each (fanotify): the
	 * walk stops at the root, and a directory gets a node only when an event
	 * comes from it (watch_resolve()) or it appears (a WALK_NEW walk).
	 */
	bool lazy;
	enum watch_poll poll_mode;
	unsigned poll_interval_ms;
	bool follow;
	bool overflow;
	bool warned_nospc, warned_nofile;
	bool incomplete; /* a directory could not be read for lack of fds: rescan on the next call */
	bool hold;       /* the backend keeps this call's batch for its next call (a storm settling) */
	int parent_id;   /* the backend's watch on the root's parent (for the root's name), or -1 */
	bool root_gone;
	struct filter *filter;
	struct watch_sink sink;
	char *root;
	size_t rootlen;
	uint32_t root_node;
	uint32_t gen;

	struct node *nodes;
	uint32_t nnodes, free_head, live;
	size_t capnodes;
	uint32_t *slots; /* id -> node, open addressing */
	uint32_t nslots;

	uint32_t *queue; /* the walk's breadth-first queue */
	size_t capqueue;

	struct change *chg; /* this call's batch */
	uint32_t nchg;
	size_t capchg;
	uint32_t *chgslots;
	uint32_t nchgslots;
	int *reload; /* ids of directories whose ignore files changed in this call */
	uint32_t nreload;
	size_t capreload;

	char abs[PATH_MAX];
	char tmp[PATH_MAX];
};

/* ---- watch.c: the sink, warnings, the batch, the root ---- */

void watch_warnf(struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void watch_send(struct watch *w, enum watch_event ev, const char *msg);
/* A number from a /proc/sys file; -1 when it cannot be read. */
long watch_read_long(const char *path);
/* Says once why a directory (what) cannot be watched or read: fd limits, or any other error. */
void watch_warn_errno(struct watch *w, int err, const char *what);
/* An editor's temp, swap, backup or probe file: never a change. */
bool watch_is_temp_name(const char *name);
int watch_batch_note(struct watch *w, const char *path, enum watch_kind kind, bool dir);
int watch_slots_regrow(uint32_t **slots, uint32_t *n);
/* Writes the root's parent directory into w->tmp and returns the root's name; NULL when the root is "/". */
const char *watch_root_name(struct watch *w);

/* ---- watch_tree.c: nodes, paths, the walk ---- */

uint32_t watch_node_find(const struct watch *w, int id);
/* Fills w->abs with node n's absolute path; returns its length or -ENAMETOOLONG. */
int watch_node_abs(struct watch *w, uint32_t n);
void watch_subtree_drop(struct watch *w, uint32_t top);
void watch_nodes_free(struct watch *w);
/* Watches the directory name under parent (the root when parent is WATCH_NONE) and all below it. */
int watch_walk(struct watch *w, uint32_t parent, const char *name, bool link, enum walk_mode mode);
/* Walks the whole tree again after lost events and drops what it did not reach. */
int watch_tree_rescan(struct watch *w);
/* Takes up the ignore files that changed in this call (w->reload). */
int watch_reload_ignores(struct watch *w);
/*
 * For a lazy backend: the node of the directory rel (relative to the root),
 * made with its parents as needed: 1 (*out), 0 when the filter does not admit
 * it or one of its parents, or -errno.
 */
int watch_resolve(struct watch *w, const char *rel, uint32_t *out);

/* ---- what a backend reports (watch_tree.c and watch.c) ---- */

/* Events were lost: the tree is rescanned at the end of this call. */
void watch_on_overflow(struct watch *w);
/*
 * The entry name in the watched directory n appeared, vanished or was
 * written (moved: it vanished by a rename). is_dir: it is known to be a
 * directory (not a symlink to one).
 */
int watch_on_entry(struct watch *w, uint32_t n, const char *name, enum watch_kind kind, bool is_dir,
		   bool moved);
/* The root was deleted or moved away (how says which). */
int watch_on_root_lost(struct watch *w, const char *how);
/* A directory of the root's name appeared in its parent. */
int watch_on_root_back(struct watch *w);

#endif
