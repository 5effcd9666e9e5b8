/*
 * What this host allows, found by trying it. Each experiment is small and
 * undone before box_probe() returns: the probe cgroup is removed and every
 * child is reaped. Whatever could change the prober itself (namespaces,
 * seccomp, prctl) is tried in a forked child that dies with the change.
 *
 * This file reads the host facts, runs the parts asked for (cgroup.c,
 * process.c) and holds what they share to describe a result.
 */
#define _GNU_SOURCE
#include "probe-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef CAP_SYS_ADMIN
#define CAP_SYS_ADMIN 21
#endif

/* mountinfo grows with every mount; stop growing the buffer somewhere sane. */
#define PROBE_MAX_PROC_FILE (16u << 20)

const char *probe_errno_name(int err)
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

void probe_item_set(struct probe_item *it, bool ok, int err, const char *fmt, ...)
{
	va_list ap;

	it->ok = ok;
	it->err = ok ? 0 : err;
	va_start(ap, fmt);
	(void)vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

bool probe_kernel_version(const char *release, unsigned *major, unsigned *minor)
{
	return sscanf(release, "%u.%u", major, minor) == 2;
}

/* Whether the running kernel is known to be older than major.minor; an unparsable release is not. */
bool probe_kernel_before(const char *release, unsigned major, unsigned minor)
{
	unsigned a, b;

	if (!probe_kernel_version(release, &a, &b))
		return false;
	return a < major || (a == major && b < minor);
}

/* Reads a whole /proc file into a malloc'ed, NUL-terminated buffer, however long it is. */
int probe_read_proc_file(const char *path, char **out)
{
	ssize_t n = cg_read_alloc_at(AT_FDCWD, path, out, PROBE_MAX_PROC_FILE);

	return n < 0 ? (int)n : 0;
}

/* CapEff and Seccomp from /proc/self/status: what a uid alone does not tell. */
static void probe_credentials(struct box_probe *p)
{
	char *text = NULL, *line;
	unsigned long long eff;

	p->is_root = geteuid() == 0;
	p->cap_sys_admin = p->is_root;
	p->seccomp_mode = 0;
	if (probe_read_proc_file("/proc/self/status", &text) < 0)
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
void probe_describe_clone3_enosys(const struct box_probe *p, char *buf, size_t size)
{
	if (probe_kernel_before(p->kernel, 5, 3))
		snprintf(buf, size, "clone3 missing (ENOSYS): kernel older than 5.3");
	else
		snprintf(buf, size,
			 "clone3 refused with ENOSYS on kernel %.64s, which has it: a seccomp profile%s "
			 "answers "
			 "for it (Docker's default does without CAP_SYS_ADMIN)",
			 p->kernel, p->seccomp_mode == 2 ? " (a filter is loaded here)" : "");
}

/* Fills the item for a child that died without a report, or could not be started. */
void probe_item_set_child_failure(struct probe_item *it, const char *what, int r,
				  const struct child_report *rep)
{
	if (r == -ECHILD && rep->signo)
		probe_item_set(it, false, ECHILD, "%s: the test child was killed by SIG%s", what,
			       signal_name(rep->signo));
	else if (r == -ECHILD)
		probe_item_set(it, false, ECHILD, "%s: the test child exited without a report", what);
	else
		probe_item_set(it, false, -r, "%s: could not fork a test child: %s", what,
			       probe_errno_name(-r));
}

static bool hide_cgroup_kill_requested(void)
{
	const char *v = getenv("NSRELOAD_HIDE_CGROUP_KILL");

	return v && strcmp(v, "1") == 0;
}

static void set_not_checked(struct probe_item *it, const char *because)
{
	probe_item_set(it, false, ENOENT, "not checked: %s", because);
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
		{ BOX_PROBE_CGROUP, &p->systemd_scope },
		{ BOX_PROBE_PIDNS, &p->pidns },
		{ BOX_PROBE_USERNS, &p->userns },
		{ BOX_PROBE_SECCOMP, &p->seccomp },
		{ BOX_PROBE_SUBREAPER, &p->subreaper },
		{ BOX_PROBE_PIDFD, &p->pidfd },
		{ BOX_PROBE_CGROUP1, &p->cgroup1 },
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
		probe_cgroup(p, cgroup_parent);
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
	if (parts & (BOX_PROBE_CGROUP1 | BOX_PROBE_CGROUP1_EACH))
		probe_cgroup1(p, parts & BOX_PROBE_CGROUP1_EACH);
	return 0;
}

int box_probe(struct box_probe *p, const char *cgroup_parent)
{
	return box_probe_parts(p, cgroup_parent, BOX_PROBE_ALL);
}
