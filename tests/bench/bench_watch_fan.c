/*
 * bench_watch_fan.c - fanotify next to inotify, for scripts/bench-watch:
 *
 *  - set-up time (median of RUNS, 3 at 1M) and the RSS one watcher adds (in a
 *    fresh process) on trees of 20k, 100k and 1M files (2k, 10k, 100k
 *    directories); the goal for fanotify is <= 5 ms whatever the size;
 *  - event latency, from the open() of a file written in the 100k tree to
 *    the watcher reporting it: the first write in a directory (for fanotify a
 *    handle cache miss: open_by_handle_at) and a second one there (a hit);
 *  - nsreload's CPU while another process writes FILES files (4 KiB each,
 *    written to a temp name and renamed, as go's build cache does, spread
 *    over 256 directories) on the same file system outside the root, next to
 *    the writer's own CPU, with each backend and with none; with
 *    BENCH_WATCH_GO=1 the writer is 'go build -a net/http' (its GOCACHE and
 *    GOTMPDIR on that file system) instead.
 *
 * Root only (a whole-file-system mark needs CAP_SYS_ADMIN). Everything runs
 * on a tmpfs of its own in a private mount namespace, so that the mark sees
 * only the benchmark's files, not the machine's busy disk. BENCH_WATCH_1M=0
 * leaves out the 1M tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_watch.h"
#include "watch.h"

#define RUNS       5
#define LAT_DIRS   25
#define FILES      100000
#define CACHE_DIRS 256

static double cpu_ms(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3 +
	       (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ---- set-up ---- */

static void setup_row(const char *self, const char *name, const char *root, int runs)
{
	double ino[RUNS], fan[RUNS], aut[RUNS];
	size_t cino = 0, cfan = 0, caut = 0;
	long kb;

	setup_once(root, 1, &cino, &kb); /* the caches warm for both */
	for (int r = 0; r < runs; r++) {
		ino[r] = setup_once(root, 1, &cino, &kb);
		fan[r] = setup_once(root, 2, &cfan, &kb);
		aut[r] = setup_once(root, 3, &caut, &kb);
	}
	printf("%-24s %8zu %11.2f %11.3f %9.0fx %8.2f %11ld %11ld %6s\n", name, cino, median(ino, runs),
	       median(fan, runs), median(ino, runs) / median(fan, runs), median(aut, runs),
	       rss_fresh(self, root, 1), rss_fresh(self, root, 2), median(fan, runs) <= 5.0 ? "yes" : "NO");
}

/* ---- latency ---- */

struct seen {
	char want[64];
	double at;
};

static void on_seen(void *data, enum watch_event ev, const char *path)
{
	struct seen *s = data;

	if (ev == WATCH_CHANGED && strcmp(path, s->want) == 0)
		s->at = now_ms();
}

/* ms from writing rel in root until w reports it; -1 after 2 s. */
static double latency_once(struct watch *w, int ep, struct seen *s, const char *root, const char *rel)
{
	char p[4096];
	double t0;
	int fd;

	snprintf(s->want, sizeof(s->want), "%s", rel);
	s->at = 0;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	t0 = now_ms();
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "package x\n", 10) != 10)
		return -1;
	close(fd);
	while (!s->at && now_ms() - t0 < 2000) {
		struct epoll_event ev;

		if (epoll_wait(ep, &ev, 1, 100) > 0)
			watch_process(w);
	}
	return s->at ? s->at - t0 : -1;
}

static void latency_row(const char *root, enum watch_watcher which)
{
	struct seen s = { "", 0 };
	struct watch_opts o = { .root = root, .watcher = which, .sink = { .event = on_seen, .data = &s } };
	struct epoll_event ev = { .events = EPOLLIN };
	double cold[LAT_DIRS], warm[LAT_DIRS];
	struct watch *w;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || watch_new(&w, &o) < 0) {
		printf("latency: cannot watch %s\n", root);
		return;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, watch_fd(w), &ev);
	for (int i = 0; i < LAT_DIRS; i++) {
		char rel[64];

		/* Directories spread over the tree, none met before. */
		snprintf(rel, sizeof(rel), "d%03d/s%03d/lat.go", (i * 7) % 200, (i * 13) % 49);
		cold[i] = latency_once(w, ep, &s, root, rel);
		warm[i] = latency_once(w, ep, &s, root, rel);
	}
	printf("%-10s %14.3f %14.3f %16llu\n", watch_backend_name(w), median(cold, LAT_DIRS),
	       median(warm, LAT_DIRS), watch_fanotify_misses(w));
	watch_free(w);
	close(ep);
}

