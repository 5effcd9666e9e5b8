/*
 * bench_poll [idle_seconds] - what polling costs (build.poll = true).
 *
 * Generates trees of 2k, 20k and 100k files (10 per directory) in a temp dir,
 * lets their directory mtimes age past the racy window (so that, as in a
 * real tree, a scan trusts the listings and stats the files only), and for
 * each one, with the poll backend at the default interval (500 ms):
 *  - CPU per scan: the process CPU time of one watch_process() that finds
 *    nothing, median of 11 (and its wall time);
 *  - detection latency: a file is appended to at a random moment of the
 *    interval, driven by the real timerfd in an epoll loop, and the time until
 *    the sink reports it, median and maximum of 7. A scan that finds a change
 *    is followed by a settling scan 25 ms later before the batch goes out
 *    (watch_poll.c), so the bound is interval + 2 scans + 25 ms;
 *  - the floor: the same system calls with no bookkeeping (per directory an
 *    open of its path, an fstat and a close, per file an fstatat), CPU time,
 *    median of 11; the ratio says what the backend adds to the kernel's part;
 *  - the idle cost: the CPU the timer-driven loop takes over idle_seconds
 *    (default 10) on the 20k tree with nothing changing, as a share of one
 *    CPU.
 * Used by scripts/bench-poll; the trees are removed at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

#define SCANS  11
#define TRIALS 7

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int touch(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* dirs directories of 10 files each: top directories of 50, as bench_watch makes them. */
static int make_tree(const char *root, int dirs)
{
	char p[1024], q[1200];
	int made = 0;

	if (mkdir(root, 0755) < 0)
		return -errno;
	for (int t = 0; made < dirs; t++) {
		snprintf(p, sizeof(p), "%s/d%03d", root, t);
		if (mkdir(p, 0755) < 0)
			return -errno;
		for (int s = 0; s < 50 && made < dirs; s++, made++) {
			if (s > 0) {
				snprintf(p, sizeof(p), "%s/d%03d/s%03d", root, t, s);
				if (mkdir(p, 0755) < 0)
					return -errno;
			}
			for (int f = 0; f < 10; f++) {
				snprintf(q, sizeof(q), "%s/file%02d.go", p, f);
				if (touch(q, "") < 0)
					return -errno;
			}
			snprintf(p, sizeof(p), "%s/d%03d", root, t);
		}
	}
	return 0;
}

/* One bare scan of make_tree's layout: what any poller must ask the kernel. CPU ms. */
static double floor_scan(const char *root, int dirs)
{
	double c = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
	char p[1024], name[32];
	struct stat st;
	int made = 0;

	for (int t = 0; made < dirs; t++) {
		for (int s = 0; s < 50 && made < dirs; s++, made++) {
			int fd;

			if (s > 0)
				snprintf(p, sizeof(p), "%s/d%03d/s%03d", root, t, s);
			else
				snprintf(p, sizeof(p), "%s/d%03d", root, t);
			fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0)
				continue;
			(void)fstat(fd, &st);
			for (int f = 0; f < 10; f++) {
				snprintf(name, sizeof(name), "file%02d.go", f);
				(void)fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW);
			}
			close(fd);
		}
	}
	return clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c;
}

struct seen {
	const char *want;
	double at;
};

static void on_event(void *data, enum watch_event ev, const char *path)
{
	struct seen *s = data;

	if (ev == WATCH_CHANGED && s->want && strcmp(path, s->want) == 0)
		s->at = clock_ms(CLOCK_MONOTONIC);
}

