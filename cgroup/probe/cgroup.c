/*
 * The cgroup experiments: where cgroup2 is mounted, which cgroup is ours and
 * where our boxes would go, and a probe cgroup made there, looked into
 * (cgroup.kill, cgroup.freeze), cloned into or joined, and removed.
 */
#define _GNU_SOURCE
#include "probe-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "scope.h"

/* A probe cgroup name taken by someone else is tried with these many suffixes. */
#define PROBE_NAME_TRIES 16

/* Appends to a NUL-terminated message; truncation is fine for a message. */
static void msg_append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void msg_append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!buf || size == 0)
		return;
	len = strnlen(buf, size);
	if (len >= size - 1)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void probe_mounts(struct box_probe *p)
{
	char *text = NULL;
	int r;

	r = probe_read_proc_file("/proc/self/mountinfo", &text);
	if (r == 0)
		r = cg_parse_mountinfo(text, &p->mounts);
	free(text);
	if (r == -ENAMETOOLONG) {
		probe_item_set(&p->cgroup2, false, -r,
			       "a cgroup2 mount point in /proc/self/mountinfo is too long");
		return;
	}
	if (r < 0 && r != -ENOENT) {
		probe_item_set(&p->cgroup2, false, -r, "cannot read /proc/self/mountinfo: %s",
			       probe_errno_name(-r));
		return;
	}
	switch (p->mounts.mode) {
	case CG_MODE_NONE:
		probe_item_set(&p->cgroup2, false, ENOENT, "no cgroup file system is mounted");
		break;
	case CG_MODE_LEGACY:
		probe_item_set(&p->cgroup2, false, ENOENT,
			       "no cgroup2 mount (legacy: %d v1 hierarchies only)", p->mounts.v1_count);
		break;
	case CG_MODE_HYBRID:
		probe_item_set(&p->cgroup2, true, 0, "cgroup2 mounted at %s (hybrid: %d v1 hierarchies)",
			       p->mounts.v2_path, p->mounts.v1_count);
		break;
	case CG_MODE_UNIFIED:
		probe_item_set(&p->cgroup2, true, 0, "cgroup2 mounted at %s (unified)", p->mounts.v2_path);
		break;
	}
	/* Inside a container without a cgroup namespace the mount shows only a subtree. */
	if (p->cgroup2.ok && strcmp(p->mounts.v2_root, "/") != 0)
		msg_append(p->cgroup2.detail, sizeof(p->cgroup2.detail),
			   "; the mount shows %s of the hierarchy", p->mounts.v2_root);
}

/* Fills own_cgroup and cgroup_dir; on failure explains it in cgroup_writable and returns -errno. */
static int probe_cgroup_dir(struct box_probe *p, const char *cgroup_parent)
{
	char *text = NULL;
	int r;

	r = probe_read_proc_file("/proc/self/cgroup", &text);
	if (r == 0)
		r = cg_parse_proc_cgroup(text, p->own_cgroup, sizeof(p->own_cgroup));
	free(text);
	if (r < 0)
		p->own_cgroup[0] = '\0';

	if (cgroup_parent && cgroup_parent[0]) {
		/* Checked before anything is tried there, so that a parent we cannot use sees no probe
		 * cgroup. */
		if (strlen(cgroup_parent) > BOX_CGROUP_PARENT_MAX) {
			probe_item_set(
				&p->cgroup_writable, false, ENAMETOOLONG,
				"the cgroup parent (--cgroup-parent, $NSRELOAD_CGROUP_PARENT or "
				"box.cgroup_parent) is too long: %zu bytes, at most %zu fit, so that the "
				"paths "
				"of the boxes below it fit in PATH_MAX",
				strlen(cgroup_parent), (size_t)BOX_CGROUP_PARENT_MAX);
			return -ENAMETOOLONG;
		}
		strcpy(p->cgroup_dir, cgroup_parent);
		return 0;
	}
	if (!p->cgroup2.ok) {
		probe_item_set(&p->cgroup_writable, false, ENOENT, "no cgroup2 mount to create cgroups in");
		return -ENOENT;
	}
	if (r == -ENOENT) {
		probe_item_set(&p->cgroup_writable, false, ENOENT,
			       "/proc/self/cgroup has no 0:: line: this process is in no cgroup2 cgroup");
		return r;
	}
	if (r < 0) {
		probe_item_set(&p->cgroup_writable, false, -r,
			       "cannot read our own cgroup from /proc/self/cgroup: %s", probe_errno_name(-r));
		return r;
	}
	r = cg_join_own_dir(&p->mounts, p->own_cgroup, p->cgroup_dir, sizeof(p->cgroup_dir));
	if (r == 0 && strlen(p->cgroup_dir) > BOX_CGROUP_PARENT_MAX)
		r = -ENAMETOOLONG;
	if (r == -ENAMETOOLONG)
		probe_item_set(
			&p->cgroup_writable, false, ENAMETOOLONG,
			"the path of our cgroup under %s is too long for boxes below it (at most %zu bytes); "
			"use --cgroup-parent",
			p->mounts.v2_path, (size_t)BOX_CGROUP_PARENT_MAX);
	else if (r == -EXDEV)
		probe_item_set(&p->cgroup_writable, false, EXDEV,
			       "our cgroup %s is outside what the cgroup2 mount at %s shows (%s); use "
			       "--cgroup-parent",
			       p->own_cgroup, p->mounts.v2_path, p->mounts.v2_root);
	else if (r < 0)
		probe_item_set(&p->cgroup_writable, false, -r, "cannot place our cgroup %s under %s: %s",
			       p->own_cgroup, p->mounts.v2_path, probe_errno_name(-r));
	if (r < 0)
		p->cgroup_dir[0] = '\0';
	return r;
}

