/*
 * watch.c - the watcher's public interface (watch.h) and what every backend
 * shares around the tree: the sink and its warnings, the batch of changed
 * paths, and the root going away and coming back.
 *
 * The events of one watch_process() call form a batch, deduplicated by path.
 * A file whose first event in the batch made it appear and whose last made it
 * vanish did not exist before and does not now, so it is not reported: that
 * is how the temp file of an atomic save (write, then rename over the real
 * file) stays out of the reports whatever its name. After the backend has
 * read its news, the call takes up changed ignore files, retries what lacked
 * file descriptors, rescans after lost events, and then reports.
 */
#define _GNU_SOURCE
#include "watch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "util.h"
#include "watch_backend.h"

/* Batch tables bigger than this are freed after a call, so that a storm does not pin memory. */
#define KEEP_BATCH_SLOTS 4096

/*
 * The backends; watch_new() takes the first, the second (build.poll) or the
 * third (build.watcher, watch_pick()). A new backend is one file,
 * watch_<name>.c, defining watch_<name>_ops, and one entry here.
 */
static const struct watch_backend_ops *const watch_backends[] = {
	&watch_inotify_ops,
	&watch_poll_ops,
	&watch_fanotify_ops,
};

/* ---- the sink and warnings ---- */

void watch_send(struct watch *w, enum watch_event ev, const char *msg)
{
	if (w->sink.event)
		w->sink.event(w->sink.data, ev, msg);
}

void watch_warnf(struct watch *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!w->sink.event)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->sink.event(w->sink.data, WATCH_WARNING, msg);
}

long watch_read_long(const char *path)
{
	char *buf = NULL;
	size_t len;
	long v = -1;

	if (read_file(path, 0, 64, &buf, &len) == 0 && sscanf(buf, "%ld", &v) != 1)
		v = -1;
	free(buf);
	return v;
}

void watch_warn_errno(struct watch *w, int err, const char *what)
{
	if (err == EMFILE || err == ENFILE) {
		char advice[1024], when[1024];

		w->incomplete = true;
		if (w->warned_nofile)
			return;
		w->warned_nofile = true;
		snprintf(when, sizeof(when),
			 " while watching %s: it and what is below it are not watched for now, and nsreload "
			 "tries again on the next change",
			 what);
		if (err == EMFILE)
			watch_warnf(w, "%s", nofile_advice(advice, sizeof(advice), when));
		else
			watch_warnf(w,
				    "the system is out of file descriptors (fs.file-max is %ld) while "
				    "watching %s: "
				    "it is not watched for now; nsreload goes on and tries again on the next "
				    "change",
				    watch_read_long("/proc/sys/fs/file-max"), what);
	} else if (err != ENOENT && err != ENOTDIR) {
		/* ENOENT and ENOTDIR: the directory went away meanwhile; its parent's event says so. */
		watch_warnf(w, "cannot watch %s: %s", what, strerror(err));
	}
}

/* ---- editor temp files ---- */

static bool has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len >= n && memcmp(s + len - n, suf, n) == 0;
}

/* vim checks that it may write a directory by creating 4913, then 4913 + 123k until one is free. */
static bool is_vim_probe(const char *name)
{
	char *end;
	unsigned long v;

	if (name[0] < '1' || name[0] > '9')
		return false;
	errno = 0;
	v = strtoul(name, &end, 10);
	return *end == '\0' && errno == 0 && v >= 4913 && v < 4913 + 123 * 1000 && (v - 4913) % 123 == 0;
}

bool watch_is_temp_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return false;
	if (name[len - 1] == '~') /* vim and emacs backups */
		return true;
	if (len > 1 && name[0] == '#' && name[len - 1] == '#') /* emacs auto-save */
		return true;
	if (name[0] == '.' && name[1] == '#') /* emacs lock */
		return true;
	/* vim swap files: .swp, then .swo down to .swa when taken; .swx is its directory probe. */
	if (len > 4 && name[len - 4] == '.' && name[len - 3] == 's' && name[len - 2] == 'w' &&
	    ((name[len - 1] >= 'a' && name[len - 1] <= 'p') || name[len - 1] == 'x'))
		return true;
	/* JetBrains' safe write renames through these. */
	if (has_suffix(name, len, "___jb_tmp___") || has_suffix(name, len, "___jb_old___"))
		return true;
	return is_vim_probe(name);
}

