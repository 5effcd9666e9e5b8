/*
 * Rung 3: a pinned process group. The child makes its own group and, unless
 * --no-pin, a seccomp filter turns setsid/setpgid into no-ops for the whole
 * tree, so kill(-pgid) reaches everything. Because the supervisor is a child
 * subreaper, every orphan comes back to us; the sweep walks all our
 * descendants (the children of every thread) and kills what belongs to the
 * box until nothing is left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box-internal.h"
#include "proctree.h"

/* The sweep gives up after this long; a process stuck in the kernel (D state) can outlast any kill. */
#define SWEEP_LIMIT_NS (10ull * 1000000000ull)

struct sweep {
	struct box *b;
	int sig; /* 0: only count */
	char entry[128];
	int found;
};

static bool belongs(struct sweep *s, pid_t pid, char *state)
{
	pid_t pgid;

	if (proc_read_stat(pid, &pgid, state) < 0)
		return false;
	if (pgid == s->b->pid)
		return true;
	/* Unpinned trees can leave the group; the token in their environment still names the box. */
	return s->b->ctx->no_pin && proc_environ_has(pid, s->entry);
}

static int sweep_one(pid_t pid, void *data)
{
	struct sweep *s = data;
	char state = '?';

	if (!belongs(s, pid, &state))
		return 0;
	s->found++;
	if (s->sig && state != 'Z')
		(void)kill(pid, s->sig);
	return 0;
}

/* Counts (and signals, when sig != 0) the living and zombie processes of the box. */
static int sweep_box(struct box *b, int sig)
{
	struct sweep s = { .b = b, .sig = sig };
	int r;

	snprintf(s.entry, sizeof(s.entry), "NSRELOAD_BOX=%s", b->token);
	r = proctree_walk(getpid(), sweep_one, &s);
	return r < 0 ? r : s.found;
}

int pgroup_box_spawn(struct box *b, const struct box_spawn *sp)
{
	return box_spawn_direct(b, sp, -1, !b->ctx->no_pin);
}

int pgroup_box_signal_all(struct box *b, int sig)
{
	int r = 0;

	if (kill(-b->pid, sig) < 0 && errno != ESRCH)
		r = -errno;
	if (b->ctx->no_pin)
		(void)sweep_box(b, sig);
	return r;
}

/*
 * Reaps the children of ours that are in the box's group until none is left.
 * With the pin, every living process of the box has an ancestor in the group
 * that is our child (alive or a zombie), so ECHILD here means the group is
 * gone. Returns 0, or -ETIMEDOUT past the deadline.
 */
static int reap_group(struct box *b, uint64_t deadline)
{
	unsigned pause_us = 20;

	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PGID, (id_t)b->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			return errno == ECHILD ? 0 : -errno;
		if (si.si_pid != 0) {
			/* Through the common reaper, so that the main process's status is kept. */
			(void)box_ctx_reap(b->ctx);
			pause_us = 20;
			continue;
		}
		if (box_now_ns() > deadline)
			return -ETIMEDOUT;
		/* Killed processes need a moment to exit; back off gently up to 1 ms. */
		struct timespec ts = { 0, (long)pause_us * 1000L };
		nanosleep(&ts, NULL);
		if (pause_us < 1000)
			pause_us *= 2;
	}
}

int pgroup_box_kill(struct box *b)
{
	uint64_t deadline = box_now_ns() + SWEEP_LIMIT_NS;
	int n, r;

	/* One kill reaches the whole group at once: a fork racing with it fails. */
	(void)kill(-b->pid, SIGKILL);
	for (;;) {
		r = reap_group(b, deadline);
		if (r < 0)
			return r;
		(void)box_ctx_reap(b->ctx);
		/* The walk finds what left the group (--no-pin) or hangs below a non-member. */
		n = sweep_box(b, SIGKILL);
		if (n < 0)
			return n;
		if (n == 0 && b->pid_reaped) {
			b->empty = true;
			return 0;
		}
		if (box_now_ns() > deadline)
			return -ETIMEDOUT;
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
}

int pgroup_box_update(struct box *b)
{
	int r = box_try_reap_main(b);
	if (r <= 0)
		return r;
	r = sweep_box(b, 0);
	if (r < 0)
		return r;
	b->empty = r == 0;
	return 0;
}
