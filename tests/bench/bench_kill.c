/*
 * bench_kill - how long each rung takes from "stop" to "box empty, everything
 * reaped", next to the kernel's own teardown of the same tree.
 *
 * For every tree size and run there is one reference measurement and one per
 * rung, in an order that rotates from run to run so that drift in the host
 * (caches, other load) spreads over all of them:
 *  - reference: a fresh cgroup of our own, the tree cloned into it
 *    (CLONE_INTO_CGROUP, or fork plus a write to cgroup.procs), cgroup.kill,
 *    and a wait for "populated 0" in cgroup.events. No nsreload code runs.
 *  - a rung: box_spawn() of the tree, box_kill(), then the loop a supervisor
 *    runs: poll on box_fds() plus a signalfd for SIGCHLD with a 1 ms timeout,
 *    box_process() on every wake-up, until box_is_empty().
 * Neither wait relies on cgroup.events notifications alone (see look_ms).
 * The clock starts right before the kill and stops at "empty".
 *
 * Afterwards, processes whose environment still holds the run's unique token
 * are survivors, and children of ours left as zombies SETTLE_MS after "empty"
 * are unreaped: the contract says neither may exist.
 *
 * Safety: the only cgroups we write to lie under
 * <cgroup2 mount>/nsreload-bench.<pid>, which we create and remove, and each
 * write is preceded by a check that our own cgroup is not inside the target.
 * We signal only processes found by our token (through a pidfd) or our own
 * pidfds; leftover trees die of their own alarm() in any case.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"
#include "cgv1.h"

#define MAX_SIZES        8
#define NROWS            6 /* the reference and five rungs */
#define READY_TIMEOUT_MS 60000
#define SETTLE_MS        10
#define DRAIN_MS         5000
#define TOKEN_KEY        "NSRELOAD_BENCH_TOKEN"

struct cell {
	uint64_t *ns;      /* one per successful run */
	uint64_t *wakeups; /* box_process() calls per stop, one per successful run: a spinning loop shows */
	unsigned n;
	unsigned failed;
	unsigned survivors;
	unsigned unreaped;
	int seen; /* token holders just before the first kill of the cell; -1 not counted */
	char err[256];
};

struct row {
	const char *name;
	enum box_rung rung; /* BOX_RUNG_AUTO marks the reference */
	double target;      /* ratio to the reference it should stay within; 0 for the reference */
	const char *subdir; /* its own cgroup parent: two cgroup contexts of one pid must not share one */
	struct box_ctx *ctx;
	bool wanted;
	bool unavailable;
	char why[512];
	struct cell cells[MAX_SIZES];
};

struct sample {
	uint64_t ns;
	uint64_t t0; /* CLOCK_MONOTONIC of the stop: -v prints it, to find the run in `perf record -k mono` */
	unsigned survivors;
	unsigned unreaped;
	unsigned wakeups;
	bool count_seen; /* asks for seen: a sanity check that the token scan is not blind */
	int seen;
	char err[256];
};

static struct row rows[NROWS] = {
	{ .name = "reference", .rung = BOX_RUNG_AUTO, .subdir = "ref", .wanted = true },
	{ .name = "cgroup2", .rung = BOX_RUNG_CGROUP2, .target = 1.2, .subdir = "cgroup2", .wanted = true },
	{ .name = "pidns", .rung = BOX_RUNG_PIDNS, .target = 2.0, .subdir = "pidns", .wanted = true },
	{ .name = "cgroup2+pidns",
	  .rung = BOX_RUNG_CGROUP2_PIDNS,
	  .target = 2.0,
	  .subdir = "cgroup2-pidns",
	  .wanted = true },
	{ .name = "pgroup", .rung = BOX_RUNG_PGROUP, .target = 2.0, .subdir = "pgroup", .wanted = true },
	/* Its context goes below bench_v1 (a v1 freezer directory of ours), not below subdir. */
	{ .name = "cgroup1", .rung = BOX_RUNG_CGROUP1, .target = 2.0, .subdir = "cgroup1", .wanted = true },
};

static volatile sig_atomic_t interrupted;
static int sig_fd = -1;
static int devnull = -1;
static char cg_mount[PATH_MAX];
static char cg_mount_root[PATH_MAX];
static char bench_dir[PATH_MAX];
/* The cgroup1 row's parent: nsreload-bench.<pid> below our own v1 freezer cgroup, fd -1 when none. */
static struct cgv1_cg bench_v1_own = { .fd = -1 }, bench_v1 = { .fd = -1 };
static int ref_fd = -1;
static unsigned ref_seq;
static const char *tree_path;
static unsigned stop_timeout_ms = 30000;
/*
 * How long a measuring wait sleeps between looks when nothing wakes it. The
 * kernel sends at most one cgroup.events notification per 10 ms
 * (CGROUP_FILE_NOTIFY_MIN_INTV) and the spawn's "populated 1" usually opens
 * that window, so POLLPRI alone would time the rate limit, not the teardown.
 * The reference looks every 50 us, fine enough for a one-process tree and far
 * from spinning a CPU the teardown needs; the box loop looks every 1 ms, as a
 * supervisor could afford to. -P makes both 100 ms: what a purely
 * event-driven loop sees.
 */
