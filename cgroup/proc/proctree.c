#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgfs.h"

/* Bounds the walk so that a fork storm cannot keep it going forever. */
#define PROCTREE_MAX 65536
/* A children list or an environment is read up to this much. */
#define PROC_FILE_MAX (16u << 20)

struct pidvec {
	pid_t *v;
	size_t n, cap;
};

static int pidvec_push(struct pidvec *pv, pid_t pid)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 64;
		pid_t *v = realloc(pv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = pid;
	return 0;
}

/* Appends the children of every thread of pid. A process that is gone has no children: not an error. */
static int push_children(pid_t pid, struct pidvec *pv)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	while ((de = readdir(d))) {
		char cpath[300], *buf, *p;
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		len = cg_read_alloc_at(AT_FDCWD, cpath, &buf, PROC_FILE_MAX);
		if (len == -ENOENT || len == -ESRCH)
			continue; /* the thread exited under us */
		if (len < 0) {
			/* A list we cannot read may hide a member: fail rather than miss it. */
			r = (int)len;
			break;
		}
		for (p = buf; *p;) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (v > 0 && (r = pidvec_push(pv, (pid_t)v)) < 0)
				break;
			p = end;
			while (*p == ' ' || *p == '\n')
				p++;
		}
		free(buf);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int proctree_walk(pid_t root, proctree_fn fn, void *data)
{
	struct pidvec pv = { 0 };
	size_t i;
	int r;

	r = push_children(root, &pv);
	for (i = 0; r >= 0 && i < pv.n && i < PROCTREE_MAX; i++) {
		r = fn(pv.v[i], data);
		if (r != 0)
			break;
		r = push_children(pv.v[i], &pv);
	}
	if (r == 0)
		r = (int)i;
	free(pv.v);
	return r;
}

int proctree_children(pid_t pid, proctree_fn fn, void *data)
{
	struct pidvec pv = { 0 };
	int r;

	r = push_children(pid, &pv);
	for (size_t i = 0; r >= 0 && i < pv.n; i++) {
		r = fn(pv.v[i], data);
		if (r != 0)
			break;
	}
	free(pv.v);
	return r;
}

pid_t proc_self(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return getpid();
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

pid_t proc_pidfd_pid(int pidfd)
{
	char path[64], buf[2048], *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	n = cg_read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (pid_t)n;
	p = strstr(buf, "\nPid:");
	/* 0: none in this /proc's namespace; -1: the process is gone. */
	return p ? (pid_t)atoi(p + 5) : -ENOENT;
}

int proc_open(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The NSpid fields of /proc/<pid>/status (pid 0: self), outermost first: how many, and the one at level. */
static int read_nspid(pid_t pid, int level, pid_t *at)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int count = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	n = cg_read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return -ENOENT;
	for (p += 7; *p && *p != '\n';) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (count++ == level && at)
			*at = (pid_t)v;
		p = end;
	}
	return count;
}

struct own_children {
	proctree_fn fn;
	void *data;
	int level;
};

static int own_child(pid_t pid, void *data)
{
	struct own_children *oc = data;
	pid_t own = 0;

	/* A child gone since the list was read has no number to give: skip it. */
	if (read_nspid(pid, oc->level, &own) <= oc->level || own <= 0)
		return 0;
	return oc->fn(own, oc->data);
}

int proctree_own_children(proctree_fn fn, void *data)
{
	pid_t self = proc_self();
	struct own_children oc = { .fn = fn, .data = data };
	int n;

	if (self == getpid())
		return proctree_children(self, fn, data);
	/* Our level in /proc's namespace tree: our children are numbered at the same one. */
	n = read_nspid(0, 0, NULL);
	if (n <= 0)
		return n < 0 ? n : -ENOENT;
	oc.level = n - 1;
	return proctree_children(self, own_child, &oc);
}

int proc_read_stat(pid_t pid, pid_t *ppid, pid_t *pgid, char *state)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return proc_read_stat_at(AT_FDCWD, path, ppid, pgid, state);
}

int proc_read_stat_at(int dirfd, const char *name, pid_t *ppid, pid_t *pgid, char *state)
{
	char buf[1024], *p;
	int pp, pg;
	ssize_t n;

	n = cg_read_file_at(dirfd, name, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* comm may hold spaces and parentheses: the state follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d", state, &pp, &pg) != 3)
		return -EINVAL;
	if (ppid)
		*ppid = pp;
	*pgid = pg;
	return 0;
}

int proc_environ_has(pid_t pid, const char *entry)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	return proc_environ_has_at(AT_FDCWD, path, entry);
}

int proc_environ_has_at(int dirfd, const char *name, const char *entry)
{
	char *buf, *p;
	size_t elen = strlen(entry);
	ssize_t len;
	int found = 0;

	len = cg_read_alloc_at(dirfd, name, &buf, PROC_FILE_MAX);
	if (len < 0)
		return 0;
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (strlen(p) == elen && memcmp(p, entry, elen) == 0) {
			found = 1;
			break;
		}
	}
	free(buf);
	return len == 0 ? -EAGAIN : found;
}
