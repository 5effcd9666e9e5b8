/*
 * What this host allows, found by trying it. Each experiment is small and
 * undone before box_probe() returns: the probe cgroup is removed and every
 * child is reaped. Whatever could change the prober itself (namespaces,
 * seccomp, prctl) is tried in a forked child that dies with the change.
 */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clone.h"
#include "pin.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef CAP_SYS_ADMIN
#define CAP_SYS_ADMIN 21
#endif

/* mountinfo grows with every mount; stop growing the buffer somewhere sane. */
#define PROBE_MAX_PROC_FILE (16u << 20)
/* A probe cgroup name taken by someone else is tried with these many suffixes. */
#define PROBE_NAME_TRIES 16

static const char *errno_name(int err)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 32)
	const char *s = strerrorname_np(err);

	if (s)
		return s;
#endif
	return strerror(err);
}

static const char *signal_name(int signo)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 32)
	const char *s = sigabbrev_np(signo);

	if (s)
		return s;
#endif
	return strsignal(signo);
}

static void item_set(struct probe_item *it, bool ok, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void item_set(struct probe_item *it, bool ok, int err, const char *fmt, ...)
{
	va_list ap;

	it->ok = ok;
	it->err = ok ? 0 : err;
	va_start(ap, fmt);
	(void)vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

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

static bool kernel_version(const char *release, unsigned *major, unsigned *minor)
{
	return sscanf(release, "%u.%u", major, minor) == 2;
}

/* Whether the running kernel is known to be older than major.minor; an unparsable release is not. */
static bool kernel_before(const char *release, unsigned major, unsigned minor)
{
	unsigned a, b;

	if (!kernel_version(release, &a, &b))
		return false;
	return a < major || (a == major && b < minor);
}

/* Reads a whole /proc file into a malloc'ed, NUL-terminated buffer, however long it is. */
static int read_proc_file(const char *path, char **out)
{
	ssize_t n = cg_read_alloc_at(AT_FDCWD, path, out, PROBE_MAX_PROC_FILE);

	return n < 0 ? (int)n : 0;
}

/* An integer sysctl, or -errno (-ENOENT when this kernel does not have it). */
static long read_sysctl_long(const char *path)
{
	char buf[64], *end;
	ssize_t n;
	long v;

	n = cg_read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return n;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || v < 0)
		return -EINVAL;
	return v;
}

/* CapEff and Seccomp from /proc/self/status: what a uid alone does not tell. */
static void probe_credentials(struct box_probe *p)
{
	char *text = NULL, *line;
	unsigned long long eff;

	p->is_root = geteuid() == 0;
	p->cap_sys_admin = p->is_root;
	p->seccomp_mode = 0;
	if (read_proc_file("/proc/self/status", &text) < 0)
		return;
	for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			p->cap_sys_admin = (eff >> CAP_SYS_ADMIN) & 1;
		else
			(void)sscanf(line, "Seccomp: %d", &p->seccomp_mode);
	}
	free(text);
}

/*
 * ENOSYS from clone3 on a kernel that has it (5.3+) is a seccomp profile
 * answering for it, as Docker's default does without CAP_SYS_ADMIN so that
 * libc falls back to clone.
 */
static void describe_clone3_enosys(const struct box_probe *p, char *buf, size_t size)
{
	if (kernel_before(p->kernel, 5, 3))
		snprintf(buf, size, "clone3 missing (ENOSYS): kernel older than 5.3");
	else
		snprintf(buf, size,
			 "clone3 refused with ENOSYS on kernel %.64s, which has it: a seccomp profile%s "
			 "answers "
			 "for it (Docker's default does without CAP_SYS_ADMIN)",
			 p->kernel, p->seccomp_mode == 2 ? " (a filter is loaded here)" : "");
}

