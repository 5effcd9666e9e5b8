/*
 * watch.h - recursive watching of a source tree (inotify, or polling).
 *
 * The watcher adds one watch per directory the filter admits, walking the
 * tree at start and each new directory as it appears (the files found in a
 * new directory count as changes). Watches of deleted or moved directories
 * are dropped. IN_Q_OVERFLOW rescans the tree and reports one change.
 * Symlinked directories are followed only with follow_symlink, with loop
 * detection by (dev, ino). When inotify_add_watch fails with ENOSPC the
 * watcher reports it once, with fs.inotify.max_user_watches' current value
 * and how to raise it, and goes on with what it watches. When a directory
 * cannot be opened for lack of file descriptors (EMFILE, ENFILE) it says so
 * once and rescans on the next event, until the rescan gets everything.
 * When the root itself is deleted or moved away, the watcher watches its
 * parent and takes the root up again when a directory of that name appears.
 *
 * It owns one fd (watch_fd) for the caller's epoll loop and never blocks.
 * Functions return 0 or -errno.
 *
 * Backends. What every backend shares lives in watch.c (this interface, the
 * sink and warnings, the batch of changed paths, the root going and coming
 * back) and watch_tree.c (the watched directories, the walk and the filter's
 * say on them, symlink loops, rescans). What the kernel is asked and how its
 * news are read lives in one file per backend behind struct
 * watch_backend_ops (watch_backend.h): watch_inotify.c (wds, IN_Q_OVERFLOW,
 * the ENOSPC and EMFILE limits), and watch_poll.c (stat-based scans from a
 * timerfd, for the file systems inotify cannot see through; in
 * WATCH_POLL_AUTO it runs inotify beside it for the rest, and watch_fd() is
 * then an epoll fd holding both). watch_new() takes inotify alone for
 * WATCH_POLL_NEVER and the poll backend otherwise. A new backend is one file,
 * watch_<name>.c, that fills a struct watch_backend_ops watch_<name>_ops
 * (open, close, add, remove, watch_parent, read) and feeds what it reads to
 * the watch_on_*() calls, plus one entry in watch_backends[] in watch.c.
 */
#ifndef NSRELOAD_WATCH_H
#define NSRELOAD_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct filter;
struct watch;

enum watch_event {
	/*
	 * A file the filter admits was created, written, removed or renamed. Also
	 * a watched directory moved away (or a followed symlink to one removed),
	 * whose files left without events of their own; that path is not filtered.
	 */
	WATCH_CHANGED,
	WATCH_OVERFLOW, /* events were lost: the tree was rescanned; treat as a change */
	WATCH_WARNING,  /* a message for the user (ENOSPC, a directory that vanished, a symlink loop) */
	/*
	 * The root was deleted or moved away: nothing is watched any more but its
	 * parent, for the root's name to appear again. path is the message.
	 */
	WATCH_ROOT_GONE,
	/* The root is back and watched again (its files were not reported one by one). path is the message.
	 */
	WATCH_ROOT_BACK,
};

struct watch_sink {
	/* path: relative to root for CHANGED; the message for WARNING; NULL for OVERFLOW. */
	void (*event)(void *data, enum watch_event ev, const char *path);
	void *data;
};

/* build.poll: unset is auto. */
enum watch_poll {
	WATCH_POLL_AUTO,   /* poll the subtrees on file systems inotify cannot see through (watch_poll.c) */
	WATCH_POLL_ALWAYS, /* poll everything */
	WATCH_POLL_NEVER,  /* inotify everywhere */
};

/* build.watcher, in the order of its choices (config_keys.c). */
enum watch_watcher {
	/*
	 * fanotify where it may mark the root's file system, no mount lies below
	 * the root, symlinks are not followed and the tree has more than
	 * WATCH_FAN_AUTO_DIRS directories; otherwise inotify as build.poll says.
	 */
	WATCH_AUTO,
	WATCH_INOTIFY,  /* inotify, with polling as build.poll says */
	WATCH_FANOTIFY, /* fanotify where it may be used (said otherwise, then as WATCH_INOTIFY) */
	WATCH_POLL,     /* poll everything, as build.poll = true */
};

/*
 * auto's threshold: a tree with more directories than this is watched with
 * fanotify. Below it inotify's walk takes under 0.25 s and sleeps while idle,
 * where a file system mark wakes for every write on the file system
 * (scripts/bench-watch, scripts/bench-reload's idle row).
 */
#define WATCH_FAN_AUTO_DIRS 10000

struct watch_opts {
	const char *root;
	enum watch_watcher watcher;
	bool follow_symlink;
	struct filter *filter; /* borrowed; decides which dirs to watch and which files count */
	struct watch_sink sink;
	enum watch_poll poll;
	unsigned poll_interval_ms; /* 0: WATCH_POLL_INTERVAL_MS */
};

#define WATCH_POLL_INTERVAL_MS 500

int watch_new(struct watch **out, const struct watch_opts *o);
void watch_free(struct watch *w);
int watch_fd(const struct watch *w);
/* Reads every pending event and reports through the sink. */
int watch_process(struct watch *w);
/* How many directories are watched (for logs and tests). */
size_t watch_count(const struct watch *w);
/*
 * Rescans the tree as after IN_Q_OVERFLOW: watches the directories that are
 * missing, relinks those that moved, drops those that are gone, and reports
 * WATCH_OVERFLOW. For a caller that knows events were lost.
 */
int watch_rescan(struct watch *w);
/* "inotify", "fanotify", "poll" (everything polled) or "inotify+poll" (some subtrees polled). */
const char *watch_backend_name(const struct watch *w);
/*
 * Which backend would watch the directory path under mode, and why, in a
 * sentence written into why (for doctor): "poll" or "inotify"; NULL when
 * path cannot be examined (why says so).
 */
const char *watch_backend_probe(const char *path, enum watch_poll mode, char *why, size_t size);
/*
 * Whether fanotify may watch the directory path here: 0, or -errno with why
 * written into why either way (CAP_SYS_ADMIN, the kernel, the file system).
 */
int watch_fanotify_usable(const char *path, char *why, size_t size);
/*
 * What auto asks before it counts directories, without trying fanotify:
 * CAP_SYS_ADMIN in the initial user namespace, and no mount below path. 0, or
 * -errno with why.
 */
int watch_fanotify_auto(const char *path, char *why, size_t size);
/*
 * The directories at and below path that filter admits (without one: hidden
 * ones skipped), counted up to limit + 1 at most.
 */
int watch_count_dirs(const char *path, struct filter *filter, int limit);
/* How many directory handles the fanotify backend resolved by a syscall (0 for other backends). */
unsigned long long watch_fanotify_misses(const struct watch *w);

#endif
