/*
 * The process experiments: a PID namespace, a user namespace, the seccomp
 * pin and the subreaper, each tried in a forked child that dies with the
 * change, and pidfd_open. Also how a child experiment runs and reports.
 */
#define _GNU_SOURCE
#include "probe-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clone.h"
#include "pin.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

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
int probe_clone3_exit_and_reap(uint64_t flags, int cgroup_fd)
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

/*
 * Runs fn in a forked child and collects its report. 0 when the report
 * arrived; -ECHILD when the child died without one (signo says by what), or
 * -errno when the child could not be started.
 */
int probe_run_in_child(void (*fn)(const void *arg, struct child_report *rep), const void *arg,
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
	rep->err = -probe_clone3_exit_and_reap(*(const uint64_t *)arg, -1);
}

enum { PIN_STEP_INSTALL = 1, PIN_STEP_SETSID, PIN_STEP_ESCAPED };

/* A forked child is never a group leader, so without the pin setsid() would give it a new session. */
static void try_pin(const void *arg, struct child_report *rep)
{
	pid_t sid = getsid(0);
	int r;

	(void)arg;
	r = pin_install(NULL);
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
	/* setpgid is allowed under the pin (job control); only the session is pinned. */
	if (getsid(0) != sid) {
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

void probe_pidns(struct box_probe *p)
{
	const uint64_t flags = CLONE_NEWPID;
	struct child_report rep;
	int r;

	r = probe_run_in_child(try_clone_ns, &flags, &rep);
	if (r < 0) {
		probe_item_set_child_failure(&p->pidns, "CLONE_NEWPID", r, &rep);
		return;
	}
	if (rep.err == 0) {
		probe_item_set(&p->pidns, true, 0, "clone(CLONE_NEWPID) works");
	} else if (rep.err == EPERM && !p->is_root) {
		probe_item_set(
			&p->pidns, false, EPERM,
			"clone(CLONE_NEWPID) failed: EPERM (needs root; without it the pidns rung uses a "
			"user namespace)");
	} else if (rep.err == ENOSYS) {
		char why[384];

		probe_describe_clone3_enosys(p, why, sizeof(why));
		probe_item_set(&p->pidns, false, ENOSYS, "%s", why);
	} else if (rep.err == EPROTO) {
		probe_item_set(&p->pidns, false, EPROTO,
			       "clone(CLONE_NEWPID) made a child that was not PID 1");
	} else if (rep.err == EPERM && !p->cap_sys_admin) {
		probe_item_set(&p->pidns, false, EPERM,
			       "clone(CLONE_NEWPID) failed: EPERM: uid 0 without CAP_SYS_ADMIN (capabilities "
			       "dropped, as in a container)%s",
			       p->seccomp_mode == 2 ? ", under a seccomp filter" : "");
	} else if (rep.err == EPERM && p->seccomp_mode == 2) {
		probe_item_set(
			&p->pidns, false, EPERM,
			"clone(CLONE_NEWPID) failed: EPERM: the seccomp filter of this process refuses "
			"namespaces (as Docker's default profile does)");
	} else {
		probe_item_set(&p->pidns, false, rep.err, "clone(CLONE_NEWPID) failed: %s%s",
			       probe_errno_name(rep.err), rep.err == EPERM ? " (an LSM forbids it)" : "");
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

		probe_describe_clone3_enosys(p, why, sizeof(why));
		probe_item_set(it, false, err, "%s", why);
	} else if (max_userns == 0)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER) failed: %s: user namespaces disabled: "
			       "/proc/sys/user/max_user_namespaces is 0",
			       probe_errno_name(err));
	else if (err == ENOSPC)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER) failed: ENOSPC: user namespace limit reached: "
			       "/proc/sys/user/max_user_namespaces is %ld",
			       max_userns);
	else if (err == EPERM && !p->is_root && unpriv == 0)
		probe_item_set(
			it, false, err,
			"clone(CLONE_NEWUSER) failed: EPERM (kernel.unprivileged_userns_clone=0 forbids it "
			"to non-root)");
	else if (err == EPERM && !p->is_root && apparmor == 1)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER) failed: EPERM "
			       "(kernel.apparmor_restrict_unprivileged_userns=1)");
	else if (err == EPERM && p->seccomp_mode == 2)
		probe_item_set(
			it, false, err,
			"clone(CLONE_NEWUSER) failed: EPERM: the seccomp filter of this process refuses "
			"namespaces (as Docker's default profile does)");
	else if (err == EPERM)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER) failed: EPERM (an LSM, a chroot or "
			       "kernel.unprivileged_userns_clone=0)");
	else if (err == EUSERS)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER) failed: EUSERS (user namespaces nested too deep)");
	else if (err == EINVAL)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER) failed: EINVAL (a kernel without user namespaces?)");
	else if (err == EPROTO)
		probe_item_set(it, false, err,
			       "clone(CLONE_NEWUSER|CLONE_NEWPID) made a child that was not PID 1");
	else
		probe_item_set(it, false, err, "clone(CLONE_NEWUSER|CLONE_NEWPID) failed: %s",
			       probe_errno_name(err));
}

