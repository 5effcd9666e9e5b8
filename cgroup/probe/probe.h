/*
 * probe.h - what this host allows, found by trying it.
 *
 * box_probe() runs small real experiments (a cgroup created and removed, a
 * child cloned into it, a namespace opened) and records for each one whether
 * it worked and why not. Which rung works, and which auto picks, is a pure
 * function of those results (box_rung_works() and box_pick_rung() in box.h),
 * so rung selection is unit-tested with hand-made probes.
 *
 * The probe sits below the box library: it knows nothing of rungs. A box
 * context runs it once and keeps the result, which the rungs read instead of
 * asking the host again.
 */
#ifndef NSRELOAD_PROBE_H
#define NSRELOAD_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "cgfs.h"

/*
 * The paths of nsreload's cgroups, which the probe must check a cgroup parent
 * against. The context directory is <parent>/nsreload.<pid>.<16 hex digits>:
 * the random part keeps apart supervisors with the same pid in different PID
 * namespaces that share a cgroup parent. At most this long:
 */
#define BOX_CTX_NAME_MAX (sizeof("nsreload.") - 1 + 10 + 1 + 16)
/* Box names (<kind>.<n>) are shorter than this, with their NUL. */
#define BOX_NAME_SIZE 64
/*
 * The longest cgroup parent path: <parent>/<context>/<box> must fit in
 * PATH_MAX, so that every path we keep or print is whole and can be opened.
 */
#define BOX_CGROUP_PARENT_MAX (PATH_MAX - 1 - BOX_CTX_NAME_MAX - 1 - BOX_NAME_SIZE)

struct probe_item {
	bool ok;
	int err;          /* errno of the failure, 0 when ok */
	char detail[512]; /* a human reason or a finding, always filled */
};

/* The cgroup v1 hierarchies doctor lists, at most. */
#define BOX_PROBE_V1_MAX 16

/* One cgroup v1 hierarchy this process is in (BOX_PROBE_CGROUP1). */
struct probe_v1 {
	char controllers[128];   /* "cpu,cpuacct", "name=systemd": as long as cgv1_hier's */
	char path[512];          /* our own cgroup of it (mount + path), or the path alone when not mounted */
	struct probe_item works; /* BOX_PROBE_CGROUP1_EACH: a child can be made and removed below ours */
};

struct box_probe {
	char kernel[128];
	bool is_root;       /* euid 0: the pidns rung then makes no user namespace */
	bool cap_sys_admin; /* in the effective set (CapEff): uid 0 without it is a container's root */
	int seccomp_mode;   /* of this process: 0 none, 1 strict, 2 filter (Docker's profile, a pin) */
	bool is_pid1;
	bool hide_cgroup_kill; /* NSRELOAD_HIDE_CGROUP_KILL=1: tests take the freeze-and-kill loop */
	struct cg_mounts mounts;
	char own_cgroup[4096];               /* from the 0:: line, "" if none */
	char cgroup_dir[4096];               /* where our boxes would go */
	struct probe_item cgroup2;           /* a cgroup2 mount exists */
	struct probe_item cgroup_writable;   /* we can create and remove a child cgroup there */
	struct probe_item cgroup_kill;       /* cgroup.kill exists */
	struct probe_item cgroup_freeze;     /* cgroup.freeze exists (fallback kill) */
	struct probe_item clone_into_cgroup; /* clone3(CLONE_INTO_CGROUP) works */
	/*
	 * A delegated scope from systemd (cgroup/systemd/scope.h), asked for
	 * when not root and no cgroup can be made in our own (the user manager),
	 * or first as root where systemd runs the host (the system manager);
	 * never with a cgroup parent given or NSRELOAD_SYSTEMD=0. When had, this
	 * process has moved into its leaf and cgroup_dir is the scope.
	 */
	struct probe_item systemd_scope;
	char systemd_unit[40];       /* nsreload-<pid>.scope when had */
	bool systemd_asked;          /* a manager was asked (systemd_scope says what it answered) */
	struct probe_item pidns;     /* CLONE_NEWPID (as root) works */
	struct probe_item userns;    /* CLONE_NEWUSER|CLONE_NEWPID works */
	struct probe_item seccomp;   /* the setsid/setpgid pin loads */
	struct probe_item subreaper; /* PR_SET_CHILD_SUBREAPER works */
	struct probe_item pidfd;     /* pidfd_open works */
	/* cgroup v1 (BOX_PROBE_CGROUP1): */
	char cgroup1_parent[256];  /* $NSRELOAD_CGROUP1_PARENT: a path below our own cgroup of each v1
				      hierarchy */
	char cgroup1_dir[4096];    /* the v1 freezer cgroup the cgroup1 rung's contexts go in */
	struct probe_item cgroup1; /* there, a child is made, frozen, thawed and removed (libcgroup) */
	int v1_count;
	struct probe_v1 v1[BOX_PROBE_V1_MAX];
};

/*
 * The parts of the probe, each one experiment or a few; the facts (kernel,
 * credentials, seccomp mode, NSRELOAD_HIDE_CGROUP_KILL) are always read.
 */
enum {
	BOX_PROBE_CGROUP =
		1 << 0, /* cgroup2, cgroup_writable, cgroup_kill, cgroup_freeze, clone_into_cgroup */
	BOX_PROBE_PIDNS = 1 << 1,   /* pidns: forks a child that makes a PID namespace */
	BOX_PROBE_USERNS = 1 << 2,  /* userns: forks a child that makes a user and PID namespace */
	BOX_PROBE_NS_USED = 1 << 3, /* whichever of the two box_probe_wants_userns() says a pidns box uses */
	BOX_PROBE_SECCOMP = 1 << 4, /* seccomp: forks a child that loads the pin */
	BOX_PROBE_SUBREAPER = 1 << 5, /* subreaper: forks a child that becomes one */
	BOX_PROBE_PIDFD = 1 << 6,     /* pidfd */
	BOX_PROBE_CGROUP1 = 1 << 7,   /* the v1 hierarchies listed, cgroup1: the freezer tried */
	BOX_PROBE_ALL = (1 << 8) - 1,
	/* Not in ALL (doctor asks for it): a child made and removed in each v1 hierarchy, v1[].works. */
	BOX_PROBE_CGROUP1_EACH = 1 << 8,
};

/*
 * Probes the parts asked for; the items of the others say "not checked".
 * cgroup_parent may be NULL (our own cgroup). Returns 0 or -EINVAL.
 */
int box_probe_parts(struct box_probe *p, const char *cgroup_parent, unsigned parts);
/* Every part: what doctor reports and auto chooses from. */
int box_probe(struct box_probe *p, const char *cgroup_parent);

/*
 * Whether the host's sysctls let a non-root user make user namespaces
 * (user.max_user_namespaces, Debian's kernel.unprivileged_userns_clone,
 * AppArmor's kernel.apparmor_restrict_unprivileged_userns): why says which
 * and what it is set to, fix the one command that would allow them ("" when
 * they are). A fact, not an experiment: the userns item says what a try did.
 */
bool box_probe_userns_policy(char *why, size_t why_size, char *fix, size_t fix_size);

/* Whether a PID namespace made by us needs a user namespace too: not root, or root without CAP_SYS_ADMIN. */
bool box_probe_wants_userns(const struct box_probe *p);

#endif
