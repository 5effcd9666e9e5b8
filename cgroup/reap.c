/*
 * The main process of a box: its status (from waitid, or from an init of
 * ours through a pipe), its reaping, and signals to it through its pidfd.
 * And box_ctx_reap(): every child of the supervisor, reaped into its box.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box-internal.h"
#include "proctree.h"

/*
 * A stop (sig > 0) or a continue (0) of the main process, as a job-control
 * shell would see it. Every stop reported is a new one, even by the same
 * signal: wait(2) reports each once, and keeps no continue that a new stop
 * came after.
 */
static void note_main_stop(struct box *b, int sig)
{
	if (b->main_exited || (sig == 0 && b->main_stop_sig == 0))
		return;
	b->main_stop_sig = sig;
	b->pending |= sig ? BOX_EV_MAIN_STOPPED : BOX_EV_MAIN_CONTINUED;
}

/* Records the main process's end, once: the status init reported wins over init's own. */
static void note_main_exit(struct box *b, const siginfo_t *si)
{
	if (b->main_exited)
		return;
	b->main_exited = true;
	b->main_stop_sig = 0;
	b->pending |= BOX_EV_MAIN_EXITED;
	if (si->si_code == CLD_EXITED)
		b->main_status = W_EXITCODE(si->si_status, 0);
	else
		b->main_status = W_EXITCODE(0, si->si_status);
}

void box_read_main_status(struct box *b)
{
	ssize_t n;
	int st;

	while (b->status_fd >= 0) {
		n = read(b->status_fd, &st, sizeof(st));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(st)) {
			/* At EOF init is gone; the pipe would stay readable and spin the caller's loop. */
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				close(b->status_fd);
				b->status_fd = -1;
			}
			return;
		}
		/* init's writes are whole ints (PIPE_BUF): stops and continues first, the end last. */
		if (WIFSTOPPED(st))
			note_main_stop(b, WSTOPSIG(st));
		else if (WIFCONTINUED(st))
			note_main_stop(b, 0);
		else if (!b->main_exited) {
			b->main_exited = true;
			b->main_stop_sig = 0;
			b->main_status = st;
			b->pending |= BOX_EV_MAIN_EXITED;
		}
	}
}

int box_poll_main_stop(struct box *b)
{
	siginfo_t si;

	/* On the pidns rungs init is the child and never stops: its pipe says how the command is. */
	if (b->status_fd >= 0 || b->pidfd < 0 || b->main_exited || b->pid_reaped)
		return 0;
	for (;;) {
		memset(&si, 0, sizeof(si));
		/* Without WEXITED an exit stays for box_try_reap_main(); each stop or continue is taken once.
		 */
		if (waitid(P_PIDFD, (id_t)b->pidfd, &si, WSTOPPED | WCONTINUED | WNOHANG) < 0)
			return errno == ECHILD ? 0 : -errno;
		if (si.si_pid == 0)
			return 0;
		if (si.si_code == CLD_STOPPED)
			note_main_stop(b, si.si_status);
		else if (si.si_code == CLD_CONTINUED)
			note_main_stop(b, 0);
	}
}

static void close_pidfd(struct box *b)
{
	/* A zombie's or a reaped pidfd stays readable for ever; closing it also drops it from the caller's
	 * epoll set. */
	if (b->pidfd >= 0)
		close(b->pidfd);
	b->pidfd = -1;
}

int box_try_reap_main(struct box *b)
{
	siginfo_t si;

	if (b->pid_reaped)
		return 1;
	if (b->main_zombie || b->pidfd < 0)
		return 0;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)b->pidfd, &si, WEXITED | WNOHANG | (b->hold_main ? WNOWAIT : 0)) < 0) {
		if (errno != ECHILD)
			return -errno;
		/* Not our child (any more): never signal that pid again. */
		b->pid_reaped = true;
		close_pidfd(b);
		note_main_exit(b, &(siginfo_t){ .si_code = CLD_EXITED, .si_status = 125 });
		return 1;
	}
	if (si.si_pid == 0)
		return 0;
	if (b->hold_main) {
		/* Still our zombie: the pid, and the process group of the same number, stay ours. */
		b->main_zombie = true;
		close_pidfd(b);
		note_main_exit(b, &si);
		return 0;
	}
	b->pid_reaped = true;
	/* init wrote the target's status before exiting: it, not init's own, is the main status. */
	box_read_main_status(b);
	close_pidfd(b);
	note_main_exit(b, &si);
	return 1;
}

