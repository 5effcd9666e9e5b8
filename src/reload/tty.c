/* The terminal under 'nsreload run': foreground hand-off, the sentinel, suspend and resume (tty.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "box.h"
#include "log.h"
#include "reload.h"
#include "termjob.h"
#include "tty.h"

/* The signal that ends a sentinel: real-time, so it is taken after every terminal signal already pending. */
#define SENTINEL_END SIGRTMAX

struct sentinel {
	pid_t pid;     /* our child, or 0 */
	int pidfd;     /* its pidfd, or -1 */
	int report_fd; /* its pipe (in the epoll set until EOF), or -1 */
};

struct ttyctl {
	/* The foreground and the modes, each run of the app a job: tj.job_has_it while its group owns it. */
	struct termjob tj;
	bool to_app;
	pid_t app_pgid;      /* the app's foreground group while it runs (held by the sentinel), else 0 */
	bool spawning;       /* ttyctl_spawn_fd() gave the terminal to a spawn */
	struct sentinel cur; /* in app_pgid while the app runs */
	struct sentinel old; /* ended, but still reporting what came before its end */
	struct box_ctx *ctx; /* every sentinel is marked as no box's in it (box_ctx_exempt) */
	int ep;
	uint64_t tag;
	struct log *log;
};

/* ---- the sentinel ------------------------------------------------------------------------------------ */

static __attribute__((noreturn)) void sentinel_main(int wfd, pid_t parent, pid_t pgid)
{
	sigset_t all;
	siginfo_t si;

	/* Blocked already (the loop blocks what it reads from its signalfd); now every signal. */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(0);
	/* Nothing of nsreload's stays open here: not its terminal, its cgroup fds or its pipes. */
	if (wfd != 3 && dup2(wfd, 3) < 0)
		_exit(0);
	(void)syscall(SYS_close_range, 4U, ~0U, 0U);
	for (int fd = 0; fd < 3; fd++)
		close(fd);
	(void)prctl(PR_SET_NAME, "nsreload-tty", 0, 0, 0);
	/* The parent does it too; whoever comes first wins, the other changes nothing. */
	(void)setpgid(0, pgid);
	for (;;) {
		int sig = sigwaitinfo(&all, &si);
		unsigned char b = (unsigned char)sig;

		if (sig == SENTINEL_END && si.si_pid == parent)
			_exit(0);
		if (sig != SIGINT && sig != SIGTSTP && sig != SIGHUP)
			continue;
		/* kill() or sigqueue() by nsreload: the pgroup rung signalling its group, not the terminal.
		 */
		if (si.si_code <= 0 && si.si_pid == parent)
			continue;
		if (write(3, &b, 1) < 0 && errno != EINTR && errno != EAGAIN)
			_exit(0);
	}
}

static void sentinel_close(struct sentinel *s)
{
	if (s->report_fd >= 0)
		close(s->report_fd); /* leaves the epoll set with it */
	if (s->pidfd >= 0)
		close(s->pidfd);
	/* The subreaper's reaping (box_ctx_reap) takes its zombie. */
	*s = (struct sentinel){ .pidfd = -1, .report_fd = -1 };
}

static void sentinel_signal(struct sentinel *s, int sig)
{
	if (s->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0);
}

/*
 * The app's main process ended, maybe of the very Ctrl-C that the sentinel has not reported yet: it
 * leaves the app's group at once (a pgroup box would count it as its own until it is reaped), reports
 * what it has pending, then exits (SENTINEL_END comes after every standard signal), and its pipe is read
 * until EOF. One that was still ending is killed.
 */
static void sentinel_retire(struct ttyctl *t)
{
	if (t->old.pid > 0)
		sentinel_signal(&t->old, SIGKILL);
	sentinel_close(&t->old);
	if (t->cur.pid <= 0)
		return;
	(void)setpgid(t->cur.pid, t->cur.pid);
	sentinel_signal(&t->cur, SENTINEL_END);
	t->old = t->cur;
	t->cur = (struct sentinel){ .pidfd = -1, .report_fd = -1 };
}

/* A sentinel in t->app_pgid; 0 or -errno (then there is none). */
static int sentinel_start(struct ttyctl *t)
{
	int p[2], r;
	pid_t pid, parent = getpid();

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		sentinel_main(p[1], parent, t->app_pgid);
	}
	close(p[1]);
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		return r;
	}
	t->cur = (struct sentinel){ .pid = pid,
				    .pidfd = (int)syscall(SYS_pidfd_open, pid, 0),
				    .report_fd = p[0] };
	/*
	 * EACCES cannot happen (it never execs); a group already gone is EPERM: no sentinel then. Marked as
	 * no box's: once it has left the app's group, the pgroup rung's kill of the app's box must not take
	 * it before it has reported the Ctrl-C that killed the app.
	 */
	r = setpgid(pid, t->app_pgid) < 0 || t->cur.pidfd < 0 ? -errno
							      : box_ctx_exempt(t->ctx, pid, t->cur.pidfd);
	if (r < 0) {
		(void)kill(pid, SIGKILL); /* our unreaped child: the pid is still its own */
		sentinel_close(&t->cur);
		return r;
	}
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	r = reload_epoll_add(t->ep, p[0], t->tag);
	if (r < 0) {
		sentinel_signal(&t->cur, SIGKILL);
		sentinel_close(&t->cur);
	}
	return r;
}

