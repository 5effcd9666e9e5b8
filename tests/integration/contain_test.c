/*
 * contain_test - the containment harness: runs every torture fixture under
 * `nsreload exec` on every rung, stops the box in each way a user can, and
 * checks that nothing of the tree survives.
 *
 * Usage: contain_test <path-to-nsreload> <fixtures-dir>
 *
 * Survivors are found by a token: every run gets a unique
 * NSRELOAD_TEST_TOKEN in the environment of nsreload, every process of the
 * box inherits it, and any process whose environ still holds it after
 * nsreload has exited is a survivor. The harness itself never carries the
 * token and is never moved into a cgroup.
 *
 * Environment:
 *   NSRELOAD_TEST_CYCLES        stop cycles per rung x fixture (default 50)
 *   NSRELOAD_TEST_KILL_CYCLES   SIGKILL-nsreload cycles per pidns or cgroup1 rung x fixture (default 10)
 *   NSRELOAD_TEST_STOP_TIMEOUT  --stop-timeout of the stop cycles (default 1s, "" for nsreload's default)
 *   NSRELOAD_TEST_REQUIRE       rungs that must be available, comma separated
 *   NSRELOAD_TEST_RUNGS         only these rungs, comma separated; "auto" (never a default) runs
 *                               nsreload without --box and --cgroup-parent, as a user would
 *   NSRELOAD_TEST_EXTRAS        0: only the cycles, no exit-code and PID 1 cases (scripts/envmatrix)
 *   NSRELOAD_TEST_FIXTURES      only these fixtures, comma separated
 *   NSRELOAD_TEST_VERBOSE       1: print nsreload's stderr of every run
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/proctoken.h"

#define TOKEN_VAR         "NSRELOAD_TEST_TOKEN"
#define READY_TIMEOUT_MS  20000
#define EXIT_TIMEOUT_MS   30000
#define VANISH_TIMEOUT_MS 5000 /* after SIGKILL of nsreload, only the kernel cleans up */
#define LATE_CHECK_MS     1000 /* how long a survivor is watched to tell "late" from "stuck" */
#define GIVE_UP_FAILURES  3    /* failed cycles after which a case stops, to bound the runtime */
#define IGNORER_RUNS      5
#define IGNORER_MAX_MS    3000 /* a 200ms stop timeout must not take anywhere near this */
#define MAX_ARGS          32
#define MAX_STALE         256
#define MAX_SURVIVORS     4096

extern char **environ;

static const char *nsreload_path;
static const char *fixtures_dir;
static const char *stop_timeout_opt; /* "--stop-timeout=..." or NULL */
static bool verbose;
static int npass, nfail;
static volatile sig_atomic_t interrupted;

struct rung {
	const char *name;
	bool cgroup;
	bool pidns;
	bool v1; /* the cgroup v1 freezer: boxes below cg1, a guard ends them on a SIGKILL of nsreload */
	bool selected;
	bool available;
	char why[256];
};

static struct rung rungs[] = {
	{ "cgroup2", true, false }, { "pidns", false, true },          { "cgroup2+pidns", true, true },
	{ "pgroup", false, false }, { "cgroup1", false, false, true }, { "cgroup1+pidns", false, true, true },
	{ "auto", false, false },
};
#define NRUNGS (sizeof(rungs) / sizeof(rungs[0]))

static const char *const fixtures[] = {
	"double_fork", "setsid_f",    "ignorer",      "stopped",   "fork_storm",
	"zombies",     "thread_fork", "userns_pidns", "setpgid_f",
};
#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))
static bool fixture_selected[NFIXTURES];

static bool rung_is_auto(const struct rung *r)
{
	return strcmp(r->name, "auto") == 0;
}

static bool fixture_wanted(const char *name)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		if (strcmp(fixtures[f], name) == 0)
			return fixture_selected[f];
	}
	return false;
}

enum stop_how {
	STOP_TERM,
	STOP_INT,
	STOP_HUP,
	STOP_MAIN_EXIT,
	STOP_KILL, /* SIGKILL to nsreload itself */
};
#define NSTOP_ROTATION 4
static const char *const stop_names[] = { "SIGTERM", "SIGINT", "SIGHUP", "main-exit", "SIGKILL-nsreload" };

struct cell {
	bool run, failed;
	unsigned cycles, survivors;
	bool kill_run, kill_failed;
	unsigned kill_cycles, kill_survivors;
};
static struct cell table[NRUNGS][NFIXTURES];

/* Cgroup directories of SIGKILLed nsreload instances: not leaks, the next nsreload must sweep them. */
static char stale[MAX_STALE][64];
static int nstale;