static int wait_for_pid(pid_t pid, int *status)
{
	for (;;) {
		if (waitpid(pid, status, 0) == pid)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Clones a child that exits at once, and reaps it, through proc_clone(): the
 * call the rungs make, with the same fallbacks, so that a failure here is the
 * failure they would meet. The child is a copy of us, like after fork, and
 * only exits.
 */
static int clone3_exit_and_reap(uint64_t flags, int cgroup_fd)
{
	int pidfd = -1, status, r;
	pid_t pid;

	pid = proc_clone(flags, cgroup_fd, &pidfd);
	if (pid < 0)
		return pid;
	if (pid == 0)
		/* The first child in a new PID namespace is its init, or there was no namespace. */
		_exit((flags & CLONE_NEWPID) && getpid() != 1 ? 1 : 0);
	r = wait_for_pid(pid, &status);
	if (pidfd >= 0)
		close(pidfd);
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EPROTO;
	return 0;
}

/* What a forked experiment sends back: which step failed and with which errno. */
struct child_report {
	int step;
	int err;
	int signo; /* set by the parent when the child died without a report */
};

/*
 * Runs fn in a forked child and collects its report. 0 when the report
 * arrived; -ECHILD when the child died without one (signo says by what), or
 * -errno when the child could not be started.
 */
static int run_in_child(void (*fn)(const void *arg, struct child_report *rep), const void *arg,
			struct child_report *rep)
{
	int fds[2], status, r;
	ssize_t n;
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		fn(arg, rep);
		if (write(fds[1], rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	do
		n = read(fds[0], rep, sizeof(*rep));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	r = wait_for_pid(pid, &status);
	if (n == (ssize_t)sizeof(*rep))
		return 0;
	memset(rep, 0, sizeof(*rep));
	if (r == 0 && WIFSIGNALED(status))
		rep->signo = WTERMSIG(status);
	return -ECHILD;
}

static void try_clone_ns(const void *arg, struct child_report *rep)
{
	rep->err = -clone3_exit_and_reap(*(const uint64_t *)arg, -1);
}

enum { PIN_STEP_INSTALL = 1, PIN_STEP_SETSID, PIN_STEP_SETPGID, PIN_STEP_ESCAPED };

/* A forked child is never a group leader, so without the pin setsid() would give it a new session. */
static void try_pin(const void *arg, struct child_report *rep)
{
	pid_t sid = getsid(0), pgid = getpgrp();
	int r;

	(void)arg;
	r = pin_install();
	if (r < 0) {
		rep->step = PIN_STEP_INSTALL;
		rep->err = -r;
		return;
	}
	if (setsid() < 0) {
		rep->step = PIN_STEP_SETSID;
		rep->err = errno;
		return;
	}
	if (setpgid(0, 0) < 0) {
		rep->step = PIN_STEP_SETPGID;
		rep->err = errno;
		return;
	}
	if (getsid(0) != sid || getpgrp() != pgid) {
		rep->step = PIN_STEP_ESCAPED;
		rep->err = ENOTSUP;
	}
}

enum { SUBREAPER_STEP_SET = 1, SUBREAPER_STEP_GET };

static void try_subreaper(const void *arg, struct child_report *rep)
{
	int v = 0;

	(void)arg;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		rep->step = SUBREAPER_STEP_SET;
		rep->err = errno;
		return;
	}
	if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&v, 0, 0, 0) < 0 || v == 0) {
		rep->step = SUBREAPER_STEP_GET;
		rep->err = v == 0 ? EPROTO : errno;
	}
}

/* Fills the item for a child that died without a report, or could not be started. */
static void item_set_child_failure(struct probe_item *it, const char *what, int r,
				   const struct child_report *rep)
{
	if (r == -ECHILD && rep->signo)
		item_set(it, false, ECHILD, "%s: the test child was killed by SIG%s", what,
			 signal_name(rep->signo));
	else if (r == -ECHILD)
		item_set(it, false, ECHILD, "%s: the test child exited without a report", what);
	else
		item_set(it, false, -r, "%s: could not fork a test child: %s", what, errno_name(-r));
}

static void probe_mounts(struct box_probe *p)
{
	char *text = NULL;
	int r;

	r = read_proc_file("/proc/self/mountinfo", &text);
	if (r == 0)
		r = cg_parse_mountinfo(text, &p->mounts);
	free(text);
	if (r == -ENAMETOOLONG) {
		item_set(&p->cgroup2, false, -r, "a cgroup2 mount point in /proc/self/mountinfo is too long");
		return;
	}
	if (r < 0 && r != -ENOENT) {
		item_set(&p->cgroup2, false, -r, "cannot read /proc/self/mountinfo: %s", errno_name(-r));
		return;
	}
	switch (p->mounts.mode) {
	case CG_MODE_NONE:
		item_set(&p->cgroup2, false, ENOENT, "no cgroup file system is mounted");
		break;
	case CG_MODE_LEGACY:
		item_set(&p->cgroup2, false, ENOENT, "no cgroup2 mount (legacy: %d v1 hierarchies only)",
			 p->mounts.v1_count);
		break;
	case CG_MODE_HYBRID:
		item_set(&p->cgroup2, true, 0, "cgroup2 mounted at %s (hybrid: %d v1 hierarchies)",
			 p->mounts.v2_path, p->mounts.v1_count);
		break;
	case CG_MODE_UNIFIED:
		item_set(&p->cgroup2, true, 0, "cgroup2 mounted at %s (unified)", p->mounts.v2_path);
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

	r = read_proc_file("/proc/self/cgroup", &text);
	if (r == 0)
		r = cg_parse_proc_cgroup(text, p->own_cgroup, sizeof(p->own_cgroup));
	free(text);
	if (r < 0)
		p->own_cgroup[0] = '\0';

	if (cgroup_parent && cgroup_parent[0]) {
		/* Checked before anything is tried there, so that a parent we cannot use sees no probe
		 * cgroup. */
		if (strlen(cgroup_parent) > BOX_CGROUP_PARENT_MAX) {
			item_set(&p->cgroup_writable, false, ENAMETOOLONG,
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
		item_set(&p->cgroup_writable, false, ENOENT, "no cgroup2 mount to create cgroups in");
		return -ENOENT;
	}
	if (r == -ENOENT) {
		item_set(&p->cgroup_writable, false, ENOENT,
			 "/proc/self/cgroup has no 0:: line: this process is in no cgroup2 cgroup");
		return r;
	}
	if (r < 0) {
		item_set(&p->cgroup_writable, false, -r,
			 "cannot read our own cgroup from /proc/self/cgroup: %s", errno_name(-r));
		return r;
	}
	r = cg_join_own_dir(&p->mounts, p->own_cgroup, p->cgroup_dir, sizeof(p->cgroup_dir));
	if (r == 0 && strlen(p->cgroup_dir) > BOX_CGROUP_PARENT_MAX)
		r = -ENAMETOOLONG;
	if (r == -ENAMETOOLONG)
		item_set(
			&p->cgroup_writable, false, ENAMETOOLONG,
			"the path of our cgroup under %s is too long for boxes below it (at most %zu bytes); "
			"use --cgroup-parent",
			p->mounts.v2_path, (size_t)BOX_CGROUP_PARENT_MAX);
	else if (r == -EXDEV)
		item_set(&p->cgroup_writable, false, EXDEV,
			 "our cgroup %s is outside what the cgroup2 mount at %s shows (%s); use "
			 "--cgroup-parent",
			 p->own_cgroup, p->mounts.v2_path, p->mounts.v2_root);
	else if (r < 0)
		item_set(&p->cgroup_writable, false, -r, "cannot place our cgroup %s under %s: %s",
			 p->own_cgroup, p->mounts.v2_path, errno_name(-r));
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

static bool hide_cgroup_kill_requested(void)
{
	const char *v = getenv("NSRELOAD_HIDE_CGROUP_KILL");

	return v && strcmp(v, "1") == 0;
}

static void describe_kill_files(struct box_probe *p, int kill_r, int freeze_r)
{
	unsigned major = 0, minor = 0;
	bool known = kernel_version(p->kernel, &major, &minor);
	const char *fallback = freeze_r == 0 ? "the freeze-and-kill loop will be used"
					     : "and there is no cgroup.freeze for the fallback either";

	if (freeze_r == 0)
		item_set(&p->cgroup_freeze, true, 0, "cgroup.freeze present");
	else if (freeze_r == -ENOENT && known && kernel_before(p->kernel, 5, 2))
		item_set(&p->cgroup_freeze, false, ENOENT, "cgroup.freeze missing: kernel %u.%u < 5.2", major,
			 minor);
	else if (freeze_r == -ENOENT)
		item_set(&p->cgroup_freeze, false, ENOENT, "cgroup.freeze missing in a fresh cgroup under %s",
			 p->cgroup_dir);
	else
		item_set(&p->cgroup_freeze, false, -freeze_r, "cgroup.freeze is not writable: %s",
			 errno_name(-freeze_r));

	if (kill_r == 0 && p->hide_cgroup_kill)
		item_set(&p->cgroup_kill, false, ENOENT,
			 "cgroup.kill hidden by NSRELOAD_HIDE_CGROUP_KILL=1 (it is present): %s", fallback);
	else if (kill_r == 0)
		item_set(&p->cgroup_kill, true, 0, "cgroup.kill present: a box is killed with one write");
	else if (kill_r == -ENOENT && known && kernel_before(p->kernel, 5, 14))
		item_set(&p->cgroup_kill, false, ENOENT, "cgroup.kill missing: kernel %u.%u < 5.14, %s",
			 major, minor, fallback);
	else if (kill_r == -ENOENT)
		item_set(&p->cgroup_kill, false, ENOENT, "cgroup.kill missing in a fresh cgroup under %s, %s",
			 p->cgroup_dir, fallback);
	else
		item_set(&p->cgroup_kill, false, -kill_r, "cgroup.kill is not writable: %s, %s",
			 errno_name(-kill_r), fallback);
}

static void describe_clone_into_cgroup(struct box_probe *p, int r)
{
	const char *fallback = "a box is joined by writing cgroup.procs instead";

	if (r == 0)
		item_set(&p->clone_into_cgroup, true, 0,
			 "clone3(CLONE_INTO_CGROUP) placed a child in a fresh cgroup");
	else if (r == -ENOSYS) {
		char why[384];

		describe_clone3_enosys(p, why, sizeof(why));
		item_set(&p->clone_into_cgroup, false, ENOSYS, "%s; %s", why, fallback);
	} else if ((r == -EINVAL || r == -E2BIG) && kernel_before(p->kernel, 5, 7))
		item_set(&p->clone_into_cgroup, false, -r,
			 "clone3(CLONE_INTO_CGROUP) failed: %s (kernel older than 5.7); %s", errno_name(-r),
			 fallback);
	else if (r == -EPROTO)
		item_set(&p->clone_into_cgroup, false, EPROTO,
			 "the child cloned into a fresh cgroup did not exit cleanly");
	else
		item_set(&p->clone_into_cgroup, false, -r, "clone3(CLONE_INTO_CGROUP) failed: %s; %s",
			 errno_name(-r), fallback);
}

/* Why no cgroup could be made where our boxes would go. */
static void describe_mkdir_failure(struct box_probe *p, int dirfd, int err)
{
	struct stat st;

	if (err == EROFS)
		item_set(&p->cgroup_writable, false, err,
			 "cannot create a cgroup in %s: EROFS: the cgroup file system is mounted read-only "
			 "here (as in a container)",
			 p->cgroup_dir);
	else if ((err == EACCES || err == EPERM) && !p->is_root && fstat(dirfd, &st) == 0 &&
		 st.st_uid != geteuid())
		item_set(&p->cgroup_writable, false, err,
			 "cannot create a cgroup in %s: %s: not root, and the directory belongs to uid %u, "
			 "not to us (uid %u): no delegated subtree here",
			 p->cgroup_dir, errno_name(err), (unsigned)st.st_uid, (unsigned)geteuid());
	else
		item_set(&p->cgroup_writable, false, err, "cannot create a cgroup in %s: %s", p->cgroup_dir,
			 errno_name(err));
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
	int r = run_in_child(try_join_cgroup, &childfd, &rep);

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
			 p->cgroup_dir, errno_name(-r));
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
		item_set(&p->cgroup_writable, false, r, "cannot open %s: %s", p->cgroup_dir, errno_name(r));
		return;
	}
	if (fstatfs(dirfd, &sfs) < 0) {
		r = errno;
		item_set(&p->cgroup_writable, false, r, "cannot statfs %s: %s", p->cgroup_dir, errno_name(r));
		goto out;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		item_set(&p->cgroup_writable, false, EMEDIUMTYPE, "%s is not in a cgroup2 file system",
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
		describe_clone_into_cgroup(p, clone3_exit_and_reap(0, childfd));
		if (!p->clone_into_cgroup.ok)
			join_r = probe_join_cgroup(p, childfd);
		r = cg_remove_tree(dirfd, name, childfd);
		close(childfd);
	} else {
		r = childfd;
		item_set(&p->cgroup_kill, false, -r, "not checked: cannot open the probe cgroup: %s",
			 errno_name(-r));
		item_set(&p->cgroup_freeze, false, -r, "not checked: cannot open the probe cgroup: %s",
			 errno_name(-r));
		item_set(&p->clone_into_cgroup, false, -r, "not checked: cannot open the probe cgroup: %s",
			 errno_name(-r));
		/* Without an fd there is no telling that the name is still ours: it is left alone. */
		r = 0;
	}

	if (r < 0)
		item_set(&p->cgroup_writable, false, -r, "created %s/%s but cannot remove it: %s",
			 p->cgroup_dir, name, errno_name(-r));
	else if (childfd < 0)
		item_set(&p->cgroup_writable, false, p->cgroup_kill.err,
			 "created a cgroup in %s but cannot open it", p->cgroup_dir);
	else if (join_r == 0)
		item_set(&p->cgroup_writable, true, 0, "can create and remove cgroups in %s", p->cgroup_dir);
out:
	close(dirfd);
}

static void probe_pidns(struct box_probe *p)
{
	const uint64_t flags = CLONE_NEWPID;
	struct child_report rep;
	int r;

	r = run_in_child(try_clone_ns, &flags, &rep);
	if (r < 0) {
		item_set_child_failure(&p->pidns, "CLONE_NEWPID", r, &rep);
		return;
	}
	if (rep.err == 0) {
		item_set(&p->pidns, true, 0, "clone(CLONE_NEWPID) works");
	} else if (rep.err == EPERM && !p->is_root) {
		item_set(&p->pidns, false, EPERM,
			 "clone(CLONE_NEWPID) failed: EPERM (needs root; without it the pidns rung uses a "
			 "user namespace)");
	} else if (rep.err == ENOSYS) {
		char why[384];

		describe_clone3_enosys(p, why, sizeof(why));
		item_set(&p->pidns, false, ENOSYS, "%s", why);
	} else if (rep.err == EPROTO) {
		item_set(&p->pidns, false, EPROTO, "clone(CLONE_NEWPID) made a child that was not PID 1");
	} else if (rep.err == EPERM && !p->cap_sys_admin) {
		item_set(&p->pidns, false, EPERM,
			 "clone(CLONE_NEWPID) failed: EPERM: uid 0 without CAP_SYS_ADMIN (capabilities "
			 "dropped, as in a container)%s",
			 p->seccomp_mode == 2 ? ", under a seccomp filter" : "");
	} else if (rep.err == EPERM && p->seccomp_mode == 2) {
		item_set(&p->pidns, false, EPERM,
			 "clone(CLONE_NEWPID) failed: EPERM: the seccomp filter of this process refuses "
			 "namespaces (as Docker's default profile does)");
	} else {
		item_set(&p->pidns, false, rep.err, "clone(CLONE_NEWPID) failed: %s%s", errno_name(rep.err),
			 rep.err == EPERM ? " (an LSM forbids it)" : "");
	}
}

/* Why a user namespace could not be made, from the errno and the sysctls that govern it. */
static void explain_userns_failure(struct box_probe *p, int err)
{
	long max_userns = read_sysctl_long("/proc/sys/user/max_user_namespaces");
	long unpriv = read_sysctl_long("/proc/sys/kernel/unprivileged_userns_clone");
	long apparmor = read_sysctl_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	struct probe_item *it = &p->userns;

	if (err == ENOSYS) {
		char why[384];

		describe_clone3_enosys(p, why, sizeof(why));
		item_set(it, false, err, "%s", why);
	} else if (max_userns == 0)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: %s: user namespaces disabled: "
			 "/proc/sys/user/max_user_namespaces is 0",
			 errno_name(err));
	else if (err == ENOSPC)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: ENOSPC: user namespace limit reached: "
			 "/proc/sys/user/max_user_namespaces is %ld",
			 max_userns);
	else if (err == EPERM && !p->is_root && unpriv == 0)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: EPERM (kernel.unprivileged_userns_clone=0 forbids it "
			 "to non-root)");
	else if (err == EPERM && !p->is_root && apparmor == 1)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: EPERM "
			 "(kernel.apparmor_restrict_unprivileged_userns=1)");
	else if (err == EPERM && p->seccomp_mode == 2)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: EPERM: the seccomp filter of this process refuses "
			 "namespaces (as Docker's default profile does)");
	else if (err == EPERM)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: EPERM (an LSM, a chroot or "
			 "kernel.unprivileged_userns_clone=0)");
	else if (err == EUSERS)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: EUSERS (user namespaces nested too deep)");
	else if (err == EINVAL)
		item_set(it, false, err,
			 "clone(CLONE_NEWUSER) failed: EINVAL (a kernel without user namespaces?)");
	else if (err == EPROTO)
		item_set(it, false, err, "clone(CLONE_NEWUSER|CLONE_NEWPID) made a child that was not PID 1");
	else
		item_set(it, false, err, "clone(CLONE_NEWUSER|CLONE_NEWPID) failed: %s", errno_name(err));
}

