/*
 * watch_fanmount.c - the fanotify backend's marks: at start (the root's file
 * system, and that of each mount below the root: mountinfo, not a walk), the
 * ignore marks on directories outside the root, and whether fanotify may be
 * used here: the probe that doctor and build.watcher's auto share (watch.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "watch_fanotify.h"

/* Ignore marks at most (each an inode mark in the kernel, gone with its directory). */
#define IGNORED_MAX 65536
#define IGNORE_MASK (FAN_WATCH_MASK | FAN_EVENT_ON_CHILD)

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * Calls fn for each mount point strictly below root (from
 * /proc/self/mountinfo); stops at the first non-zero return. Returns that, 0,
 * or -errno when mountinfo cannot be read.
 */
static int mounts_below(const char *root, int (*fn)(void *data, const char *mnt), void *data)
{
	size_t rootlen = strlen(root), cap = 0;
	char *line = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int r = 0;

	if (!f)
		return -errno;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		char *mnt = line;

		/* id, parent id, major:minor, root in its file system, then the mount point. */
		for (int i = 0; i < 4 && mnt; i++) {
			mnt = strchr(mnt, ' ');
			mnt = mnt ? mnt + 1 : NULL;
		}
		if (!mnt)
			continue;
		mnt[strcspn(mnt, " ")] = '\0';
		unescape(mnt);
		if (strncmp(mnt, root, rootlen) == 0 && (rootlen == 1 || mnt[rootlen] == '/') &&
		    mnt[rootlen + (rootlen > 1)] != '\0')
			r = fn(data, mnt);
	}
	free(line);
	fclose(f);
	return r;
}

static int mark_one(void *data, const char *mnt)
{
	struct watch *w = data;
	int mnt_id, r;

	w->fan->fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, mnt, w->fan->fh, &mnt_id, AT_SYMLINK_FOLLOW) < 0)
		return 0; /* hidden under another mount, or gone */
	r = fan_fs_of_path(w, mnt, mnt_id);
	if (r < 0)
		watch_warnf(w,
			    "%s is a mount fanotify cannot mark (%s): changes below it are missed "
			    "(build.watcher = \"inotify\" watches it)",
			    mnt, strerror(-r));
	return r == -ENOMEM ? r : 0;
}

int fan_mark_mounts(struct watch *w)
{
	int mnt_id, r;

	w->fan->fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, w->root, w->fan->fh, &mnt_id, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	r = fan_fs_of_path(w, w->root, mnt_id);
	if (r < 0)
		return r;
	r = mounts_below(w->root, mark_one, w);
	return r == -ENOMEM ? r : 0;
}

/* ---- ignore marks ---- */

/*
 * A directory outside the root (path, open as fd) gets an ignore mark, so
 * that the kernel drops its events before they are queued: a writer outside
 * the root (go's build cache, another project) then costs nsreload one
 * resolution per directory, not a read per event. Not for the root's parent,
 * whose events say whether the root goes, nor for the directories the filter
 * keeps out inside the root, which the rules may admit again. Linux 6.0+
 * (FAN_MARK_IGNORE); without it, or past IGNORED_MAX, the stranger cache does
 * the filtering alone.
 */
void fan_ignore_mark(struct watch *w, int fd, const char *path)
{
	struct fan_state *fs = w->fan;
	size_t plen = strlen(path);

	if (fs->no_ignore || fs->nignored >= IGNORED_MAX)
		return;
	/* The root's parent and its ancestors: the root's name must still be seen going. */
	if (plen < w->rootlen && strncmp(w->root, path, plen) == 0 && (w->root[plen] == '/' || plen == 1))
		return;
	if (fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_IGNORE_SURV, IGNORE_MASK, fd, NULL) < 0) {
		if (errno == EINVAL)
			fs->no_ignore = true; /* before Linux 6.0 */
		return;
	}
	fs->nignored++;
}

/* A directory that comes into the root may hold an ignore mark from when it was outside: take it off. */
void fan_ignore_unmark(struct watch *w, const char *path, bool follow)
{
	if (w->fan->nignored &&
	    fanotify_mark(w->fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE_SURV | (follow ? 0 : FAN_MARK_DONT_FOLLOW),
			  IGNORE_MASK, AT_FDCWD, path) == 0)
		w->fan->nignored--;
}

static int count_one(void *data, const char *mnt)
{
	(void)mnt;
	++*(int *)data;
	return 0;
}