static void verdict(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		npass++;
	else
		nfail++;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- finding survivors ---------------------------------------------------------------------- */

static struct pt_buf pbuf;
static struct pt_cgroup cg;
/* The v1 freezer parent; every nsreload gets it as NSRELOAD_CGROUP1_PARENT. */
static struct pt_cgroup cg1;

/* Where a rung's boxes go. */
static struct pt_cgroup *cg_of(const struct rung *r)
{
	return r && r->v1 ? &cg1 : &cg;
}

/* Returns how many processes carry the token; stores up to max of them. */
static int find_survivors(const char *token, pid_t *pids, int max)
{
	struct pt_match m;

	pt_match_exact(&m, TOKEN_VAR, token);
	return pt_find(&pbuf, &m, pids, max);
}

static int kill_survivors(const char *token)
{
	struct pt_match m;

	pt_match_exact(&m, TOKEN_VAR, token);
	return pt_kill_all(&pbuf, &m);
}

/* ---- cgroups --------------------------------------------------------------------------------- */

static bool is_stale(const char *name)
{
	for (int i = 0; i < nstale; i++) {
		if (strcmp(stale[i], name) == 0)
			return true;
	}
	return false;
}

/*
 * Every directory left under our parent that no SIGKILLed nsreload explains
 * is a leak: a stopped nsreload must remove its boxes. Leaks are reported,
 * then removed so that they cannot spoil later cycles.
 */
static int cgroup_leaks_under(struct pt_cgroup *pc, const char *context)
{
	DIR *d;
	struct dirent *de;
	int leaks = 0;

	if (!pc->parent[0])
		return 0;
	d = opendir(pc->parent);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX + 256];

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (is_stale(de->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", pc->parent, de->d_name);
		printf("      leaked cgroup after %s: %s (populated %d)\n", context, sub,
		       pt_cgroup_populated(&pbuf, sub));
		pt_cgroup_remove_tree(&pbuf, pc, sub);
		leaks++;
	}
	closedir(d);
	return leaks;
}

/* Leaks under the cgroup2 parent and under the v1 one. */
static int check_cgroup_leaks(const char *context)
{
	return cgroup_leaks_under(&cg, context) + cgroup_leaks_under(&cg1, context);
}

/* ---- running nsreload ------------------------------------------------------------------------ */

struct run {
	pid_t pid;
	int pidfd;
	int out;
	int err;
	int status; /* wait status, -1 until reaped */
	char obuf[512];
	size_t olen;
	char token[160];
};

static void new_token(char *buf, size_t size, const char *rung, const char *what, int cycle)
{
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)pt_now_ms() ^ (uint32_t)rand();
	snprintf(buf, size, "%d-%s-%s-%d-%08x", (int)getpid(), rung, what, cycle, rnd);
}