static void probe_userns(struct box_probe *p)
{
	const uint64_t flags = CLONE_NEWUSER | CLONE_NEWPID;
	struct child_report rep;
	int r;

	r = run_in_child(try_clone_ns, &flags, &rep);
	if (r < 0)
		item_set_child_failure(&p->userns, "CLONE_NEWUSER|CLONE_NEWPID", r, &rep);
	else if (rep.err == 0)
		item_set(&p->userns, true, 0, "clone(CLONE_NEWUSER|CLONE_NEWPID) works");
	else
		explain_userns_failure(p, rep.err);
}

static void probe_seccomp(struct box_probe *p)
{
	struct child_report rep;
	int r;

	r = run_in_child(try_pin, NULL, &rep);
	if (r < 0) {
		item_set_child_failure(&p->seccomp, "seccomp pin", r, &rep);
		return;
	}
	switch (rep.step) {
	case 0:
		item_set(&p->seccomp, true, 0,
			 "the seccomp pin loads and setsid()/setpgid() stay in the group");
		break;
	case PIN_STEP_INSTALL:
		item_set(&p->seccomp, false, rep.err, "the seccomp pin did not load: %s%s",
			 errno_name(rep.err),
			 rep.err == EINVAL ? " (a kernel without seccomp filters?)" : "");
		break;
	case PIN_STEP_SETSID:
		item_set(&p->seccomp, false, rep.err, "setsid() failed under the pin: %s",
			 errno_name(rep.err));
		break;
	case PIN_STEP_SETPGID:
		item_set(&p->seccomp, false, rep.err, "setpgid() failed under the pin: %s",
			 errno_name(rep.err));
		break;
	default:
		item_set(&p->seccomp, false, rep.err, "setsid() still left the process group under the pin");
		break;
	}
}

