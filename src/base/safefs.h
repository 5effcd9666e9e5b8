/*
 * safefs.h - the only way nsreload creates, writes or deletes files: those
 * of tmp_dir (the build log, the changed-paths file, and tmp_dir itself for
 * misc.clean_on_exit).
 *
 * Why: nsreload runs as root in CI and under sudo, tmp_dir comes from a
 * configuration file, and a path string is resolved again by the kernel at
 * every use. A prefix compare, a realpath() check followed by a path-based
 * walk, or an open() that follows a planted symlink all let a careless
 * configuration or another user send a delete or a write outside the project.
 * So, here:
 *  - a directory is reached from an fd of its base, one component at a time
 *    with openat(O_NOFOLLOW | O_DIRECTORY): no symlink is ever followed, no
 *    ".." is ever taken, and what was checked is the fd that is used;
 *  - a deletion stays on root's mount: every directory and entry is checked
 *    against root's st_dev and mount id (statx STATX_MNT_ID, or
 *    name_to_handle_at before 5.8; where neither gives one, nothing is
 *    deleted), so a mount point or bind mount is never entered or removed;
 *    "/", $HOME and /root are never removed either;
 *  - a file is created or opened with O_NOFOLLOW in a directory fd, and the
 *    opened fd is checked (regular, ours, one link) before it is written.
 * The kernel's openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)
 * would resolve a path in one call, but creating tmp_dir needs the walk one
 * component at a time anyway, and container seccomp profiles that return
 * ENOSYS for openat2 would need this walk as a fallback: one path, tested.
 *
 * Every function returns 0, an fd, or -errno; nothing prints. Where a refusal
 * is a rule of this module rather than a failed syscall, why (if given) gets
 * a sentence for the user and why[0] is '\0' otherwise.
 */
#ifndef NSRELOAD_SAFEFS_H
#define NSRELOAD_SAFEFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How deep the clean-up walk goes; deeper entries are left (and counted as kept). */
#define SAFEFS_MAX_DEPTH 64

enum safefs_flags {
	SAFEFS_CREATE = 1 << 0,    /* mkdirat (0755) the components that are missing */
	SAFEFS_ONE_MOUNT = 1 << 1, /* every component on base's mount: -EXDEV otherwise */
};

/*
 * Opens the directory rel beneath basefd, one component at a time, with
 * openat(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC). Empty components
 * and "." are skipped; rel "" gives a new fd of basefd itself. -ELOOP or
 * -ENOTDIR for a symlink on the way, -EINVAL for "..", -EXDEV for another
 * mount under SAFEFS_ONE_MOUNT (-EOPNOTSUPP where no mount id can be had).
 */
int safefs_open_beneath(int basefd, const char *rel, unsigned flags);

/*
 * Where path (absolute, or relative to real_root, which must be absolute and
 * free of symlinks) lies, lexically: *abs gets the clean absolute path
 * (malloc'd; "." and ".." folded, no double slashes) and *rel points into it,
 * past real_root and its '/', or is NULL when path is not real_root or
 * beneath it ("" for real_root itself). "../proj-other" and "/x/proj.bak"
 * are outside "/x/proj". -ENOMEM.
 */
int safefs_locate(const char *real_root, const char *path, char **abs, const char **rel);

/*
 * True when real (a path without symlinks, as realpath gives) is "/", "/root"
 * or the real path of $HOME: a root there is refused unless
 * build.ignore_dangerous_root_dir. what gets "/", "/root" or "your home
 * directory".
 */
bool safefs_dangerous_dir(const char *real, const char **what);

/* tmp_dir, open: fd is an O_DIRECTORY fd, path its clean absolute path (no symlink on the way). */
struct safefs_tmp {
	int fd;
	char *path;
};

/*
 * Opens tmp_dir (relative to root, or absolute), creating what is missing.
 * Beneath root it is reached from an fd of root; elsewhere from "/"; either
 * way no symlink is followed. The directory must belong to the effective uid
 * and must not be world-writable without the sticky bit: another user could
 * plant files in it (why says which). t->fd is -1 on failure.
 */
int safefs_tmp_open(const char *root, const char *tmp_dir, struct safefs_tmp *t, char *why, size_t size);
void safefs_tmp_close(struct safefs_tmp *t);

/*
 * Opens the file name in dirfd for appending, creating it (0644): a plain
 * name (no '/', not "." or ".."), never through a symlink (-ELOOP), and only
 * a regular file of the effective uid with one link (-EPERM, why says which),
 * so that a planted file or hard link is not written. A FIFO gives -ENXIO
 * rather than blocking.
 */
int safefs_open_append(int dirfd, const char *name, char *why, size_t size);

/* A file created by safefs_create_unique, removed by safefs_file_remove. */
struct safefs_file {
	int dirfd;  /* a new fd of its directory; -1: no file */
	char *path; /* dir_path/name, for the environment of a build */
	char name[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
};

/*
 * Creates a new file prefix + 8 random characters in dirfd (whose path is
 * dir_path) with O_CREAT | O_EXCL | O_NOFOLLOW (0644): nothing that exists,
 * planted or not, is opened, and a name cannot be guessed ahead. Returns the
 * fd, open for writing, and fills f (which holds its own fd of the directory).
 */
int safefs_create_unique(int dirfd, const char *dir_path, const char *prefix, struct safefs_file *f);

/*
 * Removes f's name from its directory only while it is still the file that
 * was created (same st_dev and st_ino): a name replaced since is left alone.
 * Then releases f (dirfd -1). A released f is fine.
 */
void safefs_file_remove(struct safefs_file *f);

/*
 * Removes name from dirfd (AT_FDCWD is fine) only while it is still the file
 * dev and ino name (as fstat of the fd that created it gave them): a name
 * replaced since is left alone (-ESTALE).
 */
int safefs_unlink_if(int dirfd, const char *name, dev_t dev, ino_t ino);

/*
 * misc.clean_on_exit: removes tmp_dir, which must lie strictly beneath root
 * (lexically and with no symlink on the way), on root's mount, and not be
 * "/", $HOME or /root. The walk holds an fd per level, never follows a
 * symlink, never leaves root's mount, never removes "/", $HOME or /root, and
 * stops at SAFEFS_MAX_DEPTH. 0 when tmp_dir is gone or was never there; *kept
 * gets the number of entries left behind (mount points, other file systems,
 * protected or too deep), and tmp_dir stays when it is not 0. Refusals give
 * -EPERM (or -EXDEV for another mount) with why.
 */
int safefs_clean_tmp(const char *root, const char *tmp_dir, size_t *kept, char *why, size_t size);

#endif
