/* proctoken - finding a test's processes by their environment, and its cgroup parent. */
#define _GNU_SOURCE
#include "proctoken.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILL_ROUNDS 500

extern char **environ;

long long pt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pt_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool pt_in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

int pt_env_int(const char *prog, const char *name, int def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return def;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 1000000) {
		fprintf(stderr, "%s: ignoring bad %s=%s\n", prog, name, s);
		return def;
	}
	return (int)v;
}

void pt_describe_status(int status, char *buf, size_t size)
{
	if (status < 0)
		snprintf(buf, size, "not reaped");
	else if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by %s", sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		snprintf(buf, size, "status %#x", status);
}

const char *pt_find_in_path(const char *prog, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	const char *found = NULL;

	copy = strdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	if (!copy)
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, size, "%s/%s", dir, prog);
		if (access(buf, X_OK) == 0)
			found = buf;
	}
	free(copy);
	return found;
}

int pt_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int pt_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

void pt_child_prepare(void)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	/* The harness's ignored SIGPIPE and masks would be inherited through exec and change what is tested.
	 */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		if (null != STDIN_FILENO)
			close(null);
	}
}

void pt_catch_stop_signals(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The length of the name part of "NAME=value", with the '='. */
static size_t env_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) + 1 : strlen(entry);
}

char **pt_envp_new(char *const add[])
{
	size_t n = 0, nadd = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	while (add && add[nadd])
		nadd++;
	envp = calloc(n + nadd + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool replaced = false;

		for (size_t a = 0; a < nadd && !replaced; a++)
			replaced = strncmp(environ[i], add[a], env_name_len(add[a])) == 0;
		if (!replaced)
			envp[k++] = environ[i];
	}
	for (size_t a = 0; a < nadd; a++) {
		envp[k] = strdup(add[a]);
		if (!envp[k]) {
			pt_envp_free(envp);
			return NULL;
		}
		k++;
	}
	/* The added entries go last, so that pt_envp_free knows which ones are ours. */
	envp[k] = NULL;
	return envp;
}

void pt_envp_free(char **envp)
{
	size_t i = 0;

	if (!envp)
		return;
	for (; envp[i]; i++) {
		bool inherited = false;

		for (size_t e = 0; environ[e] && !inherited; e++)
			inherited = envp[i] == environ[e];
		if (!inherited)
			free(envp[i]);
	}
	free(envp);
}

void pt_buf_free(struct pt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->cap = 0;
}

ssize_t pt_read_file(struct pt_buf *b, const char *path)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len + 4096 > b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 65536;
			char *p = realloc(b->data, cap);

			if (!p) {
				close(fd);
				return -ENOMEM;
			}
			b->data = p;
			b->cap = cap;
		}
		n = read(fd, b->data + len, b->cap - len - 1);
		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	b->data[len] = '\0';
	return (ssize_t)len;
}

void pt_match_exact(struct pt_match *m, const char *var, const char *value)
{
	/* m is an output: cppcheck's whole-program pass takes callers' uninitialised structs for inputs. */
	// cppcheck-suppress ctuuninitvar
	int n = snprintf(m->prefix, sizeof(m->prefix), "%s=%s", var, value);

	/* With its NUL, so that a token never matches a longer one. */
	m->plen = (size_t)n + 1 < sizeof(m->prefix) ? (size_t)n + 1 : sizeof(m->prefix);
	m->accept = NULL;
	m->arg = NULL;
}

static bool buf_matches(const char *buf, size_t len, const struct pt_match *m)
{
	const char *p = buf;
	const char *end = buf + len;

	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), m->prefix, m->plen);

		if (!hit)
			return false;
		if (hit == buf || hit[-1] == '\0') {
			const char *rest = hit + m->plen;

			if (!m->accept || m->accept(rest, strnlen(rest, (size_t)(end - rest)), m->arg))
				return true;
		}
		p = hit + 1;
	}
	return false;
}

