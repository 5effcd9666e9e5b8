/*
 * watch_fanotify.c - the fanotify backend (watch_backend.h): one mark per
 * file system, directories known by their file handles.
 *
 * With CAP_SYS_ADMIN, fanotify_mark(FAN_MARK_FILESYSTEM) on the root's file
 * system (and on that of each mount below the root) reports every change on
 * it, each event naming its directory by (fsid, file handle) and the entry by
 * name (FAN_REPORT_DFID_NAME, Linux 5.9). Set-up is one fanotify_init() and a
 * mark per file system: nothing is walked (w->lazy), so it costs the same on
 * a thousand files as on a million, and max_user_watches is no wall.
 *
 * Each directory met is an entry of a handle cache, keyed by (file system,
 * handle type, handle bytes); its index is the directory's id for the core.
 * An event looks its handle up there before any path work:
 *  - a directory with a node (inside the root, admitted by the filter): the
 *    event goes to the core as inotify's would;
 *  - the root's parent: the root's name going or coming back;
 *  - a known stranger (outside the root, or kept out by the filter): dropped.
 *    Events from other mounts of the file system and from other processes
 *    cost this: a hash of a few bytes and a compare;
 *  - a miss: open_by_handle_at() and readlink of /proc/self/fd/N give the
 *    directory's path once; inside the root, watch_resolve() gives it a node
 *    (and its parents, each found by name_to_handle_at); otherwise it becomes
 *    a stranger. At most STRANGERS_MAX strangers are kept; then they are all
 *    forgotten, so memory stays bounded on a busy file system.
 * A directory that appears is walked by the core (its files count when it was
 * moved in), which names each of its subdirectories through add(): one
 * name_to_handle_at each, and a stranger moved in becomes a directory again.
 *
 * fanotify merges events of one name in one directory that are still queued,
 * so a mask may hold both a creation and a removal in an unknown order: the
 * name is then looked up (fstatat) to tell which came last. FAN_Q_OVERFLOW is
 * a rescan as inotify's, which for a lazy backend forgets every node below
 * the root and every stranger.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util.h"
#include "watch_fanotify.h"

/* Bounds one call, as inotify's read does; epoll wakes us again. */
#define MAX_READS_PER_CALL 64
#define EVENT_BUF          (64 * 1024)
#define STRANGERS_MAX      65536

enum { FD_FREE, FD_NODE, FD_PARENT, FD_STRANGER };

#define MASK_APPEAR (FAN_CREATE | FAN_MOVED_TO)
#define MASK_VANISH (FAN_DELETE | FAN_MOVED_FROM)
#define MASK_WRITE  FAN_CLOSE_WRITE

/* ---- the handle cache ---- */

static uint32_t fh_hash(int fs, const struct file_handle *fh)
{
	uint64_t h = hash_fnv1a(HASH_FNV_INIT, (const char *)&fh->handle_type, sizeof(fh->handle_type));

	h = hash_fnv1a(h, (const char *)&fs, sizeof(fs));
	return (uint32_t)hash_fnv1a(h, (const char *)fh->f_handle, fh->handle_bytes);
}

static uint32_t fan_find(const struct fan_state *fs, int fsi, const struct file_handle *fh, uint32_t h)
{
	if (!fs->nheads)
		return WATCH_NONE;
	for (uint32_t i = fs->heads[h & (fs->nheads - 1)]; i != WATCH_NONE; i = fs->dirs[i].hnext) {
		const struct fan_dir *d = &fs->dirs[i];

		if (d->hash == h && d->fs == fsi && d->type == fh->handle_type &&
		    d->len == fh->handle_bytes && memcmp(d->bytes, fh->f_handle, d->len) == 0)
			return i;
	}
	return WATCH_NONE;
}

