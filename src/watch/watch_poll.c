/*
 * watch_poll.c - the poll backend (watch_backend.h): stat, compare, report.
 *
 * Where inotify sees nothing (NFS, SMB, 9p, virtiofs and other FUSE views,
 * VirtualBox shared folders: changes made by another machine or the host),
 * the tree is scanned every poll interval from a one-shot timerfd, re-armed
 * when a scan ends, so a slow scan cannot run back to back. Each polled
 * directory keeps its listing: per entry the name, type, inode, size, mtime
 * and ctime (nanoseconds). A scan opens each polled directory once, and
 *  - when its mtime and ctime are what they were at the last listing (and
 *    that listing is not racy, below), its entries are the same names: only
 *    the files are fstatat()ed, since writing a file in place does not touch
 *    its directory;
 *  - otherwise it is read again and the listings are compared: a name gone
 *    vanished (a directory with every file it held), a name new appeared (a
 *    directory is walked as a new one), an entry whose inode or type changed
 *    was replaced (vanished, then appeared), and a file whose size, mtime or
 *    ctime changed was written. Contents are never read.
 * A listing is racy while its directory's mtime is within RACY_NS of the
 * time it was read: a file made in the same timestamp tick (or under a
 * server clock up to RACY_NS behind ours) would leave the mtime as it was,
 * so such a directory is read again on each scan until it is older.
 * Appearances wait for the end of the scan, after every vanish, so that a
 * directory moved inside the tree is dropped at its old place before it is
 * walked at its new one, whatever the order of the scan.
 *
 * Ids are POLL_ID_BASE + the directory's slot, found by (st_dev, st_ino), so
 * adding a directory already polled gives its id back (the symlink loop
 * check). In WATCH_POLL_AUTO the backend also runs inotify (watch_inotify.c)
 * for every directory whose file system inotify can see; w->fd is then an
 * epoll fd holding the inotify fd and the timer, and the file system of each
 * new device met in the walk is read once with statfs() and said in one line
 * when it is polled. No threads, no signals: all of it runs in
 * watch_process() from the caller's epoll loop. The directories and their
 * listings are watch_polldir.c's, the file systems watch_pollfs.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "util.h"
#include "watch_poll.h"

/* After a timed scan that saw changes: the next scan comes this soon, and the batch waits for it. */
#define SETTLE_MS 25
/* A batch is held at most this long, so that files made without end are reported all the same. */
#define HOLD_MAX_NS (60LL * 1000 * 1000 * 1000)

/* ---- the timer ---- */

static int timer_rearm(struct poll_state *ps, unsigned ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (long)(ms % 1000) * 1000000 } };

	if (timerfd_settime(ps->tfd, 0, &its, NULL) < 0)
		return -errno;
	ps->armed = true;
	return 0;
}

/* Whether the timer fired since it was armed (and takes the expiry). */
static bool timer_fired(struct poll_state *ps)
{
	uint64_t n;

	return read(ps->tfd, &n, sizeof(n)) == (ssize_t)sizeof(n);
}
/* ---- what a scan reports ---- */

