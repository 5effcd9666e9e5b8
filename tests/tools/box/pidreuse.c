/*
 * pidreuse - gives a box's old pid to someone else, on purpose, to show that
 * nsreload never signals a pid or a process group that is not proven its
 * own. Only inside a fresh PID namespace (tests/lib/sandbox.sh sets
 * NSRELOAD_IN_SANDBOX=1): it writes /proc/sys/kernel/ns_last_pid, so that the
 * next fork gets the pid it wants when that pid is free.
 *
 *   pidreuse at PID -- CMD [ARGS...]
 *       Starts CMD as PID, as the leader of a new session and process group
 *       (a stranger's group whose id is PID), prints PID and exits 0. Exits 3
 *       when PID is not free (a zombie holds it), 2 on other errors.
 *   pidreuse pgroup-sibling
 *       Box library: a pgroup --no-pin box A whose leader exits while a
 *       setsid'd child keeps A alive, box_ctx_reap(), then a sibling box B
 *       spawned on A's leader's pid; box_kill(A) must leave B's leader alive.
 *   pidns-stale
 *       Box library: a pidns box whose init is reaped by box_ctx_reap() (as
 *       while another box is processed), a stranger forked on init's old pid,
 *       then box_signal_all(TERM) and box_kill() of the box: the stranger must
 *       live.
 *   nospawn
 *       Box library, every rung but the cgroup ones: a spawn that fails
 *       before any process exists (out of fds), then box_signal_all(),
 *       box_stop(), box_kill() and box_free() of that box. A box without a
 *       process must never signal anything: a pid of -1 there is kill(-1),
 *       every process of the namespace, and here a canary of ours.
 * The scenarios print what happened and exit 0 when the stranger (or B)
 * lived, 1 when it was signalled, 2 when the scenario could not be built.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

static int set_last_pid(pid_t last)
{
	char buf[32];
	int fd, n, r = 0;

	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", (int)last);
	if (write(fd, buf, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Forks a child that gets exactly pid, or returns -EEXIST when pid is not
 * free. The child waits on a pipe for the go-ahead, so that a child with the
 * wrong pid never runs anything. In the child returns 0 (as fork does).
 */
static pid_t fork_at(pid_t want)
{
	for (int tries = 0; tries < 5; tries++) {
		int p[2], r;
		char go;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		r = set_last_pid(want - 1);
		if (r < 0)
			return r;
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			close(p[1]);
			if (read(p[0], &go, 1) != 1 || go != 'g')
				_exit(0);
			close(p[0]);
			return 0;
		}
		close(p[0]);
		go = pid == want ? 'g' : 'x';
		if (write(p[1], &go, 1) != 1)
			go = 'x';
		close(p[1]);
		if (go == 'g')
			return pid;
		/* Another number: want is held (the kernel skipped it), or a fork elsewhere raced us to it.
		 */
		(void)waitpid(pid, NULL, 0);
	}
	return -EEXIST;
}