static int look_ms = 1;
static bool verbose;
static long ref_look_ns = 50000;
static unsigned token_seq;
static uint32_t token_salt;
static char envbuf[1 << 17];

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static __attribute__((format(printf, 1, 2))) void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench_kill: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static __attribute__((format(printf, 3, 4))) void seterr(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	if (buf[0])
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	return box_now_ns();
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
		;
}

/* SIGCHLD stays blocked and queues here, so one poll() sees box fds and child exits alike. */
static void drain_sigchld(void)
{
	struct signalfd_siginfo si[16];
	while (read(sig_fd, si, sizeof(si)) > 0)
		;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0) {
				r = -errno;
				close(fd);
				return r;
			}
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* The first cgroup2 mount, with the root of the hierarchy it shows (a cgroup namespace moves it). */
static int find_cgroup2(void)
{
	char line[3 * PATH_MAX], root[PATH_MAX], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
			continue;
		unescape(root);
		unescape(mnt);
		snprintf(cg_mount, sizeof(cg_mount), "%s", mnt);
		snprintf(cg_mount_root, sizeof(cg_mount_root), "%s", strcmp(root, "/") == 0 ? "" : root);
		fclose(f);
		return 0;
	}
	fclose(f);
	return -ENOENT;
}

/*
 * Our own cgroup as a directory under the mount, read afresh every time: it
 * is what a kill must never reach. "" when it is outside what the mount shows,
 * which no directory under the mount can then contain.
 */
static void own_cgroup_dir(char *out, size_t size)
{
	char buf[8192], *line;
	size_t rl = strlen(cg_mount_root);

	out[0] = '\0';
	if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line += 3;
		if (rl && (strncmp(line, cg_mount_root, rl) != 0 || (line[rl] != '/' && line[rl] != '\0')))
			return;
		line += rl;
		snprintf(out, size, "%s%s", cg_mount, strcmp(line, "/") == 0 ? "" : line);
		return;
	}
}

/* Whether we may kill, or move processes into, the cgroup at dir: ours, and not holding us. */
static bool cgroup_is_safe(const char *dir)
{
	char own[PATH_MAX + 16];
	size_t n = strlen(bench_dir), m = strlen(dir);

	if (!bench_dir[0] || strncmp(dir, bench_dir, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
		return false;
	own_cgroup_dir(own, sizeof(own));
	/* Unknown means unsafe: the one cgroup a mistake here takes down is the one holding our shell. */
	if (!own[0] && cg_mount_root[0] == '\0')
		return false;
	return !(strncmp(own, dir, m) == 0 && (own[m] == '/' || own[m] == '\0'));
}

static int populated(int events_fd)
{
	char buf[256];
	ssize_t n = pread(events_fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (char *p = buf; p;) {
		if (strncmp(p, "populated ", 10) == 0)
			return p[10] != '0';
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EPROTO;
}

/*
 * Polls cgroup.events (POLLPRI, then a re-read: the pread also re-arms it)
 * until "populated 0", looking at least every look_ns.
 */
static int wait_unpopulated(int events_fd, uint64_t deadline, long look_ns)
{
	struct timespec ts = { .tv_sec = look_ns / 1000000000L, .tv_nsec = look_ns % 1000000000L };

	for (;;) {
		struct pollfd p = { .fd = events_fd, .events = POLLPRI };
		int r = populated(events_fd);
		if (r <= 0)
			return r;
		if (interrupted)
			return -EINTR;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		(void)ppoll(&p, 1, &ts, NULL);
	}
}

static int cgroup_kill(const char *dir, int fd)
{
	int kfd, r = 0;

	if (!cgroup_is_safe(dir))
		return -EPERM;
	kfd = openat(fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
	if (kfd < 0)
		return -errno;
	if (write(kfd, "1", 1) != 1)
		r = -errno;
	close(kfd);
	return r;
}

/*
 * Removes one of our cgroup directories and whatever is below it. A directory
 * that still holds processes is killed first: only ours pass cgroup_is_safe().
 */
static int remove_cgroup(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;

	if (depth > 8)
		return -ELOOP;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) < sizeof(sub))
			(void)remove_cgroup(sub, depth + 1);
	}
	closedir(d);
	for (unsigned i = 0, delay = 1; i < 12; i++, delay *= 2) {
		int fd, ev;
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ev = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
		if (ev >= 0 && populated(ev) > 0 && cgroup_kill(dir, fd) == 0)
			(void)wait_unpopulated(ev, now_ns() + 1000000000ull, 100000000L);
		if (ev >= 0)
			close(ev);
		close(fd);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sleep_ms(delay < 200 ? delay : 200);
	}
	return -EBUSY;
}

/* Whether /proc/<pid>/environ holds exactly entry; a zombie's is empty, so only the living count. */
static bool environ_has(pid_t pid, const char *entry)
{
	char path[64];
	ssize_t n;
	size_t len = strlen(entry);

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	n = read_file(path, envbuf, sizeof(envbuf));
	if (n <= 0)
		return false;
	for (char *p = envbuf; p < envbuf + n; p += strlen(p) + 1)
		if (strlen(p) == len && memcmp(p, entry, len) == 0)
			return true;
	return false;
}

/* Every live process holding entry; kills them when kill_them (through a pidfd, checked again). */
static int scan_token(const char *entry, bool kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int pfd;
		if (*end || pid <= 0 || pid == getpid() || !environ_has((pid_t)pid, entry))
			continue;
		found++;
		if (!kill_them)
			continue;
		/* Checked again through the pidfd's lifetime: a recycled pid is not ours to kill. */
		pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pfd < 0)
			continue;
		if (environ_has((pid_t)pid, entry))
			(void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		close(pfd);
	}
	closedir(d);
	return found;
}

/* Counts survivors, then kills them and waits (bounded) until none holds the token. */
static unsigned kill_survivors(const char *entry)
{
	uint64_t deadline = now_ns() + DRAIN_MS * 1000000ull;
	int first = scan_token(entry, true), n = first;

	while (n > 0 && now_ns() < deadline) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sleep_ms(2);
		n = scan_token(entry, true);
	}
	if (n > 0)
		warnx_("%d processes with %s survive even SIGKILL", n, entry);
	return first > 0 ? (unsigned)first : 0;
}