/* Starts argv (argv[0] looked up in PATH) with the token; its stdout comes back on r->out. */
static int run_start(struct run *r, char *const argv[], const char *token)
{
	char tok_entry[256];
	char *add[] = { tok_entry, NULL };
	int outp[2];
	char **envp;

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->pidfd = -1;
	r->out = -1;
	r->status = -1;
	snprintf(r->token, sizeof(r->token), "%s", token);
	r->err = memfd_create("contain-test-stderr", MFD_CLOEXEC);
	if (r->err < 0)
		r->err = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (r->err < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		perror("contain_test: pipe");
		if (r->err >= 0)
			close(r->err);
		r->err = -1;
		return -1;
	}
	snprintf(tok_entry, sizeof(tok_entry), "%s=%s", TOKEN_VAR, token);
	envp = pt_envp_new(add);
	if (!envp) {
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	r->pid = fork();
	if (r->pid == 0) {
		pt_child_prepare();
		dup2(outp[1], STDOUT_FILENO);
		dup2(r->err, STDERR_FILENO);
		execvpe(argv[0], argv, envp);
		dprintf(STDERR_FILENO, "contain_test: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	pt_envp_free(envp);
	close(outp[1]);
	if (r->pid < 0) {
		perror("contain_test: fork");
		close(outp[0]);
		return -1;
	}
	r->out = outp[0];
	r->pidfd = pt_pidfd_open(r->pid);
	return 0;
}

/* 1 once "READY\n" has been read, 0 on timeout or interruption, -1 on EOF. */
static int run_wait_ready(struct run *r, int timeout_ms)
{
	long long deadline = pt_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = r->out, .events = POLLIN };
		long long left = deadline - pt_now_ms();
		ssize_t n;

		if (memmem(r->obuf, r->olen, "READY\n", 6))
			return 1;
		if (left <= 0 || interrupted)
			return 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		/* Keep the tail only: a chatty box must not overflow us. */
		if (r->olen > sizeof(r->obuf) / 2) {
			memmove(r->obuf, r->obuf + r->olen - 8, 8);
			r->olen = 8;
		}
		n = read(r->out, r->obuf + r->olen, sizeof(r->obuf) - r->olen);
		if (n == 0)
			return memmem(r->obuf, r->olen, "READY\n", 6) ? 1 : -1;
		if (n > 0)
			r->olen += (size_t)n;
		else if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/* Reaps nsreload; false if it is still running after timeout_ms or, if interruptible, once we are
 * interrupted. */
static bool wait_exit(struct run *r, int timeout_ms, bool interruptible)
{
	long long deadline = pt_now_ms() + timeout_ms;

	while (r->status < 0) {
		int st;
		pid_t got = waitpid(r->pid, &st, WNOHANG);
		long long left = deadline - pt_now_ms();

		if (got == r->pid) {
			r->status = st;
			break;
		}
		if (got < 0 && errno != EINTR) {
			perror("contain_test: waitpid");
			return false;
		}
		if (left <= 0 || (interruptible && interrupted))
			return false;
		if (r->pidfd >= 0) {
			struct pollfd pfd = { .fd = r->pidfd, .events = POLLIN };

			poll(&pfd, 1, left > 100 ? 100 : (int)left);
		} else {
			pt_sleep_ms(1);
		}
	}
	return true;
}

static bool run_wait_exit(struct run *r, int timeout_ms)
{
	return wait_exit(r, timeout_ms, true);
}

/* Ends a run that went wrong: nsreload gets SIGKILL (it is our unreaped child, so its pid is ours). */
static void run_force_end(struct run *r)
{
	if (r->status < 0 && r->pid > 0) {
		kill(r->pid, SIGKILL);
		if (!wait_exit(r, 5000, false))
			printf("      nsreload %d does not die of SIGKILL\n", (int)r->pid);
	}
}

static void run_print_stderr(struct run *r, const char *why)
{
	char buf[2048];
	ssize_t n;
	char *line, *save = NULL;

	if (r->err < 0)
		return;
	n = pread(r->err, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	printf("      stderr (%s):\n", why);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("      | %s\n", line);
}

/* Whether nsreload's stderr holds a sanitizer report: in the ASan build, any report fails the case. */
static bool run_stderr_has_sanitizer_report(struct run *r)
{
	char buf[65536];
	ssize_t n;

	if (r->err < 0)
		return false;
	n = pread(r->err, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "Sanitizer") || strstr(buf, "runtime error:");
}

/* The first line of the run's stderr, for one-line reasons. */
static void run_first_stderr_line(struct run *r, char *out, size_t size)
{
	ssize_t n = r->err >= 0 ? pread(r->err, out, size - 1, 0) : -1;

	if (n <= 0) {
		snprintf(out, size, "(no message)");
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static void run_close(struct run *r)
{
	if (r->out >= 0)
		close(r->out);
	if (r->err >= 0)
		close(r->err);
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->out = r->err = r->pidfd = -1;
}

/* Builds "nsreload exec [--box=R] [--cgroup-parent=P] [extra...] -- cmd...". */
struct argv_buf {
	char *v[MAX_ARGS];
	int n;
	char box[64];
	char parent[PATH_MAX + 32];
};

static void argv_add(struct argv_buf *a, const char *s)
{
	if (a->n < MAX_ARGS - 1)
		a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
}

static void argv_exec(struct argv_buf *a, const struct rung *r, bool with_parent)
{
	argv_add(a, nsreload_path);
	argv_add(a, "exec");
	if (r && rung_is_auto(r))
		return;
	if (r) {
		snprintf(a->box, sizeof(a->box), "--box=%s", r->name);
		argv_add(a, a->box);
	}
	/* Only where a cgroup may be made: the other rungs need no parent and might reject one. */
	if (with_parent && cg.parent[0] && (!r || (r->cgroup && !r->v1))) {
		snprintf(a->parent, sizeof(a->parent), "--cgroup-parent=%s", cg.parent);
		argv_add(a, a->parent);
	}
}

/* ---- one cycle ------------------------------------------------------------------------------- */

struct outcome {
	bool ok;
	bool hung; /* a wait ran out: the case gives up at once, or a broken build would take hours */
	int survivors;
	int status;
	long long stop_ms; /* from the stop to nsreload's exit */
};

/* Survivors after nsreload has exited. Reports them, tells late from stuck, then kills them. */
static int collect_survivors(const char *token, int wait_ms)
{
	static pid_t pids[MAX_SURVIVORS];
	long long deadline = pt_now_ms() + wait_ms;
	int n;

	for (;;) {
		n = find_survivors(token, pids, MAX_SURVIVORS);
		if (n == 0 || pt_now_ms() >= deadline || interrupted)
			break;
		pt_sleep_ms(5);
	}
	if (n == 0)
		return 0;
	printf("      %d survivor(s) with token %s:\n", n, token);
	for (int i = 0; i < n && i < 10; i++)
		pt_print_process(&pbuf, pids[i]);
	if (n > 10)
		printf("      ... and %d more\n", n - 10);
	deadline = pt_now_ms() + LATE_CHECK_MS;
	while (find_survivors(token, pids, 1) > 0 && pt_now_ms() < deadline)
		pt_sleep_ms(5);
	if (find_survivors(token, pids, 1) == 0)
		printf("      (they were only late: gone within %d ms by themselves)\n", LATE_CHECK_MS);
	else
		printf("      (still there after %d ms: killing them)\n", LATE_CHECK_MS);
	kill_survivors(token);
	return n;
}

/* Finds the context directory of nsreload pid under our parent: nsreload.<pid>.<random>. 0 or -1. */
static int find_ctx_dir(const struct pt_cgroup *pc, pid_t pid, char *name, size_t size)
{
	char prefix[32];
	struct dirent *de;
	DIR *d;
	int r = -1;

	snprintf(prefix, sizeof(prefix), "nsreload.%d.", (int)pid);
	d = opendir(pc->parent);
	if (!d)
		return -1;
	while (r < 0 && (de = readdir(d)))
		if (de->d_type == DT_DIR && strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    strlen(de->d_name) < size) {
			snprintf(name, size, "%s", de->d_name);
			r = 0;
		}
	closedir(d);
	return r;
}

static void note_stale(const struct rung *rg, pid_t pid)
{
	char name[sizeof(stale[0])];

	if (nstale < MAX_STALE && find_ctx_dir(cg_of(rg), pid, name, sizeof(name)) == 0 && !is_stale(name))
		snprintf(stale[nstale++], sizeof(stale[0]), "%s", name);
}

/* The signal the harness sends to nsreload, 0 when the main process exits by itself. */
static int stop_signal(enum stop_how how)
{
	switch (how) {
	case STOP_TERM:
		return SIGTERM;
	case STOP_INT:
		return SIGINT;
	case STOP_HUP:
		return SIGHUP;
	case STOP_KILL:
		return SIGKILL;
	case STOP_MAIN_EXIT:
		break;
	}
	return 0;
}

static struct outcome run_cycle(const struct rung *rg, const char *fixture, enum stop_how how,
				const char *stop_timeout, int cycle)
{
	struct outcome o = { .ok = true, .status = -1 };
	struct argv_buf a = { 0 };
	char fixture_path[PATH_MAX];
	char token[160];
	char ctx[256];
	struct run r;
	long long t_stop;
	int ready;

	snprintf(ctx, sizeof(ctx), "[%s %s %s #%d]", rg->name, fixture, stop_names[how], cycle);
	snprintf(fixture_path, sizeof(fixture_path), "%s/%s", fixtures_dir, fixture);
	new_token(token, sizeof(token), rg->name, fixture, cycle);
	argv_exec(&a, rg, true);
	if (stop_timeout)
		argv_add(&a, stop_timeout);
	argv_add(&a, "--");
	argv_add(&a, fixture_path);
	if (how == STOP_MAIN_EXIT)
		argv_add(&a, "exit");

	if (run_start(&r, a.v, token) < 0) {
		printf("    FAIL %s: could not start nsreload\n", ctx);
		run_close(&r);
		o.ok = false;
		return o;
	}
	ready = run_wait_ready(&r, READY_TIMEOUT_MS);
	if (ready != 1) {
		if (!interrupted) {
			char st[64];

			run_wait_exit(&r, 0);
			pt_describe_status(r.status, st, sizeof(st));
			printf("    FAIL %s: %s before READY (nsreload: %s)\n", ctx,
			       ready == 0 ? "timed out" : "EOF", st);
			run_print_stderr(&r, "no READY");
		}
		o.ok = false;
		o.hung = ready == 0;
		run_force_end(&r);
		o.survivors = collect_survivors(token, 0);
		o.status = r.status;
		run_close(&r);
		if (rg->cgroup || rg->v1)
			note_stale(rg, r.pid);
		check_cgroup_leaks(ctx);
		return o;
	}

	/*
	 * The box must really be a cgroup under the parent we passed, or the rung was not honoured.
	 * Not checkable when the main process exits by itself: nsreload may be done already.
	 */
	if ((rg->cgroup || rg->v1) && cg_of(rg)->parent[0] && how != STOP_MAIN_EXIT) {
		char name[64];

		if (find_ctx_dir(cg_of(rg), r.pid, name, sizeof(name)) < 0) {
			printf("    FAIL %s: no %s/nsreload.%d.* while the box runs\n", ctx,
			       cg_of(rg)->parent, (int)r.pid);
			o.ok = false;
		}
	}

	t_stop = pt_now_ms();
	if (stop_signal(how) != 0)
		kill(r.pid, stop_signal(how));
	if (!run_wait_exit(&r, EXIT_TIMEOUT_MS) && interrupted) {
		o.ok = false;
		o.hung = true;
		run_force_end(&r);
	} else if (r.status < 0) {
		static pid_t pids[MAX_SURVIVORS];
		int n = find_survivors(token, pids, MAX_SURVIVORS);

		printf("    FAIL %s: nsreload still running %d s after the stop; box holds %d process(es):\n",
		       ctx, EXIT_TIMEOUT_MS / 1000, n);
		for (int i = 0; i < n && i < 10; i++)
			pt_print_process(&pbuf, pids[i]);
		run_print_stderr(&r, "hung");
		o.ok = false;
		o.hung = true;
		run_force_end(&r);
	}
	o.stop_ms = pt_now_ms() - t_stop;
	o.status = r.status;

	/* After a hang the status is our own SIGKILL, already reported. */
	if (r.status >= 0 && how != STOP_KILL && !o.hung) {
		char st[64];
		bool bad = false;

		pt_describe_status(r.status, st, sizeof(st));
		if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 125)
			bad = true;
		/* Dying of the signal it was sent is a legal way to say 128+sig; any other is a crash. */
		if (WIFSIGNALED(r.status))
			bad = WTERMSIG(r.status) != stop_signal(how);
		if (bad) {
			printf("    FAIL %s: nsreload ended with %s\n", ctx, st);
			run_print_stderr(&r, st);
			o.ok = false;
		}
	}

	if (run_stderr_has_sanitizer_report(&r)) {
		printf("    FAIL %s: sanitizer report from nsreload\n", ctx);
		run_print_stderr(&r, "sanitizer");
		o.ok = false;
	}
	o.survivors = collect_survivors(token, how == STOP_KILL ? VANISH_TIMEOUT_MS : 0);
	if (o.survivors > 0) {
		printf("    FAIL %s: %d survivor(s) after nsreload exited (%s)\n", ctx, o.survivors,
		       how == STOP_KILL ? "waited 5 s for the kernel" : "checked at once");
		run_print_stderr(&r, "survivors");
		o.ok = false;
	}
	if (verbose)
		run_print_stderr(&r, ctx);
	run_close(&r);

	if (how == STOP_KILL && (rg->cgroup || rg->v1))
		note_stale(rg, r.pid);
	if (check_cgroup_leaks(ctx) > 0) {
		printf("    FAIL %s: cgroup leaked\n", ctx);
		o.ok = false;
	}
	return o;
}

/* ---- cases ----------------------------------------------------------------------------------- */

struct status_hist {
	int status[8];
	unsigned count[8];
	int n;
};

static void hist_add(struct status_hist *h, int status)
{
	for (int i = 0; i < h->n; i++) {
		if (h->status[i] == status) {
			h->count[i]++;
			return;
		}
	}
	if (h->n < 8) {
		h->status[h->n] = status;
		h->count[h->n++] = 1;
	}
}

static void hist_print(const struct status_hist *h, const char *label)
{
	if (h->n == 0)
		return;
	printf("      %-10s nsreload:", label);
	for (int i = 0; i < h->n; i++) {
		char st[64];

		pt_describe_status(h->status[i], st, sizeof(st));
		printf(" %s x%u%s", st, h->count[i], i + 1 < h->n ? "," : "");
	}
	putchar('\n');
}

static void case_stop_cycles(size_t ri, size_t fi, int cycles)
{
	const struct rung *rg = &rungs[ri];
	struct cell *c = &table[ri][fi];
	struct status_hist hist[NSTOP_ROTATION] = { 0 };
	long long t0 = pt_now_ms(), worst = 0;
	int failures = 0;

	c->run = true;
	for (int i = 0; i < cycles && !interrupted; i++) {
		enum stop_how how = (enum stop_how)(i % NSTOP_ROTATION);
		struct outcome o = run_cycle(rg, fixtures[fi], how, stop_timeout_opt, i);

		c->cycles++;
		c->survivors += (unsigned)o.survivors;
		hist_add(&hist[how], o.status);
		if (o.stop_ms > worst)
			worst = o.stop_ms;
		if (!o.ok && (++failures >= GIVE_UP_FAILURES || o.hung) && i + 1 < cycles) {
			printf("    giving up on %s x %s after %d failed cycle(s)\n", rg->name, fixtures[fi],
			       failures);
			break;
		}
	}
	c->failed = failures > 0 || interrupted;
	for (int h = 0; h < NSTOP_ROTATION; h++)
		hist_print(&hist[h], stop_names[h]);
	verdict(!c->failed,
		"%s x %s: %u cycles, %u survivors, %d failed cycles, slowest stop %lld ms, %.1f s", rg->name,
		fixtures[fi], c->cycles, c->survivors, failures, worst, (pt_now_ms() - t0) / 1000.0);
}

/* The box must be emptied by the kill after a short stop timeout, even though nothing obeys SIGTERM. */
static void case_ignorer_timeout(size_t ri)
{
	const struct rung *rg = &rungs[ri];
	long long worst = 0;
	int survivors = 0;
	bool ok = true;

	for (int i = 0; i < IGNORER_RUNS && !interrupted; i++) {
		struct outcome o = run_cycle(rg, "ignorer", STOP_TERM, "--stop-timeout=200ms", i);

		survivors += o.survivors;
		if (o.stop_ms > worst)
			worst = o.stop_ms;
		if (o.stop_ms > IGNORER_MAX_MS) {
			printf("    FAIL [%s ignorer 200ms #%d]: the stop took %lld ms\n", rg->name, i,
			       o.stop_ms);
			ok = false;
		}
		if (!o.ok)
			ok = false;
		if (o.hung)
			break;
	}
	verdict(ok && !interrupted,
		"%s x ignorer, --stop-timeout=200ms + SIGTERM: %d runs, %d survivors, slowest %lld ms",
		rg->name, IGNORER_RUNS, survivors, worst);
}

static void case_kill_cycles(size_t ri, size_t fi, int cycles)
{
	const struct rung *rg = &rungs[ri];
	struct cell *c = &table[ri][fi];
	long long t0 = pt_now_ms();
	int failures = 0;

	c->kill_run = true;
	for (int i = 0; i < cycles && !interrupted; i++) {
		struct outcome o = run_cycle(rg, fixtures[fi], STOP_KILL, stop_timeout_opt, i);

		c->kill_cycles++;
		c->kill_survivors += (unsigned)o.survivors;
		if (!o.ok && (++failures >= GIVE_UP_FAILURES || o.hung) && i + 1 < cycles) {
			printf("    giving up on SIGKILL %s x %s after %d failed cycle(s)\n", rg->name,
			       fixtures[fi], failures);
			break;
		}
	}
	c->kill_failed = failures > 0 || interrupted;
	verdict(!c->kill_failed, "%s x %s, SIGKILL to nsreload: %u cycles, %u survivors, %.1f s", rg->name,
		fixtures[fi], c->kill_cycles, c->kill_survivors, (pt_now_ms() - t0) / 1000.0);
}

/* Runs a short command under nsreload and returns its wait status, or -1. */
static int run_simple(const struct rung *rg, char *const cmd[], const char *what, int *survivors,
		      struct run *keep)
{
	struct argv_buf a = { 0 };
	char token[160];
	struct run r;
	int status;

	new_token(token, sizeof(token), rg ? rg->name : "auto", what, 0);
	argv_exec(&a, rg, true);
	argv_add(&a, "--");
	for (int i = 0; cmd[i]; i++)
		argv_add(&a, cmd[i]);
	if (run_start(&r, a.v, token) < 0) {
		if (keep)
			*keep = r;
		else
			run_close(&r);
		return -1;
	}
	if (!run_wait_exit(&r, EXIT_TIMEOUT_MS)) {
		if (!interrupted) {
			printf("      %s: nsreload still running after %d s\n", what, EXIT_TIMEOUT_MS / 1000);
			run_print_stderr(&r, "hung");
		}
		run_force_end(&r);
	}
	status = r.status;
	if (survivors)
		*survivors = collect_survivors(token, 0);
	if (keep)
		*keep = r;
	else
		run_close(&r);
	return status;
}

/* A rung is available if the simplest command runs and exits 0 on it. */
static void probe_rung(struct rung *rg)
{
	char *cmd[] = { "true", NULL };
	struct run r;
	int status;

	if (rg->cgroup && !cg.parent[0]) {
		snprintf(rg->why, sizeof(rg->why), "no writable cgroup2 mount");
		return;
	}
	if (rg->v1 && !cg1.parent[0]) {
		snprintf(rg->why, sizeof(rg->why), "no writable v1 freezer directory below ours");
		return;
	}
	status = run_simple(rg, cmd, "probe", NULL, &r);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rg->available = true;
	} else {
		char st[64], line[160];

		pt_describe_status(status, st, sizeof(st));
		run_first_stderr_line(&r, line, sizeof(line));
		snprintf(rg->why, sizeof(rg->why), "%s: %.150s", st, line);
	}
	run_close(&r);
	if (check_cgroup_leaks("probe") > 0)
		verdict(false, "rung %s: `exec -- true` leaked its cgroup", rg->name);
}

static void case_exit_codes(const struct rung *rg, const char *noexec_path)
{
	static char *sh_exit[] = { "sh", "-c", "exit 7", NULL };
	static char *sh_kill[] = { "sh", "-c", "kill -9 $$", NULL };
	static char *missing[] = { "/nonexistent", NULL };
	char *noexec[] = { (char *)noexec_path, NULL };
	struct {
		char *const *cmd;
		const char *what;
		int want;
	} checks[] = {
		{ missing, "/nonexistent", 127 },
		{ noexec, "non-executable file", 126 },
		{ sh_exit, "sh -c 'exit 7'", 7 },
		{ sh_kill, "sh -c 'kill -9 $$'", 137 },
	};
	const char *name = rg ? rg->name : "auto";

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]) && !interrupted; i++) {
		int survivors = 0;
		struct run r;
		int status = run_simple(rg, checks[i].cmd, checks[i].what, &survivors, &r);
		bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == checks[i].want &&
			  survivors == 0;
		char st[64];

		pt_describe_status(status, st, sizeof(st));
		if (!ok)
			run_print_stderr(&r, checks[i].what);
		run_close(&r);
		bool leaked = check_cgroup_leaks(checks[i].what) > 0;

		verdict(ok && !leaked, "exit code [%s] %s: want exit %d, got %s%s%s", name, checks[i].what,
			checks[i].want, st, survivors ? ", with survivors" : "",
			leaked ? ", cgroup leaked" : "");
	}
}

/* nsreload as PID 1 of a fresh pid namespace, with a main process that exits at once. */
static void case_pid1(const struct rung *rg, const char *unshare_path)
{
	struct argv_buf a = { 0 };
	char fixture_path[PATH_MAX];
	char token[160], st[64];
	const char *name = rg ? rg->name : "auto";
	struct run r;
	int ready, survivors;
	bool ok = true, leaked;

	snprintf(fixture_path, sizeof(fixture_path), "%s/double_fork", fixtures_dir);
	new_token(token, sizeof(token), name, "pid1", 0);
	argv_add(&a, unshare_path);
	argv_add(&a, "--pid");
	argv_add(&a, "--fork");
	argv_add(&a, "--kill-child");
	argv_exec(&a, rg, true);
	argv_add(&a, "--");
	argv_add(&a, fixture_path);
	argv_add(&a, "exit");
	if (run_start(&r, a.v, token) < 0) {
		verdict(false, "PID 1 [%s]: could not start", name);
		run_close(&r);
		return;
	}
	ready = run_wait_ready(&r, READY_TIMEOUT_MS);
	if (ready != 1) {
		printf("    no READY from double_fork under PID-1 nsreload\n");
		ok = false;
	}
	if (!run_wait_exit(&r, EXIT_TIMEOUT_MS)) {
		if (!interrupted)
			printf("    nsreload as PID 1 did not finish within %d s\n", EXIT_TIMEOUT_MS / 1000);
		ok = false;
		run_force_end(&r);
	}
	pt_describe_status(r.status, st, sizeof(st));
	if (r.status < 0 || (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 125) || WIFSIGNALED(r.status))
		ok = false;
	survivors = collect_survivors(token, 0);
	if (survivors)
		ok = false;
	if (!ok)
		run_print_stderr(&r, "PID 1");
	run_close(&r);
	leaked = check_cgroup_leaks("PID 1") > 0;
	verdict(ok && !leaked,
		"PID 1 [%s]: unshare --pid --fork nsreload exec -- double_fork exit: %s, %d survivors%s",
		name, st, survivors, leaked ? ", cgroup leaked" : "");
}

/* After SIGKILLed instances, the next nsreload must sweep their directories (box_ctx_new). */
static void case_stale_sweep(struct rung *rg)
{
	char *cmd[] = { "true", NULL };
	int before = nstale, left = 0;
	int status;

	if (nstale == 0)
		return;
	status = run_simple(rg, cmd, "sweep", NULL, NULL);
	for (int i = 0; i < nstale; i++) {
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/%s", cg_of(rg)->parent, stale[i]);
		if (access(path, F_OK) == 0) {
			printf("      not swept: %s\n", path);
			pt_cgroup_remove_tree(&pbuf, cg_of(rg), path);
			left++;
		}
	}
	nstale = 0;
	verdict(left == 0 && status == 0,
		"%s: stale boxes of SIGKILLed nsreload swept by the next one: %d of %d left", rg->name, left,
		before);
}

/* ---- main ------------------------------------------------------------------------------------ */

static void print_table(const char *title, bool kill)
{
	printf("\n%s\n%-14s", title, "rung");
	for (size_t f = 0; f < NFIXTURES; f++)
		printf(" %12s", fixtures[f]);
	putchar('\n');
	for (size_t r = 0; r < NRUNGS; r++) {
		if (!rungs[r].selected || (kill && !rungs[r].pidns && !rungs[r].v1))
			continue;
		printf("%-14s", rungs[r].name);
		for (size_t f = 0; f < NFIXTURES; f++) {
			const struct cell *c = &table[r][f];
			bool run = kill ? c->kill_run : c->run;
			char cell[32];

			if (!rungs[r].available)
				snprintf(cell, sizeof(cell), "skip");
			else if (!run)
				snprintf(cell, sizeof(cell), "-");
			else
				snprintf(cell, sizeof(cell), "%u/%u%s",
					 kill ? c->kill_survivors : c->survivors,
					 kill ? c->kill_cycles : c->cycles,
					 (kill ? c->kill_failed : c->failed) ? " !" : "");
			printf(" %12s", cell);
		}
		putchar('\n');
	}
	printf("(survivors/cycles; \"!\" marks a failed case)\n");
}

int main(int argc, char **argv)
{
	const char *require = getenv("NSRELOAD_TEST_REQUIRE");
	const char *only_rungs = getenv("NSRELOAD_TEST_RUNGS");
	const char *only_fixtures = getenv("NSRELOAD_TEST_FIXTURES");
	const char *st_env = getenv("NSRELOAD_TEST_STOP_TIMEOUT");
	int cycles = pt_env_int("contain_test", "NSRELOAD_TEST_CYCLES", 50);
	int kill_cycles = pt_env_int("contain_test", "NSRELOAD_TEST_KILL_CYCLES", 10);
	char stop_opt[128], noexec_path[] = "/tmp/contain-test-noexec.XXXXXX";
	char unshare_buf[PATH_MAX];
	const char *unshare_path;
	long long t0 = pt_now_ms();
	int noexec_fd, cgr;
	bool want_parent = false;
	bool extras = pt_env_int("contain_test", "NSRELOAD_TEST_EXTRAS", 1) > 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s <path-to-nsreload> <fixtures-dir>\n", argv[0]);
		return 2;
	}
	nsreload_path = argv[1];
	fixtures_dir = argv[2];
	verbose = pt_env_int("contain_test", "NSRELOAD_TEST_VERBOSE", 0) > 0;
	setvbuf(stdout, NULL, _IOLBF, 0);

	pt_catch_stop_signals(on_signal);

	if (!st_env)
		st_env = "1s";
	if (*st_env) {
		snprintf(stop_opt, sizeof(stop_opt), "--stop-timeout=%s", st_env);
		stop_timeout_opt = stop_opt;
	}

	printf("contain_test: nsreload %s, fixtures %s, %d cycles, %d SIGKILL cycles, %s\n", nsreload_path,
	       fixtures_dir, cycles, kill_cycles,
	       stop_timeout_opt ? stop_timeout_opt : "default stop timeout");

	for (size_t r = 0; r < NRUNGS; r++) {
		rungs[r].selected =
			only_rungs ? pt_in_list(only_rungs, rungs[r].name) : !rung_is_auto(&rungs[r]);
		want_parent |= rungs[r].selected && rungs[r].cgroup;
	}
	cgr = want_parent ? pt_cgroup_setup(&cg, "nsreload-test", NULL) : -ENOENT;
	if (!want_parent)
		printf("no cgroup rung selected: no cgroup parent made\n");
	else if (cgr < 0)
		printf("no writable cgroup2 (%s): cgroup rungs unavailable\n", strerror(-cgr));
	else
		printf("cgroup parent %s\n", cg.parent);
	for (size_t r = 0; r < NRUNGS; r++) {
		if (!rungs[r].selected || !rungs[r].v1 || cg1.parent[0])
			continue;
		cgr = pt_cgroup1_setup(&cg1, "nsreload-test", getenv("NSRELOAD_CGROUP1_PARENT"));
		if (cgr < 0) {
			printf("no writable v1 freezer (%s): the cgroup1 rung is unavailable\n",
			       strerror(-cgr));
			break;
		}
		printf("cgroup v1 parent %s\n", cg1.parent);
		/* Every nsreload of ours puts its cgroup1 boxes there; the other rungs do not read it. */
		setenv("NSRELOAD_CGROUP1_PARENT", cg1.rel, 1);
	}

	for (size_t f = 0; f < NFIXTURES; f++) {
		char path[PATH_MAX];

		fixture_selected[f] = !only_fixtures || pt_in_list(only_fixtures, fixtures[f]);
		snprintf(path, sizeof(path), "%s/%s", fixtures_dir, fixtures[f]);
		if (fixture_selected[f] && access(path, X_OK) < 0) {
			verdict(false, "fixture %s missing (%s)", path, strerror(errno));
			fixture_selected[f] = false;
		}
	}

	if (access(nsreload_path, X_OK) < 0)
		printf("nsreload %s is not executable (%s): every rung is unavailable\n", nsreload_path,
		       strerror(errno));
	for (size_t r = 0; r < NRUNGS && !interrupted; r++) {
		struct rung *rg = &rungs[r];

		if (!rg->selected)
			continue;
		probe_rung(rg);
		if (rg->available)
			printf("rung %s: available\n", rg->name);
		else if (require && pt_in_list(require, rg->name))
			verdict(false, "rung %s is required (NSRELOAD_TEST_REQUIRE) but unavailable: %s",
				rg->name, rg->why);
		else
			printf("SKIP: rung %s unavailable: %s\n", rg->name, rg->why);
	}
	for (const char *p = require; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool known = false;

		for (size_t r = 0; r < NRUNGS; r++)
			known |= strlen(rungs[r].name) == n && strncmp(rungs[r].name, p, n) == 0;
		if (!known && n > 0)
			printf("note: NSRELOAD_TEST_REQUIRE names \"%.*s\", not a rung: another test checks "
			       "it\n",
			       (int)n, p);
		p = end ? end + 1 : NULL;
	}

	for (size_t r = 0; r < NRUNGS && !interrupted; r++) {
		struct rung *rg = &rungs[r];

		if (!rg->selected || !rg->available)
			continue;
		printf("\n== rung %s ==\n", rg->name);
		for (size_t f = 0; f < NFIXTURES && !interrupted; f++) {
			if (fixture_selected[f])
				case_stop_cycles(r, f, cycles);
		}
		if (!interrupted && fixture_wanted("ignorer"))
			case_ignorer_timeout(r);
		/* The rungs that end their boxes when nsreload is SIGKILLed: the pidns ones, and cgroup1's
		 * guard. */
		if ((rg->pidns || rg->v1) && kill_cycles > 0) {
			for (size_t f = 0; f < NFIXTURES && !interrupted; f++) {
				if (fixture_selected[f])
					case_kill_cycles(r, f, kill_cycles);
			}
			if (!interrupted && (rg->cgroup || rg->v1))
				case_stale_sweep(rg);
		}
	}

	if (!extras)
		goto summary;
	printf("\n== exit codes ==\n");
	noexec_fd = mkstemp(noexec_path);
	if (noexec_fd >= 0) {
		dprintf(noexec_fd, "#!/bin/sh\nexit 0\n");
		fchmod(noexec_fd, 0644);
		close(noexec_fd);
	}
	if (!interrupted &&
	    (rungs[0].available || rungs[1].available || rungs[2].available || rungs[3].available))
		case_exit_codes(NULL, noexec_path);
	for (size_t r = 0; r < NRUNGS && !interrupted; r++) {
		if (rungs[r].selected && rungs[r].available)
			case_exit_codes(&rungs[r], noexec_path);
	}
	if (noexec_fd >= 0)
		unlink(noexec_path);

	printf("\n== nsreload as PID 1 ==\n");
	unshare_path = pt_find_in_path("unshare", unshare_buf, sizeof(unshare_buf));
	if (!unshare_path || geteuid() != 0) {
		printf("SKIP: PID 1 case needs root and unshare(1)\n");
	} else if (fixture_wanted("double_fork")) {
		if (!interrupted &&
		    (rungs[0].available || rungs[1].available || rungs[2].available || rungs[3].available))
			case_pid1(NULL, unshare_path);
		for (size_t r = 0; r < NRUNGS && !interrupted; r++) {
			if (rungs[r].selected && rungs[r].available)
				case_pid1(&rungs[r], unshare_path);
		}
	}

summary:
	if (interrupted)
		verdict(false, "interrupted by a signal");

	if (cg.parent[0]) {
		int leaks;

		nstale = 0;
		leaks = cgroup_leaks_under(&cg, "the whole run");
		verdict(leaks == 0, "no cgroup left under %s at the end (%d leaked)", cg.parent, leaks);
		pt_cgroup_done(&cg);
	}
	if (cg1.parent[0]) {
		int leaks;

		nstale = 0;
		leaks = cgroup_leaks_under(&cg1, "the whole run");
		verdict(leaks == 0, "no cgroup left under %s at the end (%d leaked)", cg1.parent, leaks);
		pt_cgroup_done(&cg1);
	}

	print_table("survivors, stop cycles (SIGTERM / SIGINT / SIGHUP / main exits):", false);
	print_table("survivors, SIGKILL to nsreload (pidns and cgroup1 rungs):", true);
	printf("\ntotal time %.1f s\n", (pt_now_ms() - t0) / 1000.0);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail > 0 ? 1 : 0;
}
