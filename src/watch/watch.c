/*
 * watch.c - recursive inotify watching (watch.h).
 *
 * Watched directories form a tree of nodes (name, parent, children) rather
 * than a list of full paths: names are all that is stored, a subtree can be
 * dropped without looking at every watch, and a directory that moved while
 * events were lost is relinked with all its children at once. A full path is
 * built only when something is reported or a directory is read.
 *
 * The events of one watch_process() call form a batch, deduplicated by path.
 * A file whose first event in the batch made it appear and whose last made it
 * vanish did not exist before and does not now, so it is not reported: that
 * is how the temp file of an atomic save (write, then rename over the real
 * file) stays out of the reports whatever its name.
 *
 * inotify identifies a watch by its inode: adding a watch on a directory
 * already watched returns the existing wd. That is the (st_dev, st_ino) set
 * of the symlink loop check, kept by the kernel, and it stays right when a
 * deleted directory's inode number is reused, since its watch went with it.
 */
#define _GNU_SOURCE
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "util.h"

#define NONE UINT32_MAX
#define DIR_MASK                                                                                             \
	(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_ONLYDIR)
/* Bounds one call, so that a writer that never stops cannot keep us here; epoll wakes us again. */
#define MAX_READS_PER_CALL 64
#define EVENT_BUF          (64 * 1024)
/* Batch tables bigger than this are freed after a call, so that a storm does not pin memory. */
#define KEEP_BATCH_SLOTS 4096

enum kind {
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
	char *name; /* NULL for a free slot; "" for the root */
	int wd;
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
	int fd;
	bool follow;
	bool overflow;
	bool warned_nospc, warned_nofile;
	bool incomplete; /* a directory could not be read for lack of fds: rescan on the next call */
	int parent_wd;   /* the watch on the root's parent (for the root's name), or -1 */
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
	uint32_t *slots; /* wd -> node, open addressing */
	uint32_t nslots;

	uint32_t *queue; /* the walk's breadth-first queue */
	size_t capqueue;

	struct change *chg; /* this call's batch */
	uint32_t nchg;
	size_t capchg;
	uint32_t *chgslots;
	uint32_t nchgslots;
	int *reload; /* wds of directories whose ignore files changed in this call */
	uint32_t nreload;
	size_t capreload;

	char abs[PATH_MAX];
	char tmp[PATH_MAX];
};