/*
 * Our children as the kernel lists them; zombies_only counts those that have
 * exited and wait to be reaped. We are single-threaded, so one task's file
 * holds them all. A live cgroup2 death guard (one per context, for the
 * context's whole life, outside every box) is not a run's child: not counted.
 */
static int count_children(bool zombies_only)
{
	static char buf[1 << 18];
	char path[64], stat[512];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		char *rp;
		if (end == p)
			break;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if (read_file(path, stat, sizeof(stat)) <= 0)
			continue;
		rp = strrchr(stat, ')');
		if (rp && rp[1] == ' ' && rp[2] == 'Z')
			n++;
		else if (!zombies_only && !strstr(stat, "(nsreload-guard)"))
			n++;
	}
	return n;
}

/* Reaps our children until none is left (bounded): each run must start with no stray zombie to reap. */
static int drain_children(void)
{
	uint64_t deadline = now_ns() + DRAIN_MS * 1000000ull;

	for (;;) {
		struct pollfd p = { .fd = sig_fd, .events = POLLIN };
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == ECHILD)
			return 0;
		if (pid < 0 && errno != EINTR)
			return -errno;
		/* Only the contexts' guards are left: they live as long as their contexts. */
		if (pid == 0 && count_children(false) == 0)
			return 0;
		if (now_ns() > deadline)
			return count_children(false);
		(void)poll(&p, 1, 5);
		drain_sigchld();
	}
}

/* Reads the tree's "READY\n"; -EPIPE when the tree ended before saying it. */
static int wait_ready(int fd)
{
	uint64_t deadline = now_ns() + READY_TIMEOUT_MS * 1000000ull;
	char buf[128];
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (interrupted)
			return -EINTR;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "READY\n"))
			return 0;
		if (len == sizeof(buf) - 1)
			return -EPROTO;
	}
}

static void make_token(char *entry, size_t size)
{
	snprintf(entry, size, TOKEN_KEY "=nsreload-bench.%d.%08x.%u", (int)getpid(), token_salt, ++token_seq);
}

/* How long a tree lives on its own: far longer than a run, short enough that a leak ends by itself. */
#define TREE_LIFETIME "300"