static int cmd_at(int argc, char **argv)
{
	pid_t want, pid;

	if (argc < 4 || strcmp(argv[1], "--") != 0) {
		fputs("usage: pidreuse at PID -- CMD [ARGS...]\n", stderr);
		return 2;
	}
	want = (pid_t)atoi(argv[0]);
	if (want < 2)
		return 2;
	pid = fork_at(want);
	if (pid == -EEXIST) {
		fprintf(stderr, "pidreuse: pid %d is not free\n", (int)want);
		return 3;
	}
	if (pid < 0) {
		fprintf(stderr, "pidreuse: %s\n", strerror((int)-pid));
		return 2;
	}
	if (pid == 0) {
		if (setsid() < 0)
			_exit(126);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	printf("%d\n", (int)pid);
	return 0;
}

/* Whether the process behind pidfd has ended (exited or been killed). */
static bool pidfd_ended(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	return poll(&pfd, 1, 0) > 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits until pid (our child) has exited, without reaping it. */
static int wait_exited_noreap(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 ? -errno : 0;
}

static int new_ctx(enum box_rung rung, struct box_ctx **ctx)
{
	char why[512] = "";
	int r = box_ctx_new(
		ctx, &(struct box_ctx_opts){
			     .rung = rung, .no_pin = true, .errbuf = why, .errbuf_size = sizeof(why) });
	if (r < 0)
		fprintf(stderr, "pidreuse: no %s box here: %s\n", box_rung_name(rung),
			why[0] ? why : strerror(-r));
	return r;
}

static int spawn(struct box_ctx *ctx, struct box **b, char **argv)
{
	int r = box_new(ctx, "exec", b);
	if (r == 0)
		r = box_spawn(*b, &(struct box_spawn){ .argv = argv,
						       .stdin_fd = -1,
						       .stdout_fd = -1,
						       .stderr_fd = -1,
						       .tty_fd = -1 });
	if (r < 0)
		fprintf(stderr, "pidreuse: cannot start %s: %s\n", argv[0], strerror(-r));
	return r;
}

static void free_all(struct box_ctx *ctx)
{
	(void)box_ctx_reap(ctx);
	(void)box_ctx_free(ctx);
}

static int cmd_pgroup_sibling(void)
{
	static const char ready[] = "/tmp/pidreuse.ready";
	char script[256];
	char *a_argv[] = { "sh", "-c", script, NULL };
	char *b_argv[] = { "sleep", "1000", NULL };
	struct box_ctx *ctx = NULL;
	struct box *a = NULL, *b = NULL;
	pid_t leader, b_pid;
	int b_pidfd, code = 2, r;

	(void)unlink(ready);
	/* The leader returns once its setsid'd child is running: then only the leader holds its group. */
	snprintf(script, sizeof(script),
		 "setsid sh -c 'touch %s; exec sleep 1000' & while [ ! -e %s ]; do sleep 0.01; done; exit 0",
		 ready, ready);
	if (new_ctx(BOX_RUNG_PGROUP, &ctx) < 0 || spawn(ctx, &a, a_argv) < 0)
		goto out;
	leader = box_main_pid(a);
	if (wait_exited_noreap(leader) < 0)
		goto out;
	/* Reaping happens for any box, e.g. while another one is processed. */
	(void)box_ctx_reap(ctx);
	if (set_last_pid(leader - 1) < 0 || spawn(ctx, &b, b_argv) < 0)
		goto out;
	b_pid = box_main_pid(b);
	b_pidfd = (int)syscall(SYS_pidfd_open, b_pid, 0);
	if (b_pidfd < 0)
		goto out;
	printf("box A's leader was pid %d; box B's leader got pid %d%s\n", (int)leader, (int)b_pid,
	       b_pid == leader ? " (the same number)" : " (A's leader still holds the number)");
	r = box_kill(a);
	for (int i = 0; i < 200 && !box_is_empty(a); i++) {
		sleep_ms(10);
		(void)box_process(a);
	}
	sleep_ms(50);
	if (pidfd_ended(b_pidfd)) {
		printf("box_kill(A) (%s) killed box B's leader %d\n", strerror(r < 0 ? -r : 0), (int)b_pid);
		code = 1;
	} else if (!box_is_empty(a)) {
		printf("box A never became empty\n");
		code = 1;
	} else {
		printf("box_kill(A) emptied A and left box B's leader %d alone\n", (int)b_pid);
		code = 0;
	}
	close(b_pidfd);
out:
	if (b)
		(void)box_free(b);
	if (a)
		(void)box_free(a);
	if (ctx)
		free_all(ctx);
	(void)unlink(ready);
	return code;
}

/* Puts a stranger (a child of ours that only waits) on pid; returns its pidfd or -errno. */
static int stranger_at(pid_t pid)
{
	pid_t p = fork_at(pid);
	int fd;

	if (p == 0) {
		for (;;)
			pause();
	}
	if (p < 0)
		return (int)p;
	fd = (int)syscall(SYS_pidfd_open, p, 0);
	return fd < 0 ? -errno : fd;
}

static int cmd_pidns_stale(void)
{
	static const char *const what[] = { "box_signal_all(TERM)", "box_kill()" };
	char *argv[] = { "true", NULL };
	struct box_ctx *ctx = NULL;
	struct box *a = NULL;
	pid_t init;
	int code = 2, hit = 0;

	if (new_ctx(BOX_RUNG_PIDNS, &ctx) < 0 || spawn(ctx, &a, argv) < 0)
		goto out;
	init = box_main_pid(a);
	if (wait_exited_noreap(init) < 0)
		goto out;
	/* Reaped for the box, which has not been processed since: it does not know yet. */
	(void)box_ctx_reap(ctx);
	for (int i = 0; i < 2; i++) {
		/* A fresh stranger for each call: the first may have been killed. */
		int fd = stranger_at(init);
		if (fd < 0) {
			fprintf(stderr, "pidreuse: cannot fork on init's old pid %d: %s\n", (int)init,
				strerror(-fd));
			goto out;
		}
		if (i == 0)
			(void)box_signal_all(a, SIGTERM);
		else
			(void)box_kill(a);
		sleep_ms(50);
		if (pidfd_ended(fd)) {
			printf("%s reached a stranger on init's old pid %d\n", what[i], (int)init);
			hit++;
		}
		/* Kill and reap it, so that init's old pid is free again for the next stranger. */
		(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		(void)waitid(P_PIDFD, (id_t)fd, &(siginfo_t){ 0 }, WEXITED);
		close(fd);
	}
	if (!hit)
		printf("box_signal_all(TERM) and box_kill() left the strangers on init's old pid %d alone\n",
		       (int)init);
	code = hit ? 1 : 0;
out:
	if (a)
		(void)box_free(a);
	if (ctx)
		free_all(ctx);
	return code;
}

/* The lowest free fd: with RLIMIT_NOFILE there, the next fd anyone asks for fails with EMFILE. */
static int lowest_free_fd(void)
{
	int fd = dup(0);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* One rung of nospawn: 1 when the canary (our child, pidfd canary) was signalled. */
static int nospawn_rung(enum box_rung rung, int canary)
{
	char *argv[] = { "true", NULL };
	struct rlimit old, low;
	struct box_ctx *ctx = NULL;
	struct box *b = NULL;
	int r, lowest;

	if (new_ctx(rung, &ctx) < 0 || box_new(ctx, "exec", &b) < 0 || getrlimit(RLIMIT_NOFILE, &old) < 0)
		return 2;
	lowest = lowest_free_fd();
	low = old;
	low.rlim_cur = lowest < 0 ? 0 : (rlim_t)lowest;
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		return 2;
	r = box_spawn(b,
		      &(struct box_spawn){
			      .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .tty_fd = -1 });
	(void)setrlimit(RLIMIT_NOFILE, &old);
	printf("%s: box_spawn out of fds: %s, main pid %d\n", box_rung_name(rung), strerror(-r),
	       (int)box_main_pid(b));
	(void)box_signal_all(b, SIGKILL);
	(void)box_stop(b, SIGKILL, 0);
	(void)box_kill(b);
	(void)box_free(b);
	free_all(ctx);
	sleep_ms(50);
	return pidfd_ended(canary) ? 1 : 0;
}

static int cmd_nospawn(void)
{
	static const enum box_rung rungs[] = { BOX_RUNG_PGROUP, BOX_RUNG_PIDNS };
	pid_t pid = fork();
	int canary, code = 0;

	if (pid == 0) {
		for (;;)
			pause();
	}
	if (pid < 0 || (canary = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return 2;
	for (unsigned i = 0; i < sizeof(rungs) / sizeof(rungs[0]); i++) {
		int r = nospawn_rung(rungs[i], canary);
		if (r == 1)
			printf("%s: a box that never started a process signalled our canary\n",
			       box_rung_name(rungs[i]));
		if (r > code)
			code = r;
		if (r)
			break;
	}
	if (code == 0)
		printf("boxes that never started a process signalled nothing\n");
	(void)syscall(SYS_pidfd_send_signal, canary, SIGKILL, NULL, 0);
	(void)waitid(P_PIDFD, (id_t)canary, &(siginfo_t){ 0 }, WEXITED);
	close(canary);
	return code;
}

int main(int argc, char **argv)
{
	const char *in = getenv("NSRELOAD_IN_SANDBOX");

	if (!in || strcmp(in, "1") != 0) {
		fputs("pidreuse: only inside tests/lib/sandbox.sh (a fresh PID namespace)\n", stderr);
		return 2;
	}
	if (argc >= 2 && strcmp(argv[1], "at") == 0)
		return cmd_at(argc - 2, argv + 2);
	if (box_supervisor_init() < 0)
		return 2;
	if (argc == 2 && strcmp(argv[1], "pgroup-sibling") == 0)
		return cmd_pgroup_sibling();
	if (argc == 2 && strcmp(argv[1], "pidns-stale") == 0)
		return cmd_pidns_stale();
	if (argc == 2 && strcmp(argv[1], "nospawn") == 0)
		return cmd_nospawn();
	fputs("usage: pidreuse at PID -- CMD [ARGS...] | pgroup-sibling | pidns-stale | nospawn\n", stderr);
	return 2;
}
