/*
 * Rung selection from hand-made probe results: box_pick_rung() and
 * box_rung_works() are pure. And the rung table they read: every rung's ops,
 * and the probe parts a rung given by name needs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "box-internal.h"
#include "box.h"
#include "probe.h"

static void item(struct probe_item *it, bool ok, int err, const char *detail)
{
	it->ok = ok;
	it->err = ok ? 0 : err;
	snprintf(it->detail, sizeof(it->detail), "%s", detail);
}

/* A host where everything works, as root: each test breaks what it is about. */
static struct box_probe *probe_all_ok(void)
{
	struct box_probe *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	strcpy(p->kernel, "6.18.0");
	p->is_root = true;
	p->cap_sys_admin = true;
	p->mounts.mode = CG_MODE_HYBRID;
	strcpy(p->mounts.v2_path, "/sys/fs/cgroup/unified");
	strcpy(p->mounts.v2_root, "/");
	p->mounts.v1_count = 9;
	strcpy(p->own_cgroup, "/");
	strcpy(p->cgroup_dir, "/sys/fs/cgroup/unified");
	item(&p->cgroup2, true, 0, "cgroup2 mounted at /sys/fs/cgroup/unified (hybrid: 9 v1 hierarchies)");
	item(&p->cgroup_writable, true, 0, "can create and remove cgroups in /sys/fs/cgroup/unified");
	item(&p->cgroup_kill, true, 0, "cgroup.kill present");
	item(&p->cgroup_freeze, true, 0, "cgroup.freeze present");
	item(&p->clone_into_cgroup, true, 0, "clone3(CLONE_INTO_CGROUP) works");
	item(&p->pidns, true, 0, "clone(CLONE_NEWPID) works");
	item(&p->userns, true, 0, "clone(CLONE_NEWUSER|CLONE_NEWPID) works");
	item(&p->seccomp, true, 0, "the seccomp pin loads");
	item(&p->subreaper, true, 0, "PR_SET_CHILD_SUBREAPER works");
	item(&p->pidfd, true, 0, "pidfd_open works");
	item(&p->cgroup1, true, 0, "/sys/fs/cgroup/freezer: a cgroup made, frozen, thawed and removed there");
	return p;
}

/* The v1 freezer unusable (a pure cgroup2 host, or not root): what the tests from before cgroup1 assume. */
static void no_cgroup1(struct box_probe *p)
{
	item(&p->cgroup1, false, ENOENT, "no v1 freezer hierarchy of ours is mounted");
}

static void assert_picks(const struct box_probe *p, enum box_rung want, char *why, size_t size)
{
	enum box_rung got = BOX_RUNG_AUTO;

	assert_int_equal(box_pick_rung(p, &got, why, size), 0);
	assert_int_equal(got, want);
}

static void test_everything_works(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024] = "stale";

	(void)state;
	assert_picks(p, BOX_RUNG_CGROUP2, why, sizeof(why));
	assert_string_equal(why, "");
	assert_true(box_rung_works(p, BOX_RUNG_CGROUP2, why, sizeof(why)));
	assert_true(box_rung_works(p, BOX_RUNG_PIDNS, why, sizeof(why)));
	assert_true(box_rung_works(p, BOX_RUNG_CGROUP2_PIDNS, why, sizeof(why)));
	assert_true(box_rung_works(p, BOX_RUNG_PGROUP, why, sizeof(why)));
	assert_true(box_rung_works(p, BOX_RUNG_AUTO, why, sizeof(why)));
	free(p);
}

static void test_cgroup_not_writable_root_gets_pidns(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	strcpy(p->cgroup_dir, "/sys/fs/cgroup/x");
	item(&p->cgroup_writable, false, EACCES, "cannot create a cgroup in /sys/fs/cgroup/x: EACCES");
	/* A hybrid host: the v1 freezer comes next. */
	assert_picks(p, BOX_RUNG_CGROUP1, why, sizeof(why));
	assert_string_equal(why, "cgroup2: skipped: cannot create a cgroup in /sys/fs/cgroup/x: EACCES");
	no_cgroup1(p);
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	assert_string_equal(why, "cgroup2: skipped: cannot create a cgroup in /sys/fs/cgroup/x: EACCES\n"
				 "cgroup1: skipped: no v1 freezer hierarchy of ours is mounted");

	assert_false(box_rung_works(p, BOX_RUNG_CGROUP2, why, sizeof(why)));
	assert_string_equal(why, "cannot create a cgroup in /sys/fs/cgroup/x: EACCES");
	assert_false(box_rung_works(p, BOX_RUNG_CGROUP2_PIDNS, why, sizeof(why)));
	assert_non_null(strstr(why, "EACCES"));
	free(p);
}