/* ---- the batch of one watch_process() call ---- */

/* Replaces an index table by an empty one twice its size, for the caller to refill. */
int watch_slots_regrow(uint32_t **slots, uint32_t *n)
{
	uint32_t cap = *n ? *n * 2 : 64;
	uint32_t *s = malloc((size_t)cap * sizeof(*s));

	if (!s)
		return -ENOMEM;
	memset(s, 0xff, (size_t)cap * sizeof(*s)); /* every slot WATCH_NONE */
	free(*slots);
	*slots = s;
	*n = cap;
	return 0;
}

static uint32_t str_hash(const char *s)
{
	return (uint32_t)hash_fnv1a(HASH_FNV_INIT, s, strlen(s));
}

static void chg_put(struct watch *w, uint32_t i)
{
	uint32_t mask = w->nchgslots - 1, j;

	for (j = w->chg[i].hash & mask; w->chgslots[j] != WATCH_NONE; j = (j + 1) & mask)
		;
	w->chgslots[j] = i;
}

int watch_batch_note(struct watch *w, const char *path, enum watch_kind kind, bool dir)
{
	uint32_t h = str_hash(path), mask, j;
	char *s;

	if ((uint64_t)(w->nchg + 1) * 2 > w->nchgslots) {
		if (watch_slots_regrow(&w->chgslots, &w->nchgslots) < 0)
			return -ENOMEM;
		for (uint32_t i = 0; i < w->nchg; i++)
			chg_put(w, i);
	}
	mask = w->nchgslots - 1;
	for (j = h & mask; w->chgslots[j] != WATCH_NONE; j = (j + 1) & mask) {
		struct change *c = &w->chg[w->chgslots[j]];

		if (c->hash == h && strcmp(c->path, path) == 0) {
			c->last = kind;
			c->dir |= dir;
			return 0;
		}
	}
	if (w->nchg == w->capchg) {
		struct change *v = array_grow(w->chg, &w->capchg, sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->chg = v;
	}
	s = strdup(path);
	if (!s)
		return -ENOMEM;
	w->chg[w->nchg] = (struct change){ .path = s, .hash = h, .first = kind, .last = kind, .dir = dir };
	w->chgslots[j] = w->nchg++;
	return 0;
}

static void batch_emit(struct watch *w)
{
	for (uint32_t i = 0; i < w->nchg; i++) {
		struct change *c = &w->chg[i];

		if (c->first == K_APPEAR && c->last == K_VANISH)
			continue;
		if (!c->dir && w->filter && !filter_match_file(w->filter, c->path))
			continue;
		if (w->sink.event)
			w->sink.event(w->sink.data, WATCH_CHANGED, c->path);
	}
}

static void batch_clear(struct watch *w)
{
	for (uint32_t i = 0; i < w->nchg; i++)
		free(w->chg[i].path);
	if (w->nchgslots > KEEP_BATCH_SLOTS) {
		free(w->chgslots);
		free(w->chg);
		w->chgslots = NULL;
		w->chg = NULL;
		w->nchgslots = 0;
		w->capchg = 0;
	} else if (w->nchg) {
		memset(w->chgslots, 0xff, (size_t)w->nchgslots * sizeof(*w->chgslots));
	}
	w->nchg = 0;
	w->nreload = 0;
}

/* ---- the root ---- */

const char *watch_root_name(struct watch *w)
{
	const char *slash = strrchr(w->root, '/');
	size_t len;

	if (!slash || !slash[1])
		return NULL;
	len = slash == w->root ? 1 : (size_t)(slash - w->root);
	memcpy(w->tmp, w->root, len);
	w->tmp[len] = '\0';
	return slash + 1;
}

/*
 * The root was deleted or moved away: drop every watch and wait for a
 * directory of its name to appear in its parent. A root moved away is not
 * followed: the project is the path, not the inode.
 */
int watch_on_root_lost(struct watch *w, const char *how)
{
	char msg[PATH_MAX + 256];

	if (w->root_gone)
		return 0;
	w->root_gone = true;
	if (w->root_node != WATCH_NONE)
		watch_subtree_drop(w, w->root_node);
	w->overflow = false;
	w->incomplete = false;
	if (w->parent_id >= 0)
		snprintf(msg, sizeof(msg),
			 "the watched root %s was %s: nsreload keeps the current run, builds nothing and "
			 "waits for %s to appear again",
			 w->root, how, w->root);
	else
		snprintf(msg, sizeof(msg),
			 "the watched root %s was %s, and its parent cannot be watched: nsreload keeps the "
			 "current run but cannot see the root come back; restart nsreload",
			 w->root, how);
	watch_send(w, WATCH_ROOT_GONE, msg);
	return 0;
}

int watch_on_root_back(struct watch *w)
{
	char msg[PATH_MAX + 128];
	int r;

	if (!w->root_gone)
		return 0;
	r = watch_walk(w, WATCH_NONE, "", false, WALK_INIT);
	if (r < 0)
		return r;
	if (w->root_node == WATCH_NONE)
		return 0; /* gone again already, or not readable: the next event tries again */
	w->root_gone = false;
	snprintf(msg, sizeof(msg), "the watched root %s is back: watching %u directories again", w->root,
		 w->live);
	watch_send(w, WATCH_ROOT_BACK, msg);
	return 0;
}

/* ---- the public interface ---- */

void watch_on_overflow(struct watch *w)
{
	w->overflow = true;
}

int watch_rescan(struct watch *w)
{
	int r = watch_tree_rescan(w);

	if (r == 0 && w->sink.event)
		w->sink.event(w->sink.data, WATCH_OVERFLOW, NULL);
	return r;
}

int watch_process(struct watch *w)
{
	bool overflowed;
	int r;

	if (!w)
		return -EINVAL;
	r = w->ops->read(w);
	if (r == 0 && w->nreload)
		r = watch_reload_ignores(w);
	if (r == 0 && w->incomplete && !w->overflow && w->root_node != WATCH_NONE) {
		/* Retry what could not be opened for lack of fds; a rescan reports no files by itself. */
		uint32_t before = w->live;

		w->incomplete = false;
		r = watch_tree_rescan(w);
		if (r == 0 && !w->incomplete) {
			w->warned_nofile = false;
			watch_warnf(w,
				    "file descriptors are available again: watching %u directories (%u more)",
				    w->live, w->live > before ? w->live - before : 0);
		}
	}
	overflowed = w->overflow;
	if (r == 0 && overflowed) {
		r = watch_tree_rescan(w);
		if (r == 0)
			w->overflow = false;
	}
	if (w->hold && !overflowed) {
		/* Kept for the backend's next call; the ignore files are taken up already. */
		w->nreload = 0;
		return r;
	}
	batch_emit(w);
	if (overflowed && !w->overflow && w->sink.event)
		w->sink.event(w->sink.data, WATCH_OVERFLOW, NULL);
	batch_clear(w);
	return r;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	w->ops->close(w);
	batch_clear(w);
	watch_nodes_free(w);
	free(w->chg);
	free(w->chgslots);
	free(w->root);
	free(w);
}

/* Forgets every node, for another backend to start afresh. */
static void nodes_reset(struct watch *w)
{
	watch_nodes_free(w);
	w->nodes = NULL;
	w->slots = NULL;
	w->queue = NULL;
	w->reload = NULL;
	w->nnodes = w->live = w->nslots = w->nreload = 0;
	w->capnodes = w->capqueue = w->capreload = 0;
	w->free_head = w->root_node = WATCH_NONE;
	w->lazy = false;
	w->incomplete = false;
}

/* Opens the backend ops and walks the root; undoes both on failure. */
static int watch_start(struct watch *w, const struct watch_backend_ops *ops)
{
	int r;

	w->ops = ops;
	r = ops->open(w);
	if (r == 0)
		r = watch_walk(w, WATCH_NONE, "", false, WALK_INIT);
	if (r < 0) {
		ops->close(w);
		nodes_reset(w);
		w->fd = w->ifd = -1;
	}
	return r;
}

static bool follow_or_poll(const struct watch *w)
{
	return w->follow || w->poll_mode == WATCH_POLL_ALWAYS;
}

/*
 * build.watcher. Polling forbidden: inotify alone, as it always was; else
 * the poll backend decides per subtree. fanotify when asked for and possible,
 * or in auto as below.
 */
static int watch_pick(struct watch *w, enum watch_watcher watcher)
{
	const struct watch_backend_ops *ino =
		w->poll_mode == WATCH_POLL_NEVER ? watch_backends[0] : watch_backends[1];
	const char *fs;
	char why[512];
	int r;

	if (w->poll_mode == WATCH_POLL_ALWAYS || watcher == WATCH_INOTIFY)
		return watch_start(w, ino);
	if (watcher == WATCH_FANOTIFY) {
		if (w->follow) {
			watch_warnf(w,
				    "build.watcher = \"fanotify\" cannot follow symlinked directories "
				    "(build.follow_symlink): inotify watches %s instead",
				    w->root);
			return watch_start(w, ino);
		}
		r = watch_start(w, watch_backends[2]);
		if (r == 0 || r == -ENOMEM)
			return r;
		/* Tried first, and probed only when it fails: a probe costs a group's close. */
		if (watch_fanotify_usable(w->root, why, sizeof(why)) == 0)
			snprintf(why, sizeof(why), "%s", strerror(-r));
		watch_warnf(
			w,
			"build.watcher = \"fanotify\" is not possible here: %s; inotify watches %s instead",
			why, w->root);
		return watch_start(w, ino);
	}
	/*
	 * Auto: where the root itself is not polled, a mark is allowed (read, not
	 * tried: a fanotify group's close waits for an RCU grace period) and the
	 * tree has more than WATCH_FAN_AUTO_DIRS directories the filter admits
	 * (counted up to there: a few readdirs).
	 */
	fs = follow_or_poll(w) ? NULL : watch_backend_probe(w->root, w->poll_mode, why, sizeof(why));
	if (!fs || strcmp(fs, "inotify") != 0 || watch_fanotify_auto(w->root, why, sizeof(why)) < 0 ||
	    watch_count_dirs(w->root, w->filter, WATCH_FAN_AUTO_DIRS) <= WATCH_FAN_AUTO_DIRS)
		return watch_start(w, ino);
	r = watch_start(w, watch_backends[2]);
	return r == 0 || r == -ENOMEM ? r : watch_start(w, ino);
}

int watch_new(struct watch **out, const struct watch_opts *o)
{
	struct watch *w;
	int r;

	if (!out || !o || !o->root)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ops = watch_backends[0]; /* until watch_pick() */
	w->poll_mode = o->watcher == WATCH_POLL ? WATCH_POLL_ALWAYS : o->poll;
	w->poll_interval_ms = o->poll_interval_ms ? o->poll_interval_ms : WATCH_POLL_INTERVAL_MS;
	w->fd = w->ifd = -1;
	w->follow = o->follow_symlink;
	w->filter = o->filter;
	w->sink = o->sink;
	w->root_node = w->free_head = WATCH_NONE;
	w->parent_id = -1;
	w->root = realpath(o->root, NULL);
	if (!w->root) {
		r = -errno;
		goto fail;
	}
	w->rootlen = strlen(w->root);
	if (w->rootlen + 2 >= sizeof(w->abs)) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	r = watch_pick(w, o->watcher);
	if (r < 0)
		goto fail;
	(void)w->ops->watch_parent(w);
	*out = w;
	return 0;
fail:
	watch_free(w);
	return r;
}

int watch_fd(const struct watch *w)
{
	return w ? w->fd : -EINVAL;
}

const char *watch_backend_name(const struct watch *w)
{
	if (!w)
		return NULL;
	if (w->ops == &watch_fanotify_ops)
		return "fanotify";
	if (w->ops == &watch_inotify_ops || !w->poll)
		return "inotify";
	return w->poll_mode == WATCH_POLL_ALWAYS ? "poll" : watch_poll_count(w) ? "inotify+poll" : "inotify";
}

size_t watch_count(const struct watch *w)
{
	return w ? w->live : 0;
}