static void warnf(struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warnf(struct watch *w, const char *fmt, ...)
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

/* A number from a /proc/sys file; -1 when it cannot be read. */
static long read_long(const char *path)
{
	char *buf = NULL;
	size_t len;
	long v = -1;

	if (read_file(path, 0, 64, &buf, &len) == 0 && sscanf(buf, "%ld", &v) != 1)
		v = -1;
	free(buf);
	return v;
}

/* Says once why the watcher cannot take more, with the knob to turn. */
static void warn_limit(struct watch *w, int err, const char *what)
{
	if (err == ENOSPC) {
		long v = read_long("/proc/sys/fs/inotify/max_user_watches");
		long u = read_long("/proc/sys/user/max_inotify_watches");
		char ns[128] = "";

		if (w->warned_nospc)
			return;
		w->warned_nospc = true;
		/* Inside a user namespace its own, lower limit is the one that bites. */
		if (u >= 0 && u != v)
			snprintf(ns, sizeof(ns),
				 " (this user namespace allows %ld: /proc/sys/user/max_inotify_watches)", u);
		warnf(w,
		      "inotify watch limit reached at %s after %u directories: fs.inotify.max_user_watches "
		      "is %ld%s, shared by every inotify user of this uid. nsreload goes on, but changes in "
		      "the directories not watched will be missed. Raise it with 'sudo sysctl "
		      "fs.inotify.max_user_watches=524288', and for good with the line "
		      "'fs.inotify.max_user_watches=524288' in a file in /etc/sysctl.d/ (e.g. "
		      "/etc/sysctl.d/60-inotify.conf), or exclude directories (exclude_dir)",
		      what, w->live, v, ns);
	} else if (err == EMFILE && !what) {
		warnf(w,
		      "too many inotify instances: fs.inotify.max_user_instances is %ld, shared by every "
		      "inotify user of this uid. Close other watchers or raise it with 'sudo sysctl "
		      "fs.inotify.max_user_instances=1024' (for good, in a file in /etc/sysctl.d/)",
		      read_long("/proc/sys/fs/inotify/max_user_instances"));
	} else if (err == EMFILE || err == ENFILE) {
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
			warnf(w, "%s", nofile_advice(advice, sizeof(advice), when));
		else
			warnf(w,
			      "the system is out of file descriptors (fs.file-max is %ld) while watching %s: "
			      "it is not watched for now; nsreload goes on and tries again on the next "
			      "change",
			      read_long("/proc/sys/fs/file-max"), what);
	} else if (err != ENOENT && err != ENOTDIR) {
		/* ENOENT and ENOTDIR: the directory went away meanwhile; its parent's event says so. */
		warnf(w, "cannot watch %s: %s", what, strerror(err));
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

static bool is_temp_name(const char *name)
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

/* ---- nodes and the wd index ---- */

/* Replaces an index table by an empty one twice its size, for the caller to refill. */
static int slots_regrow(uint32_t **slots, uint32_t *n)
{
	uint32_t cap = *n ? *n * 2 : 64;
	uint32_t *s = malloc((size_t)cap * sizeof(*s));

	if (!s)
		return -ENOMEM;
	memset(s, 0xff, (size_t)cap * sizeof(*s)); /* every slot NONE */
	free(*slots);
	*slots = s;
	*n = cap;
	return 0;
}

static uint32_t wd_hash(int wd, uint32_t mask)
{
	return ((uint32_t)wd * 2654435761u) & mask;
}

static uint32_t wd_find(const struct watch *w, int wd)
{
	uint32_t mask, i;

	if (!w->nslots)
		return NONE;
	mask = w->nslots - 1;
	for (i = wd_hash(wd, mask);; i = (i + 1) & mask) {
		uint32_t n = w->slots[i];

		if (n == NONE || w->nodes[n].wd == wd)
			return n;
	}
}

static void wd_put(struct watch *w, uint32_t n)
{
	uint32_t mask = w->nslots - 1, i;

	for (i = wd_hash(w->nodes[n].wd, mask); w->slots[i] != NONE; i = (i + 1) & mask)
		;
	w->slots[i] = n;
}

/* Adds node n (already filled in) to the index, growing it to keep the load under one half. */
static int wd_insert(struct watch *w, uint32_t n)
{
	if ((uint64_t)(w->live + 1) * 2 > w->nslots) {
		if (slots_regrow(&w->slots, &w->nslots) < 0)
			return -ENOMEM;
		for (uint32_t i = 0; i < w->nnodes; i++)
			if (w->nodes[i].name && i != n)
				wd_put(w, i);
	}
	wd_put(w, n);
	return 0;
}

static void wd_remove(struct watch *w, int wd)
{
	uint32_t mask = w->nslots - 1, i, j;

	for (i = wd_hash(wd, mask); w->slots[i] != NONE; i = (i + 1) & mask)
		if (w->nodes[w->slots[i]].wd == wd)
			break;
	if (w->slots[i] == NONE)
		return;
	w->slots[i] = NONE;
	/* Linear probing without tombstones: pull back the entries that probed past the hole. */
	for (j = (i + 1) & mask; w->slots[j] != NONE; j = (j + 1) & mask) {
		uint32_t k = wd_hash(w->nodes[w->slots[j]].wd, mask);
		bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);

		if (!stays) {
			w->slots[i] = w->slots[j];
			w->slots[j] = NONE;
			i = j;
		}
	}
}

static void node_link(struct watch *w, uint32_t n, uint32_t p)
{
	struct node *x = &w->nodes[n];

	x->parent = p;
	x->prev = NONE;
	x->next = NONE;
	if (p == NONE)
		return;
	x->next = w->nodes[p].child;
	if (x->next != NONE)
		w->nodes[x->next].prev = n;
	w->nodes[p].child = n;
}

static void node_unlink(struct watch *w, uint32_t n)
{
	struct node *x = &w->nodes[n];

	if (x->parent == NONE)
		return;
	if (x->prev != NONE)
		w->nodes[x->prev].next = x->next;
	else
		w->nodes[x->parent].child = x->next;
	if (x->next != NONE)
		w->nodes[x->next].prev = x->prev;
	x->parent = x->prev = x->next = NONE;
}

static uint32_t node_new(struct watch *w, uint32_t parent, const char *name, int wd, bool link)
{
	char *s = strdup(name);
	uint32_t n;

	if (!s)
		return NONE;
	if (w->free_head != NONE) {
		n = w->free_head;
		w->free_head = w->nodes[n].next;
	} else {
		if (w->nnodes == w->capnodes) {
			struct node *v = array_grow(w->nodes, &w->capnodes, sizeof(*v));

			if (!v) {
				free(s);
				return NONE;
			}
			w->nodes = v;
		}
		n = w->nnodes++;
	}
	w->nodes[n] = (struct node){ .name = s, .wd = wd, .child = NONE, .gen = w->gen, .via_link = link };
	if (wd_insert(w, n) < 0) {
		free(s);
		w->nodes[n].name = NULL;
		w->nodes[n].next = w->free_head;
		w->free_head = n;
		return NONE;
	}
	node_link(w, n, parent);
	w->live++;
	return n;
}

static void node_free(struct watch *w, uint32_t n)
{
	struct node *x = &w->nodes[n];

	/* Fails with EINVAL when the kernel dropped the watch first (IN_IGNORED); that is fine. */
	inotify_rm_watch(w->fd, x->wd);
	wd_remove(w, x->wd);
	free(x->name);
	x->name = NULL;
	x->next = w->free_head;
	w->free_head = n;
	w->live--;
}

/* Drops a directory and everything watched below it, deepest first. */
static void subtree_drop(struct watch *w, uint32_t top)
{
	uint32_t n = top;

	node_unlink(w, top);
	for (;;) {
		uint32_t p;

		while (w->nodes[n].child != NONE)
			n = w->nodes[n].child;
		p = w->nodes[n].parent;
		node_unlink(w, n);
		node_free(w, n);
		if (n == top)
			break;
		n = p;
	}
	if (top == w->root_node)
		w->root_node = NONE;
}

static uint32_t child_find(const struct watch *w, uint32_t p, const char *name)
{
	for (uint32_t c = w->nodes[p].child; c != NONE; c = w->nodes[c].next)
		if (strcmp(w->nodes[c].name, name) == 0)
			return c;
	return NONE;
}

static bool is_ancestor(const struct watch *w, uint32_t a, uint32_t n)
{
	for (; n != NONE; n = w->nodes[n].parent)
		if (n == a)
			return true;
	return false;
}

/* Writes n's path relative to the root into buf; returns its length or -ENAMETOOLONG. */
static int node_rel(const struct watch *w, uint32_t n, char *buf, size_t size)
{
	size_t pos = size - 1;

	buf[pos] = '\0';
	for (; n != NONE && w->nodes[n].parent != NONE; n = w->nodes[n].parent) {
		size_t len = strlen(w->nodes[n].name);

		if (len + 1 > pos)
			return -ENAMETOOLONG;
		pos -= len;
		memcpy(buf + pos, w->nodes[n].name, len);
		buf[--pos] = '/';
	}
	if (pos < size - 1)
		pos++; /* no leading slash */
	memmove(buf, buf + pos, size - pos);
	return (int)(size - 1 - pos);
}

/* Fills w->abs with n's absolute path; returns its length or -ENAMETOOLONG. */
static int node_abs(struct watch *w, uint32_t n)
{
	int len = node_rel(w, n, w->tmp, sizeof(w->tmp));

	if (len < 0 || w->rootlen + 1 + (size_t)len >= sizeof(w->abs))
		return -ENAMETOOLONG;
	memcpy(w->abs, w->root, w->rootlen);
	if (len == 0) {
		w->abs[w->rootlen] = '\0';
		return (int)w->rootlen;
	}
	w->abs[w->rootlen] = '/';
	memcpy(w->abs + w->rootlen + 1, w->tmp, (size_t)len + 1);
	return (int)(w->rootlen + 1 + (size_t)len);
}

/* The relative path inside w->abs, whose length is len. */
static const char *abs_rel(const struct watch *w, size_t len)
{
	return len > w->rootlen ? w->abs + w->rootlen + 1 : "";
}

/* Appends "/name" to w->abs at len; returns the new length, or 0 when it does not fit. */
static size_t abs_push(struct watch *w, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len + 1 + n >= sizeof(w->abs))
		return 0;
	w->abs[len] = '/';
	memcpy(w->abs + len + 1, name, n + 1);
	return len + 1 + n;
}

/* Writes the relative path of name in directory n into w->tmp; false when it does not fit. */
static bool child_rel(struct watch *w, uint32_t n, const char *name)
{
	int len = node_rel(w, n, w->tmp, sizeof(w->tmp));
	size_t plen, nlen = strlen(name);

	if (len < 0)
		return false;
	plen = (size_t)len;
	if (plen)
		w->tmp[plen++] = '/';
	if (plen + nlen >= sizeof(w->tmp))
		return false;
	memcpy(w->tmp + plen, name, nlen + 1);
	return true;
}

/* ---- the batch of one watch_process() call ---- */

static uint32_t str_hash(const char *s)
{
	return (uint32_t)hash_fnv1a(HASH_FNV_INIT, s, strlen(s));
}

static void chg_put(struct watch *w, uint32_t i)
{
	uint32_t mask = w->nchgslots - 1, j;

	for (j = w->chg[i].hash & mask; w->chgslots[j] != NONE; j = (j + 1) & mask)
		;
	w->chgslots[j] = i;
}

static int batch_note(struct watch *w, const char *path, enum kind kind, bool dir)
{
	uint32_t h = str_hash(path), mask, j;
	char *s;

	if ((uint64_t)(w->nchg + 1) * 2 > w->nchgslots) {
		if (slots_regrow(&w->chgslots, &w->nchgslots) < 0)
			return -ENOMEM;
		for (uint32_t i = 0; i < w->nchg; i++)
			chg_put(w, i);
	}
	mask = w->nchgslots - 1;
	for (j = h & mask; w->chgslots[j] != NONE; j = (j + 1) & mask) {
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

/* ---- walking ---- */

static bool dir_admitted(struct watch *w, const char *rel, const char *name)
{
	if (w->filter)
		return filter_watch_dir(w->filter, rel);
	return rel[0] == '\0' || name[0] != '.';
}

/*
 * Watches the directory at w->abs (rel inside it), named name under parent.
 * Returns 1 when the walk should read it (its node in *out), 0 when not, or
 * -ENOMEM.
 */
static int add_dir(struct watch *w, uint32_t parent, const char *name, const char *rel, bool link,
		   enum walk_mode mode, uint32_t *out)
{
	uint32_t e, n;
	int wd;

	if (!dir_admitted(w, rel, name)) {
		/* Rules that now exclude a watched directory: stop watching it. */
		if (mode == WALK_REFRESH && parent != NONE && (e = child_find(w, parent, name)) != NONE)
			subtree_drop(w, e);
		return 0;
	}
	wd = inotify_add_watch(w->fd, w->abs, DIR_MASK | (link ? 0 : IN_DONT_FOLLOW));
	if (wd < 0) {
		warn_limit(w, errno, w->abs);
		return 0;
	}
	if (wd == w->parent_wd) {
		/* A symlink back to the root's parent: a loop, and its events are the parent watch's. */
		warnf(w, "symlink loop: %s leads to the parent of the root; not followed", rel);
		return 0;
	}
	e = wd_find(w, wd);
	if (e != NONE) {
		struct node *x = &w->nodes[e];
		bool here = x->parent == parent && strcmp(x->name, name) == 0;

		if (here) {
			x->gen = w->gen;
			*out = e;
			/* A new directory already seen in this walk was read then. */
			return mode == WALK_RESCAN || mode == WALK_REFRESH;
		}
		if (!link && mode == WALK_RESCAN && (x->gen != w->gen || x->via_link) &&
		    !is_ancestor(w, e, parent)) {
			/* It moved while events were lost (or was first reached through a symlink). */
			char *s = strdup(name);

			if (!s)
				return -ENOMEM;
			node_unlink(w, e);
			free(x->name);
			x->name = s;
			x->via_link = false;
			x->gen = w->gen;
			node_link(w, e, parent);
			*out = e;
			return 1;
		}
		if (link) {
			char *where = w->tmp;

			if (node_rel(w, e, w->tmp, sizeof(w->tmp)) < 0)
				where = "?";
			if (is_ancestor(w, e, parent))
				warnf(w, "symlink loop: %s leads back to '%s'; not followed", rel,
				      where[0] ? where : ".");
			else
				warnf(w, "%s leads to '%s', which is already watched; not followed again",
				      rel, where[0] ? where : ".");
		}
		return 0;
	}
	n = node_new(w, parent, name, wd, link);
	if (n == NONE) {
		inotify_rm_watch(w->fd, wd);
		return -ENOMEM;
	}
	*out = n;
	return 1;
}

static int queue_push(struct watch *w, uint32_t *tail, uint32_t n)
{
	if (*tail == w->capqueue) {
		uint32_t *q = array_grow(w->queue, &w->capqueue, sizeof(*q));

		if (!q)
			return -ENOMEM;
		w->queue = q;
	}
	w->queue[(*tail)++] = n;
	return 0;
}

/* Reads the directory n (its path in w->abs, len long): watches its subdirectories, queues them. */
static int read_dir(struct watch *w, uint32_t n, size_t len, enum walk_mode mode, uint32_t *tail)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (w->nodes[n].via_link ? 0 : O_NOFOLLOW);
	int fd = open(w->abs, flags), r = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0) {
		warn_limit(w, errno, w->abs);
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		unsigned char type = de->d_type;
		bool link = false;
		struct stat st;
		size_t clen;
		uint32_t c;

		if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
			continue;
		if (type == DT_UNKNOWN && fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
		if (type == DT_LNK && w->follow && fstatat(dirfd(d), name, &st, 0) == 0 &&
		    S_ISDIR(st.st_mode)) {
			type = DT_DIR;
			link = true;
		}
		if (type != DT_DIR && (mode != WALK_NEW || is_temp_name(name)))
			continue;
		clen = abs_push(w, len, name);
		if (!clen)
			continue;
		if (type == DT_DIR) {
			r = add_dir(w, n, name, abs_rel(w, clen), link, mode, &c);
			if (r > 0)
				r = queue_push(w, tail, c);
		} else {
			r = batch_note(w, abs_rel(w, clen), K_APPEAR, false);
		}
		w->abs[len] = '\0';
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

/*
 * Watches the directory name under parent (the root when parent is NONE) and
 * walks everything below it, breadth first so that an open directory is
 * never held across a descent.
 */
static int walk(struct watch *w, uint32_t parent, const char *name, bool link, enum walk_mode mode)
{
	uint32_t head = 0, tail = 0, start;
	int len = parent == NONE ? node_abs(w, NONE) : node_abs(w, parent);
	size_t clen;
	int r;

	if (len < 0)
		return 0;
	clen = parent == NONE ? (size_t)len : abs_push(w, (size_t)len, name);
	if (!clen)
		return 0;
	r = add_dir(w, parent, name, abs_rel(w, clen), link, mode, &start);
	if (r <= 0)
		return r;
	if (parent == NONE)
		w->root_node = start;
	r = queue_push(w, &tail, start);
	while (r == 0 && head < tail) {
		uint32_t n = w->queue[head++];

		len = node_abs(w, n);
		if (len >= 0)
			r = read_dir(w, n, (size_t)len, mode, &tail);
	}
	return r;
}

static int rescan(struct watch *w)
{
	int r;

	if (w->root_gone)
		return 0; /* its return is a walk of its own */
	w->gen++;
	w->incomplete = false;
	r = walk(w, NONE, "", false, WALK_RESCAN);
	if (r < 0)
		return r;
	/* A directory that could not be read hides what is below it: keep those watches. */
	if (w->incomplete)
		return 0;
	/* What the rescan did not reach is gone (its IN_IGNORED may have been among the lost events). */
	for (uint32_t i = 0; i < w->nnodes; i++)
		if (w->nodes[i].name && w->nodes[i].gen != w->gen)
			subtree_drop(w, i);
	return 0;
}

int watch_rescan(struct watch *w)
{
	int r = rescan(w);

	if (r == 0 && w->sink.event)
		w->sink.event(w->sink.data, WATCH_OVERFLOW, NULL);
	return r;
}

/* ---- events ---- */

static int note_reload(struct watch *w, int wd)
{
	for (uint32_t i = 0; i < w->nreload; i++)
		if (w->reload[i] == wd)
			return 0;
	if (w->nreload == w->capreload) {
		int *v = array_grow(w->reload, &w->capreload, sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->reload = v;
	}
	w->reload[w->nreload++] = wd;
	return 0;
}

static int reload_ignores(struct watch *w)
{
	for (uint32_t i = 0; i < w->nreload; i++) {
		uint32_t n = wd_find(w, w->reload[i]);
		int r;

		if (n == NONE || node_rel(w, n, w->tmp, sizeof(w->tmp)) < 0)
			continue;
		filter_reload_ignores(w->filter, w->tmp);
		if (w->nodes[n].parent == NONE)
			r = walk(w, NONE, "", false, WALK_REFRESH);
		else
			r = walk(w, w->nodes[n].parent, w->nodes[n].name, w->nodes[n].via_link, WALK_REFRESH);
		if (r < 0)
			return r;
	}
	return 0;
}

static int handle_dir_event(struct watch *w, uint32_t n, const struct inotify_event *ev, bool link)
{
	uint32_t c;

	if (ev->mask & (IN_CREATE | IN_MOVED_TO))
		return walk(w, n, ev->name, link, WALK_NEW);
	c = child_find(w, n, ev->name);
	if (c == NONE)
		return 0;
	subtree_drop(w, c);
	/* A deleted directory's files were deleted with events of their own; these left without. */
	if (!(ev->mask & IN_MOVED_FROM) && !link)
		return 0;
	if (!child_rel(w, n, ev->name))
		return 0;
	return batch_note(w, w->tmp, K_VANISH, true);
}

static void sink_send(struct watch *w, enum watch_event ev, const char *msg)
{
	if (w->sink.event)
		w->sink.event(w->sink.data, ev, msg);
}

/* Writes the root's parent directory into w->tmp and returns the root's name; NULL when the root is "/". */
static const char *root_parent(struct watch *w)
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
 * The root's parent is watched for the root's name from the start: the
 * root's own IN_DELETE_SELF waits until nobody holds the directory, and
 * nsreload's cwd and the app's usually do. Returns 0 or -errno.
 */
static int watch_root_parent(struct watch *w)
{
	const char *name = root_parent(w);

	if (!name)
		return -EINVAL;
	w->parent_wd = inotify_add_watch(w->fd, w->tmp,
					 IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR |
						 IN_MASK_ADD);
	return w->parent_wd < 0 ? -errno : 0;
}

/*
 * The root was deleted or moved away: drop every watch and wait for a
 * directory of its name to appear in its parent. A root moved away is not
 * followed: the project is the path, not the inode.
 */
static int root_lost(struct watch *w, const char *how)
{
	char msg[PATH_MAX + 256];

	if (w->root_gone)
		return 0;
	w->root_gone = true;
	if (w->root_node != NONE)
		subtree_drop(w, w->root_node);
	w->overflow = false;
	w->incomplete = false;
	if (w->parent_wd >= 0)
		snprintf(msg, sizeof(msg),
			 "the watched root %s was %s: nsreload keeps the current run, builds nothing and "
			 "waits for %s to appear again",
			 w->root, how, w->root);
	else
		snprintf(msg, sizeof(msg),
			 "the watched root %s was %s, and its parent cannot be watched: nsreload keeps the "
			 "current run but cannot see the root come back; restart nsreload",
			 w->root, how);
	sink_send(w, WATCH_ROOT_GONE, msg);
	return 0;
}

/* An event in the root's parent: the root deleted or moved away, or back. */
static int root_event(struct watch *w, const struct inotify_event *ev)
{
	char msg[PATH_MAX + 128];
	const char *name = root_parent(w);
	int r;

	if (!name || !ev->len || strcmp(ev->name, name) != 0)
		return 0;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		return root_lost(w, ev->mask & IN_DELETE ? "deleted" : "moved away");
	if (!w->root_gone || !(ev->mask & IN_ISDIR) || !(ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return 0;
	r = walk(w, NONE, "", false, WALK_INIT);
	if (r < 0)
		return r;
	if (w->root_node == NONE)
		return 0; /* gone again already, or not readable: the next event tries again */
	w->root_gone = false;
	snprintf(msg, sizeof(msg), "the watched root %s is back: watching %u directories again", w->root,
		 w->live);
	sink_send(w, WATCH_ROOT_BACK, msg);
	return 0;
}

static int handle_event(struct watch *w, const struct inotify_event *ev)
{
	uint32_t n;
	enum kind kind;
	int len;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->overflow = true;
		return 0;
	}
	if (w->parent_wd >= 0 && ev->wd == w->parent_wd)
		return root_event(w, ev);
	n = wd_find(w, ev->wd);
	if (n == NONE)
		return 0; /* a watch already dropped: late events and its IN_IGNORED */
	if (ev->mask & IN_IGNORED) {
		if (n == w->root_node)
			return root_lost(w, "deleted");
		subtree_drop(w, n);
		return 0;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* Below the root, the parent's IN_DELETE or IN_MOVED_FROM does the work. */
		if (n == w->root_node)
			return root_lost(w, ev->mask & IN_DELETE_SELF ? "deleted" : "moved away");
		return 0;
	}
	if (!ev->len || !ev->name[0])
		return 0;
	if (ev->mask & IN_ISDIR)
		return handle_dir_event(w, n, ev, false);
	if (is_temp_name(ev->name))
		return 0;
	if (w->follow) {
		struct stat st;

		/* A symlink to a directory: IN_ISDIR is only set for real ones. */
		if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
			len = node_abs(w, n);
			if (len >= 0 && abs_push(w, (size_t)len, ev->name) && stat(w->abs, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				return handle_dir_event(w, n, ev, true);
		} else if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) && child_find(w, n, ev->name) != NONE) {
			return handle_dir_event(w, n, ev, true);
		}
	}
	if (ev->mask & (IN_CREATE | IN_MOVED_TO))
		kind = K_APPEAR;
	else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		kind = K_VANISH;
	else if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE))
		kind = K_WRITE;
	else
		return 0;
	if (!child_rel(w, n, ev->name))
		return 0;
	/* Checked here, since the filter may not admit the ignore file as a change. */
	if (w->filter && filter_is_ignore_file(w->filter, w->tmp)) {
		int r = note_reload(w, ev->wd);

		if (r < 0)
			return r;
	}
	return batch_note(w, w->tmp, kind, false);
}

int watch_process(struct watch *w)
{
	char buf[EVENT_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool overflowed;
	int r = 0;

	if (!w)
		return -EINVAL;
	for (int reads = 0; r == 0 && reads < MAX_READS_PER_CALL; reads++) {
		ssize_t got = read(w->fd, buf, sizeof(buf));
		const char *p;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				r = -errno;
			break;
		}
		if (got == 0)
			break;
		for (p = buf; p < buf + got;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			r = handle_event(w, ev);
			if (r < 0) {
				/* What this call could not take in is lost: rescan on the next one. */
				w->overflow = true;
				break;
			}
		}
	}
	if (r == 0 && w->nreload)
		r = reload_ignores(w);
	if (r == 0 && w->incomplete && !w->overflow && w->root_node != NONE) {
		/* Retry what could not be opened for lack of fds; a rescan reports no files by itself. */
		uint32_t before = w->live;

		w->incomplete = false;
		r = rescan(w);
		if (r == 0 && !w->incomplete) {
			w->warned_nofile = false;
			warnf(w, "file descriptors are available again: watching %u directories (%u more)",
			      w->live, w->live > before ? w->live - before : 0);
		}
	}
	overflowed = w->overflow;
	if (r == 0 && overflowed) {
		r = rescan(w);
		if (r == 0)
			w->overflow = false;
	}
	batch_emit(w);
	if (overflowed && !w->overflow && w->sink.event)
		w->sink.event(w->sink.data, WATCH_OVERFLOW, NULL);
	batch_clear(w);
	return r;
}

/* ---- life ---- */

void watch_free(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (uint32_t i = 0; i < w->nnodes; i++)
		free(w->nodes[i].name);
	batch_clear(w);
	free(w->nodes);
	free(w->slots);
	free(w->queue);
	free(w->chg);
	free(w->chgslots);
	free(w->reload);
	free(w->root);
	free(w);
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
	w->fd = -1;
	w->follow = o->follow_symlink;
	w->filter = o->filter;
	w->sink = o->sink;
	w->root_node = w->free_head = NONE;
	w->parent_wd = -1;
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
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		if (r == -EMFILE)
			warn_limit(w, EMFILE, NULL);
		goto fail;
	}
	r = walk(w, NONE, "", false, WALK_INIT);
	if (r < 0)
		goto fail;
	/* Without it, only the root's own IN_DELETE_SELF and IN_MOVE_SELF tell; never fatal. */
	(void)watch_root_parent(w);
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

size_t watch_count(const struct watch *w)
{
	return w ? w->live : 0;
}