static void test_root_ignores_userns(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	no_cgroup1(p);
	/* As root the pidns rung needs no user namespace. */
	item(&p->cgroup_writable, false, EACCES, "cannot create a cgroup in /x: EACCES");
	item(&p->userns, false, ENOSPC, "user namespaces disabled: /proc/sys/user/max_user_namespaces is 0");
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	free(p);
}

static void test_non_root_uses_userns(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	no_cgroup1(p);
	p->is_root = false;
	item(&p->cgroup_writable, false, EACCES, "cannot create a cgroup in /sys/fs/cgroup/unified: EACCES");
	item(&p->pidns, false, EPERM, "clone(CLONE_NEWPID) failed: EPERM");
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	assert_non_null(strstr(why, "cgroup2: skipped: "));
	free(p);
}

/* A user whose manager gave no scope: cgroup2's one reason says both why no cgroup and why no scope. */
static void test_no_scope_says_why_once(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[2048];

	(void)state;
	no_cgroup1(p);
	p->is_root = false;
	item(&p->cgroup_writable, false, EACCES,
	     "cannot create a cgroup in /sys/fs/cgroup/user.slice: EACCES");
	item(&p->pidns, false, EPERM, "clone(CLONE_NEWPID) failed: EPERM");
	p->systemd_asked = true;
	item(&p->systemd_scope, false, ENOENT,
	     "cannot connect to the session bus (/run/user/1000/bus): ENOENT");
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	assert_non_null(
		strstr(why, "cgroup2: skipped: cannot create a cgroup in /sys/fs/cgroup/user.slice: EACCES; "
			    "and no delegated scope from systemd: cannot connect to the session bus"));
	/* Said once: no other skipped rung's line names systemd. */
	assert_null(strstr(strstr(why, "systemd") + 1, "systemd"));
	/* Not asked (a parent given, NSRELOAD_SYSTEMD=0): the scope is not named. */
	p->systemd_asked = false;
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	assert_null(strstr(why, "systemd"));
	free(p);
}

/* With the scope had, the probe's directory is the scope's and cgroup2 works as for any writable one. */
static void test_scope_gets_cgroup2(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	p->is_root = false;
	p->systemd_asked = true;
	item(&p->systemd_scope, true, 0,
	     "nsreload-7.scope from the user manager (session bus), delegated: /x");
	strcpy(p->cgroup_dir,
	       "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/nsreload-7.scope");
	assert_picks(p, BOX_RUNG_CGROUP2, why, sizeof(why));
	assert_string_equal(why, "");
	free(p);
}

static void test_non_root_without_userns_gets_pgroup(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[2048];

	(void)state;
	p->is_root = false;
	item(&p->cgroup_writable, false, EACCES, "cannot create a cgroup in /sys/fs/cgroup/unified: EACCES");
	item(&p->pidns, false, EPERM, "clone(CLONE_NEWPID) failed: EPERM");
	item(&p->userns, false, ENOSPC, "user namespaces disabled: /proc/sys/user/max_user_namespaces is 0");
	item(&p->cgroup1, false, EACCES, "cannot create a cgroup in /sys/fs/cgroup/freezer: EACCES");
	assert_picks(p, BOX_RUNG_PGROUP, why, sizeof(why));
	assert_string_equal(why,
			    "cgroup2: skipped: cannot create a cgroup in /sys/fs/cgroup/unified: EACCES\n"
			    "cgroup1: skipped: cannot create a cgroup in /sys/fs/cgroup/freezer: EACCES\n"
			    "pidns: skipped: not root, and user namespaces disabled: "
			    "/proc/sys/user/max_user_namespaces is 0");

	assert_false(box_rung_works(p, BOX_RUNG_PIDNS, why, sizeof(why)));
	assert_string_equal(
		why, "not root, and user namespaces disabled: /proc/sys/user/max_user_namespaces is 0");
	free(p);
}

static void test_no_kill_but_freeze(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	item(&p->cgroup_kill, false, ENOENT,
	     "cgroup.kill missing: kernel 5.10 < 5.14, the freeze-and-kill loop will be used");
	assert_picks(p, BOX_RUNG_CGROUP2, why, sizeof(why));
	assert_string_equal(why, "");
	assert_true(box_rung_works(p, BOX_RUNG_CGROUP2_PIDNS, why, sizeof(why)));
	free(p);
}

