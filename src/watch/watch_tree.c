/*
 * watch_tree.c - the watched directories and the walk, for every backend
 * (watch_backend.h).
 *
 * Watched directories form a tree of nodes (name, parent, children) rather
 * than a list of full paths: names are all that is stored, a subtree can be
 * dropped without looking at every watch, and a directory that moved while
 * events were lost is relinked with all its children at once. A full path is
 * built only when something is reported or a directory is read. Nodes are
 * found by the backend's id through an open-addressing index.
 *
 * The walk decides which directories count (the filter), follows symlinked
 * directories only with follow_symlink, and catches loops by the backend's
 * ids: a directory already watched comes back with the id it has. What a
 * backend reads comes in through watch_on_entry().
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "util.h"
#include "watch_backend.h"

/* ---- nodes and the id index ---- */

static uint32_t id_hash(int id, uint32_t mask)
{
	return ((uint32_t)id * 2654435761u) & mask;
}

static uint32_t id_find(const struct watch *w, int id)
{
	uint32_t mask, i;

	if (!w->nslots)
		return WATCH_NONE;
	mask = w->nslots - 1;
	for (i = id_hash(id, mask);; i = (i + 1) & mask) {
		uint32_t n = w->slots[i];

		if (n == WATCH_NONE || w->nodes[n].id == id)
			return n;
	}
}

static void id_put(struct watch *w, uint32_t n)
{
	uint32_t mask = w->nslots - 1, i;

	for (i = id_hash(w->nodes[n].id, mask); w->slots[i] != WATCH_NONE; i = (i + 1) & mask)
		;
	w->slots[i] = n;
}

/* Adds node n (already filled in) to the index, growing it to keep the load under one half. */
static int id_insert(struct watch *w, uint32_t n)
{
	if ((uint64_t)(w->live + 1) * 2 > w->nslots) {
		if (watch_slots_regrow(&w->slots, &w->nslots) < 0)
			return -ENOMEM;
		for (uint32_t i = 0; i < w->nnodes; i++)
			if (w->nodes[i].name && i != n)
				id_put(w, i);
	}
	id_put(w, n);
	return 0;
}

static void id_remove(struct watch *w, int id)
{
	uint32_t mask = w->nslots - 1, i, j;

	for (i = id_hash(id, mask); w->slots[i] != WATCH_NONE; i = (i + 1) & mask)
		if (w->nodes[w->slots[i]].id == id)
			break;
	if (w->slots[i] == WATCH_NONE)
		return;
	w->slots[i] = WATCH_NONE;
	/* Linear probing without tombstones: pull back the entries that probed past the hole. */
	for (j = (i + 1) & mask; w->slots[j] != WATCH_NONE; j = (j + 1) & mask) {
		uint32_t k = id_hash(w->nodes[w->slots[j]].id, mask);
		bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);

		if (!stays) {
			w->slots[i] = w->slots[j];
			w->slots[j] = WATCH_NONE;
			i = j;
		}
	}
}

static void node_link(struct watch *w, uint32_t n, uint32_t p)
{
	struct node *x = &w->nodes[n];

	x->parent = p;
	x->prev = WATCH_NONE;
	x->next = WATCH_NONE;
	if (p == WATCH_NONE)
		return;
	x->next = w->nodes[p].child;
	if (x->next != WATCH_NONE)
		w->nodes[x->next].prev = n;
	w->nodes[p].child = n;
}

static void node_unlink(struct watch *w, uint32_t n)
{
	struct node *x = &w->nodes[n];

	if (x->parent == WATCH_NONE)
		return;
	if (x->prev != WATCH_NONE)
		w->nodes[x->prev].next = x->next;
	else
		w->nodes[x->parent].child = x->next;
	if (x->next != WATCH_NONE)
		w->nodes[x->next].prev = x->prev;
	x->parent = x->prev = x->next = WATCH_NONE;
}