/* ---- CPU under a busy file system ---- */

static void count_changes(void *data, enum watch_event ev, const char *path)
{
	(void)path;
	if (ev == WATCH_CHANGED || ev == WATCH_OVERFLOW)
		++*(long *)data;
}

/*
 * BENCH_WATCH_GO=1: the writer is 'go build -a net/http' (about 100 packages
 * compiled anew), with its build cache and work directories in other/.
 */
static __attribute__((noreturn)) void go_writer(const char *other)
{
	char cache[4200], tmp[4200], out[4200];

	snprintf(cache, sizeof(cache), "GOCACHE=%s/gocache", other);
	snprintf(tmp, sizeof(tmp), "%s/gotmp", other);
	snprintf(out, sizeof(out), "%s/http.a", other);
	if (mkdir(tmp, 0755) < 0 || putenv(cache) != 0 || setenv("GOTMPDIR", tmp, 1) < 0 ||
	    setenv("GOTOOLCHAIN", "local", 1) < 0 || setenv("GOPROXY", "off", 1) < 0 ||
	    !freopen("/dev/null", "w", stdout))
		_exit(1);
	execlp("go", "go", "build", "-a", "-o", out, "net/http", (char *)NULL);
	_exit(127);
}

/* The writer: FILES files of 4 KiB under other/, each to a temp name then renamed, in CACHE_DIRS dirs. */
static __attribute__((noreturn)) void writer(const char *other)
{
	if (getenv("BENCH_WATCH_GO") && strcmp(getenv("BENCH_WATCH_GO"), "1") == 0)
		go_writer(other);
	static char buf[4096];
	char p[4096], q[4096];

	for (int i = 0; i < FILES; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/%02x", other, i % CACHE_DIRS);
		if (i < CACHE_DIRS && mkdir(p, 0755) < 0)
			_exit(1);
		snprintf(p, sizeof(p), "%s/%02x/f%d.tmp", other, i % CACHE_DIRS, i);
		snprintf(q, sizeof(q), "%s/%02x/f%d-a", other, i % CACHE_DIRS, i);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || close(fd) < 0 ||
		    rename(p, q) < 0)
			_exit(1);
	}
	_exit(0);
}

/* Runs the writer beside a watcher of kind which (-1: none); prints one row. */
static void busy_row(const char *root, const char *other, int which)
{
	long changes = 0;
	struct watch_opts o = { .root = root,
				.watcher = which < 0 ? WATCH_INOTIFY : (enum watch_watcher)which,
				.sink = { .event = count_changes, .data = &changes } };
	struct epoll_event ev = { .events = EPOLLIN };
	struct rusage before, after, child;
	struct watch *w = NULL;
	int ep = epoll_create1(EPOLL_CLOEXEC), status;
	double t0, wall;
	pid_t pid;
	char cmd[4200];

	if (ep < 0 || (which >= 0 && watch_new(&w, &o) < 0)) {
		printf("busy: cannot watch %s\n", root);
		return;
	}
	if (w)
		epoll_ctl(ep, EPOLL_CTL_ADD, watch_fd(w), &ev);
	getrusage(RUSAGE_SELF, &before);
	t0 = now_ms();
	pid = fork();
	if (pid == 0)
		writer(other);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (epoll_wait(ep, &ev, 1, 5) > 0 && w)
			watch_process(w);
	}
	wall = now_ms() - t0;
	/* What is still queued. */
	while (w && epoll_wait(ep, &ev, 1, 50) > 0)
		watch_process(w);
	getrusage(RUSAGE_SELF, &after);
	getrusage(RUSAGE_CHILDREN, &child);
	printf("%-10s %12.1f %14.1f %9.2f%% %10.0f %9ld %9llu\n", w ? watch_backend_name(w) : "none",
	       cpu_ms(&after) - cpu_ms(&before), cpu_ms(&child),
	       cpu_ms(&child) > 0 ? 100.0 * (cpu_ms(&after) - cpu_ms(&before)) / cpu_ms(&child) : 0.0, wall,
	       changes, watch_fanotify_misses(w));
	watch_free(w);
	close(ep);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", other);
	if (system(cmd) != 0 || mkdir(other, 0755) < 0)
		perror(other);
}