static void test_no_kill_no_freeze(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	no_cgroup1(p);
	item(&p->cgroup_kill, false, ENOENT, "cgroup.kill missing: kernel 5.0 < 5.14");
	item(&p->cgroup_freeze, false, ENOENT, "cgroup.freeze missing: kernel 5.0 < 5.2");
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	assert_non_null(strstr(why, "cgroup2: skipped: "));
	assert_non_null(strstr(why, "cgroup.kill missing"));
	assert_non_null(strstr(why, "cgroup.freeze missing"));
	free(p);
}

static void test_clone_into_cgroup_not_needed(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	/* The rung falls back to writing cgroup.procs. */
	item(&p->clone_into_cgroup, false, ENOSYS, "clone3 missing (ENOSYS)");
	assert_picks(p, BOX_RUNG_CGROUP2, why, sizeof(why));
	free(p);
}

static void test_no_cgroup2_mount(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	item(&p->cgroup2, false, ENOENT, "no cgroup2 mount (legacy: 9 v1 hierarchies only)");
	item(&p->cgroup_writable, false, ENOENT, "no cgroup2 mount to create cgroups in");
	/* A v1-only host: the v1 freezer. */
	assert_picks(p, BOX_RUNG_CGROUP1, why, sizeof(why));
	assert_string_equal(why, "cgroup2: skipped: no cgroup2 mount (legacy: 9 v1 hierarchies only)");
	free(p);
}

static void test_no_pidfd(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[2048];

	(void)state;
	/* Old kernels: the cgroup and pidns rungs both need pidfds, the pgroup rung does not. */
	item(&p->pidfd, false, ENOSYS, "pidfd_open missing (ENOSYS): kernel older than 5.3");
	assert_picks(p, BOX_RUNG_PGROUP, why, sizeof(why));
	assert_string_equal(why, "cgroup2: skipped: pidfd_open missing (ENOSYS): kernel older than 5.3\n"
				 "cgroup1: skipped: pidfd_open missing (ENOSYS): kernel older than 5.3\n"
				 "pidns: skipped: pidfd_open missing (ENOSYS): kernel older than 5.3");
	free(p);
}

static void test_pgroup_without_seccomp(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[2048];

	(void)state;
	no_cgroup1(p);
	p->is_root = false;
	item(&p->cgroup_writable, false, EACCES, "cannot create a cgroup in /x: EACCES");
	item(&p->userns, false, EPERM, "clone(CLONE_NEWUSER) failed: EPERM");
	item(&p->seccomp, false, EINVAL, "the seccomp pin did not load: EINVAL");
	assert_picks(p, BOX_RUNG_PGROUP, why, sizeof(why));
	assert_true(box_rung_works(p, BOX_RUNG_PGROUP, why, sizeof(why)));
	free(p);
}

static void test_nothing_works(void **state)
{
	struct box_probe *p = probe_all_ok();
	enum box_rung got = BOX_RUNG_CGROUP2_PIDNS;
	char why[2048];

	(void)state;
	p->is_root = false;
	item(&p->cgroup2, false, ENOENT, "no cgroup file system is mounted");
	item(&p->pidns, false, EPERM, "clone(CLONE_NEWPID) failed: EPERM");
	item(&p->userns, false, EPERM, "clone(CLONE_NEWUSER) failed: EPERM");
	item(&p->subreaper, false, EINVAL, "PR_SET_CHILD_SUBREAPER failed: EINVAL");
	no_cgroup1(p);
	assert_int_equal(box_pick_rung(p, &got, why, sizeof(why)), -ENOTSUP);
	/* Nothing picked, nothing written. */
	assert_int_equal(got, BOX_RUNG_CGROUP2_PIDNS);
	assert_string_equal(why, "cgroup2: skipped: no cgroup file system is mounted\n"
				 "cgroup1: skipped: no v1 freezer hierarchy of ours is mounted\n"
				 "pidns: skipped: not root, and clone(CLONE_NEWUSER) failed: EPERM\n"
				 "pgroup: skipped: PR_SET_CHILD_SUBREAPER failed: EINVAL");
	assert_false(box_rung_works(p, BOX_RUNG_AUTO, why, sizeof(why)));
	assert_false(box_rung_works(p, BOX_RUNG_PGROUP, why, sizeof(why)));
	assert_string_equal(why, "PR_SET_CHILD_SUBREAPER failed: EINVAL");
	free(p);
}