int box_reap_held_main(struct box *b)
{
	siginfo_t si;

	if (b->pid_reaped)
		return 0;
	if (!b->main_zombie)
		return -EBUSY;
	memset(&si, 0, sizeof(si));
	/* b->pid is our unreaped zombie (nothing else reaps a held leader), so P_PID names exactly it. */
	if (waitid(P_PID, (id_t)b->pid, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
		return -errno;
	b->pid_reaped = true;
	return 0;
}

int box_pidfd_signal(struct box *b, int sig, const siginfo_t *info)
{
	siginfo_t copy;

	if (b->pidfd < 0 || b->pid_reaped || b->main_zombie)
		return -ESRCH;
	if (info)
		copy = *info;
	if (syscall(SYS_pidfd_send_signal, b->pidfd, sig, info ? &copy : NULL, 0) < 0)
		return -errno;
	return 0;
}

int box_ctx_exempt(struct box_ctx *ctx, pid_t pid, int pidfd)
{
	pid_t proc_pid = pidfd >= 0 ? proc_pidfd_pid(pidfd) : -ENOENT;

	for (int i = 0; i < BOX_CTX_EXEMPT_MAX; i++) {
		if (ctx->exempt[i].pid > 0)
			continue;
		/* As for a box's main process: /proc's number when /proc has one, else ours. */
		ctx->exempt[i].pid = pid;
		ctx->exempt[i].proc_pid = proc_pid > 0 ? proc_pid : pid;
		return 0;
	}
	return -ENOSPC;
}

bool box_ctx_exempted(const struct box_ctx *ctx, pid_t proc_pid)
{
	for (int i = 0; i < BOX_CTX_EXEMPT_MAX; i++)
		if (ctx->exempt[i].pid > 0 && ctx->exempt[i].proc_pid == proc_pid)
			return true;
	return false;
}

/* Reaped: its number is free for anyone now. */
static void unexempt(struct box_ctx *ctx, pid_t pid)
{
	for (int i = 0; i < BOX_CTX_EXEMPT_MAX; i++)
		if (ctx->exempt[i].pid == pid)
			ctx->exempt[i].pid = ctx->exempt[i].proc_pid = 0;
}

/* The box whose main process (not yet reaped) is pid, or NULL. */
static struct box *box_of_main(const struct box_ctx *ctx, pid_t pid)
{
	for (struct box *b = ctx->boxes; b; b = b->next)
		if (b->spawned && b->pid == pid && !b->pid_reaped)
			return b;
	return NULL;
}

/*
 * Reaps our exited child pid: into its box when it is a box's main process.
 * Returns 1 when reaped, 0 when it stays a zombie (a held pgroup leader).
 */
static int reap_child(struct box_ctx *ctx, pid_t pid)
{
	struct box *b = box_of_main(ctx, pid);

	if (b)
		return box_try_reap_main(b) > 0;
	if (waitpid(pid, NULL, WNOHANG) == pid)
		unexempt(ctx, pid);
	return 1;
}

struct reap_walk {
	struct box_ctx *ctx;
	int n;
};

static int reap_listed_child(pid_t pid, void *data)
{
	struct reap_walk *w = data;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	/* Only our own children are waitable: a pid read from /proc that is not one is left alone. */
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid)
		return 0;
	w->n += reap_child(w->ctx, pid);
	return 0;
}

int box_ctx_reap(struct box_ctx *ctx)
{
	int n = 0;

	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* Look before reaping: a box's main process is reaped by its box, which wants the status. */
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			return errno == ECHILD ? n : -errno;
		if (si.si_pid == 0)
			return n;
		if (reap_child(ctx, si.si_pid) == 0) {
			/*
			 * A held leader: waitid(P_ALL) may keep returning it ahead of the others, so
			 * go through our children one by one instead.
			 */
			struct reap_walk w = { .ctx = ctx };
			int r = proctree_own_children(reap_listed_child, &w);
			return r < 0 ? r : n + w.n;
		}
		n++;
	}
}