static int later_push(struct poll_state *ps, int id, const char *name, bool dir)
{
	char *s;

	if (ps->nlater == ps->caplater) {
		struct later *v = array_grow(ps->later, &ps->caplater, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->later = v;
	}
	s = strdup(name);
	if (!s)
		return -ENOMEM;
	ps->later[ps->nlater++] = (struct later){ .id = id, .name = s, .dir = dir };
	return 0;
}

/* The files of every polled directory from n down vanished with it (an inotify backend sees each go). */
static int files_vanish(struct watch *w, uint32_t top)
{
	uint32_t n = top;
	int r = 0;

	for (;;) {
		struct pdir *d = w->nodes[n].id >= POLL_ID_BASE ? poll_dir_of(w->poll, w->nodes[n].id) : NULL;

		for (uint32_t i = 0; d && r == 0 && i < d->nents; i++)
			if (d->ents[i].type == PE_FILE)
				r = watch_on_entry(w, n, d->names + d->ents[i].name, K_VANISH, false, false);
		if (r < 0)
			return r;
		if (w->nodes[n].child != WATCH_NONE) {
			n = w->nodes[n].child;
			continue;
		}
		while (n != top && w->nodes[n].next == WATCH_NONE)
			n = w->nodes[n].parent;
		if (n == top)
			return 0;
		n = w->nodes[n].next;
	}
}

/* The entry e of node n vanished (a directory: with all below it). */
static int entry_vanish(struct watch *w, uint32_t n, const char *name, uint8_t type)
{
	if (type == PE_DIR) {
		uint32_t c;

		for (c = w->nodes[n].child; c != WATCH_NONE; c = w->nodes[c].next)
			if (strcmp(w->nodes[c].name, name) == 0)
				break;
		if (c != WATCH_NONE) {
			int r = files_vanish(w, c);

			if (r < 0)
				return r;
		}
	}
	return watch_on_entry(w, n, name, K_VANISH, type == PE_DIR, false);
}

static bool pent_same(const struct pent *a, const struct pent *b)
{
	return a->type == b->type && a->ino == b->ino && a->size == b->size && a->mtime == b->mtime &&
	       a->ctime == b->ctime;
}

/* Reports the differences between d's listing and a new one (ents, names), which d then keeps. */
static int diff_report(struct watch *w, uint32_t n, struct pdir *d, const struct pent *ents, uint32_t nents,
		       const char *names)
{
	struct poll_state *ps = w->poll;
	int id = w->nodes[n].id, r = 0;
	uint32_t i = 0, j = 0;

	while (r == 0 && (i < d->nents || j < nents)) {
		const struct pent *o = i < d->nents ? &d->ents[i] : NULL, *e = j < nents ? &ents[j] : NULL;
		int c = !o ? 1 : !e ? -1 : strcmp(d->names + o->name, names + e->name);

		if (c < 0) {
			r = entry_vanish(w, n, d->names + o->name, o->type);
			i++;
		} else if (c > 0) {
			r = later_push(ps, id, names + e->name, e->type == PE_DIR);
			j++;
		} else {
			if (o->type != e->type || (o->type == PE_FILE && o->ino != e->ino)) {
				/* Replaced: by a rename over it (an atomic save), or by another type. */
				r = entry_vanish(w, n, d->names + o->name, o->type);
				if (r == 0)
					r = later_push(ps, id, names + e->name, e->type == PE_DIR);
			} else if (o->type == PE_FILE && !pent_same(o, e)) {
				r = watch_on_entry(w, n, names + e->name, K_WRITE, false, false);
			}
			i++;
			j++;
		}
	}
	return r;
}

/* The files of d, which kept its names, fstatat()ed in place; -ENOENT when one is gone (list again). */
static int files_check(struct watch *w, uint32_t n, struct pdir *d, int fd)
{
	for (uint32_t i = 0; i < d->nents; i++) {
		struct pent *e = &d->ents[i], now;
		struct stat st;

		if (e->type != PE_FILE)
			continue;
		if (fstatat(fd, d->names + e->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				return -ENOENT;
			continue; /* unreadable for now: the next scan tries again */
		}
		now = (struct pent){ .name = e->name,
				     .type = S_ISDIR(st.st_mode) ? PE_DIR : PE_FILE,
				     .ino = st.st_ino,
				     .size = st.st_size,
				     .mtime = poll_ts_ns(&st.st_mtim),
				     .ctime = poll_ts_ns(&st.st_ctim) };
		if (now.type != PE_FILE || now.ino != e->ino)
			return -ENOENT; /* replaced: the listing tells how */
		if (!pent_same(e, &now)) {
			int r;

			*e = now;
			r = watch_on_entry(w, n, d->names + e->name, K_WRITE, false, false);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The directory n itself is gone or was replaced: its parent's entry says so. */
static int dir_lost(struct watch *w, uint32_t n, bool replaced)
{
	uint32_t p = w->nodes[n].parent;
	char *name;
	int r;

	if (n == w->root_node)
		return watch_on_root_lost(w, replaced ? "replaced" : "deleted or moved away");
	if (!replaced || p == WATCH_NONE)
		return 0; /* the parent's listing sees the name go */
	name = strdup(w->nodes[n].name);
	if (!name)
		return -ENOMEM;
	r = entry_vanish(w, p, name, PE_DIR);
	if (r == 0)
		r = later_push(w->poll, w->nodes[p].id, name, true);
	free(name);
	return r;
}

/* One polled directory (node n) in one scan. */
static int scan_dir(struct watch *w, uint32_t n, struct pdir *d)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (d->link ? 0 : O_NOFOLLOW);
	struct stat st;
	int fd, r;

	if (watch_node_abs(w, n) < 0)
		return 0;
	fd = open(w->abs, flags);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT || err == ENOTDIR || err == ELOOP)
			return dir_lost(w, n, false);
		watch_warn_errno(w, err, w->abs);
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (st.st_dev != d->dev || st.st_ino != d->ino) {
		close(fd);
		return dir_lost(w, n, true);
	}
	r = d->racy || poll_ts_ns(&st.st_mtim) != d->mtime || poll_ts_ns(&st.st_ctim) != d->ctime
		    ? -ENOENT
		    : files_check(w, n, d, fd);
	if (r == -ENOENT) {
		struct pent *ents;
		uint32_t nents;
		char *names;

		r = poll_list_dir(fd, &ents, &nents, &names);
		if (r == 0) {
			r = diff_report(w, n, d, ents, nents, names);
			/* d may have moved (the slots grow only on add, and adds wait): look again. */
			d = poll_dir_of(w->poll, w->nodes[n].id);
			if (d) {
				poll_dir_keep(d, ents, nents, names, &st);
			} else {
				free(ents);
				free(names);
			}
		}
	}
	close(fd);
	return r;
}

/* ---- the scan ---- */

static int apply_later(struct watch *w)
{
	struct poll_state *ps = w->poll;
	int r = 0;

	for (size_t i = 0; i < ps->nlater; i++) {
		uint32_t n = watch_node_find(w, ps->later[i].id);

		if (r == 0 && n != WATCH_NONE)
			r = watch_on_entry(w, n, ps->later[i].name, K_APPEAR, ps->later[i].dir, false);
		free(ps->later[i].name);
	}
	ps->nlater = 0;
	return r;
}

static int poll_scan(struct watch *w)
{
	struct poll_state *ps = w->poll;
	int r = 0;

	for (uint32_t s = 0; r == 0 && s < ps->ndirs; s++) {
		struct pdir *d = &ps->dirs[s];
		uint32_t n;

		if (!d->used || d->parent_only)
			continue;
		n = watch_node_find(w, POLL_ID_BASE + (int)s);
		if (n != WATCH_NONE)
			r = scan_dir(w, n, d);
	}
	if (r == 0)
		r = apply_later(w);
	if (r == 0 && w->root_gone && ps->parent_polled) {
		struct stat st;

		if (stat(w->root, &st) == 0 && S_ISDIR(st.st_mode))
			r = watch_on_root_back(w);
	}
	if (r < 0) {
		/* What this scan could not take in is lost: rescan the tree. */
		for (size_t i = 0; i < ps->nlater; i++)
			free(ps->later[i].name);
		ps->nlater = 0;
		watch_on_overflow(w);
	}
	return r == -ENOMEM ? r : 0;
}

/* ---- the backend ---- */

static int epoll_add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void poll_close(struct watch *w)
{
	struct poll_state *ps = w->poll;

	if (ps) {
		for (uint32_t s = 0; s < ps->ndirs; s++)
			poll_dir_clear(&ps->dirs[s]);
		for (size_t i = 0; i < ps->nlater; i++)
			free(ps->later[i].name);
		free(ps->later);
		free(ps->dirs);
		free(ps->slots);
		free(ps->devs);
		if (ps->ep >= 0)
			close(ps->ep);
		if (ps->tfd >= 0)
			close(ps->tfd);
		free(ps);
		w->poll = NULL;
	}
	if (w->ifd >= 0)
		watch_inotify_ops.close(w);
	w->fd = -1;
}

/*
 * Polling everywhere: w->fd is the timer. Auto: an epoll fd with inotify's
 * fd and the timer, which is armed once a directory is polled.
 */
static int poll_open(struct watch *w)
{
	struct poll_state *ps = calloc(1, sizeof(*ps));
	int r;

	if (!ps)
		return -ENOMEM;
	ps->ep = -1;
	ps->free_head = WATCH_NONE;
	w->poll = ps;
	ps->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ps->tfd < 0)
		return -errno;
	if (w->poll_mode == WATCH_POLL_ALWAYS) {
		w->fd = ps->tfd;
		return timer_rearm(ps, w->poll_interval_ms);
	}
	ps->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ps->ep < 0)
		return -errno;
	r = watch_inotify_ops.open(w);
	if (r == 0)
		r = epoll_add_fd(ps->ep, w->ifd);
	if (r == 0)
		r = epoll_add_fd(ps->ep, ps->tfd);
	w->fd = ps->ep;
	return r;
}

static int poll_add(struct watch *w, const char *path, bool follow)
{
	struct poll_state *ps = w->poll;
	struct stat st;
	uint32_t s;
	int fd, r;

	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0) {
		r = errno;
		watch_warn_errno(w, r, path);
		return -r;
	}
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	r = poll_dev_polled(w, st.st_dev, path);
	if (r <= 0)
		return r < 0 ? r : watch_inotify_ops.add(w, path, follow);
	s = poll_dir_find(ps, st.st_dev, st.st_ino);
	if (s != WATCH_NONE)
		return POLL_ID_BASE + (int)s;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		r = errno;
		watch_warn_errno(w, r, path);
		return -r;
	}
	s = poll_dir_new(ps, &st);
	r = s == WATCH_NONE ? -ENOMEM : poll_dir_relist(&ps->dirs[s], fd, &st);
	close(fd);
	if (r < 0) {
		if (s != WATCH_NONE)
			poll_dir_free(ps, s);
		return r;
	}
	ps->dirs[s].link = follow;
	if (!ps->armed && (r = timer_rearm(ps, w->poll_interval_ms)) < 0)
		return r;
	return POLL_ID_BASE + (int)s;
}