static int heads_grow(struct fan_state *fs)
{
	uint32_t n = fs->nheads ? fs->nheads * 2 : 256;
	uint32_t *v = malloc((size_t)n * sizeof(*v));

	if (!v)
		return -ENOMEM;
	memset(v, 0xff, (size_t)n * sizeof(*v));
	free(fs->heads);
	fs->heads = v;
	fs->nheads = n;
	for (uint32_t i = 0; i < fs->ndirs; i++) {
		struct fan_dir *d = &fs->dirs[i];

		if (d->kind == FD_FREE)
			continue;
		d->hnext = v[d->hash & (n - 1)];
		v[d->hash & (n - 1)] = i;
	}
	return 0;
}

static uint32_t fan_insert(struct fan_state *fs, int fsi, const struct file_handle *fh, uint32_t h, int kind)
{
	unsigned char *bytes = malloc(fh->handle_bytes ? fh->handle_bytes : 1);
	uint32_t i;

	if (!bytes)
		return WATCH_NONE;
	if ((uint64_t)(fs->nlive + 1) > fs->nheads && heads_grow(fs) < 0)
		goto fail;
	if (fs->free_head != WATCH_NONE) {
		i = fs->free_head;
		fs->free_head = fs->dirs[i].hnext;
	} else {
		if (fs->ndirs == fs->capdirs) {
			struct fan_dir *v = array_grow(fs->dirs, &fs->capdirs, sizeof(*v));

			if (!v)
				goto fail;
			fs->dirs = v;
		}
		i = fs->ndirs++;
	}
	memcpy(bytes, fh->f_handle, fh->handle_bytes);
	fs->dirs[i] = (struct fan_dir){ .hash = h,
					.kind = (uint8_t)kind,
					.fs = (uint8_t)fsi,
					.type = fh->handle_type,
					.len = fh->handle_bytes,
					.bytes = bytes,
					.hnext = fs->heads[h & (fs->nheads - 1)] };
	fs->heads[h & (fs->nheads - 1)] = i;
	fs->nlive++;
	fs->nstrangers += kind == FD_STRANGER;
	return i;
fail:
	free(bytes);
	return WATCH_NONE;
}

static void fan_drop(struct fan_state *fs, uint32_t i)
{
	struct fan_dir *d = &fs->dirs[i];
	uint32_t *p = &fs->heads[d->hash & (fs->nheads - 1)];

	while (*p != i)
		p = &fs->dirs[*p].hnext;
	*p = d->hnext;
	fs->nstrangers -= d->kind == FD_STRANGER;
	fs->nlive--;
	free(d->bytes);
	*d = (struct fan_dir){ .kind = FD_FREE, .hnext = fs->free_head };
	fs->free_head = i;
}

static void fan_forget(struct watch *w)
{
	struct fan_state *fs = w->fan;

	for (uint32_t i = 0; fs && fs->nstrangers && i < fs->ndirs; i++)
		if (fs->dirs[i].kind == FD_STRANGER)
			fan_drop(fs, i);
}

/* ---- file systems ---- */

/* The index of the marked file system whose fsid this is, or -1. */
static int fs_of_fsid(const struct fan_state *fs, const void *fsid)
{
	for (int i = 0; i < fs->nfs; i++)
		if (memcmp(&fs->fs[i].fsid, fsid, sizeof(fs->fs[i].fsid)) == 0)
			return i;
	return -1;
}

/*
 * The marked file system of the directory at path (mnt_id its mount, from
 * name_to_handle_at), marked now when it is new; -errno when it cannot be.
 */
int fan_fs_of_path(struct watch *w, const char *path, int mnt_id)
{
	struct fan_state *fs = w->fan;
	struct statfs sf;
	int i, fd;

	for (i = 0; i < fs->nmnts; i++)
		if (fs->mnts[i].id == mnt_id)
			return fs->mnts[i].fs;
	if (statfs(path, &sf) < 0)
		return -errno;
	i = fs_of_fsid(fs, &sf.f_fsid);
	if (i < 0) {
		if (fs->nfs == FAN_MAX_FS)
			return -ENOSPC;
		if (fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_WATCH_MASK, AT_FDCWD, path) <
		    0)
			return -errno;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		i = fs->nfs++;
		fs->fs[i].mount_fd = fd;
		memcpy(&fs->fs[i].fsid, &sf.f_fsid, sizeof(fs->fs[i].fsid));
	}
	if (fs->nmnts < FAN_MAX_MNTS)
		fs->mnts[fs->nmnts++] = (struct fan_mnt){ .id = mnt_id, .fs = i };
	return i;
}

