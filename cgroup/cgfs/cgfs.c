/* The cgroupfs side of cgfs.h: file access, killing and removal. The pure parsers live in cgparse.c. */
#define _GNU_SOURCE
#include "cgfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A cgroup tree deeper than this is not one of ours. */
#define CG_MAX_DEPTH 16
/* One freeze-and-kill round waits this long at most for "frozen 1". */
#define CG_FREEZE_WAIT_MS 200
/* rmdir tries of cg_remove_tree(), with sleeps doubling from 1 ms up to this. */
#define CG_RMDIR_TRIES        12
#define CG_RMDIR_MAX_SLEEP_MS 256

/* Reads fd to its end or until size - 1 bytes, NUL-terminating. Returns the length or -errno. */
static ssize_t read_into(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

ssize_t cg_read_file_at(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if (size == 0)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read_into(fd, buf, size);
	close(fd);
	return n;
}

ssize_t cg_read_alloc_at(int dirfd, const char *name, char **out, size_t max)
{
	size_t size = 4096, n = 0;
	char *buf = NULL;
	ssize_t r = 0;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		char *more = realloc(buf, size);

		if (!more) {
			r = -ENOMEM;
			break;
		}
		buf = more;
		r = read_into(fd, buf + n, size - n);
		if (r < 0)
			break;
		n += (size_t)r;
		/* Room left over means the end was reached. */
		if (n + 1 < size || size >= max)
			break;
		size = size * 2 > max ? max : size * 2;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return (ssize_t)n;
}

int cg_write_file_at(int dirfd, const char *name, const char *s)
{
	size_t len = strlen(s);
	ssize_t r;
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		r = write(fd, s, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		close(fd);
		return (int)r;
	}
	close(fd);
	return (size_t)r == len ? 0 : -EIO;
}

/* 1 when the cgroup (or a descendant) holds a process, 0 when not, from cgroup.events; -errno. */
static int cg_is_populated(int dirfd)
{
	struct cg_events ev;
	char buf[512];
	ssize_t n;
	int r;

	n = cg_read_file_at(dirfd, "cgroup.events", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	r = cg_parse_events(buf, &ev);
	if (r < 0)
		return r;
	/* Never take a missing key for an empty cgroup. */
	if (ev.populated < 0)
		return -EINVAL;
	return ev.populated > 0;
}

void cg_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cg_open_child(int dirfd, const char *name)
{
	struct stat top, st;
	int fd;

	if (fstat(dirfd, &top) < 0)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * A mount over the name leads out of cgroupfs: never read its "cgroup.procs", never remove what
	 * is in it. The cgroup below stays, busy, as rmdir would say.
	 */
	if (fstat(fd, &st) < 0 || st.st_dev != top.st_dev) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

/*
 * Calls fn(parentfd, subfd, name, data) for every child cgroup directory.
 * Returns the first error of fn or of the walk, after visiting them all.
 */
int cg_for_each_child(int dirfd, int (*fn)(int parentfd, int subfd, const char *name, void *data), void *data)
{
	struct dirent *de;
	DIR *d;
	int r = 0, dfd;

	dfd = dup(dirfd);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	/* The dup shares dirfd's offset, which an earlier walk of a long-lived fd left at the end. */
	rewinddir(d);
	while ((de = readdir(d))) {
		int sub, rr;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = cg_open_child(dirfd, de->d_name);
		if (sub == -ENOENT)
			continue;
		rr = sub < 0 ? sub : fn(dirfd, sub, de->d_name, data);
		if (sub >= 0)
			close(sub);
		if (rr < 0 && r == 0)
			r = rr;
	}
	closedir(d);
	return r;
}

/* pidfds held at once while signalling a cgroup's processes: a fork storm must not hit RLIMIT_NOFILE. */
#define CG_SIGNAL_BATCH 256
/* cgroup.procs of one cgroup is read into this much: about 150,000 pids. */
#define CG_PROCS_BUFSIZE (1u << 20)

struct pinned {
	pid_t pid;
	int fd;
};

static int cmp_pinned(const void *a, const void *b)
{
	const struct pinned *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The next pid of cgroup.procs text at *p, or 0 at its end. Pids of other PID namespaces read as 0. */
static pid_t next_listed_pid(const char **p, bool *more)
{
	char *end;
	long pid;

	while (**p == '\n')
		(*p)++;
	pid = strtol(*p, &end, 10);
	*more = end != *p;
	*p = end;
	return *more && pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

/*
 * Signals the pinned processes that cgroup.procs still lists. The pidfds were
 * opened before this read: a pid listed now whose process is still alive
 * names that very process, so a pid reused by a stranger between the first
 * read and pidfd_open is left out, and one reused after it makes the pidfd
 * (of a dead process) fail with ESRCH.
 */
static int signal_pinned(int dirfd, struct pinned *pin, size_t n, int sig, char *buf)
{
	const char *p = buf;
	ssize_t len;
	bool more = true;
	int r = 0;

	len = cg_read_file_at(dirfd, "cgroup.procs", buf, CG_PROCS_BUFSIZE);
	if (len < 0)
		return (int)len;
	qsort(pin, n, sizeof(*pin), cmp_pinned);
	while (more) {
		struct pinned key = { .pid = next_listed_pid(&p, &more) }, *hit;

		if (key.pid == 0)
			continue;
		hit = bsearch(&key, pin, n, sizeof(*pin), cmp_pinned);
		if (!hit || hit->fd < 0)
			continue;
		if (syscall(SYS_pidfd_send_signal, hit->fd, sig, NULL, 0) < 0 && errno != ESRCH && r == 0)
			r = -errno;
		/* A pid is listed once; never signal it twice. */
		close(hit->fd);
		hit->fd = -1;
	}
	return r;
}

int cg_signal_listed(int dirfd, const char *procs, int sig)
{
	struct pinned pin[CG_SIGNAL_BATCH];
	const char *p = procs;
	bool more = true;
	char *buf;
	int r = 0;

	buf = malloc(CG_PROCS_BUFSIZE);
	if (!buf)
		return -ENOMEM;
	while (more) {
		size_t n = 0;
		int rr;

		while (n < CG_SIGNAL_BATCH && more) {
			pid_t pid = next_listed_pid(&p, &more);
			int fd;

			if (pid == 0)
				continue;
			fd = (int)syscall(SYS_pidfd_open, pid, 0);
			if (fd < 0) {
				/* Gone already: nothing to signal. */
				if (errno != ESRCH && r == 0)
					r = -errno;
				continue;
			}
			pin[n++] = (struct pinned){ pid, fd };
		}
		if (n == 0)
			continue;
		rr = signal_pinned(dirfd, pin, n, sig, buf);
		if (rr < 0 && r == 0)
			r = rr;
		for (size_t i = 0; i < n; i++)
			if (pin[i].fd >= 0)
				close(pin[i].fd);
	}
	free(buf);
	return r;
}

struct signal_walk {
	int sig;
	int depth;
};

static int signal_procs_of(int dirfd, int sig, int depth);

static int signal_child_cgroup(int parentfd, int subfd, const char *name, void *data)
{
	const struct signal_walk *w = data;
	(void)parentfd;
	(void)name;
	return signal_procs_of(subfd, w->sig, w->depth + 1);
}

static int signal_procs_of(int dirfd, int sig, int depth)
{
	char *buf;
	ssize_t n;
	int r, rr;

	if (depth > CG_MAX_DEPTH)
		return -ELOOP;
	buf = malloc(CG_PROCS_BUFSIZE);
	if (!buf)
		return -ENOMEM;
	n = cg_read_file_at(dirfd, "cgroup.procs", buf, CG_PROCS_BUFSIZE);
	r = n < 0 ? (int)n : cg_signal_listed(dirfd, buf, sig);
	free(buf);

	rr = cg_for_each_child(dirfd, signal_child_cgroup, &(struct signal_walk){ sig, depth });
	return r < 0 ? r : rr;
}

int cg_signal_all(int dirfd, int sig)
{
	return signal_procs_of(dirfd, sig, 0);
}

int cg_wait_events(int dirfd, bool or_frozen, int timeout_ms)
{
	struct cg_events ev;
	struct pollfd pfd;
	char buf[512];
	int fd, r;

	fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pfd = (struct pollfd){ .fd = fd, .events = POLLPRI };
	for (int waited = 0;; waited += 10) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		if (n < 0) {
			r = -errno;
			break;
		}
		buf[n] = '\0';
		r = cg_parse_events(buf, &ev);
		/* Never take a missing key for an empty cgroup. */
		if (r == 0 && ev.populated < 0)
			r = -EINVAL;
		if (r < 0 || ev.populated == 0 || (or_frozen && ev.frozen == 1))
			break;
		if (waited >= timeout_ms) {
			r = -ETIMEDOUT;
			break;
		}
		(void)poll(&pfd, 1, 10);
	}
	close(fd);
	return r;
}

/*
 * One round of the pre-5.14 way: a frozen cgroup cannot fork, so one pass of
 * kills over a frozen cgroup reaches everything in it; a process that slipped
 * in between reading cgroup.procs and freezing is left for the next round.
 */
static int freeze_and_kill(int dirfd)
{
	int pop = cg_is_populated(dirfd);

	if (pop <= 0)
		return pop;
	/* Without a freeze the kills below still go out; the round is only less sure to reach all. */
	if (cg_write_file_at(dirfd, "cgroup.freeze", "1") == 0)
		(void)cg_wait_events(dirfd, true, CG_FREEZE_WAIT_MS);
	(void)cg_signal_all(dirfd, SIGKILL);
	(void)cg_write_file_at(dirfd, "cgroup.freeze", "0");
	return cg_is_populated(dirfd);
}

int cg_kill_pass(int dirfd, bool force_freeze_loop)
{
	if (!force_freeze_loop) {
		int r = cg_write_file_at(dirfd, "cgroup.kill", "1");
		if (r != -ENOENT)
			return r;
	}
	return freeze_and_kill(dirfd);
}

int cg_kill_pass_pause_ms(int pass)
{
	/* Killed processes need a moment to leave: retry soon at first, then less often. */
	return pass < 10 ? 1 : 10;
}

int cg_kill_all(int dirfd, bool force_freeze_loop)
{
	int r = 0;

	for (int pass = 0; pass < CG_KILL_PASSES; pass++) {
		r = cg_kill_pass(dirfd, force_freeze_loop);
		if (r <= 0)
			return r;
		cg_sleep_ms((unsigned)cg_kill_pass_pause_ms(pass));
	}
	return -EBUSY;
}

int cg_rmdir_same(int parentfd, const char *name, int fd)
{
	struct stat want, got;

	if (fstat(fd, &want) < 0)
		return -errno;
	if (fstatat(parentfd, name, &got, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Another file system there: a mount covers the name (rmdir would say EBUSY), whatever is below. */
	if (got.st_dev != want.st_dev)
		return -EBUSY;
	/* cgroupfs has no rename: another inode under our name means ours was removed and the name reused. */
	if (got.st_ino != want.st_ino)
		return -ESTALE;
	if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

static int remove_children(int dirfd, int depth);

static int remove_child_cgroup(int parentfd, int subfd, const char *name, void *data)
{
	int r = remove_children(subfd, *(const int *)data + 1);
	if (r == 0)
		r = cg_rmdir_same(parentfd, name, subfd);
	/* Swapped under the walk: a directory stays in ours, which is busy then. */
	return r == -ESTALE ? -EBUSY : r;
}

/* Removes every cgroup below dirfd, deepest first. */
static int remove_children(int dirfd, int depth)
{
	if (depth > CG_MAX_DEPTH)
		return -ELOOP;
	return cg_for_each_child(dirfd, remove_child_cgroup, &depth);
}

int cg_remove_tree(int parentfd, const char *name, int fd)
{
	unsigned delay = 1;
	int r = 0;

	for (int i = 0; i < CG_RMDIR_TRIES; i++) {
		r = remove_children(fd, 0);
		if (r == 0)
			r = cg_rmdir_same(parentfd, name, fd);
		if (r != -EBUSY)
			return r;
		/* Through the fd we hold; one round, as the tries themselves repeat it. */
		(void)cg_kill_pass(fd, false);
		cg_sleep_ms(delay);
		if (delay < CG_RMDIR_MAX_SLEEP_MS)
			delay *= 2;
	}
	return r;
}