static void poll_remove(struct watch *w, int id)
{
	struct poll_state *ps = w->poll;

	if (id < POLL_ID_BASE) {
		watch_inotify_ops.remove(w, id);
		return;
	}
	if (poll_dir_of(ps, id))
		poll_dir_free(ps, (uint32_t)(id - POLL_ID_BASE));
}

/* The root's parent: inotify's watch, or a slot of its own whose only use is the loop check. */
static int poll_watch_parent(struct watch *w)
{
	struct poll_state *ps = w->poll;
	struct stat st;
	uint32_t s;

	if (!watch_root_name(w))
		return -EINVAL;
	if (w->root_node == WATCH_NONE || w->nodes[w->root_node].id < POLL_ID_BASE)
		return watch_inotify_ops.watch_parent(w);
	if (stat(w->tmp, &st) < 0)
		return -errno;
	s = poll_dir_find(ps, st.st_dev, st.st_ino);
	if (s == WATCH_NONE) {
		s = poll_dir_new(ps, &st);
		if (s == WATCH_NONE)
			return -ENOMEM;
		ps->dirs[s].parent_only = true;
	}
	ps->parent_polled = true;
	w->parent_id = POLL_ID_BASE + (int)s;
	return 0;
}

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return poll_ts_ns(&t);
}