/* A CI job in a Docker-like container: uid 0 without CAP_SYS_ADMIN, cgroupfs read-only, seccomp. */
static void test_ci_container_gets_pgroup(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[2048];

	(void)state;
	no_cgroup1(p);
	p->cap_sys_admin = false;
	p->seccomp_mode = 2;
	item(&p->cgroup_writable, false, EROFS,
	     "cannot create a cgroup in /sys/fs/cgroup/unified: EROFS: the cgroup file system is mounted "
	     "read-only here (as in a container)");
	item(&p->clone_into_cgroup, false, ENOSYS, "not checked: no probe cgroup could be created");
	item(&p->pidns, false, EPERM,
	     "clone(CLONE_NEWPID) failed: EPERM: uid 0 without CAP_SYS_ADMIN (capabilities dropped, as in "
	     "a container), under a seccomp filter");
	item(&p->userns, false, EPERM,
	     "clone(CLONE_NEWUSER) failed: EPERM: the seccomp filter of this process refuses namespaces "
	     "(as Docker's default profile does)");
	assert_picks(p, BOX_RUNG_PGROUP, why, sizeof(why));
	assert_string_equal(why,
			    "cgroup2: skipped: cannot create a cgroup in /sys/fs/cgroup/unified: EROFS: the "
			    "cgroup file system is mounted read-only here (as in a container)\n"
			    "cgroup1: skipped: no v1 freezer hierarchy of ours is mounted\n"
			    "pidns: skipped: no CAP_SYS_ADMIN, and clone(CLONE_NEWUSER) failed: EPERM: the "
			    "seccomp filter of this process refuses namespaces (as Docker's default profile "
			    "does)");
	/* The pin still loads on top of the container's filter. */
	assert_true(p->seccomp.ok);
	free(p);
}

/* A non-root user with a delegated subtree: cgroup2 needs no root. */
static void test_delegated_non_root_gets_cgroup2(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024] = "stale";

	(void)state;
	p->is_root = false;
	p->cap_sys_admin = false;
	strcpy(p->own_cgroup, "/user.slice/user-1000.slice/user@1000.service/app.slice");
	item(&p->pidns, false, EPERM, "clone(CLONE_NEWPID) failed: EPERM (needs root)");
	assert_picks(p, BOX_RUNG_CGROUP2, why, sizeof(why));
	assert_string_equal(why, "");
	/* Without root the pidns rung goes through the user namespace, which works here. */
	assert_true(box_rung_works(p, BOX_RUNG_PIDNS, why, sizeof(why)));
	free(p);
}

static void test_auto_never_picks_both(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	/* Even where cgroup2+pidns works, auto takes plain cgroup2; cgroup2+pidns is asked for. */
	assert_true(box_rung_works(p, BOX_RUNG_CGROUP2_PIDNS, why, sizeof(why)));
	assert_picks(p, BOX_RUNG_CGROUP2, why, sizeof(why));
	item(&p->cgroup_writable, false, EROFS, "cannot create a cgroup in /x: EROFS");
	assert_picks(p, BOX_RUNG_CGROUP1, why, sizeof(why));
	/* Nor cgroup1+pidns, where cgroup1 works. */
	assert_true(box_rung_works(p, BOX_RUNG_CGROUP1_PIDNS, why, sizeof(why)));
	no_cgroup1(p);
	assert_picks(p, BOX_RUNG_PIDNS, why, sizeof(why));
	free(p);
}

static void test_both_needs_both(void **state)
{
	struct box_probe *p = probe_all_ok();
	char why[1024];

	(void)state;
	item(&p->pidns, false, EPERM,
	     "clone(CLONE_NEWPID) failed: EPERM (a seccomp profile or an LSM forbids it)");
	assert_true(box_rung_works(p, BOX_RUNG_CGROUP2, why, sizeof(why)));
	assert_false(box_rung_works(p, BOX_RUNG_CGROUP2_PIDNS, why, sizeof(why)));
	assert_non_null(strstr(why, "CLONE_NEWPID"));
	free(p);
}

static void test_why_bounds(void **state)
{
	struct box_probe *p = probe_all_ok();
	enum box_rung got;
	char why[16];

	(void)state;
	item(&p->cgroup_writable, false, EACCES, "cannot create a cgroup in /a/very/long/path: EACCES");
	assert_int_equal(box_pick_rung(p, &got, why, sizeof(why)), 0);
	assert_int_equal(got, BOX_RUNG_CGROUP1);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_memory_equal(why, "cgroup2: skippe", sizeof(why));
	/* No room for a reason at all is fine too. */
	assert_int_equal(box_pick_rung(p, &got, NULL, 0), 0);
	assert_false(box_rung_works(p, BOX_RUNG_CGROUP2, NULL, 0));
	free(p);
}