static uint32_t node_new(struct watch *w, uint32_t parent, const char *name, int id, bool link)
{
	char *s = strdup(name);
	uint32_t n;

	if (!s)
		return WATCH_NONE;
	if (w->free_head != WATCH_NONE) {
		n = w->free_head;
		w->free_head = w->nodes[n].next;
	} else {
		if (w->nnodes == w->capnodes) {
			struct node *v = array_grow(w->nodes, &w->capnodes, sizeof(*v));

			if (!v) {
				free(s);
				return WATCH_NONE;
			}
			w->nodes = v;
		}
		n = w->nnodes++;
	}
	w->nodes[n] =
		(struct node){ .name = s, .id = id, .child = WATCH_NONE, .gen = w->gen, .via_link = link };
	if (id_insert(w, n) < 0) {
		free(s);
		w->nodes[n].name = NULL;
		w->nodes[n].next = w->free_head;
		w->free_head = n;
		return WATCH_NONE;
	}
	node_link(w, n, parent);
	w->live++;
	return n;
}

static void node_free(struct watch *w, uint32_t n)
{
	struct node *x = &w->nodes[n];

	w->ops->remove(w, x->id);
	id_remove(w, x->id);
	free(x->name);
	x->name = NULL;
	x->next = w->free_head;
	w->free_head = n;
	w->live--;
}

/* Drops a directory and everything watched below it, deepest first. */
void watch_subtree_drop(struct watch *w, uint32_t top)
{
	uint32_t n = top;

	node_unlink(w, top);
	for (;;) {
		uint32_t p;

		while (w->nodes[n].child != WATCH_NONE)
			n = w->nodes[n].child;
		p = w->nodes[n].parent;
		node_unlink(w, n);
		node_free(w, n);
		if (n == top)
			break;
		n = p;
	}
	if (top == w->root_node)
		w->root_node = WATCH_NONE;
}

static uint32_t child_find(const struct watch *w, uint32_t p, const char *name)
{
	for (uint32_t c = w->nodes[p].child; c != WATCH_NONE; c = w->nodes[c].next)
		if (strcmp(w->nodes[c].name, name) == 0)
			return c;
	return WATCH_NONE;
}

static bool is_ancestor(const struct watch *w, uint32_t a, uint32_t n)
{
	for (; n != WATCH_NONE; n = w->nodes[n].parent)
		if (n == a)
			return true;
	return false;
}

