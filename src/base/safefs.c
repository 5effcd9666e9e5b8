/*
 * safefs: tmp_dir and its files reached through fds, never through a path
 * string resolved again (safefs.h says why).
 */
#define _GNU_SOURCE
#include "safefs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* What the checks compare: identity, type, owner, links and the mount (has_mnt: known). */
struct fsid {
	dev_t dev;
	ino_t ino;
	mode_t mode;
	uid_t uid;
	nlink_t nlink;
	uint64_t mnt;
	bool has_mnt;
};

/* The clean-up's bounds: root's file system and mount, and the directories never removed. */
struct guard {
	dev_t dev;
	uint64_t mnt;
	struct fsid keep[3];
	size_t nkeep;
};

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!why || !size)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* Before 5.8 statx has no mount id; name_to_handle_at gives it on the file systems that export handles. */
static void handle_mount_id(int dirfd, const char *name, struct fsid *id)
{
	struct {
		struct file_handle fh;
		unsigned char buf[MAX_HANDLE_SZ];
	} h;
	int mnt;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dirfd, name, &h.fh, &mnt, name[0] ? 0 : AT_EMPTY_PATH) == 0 ||
	    errno == EOVERFLOW) {
		id->mnt = (uint64_t)(unsigned)mnt;
		id->has_mnt = true;
	}
}

/* name in dirfd ("" for dirfd itself), never following a symlink. */
static int fs_stat(int dirfd, const char *name, struct fsid *id)
{
	int at = AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH);
	struct statx sx;
	struct stat sb;

	memset(id, 0, sizeof(*id));
	if (statx(dirfd, name, at, STATX_BASIC_STATS | STATX_MNT_ID, &sx) == 0) {
		id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		id->ino = sx.stx_ino;
		id->mode = sx.stx_mode;
		id->uid = sx.stx_uid;
		id->nlink = sx.stx_nlink;
		if (sx.stx_mask & STATX_MNT_ID) {
			id->mnt = sx.stx_mnt_id;
			id->has_mnt = true;
			return 0;
		}
	} else if (errno != ENOSYS) {
		return -errno;
	} else if (fstatat(dirfd, name, &sb, at) == 0) {
		id->dev = sb.st_dev;
		id->ino = sb.st_ino;
		id->mode = sb.st_mode;
		id->uid = sb.st_uid;
		id->nlink = sb.st_nlink;
	} else {
		return -errno;
	}
	handle_mount_id(dirfd, name, id);
	return 0;
}