void probe_userns(struct box_probe *p)
{
	const uint64_t flags = CLONE_NEWUSER | CLONE_NEWPID;
	struct child_report rep;
	int r;

	r = probe_run_in_child(try_clone_ns, &flags, &rep);
	if (r < 0)
		probe_item_set_child_failure(&p->userns, "CLONE_NEWUSER|CLONE_NEWPID", r, &rep);
	else if (rep.err == 0)
		probe_item_set(&p->userns, true, 0, "clone(CLONE_NEWUSER|CLONE_NEWPID) works");
	else
		explain_userns_failure(p, rep.err);
}

void probe_seccomp(struct box_probe *p)
{
	struct child_report rep;
	int r;

	r = probe_run_in_child(try_pin, NULL, &rep);
	if (r < 0) {
		probe_item_set_child_failure(&p->seccomp, "seccomp pin", r, &rep);
		return;
	}
	switch (rep.step) {
	case 0:
		probe_item_set(&p->seccomp, true, 0,
			       "the seccomp pin loads and setsid() stays in the session");
		break;
	case PIN_STEP_INSTALL:
		probe_item_set(&p->seccomp, false, rep.err, "the seccomp pin did not load: %s%s",
			       probe_errno_name(rep.err),
			       rep.err == EINVAL ? " (a kernel without seccomp filters?)" : "");
		break;
	case PIN_STEP_SETSID:
		probe_item_set(&p->seccomp, false, rep.err, "setsid() failed under the pin: %s",
			       probe_errno_name(rep.err));
		break;
	default:
		probe_item_set(&p->seccomp, false, rep.err, "setsid() still left the session under the pin");
		break;
	}
}

void probe_subreaper(struct box_probe *p)
{
	struct child_report rep;
	int already = 0, r;

	/* Only reading: the prober itself is left as it was. */
	if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&already, 0, 0, 0) < 0)
		already = 0;
	r = probe_run_in_child(try_subreaper, NULL, &rep);
	if (r < 0)
		probe_item_set_child_failure(&p->subreaper, "PR_SET_CHILD_SUBREAPER", r, &rep);
	else if (rep.err == 0)
		probe_item_set(&p->subreaper, true, 0, "PR_SET_CHILD_SUBREAPER works%s",
			       already ? " (this process is one already)" : "");
	else if (rep.step == SUBREAPER_STEP_SET)
		probe_item_set(&p->subreaper, false, rep.err, "PR_SET_CHILD_SUBREAPER failed: %s%s",
			       probe_errno_name(rep.err),
			       rep.err == EINVAL ? " (kernel older than 3.4)" : "");
	else
		probe_item_set(&p->subreaper, false, rep.err, "PR_SET_CHILD_SUBREAPER did not stick");
}

void probe_pidfd(struct box_probe *p)
{
	long fd = syscall(SYS_pidfd_open, getpid(), 0);
	int err = errno;

	if (fd >= 0) {
		close((int)fd);
		probe_item_set(&p->pidfd, true, 0, "pidfd_open works");
	} else if (err == ENOSYS) {
		probe_item_set(&p->pidfd, false, ENOSYS,
			       "pidfd_open missing (ENOSYS): kernel older than 5.3");
	} else {
		probe_item_set(&p->pidfd, false, err, "pidfd_open failed: %s", probe_errno_name(err));
	}
}

bool box_probe_userns_policy(char *why, size_t why_size, char *fix, size_t fix_size)
{
	long max_userns = read_sysctl_long("/proc/sys/user/max_user_namespaces");
	long unpriv = read_sysctl_long("/proc/sys/kernel/unprivileged_userns_clone");
	long apparmor = read_sysctl_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");

	snprintf(fix, fix_size, "%s", "");
	if (max_userns == 0) {
		snprintf(why, why_size, "%s", "no: user.max_user_namespaces=0 disables user namespaces");
		snprintf(fix, fix_size, "%s", "sudo sysctl -w user.max_user_namespaces=10000");
	} else if (unpriv == 0) {
		snprintf(why, why_size, "%s",
			 "no: kernel.unprivileged_userns_clone=0 keeps them to root (Debian's switch)");
		snprintf(fix, fix_size, "%s", "sudo sysctl -w kernel.unprivileged_userns_clone=1");
	} else if (apparmor == 1) {
		snprintf(why, why_size, "%s",
			 "no: kernel.apparmor_restrict_unprivileged_userns=1 (AppArmor, as on Ubuntu 23.10 "
			 "and "
			 "later) refuses them to programs without a profile that allows userns");
		snprintf(fix, fix_size, "%s",
			 "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
	} else {
		snprintf(why, why_size, "yes by the sysctls: user.max_user_namespaces=%ld%s%s", max_userns,
			 unpriv == 1 ? ", kernel.unprivileged_userns_clone=1" : "",
			 apparmor == 0 ? ", kernel.apparmor_restrict_unprivileged_userns=0" : "");
		return true;
	}
	return false;
}