/* RUSAGE_CHILDREN adds up: each busy row runs in a child of its own. */
static void busy_row_fresh(const char *root, const char *other, int which)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		busy_row(root, other, which);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

int bench_fanotify(const char *self)
{
	static const struct {
		const char *name;
		int files, dirs;
	} trees[] = { { "20k files / 2k dirs", 20000, 2000 },
		      { "100k files / 10k dirs", 100000, 10000 },
		      { "1M files / 100k dirs", 1000000, 100000 } };
	char base[] = "/tmp/nsreload-bench-fan-XXXXXX", root[3][600], other[600];
	int ntrees = getenv("BENCH_WATCH_1M") && strcmp(getenv("BENCH_WATCH_1M"), "0") == 0 ? 2 : 3;
	char why[512];

	printf("\nfanotify next to inotify, on a tmpfs of its own (private mount namespace):\n");
	if (!mkdtemp(base) || unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("nsreload-bench", base, "tmpfs", 0, "size=8g") < 0) {
		printf("  skipped: %s (needs root)\n", strerror(errno));
		return 77;
	}
	if (watch_fanotify_usable(base, why, sizeof(why)) < 0) {
		printf("  skipped: %s\n", why);
		umount(base);
		rmdir(base);
		return 77;
	}
	printf("%-24s %8s %11s %11s %10s %8s %11s %11s %6s\n", "tree", "dirs", "inotify ms", "fanotify ms",
	       "ino/fan", "auto ms", "ino RSS KB", "fan RSS KB", "<=5ms");
	/* Small trees: inotify's set-up, what auto keeps below WATCH_FAN_AUTO_DIRS directories. */
	for (int d = 100; d <= 400; d *= 2) {
		char small[640], name[64];

		snprintf(small, sizeof(small), "%s/small%d", base, d);
		snprintf(name, sizeof(name), "%dk files / %d dirs", d / 100, d);
		if (make_tree(small, d, d * 10) == 0)
			setup_row(self, name, small, RUNS);
	}
	for (int i = 0; i < ntrees; i++) {
		snprintf(root[i], sizeof(root[i]), "%s/t%d", base, i);
		if (make_tree(root[i], trees[i].dirs, trees[i].files) < 0) {
			perror("make_tree");
			break;
		}
		setup_row(self, trees[i].name, root[i], i == 2 ? 3 : RUNS);
	}
	printf("\nevent latency in the 100k tree, open() to report, median of %d directories (ms):\n",
	       LAT_DIRS);
	printf("%-10s %14s %14s %16s\n", "backend", "first in dir", "again in dir", "handle misses");
	latency_row(root[1], WATCH_INOTIFY);
	latency_row(root[1], WATCH_FANOTIFY);
	snprintf(other, sizeof(other), "%s/other", base);
	mkdir(other, 0755);
	if (getenv("BENCH_WATCH_GO") && strcmp(getenv("BENCH_WATCH_GO"), "1") == 0)
		printf("\nCPU while 'go build -a net/http' writes its cache and work files beside the 20k "
		       "tree, "
		       "same file system:\n");
	else
		printf("\nCPU while another process writes %d files (4 KiB, temp + rename, %d dirs) beside "
		       "the "
		       "20k tree, same file system:\n",
		       FILES, CACHE_DIRS);
	printf("%-10s %12s %14s %10s %10s %9s %9s\n", "watcher", "nsreload ms", "writer CPU ms", "of writer",
	       "wall ms", "reported", "misses");
	busy_row_fresh(root[0], other, -1);
	busy_row_fresh(root[0], other, WATCH_INOTIFY);
	busy_row_fresh(root[0], other, WATCH_FANOTIFY);
	umount2(base, MNT_DETACH);
	rmdir(base);
	return 0;
}