/*
 * /proc/P/environ goes through the thread group leader's mm: once the main
 * thread has exited (thread_fork) it reads empty or fails, while the process
 * lives on. The other threads' task/T/environ still read fine.
 */
bool pt_pid_matches(struct pt_buf *b, pid_t pid, const struct pt_match *m)
{
	char path[96];
	ssize_t n;
	DIR *d;
	struct dirent *de;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	n = pt_read_file(b, path);
	if (n > 0)
		return buf_matches(b->data, (size_t)n, m);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/environ", (int)pid, tid);
		n = pt_read_file(b, path);
		if (n > 0)
			found = buf_matches(b->data, (size_t)n, m);
	}
	closedir(d);
	return found;
}

int pt_find(struct pt_buf *b, const struct pt_match *m, pid_t *pids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (pt_pid_matches(b, (pid_t)pid, m)) {
			if (count < max)
				pids[count] = (pid_t)pid;
			count++;
		}
	}
	closedir(d);
	return count;
}

/* The pidfd pins the process before the match is checked again, so a recycled pid is never hit. */
static void kill_matching_pid(struct pt_buf *b, pid_t pid, const struct pt_match *m)
{
	int pfd = pt_pidfd_open(pid);

	if (pfd < 0) {
		if (errno == ENOSYS && pt_pid_matches(b, pid, m))
			kill(pid, SIGKILL);
		return;
	}
	if (pt_pid_matches(b, pid, m))
		pt_pidfd_send_signal(pfd, SIGKILL);
	close(pfd);
}

int pt_kill_all(struct pt_buf *b, const struct pt_match *m)
{
	enum { MAXP = 4096 };
	pid_t *pids = calloc(MAXP, sizeof(*pids));
	int total = 0;

	if (!pids)
		return -ENOMEM;
	for (int round = 0; round < KILL_ROUNDS; round++) {
		int n = pt_find(b, m, pids, MAXP);

		if (n == 0) {
			free(pids);
			return total;
		}
		if (n > MAXP)
			n = MAXP;
		for (int i = 0; i < n; i++)
			kill_matching_pid(b, pids[i], m);
		total += n;
		pt_sleep_ms(1);
	}
	free(pids);
	printf("      WARNING: processes matching %.*s still exist after %d kill rounds\n", (int)m->plen,
	       m->prefix, KILL_ROUNDS);
	return total;
}

void pt_print_process(struct pt_buf *b, pid_t pid)
{
	char path[64], comm[64] = "?", nspid[128] = "";
	char state = '?';
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pt_read_file(b, path) > 0) {
		char *lp = strchr(b->data, '(');
		char *rp = strrchr(b->data, ')');

		if (lp && rp && rp > lp) {
			snprintf(comm, sizeof(comm), "%.*s", (int)(rp - lp - 1), lp + 1);
			sscanf(rp + 1, " %c %d", &state, &ppid);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pt_read_file(b, path) > 0) {
		char *p = strstr(b->data, "NSpid:");

		if (p) {
			char *nl = strchr(p, '\n');

			snprintf(nspid, sizeof(nspid), " %.*s", nl ? (int)(nl - p) : 40, p);
			for (char *t = nspid; *t; t++) {
				if (*t == '\t')
					*t = ' ';
			}
		}
	}
	printf("      survivor pid %d ppid %d state %c comm %s%s\n", (int)pid, ppid, state, comm, nspid);
}

/* ---- cgroups --------------------------------------------------------------------------------- */