/* Runs the timer-driven loop until deadline (CLOCK_MONOTONIC ms) or until s->at is set. */
static void run_until(struct watch *w, int ep, double deadline, struct seen *s)
{
	for (;;) {
		struct epoll_event got;
		double left = deadline - clock_ms(CLOCK_MONOTONIC);
		int n;

		if (left <= 0 || (s && s->at > 0))
			return;
		n = epoll_wait(ep, &got, 1, (int)left + 1);
		if (n > 0)
			watch_process(w);
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void bench_tree(const char *name, const char *root, int dirs, int idle_s)
{
	struct seen seen = { 0 };
	struct watch_opts o = { .root = root,
				.poll = WATCH_POLL_ALWAYS,
				.sink = { .event = on_event, .data = &seen } };
	struct epoll_event ev = { .events = EPOLLIN };
	double cpu[SCANS], wall[SCANS], flo[SCANS], lat[TRIALS], setup, t0;
	char path[2048];
	struct watch *w;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	setup = clock_ms(CLOCK_MONOTONIC);
	if (ep < 0 || watch_new(&w, &o) < 0) {
		fprintf(stderr, "%s: setup failed\n", name);
		return;
	}
	setup = clock_ms(CLOCK_MONOTONIC) - setup;
	for (int i = 0; i < SCANS; i++) {
		double c = clock_ms(CLOCK_PROCESS_CPUTIME_ID), m = clock_ms(CLOCK_MONOTONIC);

		watch_process(w); /* not from the timer: one scan, reported at once */
		cpu[i] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c;
		wall[i] = clock_ms(CLOCK_MONOTONIC) - m;
		flo[i] = floor_scan(root, dirs);
	}
	qsort(cpu, SCANS, sizeof(double), cmp_double);
	qsort(flo, SCANS, sizeof(double), cmp_double);
	qsort(wall, SCANS, sizeof(double), cmp_double);

	ev.data.fd = watch_fd(w);
	epoll_ctl(ep, EPOLL_CTL_ADD, watch_fd(w), &ev);
	seen.want = "d000/s001/file03.go";
	snprintf(path, sizeof(path), "%s/%s", root, seen.want);
	srand(42);
	for (int i = 0; i < TRIALS; i++) {
		double at = clock_ms(CLOCK_MONOTONIC) + rand() % WATCH_POLL_INTERVAL_MS;

		seen.at = 0;
		run_until(w, ep, at, NULL);
		t0 = clock_ms(CLOCK_MONOTONIC);
		touch(path, "//\n");
		run_until(w, ep, t0 + 10000, &seen);
		lat[i] = seen.at > 0 ? seen.at - t0 : 10000;
		run_until(w, ep, clock_ms(CLOCK_MONOTONIC) + 100, NULL); /* let the settling end */
	}
	qsort(lat, TRIALS, sizeof(double), cmp_double);
	printf("%-22s %7zu %9.1f %9.2f %9.2f %9.2f %8.2fx %9.1f %9.1f %8.2f%%\n", name, watch_count(w), setup,
	       cpu[SCANS / 2], wall[SCANS / 2], flo[SCANS / 2], cpu[SCANS / 2] / flo[SCANS / 2],
	       lat[TRIALS / 2], lat[TRIALS - 1],
	       100.0 * cpu[SCANS / 2] / (cpu[SCANS / 2] + WATCH_POLL_INTERVAL_MS));
	if (idle_s > 0) {
		double c = clock_ms(CLOCK_PROCESS_CPUTIME_ID), m = clock_ms(CLOCK_MONOTONIC);

		seen.want = NULL;
		run_until(w, ep, m + idle_s * 1000.0, NULL);
		c = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c;
		m = clock_ms(CLOCK_MONOTONIC) - m;
		printf("  idle %d s at the default interval (%d ms), nothing changing: %.0f ms of CPU, "
		       "%.2f%% of one CPU\n",
		       idle_s, WATCH_POLL_INTERVAL_MS, c, 100.0 * c / m);
	}
	watch_free(w);
	close(ep);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int dirs;
	} trees[] = { { "2k files / 200 dirs", 200 },
		      { "20k files / 2k dirs", 2000 },
		      { "100k files / 10k dirs", 10000 } };
	char base[] = "/tmp/nsreload-bench-poll-XXXXXX", root[3][256];
	int idle_s = argc > 1 ? atoi(argv[1]) : 10;

	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(root[i], sizeof(root[i]), "%s/t%d", base, i);
		if (make_tree(root[i], trees[i].dirs) < 0) {
			perror("make_tree");
			nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			return 1;
		}
	}
	/* Past the racy window (2 s): the listings are trusted, as in a tree not just made. */
	sleep(3);
	printf("poll backend, interval %d ms; times in ms, medians of %d scans and %d changes\n",
	       WATCH_POLL_INTERVAL_MS, SCANS, TRIALS);
	printf("%-22s %7s %9s %9s %9s %9s %9s %9s %9s %9s\n", "tree", "dirs", "setup", "CPU/scan",
	       "wall/scan", "floor", "/floor", "latency", "lat. max", "idle CPU");
	for (int i = 0; i < 3; i++)
		bench_tree(trees[i].name, root[i], trees[i].dirs, i == 1 ? idle_s : 0);
	printf("latency bound: interval + 2 scans + 25 ms (a change is reported after one settling scan)\n");
	printf("floor: CPU of the same stat calls with no bookkeeping; idle CPU column: CPU/scan / (CPU/scan "
	       "+ "
	       "interval)\n");
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
