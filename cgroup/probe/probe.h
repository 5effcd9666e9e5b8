/*
 * probe.h - what this host allows, found by trying it.
 *
 * box_probe() runs small real experiments (a cgroup created and removed, a
 * child cloned into it, a namespace opened) and records for each one whether
 * it worked and why not. box_pick_rung() is a pure function of those results,
 * so rung selection is unit-tested with hand-made probes.
 */
#ifndef NSRELOAD_PROBE_H
#define NSRELOAD_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "box.h"
#include "cgfs.h"

struct probe_item {
	bool ok;
	int err;          /* errno of the failure, 0 when ok */
	char detail[512]; /* a human reason or a finding, always filled */
};

struct box_probe {
	char kernel[128];
	bool is_root;       /* euid 0: the pidns rung then makes no user namespace */
	bool cap_sys_admin; /* in the effective set: uid 0 without it is a container's root */
	int seccomp_mode;   /* of this process: 0 none, 1 strict, 2 filter (Docker's profile, a pin) */
	bool is_pid1;
	struct cg_mounts mounts;
	char own_cgroup[4096];               /* from the 0:: line, "" if none */
	char cgroup_dir[4096];               /* where our boxes would go */
	struct probe_item cgroup2;           /* a cgroup2 mount exists */
	struct probe_item cgroup_writable;   /* we can create and remove a child cgroup there */
	struct probe_item cgroup_kill;       /* cgroup.kill exists */
	struct probe_item cgroup_freeze;     /* cgroup.freeze exists (fallback kill) */
	struct probe_item clone_into_cgroup; /* clone3(CLONE_INTO_CGROUP) works */
	struct probe_item pidns;             /* CLONE_NEWPID (as root) works */
	struct probe_item userns;            /* CLONE_NEWUSER|CLONE_NEWPID works */
	struct probe_item seccomp;           /* the setsid/setpgid pin loads */
	struct probe_item subreaper;         /* PR_SET_CHILD_SUBREAPER works */
	struct probe_item pidfd;             /* pidfd_open works */
};

/* cgroup_parent may be NULL (our own cgroup). Always fills every item. */
int box_probe(struct box_probe *p, const char *cgroup_parent);

/* Whether a rung works according to p; why is filled when it does not. */
bool box_rung_works(const struct box_probe *p, enum box_rung rung, char *why, size_t size);

/*
 * Picks the best working rung: cgroup2, cgroup2+pidns is never picked by
 * auto (it is asked for explicitly), pidns, pgroup. why gets one line per
 * skipped rung. Returns 0, or -ENOTSUP if even pgroup does not work.
 */
int box_pick_rung(const struct box_probe *p, enum box_rung *out, char *why, size_t size);

#endif