static __attribute__((noreturn)) void exec_tree(int procs_fd, int out_fd, char *const argv[],
						char *const envp[])
{
	sigset_t none;

	/* The mask survives exec, and the tree must see its own SIGCHLDs. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (procs_fd >= 0 && write(procs_fd, "0", 1) != 1)
		_exit(126);
	/* Like a box's main process: a Ctrl-C at our terminal is ours to handle, not the tree's. */
	(void)setpgid(0, 0);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* The tree, started inside the cgroup at cg_fd; returns its pid or -errno. */
static pid_t spawn_into_cgroup(const char *dir, int cg_fd, int out_fd, char *const argv[], char *const envp[])
{
	struct clone_args a;
	int procs_fd;
	long pid;

	if (!cgroup_is_safe(dir))
		return -EPERM;
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_INTO_CGROUP;
	a.exit_signal = SIGCHLD;
	a.cgroup = (uint64_t)cg_fd;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0)
		exec_tree(-1, out_fd, argv, envp);
	if (pid > 0)
		return (pid_t)pid;
	/* The child moves itself before exec, so the tree is never outside the cgroup. */
	procs_fd = openat(cg_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (procs_fd < 0)
		return -errno;
	pid = fork();
	if (pid == 0)
		exec_tree(procs_fd, out_fd, argv, envp);
	if (pid < 0)
		pid = -errno;
	close(procs_fd);
	return (pid_t)pid;
}

static void run_reference(unsigned size, struct sample *s)
{
	char name[32], dir[PATH_MAX + 64], entry[160], nbuf[16];
	char *argv[] = { (char *)tree_path, nbuf, TREE_LIFETIME, NULL };
	char *envp[] = { entry, "PATH=/usr/bin:/bin", NULL };
	int cg = -1, ev = -1, p[2] = { -1, -1 }, r;
	pid_t pid = -1;

	make_token(entry, sizeof(entry));
	snprintf(nbuf, sizeof(nbuf), "%u", size);
	snprintf(name, sizeof(name), "%u", ++ref_seq);
	snprintf(dir, sizeof(dir), "%s/ref/%s", bench_dir, name);
	if (mkdirat(ref_fd, name, 0755) < 0) {
		seterr(s->err, sizeof(s->err), "mkdir %s: %s", dir, strerror(errno));
		return;
	}
	cg = openat(ref_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ev = cg < 0 ? -1 : openat(cg, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (ev < 0 || pipe2(p, O_CLOEXEC) < 0) {
		seterr(s->err, sizeof(s->err), "set-up of %s: %s", dir, strerror(errno));
		goto out;
	}
	pid = spawn_into_cgroup(dir, cg, p[1], argv, envp);
	close(p[1]);
	if (pid < 0) {
		seterr(s->err, sizeof(s->err), "spawn: %s", strerror(-pid));
		goto out;
	}
	r = wait_ready(p[0]);
	if (r == 0 && s->count_seen)
		s->seen = scan_token(entry, false);
	if (r == 0) {
		uint64_t t0 = now_ns(), t1;
		r = cgroup_kill(dir, cg);
		if (r == 0)
			r = wait_unpopulated(ev, t0 + stop_timeout_ms * 1000000ull, ref_look_ns);
		t1 = now_ns();
		s->t0 = t0;
		if (r == 0)
			s->ns = t1 - t0;
		else
			seterr(s->err, sizeof(s->err), "kill: %s", strerror(-r));
	} else {
		seterr(s->err, sizeof(s->err), "waiting for READY: %s", strerror(-r));
	}
out:
	/* Whatever happened above, the tree must not outlive the run. */
	if (ev >= 0 && populated(ev) > 0 && cgroup_kill(dir, cg) == 0)
		(void)wait_unpopulated(ev, now_ns() + DRAIN_MS * 1000000ull, 100000000L);
	s->survivors = kill_survivors(entry);
	if (drain_children() != 0)
		seterr(s->err, sizeof(s->err), "children left after the run");
	if (p[0] >= 0)
		close(p[0]);
	if (ev >= 0)
		close(ev);
	if (cg >= 0)
		close(cg);
	if (remove_cgroup(dir, 0) < 0)
		seterr(s->err, sizeof(s->err), "cannot remove %s", dir);
}

/* The supervisor's loop, cut down to one box: wake on its fds or SIGCHLD, then box_process(). */
static int wait_box_empty(struct box *b, uint64_t deadline, unsigned *wakeups)
{
	*wakeups = 0;
	while (!box_is_empty(b)) {
		struct pollfd pfd[BOX_MAX_FDS + 1];
		int n, r;

		/* The box closes fds as it goes (a reaped pidfd, say): fetch them afresh every time. */
		n = box_fds(b, pfd);
		pfd[n] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		(void)poll(pfd, (nfds_t)n + 1, look_ms);
		drain_sigchld();
		++*wakeups;
		r = box_process(b);
		if (r < 0)
			return r;
		if (interrupted)
			return -EINTR;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

static void run_box(struct row *rw, unsigned size, struct sample *s)
{
	char entry[160], nbuf[16];
	char *argv[] = { (char *)tree_path, nbuf, TREE_LIFETIME, NULL };
	char *envp[] = { entry, "PATH=/usr/bin:/bin", NULL };
	struct box_spawn sp = { .argv = argv,
				.envp = envp,
				.cwd = NULL,
				.stdin_fd = devnull,
				.stdout_fd = -1,
				.stderr_fd = -1,
				.tty_fd = -1,
				.wait_all = false };
	struct box *b = NULL;
	int p[2] = { -1, -1 }, r;
	uint64_t t0, t1;
	bool done = false;

	make_token(entry, sizeof(entry));
	snprintf(nbuf, sizeof(nbuf), "%u", size);
	r = box_new(rw->ctx, "bench", &b);
	if (r < 0) {
		seterr(s->err, sizeof(s->err), "box_new: %s", strerror(-r));
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		seterr(s->err, sizeof(s->err), "pipe: %s", strerror(errno));
		goto out;
	}
	sp.stdout_fd = p[1];
	r = box_spawn(b, &sp);
	close(p[1]);
	if (r < 0) {
		seterr(s->err, sizeof(s->err), "box_spawn: %s", strerror(-r));
		goto out;
	}
	r = wait_ready(p[0]);
	if (r < 0) {
		seterr(s->err, sizeof(s->err), "waiting for READY: %s", strerror(-r));
		goto out;
	}
	if (s->count_seen)
		s->seen = scan_token(entry, false);

	t0 = now_ns();
	r = box_kill(b);
	if (r < 0)
		seterr(s->err, sizeof(s->err), "box_kill: %s", strerror(-r));
	r = wait_box_empty(b, t0 + stop_timeout_ms * 1000000ull, &s->wakeups);
	t1 = now_ns();
	if (r < 0) {
		seterr(s->err, sizeof(s->err), "waiting for empty: %s", strerror(-r));
		goto out;
	}
	s->t0 = t0;
	if (!s->err[0])
		s->ns = t1 - t0;
	done = true;
	/* Zombies reparented to us just after "empty" are as unreaped as those before it. */
	sleep_ms(SETTLE_MS);
	r = count_children(true);
	s->unreaped = r > 0 ? (unsigned)r : 0;
	s->survivors = kill_survivors(entry);
out:
	if (p[0] >= 0)
		close(p[0]);
	r = box_free(b);
	if (r < 0)
		seterr(s->err, sizeof(s->err), "box_free: %s", strerror(-r));
	if (!done)
		s->survivors = kill_survivors(entry);
	if (drain_children() != 0)
		seterr(s->err, sizeof(s->err), "children left after the run");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(const struct cell *c)
{
	if (!c->n)
		return 0;
	return (double)(c->ns[(c->n - 1) / 2] + c->ns[c->n / 2]) / 2e6;
}

/* Nearest rank: the smallest sample that at least 95% of the runs do not exceed. */
static double p95_ms(const struct cell *c)
{
	unsigned rank = (c->n * 95 + 99) / 100;
	if (!c->n)
		return 0;
	return (double)c->ns[rank - 1] / 1e6;
}

static int parse_sizes(const char *s, unsigned *sizes, unsigned *n)
{
	char *copy = strdup(s), *tok, *save = NULL;

	*n = 0;
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);
		if (*end || v < 1 || v > 20000 || *n == MAX_SIZES) {
			free(copy);
			return -EINVAL;
		}
		sizes[(*n)++] = (unsigned)v;
	}
	free(copy);
	return *n ? 0 : -EINVAL;
}

static int parse_rungs(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (int i = 1; i < NROWS; i++)
		rows[i].wanted = false;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 1; i < NROWS && strcmp(rows[i].name, tok) != 0; i++)
			;
		if (i == NROWS) {
			free(copy);
			return -EINVAL;
		}
		rows[i].wanted = true;
	}
	free(copy);
	return 0;
}

/* One row of the table; reads "-" where a column does not apply. */
static void print_row(const struct row *rw, const struct cell *c, const struct cell *ref, unsigned size,
		      bool is_ref)
{
	char med[16] = "-", p95[16] = "-", ratio[16] = "-", target[16] = "-", unreaped[16] = "-",
	     wakeups[16] = "-", nruns[24], verdict[96] = "";

	snprintf(nruns, sizeof(nruns), c->failed ? "%u/%u" : "%u", c->n, c->n + c->failed);
	if (c->n) {
		snprintf(med, sizeof(med), "%.3f", median_ms(c));
		snprintf(p95, sizeof(p95), "%.3f", p95_ms(c));
	}
	if (is_ref) {
		snprintf(ratio, sizeof(ratio), "1.00");
	} else {
		snprintf(target, sizeof(target), "%.1fx", rw->target);
		snprintf(unreaped, sizeof(unreaped), "%u", c->unreaped);
		if (c->n) {
			snprintf(wakeups, sizeof(wakeups), "%llu",
				 (unsigned long long)c->wakeups[(c->n - 1) / 2]);
		}
		if (c->n && ref->n && median_ms(ref) > 0) {
			double x = median_ms(c) / median_ms(ref);
			snprintf(ratio, sizeof(ratio), "%.2f", x);
			if (x > rw->target)
				strcat(verdict, "slow,");
		}
		if (c->unreaped)
			strcat(verdict, "unreaped,");
	}
	if (c->survivors)
		strcat(verdict, "survivors,");
	if (c->failed)
		strcat(verdict, "errors,");
	if (!c->n)
		strcat(verdict, "no data,");
	if (verdict[0])
		verdict[strlen(verdict) - 1] = '\0';
	else
		snprintf(verdict, sizeof(verdict), "ok");
	printf("%-14s %6u %10s %10s %7s %7s %9u %8s %8s %6s  %s\n", rw->name, size, med, p95, ratio, target,
	       c->survivors, unreaped, wakeups, nruns, verdict);
}

static void print_table(const unsigned *sizes, unsigned nsizes, unsigned runs)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	printf("nsreload kill benchmark: kernel %s, %ld CPUs, %u runs per cell\n", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), runs);
	printf("time: stop -> box empty, everything reaped. reference: fresh cgroup, cgroup.kill, "
	       "\"populated 0\" (no nsreload, no reaping)\n");
	printf("ratio: rung median / reference median. survivors: token holders alive after \"empty\". "
	       "unreaped: our zombies %d ms after \"empty\".\n",
	       SETTLE_MS);
	printf("wakeups: median box_process() calls per stop (0: box_kill() itself waited until empty).\n\n");
	printf("%-14s %6s %10s %10s %7s %7s %9s %8s %8s %6s  %s\n", "rung", "procs", "median_ms", "p95_ms",
	       "ratio", "target", "survivors", "unreaped", "wakeups", "runs", "verdict");
	for (unsigned z = 0; z < nsizes; z++) {
		for (int i = 0; i < NROWS; i++) {
			if (!rows[i].wanted)
				continue;
			if (rows[i].unavailable)
				printf("%-14s %6u  unavailable: %s\n", rows[i].name, sizes[z], rows[i].why);
			else
				print_row(&rows[i], &rows[i].cells[z], &rows[0].cells[z], sizes[z], i == 0);
		}
		if (z + 1 < nsizes)
			printf("\n");
	}
	/* cgroup1 against the cgroup2 rung too: what a v1-only host pays against a v2 one. */
	for (unsigned z = 0; z < nsizes; z++) {
		const struct cell *v1 = &rows[NROWS - 1].cells[z], *v2 = &rows[1].cells[z];

		if (v1->n && v2->n && median_ms(v2) > 0)
			printf("%scgroup1 / cgroup2 (medians), %u processes: %.2f\n", z ? "" : "\n", sizes[z],
			       median_ms(v1) / median_ms(v2));
	}
	printf("\ntargets (printed, not enforced): cgroup2 within 1.2x of the reference, the other rungs "
	       "within 2x; 0 survivors (and 0 unreaped)\n");
	printf("waits: box loop = poll(box_fds + signalfd(SIGCHLD), %d ms timeout), box_process() on every "
	       "wake-up;\n       reference = ppoll(cgroup.events POLLPRI, %ld us timeout), re-read on every "
	       "wake-up\n",
	       look_ms, ref_look_ns / 1000);
	for (int i = 0; i < NROWS; i++) {
		for (unsigned z = 0; z < nsizes; z++) {
			const struct cell *c = &rows[i].cells[z];
			if (!rows[i].wanted || rows[i].unavailable)
				continue;
			if (c->err[0])
				printf("error: %s, %u procs: %s\n", rows[i].name, sizes[z], c->err);
			if (c->seen >= 0 && (unsigned)c->seen < sizes[z] * 9 / 10)
				printf("warning: %s, %u procs: only %d token holders seen before the kill\n",
				       rows[i].name, sizes[z], c->seen);
		}
	}
}

