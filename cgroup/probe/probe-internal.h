/*
 * probe-internal.h - what the parts of the probe share. Nothing outside
 * cgroup/probe/ includes this; probe.h is the contract.
 *
 *   probe.c    the host facts, which parts run, and the helpers below that
 *              fill an item
 *   cgroup.c   the cgroup experiments: the mount, our own cgroup, a probe
 *              cgroup made, looked into, cloned into, joined and removed
 *   cgroup1.c  the cgroup v1 experiments (through cgv1.h): a child made,
 *              frozen, thawed and removed below our own freezer cgroup
 *   process.c  the process experiments, each in a forked child: PID and user
 *              namespaces, the seccomp pin, the subreaper, and pidfd_open
 */
#ifndef NSRELOAD_PROBE_INTERNAL_H
#define NSRELOAD_PROBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

/* What a forked experiment sends back: which step failed and with which errno. */
struct child_report {
	int step;
	int err;
	int signo; /* set by the parent when the child died without a report */
};

/* probe.c: filling an item, and what the descriptions draw on. */
const char *probe_errno_name(int err);
void probe_item_set(struct probe_item *it, bool ok, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void probe_item_set_child_failure(struct probe_item *it, const char *what, int r,
				  const struct child_report *rep);
bool probe_kernel_version(const char *release, unsigned *major, unsigned *minor);
bool probe_kernel_before(const char *release, unsigned major, unsigned minor);
int probe_read_proc_file(const char *path, char **out);
void probe_describe_clone3_enosys(const struct box_probe *p, char *buf, size_t size);

/* process.c: running an experiment in a child, and the process parts. */
int probe_clone3_exit_and_reap(uint64_t flags, int cgroup_fd);
int probe_run_in_child(void (*fn)(const void *arg, struct child_report *rep), const void *arg,
		       struct child_report *rep);
void probe_pidns(struct box_probe *p);
void probe_userns(struct box_probe *p);
void probe_seccomp(struct box_probe *p);
void probe_subreaper(struct box_probe *p);
void probe_pidfd(struct box_probe *p);

/* cgroup1.c: the v1 hierarchies listed, the freezer tried (each hierarchy tried too with each). */
void probe_cgroup1(struct box_probe *p, bool each);

/* cgroup.c: the cgroup part; fills cgroup2, cgroup_writable and what a probe cgroup tells. */
void probe_cgroup(struct box_probe *p, const char *cgroup_parent);

#endif
