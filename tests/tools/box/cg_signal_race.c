/*
 * cg_signal_race - settles, deterministically, whether the freeze-and-kill
 * loop (cg_signal_all in cgroup/cgfs/cgfs.c) can signal a stranger that took the
 * pid of a box member between the read of cgroup.procs and the signal.
 *
 * In a fresh PID namespace of its own it puts two members, M and R, into a
 * cgroup, reads cgroup.procs (the "stale" list), kills and reaps M, and
 * writes ns_last_pid so that the next fork, a stranger S outside the cgroup,
 * gets M's pid. Then the stale list is signalled with SIGKILL:
 *   library  through cg_signal_listed(): S must live, R must die
 *   plain    with kill() per listed pid, as the code before issue 9 did: S
 *            dies, which shows that the race is real (exit 1)
 *   rewalk   no race: a member in a sub-cgroup, and cg_signal_all() twice on
 *            one fd; the second walk must still reach it
 *
 * Usage: cg_signal_race CGROUP_PARENT MODE
 * Exit 0 when S lives and R (or the sub-cgroup member) died, 1 otherwise,
 * 2 when the set-up failed. Needs root (CLONE_NEWPID, ns_last_pid).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgfs.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Forks a child that joins the cgroup dirfd (when >= 0) and waits to be killed. */
static pid_t spawn_sleeper(int dirfd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (dirfd >= 0 && cg_write_file_at(dirfd, "cgroup.procs", "0") < 0)
		_exit(2);
	for (;;)
		pause();
}

/* Whether cgroup.procs of dirfd lists pid (waits up to 2 s for it to show). */
static int wait_listed(int dirfd, pid_t pid)
{
	char buf[4096], want[32];

	snprintf(want, sizeof(want), "%d", (int)pid);
	for (int i = 0; i < 200; i++) {
		if (cg_read_file_at(dirfd, "cgroup.procs", buf, sizeof(buf)) >= 0) {
			for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
				if (strcmp(line, want) == 0)
					return 1;
		}
		sleep_ms(10);
	}
	return 0;
}

/* Whether our child pid died by SIGKILL within 1 s (reaping it), else 0. */
static int killed(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		sleep_ms(10);
	}
	return 0;
}

static void reap(pid_t pid)
{
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

/* Gives the next fork the pid `pid` (we are PID 1 of a fresh PID namespace). */
static int set_next_pid(pid_t pid)
{
	char s[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);

	snprintf(s, sizeof(s), "%d", (int)pid - 1);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		perror("cg_signal_race: ns_last_pid");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int kill_listed_plain(const char *procs, int sig)
{
	for (const char *p = procs; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0)
			(void)kill((pid_t)pid, sig);
		p = end + (*end == '\n');
	}
	return 0;
}

static int race(int boxfd, const char *mode)
{
	char stale[4096];
	pid_t m, r, s;
	int rkilled, sgone, code;

	m = spawn_sleeper(boxfd);
	r = spawn_sleeper(boxfd);
	if (m < 0 || r < 0 || !wait_listed(boxfd, m) || !wait_listed(boxfd, r)) {
		fprintf(stderr, "cg_signal_race: the members did not join the cgroup\n");
		return 2;
	}
	if (cg_read_file_at(boxfd, "cgroup.procs", stale, sizeof(stale)) < 0)
		return 2;
	reap(m);
	if (set_next_pid(m) < 0)
		return 2;
	s = spawn_sleeper(-1);
	if (s != m) {
		fprintf(stderr, "cg_signal_race: the stranger got pid %d, not %d\n", (int)s, (int)m);
		reap(s);
		reap(r);
		return 2;
	}
	if (strcmp(mode, "plain") == 0)
		kill_listed_plain(stale, SIGKILL);
	else
		(void)cg_signal_listed(boxfd, stale, SIGKILL);
	rkilled = killed(r);
	sleep_ms(100);
	sgone = waitpid(s, NULL, WNOHANG) == s || kill(s, 0) < 0;
	printf("%s: member %d %s; stranger with the reused pid %d %s\n", mode, (int)r,
	       rkilled ? "killed" : "NOT killed", (int)s, sgone ? "KILLED" : "alive");
	code = rkilled && !sgone ? 0 : 1;
	reap(s);
	reap(r);
	return code;
}

static int rewalk(int boxfd)
{
	int subfd, code;
	pid_t x;

	if (mkdirat(boxfd, "sub", 0755) < 0 ||
	    (subfd = openat(boxfd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror("cg_signal_race: sub-cgroup");
		return 2;
	}
	x = spawn_sleeper(subfd);
	if (x < 0 || !wait_listed(subfd, x))
		return 2;
	(void)cg_signal_all(boxfd, 0);
	(void)cg_signal_all(boxfd, SIGKILL);
	code = killed(x) ? 0 : 1;
	printf("rewalk: the sub-cgroup's member %d %s by the second walk\n", (int)x,
	       code ? "NOT killed" : "killed");
	reap(x);
	close(subfd);
	(void)unlinkat(boxfd, "sub", AT_REMOVEDIR);
	return code;
}

int main(int argc, char **argv)
{
	char name[64];
	int parentfd, boxfd, st, code;
	pid_t pid;

	if (argc != 3 ||
	    (strcmp(argv[2], "library") && strcmp(argv[2], "plain") && strcmp(argv[2], "rewalk"))) {
		fprintf(stderr, "usage: cg_signal_race CGROUP_PARENT library|plain|rewalk\n");
		return 2;
	}
	snprintf(name, sizeof(name), "cg-signal-race.%d", (int)getpid());
	parentfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd < 0 || mkdirat(parentfd, name, 0755) < 0 ||
	    (boxfd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror("cg_signal_race: the test cgroup");
		return 2;
	}
	if (unshare(CLONE_NEWPID) < 0) {
		perror("cg_signal_race: unshare(CLONE_NEWPID)");
		code = 2;
		goto out;
	}
	/* The child is PID 1 of the new namespace: everything it forks dies with it. */
	pid = fork();
	if (pid == 0) {
		code = strcmp(argv[2], "rewalk") == 0 ? rewalk(boxfd) : race(boxfd, argv[2]);
		fflush(stdout);
		_exit(code);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		code = 2;
	else
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
out:
	/* Ours, made above; its processes died with the namespace. */
	for (int i = 0; i < 100 && cg_rmdir_same(parentfd, name, boxfd) == -EBUSY; i++)
		sleep_ms(10);
	close(boxfd);
	close(parentfd);
	return code;
}