static void usage(FILE *f)
{
	fputs("usage: bench_kill [-n RUNS] [-s SIZES] [-r RUNGS] [-t TREE] [-w N] [-T MS] [-p DIR] [-P] "
	      "[-v]\n"
	      "  -n RUNS   measured runs per cell (default 20)\n"
	      "  -s SIZES  tree sizes, comma-separated (default 1,100,1000)\n"
	      "  -r RUNGS  rungs, comma-separated (default cgroup2,pidns,cgroup2+pidns,pgroup,cgroup1)\n"
	      "  -t TREE   the tree program (default: tree next to this binary)\n"
	      "  -w N      unmeasured warm-up runs per cell (default 1)\n"
	      "  -T MS     give up on a stop after MS ms (default 30000)\n"
	      "  -p DIR    the cgroup2 mount (default: the first in /proc/self/mountinfo)\n"
	      "  -P        wait on events alone (100 ms timeouts, not 1 ms), as an epoll loop would\n"
	      "  -v        print every run to stderr, with its CLOCK_MONOTONIC stop time\n",
	      f);
}

static void record(struct cell *c, const struct sample *s, bool measured)
{
	if (s->count_seen)
		c->seen = s->seen;
	if (!measured)
		return;
	if (s->err[0] || !s->ns) {
		c->failed++;
		seterr(c->err, sizeof(c->err), "%s", s->err[0] ? s->err : "no time");
	} else {
		c->wakeups[c->n] = s->wakeups;
		c->ns[c->n++] = s->ns;
	}
	c->survivors += s->survivors;
	c->unreaped += s->unreaped;
}

