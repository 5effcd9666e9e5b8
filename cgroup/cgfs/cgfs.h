/*
 * cgfs.h - pure parsers for the kernel's cgroup text files, and the cgroupfs
 * helpers the cgroup rungs share.
 *
 * The parsers take the whole file as a NUL-terminated string and touch no
 * state, so unit tests feed them text. Every function returns 0 or -errno.
 */
#ifndef NSRELOAD_CGFS_H
#define NSRELOAD_CGFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum cg_mode {
	CG_MODE_NONE = 0, /* no cgroup mount at all */
	CG_MODE_LEGACY,   /* cgroup v1 hierarchies only */
	CG_MODE_HYBRID,   /* v1 hierarchies plus a cgroup2 mount (often /sys/fs/cgroup/unified) */
	CG_MODE_UNIFIED,  /* cgroup2 only */
};

const char *cg_mode_name(enum cg_mode mode);

struct cg_mounts {
	enum cg_mode mode;
	char v2_path[4096]; /* mount point of the cgroup2 mount, "" if none */
	char v2_root[4096]; /* the root of that mount inside the hierarchy (field 4) */
	int v1_count;       /* number of v1 hierarchies mounted */
};

/*
 * Reads /proc/self/mountinfo text. Prefers a cgroup2 mount at /sys/fs/cgroup,
 * then /sys/fs/cgroup/unified, then the first one found. Octal escapes
 * (\040) in paths are decoded. -ENOENT when there is no cgroup mount.
 */
int cg_parse_mountinfo(const char *text, struct cg_mounts *out);

/* Finds the "0::<path>" line of /proc/<pid>/cgroup. -ENOENT if absent. */
int cg_parse_proc_cgroup(const char *text, char *path, size_t size);

struct cg_events {
	int populated; /* -1 when the key is absent */
	int frozen;    /* -1 when the key is absent (kernels before 5.2) */
};

/* Parses cgroup.events. -EINVAL on malformed text. */
int cg_parse_events(const char *text, struct cg_events *out);

/*
 * Joins the mount point with our own cgroup path, taking the mount's root
 * into account (a container's cgroup namespace): mount /sys/fs/cgroup, root
 * /a, own /a/b gives /sys/fs/cgroup/b. -EXDEV when own is outside root.
 */
int cg_join_own_dir(const struct cg_mounts *m, const char *own, char *out, size_t size);

/*
 * The length of the longest common prefix of two absolute cgroup paths that
 * ends at a path component: their common ancestor. 0 when they share none.
 * Moving a process between them needs write access to that ancestor's
 * cgroup.procs.
 */
size_t cg_common_ancestor_len(const char *a, const char *b);

/*
 * The two ways of reading a whole kernel file (cgroupfs or /proc), on one
 * read loop. Both NUL-terminate and return the length (the text may hold
 * NULs, as /proc/<pid>/environ does) or -errno. cg_read_file_at() reads into
 * buf, at most size - 1 bytes; cg_read_alloc_at() into a malloc'ed buffer
 * grown as needed up to max bytes, set in *out for the caller to free.
 */
ssize_t cg_read_file_at(int dirfd, const char *name, char *buf, size_t size);
ssize_t cg_read_alloc_at(int dirfd, const char *name, char **out, size_t max);
/* Writes a string into an existing file, in one write(2). */
int cg_write_file_at(int dirfd, const char *name, const char *s);

/*
 * Opens the directory name in the cgroup dirfd (O_NOFOLLOW). -EBUSY when a
 * mount covers the name: what is there is not a cgroup of dirfd's file
 * system, and nothing must be read, signalled or removed through it.
 */
int cg_open_child(int dirfd, const char *name);

/* Sleeps ms milliseconds, resuming after signals. */
void cg_sleep_ms(unsigned ms);

/*
 * Calls fn(dirfd, subfd, name, data) for every child cgroup directory of
 * dirfd (opened with cg_open_child; one that vanished midway is skipped).
 * Returns the first error of fn or of the walk, after visiting them all.
 */
int cg_for_each_child(int dirfd, int (*fn)(int parentfd, int subfd, const char *name, void *data),
		      void *data);

/* Freeze-and-kill rounds cg_kill_all() makes before it gives up with -EBUSY. */
#define CG_KILL_PASSES 100

/*
 * One pass of killing every process in the cgroup and its descendants:
 * cgroup.kill where it exists, otherwise one round of freeze, kill every pid,
 * thaw. force_freeze_loop takes the round even where cgroup.kill exists, for
 * tests. Returns 0 when nothing is left to kill (cgroup.kill written, or the
 * cgroup empty), 1 when another round is needed, or -errno. A round blocks
 * for at most 200 ms waiting for "frozen 1", plus the signalling.
 */
int cg_kill_pass(int dirfd, bool force_freeze_loop);
/* How long to wait before round pass + 1 (counted from 0). */
int cg_kill_pass_pause_ms(int pass);
/*
 * cg_kill_pass() until nothing is left, pausing between rounds: at worst
 * CG_KILL_PASSES rounds, about 21 s, then -EBUSY. Only for callers outside
 * the caller's loop (the stale sweep, removal); a box's kill repeats its
 * rounds from the box's timer instead.
 */
int cg_kill_all(int dirfd, bool force_freeze_loop);

/*
 * Waits, polling cgroup.events, until the cgroup holds no process, or with
 * or_frozen until it is frozen: 0, -ETIMEDOUT after timeout_ms, or -errno.
 */
int cg_wait_events(int dirfd, bool or_frozen, int timeout_ms);

/*
 * Signals every process in the cgroup and its children, as listed in their
 * cgroup.procs, through cg_signal_listed(): never a pid reused by a stranger.
 */
int cg_signal_all(int dirfd, int sig);

/*
 * Signals the processes listed in procs (cgroup.procs text of the cgroup
 * dirfd, read earlier) that are still its members: each pid is pinned with
 * pidfd_open, cgroup.procs is read again, and only a pinned process still
 * listed gets pidfd_send_signal. A pid that died and was reused in between
 * is never signalled. Pids of other PID namespaces (listed as 0) are skipped.
 */
int cg_signal_listed(int dirfd, const char *procs, int sig);

/*
 * Removes the cgroup fd (named name in parentfd) and its sub-cgroups. rmdir
 * right after "populated 0" can still meet EBUSY: it is tried 12 times, with
 * sleeps doubling from 1 ms up to 256 ms between tries (1.3 s in all) and one
 * cg_kill_pass() through fd before each sleep (at most 200 ms each, and
 * nothing on an empty cgroup): about 4 s at worst. Nothing is removed by name
 * unless that name still is fd's directory (cg_rmdir_same).
 */
int cg_remove_tree(int parentfd, const char *name, int fd);

/*
 * rmdir of name in parentfd, only if it is the directory fd holds (same
 * st_dev and st_ino). 0 when removed or already gone; -ESTALE when the name
 * is now another directory, which is left alone. cgroupfs has no rename, so
 * a different inode there means ours was removed and the name taken again.
 * -EBUSY when a mount covers the name, as rmdir would say.
 */
int cg_rmdir_same(int parentfd, const char *name, int fd);

#endif
