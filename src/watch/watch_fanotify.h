/*
 * watch_fanotify.h - what the fanotify backend's files share (inside
 * src/watch/ only): watch_fanotify.c the backend, its handle cache and its
 * events; watch_fanmount.c the marks at start (the root's file system
 * and the mounts below it), the ignore marks, and whether fanotify may be used here (doctor's
 * probe, auto's choice).
 */
#ifndef NSRELOAD_WATCH_FANOTIFY_H
#define NSRELOAD_WATCH_FANOTIFY_H

#include <fcntl.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/fanotify.h>

#include "watch_backend.h"

#define FAN_INIT_FLAGS (FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK)
/* A write counts at the writer's close (FAN_CLOSE_WRITE), as with inotify: no FAN_MODIFY. */
#define FAN_WATCH_MASK (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CLOSE_WRITE | FAN_ONDIR)
/* File systems marked at most (the root's and those of the mounts below it), and mounts remembered. */
#define FAN_MAX_FS   16
#define FAN_MAX_MNTS 64

/* A directory of the handle cache; its index is its id (watch_backend.h). */
struct fan_dir {
	uint32_t hnext; /* the hash chain, or the free list */
	uint32_t hash;
	uint8_t kind; /* FD_* of watch_fanotify.c */
	uint8_t fs;
	int type;
	uint32_t len;
	unsigned char *bytes;
};

struct fan_fs {
	__kernel_fsid_t fsid;
	int mount_fd; /* for open_by_handle_at() */
};

struct fan_mnt {
	int id; /* a mount id from name_to_handle_at() */
	int fs;
};

struct fan_state {
	struct fan_fs fs[FAN_MAX_FS];
	int nfs;
	struct fan_mnt mnts[FAN_MAX_MNTS];
	int nmnts;
	struct fan_dir *dirs;
	uint32_t ndirs, free_head, nlive, nstrangers;
	size_t capdirs;
	uint32_t *heads;
	uint32_t nheads;
	struct file_handle *fh; /* scratch, MAX_HANDLE_SZ bytes of handle */
	uint64_t misses;        /* handles resolved through open_by_handle_at() (bench, tests) */
	uint32_t nignored;      /* ignore marks set on directories outside the root */
	bool no_ignore;         /* this kernel has no FAN_MARK_IGNORE */
};

/* ---- watch_fanotify.c ---- */

/*
 * A handle not in the cache (of file system fsi): its path is read, and it
 * becomes a directory of the cache (*out) inside the root and a stranger
 * outside. 1 (*out), 0 when it is gone or unreadable (the event is dropped),
 * or -ENOMEM.
 */
int fan_resolve(struct watch *w, int fsi, const struct file_handle *fh, uint32_t *out);
/*
 * The index of the marked file system of the directory at path (mnt_id its
 * mount, from name_to_handle_at), marked now when it is new; or -errno.
 */
int fan_fs_of_path(struct watch *w, const char *path, int mnt_id);

/* ---- watch_fanmount.c ---- */

/* Marks the root's file system and those of the mounts below the root (w->fd open). */
int fan_mark_mounts(struct watch *w);
/* An ignore mark on the directory fd (at path, outside the root), where the kernel has them. */
void fan_ignore_mark(struct watch *w, int fd, const char *path);
/* Takes off the ignore mark a directory coming into the root may hold. */
void fan_ignore_unmark(struct watch *w, const char *path, bool follow);

#endif
