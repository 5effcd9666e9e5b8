/*
 * The recursive watcher on the real kernel, in mkdtemp trees, once with
 * inotify (build.poll unset: auto, which is inotify on a local disk), once
 * with the poll backend (build.poll = true) and once with fanotify
 * (build.watcher = "fanotify", as root, on a tmpfs of its own).
 *
 * inotify queues an event before the system call that causes it returns, and
 * the poll backend scans on every watch_process() when it polls everything,
 * so one watch_process() right after the file operations sees all of them
 * and nothing here sleeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "filter.h"
#include "watch.h"

struct rec {
	char *paths[256];
	size_t n;
	int overflows;
	int root_gone, root_back;
	char warnings[4096];
	int nwarn;
};

static void on_event(void *data, enum watch_event ev, const char *path)
{
	struct rec *r = data;

	switch (ev) {
	case WATCH_CHANGED:
		if (r->n < 256)
			r->paths[r->n++] = strdup(path);
		break;
	case WATCH_OVERFLOW:
		r->overflows++;
		break;
	case WATCH_ROOT_GONE:
	case WATCH_ROOT_BACK:
		if (ev == WATCH_ROOT_GONE)
			r->root_gone++;
		else
			r->root_back++;
		__attribute__((fallthrough)); /* the path is the message */
	case WATCH_WARNING:
		r->nwarn++;
		strncat(r->warnings, path, sizeof(r->warnings) - strlen(r->warnings) - 2);
		strcat(r->warnings, "\n");
		break;
	}
}

static void rec_reset(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->paths[i]);
	memset(r, 0, sizeof(*r));
}

static bool rec_has(const struct rec *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->paths[i], path) == 0)
			return true;
	return false;
}

static void rec_dump(const struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(stderr, "  changed: %s\n", r->paths[i]);
	if (r->nwarn)
		fprintf(stderr, "  warnings: %s", r->warnings);
}

/* Exactly these paths were reported, each once, in any order. */
static void expect_only(struct rec *r, const char *const *want, size_t n)
{
	bool ok = r->n == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = rec_has(r, want[i]);
	if (!ok)
		rec_dump(r);
	assert_true(ok);
}

/* Each watch_process() scans at once; the timer's own scans (which settle first) stay out of it. */
#define POLL_NEVER_FIRES (3600 * 1000)

/* The backend of the group running: WATCH_POLL_AUTO (inotify here) or WATCH_POLL_ALWAYS. */
static enum watch_poll mode;

static bool polling(void)
{
	return mode == WATCH_POLL_ALWAYS;
}

/*
 * The fanotify group: build.watcher = "fanotify", in a private mount
 * namespace whose /tmp is a tmpfs of its own, so that the whole-file-system
 * mark sees only this test's files. fan_ok: fanotify may be used here.
 */
static bool fan, fan_ok;
static char fan_why[512];

/* Whether NSRELOAD_TEST_REQUIRE names fanotify: then a machine that cannot run it fails. */
static bool fan_required(void)
{
	const char *req = getenv("NSRELOAD_TEST_REQUIRE");
	char list[512];

	if (!req)
		return false;
	snprintf(list, sizeof(list), ",%s,", req);
	return strstr(list, ",fanotify,") != NULL;
}

struct fx {
	char root[64];
	struct rec rec;
	struct watch *w;
};