/* Writes n's path relative to the root into buf; returns its length or -ENAMETOOLONG. */
static int node_rel(const struct watch *w, uint32_t n, char *buf, size_t size)
{
	size_t pos = size - 1;

	buf[pos] = '\0';
	for (; n != WATCH_NONE && w->nodes[n].parent != WATCH_NONE; n = w->nodes[n].parent) {
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
	int id;

	if (!dir_admitted(w, rel, name)) {
		/* Rules that now exclude a watched directory: stop watching it. */
		if (mode == WALK_REFRESH && parent != WATCH_NONE &&
		    (e = child_find(w, parent, name)) != WATCH_NONE)
			watch_subtree_drop(w, e);
		return 0;
	}
	id = w->ops->add(w, w->abs, link);
	if (id < 0)
		return 0; /* the backend said why */
	if (id == w->parent_id) {
		/* A symlink back to the root's parent: a loop, and its events are the parent watch's. */
		watch_warnf(w, "symlink loop: %s leads to the parent of the root; not followed", rel);
		return 0;
	}
	e = id_find(w, id);
	if (e != WATCH_NONE) {
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
				watch_warnf(w, "symlink loop: %s leads back to '%s'; not followed", rel,
					    where[0] ? where : ".");
			else
				watch_warnf(w,
					    "%s leads to '%s', which is already watched; not followed again",
					    rel, where[0] ? where : ".");
		}
		return 0;
	}
	n = node_new(w, parent, name, id, link);
	if (n == WATCH_NONE) {
		w->ops->remove(w, id);
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
		watch_warn_errno(w, errno, w->abs);
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
		if (type != DT_DIR && (mode != WALK_NEW || watch_is_temp_name(name)))
			continue;
		clen = abs_push(w, len, name);
		if (!clen)
			continue;
		if (type == DT_DIR) {
			r = add_dir(w, n, name, abs_rel(w, clen), link, mode, &c);
			if (r > 0)
				r = queue_push(w, tail, c);
		} else {
			r = watch_batch_note(w, abs_rel(w, clen), K_APPEAR, false);
		}
		w->abs[len] = '\0';
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

/*
 * A lazy backend's walk reads nothing below start: a refresh forgets what is
 * known below it, to be found again under the new rules; a rescan (whose
 * caller drops what it did not reach) only checks that a directory can be
 * opened, so that running out of fds is retried as with any backend.
 */
static int lazy_walk(struct watch *w, uint32_t start, enum walk_mode mode)
{
	int fd;

	if (mode == WALK_REFRESH)
		while (w->nodes[start].child != WATCH_NONE)
			watch_subtree_drop(w, w->nodes[start].child);
	if (mode != WALK_RESCAN || node_abs(w, start) < 0)
		return 0;
	fd = open(w->abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		watch_warn_errno(w, errno, w->abs);
	else
		close(fd);
	return 0;
}

/*
 * Watches the directory name under parent (the root when parent is WATCH_NONE) and
 * walks everything below it, breadth first so that an open directory is
 * never held across a descent.
 */
int watch_walk(struct watch *w, uint32_t parent, const char *name, bool link, enum walk_mode mode)
{
	uint32_t head = 0, tail = 0, start;
	int len = parent == WATCH_NONE ? node_abs(w, WATCH_NONE) : node_abs(w, parent);
	size_t clen;
	int r;

	if (len < 0)
		return 0;
	clen = parent == WATCH_NONE ? (size_t)len : abs_push(w, (size_t)len, name);
	if (!clen)
		return 0;
	r = add_dir(w, parent, name, abs_rel(w, clen), link, mode, &start);
	if (r <= 0)
		return r;
	if (parent == WATCH_NONE)
		w->root_node = start;
	if (w->lazy && mode != WALK_NEW)
		return lazy_walk(w, start, mode);
	r = queue_push(w, &tail, start);
	while (r == 0 && head < tail) {
		uint32_t n = w->queue[head++];

		len = node_abs(w, n);
		if (len >= 0)
			r = read_dir(w, n, (size_t)len, mode, &tail);
	}
	return r;
}

int watch_tree_rescan(struct watch *w)
{
	int r;

	if (w->root_gone)
		return 0; /* its return is a walk of its own */
	w->gen++;
	w->incomplete = false;
	if (w->lazy && w->ops->forget)
		w->ops->forget(w);
	r = watch_walk(w, WATCH_NONE, "", false, WALK_RESCAN);
	if (r < 0)
		return r;
	/* A directory that could not be read hides what is below it: keep those watches. */
	if (w->incomplete)
		return 0;
	/* What the rescan did not reach is gone (the news of its removal may have been among the lost
	 * events). */
	for (uint32_t i = 0; i < w->nnodes; i++)
		if (w->nodes[i].name && w->nodes[i].gen != w->gen)
			watch_subtree_drop(w, i);
	return 0;
}

/* ---- events ---- */

static int note_reload(struct watch *w, int id)
{
	for (uint32_t i = 0; i < w->nreload; i++)
		if (w->reload[i] == id)
			return 0;
	if (w->nreload == w->capreload) {
		int *v = array_grow(w->reload, &w->capreload, sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->reload = v;
	}
	w->reload[w->nreload++] = id;
	return 0;
}

int watch_reload_ignores(struct watch *w)
{
	if (w->lazy && w->ops->forget)
		w->ops->forget(w); /* what the rules kept out may count now */
	for (uint32_t i = 0; i < w->nreload; i++) {
		uint32_t n = id_find(w, w->reload[i]);
		int r;

		if (n == WATCH_NONE || node_rel(w, n, w->tmp, sizeof(w->tmp)) < 0)
			continue;
		filter_reload_ignores(w->filter, w->tmp);
		if (w->nodes[n].parent == WATCH_NONE)
			r = watch_walk(w, WATCH_NONE, "", false, WALK_REFRESH);
		else
			r = watch_walk(w, w->nodes[n].parent, w->nodes[n].name, w->nodes[n].via_link,
				       WALK_REFRESH);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A directory (or a followed symlink to one: link) appeared in n or vanished from it. */
static int dir_event(struct watch *w, uint32_t n, const char *name, enum watch_kind kind, bool moved,
		     bool link)
{
	uint32_t c;

	if (kind == K_APPEAR)
		return watch_walk(w, n, name, link, WALK_NEW);
	c = child_find(w, n, name);
	if (c == WATCH_NONE) {
		/* A lazy backend may not have met it yet: its files left without events all the same. */
		if (!w->lazy || !moved || !child_rel(w, n, name) || !dir_admitted(w, w->tmp, name))
			return 0;
		return watch_batch_note(w, w->tmp, K_VANISH, true);
	}
	watch_subtree_drop(w, c);
	/* A deleted directory's files were deleted with events of their own; these left without. */
	if (!moved && !link)
		return 0;
	if (!child_rel(w, n, name))
		return 0;
	return watch_batch_note(w, w->tmp, K_VANISH, true);
}

int watch_on_entry(struct watch *w, uint32_t n, const char *name, enum watch_kind kind, bool is_dir,
		   bool moved)
{
	if (is_dir)
		return dir_event(w, n, name, kind, moved, false);
	if (watch_is_temp_name(name))
		return 0;
	if (w->follow) {
		struct stat st;
		int len;

		/* A symlink to a directory: a backend's is_dir is only set for real ones. */
		if (kind == K_APPEAR) {
			len = node_abs(w, n);
			if (len >= 0 && abs_push(w, (size_t)len, name) && stat(w->abs, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				return dir_event(w, n, name, kind, moved, true);
		} else if (kind == K_VANISH && child_find(w, n, name) != WATCH_NONE) {
			return dir_event(w, n, name, kind, moved, true);
		}
	}
	if (!kind || !child_rel(w, n, name))
		return 0;
	/* Checked here, since the filter may not admit the ignore file as a change. */
	if (w->filter && filter_is_ignore_file(w->filter, w->tmp)) {
		int r = note_reload(w, w->nodes[n].id);

		if (r < 0)
			return r;
	}
	return watch_batch_note(w, w->tmp, kind, false);
}

int watch_resolve(struct watch *w, const char *rel, uint32_t *out)
{
	uint32_t n = w->root_node;
	size_t len;
	int r;

	if (n == WATCH_NONE || (r = node_abs(w, n)) < 0)
		return -ENOENT;
	len = (size_t)r;
	while (*rel) {
		size_t clen, seg = strcspn(rel, "/");
		char name[NAME_MAX + 1];
		uint32_t c;

		if (seg == 0 || seg > NAME_MAX)
			return -EINVAL;
		memcpy(name, rel, seg);
		name[seg] = '\0';
		clen = abs_push(w, len, name);
		if (!clen)
			return -ENAMETOOLONG;
		c = child_find(w, n, name);
		if (c == WATCH_NONE) {
			r = add_dir(w, n, name, abs_rel(w, clen), false, WALK_INIT, &c);
			if (r <= 0)
				return r;
		}
		n = c;
		len = clen;
		rel += seg;
		rel += *rel == '/';
	}
	*out = n;
	return 1;
}

uint32_t watch_node_find(const struct watch *w, int id)
{
	return id_find(w, id);
}

int watch_node_abs(struct watch *w, uint32_t n)
{
	return node_abs(w, n);
}

void watch_nodes_free(struct watch *w)
{
	for (uint32_t i = 0; i < w->nnodes; i++)
		free(w->nodes[i].name);
	free(w->nodes);
	free(w->slots);
	free(w->queue);
	free(w->reload);
}