/* Every rung but auto has a table entry whose ops can do the whole contract; names round-trip. */
static void test_table_is_complete(void **state)
{
	enum box_rung back;

	(void)state;
	assert_null(box_rung_def(BOX_RUNG_AUTO));
	assert_null(box_rung_def((enum box_rung)99));
	assert_string_equal(box_rung_name((enum box_rung)99), "?");
	for (enum box_rung r = BOX_RUNG_AUTO + 1; box_rung_def(r); r++) {
		const struct box_rung_def *d = box_rung_def(r);

		assert_string_equal(box_rung_name(r), d->name);
		assert_int_equal(box_rung_parse(d->name, &back), 0);
		assert_int_equal(back, r);
		for (int i = 0; i < BOX_OPS_PER_RUNG && d->ops[i]; i++) {
			assert_non_null(d->ops[i]->works);
			assert_non_null(d->ops[i]->kill);
			assert_int_not_equal(d->ops[i]->probe_parts, 0);
		}
		/* The last op starts and signals the processes. */
		for (int i = BOX_OPS_PER_RUNG - 1; i >= 0; i--) {
			if (!d->ops[i])
				continue;
			assert_non_null(d->ops[i]->spawn);
			assert_non_null(d->ops[i]->signal_all);
			break;
		}
	}
	assert_int_equal(box_rung_parse("cgroup3", &back), -EINVAL);
}

/* cgroup2+pidns is composed of the two rungs' ops, and works exactly when both do. */
static void test_both_is_composed(void **state)
{
	const struct box_rung_def *both = box_rung_def(BOX_RUNG_CGROUP2_PIDNS);

	(void)state;
	assert_ptr_equal(both->ops[0], box_rung_def(BOX_RUNG_CGROUP2)->ops[0]);
	assert_ptr_equal(both->ops[1], box_rung_def(BOX_RUNG_PIDNS)->ops[0]);
	assert_false(both->in_auto);
	both = box_rung_def(BOX_RUNG_CGROUP1_PIDNS);
	assert_ptr_equal(both->ops[0], box_rung_def(BOX_RUNG_CGROUP1)->ops[0]);
	assert_ptr_equal(both->ops[1], box_rung_def(BOX_RUNG_PIDNS)->ops[0]);
	assert_false(both->in_auto);
	assert_int_equal(box_rung_next_auto(BOX_RUNG_AUTO), BOX_RUNG_CGROUP2);
	/* auto's order: cgroup2, cgroup1, pidns, pgroup. */
	assert_int_equal(box_rung_next_auto(BOX_RUNG_CGROUP2), BOX_RUNG_CGROUP1);
	assert_int_equal(box_rung_next_auto(BOX_RUNG_CGROUP1), BOX_RUNG_PIDNS);
	assert_int_equal(box_rung_next_auto(BOX_RUNG_PIDNS), BOX_RUNG_PGROUP);
	assert_int_equal(box_rung_next_auto(BOX_RUNG_PGROUP), BOX_RUNG_AUTO);
}

/* A rung given by name probes only what its works() reads; auto probes everything. */
static void test_probe_parts_of_rungs(void **state)
{
	(void)state;
	assert_int_equal(box_rung_probe_parts(BOX_RUNG_AUTO), BOX_PROBE_ALL);
	assert_int_equal(box_rung_probe_parts(BOX_RUNG_CGROUP2), BOX_PROBE_CGROUP | BOX_PROBE_PIDFD);
	assert_int_equal(box_rung_probe_parts(BOX_RUNG_PIDNS), BOX_PROBE_NS_USED | BOX_PROBE_PIDFD);
	assert_int_equal(box_rung_probe_parts(BOX_RUNG_CGROUP2_PIDNS),
			 BOX_PROBE_CGROUP | BOX_PROBE_NS_USED | BOX_PROBE_PIDFD);
	assert_int_equal(box_rung_probe_parts(BOX_RUNG_PGROUP), BOX_PROBE_SUBREAPER);
	assert_int_equal(box_rung_probe_parts(BOX_RUNG_CGROUP1), BOX_PROBE_CGROUP1 | BOX_PROBE_PIDFD);
}