/* ---- the foreground and the modes (termjob.h: each run of the app is a job) ------------------------------
 */

/* The foreground back to our own group, and our modes, after a run or a hand-off that failed. */
static void take_back(struct ttyctl *t)
{
	termjob_end(&t->tj, true);
}

int ttyctl_new(struct ttyctl **out, int ep, uint64_t tag, bool to_app, struct log *log)
{
	struct ttyctl *t;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct ttyctl){ .to_app = to_app,
			      .cur = { .pidfd = -1, .report_fd = -1 },
			      .old = { .pidfd = -1, .report_fd = -1 },
			      .ep = ep,
			      .tag = tag,
			      .log = log };
	/* Only our controlling terminal has a foreground that we can hand on. */
	termjob_init(&t->tj, STDIN_FILENO);
	if (t->tj.fd < 0) {
		free(t);
		return 0;
	}
	*out = t;
	return 0;
}

void ttyctl_free(struct ttyctl *t)
{
	if (!t)
		return;
	/* Whatever a run left (raw mode after a kill): our modes, as when nsreload started or was last fg'd.
	 */
	take_back(t);
	sentinel_signal(&t->cur, SIGKILL);
	sentinel_signal(&t->old, SIGKILL);
	sentinel_close(&t->cur);
	sentinel_close(&t->old);
	free(t);
}

int ttyctl_spawn_fd(struct ttyctl *t)
{
	if (!t || !t->to_app || !termjob_foreground(&t->tj))
		return -1;
	t->spawning = true;
	return t->tj.fd;
}

void ttyctl_app_started(struct ttyctl *t, struct box_ctx *ctx, bool ok)
{
	pid_t pg;
	int r;

	if (!t || !t->spawning)
		return;
	t->spawning = false;
	t->ctx = ctx;
	/* The child made its group the foreground before it exec'd; a failed spawn may have too. */
	pg = tcgetpgrp(t->tj.fd);
	if (pg <= 0 || pg == getpgrp())
		return;
	termjob_given(&t->tj);
	if (!ok) {
		take_back(t);
		return;
	}
	t->app_pgid = pg;
	r = sentinel_start(t);
	if (r < 0) {
		/* Without a sentinel Ctrl-C would reach the app alone: nsreload keeps the terminal. */
		log_msg(t->log, LOG_MAIN,
			"cannot hand the terminal to the app (no sentinel: %s); it stays with nsreload",
			strerror(-r));
		t->app_pgid = 0;
		take_back(t);
	}
}

void ttyctl_app_ended(struct ttyctl *t)
{
	if (!t)
		return;
	take_back(t);
	sentinel_retire(t);
	t->app_pgid = 0;
}

/* Appends what s reported to sigs; false at its EOF (it ended, or was killed). */
static bool sentinel_read(struct sentinel *s, int *sigs, int max, int *k)
{
	unsigned char buf[16];
	ssize_t n;

	if (s->report_fd < 0)
		return true;
	n = read(s->report_fd, buf, sizeof(buf) < (size_t)(max - *k) ? sizeof(buf) : (size_t)(max - *k));
	for (ssize_t i = 0; i < n; i++)
		sigs[(*k)++] = buf[i];
	return !(n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR));
}

int ttyctl_read(struct ttyctl *t, int *sigs, int max)
{
	int k = 0;

	if (!t)
		return 0;
	if (!sentinel_read(&t->old, sigs, max, &k))
		sentinel_close(&t->old);
	if (!sentinel_read(&t->cur, sigs, max, &k)) {
		/* Killed (by the app's own kill(0, SIGKILL), say): another joins while the group lives. */
		sentinel_close(&t->cur);
		if (t->app_pgid > 0 && sentinel_start(t) < 0) {
			t->app_pgid = 0;
			take_back(t);
		}
	}
	return k;
}

void ttyctl_suspend(struct ttyctl *t)
{
	if (t)
		termjob_take(&t->tj);
}

bool ttyctl_resume(struct ttyctl *t)
{
	if (!t || t->tj.job_has_it)
		return true;
	if (!termjob_foreground(&t->tj))
		return false; /* bg: the app waits for the terminal until fg */
	/* Only to a group a sentinel still holds: without one Ctrl-C would reach the app alone. */
	if (t->to_app && t->app_pgid > 0 && t->cur.pid > 0)
		(void)termjob_give_back(&t->tj, t->app_pgid);
	return true;
}