int main(int argc, char **argv)
{
	unsigned sizes[MAX_SIZES], nsizes = 0, runs = 20, warmup = 1;
	static char self[PATH_MAX], tree_buf[PATH_MAX + 8];
	const char *mount_opt = NULL;
	struct sigaction sa;
	sigset_t chld;
	int opt, r, rc = 1;

	(void)parse_sizes("1,100,1000", sizes, &nsizes);
	while ((opt = getopt(argc, argv, "n:s:r:t:w:T:p:Pvh")) != -1) {
		char *end;
		long v;
		switch (opt) {
		case 'n':
		case 'w':
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*end || v < (opt == 'w' ? 0 : 1) || v > (opt == 'T' ? 600000 : 100000)) {
				usage(stderr);
				return 2;
			}
			*(opt == 'n' ? &runs : opt == 'w' ? &warmup : &stop_timeout_ms) = (unsigned)v;
			break;
		case 's':
			if (parse_sizes(optarg, sizes, &nsizes) < 0) {
				warnx_("bad size list %s (1..20000, at most %d)", optarg, MAX_SIZES);
				return 2;
			}
			break;
		case 'r':
			if (parse_rungs(optarg) < 0) {
				warnx_("bad rung list %s", optarg);
				return 2;
			}
			break;
		case 't':
			tree_path = optarg;
			break;
		case 'p':
			mount_opt = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'P':
			look_ms = 100;
			ref_look_ns = 100000000L;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!tree_path) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			warnx_("cannot find myself: %s", strerror(errno));
			return 1;
		}
		self[n] = '\0';
		snprintf(tree_buf, sizeof(tree_buf), "%s/tree", dirname(self));
		tree_path = tree_buf;
	}
	if (access(tree_path, X_OK) < 0) {
		warnx_("%s: %s", tree_path, strerror(errno));
		return 1;
	}
	if (find_cgroup2() < 0 && !mount_opt) {
		warnx_("no cgroup2 mount: the reference needs one");
		return 1;
	}
	if (mount_opt) {
		snprintf(cg_mount, sizeof(cg_mount), "%s", mount_opt);
		cg_mount_root[0] = '\0';
	}
	if (getrandom(&token_salt, sizeof(token_salt), 0) != (ssize_t)sizeof(token_salt))
		token_salt = (uint32_t)now_ns();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		warnx_("/dev/null: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < NROWS; i++)
		for (unsigned z = 0; z < nsizes; z++) {
			rows[i].cells[z].seen = -1;
			rows[i].cells[z].ns = calloc(runs, sizeof(uint64_t));
			rows[i].cells[z].wakeups = calloc(runs, sizeof(uint64_t));
			if (!rows[i].cells[z].ns || !rows[i].cells[z].wakeups) {
				warnx_("out of memory");
				return 1;
			}
		}

	/* No SA_RESTART: an interrupted wait must come back and see the flag. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* The default 50 us of slack would blur the reference's 50 us looks. */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	r = box_supervisor_init();
	if (r < 0) {
		warnx_("box_supervisor_init: %s", strerror(-r));
		return 1;
	}
	/* A cut path would name some other directory: the one thing this must never do is guess. */
	if ((size_t)snprintf(bench_dir, sizeof(bench_dir), "%s/nsreload-bench.%d", cg_mount, (int)getpid()) >=
	    sizeof(bench_dir)) {
		bench_dir[0] = '\0';
		warnx_("cgroup2 mount path too long");
		return 1;
	}
	if (mkdir(bench_dir, 0755) < 0) {
		warnx_("mkdir %s: %s", bench_dir, strerror(errno));
		bench_dir[0] = '\0';
		return 1;
	}
	for (int i = 0; i < NROWS; i++) {
		char sub[PATH_MAX + 32];
		struct box_ctx_opts o = { .rung = rows[i].rung,
					  .cgroup_parent = sub,
					  .errbuf = rows[i].why,
					  .errbuf_size = sizeof(rows[i].why) };
		if (!rows[i].wanted)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", bench_dir, rows[i].subdir);
		if (mkdir(sub, 0755) < 0) {
			warnx_("mkdir %s: %s", sub, strerror(errno));
			goto out;
		}
		if (rows[i].rung == BOX_RUNG_CGROUP1) {
			char name[64];

			snprintf(name, sizeof(name), "nsreload-bench.%d", (int)getpid());
			r = cgv1_open_own("freezer", &bench_v1_own);
			if (r == 0)
				r = cgv1_create(&bench_v1_own, name, &bench_v1);
			if (r < 0) {
				rows[i].unavailable = true;
				snprintf(rows[i].why, sizeof(rows[i].why), "no v1 freezer cgroup of ours: %s",
					 strerror(-r));
				continue;
			}
			/* What the cgroup1 rung reads for its parent, as the tests set it. */
			setenv("NSRELOAD_CGROUP1_PARENT", name, 1);
		}
		if (i == 0) {
			ref_fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (ref_fd < 0) {
				warnx_("%s: %s", sub, strerror(errno));
				goto out;
			}
			continue;
		}
		r = box_ctx_new(&rows[i].ctx, &o);
		if (r < 0) {
			rows[i].unavailable = true;
			if (!rows[i].why[0])
				snprintf(rows[i].why, sizeof(rows[i].why), "%s", strerror(-r));
		}
	}

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0) {
		warnx_("signalfd: %s", strerror(errno));
		goto out;
	}

	for (unsigned z = 0; z < nsizes && !interrupted; z++) {
		for (unsigned run = 0; run < warmup + runs && !interrupted; run++) {
			bool measured = run >= warmup;
			if (isatty(STDERR_FILENO))
				fprintf(stderr, "\rbench_kill: %u processes, run %u/%u%s ", sizes[z], run + 1,
					warmup + runs, measured ? "" : " (warm-up)");
			for (int k = 0; k < NROWS && !interrupted; k++) {
				/* Rotated so that no row always comes right after the same one. */
				int i = (int)((run + (unsigned)k) % NROWS);
				struct sample s = { .count_seen = run == 0, .seen = -1 };
				if (!rows[i].wanted || rows[i].unavailable)
					continue;
				if (i == 0)
					run_reference(sizes[z], &s);
				else
					run_box(&rows[i], sizes[z], &s);
				/* A run cut short by Ctrl-C measured nothing. */
				if (interrupted)
					break;
				record(&rows[i].cells[z], &s, measured);
				if (verbose)
					fprintf(stderr,
						"%s %u: stop at %.6f took %.3f ms, %u wakeups, %u survivors, "
						"%u unreaped, %d token holders before%s%s\n",
						rows[i].name, sizes[z], (double)s.t0 / 1e9,
						(double)s.ns / 1e6, s.wakeups, s.survivors, s.unreaped,
						s.seen, s.err[0] ? ", error: " : "", s.err);
			}
		}
	}
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
	for (int i = 0; i < NROWS; i++) {
		for (unsigned z = 0; z < nsizes; z++) {
			qsort(rows[i].cells[z].ns, rows[i].cells[z].n, sizeof(uint64_t), cmp_u64);
			qsort(rows[i].cells[z].wakeups, rows[i].cells[z].n, sizeof(uint64_t), cmp_u64);
		}
	}
	print_table(sizes, nsizes, runs);
	if (interrupted)
		printf("interrupted: the table holds the runs finished before it\n");
	rc = interrupted ? 130 : 0;
out:
	for (int i = 0; i < NROWS; i++) {
		box_ctx_free(rows[i].ctx);
		for (unsigned z = 0; z < nsizes; z++) {
			free(rows[i].cells[z].ns);
			free(rows[i].cells[z].wakeups);
		}
	}
	if (ref_fd >= 0)
		close(ref_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	if (bench_dir[0] && remove_cgroup(bench_dir, 0) < 0) {
		warnx_("could not remove %s", bench_dir);
		rc = rc ? rc : 1;
	}
	if (bench_v1.fd >= 0 && cgv1_delete(&bench_v1_own, &bench_v1) < 0) {
		warnx_("could not remove %s", bench_v1.path);
		rc = rc ? rc : 1;
	}
	cgv1_close(&bench_v1_own);
	return rc;
}