int watch_fanotify_usable(const char *path, char *why, size_t size)
{
	int fd = fanotify_init(FAN_INIT_FLAGS, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		err = errno;
		if (err == EPERM)
			snprintf(why, size,
				 "fanotify needs CAP_SYS_ADMIN, which nsreload does not have here");
		else if (err == EINVAL)
			snprintf(why, size,
				 "this kernel's fanotify lacks FAN_REPORT_DFID_NAME (Linux 5.9 or later)");
		else
			snprintf(why, size, "fanotify_init: %s", strerror(err));
		return -err;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_WATCH_MASK, AT_FDCWD, path) < 0) {
		err = errno;
		if (err == EPERM)
			snprintf(why, size,
				 "marking a whole file system needs CAP_SYS_ADMIN in the initial user "
				 "namespace "
				 "(nsreload runs in a user namespace, or without it)");
		else if (err == ENODEV || err == EOPNOTSUPP || err == EXDEV)
			snprintf(why, size,
				 "the file system of %s gives no file handles fanotify can report (%s)", path,
				 strerror(err));
		else
			snprintf(why, size, "fanotify_mark on %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	close(fd);
	snprintf(why, size, "fanotify may mark the file system of %s (CAP_SYS_ADMIN, Linux 5.9 or later)",
		 path);
	return 0;
}

/* The first line of a small /proc file into buf; false when it cannot be read. */
static bool proc_line(const char *path, const char *key, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(buf, (int)size, f))
		found = strncmp(buf, key, strlen(key)) == 0;
	fclose(f);
	return found;
}

/*
 * What a whole-file-system mark needs, read without trying one (a fanotify
 * group's close waits for an RCU grace period, milliseconds on a busy
 * machine): CAP_SYS_ADMIN, in the initial user namespace.
 */
static int may_mark(char *why, size_t size)
{
	char line[256];
	unsigned long long caps = 0;
	unsigned long a = 1, b = 1, c = 0;

	if (!proc_line("/proc/self/status", "CapEff:", line, sizeof(line)) ||
	    sscanf(line + 7, "%llx", &caps) != 1 || !(caps & (1ULL << 21))) {
		snprintf(why, size, "fanotify needs CAP_SYS_ADMIN, which nsreload does not have here");
		return -EPERM;
	}
	if (!proc_line("/proc/self/uid_map", "", line, sizeof(line)) ||
	    sscanf(line, "%lu %lu %lu", &a, &b, &c) != 3 || a != 0 || b != 0 || c != 4294967295UL) {
		snprintf(
			why, size,
			"nsreload runs in a user namespace, where fanotify may not mark a whole file system");
		return -EPERM;
	}
	snprintf(why, size, "CAP_SYS_ADMIN in the initial user namespace");
	return 0;
}

int watch_fanotify_auto(const char *path, char *why, size_t size)
{
	int n = 0, r = may_mark(why, size);

	if (r < 0)
		return r;
	r = mounts_below(path, count_one, &n);
	if (r < 0 || n > 0) {
		snprintf(why, size,
			 "%d mount%s below %s: auto keeps inotify, which watches each directory where it is "
			 "(build.watcher = \"fanotify\" marks each file system)",
			 n, n == 1 ? " is" : "s are", path);
		return -EXDEV;
	}
	return 0;
}

int watch_count_dirs(const char *path, struct filter *filter, int limit)
{
	size_t plen = strlen(path);
	char **queue = calloc((size_t)limit + 1, sizeof(*queue));
	int head = 0, tail = 0;

	if (!queue)
		return -ENOMEM;
	queue[tail++] = strdup(path);
	while (head < tail && queue[head]) {
		DIR *d = opendir(queue[head]);
		struct dirent *de;

		char *p;

		while (d && tail <= limit && (de = readdir(d))) {
			if (de->d_type != DT_DIR || (de->d_name[0] == '.' && (!filter || !de->d_name[1] ||
									      strcmp(de->d_name, "..") == 0)))
				continue;
			if (asprintf(&p, "%s/%s", queue[head], de->d_name) < 0)
				break;
			if (!filter || filter_watch_dir(filter, p + plen + 1))
				queue[tail++] = p;
			else
				free(p);
		}
		if (d)
			closedir(d);
		head++;
	}
	for (int i = 0; i < tail; i++)
		free(queue[i]);
	free(queue);
	return tail;
}
