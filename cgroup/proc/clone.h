/*
 * clone.h - the one way the box library creates a process: clone3 with a
 * pidfd, into a cgroup or a new namespace, with the fallbacks hosts need.
 * The rungs spawn with it and the probe tries it, so that a failure in the
 * probe is the very failure a rung would meet.
 */
#ifndef NSRELOAD_CLONE_H
#define NSRELOAD_CLONE_H

#include <stdint.h>
#include <sys/types.h>

/*
 * clone3 with CLONE_PIDFD plus flags, into cgroup_fd when >= 0. Returns 0 in
 * the child, the pid in the parent (with *pidfd set), -errno on failure.
 * Where clone3 answers ENOSYS (Docker's seccomp profile) it falls back to
 * clone with the same namespace flags, or to fork and pidfd_open without
 * them; never when cgroup_fd is asked for, since a fallback there would start
 * the child outside the cgroup.
 */
pid_t proc_clone(uint64_t flags, int cgroup_fd, int *pidfd);

#endif