/* The handle of path into fs->fh and its file system's index; -errno after saying why. */
static int handle_of(struct watch *w, const char *path, bool follow)
{
	struct fan_state *fs = w->fan;
	int mnt_id, i;

	fs->fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, fs->fh, &mnt_id, follow ? AT_SYMLINK_FOLLOW : 0) < 0) {
		int err = errno;

		watch_warn_errno(w, err, path);
		return -err;
	}
	i = fan_fs_of_path(w, path, mnt_id);
	if (i < 0)
		watch_warnf(w,
			    "cannot watch %s with fanotify: its file system cannot be marked (%s); changes "
			    "below it are missed (build.watcher = \"inotify\" watches it)",
			    path, strerror(-i));
	return i;
}

/* ---- handles not in the cache ---- */

/* Reads the path of the directory fd into buf; false when it is deleted or unreadable. */
static bool fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_nlink == 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n <= 0 || (size_t)n >= size - 1 || buf[0] != '/')
		return false;
	buf[n] = '\0';
	return true;
}

int fan_resolve(struct watch *w, int fsi, const struct file_handle *fh, uint32_t *out)
{
	struct fan_state *fs = w->fan;
	char path[PATH_MAX];
	uint32_t h = fh_hash(fsi, fh), n, i;
	int fd, r;
	bool inside;

	fs->misses++;
	/* Not O_PATH: an ignore mark needs an fd fanotify_mark() takes. */
	fd = open_by_handle_at(fs->fs[fsi].mount_fd, (struct file_handle *)fh,
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		/* ESTALE: gone already, and its parent's event says so. */
		if (errno == EMFILE || errno == ENFILE)
			watch_warn_errno(w, errno, "a directory of a change");
		return 0;
	}
	r = fd_path(fd, path, sizeof(path));
	if (!r) {
		close(fd);
		return 0;
	}
	inside = strncmp(path, w->root, w->rootlen) == 0 && (path[w->rootlen] == '/' || w->rootlen == 1);
	if (!inside)
		fan_ignore_mark(w, fd, path);
	close(fd);
	if (inside && !w->root_gone) {
		const char *rel = path + w->rootlen + (w->rootlen > 1);

		r = watch_resolve(w, rel, &n);
		if (r < 0)
			return r == -ENOMEM ? r : 0;
		if (r > 0) {
			/* The node's handle is this one, unless the path names another directory by now. */
			i = (uint32_t)w->nodes[n].id;
			if (i >= fs->ndirs || fs->dirs[i].kind != FD_NODE || fan_find(fs, fsi, fh, h) != i)
				return 0;
			*out = i;
			return 1;
		}
	}
	if (w->root_gone)
		return 0;
	/* Outside the root, or kept out by the filter. */
	i = fan_insert(fs, fsi, fh, h, FD_STRANGER);
	if (i == WATCH_NONE)
		return -ENOMEM;
	*out = i;
	return 1;
}

/* ---- the backend ---- */

static int fan_add(struct watch *w, const char *path, bool follow)
{
	struct fan_state *fs = w->fan;
	int fsi = handle_of(w, path, follow);
	uint32_t h, i;

	if (fsi < 0)
		return fsi;
	fan_ignore_unmark(w, path, follow);
	h = fh_hash(fsi, fs->fh);
	i = fan_find(fs, fsi, fs->fh, h);
	if (i == WATCH_NONE)
		i = fan_insert(fs, fsi, fs->fh, h, FD_NODE);
	else if (fs->dirs[i].kind == FD_STRANGER) {
		/* Moved in from outside, or admitted now. */
		fs->dirs[i].kind = FD_NODE;
		fs->nstrangers--;
	}
	return i == WATCH_NONE ? -ENOMEM : (int)i;
}