static void probe_subreaper(struct box_probe *p)
{
	struct child_report rep;
	int already = 0, r;

	/* Only reading: the prober itself is left as it was. */
	if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&already, 0, 0, 0) < 0)
		already = 0;
	r = run_in_child(try_subreaper, NULL, &rep);
	if (r < 0)
		item_set_child_failure(&p->subreaper, "PR_SET_CHILD_SUBREAPER", r, &rep);
	else if (rep.err == 0)
		item_set(&p->subreaper, true, 0, "PR_SET_CHILD_SUBREAPER works%s",
			 already ? " (this process is one already)" : "");
	else if (rep.step == SUBREAPER_STEP_SET)
		item_set(&p->subreaper, false, rep.err, "PR_SET_CHILD_SUBREAPER failed: %s%s",
			 errno_name(rep.err), rep.err == EINVAL ? " (kernel older than 3.4)" : "");
	else
		item_set(&p->subreaper, false, rep.err, "PR_SET_CHILD_SUBREAPER did not stick");
}

static void probe_pidfd(struct box_probe *p)
{
	long fd = syscall(SYS_pidfd_open, getpid(), 0);
	int err = errno;

	if (fd >= 0) {
		close((int)fd);
		item_set(&p->pidfd, true, 0, "pidfd_open works");
	} else if (err == ENOSYS) {
		item_set(&p->pidfd, false, ENOSYS, "pidfd_open missing (ENOSYS): kernel older than 5.3");
	} else {
		item_set(&p->pidfd, false, err, "pidfd_open failed: %s", errno_name(err));
	}
}