static void unescape_mountinfo(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/*
 * The mount point of the first fstype mount in /proc/self/mountinfo whose
 * super options list opt (any, when opt is NULL): "cgroup2", or "cgroup"
 * with "freezer". False if there is none.
 */
static bool find_mount(const char *fstype, const char *opt, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char type[64], opts[1024] = "", mnt[PATH_MAX];

		if (!sep || sscanf(sep + 3, "%63s %*s %1023s", type, opts) < 1 || strcmp(type, fstype) != 0)
			continue;
		if ((opt && !pt_in_list(opts, opt)) || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_mountinfo(mnt);
		snprintf(out, size, "%s", mnt);
		found = true;
	}
	fclose(f);
	return found;
}

int pt_cgroup_setup(struct pt_cgroup *cg, const char *name, const char *given)
{
	int err = 0;

	memset(cg, 0, sizeof(*cg));
	if (!find_mount("cgroup2", NULL, cg->mount, sizeof(cg->mount)))
		return -ENOENT;
	/* As a user runs nsreload: no parent, nsreload finds its place itself (envmatrix's systemd-user
	 * rows). */
	if (getenv("NSRELOAD_TEST_NO_PARENT") && strcmp(getenv("NSRELOAD_TEST_NO_PARENT"), "1") == 0)
		return -ENOENT;
	if (given && *given) {
		struct stat st;

		if (stat(given, &st) < 0)
			return -errno;
		snprintf(cg->parent, sizeof(cg->parent), "%s", given);
		return 0;
	}
	if ((size_t)snprintf(cg->parent, sizeof(cg->parent), "%s/%s.%d", cg->mount, name, (int)getpid()) >=
	    sizeof(cg->parent))
		err = -ENAMETOOLONG;
	else if (mkdir(cg->parent, 0755) < 0)
		err = -errno;
	if (err < 0) {
		cg->parent[0] = '\0';
		return err;
	}
	cg->made = true;
	return 0;
}

/* Our own cgroup of the v1 hierarchy named ctrl, from /proc/self/cgroup ("6:freezer:/x"). */
static bool own_v1_path(const char *ctrl, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 64];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1, *c2;

		line[strcspn(line, "\n")] = '\0';
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (pt_in_list(c1 + 1, ctrl))
			found = (size_t)snprintf(out, size, "%s", strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1) <
				size;
	}
	fclose(f);
	return found;
}

int pt_cgroup1_setup(struct pt_cgroup *cg, const char *name, const char *given)
{
	char own[PATH_MAX];

	memset(cg, 0, sizeof(*cg));
	cg->v1 = true;
	if (!find_mount("cgroup", "freezer", cg->mount, sizeof(cg->mount)) ||
	    !own_v1_path("freezer", own, sizeof(own)))
		return -ENOENT;
	if (given && *given) {
		struct stat st;

		snprintf(cg->rel, sizeof(cg->rel), "%s", given);
		if ((size_t)snprintf(cg->parent, sizeof(cg->parent), "%s%s/%s", cg->mount, own, given) >=
		    sizeof(cg->parent)) {
			cg->parent[0] = '\0';
			return -ENAMETOOLONG;
		}
		if (stat(cg->parent, &st) < 0) {
			int err = -errno;
			cg->parent[0] = '\0';
			return err;
		}
		return 0;
	}
	snprintf(cg->rel, sizeof(cg->rel), "%s.%d", name, (int)getpid());
	if ((size_t)snprintf(cg->parent, sizeof(cg->parent), "%s%s/%s", cg->mount, own, cg->rel) >=
	    sizeof(cg->parent)) {
		cg->parent[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (mkdir(cg->parent, 0755) < 0) {
		int err = -errno;
		cg->parent[0] = '\0';
		return err;
	}
	cg->made = true;
	return 0;
}

void pt_cgroup_done(struct pt_cgroup *cg)
{
	if (!cg->made || !cg->parent[0])
		return;
	for (int i = 0; i < 100 && rmdir(cg->parent) < 0 && errno == EBUSY; i++)
		pt_sleep_ms(10);
	if (access(cg->parent, F_OK) == 0)
		printf("warning: could not remove %s: %s\n", cg->parent, strerror(errno));
	cg->made = false;
}

/* Our own cgroup as an absolute directory, read fresh each time: it is what must never be killed. */
static bool own_cgroup_dir(const struct pt_cgroup *cg, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 16];
	bool found = false;

	if (!f)
		return false;
	if (cg->v1) {
		char rel[PATH_MAX];

		fclose(f);
		return own_v1_path("freezer", rel, sizeof(rel)) &&
		       (size_t)snprintf(out, size, "%s%s", cg->mount, rel) < size;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			found = (size_t)snprintf(out, size, "%s%s", cg->mount,
						 strcmp(line + 3, "/") == 0 ? "" : line + 3) < size;
		}
	}
	fclose(f);
	return found;
}

static bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

bool pt_cgroup_safe_to_kill(const struct pt_cgroup *cg, const char *dir)
{
	char own[PATH_MAX + 64];
	size_t n = strlen(cg->parent);

	if (!cg->parent[0] || strncmp(dir, cg->parent, n) != 0 || dir[n] != '/' || strstr(dir, "/.."))
		return false;
	if (!own_cgroup_dir(cg, own, sizeof(own)))
		return false;
	return !path_is_under(own, dir);
}

int pt_cgroup_populated(struct pt_buf *b, const char *dir)
{
	char path[PATH_MAX + 32];
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	n = pt_read_file(b, path);
	if (n == -ENOENT) {
		/* v1: no populated key; this level's tasks is what a box of ours holds. */
		snprintf(path, sizeof(path), "%s/tasks", dir);
		n = pt_read_file(b, path);
		return n < 0 ? (int)n : n > 0;
	}
	if (n < 0)
		return (int)n;
	p = strstr(b->data, "populated ");
	return p ? p[10] == '1' : -EINVAL;
}

/* Writes s into dir/name; errors are only printed. */
static void write_to(const char *dir, const char *name, const char *s)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		printf("      writing %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* v1 (dir checked by the caller): frozen, every task SIGKILLed, thawed. */
static void cgroup1_kill(const char *dir)
{
	struct pt_buf b = { 0 };
	char path[PATH_MAX + 32];

	write_to(dir, "freezer.state", "FROZEN");
	snprintf(path, sizeof(path), "%s/tasks", dir);
	if (pt_read_file(&b, path) > 0)
		for (char *p = b.data, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			/* A task is a thread; its kill ends its whole process. */
			if (pid > 0)
				(void)kill((pid_t)pid, SIGKILL);
		}
	pt_buf_free(&b);
	write_to(dir, "freezer.state", "THAWED");
}

static void cgroup_kill(const struct pt_cgroup *cg, const char *dir)
{
	char path[PATH_MAX + 32];
	int fd;

	if (!pt_cgroup_safe_to_kill(cg, dir)) {
		printf("      refusing to kill cgroup %s\n", dir);
		return;
	}
	if (cg->v1) {
		cgroup1_kill(dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0)
		printf("      writing %s: %s\n", path, strerror(errno));
	close(fd);
}

int pt_cgroup_remove_tree(struct pt_buf *b, const struct pt_cgroup *cg, const char *dir)
{
	DIR *d;
	struct dirent *de;
	int err = 0;

	if (!pt_cgroup_safe_to_kill(cg, dir))
		return -EPERM;
	if (pt_cgroup_populated(b, dir) == 1) {
		long long deadline = pt_now_ms() + 2000;

		cgroup_kill(cg, dir);
		while (pt_cgroup_populated(b, dir) == 1 && pt_now_ms() < deadline)
			pt_sleep_ms(1);
	}
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			char sub[PATH_MAX + 256];

			if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			pt_cgroup_remove_tree(b, cg, sub);
		}
		closedir(d);
	}
	for (int i = 0; i < 100; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		err = -errno;
		if (err != -EBUSY)
			break;
		cgroup_kill(cg, dir);
		pt_sleep_ms(10);
	}
	printf("      could not remove %s: %s\n", dir, strerror(-err));
	return err;
}
