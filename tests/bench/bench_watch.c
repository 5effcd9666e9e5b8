/*
 * bench_watch [idle_seconds] - watch setup time and memory, and idleness.
 *
 * Generates trees of 20k files in 2k directories and 100k files in 10k
 * directories in a temp dir and times watch_new on each (median of 5), next
 * to a bare reference in the same run: a readdir + d_type walk adding one
 * inotify watch per directory and nothing else, which is the floor. The RSS
 * each one adds is measured in a fresh process (this program re-executed),
 * so that memory freed by an earlier run cannot hide it. Then, with the
 * bigger tree watched and nothing changing, it counts wakeups, voluntary
 * context switches and CPU ticks over idle_seconds (default 10) of
 * epoll_wait. Used by scripts/bench-watch; the trees are removed at the end.
 * Then, as root, fanotify next to inotify (bench_watch_fan.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_watch.h"
#include "watch.h"

#define RUNS 5
#define MASK                                                                                                 \
	(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_ONLYDIR)

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A field of /proc/self/status, in its unit (kB for VmRSS). */
long status_field(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* utime + stime of this process, in clock ticks. */
long cpu_ticks(void)
{
	char buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* Two levels: top directories of `fanout` subdirectories each, files spread evenly. */
int make_tree(const char *root, int dirs, int files)
{
	char p[2048];
	int fanout = 50, made = 0, per = files / dirs;

	if (mkdir(root, 0755) < 0)
		return -errno;
	for (int t = 0; made < dirs; t++) {
		snprintf(p, sizeof(p), "%s/d%03d", root, t);
		if (mkdir(p, 0755) < 0)
			return -errno;
		made++;
		for (int s = 0; s < fanout - 1 && made < dirs; s++, made++) {
			snprintf(p, sizeof(p), "%s/d%03d/s%03d", root, t, s);
			if (mkdir(p, 0755) < 0)
				return -errno;
			for (int f = 0; f < per; f++) {
				char q[4096];
				int fd;

				snprintf(q, sizeof(q), "%s/file%02d.go", p, f);
				fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
				if (fd < 0)
					return -errno;
				close(fd);
			}
		}
		for (int f = 0; f < per; f++) {
			char q[4096];
			int fd;

			snprintf(q, sizeof(q), "%s/d%03d/file%02d.go", root, t, f);
			fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				return -errno;
			close(fd);
		}
	}
	return 0;
}

/* The reference: what any recursive inotify watcher must do, and no more. */
static int ref_walk(int ifd, char *path, size_t len)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (inotify_add_watch(ifd, path, MASK) < 0)
		return 0;
	n++;
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_type != DT_DIR || de->d_name[0] == '.' || len + 1 + l >= 4096)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, l + 1);
		n += ref_walk(ifd, path, len + 1 + l);
		path[len] = '\0';
	}
	closedir(d);
	return n;
}

/* One setup of either kind; returns milliseconds, and the directories watched in *count. */
double setup_once(const char *root, int nsreload, size_t *count, long *rss_kb)
{
	long before = status_field("VmRSS");
	double t0 = now_ms(), t;

	if (nsreload) {
		/* 1: inotify (as auto is on a tree this size without root), 2: fanotify, 3: auto. */
		static const enum watch_watcher kinds[] = { WATCH_INOTIFY, WATCH_INOTIFY, WATCH_FANOTIFY,
							    WATCH_AUTO };
		struct watch_opts o = { .root = root, .watcher = kinds[nsreload & 3] };
		struct watch *w;

		if (watch_new(&w, &o) < 0)
			return -1;
		if (nsreload != 3 &&
		    strcmp(watch_backend_name(w), nsreload == 2 ? "fanotify" : "inotify") != 0) {
			watch_free(w);
			return -1;
		}
		t = now_ms() - t0;
		*count = watch_count(w);
		*rss_kb = status_field("VmRSS") - before;
		watch_free(w);
	} else {
		char path[4096];
		int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

		if (ifd < 0)
			return -1;
		snprintf(path, sizeof(path), "%s", root);
		*count = (size_t)ref_walk(ifd, path, strlen(path));
		t = now_ms() - t0;
		*rss_kb = status_field("VmRSS") - before;
		close(ifd);
	}
	return t;
}