static void set_not_checked(struct probe_item *it, const char *because)
{
	item_set(it, false, ENOENT, "not checked: %s", because);
}

/* Host facts that need no experiment: the kernel, who we are, what the environment asks for. */
static void probe_facts(struct box_probe *p)
{
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(p->kernel, sizeof(p->kernel), "%s", u.release);
	else
		snprintf(p->kernel, sizeof(p->kernel), "unknown");
	probe_credentials(p);
	p->is_pid1 = getpid() == 1;
	p->hide_cgroup_kill = hide_cgroup_kill_requested();
}

/* Marks the items of the parts left out as not checked, so that nothing reads them as found. */
static void mark_skipped(struct box_probe *p, unsigned parts)
{
	static const char why[] = "not needed by the rung asked for";
	const struct {
		unsigned part;
		struct probe_item *it;
	} items[] = {
		{ BOX_PROBE_CGROUP, &p->cgroup2 },
		{ BOX_PROBE_CGROUP, &p->cgroup_writable },
		{ BOX_PROBE_CGROUP, &p->cgroup_kill },
		{ BOX_PROBE_CGROUP, &p->cgroup_freeze },
		{ BOX_PROBE_CGROUP, &p->clone_into_cgroup },
		{ BOX_PROBE_PIDNS, &p->pidns },
		{ BOX_PROBE_USERNS, &p->userns },
		{ BOX_PROBE_SECCOMP, &p->seccomp },
		{ BOX_PROBE_SUBREAPER, &p->subreaper },
		{ BOX_PROBE_PIDFD, &p->pidfd },
	};

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (!(parts & items[i].part))
			set_not_checked(items[i].it, why);
}

