#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounds the walk so that a fork storm cannot keep it going forever. */
#define PROCTREE_MAX 65536

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

static int read_all_fd(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
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
		size_t len;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		fd = open(cpath, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* the thread exited under us */
		r = read_all_fd(fd, &buf, &len);
		close(fd);
		if (r < 0)
			break;
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

int proc_read_stat(pid_t pid, pid_t *pgid, char *state)
{
	char path[64], buf[1024], *p;
	int fd, ppid, pg;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the state follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d", state, &ppid, &pg) != 3)
		return -EINVAL;
	*pgid = pg;
	return 0;
}

int proc_environ_has(pid_t pid, const char *entry)
{
	char path[64], *buf, *p;
	size_t len, elen = strlen(entry);
	int found = 0, fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read_all_fd(fd, &buf, &len) < 0) {
		close(fd);
		return 0;
	}
	close(fd);
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (strlen(p) == elen && memcmp(p, entry, elen) == 0) {
			found = 1;
			break;
		}
	}
	free(buf);
	return len == 0 ? -EAGAIN : found;
}