static void fan_remove(struct watch *w, int id)
{
	struct fan_state *fs = w->fan;

	if (id >= 0 && (uint32_t)id < fs->ndirs && fs->dirs[id].kind == FD_NODE)
		fan_drop(fs, (uint32_t)id);
}

static int fan_watch_parent(struct watch *w)
{
	struct fan_state *fs = w->fan;
	int fsi, mnt_id;
	uint32_t h, i;

	if (!watch_root_name(w))
		return -EINVAL;
	fs->fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, w->tmp, fs->fh, &mnt_id, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	/* Only on a file system marked already: the root a mount point, its parent's may be a busy one. */
	for (fsi = 0; fsi < fs->nmnts && fs->mnts[fsi].id != mnt_id; fsi++)
		;
	if (fsi == fs->nmnts)
		return -EXDEV;
	fsi = fs->mnts[fsi].fs;
	h = fh_hash(fsi, fs->fh);
	i = fan_find(fs, fsi, fs->fh, h);
	if (i == WATCH_NONE)
		i = fan_insert(fs, fsi, fs->fh, h, FD_PARENT);
	if (i == WATCH_NONE)
		return -ENOMEM;
	fs->dirs[i].kind = FD_PARENT;
	w->parent_id = (int)i;
	return 0;
}

static void fan_close(struct watch *w)
{
	struct fan_state *fs = w->fan;

	if (fs) {
		for (uint32_t i = 0; i < fs->ndirs; i++)
			free(fs->dirs[i].bytes);
		for (int i = 0; i < fs->nfs; i++)
			close(fs->fs[i].mount_fd);
		free(fs->dirs);
		free(fs->heads);
		free(fs->fh);
		free(fs);
		w->fan = NULL;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static int fan_open(struct watch *w)
{
	struct fan_state *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return -ENOMEM;
	w->fan = fs;
	w->lazy = true;
	fs->free_head = WATCH_NONE;
	fs->fh = malloc(sizeof(*fs->fh) + MAX_HANDLE_SZ);
	if (!fs->fh)
		return -ENOMEM;
	w->fd = fanotify_init(FAN_INIT_FLAGS, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	return fan_mark_mounts(w);
}

/* ---- events ---- */

/* Whether name in the directory n exists now (for a mask that holds a creation and a removal). */
static bool exists_now(struct watch *w, uint32_t n, const char *name)
{
	struct stat st;
	int len = watch_node_abs(w, n);

	if (len < 0 || (size_t)len + 2 + strlen(name) >= sizeof(w->abs))
		return false;
	w->abs[len] = '/';
	strcpy(w->abs + len + 1, name);
	return lstat(w->abs, &st) == 0;
}

/* An event in the root's parent: the root deleted or moved away, or back. */
static int root_event(struct watch *w, uint64_t mask, const char *name)
{
	const char *root_name = watch_root_name(w);
	struct stat st;
	bool now = stat(w->root, &st) == 0 && S_ISDIR(st.st_mode);
	int r = 0;

	if (!root_name || strcmp(name, root_name) != 0)
		return 0;
	if ((mask & MASK_VANISH) && !w->root_gone)
		r = watch_on_root_lost(w, mask & FAN_DELETE ? "deleted" : "moved away");
	if (r == 0 && (mask & MASK_APPEAR) && (mask & FAN_ONDIR) && now)
		r = watch_on_root_back(w);
	return r;
}

/* One event in the directory n (a node), mask possibly merged from several. */
static int dir_news(struct watch *w, uint32_t n, uint64_t mask, const char *name)
{
	bool dir = mask & FAN_ONDIR, moved = mask & FAN_MOVED_FROM;
	int r = 0;

	if (!name[0] || (name[0] == '.' && !name[1]))
		return 0;
	if ((mask & MASK_APPEAR) && (mask & MASK_VANISH)) {
		if (!exists_now(w, n, name)) {
			/* Made and gone again (written between, if at all). */
			r = watch_on_entry(w, n, name, K_APPEAR, dir, false);
			return r < 0 ? r : watch_on_entry(w, n, name, K_VANISH, dir, moved);
		}
		/* Gone and made again: replaced. */
		r = watch_on_entry(w, n, name, K_VANISH, dir, moved);
		mask &= ~(uint64_t)MASK_VANISH;
	}
	if (r == 0 && (mask & MASK_VANISH))
		return watch_on_entry(w, n, name, K_VANISH, dir, moved);
	if (r == 0 && (mask & MASK_APPEAR))
		r = watch_on_entry(w, n, name, K_APPEAR, dir, false);
	if (r == 0 && (mask & MASK_WRITE) && !dir)
		r = watch_on_entry(w, n, name, K_WRITE, false, false);
	return r;
}

static int handle_event(struct watch *w, uint64_t mask, const struct fanotify_event_info_fid *fid)
{
	struct fan_state *fs = w->fan;
	const struct file_handle *fh = (const struct file_handle *)fid->handle;
	const char *name = (const char *)fh->f_handle + fh->handle_bytes;
	int fsi = fs_of_fsid(fs, &fid->fsid);
	uint32_t i, n;

	if (fsi < 0)
		return 0;
	i = fan_find(fs, fsi, fh, fh_hash(fsi, fh));
	if (i == WATCH_NONE) {
		int r = fan_resolve(w, fsi, fh, &i);

		if (r <= 0)
			return r;
	}
	switch (fs->dirs[i].kind) {
	case FD_PARENT:
		return root_event(w, mask, name);
	case FD_NODE:
		n = watch_node_find(w, (int)i);
		return n == WATCH_NONE ? 0 : dir_news(w, n, mask, name);
	default:
		return 0;
	}
}

/*
 * The DFID_NAME record of the event at ev (its metadata copied in m), or NULL. The kernel aligns events
 * and records to 4 bytes only: the records (4-byte fields) are read in place, the metadata (a u64 mask)
 * is copied out.
 */
static const struct fanotify_event_info_fid *event_fid(const char *ev,
						       const struct fanotify_event_metadata *m)
{
	const char *p = ev + m->metadata_len, *end = ev + m->event_len;

	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_header *hdr = (const void *)p;

		if (hdr->len < sizeof(*hdr) || p + hdr->len > end)
			return NULL;
		if (hdr->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME)
			return (const void *)p;
		p += hdr->len;
	}
	return NULL;
}

/* The events of one read, in order: each one's metadata copied to an aligned struct (event_fid). */
static int fan_events(struct watch *w, const char *buf, size_t got)
{
	size_t off = 0;
	int r = 0;

	while (r == 0 && got - off >= FAN_EVENT_METADATA_LEN) {
		const struct fanotify_event_info_fid *fid;
		struct fanotify_event_metadata m;

		memcpy(&m, buf + off, sizeof(m));
		if (m.event_len < FAN_EVENT_METADATA_LEN || m.event_len > got - off)
			break;
		if (m.vers != FANOTIFY_METADATA_VERSION)
			return -EPROTO;
		if (m.mask & FAN_Q_OVERFLOW) {
			watch_on_overflow(w);
		} else if ((fid = event_fid(buf + off, &m))) {
			r = handle_event(w, m.mask, fid);
			if (r < 0)
				watch_on_overflow(w); /* what this call could not take in is lost */
		}
		off += m.event_len;
	}
	return r;
}

static int fan_read(struct watch *w)
{
	char buf[EVENT_BUF] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	int r = 0;

	for (int reads = 0; r == 0 && reads < MAX_READS_PER_CALL; reads++) {
		ssize_t got = read(w->fd, buf, sizeof(buf));

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				r = -errno;
			break;
		}
		r = fan_events(w, buf, (size_t)got);
	}
	if (w->fan->nstrangers > STRANGERS_MAX)
		fan_forget(w);
	return r;
}

const struct watch_backend_ops watch_fanotify_ops = {
	.name = "fanotify",
	.open = fan_open,
	.close = fan_close,
	.add = fan_add,
	.remove = fan_remove,
	.watch_parent = fan_watch_parent,
	.read = fan_read,
	.forget = fan_forget,
};

unsigned long long watch_fanotify_misses(const struct watch *w)
{
	return w && w->fan ? w->fan->misses : 0;
}