/*
 * Creates the probe cgroup. The name carries our pid; a taken name (left by
 * a crashed prober, or a twin in another PID namespace) is not ours to
 * remove, so a suffix is tried instead.
 */
static int make_probe_cgroup(int dirfd, char *name, size_t size)
{
	for (int i = 0; i < PROBE_NAME_TRIES; i++) {
		if (i == 0)
			snprintf(name, size, "nsreload-probe.%d", (int)getpid());
		else
			snprintf(name, size, "nsreload-probe.%d.%d", (int)getpid(), i);
		if (mkdirat(dirfd, name, 0755) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* 0 when the control file exists and we may write it, else -errno (-ENOENT: missing). */
static int control_file_usable(int dirfd, const char *name)
{
	if (faccessat(dirfd, name, F_OK, AT_EACCESS) < 0)
		return -errno;
	if (faccessat(dirfd, name, W_OK, AT_EACCESS) < 0)
		return -errno;
	return 0;
}

static void describe_kill_files(struct box_probe *p, int kill_r, int freeze_r)
{
	unsigned major = 0, minor = 0;
	bool known = probe_kernel_version(p->kernel, &major, &minor);
	const char *fallback = freeze_r == 0 ? "the freeze-and-kill loop will be used"
					     : "and there is no cgroup.freeze for the fallback either";

	if (freeze_r == 0)
		probe_item_set(&p->cgroup_freeze, true, 0, "cgroup.freeze present");
	else if (freeze_r == -ENOENT && known && probe_kernel_before(p->kernel, 5, 2))
		probe_item_set(&p->cgroup_freeze, false, ENOENT, "cgroup.freeze missing: kernel %u.%u < 5.2",
			       major, minor);
	else if (freeze_r == -ENOENT)
		probe_item_set(&p->cgroup_freeze, false, ENOENT,
			       "cgroup.freeze missing in a fresh cgroup under %s", p->cgroup_dir);
	else
		probe_item_set(&p->cgroup_freeze, false, -freeze_r, "cgroup.freeze is not writable: %s",
			       probe_errno_name(-freeze_r));

	if (kill_r == 0 && p->hide_cgroup_kill)
		probe_item_set(&p->cgroup_kill, false, ENOENT,
			       "cgroup.kill hidden by NSRELOAD_HIDE_CGROUP_KILL=1 (it is present): %s",
			       fallback);
	else if (kill_r == 0)
		probe_item_set(&p->cgroup_kill, true, 0,
			       "cgroup.kill present: a box is killed with one write");
	else if (kill_r == -ENOENT && known && probe_kernel_before(p->kernel, 5, 14))
		probe_item_set(&p->cgroup_kill, false, ENOENT, "cgroup.kill missing: kernel %u.%u < 5.14, %s",
			       major, minor, fallback);
	else if (kill_r == -ENOENT)
		probe_item_set(&p->cgroup_kill, false, ENOENT,
			       "cgroup.kill missing in a fresh cgroup under %s, %s", p->cgroup_dir, fallback);
	else
		probe_item_set(&p->cgroup_kill, false, -kill_r, "cgroup.kill is not writable: %s, %s",
			       probe_errno_name(-kill_r), fallback);
}

static void describe_clone_into_cgroup(struct box_probe *p, int r)
{
	const char *fallback = "a box is joined by writing cgroup.procs instead";

	if (r == 0)
		probe_item_set(&p->clone_into_cgroup, true, 0,
			       "clone3(CLONE_INTO_CGROUP) placed a child in a fresh cgroup");
	else if (r == -ENOSYS) {
		char why[384];

		probe_describe_clone3_enosys(p, why, sizeof(why));
		probe_item_set(&p->clone_into_cgroup, false, ENOSYS, "%s; %s", why, fallback);
	} else if ((r == -EINVAL || r == -E2BIG) && probe_kernel_before(p->kernel, 5, 7))
		probe_item_set(&p->clone_into_cgroup, false, -r,
			       "clone3(CLONE_INTO_CGROUP) failed: %s (kernel older than 5.7); %s",
			       probe_errno_name(-r), fallback);
	else if (r == -EPROTO)
		probe_item_set(&p->clone_into_cgroup, false, EPROTO,
			       "the child cloned into a fresh cgroup did not exit cleanly");
	else
		probe_item_set(&p->clone_into_cgroup, false, -r, "clone3(CLONE_INTO_CGROUP) failed: %s; %s",
			       probe_errno_name(-r), fallback);
}

/* Why no cgroup could be made where our boxes would go. */
static void describe_mkdir_failure(struct box_probe *p, int dirfd, int err)
{
	struct stat st;

	if (err == EROFS)
		probe_item_set(
			&p->cgroup_writable, false, err,
			"cannot create a cgroup in %s: EROFS: the cgroup file system is mounted read-only "
			"here (as in a container)",
			p->cgroup_dir);
	else if ((err == EACCES || err == EPERM) && !p->is_root && fstat(dirfd, &st) == 0 &&
		 st.st_uid != geteuid())
		probe_item_set(
			&p->cgroup_writable, false, err,
			"cannot create a cgroup in %s: %s: not root, and the directory belongs to uid %u, "
			"not to us (uid %u): no delegated subtree here",
			p->cgroup_dir, probe_errno_name(err), (unsigned)st.st_uid, (unsigned)geteuid());
	else
		probe_item_set(&p->cgroup_writable, false, err, "cannot create a cgroup in %s: %s",
			       p->cgroup_dir, probe_errno_name(err));
}

/* The fallback to CLONE_INTO_CGROUP: a forked child writes itself into the probe cgroup's cgroup.procs. */
static void try_join_cgroup(const void *arg, struct child_report *rep)
{
	int fd = openat(*(const int *)arg, "cgroup.procs", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "0", 1) != 1)
		rep->err = errno;
	if (fd >= 0)
		close(fd);
}

/*
 * Moving a process from our cgroup into a box needs write access to
 * cgroup.procs of their common ancestor, for clone3(CLONE_INTO_CGROUP) and
 * the write fallback alike.
 */
static void explain_procs_denied(char *buf, size_t size, const char *parent, const char *own,
				 const char *file, int err)
{
	char msg[1600];
	size_t n;

	snprintf(msg, sizeof(msg),
		 "no process can be put into a box under %.400s: moving one from nsreload's cgroup "
		 "%.400s needs write access to %.400s (their common ancestor), and uid %d has none (%s). "
		 "When delegating a cgroup, chown its cgroup.procs too (the files in "
		 "/sys/kernel/cgroup/delegate), or use --box=pidns",
		 parent, own, file, (int)geteuid(), strerror(err));
	/* A message may be cut short; the paths come first, so they survive. */
	n = strnlen(msg, size - 1);
	memcpy(buf, msg, n);
	buf[n] = '\0';
}

/*
 * Whether a process can be moved into a fresh cgroup at all, when clone3
 * could not place one there. A delegation that chowned the directory but not
 * cgroup.procs of the common ancestor lets us create cgroups and put nothing
 * in them: the cgroup rungs cannot work, whatever mkdir says.
 */
static int probe_join_cgroup(struct box_probe *p, int childfd)
{
	char own[4096], file[4096 + 16];
	struct child_report rep;
	size_t cut;
	int r = probe_run_in_child(try_join_cgroup, &childfd, &rep);

	if (r == 0)
		r = -rep.err;
	if (r == 0)
		return 0;
	if (cg_join_own_dir(&p->mounts, p->own_cgroup, own, sizeof(own)) == 0 &&
	    (cut = cg_common_ancestor_len(own, p->cgroup_dir)) > 0) {
		snprintf(file, sizeof(file), "%.*s/cgroup.procs", (int)cut, own);
		explain_procs_denied(p->cgroup_writable.detail, sizeof(p->cgroup_writable.detail),
				     p->cgroup_dir, own, file, -r);
	} else {
		snprintf(p->cgroup_writable.detail, sizeof(p->cgroup_writable.detail),
			 "no process can be put into a box under %.400s: writing cgroup.procs failed: %s",
			 p->cgroup_dir, probe_errno_name(-r));
	}
	p->cgroup_writable.ok = false;
	p->cgroup_writable.err = -r;
	return r;
}

/* The experiments that need a cgroup of our own: create it, look inside, clone into it, remove it. */
static void probe_cgroup_child(struct box_probe *p)
{
	char name[64];
	struct statfs sfs;
	int dirfd, childfd, r, kill_r, freeze_r, join_r = 0;

	dirfd = open(p->cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = errno;
		probe_item_set(&p->cgroup_writable, false, r, "cannot open %s: %s", p->cgroup_dir,
			       probe_errno_name(r));
		return;
	}
	if (fstatfs(dirfd, &sfs) < 0) {
		r = errno;
		probe_item_set(&p->cgroup_writable, false, r, "cannot statfs %s: %s", p->cgroup_dir,
			       probe_errno_name(r));
		goto out;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		probe_item_set(&p->cgroup_writable, false, EMEDIUMTYPE, "%s is not in a cgroup2 file system",
			       p->cgroup_dir);
		goto out;
	}
	r = make_probe_cgroup(dirfd, name, sizeof(name));
	if (r < 0) {
		describe_mkdir_failure(p, dirfd, -r);
		goto out;
	}

	childfd = cg_open_child(dirfd, name);
	if (childfd >= 0) {
		/* The root cgroup has neither file, so only a fresh child tells what our boxes will get. */
		kill_r = control_file_usable(childfd, "cgroup.kill");
		freeze_r = control_file_usable(childfd, "cgroup.freeze");
		describe_kill_files(p, kill_r, freeze_r);
		describe_clone_into_cgroup(p, probe_clone3_exit_and_reap(0, childfd));
		if (!p->clone_into_cgroup.ok)
			join_r = probe_join_cgroup(p, childfd);
		r = cg_remove_tree(dirfd, name, childfd);
		close(childfd);
	} else {
		r = childfd;
		probe_item_set(&p->cgroup_kill, false, -r, "not checked: cannot open the probe cgroup: %s",
			       probe_errno_name(-r));
		probe_item_set(&p->cgroup_freeze, false, -r, "not checked: cannot open the probe cgroup: %s",
			       probe_errno_name(-r));
		probe_item_set(&p->clone_into_cgroup, false, -r,
			       "not checked: cannot open the probe cgroup: %s", probe_errno_name(-r));
		/* Without an fd there is no telling that the name is still ours: it is left alone. */
		r = 0;
	}

	if (r < 0)
		probe_item_set(&p->cgroup_writable, false, -r, "created %s/%s but cannot remove it: %s",
			       p->cgroup_dir, name, probe_errno_name(-r));
	else if (childfd < 0)
		probe_item_set(&p->cgroup_writable, false, p->cgroup_kill.err,
			       "created a cgroup in %s but cannot open it", p->cgroup_dir);
	else if (join_r == 0)
		probe_item_set(&p->cgroup_writable, true, 0, "can create and remove cgroups in %s",
			       p->cgroup_dir);
out:
	close(dirfd);
}

/* NSRELOAD_SYSTEMD=0 keeps systemd out (the test suite's default: its boxes stay in its own cgroups). */
static bool systemd_turned_off(void)
{
	const char *v = getenv("NSRELOAD_SYSTEMD");

	return v && strcmp(v, "0") == 0;
}

/* Root asks the system manager first, where systemd runs the host: it should know about our cgroups. */
static bool systemd_runs_host(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

/*
 * Asks systemd for a delegated scope and moves into its leaf; on success
 * our own cgroup and cgroup_dir become the scope's. Says what happened in
 * systemd_scope either way.
 */
static int probe_scope(struct box_probe *p)
{
	char cwd[1024], desc[1200], dir[sizeof(p->cgroup_dir)], why[sizeof(p->systemd_scope.detail)];
	char *text = NULL;
	int r;

	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "%s", "an unknown directory");
	snprintf(desc, sizeof(desc), "nsreload in %s", cwd);
	p->systemd_asked = true;
	r = sd_scope_join(&p->mounts, p->is_root, desc, p->systemd_unit, sizeof(p->systemd_unit), dir,
			  sizeof(dir), why, sizeof(why));
	probe_item_set(&p->systemd_scope, r == 0, -r, "%s", why);
	if (r < 0) {
		p->systemd_unit[0] = '\0';
		return r;
	}
	memcpy(p->cgroup_dir, dir, sizeof(dir));
	if (probe_read_proc_file("/proc/self/cgroup", &text) == 0)
		(void)cg_parse_proc_cgroup(text, p->own_cgroup, sizeof(p->own_cgroup));
	free(text);
	return 0;
}

/*
 * A second probe in the process that asked for a scope: our cgroup is its
 * leaf, and the boxes go in the scope, as the first time.
 */
static bool probe_own_scope(struct box_probe *p)
{
	char scope[sizeof(p->own_cgroup)];
	size_t len;

	if (!sd_scope_in_own_leaf(p->own_cgroup, &len))
		return false;
	snprintf(scope, sizeof(scope), "%.*s", (int)len, p->own_cgroup);
	if (cg_join_own_dir(&p->mounts, scope, p->cgroup_dir, sizeof(p->cgroup_dir)) < 0)
		return false;
	sd_scope_unit_name(p->systemd_unit, sizeof(p->systemd_unit));
	probe_item_set(&p->systemd_scope, true, 0, "%s, asked for earlier by this nsreload: %s",
		       p->systemd_unit, p->cgroup_dir);
	return true;
}

/*
 * The mount, then our cgroup, then (if there is a directory to try) a probe
 * cgroup in it. Where none can be made there and we are not root, or first
 * as root on a systemd host, the directory is a scope systemd delegates.
 */
void probe_cgroup(struct box_probe *p, const char *cgroup_parent)
{
	bool ask = !(cgroup_parent && cgroup_parent[0]) && !systemd_turned_off();
	bool can_ask = ask && sd_scope_supported();

	probe_mounts(p);
	if (!ask)
		probe_item_set(&p->systemd_scope, false, ENOENT, "not asked for: %s",
			       systemd_turned_off() ? "NSRELOAD_SYSTEMD=0" : "a cgroup parent is given");
	else if (!can_ask)
		probe_item_set(
			&p->systemd_scope, false, ENOTSUP,
			"this nsreload was built without sd-bus (libsystemd-dev): it cannot ask systemd "
			"for a delegated scope");
	else
		probe_item_set(&p->systemd_scope, false, ENOENT, "not needed: %s",
			       p->is_root ? "root, and systemd does not run this host"
					  : "cgroups can be made where nsreload is");
	if (probe_cgroup_dir(p, cgroup_parent) < 0)
		return;
	if (can_ask && probe_own_scope(p))
		can_ask = false;
	else if (can_ask && p->is_root && systemd_runs_host())
		(void)probe_scope(p); /* whatever the manager says, root can still make cgroups where it is */
	probe_cgroup_child(p);
	if (p->cgroup_writable.ok || !can_ask || p->is_root || probe_scope(p) < 0)
		return;
	probe_cgroup_child(p);
}