/* RSS added by one setup, in a fresh process. */
long rss_fresh(const char *self, const char *root, int nsreload)
{
	char cmd[1024], out[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' --rss '%s' %d", self, root, nsreload);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	return out[0] ? strtol(out, NULL, 10) : -1;
}

int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void idle(const char *root, int seconds)
{
	struct watch_opts o = { .root = root, .watcher = WATCH_INOTIFY }; /* auto is fanotify here as root */
	struct itimerspec its = { .it_value = { .tv_sec = seconds } };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct watch *w;
	int ep = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	long csw, ticks, wakeups = 0;

	if (ep < 0 || tfd < 0 || watch_new(&w, &o) < 0) {
		fprintf(stderr, "idle: setup failed\n");
		return;
	}
	ev.data.fd = watch_fd(w);
	epoll_ctl(ep, EPOLL_CTL_ADD, watch_fd(w), &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	timerfd_settime(tfd, 0, &its, NULL);
	csw = status_field("voluntary_ctxt_switches");
	ticks = cpu_ticks();
	for (;;) {
		int n = epoll_wait(ep, &got, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || got.data.fd == tfd)
			break;
		wakeups++;
		watch_process(w);
	}
	csw = status_field("voluntary_ctxt_switches") - csw;
	ticks = cpu_ticks() - ticks;
	printf("\nidle %d s, %zu directories watched, nothing changing (target 0):\n", seconds,
	       watch_count(w));
	printf("  wakeups of the watch fd       %ld\n", wakeups);
	printf("  voluntary context switches    %ld (the one sleep until the %d s timer counts 1)\n", csw,
	       seconds);
	printf("  CPU ticks (utime+stime)       %ld\n", ticks);
	watch_free(w);
	close(tfd);
	close(ep);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int files, dirs;
	} trees[] = { { "20k files / 2k dirs", 20000, 2000 }, { "100k files / 10k dirs", 100000, 10000 } };
	char base[] = "/tmp/nsreload-bench-watch-XXXXXX", root[2][600];
	int idle_s = 10;

	if (argc == 4 && strcmp(argv[1], "--rss") == 0) {
		size_t count;
		long kb = 0;

		if (setup_once(argv[2], atoi(argv[3]), &count, &kb) < 0)
			return 1;
		printf("%ld\n", kb);
		return 0;
	}
	if (argc > 1)
		idle_s = atoi(argv[1]);
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	printf("%-24s %8s %12s %12s %7s %8s %13s %13s\n", "tree", "dirs", "reference ms", "nsreload ms",
	       "ratio", "target", "ref RSS KB", "nsreload RSS KB");
	for (int i = 0; i < 2; i++) {
		double ref[RUNS], ns[RUNS];
		size_t cref = 0, cns = 0;
		long kb;

		snprintf(root[i], sizeof(root[i]), "%s/t%d", base, i);
		if (make_tree(root[i], trees[i].dirs, trees[i].files) < 0) {
			perror("make_tree");
			nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			return 1;
		}
		/* Interleaved, so that both see the same cache state. */
		setup_once(root[i], 0, &cref, &kb);
		for (int r = 0; r < RUNS; r++) {
			ref[r] = setup_once(root[i], 0, &cref, &kb);
			ns[r] = setup_once(root[i], 1, &cns, &kb);
		}
		qsort(ref, RUNS, sizeof(double), cmp_double);
		qsort(ns, RUNS, sizeof(double), cmp_double);
		printf("%-24s %8zu %12.1f %12.1f %6.2fx %8s %13ld %13ld\n", trees[i].name, cns, ref[RUNS / 2],
		       ns[RUNS / 2], ns[RUNS / 2] / ref[RUNS / 2], "<=1.30x", rss_fresh(argv[0], root[i], 0),
		       rss_fresh(argv[0], root[i], 1));
		if (cns != cref)
			printf("  (the reference watched %zu directories)\n", cref);
	}
	printf("RSS target: <= 8192 KB added at 100k files\n");
	if (idle_s > 0)
		idle(root[1], idle_s);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	/* fanotify next to inotify (bench_watch_fan.c): root only, in a mount namespace of its own. */
	if (!getenv("BENCH_WATCH_NO_FANOTIFY"))
		return bench_fanotify(argv[0]);
	return 0;
}