/* Whether the batch gained a path that counts (one the filter admits) since the last look. */
static bool batch_grew(struct watch *w)
{
	struct poll_state *ps = w->poll;
	bool grew = false;

	for (; ps->examined < w->nchg; ps->examined++) {
		const struct change *c = &w->chg[ps->examined];

		grew |= c->dir || !w->filter || filter_match_file(w->filter, c->path);
	}
	return grew;
}

/*
 * A scan the timer started keeps its batch (w->hold) while new paths that
 * count keep appearing: the next scan comes SETTLE_MS later, and the batch
 * goes out with the first scan that adds none (or after HOLD_MAX_NS), so that
 * a storm of new files spread over many scans is one batch, as inotify and
 * the debounce make it. A scan asked for without the timer (a test, a caller
 * that wants one now) reports at once.
 */
static int poll_read(struct watch *w)
{
	struct poll_state *ps = w->poll;
	bool fired = timer_fired(ps);
	int r = 0;

	if (!w->hold)
		ps->examined = 0;
	if (w->ifd >= 0)
		r = watch_inotify_ops.read(w);
	/* Polling alone: the caller calls only when the timer fired (or wants a scan now). */
	if (r < 0 || (!fired && w->poll_mode != WATCH_POLL_ALWAYS))
		return r;
	ps->armed = false;
	if (ps->npolled == 0 && !ps->parent_polled)
		return 0;
	r = poll_scan(w);
	if (r < 0)
		return r;
	if (fired && batch_grew(w)) {
		if (!w->hold)
			ps->hold_since = mono_ns();
		w->hold = mono_ns() - ps->hold_since < HOLD_MAX_NS;
	} else {
		w->hold = false;
	}
	return timer_rearm(ps, w->hold ? SETTLE_MS : w->poll_interval_ms);
}

const struct watch_backend_ops watch_poll_ops = {
	.name = "poll",
	.open = poll_open,
	.close = poll_close,
	.add = poll_add,
	.remove = poll_remove,
	.watch_parent = poll_watch_parent,
	.read = poll_read,
};

uint32_t watch_poll_count(const struct watch *w)
{
	return w->poll ? w->poll->npolled : 0;
}
