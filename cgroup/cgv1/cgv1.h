/*
 * cgv1.h - the one glue between nsreload and libcgroup, for the cgroup v1
 * hierarchies only (v2 is done on cgroupfs directly, cgfs.h: libcgroup 2.0
 * finds v2 only through cgroup.controllers and writes +ctrl into every
 * ancestor's subtree_control).
 *
 * The contract, for any v1 controller hierarchy (freezer, memory, pids, cpu):
 *  - cgv1_open_own() finds nsreload's own cgroup of that hierarchy. Every
 *    cgroup made here is made below it, never anywhere else.
 *  - cgv1_create() makes a child with libcgroup (cgroup_new_cgroup,
 *    cgroup_add_controller, cgroup_create_cgroup) and holds it by an
 *    O_DIRECTORY fd. Every later step by name (libcgroup knows nothing but
 *    names) first checks that the name still is that fd's directory (same
 *    inode): cgroupfs has no rename, so another inode means ours is gone.
 *  - A process goes in by pid (cgv1_attach_pid: libcgroup's
 *    cgroup_attach_task_pid, which writes "tasks", so one thread: meant for
 *    a fresh single-threaded child) or joins by itself between clone and
 *    exec through cgv1_procs_fd() (no libcgroup in a forked child: it
 *    allocates).
 *  - Values are set with libcgroup (cgroup_add_value_string,
 *    cgroup_modify_cgroup) and read through the fd (cgv1_get).
 *  - cgv1_delete() removes an empty child with cgroup_delete_cgroup_ext
 *    (CGFLAG_DELETE_EMPTY_ONLY: without it libcgroup would move the tasks
 *    into the parent, our own cgroup, which is not ours to write) and then
 *    checks that the directory really went; where it did not, rmdir by fd.
 * Every function returns 0 or -errno; a libcgroup error becomes an errno:
 * ECGOTHER its errno, ECGNONEMPTY EBUSY, "not mounted"/"does not exist"
 * ENOENT, ECGROUPNOTALLOWED EPERM, the rest EIO.
 */
#ifndef NSRELOAD_CGV1_H
#define NSRELOAD_CGV1_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CGV1_CONTROLLER_MAX 32

/* A v1 cgroup: our own one of a hierarchy (cgv1_open_own) or one we made below it. */
struct cgv1_cg {
	char controller[CGV1_CONTROLLER_MAX];
	char mount[PATH_MAX]; /* the hierarchy's mount point */
	char name[PATH_MAX];  /* below the hierarchy's root, "/" for the root: libcgroup's name for it */
	char path[PATH_MAX];  /* mount + name, for messages */
	int fd;               /* O_DIRECTORY, -1 when closed */
};

/* A v1 hierarchy as /proc/self/cgroup and the mounts show it, for doctor and the probe. */
struct cgv1_hier {
	char controllers[128]; /* "cpu,cpuacct", as the kernel lists them */
	char own[PATH_MAX];    /* our own cgroup of it */
	char mount[PATH_MAX];  /* its mount point, "" when not mounted here */
};

/*
 * The v1 hierarchies this process is in (named ones like name=systemd too),
 * up to max, with their mount points. Returns how many, or -errno.
 */
int cgv1_list(struct cgv1_hier *out, int max);

/*
 * Opens our own cgroup of controller's v1 hierarchy: libcgroup finds the
 * mount (cgroup_get_subsys_mount_point) and our place in it
 * (cgroup_get_current_controller_path). -ENOENT when that hierarchy is not
 * mounted (or only through cgroup2), -EMEDIUMTYPE when the path found is not
 * a v1 cgroup directory (a cgroup namespace whose mount root hides ours).
 */
int cgv1_open_own(const char *controller, struct cgv1_cg *own);

/*
 * Opens rel (a path below parent, no "..") as a cgroup of parent's hierarchy:
 * for an existing test parent. -ENOENT when absent.
 */
int cgv1_open_below(const struct cgv1_cg *parent, const char *rel, struct cgv1_cg *out);

/*
 * Creates the child name (one component) of parent with libcgroup and opens
 * it. -EEXIST when the name is taken already (libcgroup's mkdir would take
 * an existing directory as made). The caller that needs to mark it as its
 * own (an flock) checks cgv1_same() after taking the mark.
 */
int cgv1_create(const struct cgv1_cg *parent, const char *name, struct cgv1_cg *out);

/* 0 when parent's child named as cg still is cg's directory; -ESTALE when another, -ENOENT when none. */
int cgv1_same(const struct cgv1_cg *parent, const struct cgv1_cg *cg);

/* Attaches pid (a thread: "tasks") to cg with libcgroup. */
int cgv1_attach_pid(const struct cgv1_cg *cg, pid_t pid);

/* cg's cgroup.procs opened for writing (O_CLOEXEC): a child writes "0" into it to join. */
int cgv1_procs_fd(const struct cgv1_cg *cg);

/* Sets the control file key (e.g. "memory.limit_in_bytes") to value with libcgroup. */
int cgv1_set(const struct cgv1_cg *cg, const char *key, const char *value);

/* Reads the control file key through cg's fd, NUL-terminated, newline cut. Returns the length or -errno. */
ssize_t cgv1_get(const struct cgv1_cg *cg, const char *key, char *buf, size_t size);

/*
 * 1 when cg or a cgroup below it lists a task, 0 when none does (v1 has no
 * "populated" file to read), -errno.
 */
int cgv1_populated(int fd);

/*
 * Removes the empty cgroup cg (child of parent) and closes it: libcgroup's
 * delete, then a check that the directory went, and rmdir by fd where it did
 * not. Cgroups below it are removed first, deepest first, the same way.
 * 0 when gone (already gone, or the name now another's, included), and
 * cg->fd is closed then; -EBUSY while tasks remain (after about 1 s of
 * tries), with cg->fd still open for the caller's next try.
 */
int cgv1_delete(const struct cgv1_cg *parent, struct cgv1_cg *cg);

/* Closes cg's fd (never removes anything). */
void cgv1_close(struct cgv1_cg *cg);

/*
 * The freezer's kill, on cgroupfs through an fd (no libcgroup: the death
 * guard, a fork that never execs, runs it too). One pass: freezer.state
 * FROZEN (waiting, bounded, for the kernel to say FROZEN), SIGKILL to every
 * task of the cgroup and those below it, THAWED. A frozen cgroup cannot
 * fork, so one pass reaches every task that was in it when it froze.
 * Returns 0 when no task is left, 1 when some are (they are dying: read
 * again after a pause), -errno. Needs a freezer cgroup.
 */
int cgv1_freeze_kill_pass(int fd);

/* cgv1_freeze_kill_pass() until no task is left, pausing between passes: -EBUSY after CG_KILL_PASSES. */
int cgv1_freeze_kill_all(int fd);

#endif