static bool same_file(const struct fsid *a, const struct fsid *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static bool same_mount(const struct fsid *a, const struct fsid *b)
{
	return a->dev == b->dev && a->has_mnt && b->has_mnt && a->mnt == b->mnt;
}

/* One component: a directory, never a symlink (-ELOOP), created when asked. */
static int open_step(int dirfd, const char *name, unsigned flags)
{
	struct stat sb;
	int fd = openat(dirfd, name, DIR_FLAGS);

	if (fd < 0 && errno == ENOENT && (flags & SAFEFS_CREATE)) {
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(dirfd, name, DIR_FLAGS);
	}
	if (fd >= 0)
		return fd;
	if ((errno == ELOOP || errno == ENOTDIR) && fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISLNK(sb.st_mode) ? -ELOOP : -ENOTDIR;
	return -errno;
}

int safefs_open_beneath(int basefd, const char *rel, unsigned flags)
{
	struct fsid base, cur;
	char comp[NAME_MAX + 1];
	int fd, r;

	r = fs_stat(basefd, "", &base);
	if (r < 0)
		return r;
	if ((flags & SAFEFS_ONE_MOUNT) && !base.has_mnt)
		return -EOPNOTSUPP;
	fd = fcntl(basefd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (*rel) {
		size_t len = strcspn(rel, "/");
		int next;

		if (len == 0) {
			rel++;
			continue;
		}
		if (len > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, rel, len);
		comp[len] = '\0';
		rel += len;
		if (strcmp(comp, ".") == 0)
			continue;
		next = strcmp(comp, "..") == 0 ? -EINVAL : open_step(fd, comp, flags);
		close(fd);
		if (next < 0)
			return next;
		fd = next;
		r = fs_stat(fd, "", &cur);
		if (r == 0 && (flags & SAFEFS_ONE_MOUNT) && !same_mount(&cur, &base))
			r = -EXDEV;
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	return fd;
}

/* Appends the components of p to the clean absolute path out (length *n), folding "." and "..". */
static void fold(char *out, size_t *n, const char *p)
{
	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (*n > 1 && out[*n - 1] != '/')
				(*n)--;
			if (*n > 1)
				(*n)--;
		} else if (!(len == 1 && p[0] == '.')) {
			if (*n > 1)
				out[(*n)++] = '/';
			memcpy(out + *n, p, len);
			*n += len;
		}
		p += len;
	}
	out[*n] = '\0';
}

int safefs_locate(const char *real_root, const char *path, char **abs, const char **rel)
{
	size_t rlen = strlen(real_root), n = 1, clen = 1;
	char *out = malloc(rlen + strlen(path) + 3), *croot = malloc(rlen + 2);

	*abs = NULL;
	*rel = NULL;
	if (!out || !croot) {
		free(out);
		free(croot);
		return -ENOMEM;
	}
	out[0] = croot[0] = '/';
	fold(croot, &clen, real_root);
	if (path[0] != '/')
		fold(out, &n, real_root);
	fold(out, &n, path);
	if (clen == 1)
		*rel = out + 1;
	else if (strncmp(out, croot, clen) == 0 && (out[clen] == '\0' || out[clen] == '/'))
		*rel = out + clen + (out[clen] == '/');
	free(croot);
	*abs = out;
	return 0;
}

bool safefs_dangerous_dir(const char *real, const char **what)
{
	const char *home = getenv("HOME");
	char *real_home = home && home[0] ? realpath(home, NULL) : NULL;
	bool is_home = real_home && strcmp(real, real_home) == 0;

	free(real_home);
	*what = strcmp(real, "/") == 0 ? "/" : strcmp(real, "/root") == 0 ? "/root" : "your home directory";
	return strcmp(real, "/") == 0 || strcmp(real, "/root") == 0 || is_home;
}

/* tmp_dir must be ours, and nobody else may add files to it. */
static int check_tmp_owner(int fd, const char *path, char *why, size_t size)
{
	struct fsid d;
	int r = fs_stat(fd, "", &d);

	if (r < 0)
		return r;
	if (d.uid != geteuid()) {
		say(why, size,
		    "tmp_dir %s belongs to uid %u, not to nsreload's effective uid %u: another user could "
		    "plant files in it (chown it, or remove it and nsreload makes a new one)",
		    path, (unsigned)d.uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((d.mode & S_IWOTH) && !(d.mode & S_ISVTX)) {
		say(why, size,
		    "tmp_dir %s is writable by every user and has no sticky bit: another user could plant "
		    "files in it (chmod o-w or +t)",
		    path);
		return -EPERM;
	}
	return 0;
}

int safefs_tmp_open(const char *root, const char *tmp_dir, struct safefs_tmp *t, char *why, size_t size)
{
	char *real_root = realpath(root, NULL), *abs = NULL;
	const char *rel = NULL;
	int base = -1, r;

	t->fd = -1;
	t->path = NULL;
	say(why, size, "%s", "");
	if (!real_root)
		return -errno;
	r = safefs_locate(real_root, tmp_dir, &abs, &rel);
	if (r == 0) {
		base = open(rel ? real_root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = base < 0 ? -errno : safefs_open_beneath(base, rel ? rel : abs + 1, SAFEFS_CREATE);
	}
	if (r == -ELOOP)
		say(why, size, "tmp_dir %s: a symbolic link on the way; nsreload follows none there", abs);
	else if (r == -ENOTDIR)
		say(why, size, "tmp_dir %s: a component is not a directory", abs);
	if (r >= 0) {
		t->fd = r;
		r = check_tmp_owner(t->fd, abs, why, size);
	}
	if (r < 0) {
		safefs_tmp_close(t);
		free(abs);
	} else {
		t->path = abs;
	}
	if (base >= 0)
		close(base);
	free(real_root);
	return r < 0 ? r : 0;
}

void safefs_tmp_close(struct safefs_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->path);
	t->path = NULL;
}

static bool plain_name(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strlen(name) <= NAME_MAX;
}

int safefs_open_append(int dirfd, const char *name, char *why, size_t size)
{
	struct fsid f;
	int fd, fl, r;

	say(why, size, "%s", "");
	if (!plain_name(name)) {
		say(why, size, "'%s' is not a plain file name: it must name a file in tmp_dir", name);
		return -EINVAL;
	}
	/* O_NONBLOCK: a planted FIFO gives ENXIO instead of blocking the loop. */
	fd = openat(dirfd, name,
		    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			say(why, size, "it is a symbolic link: nsreload writes through none in tmp_dir");
		return r;
	}
	r = fs_stat(fd, "", &f);
	if (r == 0 && (!S_ISREG(f.mode) || f.uid != geteuid() || f.nlink != 1)) {
		if (!S_ISREG(f.mode))
			say(why, size, "it is not a regular file");
		else if (f.uid != geteuid())
			say(why, size, "it belongs to uid %u, not to nsreload's effective uid %u",
			    (unsigned)f.uid, (unsigned)geteuid());
		else
			say(why, size, "it has %lu hard links: it may be another file's name",
			    (unsigned long)f.nlink);
		r = -EPERM;
	}
	if (r == 0 && ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0))
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* 8 characters of [a-z0-9]: getrandom, or the clock where it fails (O_EXCL keeps it safe either way). */
static void random_suffix(char *out)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[8];

	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
		memcpy(b, &x, sizeof(b));
	}
	for (size_t i = 0; i < sizeof(b); i++)
		out[i] = set[b[i] % (sizeof(set) - 1)];
	out[sizeof(b)] = '\0';
}

int safefs_create_unique(int dirfd, const char *dir_path, const char *prefix, struct safefs_file *f)
{
	struct stat sb;
	size_t plen = strlen(prefix);
	int fd = -1, r;

	f->dirfd = -1;
	f->path = NULL;
	if (plen + 8 > NAME_MAX || strchr(prefix, '/'))
		return -EINVAL;
	for (int tries = 0; tries < 16 && fd < 0; tries++) {
		memcpy(f->name, prefix, plen);
		random_suffix(f->name + plen);
		fd = openat(dirfd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	/* fstat of a just-opened fd does not fail; if it did, the empty file would stay. */
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	r = f->dirfd < 0 ? -errno : asprintf(&f->path, "%s/%s", dir_path, f->name) < 0 ? -ENOMEM : 0;
	if (r < 0) {
		f->path = NULL;
		(void)safefs_unlink_if(dirfd, f->name, f->dev, f->ino);
		if (f->dirfd >= 0)
			close(f->dirfd);
		f->dirfd = -1;
		close(fd);
		return r;
	}
	return fd;
}

int safefs_unlink_if(int dirfd, const char *name, dev_t dev, ino_t ino)
{
	struct fsid now;
	int r = fs_stat(dirfd, name, &now);

	if (r < 0)
		return r;
	if (now.dev != dev || now.ino != ino)
		return -ESTALE;
	return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

void safefs_file_remove(struct safefs_file *f)
{
	if (f->dirfd < 0)
		return;
	(void)safefs_unlink_if(f->dirfd, f->name, f->dev, f->ino);
	close(f->dirfd);
	f->dirfd = -1;
	free(f->path);
	f->path = NULL;
}

/* ---- the clean-up walk ---------------------------------------------------------------------------- */

static void guard_init(struct guard *g, const struct fsid *root)
{
	const char *dirs[] = { "/", "/root", getenv("HOME") };
	struct stat sb;

	g->dev = root->dev;
	g->mnt = root->mnt;
	g->nkeep = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (dirs[i] && dirs[i][0] == '/' && stat(dirs[i], &sb) == 0) {
			g->keep[g->nkeep].dev = sb.st_dev;
			g->keep[g->nkeep].ino = sb.st_ino;
			g->nkeep++;
		}
	}
}

static bool guard_allows(const struct guard *g, const struct fsid *id)
{
	if (id->dev != g->dev || !id->has_mnt || id->mnt != g->mnt)
		return false;
	for (size_t i = 0; i < g->nkeep; i++)
		if (same_file(id, &g->keep[i]))
			return false;
	return true;
}

static size_t remove_tree(int fd, const struct guard *g, unsigned depth);

/* One entry of a directory being emptied: 0 when it is gone, else the number of entries left. */
static size_t remove_entry(int dirfd, const char *name, const struct guard *g, unsigned depth)
{
	struct fsid e, now;
	size_t kept;
	int sub, r;

	r = fs_stat(dirfd, name, &e);
	if (r < 0)
		return r == -ENOENT ? 0 : 1;
	if (!guard_allows(g, &e))
		return 1;
	if (!S_ISDIR(e.mode))
		return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : 1;
	if (depth >= SAFEFS_MAX_DEPTH)
		return 1;
	sub = openat(dirfd, name, DIR_FLAGS);
	if (sub < 0)
		return errno == ENOENT ? 0 : 1;
	/* Swapped since the fs_stat (for another directory, a mount or a symlink's target): left alone. */
	if (fs_stat(sub, "", &now) < 0 || !same_file(&now, &e) || !guard_allows(g, &now)) {
		close(sub);
		return 1;
	}
	kept = remove_tree(sub, g, depth + 1);
	if (kept == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		kept = 1;
	return kept;
}

/* Empties the directory fd (which it takes over and closes): the number of entries left. */
static size_t remove_tree(int fd, const struct guard *g, unsigned depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	size_t kept = 0;

	if (!d) {
		close(fd);
		return 1;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e)
			break;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		kept += remove_entry(dirfd(d), e->d_name, g, depth);
	}
	if (errno)
		kept++;
	closedir(d);
	return kept;
}

/* Says why tmp_dir cannot be reached for removal; 0 for one that is not there. */
static int explain_open(int r, const char *abs, char *why, size_t size)
{
	if (r == -ENOENT)
		return 0;
	if (r == -ELOOP)
		say(why, size, "%s: a symbolic link on the way, which nsreload does not follow", abs);
	else if (r == -ENOTDIR)
		say(why, size, "%s: a component is not a directory", abs);
	else if (r == -EXDEV)
		say(why, size, "%s is a mount point or on another file system than root", abs);
	else if (r == -EOPNOTSUPP)
		say(why, size,
		    "this kernel gives no mount id (statx, name_to_handle_at) for %s: a mount point "
		    "could not be told from a directory",
		    abs);
	return r;
}

int safefs_clean_tmp(const char *root, const char *tmp_dir, size_t *kept, char *why, size_t size)
{
	char *real_root = realpath(root, NULL), *abs = NULL, *parent = NULL;
	const char *rel = NULL, *last;
	int rootfd = -1, pfd = -1, tfd = -1, r;
	struct fsid rootid, tmpid, now;
	struct guard g;

	*kept = 0;
	say(why, size, "%s", "");
	if (!real_root)
		return -errno;
	r = safefs_locate(real_root, tmp_dir, &abs, &rel);
	if (r < 0)
		goto out;
	if (!rel || !rel[0]) {
		say(why, size, rel ? "tmp_dir is root %s itself" : "tmp_dir %s lies outside root %s",
		    rel ? real_root : abs, real_root);
		r = -EPERM;
		goto out;
	}
	last = strrchr(rel, '/');
	parent = strndup(rel, last ? (size_t)(last - rel) : 0);
	last = last ? last + 1 : rel;
	rootfd = open(real_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!parent || rootfd < 0 || fs_stat(rootfd, "", &rootid) < 0) {
		r = !parent ? -ENOMEM : -errno;
		goto out;
	}
	pfd = safefs_open_beneath(rootfd, parent, SAFEFS_ONE_MOUNT);
	tfd = pfd < 0 ? pfd : safefs_open_beneath(pfd, last, SAFEFS_ONE_MOUNT);
	if (tfd < 0) {
		r = explain_open(tfd, abs, why, size);
		goto out;
	}
	guard_init(&g, &rootid);
	if ((r = fs_stat(tfd, "", &tmpid)) < 0)
		goto out;
	if (!guard_allows(&g, &tmpid)) {
		say(why, size, "%s is /, /root or $HOME", abs);
		r = -EPERM;
		goto out;
	}
	*kept = remove_tree(tfd, &g, 1);
	tfd = -1;
	/* rmdir removes only an empty directory, and only while the name is still the one emptied. */
	if (*kept == 0 && fs_stat(pfd, last, &now) == 0 && same_file(&now, &tmpid) &&
	    unlinkat(pfd, last, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
out:
	if (tfd >= 0)
		close(tfd);
	if (pfd >= 0)
		close(pfd);
	if (rootfd >= 0)
		close(rootfd);
	free(parent);
	free(abs);
	free(real_root);
	return r;
}