bool box_probe_wants_userns(const struct box_probe *p)
{
	/* A PID namespace needs CAP_SYS_ADMIN: without it (not root, or a container's root) it comes
	 * with a user namespace. */
	return !p->is_root || !p->cap_sys_admin;
}

int box_probe_parts(struct box_probe *p, const char *cgroup_parent, unsigned parts)
{
	if (!p)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	probe_facts(p);
	if (parts & BOX_PROBE_NS_USED)
		parts |= box_probe_wants_userns(p) ? BOX_PROBE_USERNS : BOX_PROBE_PIDNS;
	mark_skipped(p, parts);
	if (parts & BOX_PROBE_CGROUP) {
		/* Each step below overwrites what it learns; these say why a step never ran. */
		set_not_checked(&p->cgroup_writable, "no cgroup directory to try");
		set_not_checked(&p->cgroup_kill, "no probe cgroup could be created");
		set_not_checked(&p->cgroup_freeze, "no probe cgroup could be created");
		set_not_checked(&p->clone_into_cgroup, "no probe cgroup could be created");
		probe_mounts(p);
		if (probe_cgroup_dir(p, cgroup_parent) == 0)
			probe_cgroup_child(p);
	}
	if (parts & BOX_PROBE_PIDNS)
		probe_pidns(p);
	if (parts & BOX_PROBE_USERNS)
		probe_userns(p);
	if (parts & BOX_PROBE_SECCOMP)
		probe_seccomp(p);
	if (parts & BOX_PROBE_SUBREAPER)
		probe_subreaper(p);
	if (parts & BOX_PROBE_PIDFD)
		probe_pidfd(p);
	return 0;
}

int box_probe(struct box_probe *p, const char *cgroup_parent)
{
	return box_probe_parts(p, cgroup_parent, BOX_PROBE_ALL);
}
