/* The cgroup rungs' context directories: their names and the stale sweep (ctxdir.h). */
#define _GNU_SOURCE
#include "ctxdir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* True when the n characters at s are lowercase hex digits. */
static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool box_ctxdir_is_name(const char *name, pid_t *pid)
{
	const char *p = name + strlen(CTX_PREFIX);
	char *end;
	long v;

	if (strncmp(name, CTX_PREFIX, strlen(CTX_PREFIX)) != 0 || *p < '0' || *p > '9')
		return false;
	v = strtol(p, &end, 10);
	if (v <= 0 || v > INT32_MAX)
		return false;
	if (*end != '\0' && !(*end == '.' && strlen(end + 1) == 16 && is_hex(end + 1, 16)))
		return false;
	*pid = (pid_t)v;
	return true;
}

void box_ctxdir_sweep(int parentfd, const char *parent, const struct box_ctx_opts *opts,
		      int (*sweep_one)(int parentfd, const char *name, void *data), void *data)
{
	DIR *d;
	struct dirent *de;
	int dfd = dup(parentfd);

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char path[PATH_MAX + 64];
		pid_t pid;

		if (de->d_type != DT_DIR || !box_ctxdir_is_name(de->d_name, &pid))
			continue;
		/*
		 * Only a shortcut: a process with that pid in our PID namespace is likely the owner, so
		 * leave the directory for a later start. The lock is the proof either way: a twin in
		 * another PID namespace, or with our own pid, holds it while it lives.
		 */
		if (pid != getpid() && (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		if (sweep_one(parentfd, de->d_name, data) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		if (opts->on_stale)
			opts->on_stale(path, opts->data);
	}
	closedir(d);
}

void box_ctxdir_make_name(char *name, size_t size)
{
	uint64_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
	}
	snprintf(name, size, CTX_PREFIX "%d.%016llx", (int)getpid(), (unsigned long long)rnd);
}
