/*
 * watch_inotify.c - the inotify backend (watch_backend.h).
 *
 * One inotify instance; its wds are the directory ids of the core. inotify
 * identifies a watch by its inode: adding a watch on a directory already
 * watched returns the existing wd. That is the (st_dev, st_ino) set of the
 * symlink loop check, kept by the kernel, and it stays right when a deleted
 * directory's inode number is reused, since its watch went with it.
 *
 * The limits that bite are inotify's: fs.inotify.max_user_watches (ENOSPC
 * from inotify_add_watch) and max_user_instances (EMFILE from inotify_init1).
 * Each is said once, with the knob to turn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "watch_backend.h"

/*
 * A write counts when the writer closes the file (IN_CLOSE_WRITE), not at each write (no IN_MODIFY): an
 * editor's write, fsync and close (vim: 19 ms of fsync here) is one change, not two.
 */
#define DIR_MASK                                                                                             \
	(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF |             \
	 IN_MOVE_SELF | IN_ONLYDIR)
/* Bounds one call, so that a writer that never stops cannot keep us here; epoll wakes us again. */
#define MAX_READS_PER_CALL 64
#define EVENT_BUF          (64 * 1024)

/* Says once that the watch limit is reached, at what, with how to raise it. */
static void warn_nospc(struct watch *w, const char *what)
{
	long v, u;
	char ns[128] = "";

	if (w->warned_nospc)
		return;
	w->warned_nospc = true;
	v = watch_read_long("/proc/sys/fs/inotify/max_user_watches");
	u = watch_read_long("/proc/sys/user/max_inotify_watches");
	/* Inside a user namespace its own, lower limit is the one that bites. */
	if (u >= 0 && u != v)
		snprintf(ns, sizeof(ns),
			 " (this user namespace allows %ld: /proc/sys/user/max_inotify_watches)", u);
	watch_warnf(w,
		    "inotify watch limit reached at %s after %u directories: fs.inotify.max_user_watches "
		    "is %ld%s, shared by every inotify user of this uid. nsreload goes on, but changes in "
		    "the directories not watched will be missed. Raise it with 'sudo sysctl "
		    "fs.inotify.max_user_watches=524288', and for good with the line "
		    "'fs.inotify.max_user_watches=524288' in a file in /etc/sysctl.d/ (e.g. "
		    "/etc/sysctl.d/60-inotify.conf), or exclude directories (exclude_dir)",
		    what, w->live, v, ns);
}

static int inotify_open(struct watch *w)
{
	int err;

	w->fd = w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd >= 0)
		return 0;
	err = errno;
	if (err == EMFILE)
		watch_warnf(
			w,
			"too many inotify instances: fs.inotify.max_user_instances is %ld, shared by every "
			"inotify user of this uid. Close other watchers or raise it with 'sudo sysctl "
			"fs.inotify.max_user_instances=1024' (for good, in a file in /etc/sysctl.d/)",
			watch_read_long("/proc/sys/fs/inotify/max_user_instances"));
	return -err;
}

static void inotify_close(struct watch *w)
{
	if (w->ifd >= 0)
		close(w->ifd);
	w->fd = w->ifd = -1;
}

static int inotify_add(struct watch *w, const char *path, bool follow)
{
	int wd = inotify_add_watch(w->ifd, path, DIR_MASK | (follow ? 0 : IN_DONT_FOLLOW));
	int err = errno;

	if (wd >= 0)
		return wd;
	if (err == ENOSPC)
		warn_nospc(w, path);
	else
		watch_warn_errno(w, err, path);
	return -err;
}

static void inotify_remove(struct watch *w, int id)
{
	/* Fails with EINVAL when the kernel dropped the watch first (IN_IGNORED); that is fine. */
	inotify_rm_watch(w->ifd, id);
}

/*
 * The root's parent is watched for the root's name from the start: the
 * root's own IN_DELETE_SELF waits until nobody holds the directory, and
 * nsreload's cwd and the app's usually do.
 */
static int inotify_watch_parent(struct watch *w)
{
	if (!watch_root_name(w))
		return -EINVAL;
	w->parent_id = inotify_add_watch(w->ifd, w->tmp,
					 IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR |
						 IN_MASK_ADD);
	return w->parent_id < 0 ? -errno : 0;
}

/* An event in the root's parent: the root deleted or moved away, or back. */
static int root_event(struct watch *w, const struct inotify_event *ev)
{
	const char *name = watch_root_name(w);

	if (!name || !ev->len || strcmp(ev->name, name) != 0)
		return 0;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		return watch_on_root_lost(w, ev->mask & IN_DELETE ? "deleted" : "moved away");
	if (!(ev->mask & IN_ISDIR) || !(ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return 0;
	return watch_on_root_back(w);
}

static int handle_event(struct watch *w, const struct inotify_event *ev)
{
	enum watch_kind kind = 0;
	uint32_t n;

	if (ev->mask & IN_Q_OVERFLOW) {
		watch_on_overflow(w);
		return 0;
	}
	if (w->parent_id >= 0 && ev->wd == w->parent_id)
		return root_event(w, ev);
	n = watch_node_find(w, ev->wd);
	if (n == WATCH_NONE)
		return 0; /* a watch already dropped: late events and its IN_IGNORED */
	if (ev->mask & IN_IGNORED) {
		if (n == w->root_node)
			return watch_on_root_lost(w, "deleted");
		watch_subtree_drop(w, n);
		return 0;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* Below the root, the parent's IN_DELETE or IN_MOVED_FROM does the work. */
		if (n == w->root_node)
			return watch_on_root_lost(w, ev->mask & IN_DELETE_SELF ? "deleted" : "moved away");
		return 0;
	}
	if (!ev->len || !ev->name[0])
		return 0;
	if (ev->mask & (IN_CREATE | IN_MOVED_TO))
		kind = K_APPEAR;
	else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		kind = K_VANISH;
	else if (ev->mask & IN_CLOSE_WRITE)
		kind = K_WRITE;
	return watch_on_entry(w, n, ev->name, kind, ev->mask & IN_ISDIR, ev->mask & IN_MOVED_FROM);
}

static int inotify_read(struct watch *w)
{
	char buf[EVENT_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	int r = 0;

	for (int reads = 0; r == 0 && reads < MAX_READS_PER_CALL; reads++) {
		ssize_t got = read(w->ifd, buf, sizeof(buf));
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
				watch_on_overflow(w);
				break;
			}
		}
	}
	return r;
}

const struct watch_backend_ops watch_inotify_ops = {
	.name = "inotify",
	.open = inotify_open,
	.close = inotify_close,
	.add = inotify_add,
	.remove = inotify_remove,
	.watch_parent = inotify_watch_parent,
	.read = inotify_read,
};