/* The pgroup rung's probe: one child that becomes a subreaper, no cgroup, no namespace. */
static void test_probe_only_the_parts_asked(void **state)
{
	struct box_probe *p = calloc(1, sizeof(*p));

	(void)state;
	assert_non_null(p);
	assert_int_equal(box_probe_parts(p, NULL, box_rung_probe_parts(BOX_RUNG_PGROUP)), 0);
	assert_string_equal(p->cgroup_dir, "");
	assert_false(p->cgroup2.ok);
	assert_string_equal(p->cgroup_writable.detail, "not checked: not needed by the rung asked for");
	assert_string_equal(p->pidns.detail, "not checked: not needed by the rung asked for");
	assert_string_equal(p->userns.detail, "not checked: not needed by the rung asked for");
	assert_string_equal(p->seccomp.detail, "not checked: not needed by the rung asked for");
	assert_string_not_equal(p->subreaper.detail, "not checked: not needed by the rung asked for");
	/* The facts are always there. */
	assert_string_not_equal(p->kernel, "");
	free(p);
}

/* One answer to "does a PID namespace of ours need a user namespace", for the probe and the rung. */
static void test_wants_userns(void **state)
{
	struct box_probe *p = probe_all_ok();

	(void)state;
	assert_false(box_probe_wants_userns(p));
	p->cap_sys_admin = false;
	assert_true(box_probe_wants_userns(p));
	p->is_root = false;
	assert_true(box_probe_wants_userns(p));
	free(p);
}

/* Issue 13: which rungs end their boxes when the supervisor is SIGKILLed, and how doctor says it. */
static void test_dies_with_supervisor(void **state)
{
	struct box_probe *p = probe_all_ok();
	char how[1024];

	(void)state;
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_CGROUP2, how, sizeof(how)));
	assert_non_null(strstr(how, "guard"));
	assert_non_null(strstr(how, "cgroup.kill"));
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_PIDNS, how, sizeof(how)));
	assert_non_null(strstr(how, "PID namespace"));
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_CGROUP2_PIDNS, how, sizeof(how)));
	assert_false(box_rung_dies_with_supervisor(p, BOX_RUNG_PGROUP, how, sizeof(how)));
	assert_non_null(strstr(how, "Delegate=yes"));
	/* Before 5.14 the guard takes the freeze-and-kill loop, and says so. */
	item(&p->cgroup_kill, false, ENOENT, "no cgroup.kill");
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_CGROUP2, how, sizeof(how)));
	assert_non_null(strstr(how, "freeze-and-kill"));
	/* cgroup1: the guard runs the v1 freezer loop over the context directory. */
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_CGROUP1, how, sizeof(how)));
	assert_non_null(strstr(how, "guard"));
	assert_non_null(strstr(how, "freezer"));
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_CGROUP1_PIDNS, how, sizeof(how)));
	assert_false(box_rung_dies_with_supervisor(p, BOX_RUNG_AUTO, how, sizeof(how)));
	assert_true(box_rung_dies_with_supervisor(p, BOX_RUNG_CGROUP2, NULL, 0));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_everything_works),
		cmocka_unit_test(test_cgroup_not_writable_root_gets_pidns),
		cmocka_unit_test(test_root_ignores_userns),
		cmocka_unit_test(test_non_root_uses_userns),
		cmocka_unit_test(test_non_root_without_userns_gets_pgroup),
		cmocka_unit_test(test_no_scope_says_why_once),
		cmocka_unit_test(test_scope_gets_cgroup2),
		cmocka_unit_test(test_no_kill_but_freeze),
		cmocka_unit_test(test_no_kill_no_freeze),
		cmocka_unit_test(test_clone_into_cgroup_not_needed),
		cmocka_unit_test(test_no_cgroup2_mount),
		cmocka_unit_test(test_no_pidfd),
		cmocka_unit_test(test_pgroup_without_seccomp),
		cmocka_unit_test(test_nothing_works),
		cmocka_unit_test(test_ci_container_gets_pgroup),
		cmocka_unit_test(test_delegated_non_root_gets_cgroup2),
		cmocka_unit_test(test_auto_never_picks_both),
		cmocka_unit_test(test_both_needs_both),
		cmocka_unit_test(test_why_bounds),
		cmocka_unit_test(test_table_is_complete),
		cmocka_unit_test(test_both_is_composed),
		cmocka_unit_test(test_probe_parts_of_rungs),
		cmocka_unit_test(test_probe_only_the_parts_asked),
		cmocka_unit_test(test_wants_userns),
		cmocka_unit_test(test_dies_with_supervisor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