static void path_of(const struct fx *f, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", f->root, rel);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void mk(const char *dir, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void mv(const char *dir, const char *from, const char *to)
{
	char a[512], b[512];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	assert_int_equal(rename(a, b), 0);
}

static void rm(const char *dir, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(unlink(p), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* fanotify knows only the directories events came from (no walk at start): their count is not checked. */
static void count_is(const struct fx *f, size_t n)
{
	if (!fan || strcmp(watch_backend_name(f->w), "fanotify") != 0)
		assert_int_equal(watch_count(f->w), n);
}

static void fan_check(void)
{
	if (fan && !fan_ok) {
		fprintf(stderr, "fanotify cannot be used here: %s\n", fan_why);
		if (fan_required())
			fail_msg("NSRELOAD_TEST_REQUIRE names fanotify");
		skip();
	}
}

static int start(struct fx *f, bool follow)
{
	struct watch_opts o = {
		.root = f->root,
		.watcher = fan ? WATCH_FANOTIFY : WATCH_AUTO,
		.follow_symlink = follow,
		.sink = { .event = on_event, .data = &f->rec },
		.poll = mode,
		.poll_interval_ms = POLL_NEVER_FIRES,
	};
	int r;

	fan_check();
	r = watch_new(&f->w, &o);
	if (r == 0 && fan && !follow)
		assert_string_equal(watch_backend_name(f->w), "fanotify");
	return r;
}

/* Runs watch_process and leaves its reports in f->rec (cleared first). */
static void process(struct fx *f)
{
	rec_reset(&f->rec);
	assert_int_equal(watch_process(f->w), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->root, "/tmp/nsreload-watch-XXXXXX");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	watch_free(f->w);
	rec_reset(&f->rec);
	rm_tree(f->root);
	free(f);
	return 0;
}

static void test_file_changes(void **state)
{
	struct fx *f = *state;
	const char *x[] = { "a/x.go" }, *y[] = { "top.go" };
	char p[512];
	int fd;

	mk(f->root, "a");
	mk(f->root, ".git");
	assert_int_equal(start(f, false), 0);
	count_is(f, 2); /* root and a; hidden .git is skipped */
	assert_true(watch_fd(f->w) >= 0);

	process(f);
	assert_int_equal(f->rec.n, 0);

	put(f->root, "a/x.go", "package a\n");
	process(f);
	expect_only(&f->rec, x, 1);

	/* Many writes, then the close (IN_CLOSE_WRITE; writes alone are not reported) give one report. */
	path_of(f, "a/x.go", p, sizeof(p));
	fd = open(p, O_WRONLY | O_APPEND);
	for (int i = 0; i < 10; i++)
		assert_int_equal(write(fd, "//\n", 3), 3);
	close(fd);
	process(f);
	expect_only(&f->rec, x, 1);

	rm(f->root, "a/x.go");
	process(f);
	expect_only(&f->rec, x, 1);

	put(f->root, ".git/index", "x");
	put(f->root, "top.go", "x");
	process(f);
	expect_only(&f->rec, y, 1);
}

static void test_new_dir(void **state)
{
	struct fx *f = *state;
	const char *want[] = { "n/g.go", "n/m/f.go" }, *h[] = { "n/m/h.go" };

	assert_int_equal(start(f, false), 0);
	count_is(f, 1);
	mk(f->root, "n");
	mk(f->root, "n/m");
	put(f->root, "n/m/f.go", "x");
	put(f->root, "n/g.go", "x");
	mk(f->root, "n/empty");
	process(f);
	expect_only(&f->rec, want, 2);
	count_is(f, 4);

	put(f->root, "n/m/h.go", "x");
	process(f);
	expect_only(&f->rec, h, 1);
}

static void test_dir_moved_in_and_out(void **state)
{
	struct fx *f = *state;
	char outside[] = "/tmp/nsreload-watch-out-XXXXXX", from[512], to[512];
	const char *want[] = { "in/a.go", "in/sub/b.go" }, *later[] = { "in/sub/c.go" }, *gone[] = { "in" };
	/* Polling cannot tell a directory moved out from one deleted, and knows its files: it names them. */
	const char *gone_files[] = { "in/a.go", "in/sub/b.go", "in/sub/c.go" };

	assert_non_null(mkdtemp(outside));
	mk(outside, "prep");
	mk(outside, "prep/sub");
	put(outside, "prep/a.go", "x");
	put(outside, "prep/sub/b.go", "x");
	assert_int_equal(start(f, false), 0);
	/* A change outside is not reported (fanotify: its directories get ignore marks, taken off below). */
	put(outside, "prep/sub/b.go", "y");
	put(outside, "prep/a.go", "y");
	process(f);
	assert_int_equal(f->rec.n, 0);

	snprintf(from, sizeof(from), "%s/prep", outside);
	snprintf(to, sizeof(to), "%s/in", f->root);
	assert_int_equal(rename(from, to), 0);
	process(f);
	expect_only(&f->rec, want, 2);
	count_is(f, 3);

	put(f->root, "in/sub/c.go", "x");
	process(f);
	expect_only(&f->rec, later, 1);

	/* Moved out: its watches go, and the directory is reported since its files left silently. */
	assert_int_equal(rename(to, from), 0);
	process(f);
	if (polling())
		expect_only(&f->rec, gone_files, 3);
	else
		expect_only(&f->rec, gone, 1);
	count_is(f, 1);
	put(outside, "prep/sub/d.go", "x");
	process(f);
	assert_int_equal(f->rec.n, 0);
	rm_tree(outside);
}

static void test_dir_deleted_and_renamed(void **state)
{
	struct fx *f = *state;
	const char *del[] = { "d/x.go", "d/e/y.go" }, *moved[] = { "b/e/z.go" };
	char p[512];

	mk(f->root, "d");
	mk(f->root, "d/e");
	put(f->root, "d/x.go", "x");
	put(f->root, "d/e/y.go", "x");
	assert_int_equal(start(f, false), 0);
	count_is(f, 3);

	mv(f->root, "d", "b");
	process(f);
	assert_true(rec_has(&f->rec, polling() ? "d/x.go" : "d"));
	assert_true(rec_has(&f->rec, "b/x.go"));
	assert_true(rec_has(&f->rec, "b/e/y.go"));
	count_is(f, 3);
	put(f->root, "b/e/z.go", "x");
	process(f);
	expect_only(&f->rec, moved, 1);
	mv(f->root, "b", "d");
	rm(f->root, "d/e/z.go");
	process(f);

	path_of(f, "d", p, sizeof(p));
	rm_tree(p);
	process(f);
	expect_only(&f->rec, del, 2);
	count_is(f, 1);
}

static void test_atomic_save(void **state)
{
	struct fx *f = *state;
	const char *want[] = { "main.go" };

	put(f->root, "main.go", "package main\n");
	assert_int_equal(start(f, false), 0);
	for (int i = 0; i < 3; i++) {
		put(f->root, "main.go.tmp.8841", "package main // saved\n");
		mv(f->root, "main.go.tmp.8841", "main.go");
		process(f);
		expect_only(&f->rec, want, 1);
		count_is(f, 1);
	}
}

static void test_vim_save(void **state)
{
	struct fx *f = *state;
	const char *want[] = { "main.go" };

	put(f->root, "main.go", "package main\n");
	assert_int_equal(start(f, false), 0);
	put(f->root, ".main.go.swp", "swap");
	process(f);
	assert_int_equal(f->rec.n, 0);
	for (int i = 0; i < 3; i++) {
		/* vim's :w with backupcopy=no: probe, back up by rename, write anew, drop the backup. */
		put(f->root, "4913", "");
		rm(f->root, "4913");
		put(f->root, ".main.go.swp", "swap again");
		mv(f->root, "main.go", "main.go~");
		put(f->root, "main.go", "package main // edited\n");
		rm(f->root, "main.go~");
		put(f->root, ".main.go.swx", "");
		rm(f->root, ".main.go.swx");
		process(f);
		expect_only(&f->rec, want, 1);
	}
	rm(f->root, ".main.go.swp");
	process(f);
	assert_int_equal(f->rec.n, 0);
}

/*
 * vim's in-place save (backupcopy=yes, or auto where it may not rename): write, fsync, fchmod, close.
 * inotify and fanotify report it once, at the close, so that the fsync between (19 ms on a busy disk)
 * does not split one save into two changes; polling reports what a scan sees.
 */
static void test_write_counts_at_close(void **state)
{
	struct fx *f = *state;
	const char *want[] = { "main.go" };
	char p[512];
	int fd;

	put(f->root, "main.go", "package main\n");
	assert_int_equal(start(f, false), 0);
	path_of(f, "main.go", p, sizeof(p));
	for (int i = 0; i < 2; i++) {
		fd = open(p, O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "package main // saved\n", 22), 22);
		assert_int_equal(fsync(fd), 0);
		if (!polling()) {
			process(f);
			assert_int_equal(f->rec.n, 0); /* still being written */
		}
		assert_int_equal(fchmod(fd, 0644), 0);
		close(fd);
		process(f);
		if (polling())
			assert_true(f->rec.n <= 1); /* the scan before the close may have had it */
		else
			expect_only(&f->rec, want, 1);
	}
}

static void test_temp_names(void **state)
{
	struct fx *f = *state;
	const char *names[] = { "a.go~", ".#a.go", "#a.go#", "a.go.swo", "5036", "a.go___jb_tmp___" };
	const char *want[] = { "4914", "a.svg" };

	assert_int_equal(start(f, false), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		put(f->root, names[i], "x");
	put(f->root, "4914", "x");
	put(f->root, "a.svg", "x");
	process(f);
	expect_only(&f->rec, want, 2);
}

static void test_real_overflow(void **state)
{
	struct fx *f = *state;
	char p[512];
	long max = 16384;
	FILE *q = fopen(fan ? "/proc/sys/fs/fanotify/max_queued_events"
			    : "/proc/sys/fs/inotify/max_queued_events",
			"r");
	const char *want[] = { "late/x.go" };

	if (q) {
		if (fscanf(q, "%ld", &max) != 1)
			max = 16384;
		fclose(q);
	}
	if (max > 200000 || polling())
		skip(); /* polling has no queue to overflow */
	mk(f->root, "s");
	assert_int_equal(start(f, false), 0);
	/*
	 * Each create-and-close is two events: overflow the queue without touching
	 * a sysctl. fanotify merges the two, so it takes twice as many files.
	 */
	for (long i = 0; i < (fan ? max : max / 2) + 100; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/s/f%ld", f->root, i);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	mk(f->root, "late"); /* its event is lost: only the rescan can find it */
	process(f);
	assert_int_equal(f->rec.overflows, 1);
	count_is(f, 3);
	put(f->root, "late/x.go", "x");
	process(f);
	assert_int_equal(f->rec.overflows, 0);
	expect_only(&f->rec, want, 1);
}

/* Events lost without IN_Q_OVERFLOW (read away here): watch_rescan() repairs the tree. */
static void test_rescan(void **state)
{
	struct fx *f = *state;
	char buf[65536];
	const char *want[] = { "new/deep/x.go", "z/sub/y.go" };

	mk(f->root, "a");
	mk(f->root, "a/sub");
	mk(f->root, "gone");
	/* Events are lost by reading inotify's own fd: inotify alone, not nested beside the timer. */
	if (!polling())
		mode = WATCH_POLL_NEVER;
	assert_int_equal(start(f, false), 0);
	if (mode == WATCH_POLL_NEVER)
		mode = WATCH_POLL_AUTO;
	count_is(f, 4);

	mk(f->root, "new");
	mk(f->root, "new/deep");
	mv(f->root, "a", "z");
	assert_int_equal(rmdir(strcat(strcpy(buf, f->root), "/gone")), 0);
	while (!polling() && read(watch_fd(f->w), buf, sizeof(buf)) > 0)
		;

	rec_reset(&f->rec);
	assert_int_equal(watch_rescan(f->w), 0);
	assert_int_equal(f->rec.overflows, 1);
	count_is(f, 5); /* root, z, z/sub, new, new/deep */

	put(f->root, "new/deep/x.go", "x");
	put(f->root, "z/sub/y.go", "x");
	process(f);
	expect_only(&f->rec, want, 2);
}

static void test_symlinks(void **state)
{
	struct fx *f = *state;
	char outside[] = "/tmp/nsreload-watch-out-XXXXXX", p[512];
	const char *want[] = { "out/x.go" };

	assert_non_null(mkdtemp(outside));
	mk(f->root, "a");
	mk(f->root, "a/b");
	path_of(f, "a/b/loop", p, sizeof(p));
	assert_int_equal(symlink("../..", p), 0);
	path_of(f, "out", p, sizeof(p));
	assert_int_equal(symlink(outside, p), 0);

	/* Not followed by default. */
	assert_int_equal(start(f, false), 0);
	count_is(f, 3);
	watch_free(f->w);
	f->w = NULL;

	rec_reset(&f->rec);
	assert_int_equal(start(f, true), 0);
	count_is(f, 4); /* root, a, a/b, out */
	if (!strstr(f->rec.warnings, "symlink loop"))
		rec_dump(&f->rec);
	assert_non_null(strstr(f->rec.warnings, "symlink loop"));

	put(outside, "x.go", "x");
	process(f);
	expect_only(&f->rec, want, 1);

	/* A symlink to a directory made later is followed too, loops still caught. */
	path_of(f, "a/up", p, sizeof(p));
	assert_int_equal(symlink("..", p), 0);
	process(f);
	count_is(f, 4);
	rm_tree(outside);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/*
 * In a child, in a new user namespace whose own inotify watch limit is 5
 * (/proc/sys/user is per namespace), so nothing outside changes. Exit 0 on
 * success, 77 when user namespaces are not available, 1 on a failure.
 */
static int enospc_child(const char *root)
{
	char before[64] = "", after[64] = "", map[32];
	struct rec rec = { 0 };
	struct watch_opts o = { .root = root, .sink = { .event = on_event, .data = &rec } };
	struct watch *w;
	unsigned uid = (unsigned)geteuid(); /* before unshare, which makes it the overflow uid */
	int ok;

	if (readlink("/proc/self/ns/user", before, sizeof(before) - 1) < 0 || unshare(CLONE_NEWUSER) < 0)
		return 77;
	/* Only write the limit once certain it is this namespace's copy. */
	if (readlink("/proc/self/ns/user", after, sizeof(after) - 1) < 0 || strcmp(before, after) == 0)
		return 77;
	snprintf(map, sizeof(map), "0 %u 1", uid);
	write_str("/proc/self/setgroups", "deny");
	if (write_str("/proc/self/uid_map", map) < 0)
		return 77;
	if (write_str("/proc/sys/user/max_inotify_watches", "5") < 0)
		return 77;
	if (watch_new(&w, &o) < 0)
		return 1;
	ok = watch_count(w) == 5 && rec.nwarn == 1 && strstr(rec.warnings, "fs.inotify.max_user_watches") &&
	     strstr(rec.warnings, "sysctl fs.inotify.max_user_watches=524288") &&
	     strstr(rec.warnings, "/etc/sysctl.d") && strstr(rec.warnings, "allows 5");
	if (!ok)
		fprintf(stderr, "count %zu, warnings: %s\n", watch_count(w), rec.warnings);
	/* It goes on with what it watches. */
	put(root, "top.go", "x");
	rec_reset(&rec);
	ok = ok && watch_process(w) == 0 && rec.n == 1 && rec_has(&rec, "top.go") && rec.nwarn == 0;
	watch_free(w);
	rec_reset(&rec);
	return ok ? 0 : 1;
}

/* The root deleted: one ROOT_GONE, no watch left; recreated: one ROOT_BACK and its new tree watched. */
static void test_root_deleted_and_back(void **state)
{
	struct fx *f = *state;
	const char *later[] = { "d/y.go" };

	mk(f->root, "d");
	put(f->root, "d/x.go", "x");
	assert_int_equal(start(f, false), 0);
	count_is(f, 2);

	rm_tree(f->root);
	process(f);
	assert_int_equal(f->rec.root_gone, 1);
	count_is(f, 0);
	assert_non_null(strstr(f->rec.warnings, "waits for"));

	assert_int_equal(mkdir(f->root, 0755), 0);
	mk(f->root, "d");
	process(f);
	assert_int_equal(f->rec.root_back, 1);
	assert_true(watch_count(f->w) >= 1);
	put(f->root, "d/y.go", "x");
	process(f);
	if (watch_count(f->w) == 2)
		expect_only(&f->rec, later, 1);
	/* Gone a second time: said again. */
	rm_tree(f->root);
	process(f);
	assert_int_equal(f->rec.root_gone, 1);
	assert_int_equal(mkdir(f->root, 0755), 0);
	process(f);
	assert_int_equal(f->rec.root_back, 1);
}

/* The lowest fd number not in use: a soft RLIMIT_NOFILE of it makes the next open fail with EMFILE. */
static int lowest_free_fd(void)
{
	int fd = 0;

	while (fcntl(fd, F_GETFD) >= 0)
		fd++;
	return fd;
}

/*
 * Out of fds while a new tree appears: said once, nothing dropped; with fds
 * back, the next event rescans and the tree is watched.
 */
static void test_emfile_then_retry(void **state)
{
	struct fx *f = *state;
	const char *later[] = { "n/a/x.go" };
	struct rlimit old, low;
	char p[512];

	mk(f->root, "d");
	assert_int_equal(start(f, false), 0);
	count_is(f, 2);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest_free_fd();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	mk(f->root, "n");
	mk(f->root, "n/a");
	process(f);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_non_null(strstr(f->rec.warnings, "out of file descriptors"));
	/* n itself is watched (no fd needed, but polling lists it), what is below it could not be read. */
	count_is(f, polling() ? 2 : 3);

	put(f->root, "d/y.go", "x");
	process(f);
	assert_non_null(strstr(f->rec.warnings, "file descriptors are available again"));
	count_is(f, 4);
	put(f->root, "n/a/x.go", "x");
	process(f);
	expect_only(&f->rec, later, 1);
	path_of(f, "n", p, sizeof(p));
	rm_tree(p);
}

static void test_enospc(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	if (polling() || fan)
		skip(); /* an inotify limit */
	for (int i = 0; i < 10; i++) {
		char d[8];

		snprintf(d, sizeof(d), "d%d", i);
		mk(f->root, d);
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(enospc_child(f->root));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	struct watch_opts o = { .root = "/nonexistent/nsreload" };
	struct watch *w = NULL;

	assert_int_equal(watch_new(&w, &o), -ENOENT);
	assert_null(w);
	assert_int_equal(watch_new(&w, NULL), -EINVAL);
	assert_int_equal(watch_process(NULL), -EINVAL);
	assert_int_equal(watch_count(NULL), 0);
	watch_free(NULL);

	/* The root itself removed: a warning, no watches, no crash. */
	assert_int_equal(start(f, false), 0);
	assert_int_equal(rmdir(f->root), 0);
	process(f);
	count_is(f, 0);
	assert_non_null(strstr(f->rec.warnings, "was deleted"));
	assert_int_equal(mkdir(f->root, 0700), 0);
}

/* With the real filter on air's defaults, and an ignore file that changes. */
static void test_filter(void **state)
{
	struct fx *f = *state;
	struct filter_opts fo = { .vcs_ignore = true };
	struct config c;
	struct filter *flt = NULL;
	struct watch_opts o = { .root = f->root,
				.watcher = fan ? WATCH_FANOTIFY : WATCH_AUTO,
				.sink = { .event = on_event, .data = &f->rec },
				.poll = mode };
	const char *go[] = { "pkg/x.go" }, *gen[] = { "gen/y.go" };
	char err[256];

	fan_check();
	mk(f->root, "tmp");
	mk(f->root, "vendor");
	mk(f->root, "pkg");
	mk(f->root, "gen");
	put(f->root, ".gitignore", "gen/\n");
	assert_int_equal(config_init(&c), 0);
	free(c.root);
	c.root = strdup(f->root);
	assert_int_equal(config_finalize(&c), 0);
	assert_int_equal(filter_new(&flt, &c, &fo, err, sizeof(err)), 0);
	o.filter = flt;
	assert_int_equal(watch_new(&f->w, &o), 0);
	count_is(f, 2); /* root and pkg */

	put(f->root, "tmp/main", "x");
	put(f->root, "pkg/x.go", "x");
	put(f->root, "pkg/notes.txt", "x");
	process(f);
	expect_only(&f->rec, go, 1);

	/* gen/ is no longer ignored: it is watched from now on. */
	put(f->root, ".gitignore", "# nothing\n");
	process(f);
	count_is(f, 3);
	put(f->root, "gen/y.go", "x");
	process(f);
	expect_only(&f->rec, gen, 1);

	/* And ignored again: no longer watched. */
	put(f->root, ".gitignore", "gen/\n");
	process(f);
	count_is(f, 2);

	watch_free(f->w);
	f->w = NULL;
	filter_free(flt);
	config_free(&c);
}

/*
 * Polling: a file written in place, in a directory whose mtime is old (so
 * that its listing is trusted and only its files are stat'ed), and a file
 * added there; the root's deletion is said as "deleted or moved away".
 */
static void test_poll_in_place(void **state)
{
	struct fx *f = *state;
	const char *x[] = { "a/x.go" }, *y[] = { "a/y.go" };
	struct timespec old[2] = { { .tv_sec = 946684800 }, { .tv_sec = 946684800 } };
	char p[512];
	int fd;

	if (!polling())
		skip();
	mk(f->root, "a");
	put(f->root, "a/x.go", "package a\n");
	path_of(f, "a", p, sizeof(p));
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	assert_int_equal(start(f, false), 0);
	process(f);
	assert_int_equal(f->rec.n, 0);

	path_of(f, "a/x.go", p, sizeof(p));
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "//\n", 3), 3);
	close(fd);
	process(f);
	expect_only(&f->rec, x, 1);

	put(f->root, "a/y.go", "x");
	process(f);
	expect_only(&f->rec, y, 1);
	count_is(f, 2);
	assert_string_equal(watch_backend_name(f->w), "poll");
}

/* auto's pick in a child in a new user namespace (no whole-file-system mark there): 0 inotify, 77, 1. */
static int auto_userns_child(const char *root)
{
	struct watch_opts o = { .root = root };
	struct watch *w;
	int ok;

	if (unshare(CLONE_NEWUSER) < 0)
		return 77;
	if (watch_new(&w, &o) < 0)
		return 1;
	ok = strcmp(watch_backend_name(w), "inotify") == 0;
	watch_free(w);
	return ok ? 0 : 1;
}

/*
 * build.watcher = auto: inotify up to WATCH_FAN_AUTO_DIRS directories,
 * fanotify past them (hidden ones not counted), and inotify in a user
 * namespace whatever the size.
 */
static void test_auto(void **state)
{
	struct fx *f = *state;
	struct watch_opts o = { .root = f->root, .sink = { .event = on_event, .data = &f->rec } };
	const char *want[] = { "d7/x.go" };
	int status;
	pid_t pid;

	if (!fan)
		skip();
	fan_check();
	mk(f->root, ".git");
	for (int i = 0; i < WATCH_FAN_AUTO_DIRS; i++) {
		char d[32];

		snprintf(d, sizeof(d), i < 10 ? "d%d" : ".git/d%d", i);
		mk(f->root, d);
	}
	assert_int_equal(watch_new(&f->w, &o), 0);
	assert_string_equal(watch_backend_name(f->w), "inotify");
	watch_free(f->w);
	for (int i = 10; i < WATCH_FAN_AUTO_DIRS; i++) {
		char d[32];

		snprintf(d, sizeof(d), "d%d", i);
		mk(f->root, d);
	}
	assert_int_equal(watch_new(&f->w, &o), 0);
	assert_string_equal(watch_backend_name(f->w), "fanotify");
	put(f->root, "d7/x.go", "x");
	process(f);
	expect_only(&f->rec, want, 1);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(auto_userns_child(f->root));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 77)
		assert_int_equal(WEXITSTATUS(status), 0);
}

static int group_inotify(void **state)
{
	(void)state;
	mode = WATCH_POLL_AUTO;
	return 0;
}

static int group_poll(void **state)
{
	(void)state;
	mode = WATCH_POLL_ALWAYS;
	return 0;
}

/* fanotify, in a mount namespace of its own where /tmp is a fresh tmpfs (see fan). */
static int group_fanotify(void **state)
{
	(void)state;
	mode = WATCH_POLL_AUTO;
	fan = true;
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("nsreload-test", "/tmp", "tmpfs", 0, "size=256m,mode=1777") < 0) {
		snprintf(fan_why, sizeof(fan_why), "no private tmpfs: %s (needs root)", strerror(errno));
		return 0;
	}
	fan_ok = watch_fanotify_usable("/tmp", fan_why, sizeof(fan_why)) == 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_moved_in_and_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_deleted_and_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vim_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_counts_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temp_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_deleted_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emfile_then_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("inotify", tests, group_inotify, NULL);

	failed += cmocka_run_group_tests_name("poll", tests, group_poll, NULL);
	/* Last: it leaves this process in its own mount namespace. */
	return failed + cmocka_run_group_tests_name("fanotify", tests, group_fanotify, NULL);
}
