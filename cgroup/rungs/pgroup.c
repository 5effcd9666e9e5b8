/*
 * Rung 3: a pinned process group. The child makes its own group and, unless
 * --no-pin, a seccomp filter turns setsid/setpgid into no-ops for the whole
 * tree, so kill(-pgid) reaches everything. Because the supervisor is a child
 * subreaper, every orphan comes back to us; the sweep walks all our
 * descendants (the children of every thread) and kills what belongs to the
 * box until nothing is left.
 *
 * The group's id is the leader's pid, and a pid is free for reuse once its
 * process is reaped and no group holds its number. So the leader is not
 * reaped when it exits: box_try_reap_main() takes its status with WNOWAIT
 * and leaves it a zombie, which keeps the number ours until the box is empty.
 * Until then kill(-pgid) can only reach our group, and a sibling box or a
 * stranger can never be given that number as its group. The leader is reaped
 * last, by the call that finds the box empty, after which nothing here
 * signals the group again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box-internal.h"
#include "proctree.h"

/* The kill passes give up after this long; a process stuck in the kernel (D state) can outlast any kill. */
#define SWEEP_LIMIT_NS (10ull * 1000000000ull)

struct sweep {
	struct box *b;
	int sig; /* 0: only count */
	char entry[128];
	int found;
};

/*
 * Whether pid carries the box's token. An environment that reads empty is
 * most likely an execve under way (the new one is not set up yet): read
 * again for up to about 20 ms before taking it for a process without one,
 * or an escapee in mid-exec would be missed and the box called empty.
 */
static bool has_token(struct sweep *s, pid_t pid)
{
	unsigned pause_us = 50;

	for (int tries = 0; tries < 10; tries++) {
		int r = proc_environ_has(pid, s->entry);
		if (r >= 0)
			return r == 1;
		struct timespec ts = { 0, (long)pause_us * 1000L };
		nanosleep(&ts, NULL);
		if (pause_us < 4000)
			pause_us *= 2;
	}
	return false;
}

/* Whether pid is one of the box's processes other than the leader (tracked by its own pidfd). */
static bool belongs(struct sweep *s, pid_t pid, char *state)
{
	pid_t pgid;

	if (pid == s->b->pid)
		return false;
	if (proc_read_stat(pid, &pgid, state) < 0)
		return false;
	/* The number is held by our unreaped leader: whoever is in that group is in ours. */
	if (pgid == s->b->pid && !s->b->pid_reaped)
		return true;
	/* Unpinned trees can leave the group; the token in their environment still names the box. A
	 * zombie has no environment left to read. */
	return s->b->ctx->no_pin && *state != 'Z' && has_token(s, pid);
}

/*
 * Signals a process the walk found. Its parent (a box process) may have
 * reaped it since the walk read /proc and its pid may be a stranger's now:
 * so it is pinned with a pidfd, checked again, and signalled through the
 * pidfd, which fails with ESRCH if the process it pins has gone.
 */
static void signal_member(struct sweep *s, pid_t pid)
{
	char state = '?';
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return;
	if (belongs(s, pid, &state) && state != 'Z')
		(void)syscall(SYS_pidfd_send_signal, fd, s->sig, NULL, 0);
	close(fd);
}

static int sweep_one(pid_t pid, void *data)
{
	struct sweep *s = data;
	char state = '?';

	if (!belongs(s, pid, &state))
		return 0;
	s->found++;
	if (s->sig && state != 'Z')
		signal_member(s, pid);
	return 0;
}

/* Counts (and signals, when sig != 0) the living and zombie processes of the box but its leader. */
static int sweep_box(struct box *b, int sig)
{
	struct sweep s = { .b = b, .sig = sig };
	int r;

	snprintf(s.entry, sizeof(s.entry), "NSRELOAD_BOX=%s", b->token);
	r = proctree_walk(getpid(), sweep_one, &s);
	return r < 0 ? r : s.found;
}

/* The sweep found nothing but the leader: reap it, and the box is empty. */
static int finish_empty(struct box *b)
{
	int r = box_reap_held_main(b);
	if (r < 0)
		return r;
	b->empty = true;
	return 0;
}

static int pgroup_create(struct box *b)
{
	/* The leader's pid is the group's id: it must not be reused while the group may be signalled. */
	b->hold_main = true;
	return 0;
}

static int pgroup_spawn(struct box *b, const struct box_spawn *sp)
{
	return box_spawn_direct(b, sp, !b->ctx->no_pin);
}

static int pgroup_signal_all(struct box *b, int sig)
{
	int r = 0;

	/* b->pid is our leader, alive or held as a zombie: the group of that number is ours. An unset
	 * pid would make it kill(1) or our own group. */
	if (b->pid > 0 && !b->pid_reaped && kill(-b->pid, sig) < 0 && errno != ESRCH)
		r = -errno;
	if (b->ctx->no_pin)
		(void)sweep_box(b, sig);
	return r;
}

/*
 * One pass: the group is killed at the first, and each pass reaps what died
 * and kills what the walk finds (what left the group with --no-pin, or hangs
 * below a non-member), until nothing but the leader is left.
 */
static int pgroup_kill(struct box *b)
{
	unsigned pause_us = 20;
	int n;

	/* One kill reaches the whole group at once: a fork racing with it fails. */
	if (b->kill_passes == 0 && b->pid > 0 && !b->pid_reaped)
		(void)kill(-b->pid, SIGKILL);
	/* Reaps the box's dead and takes the leader's status (it stays a zombie). */
	(void)box_ctx_reap(b->ctx);
	n = sweep_box(b, SIGKILL);
	if (n < 0)
		return n;
	if (n == 0 && b->main_exited)
		return finish_empty(b);
	if (box_now_ns() - b->kill_start_ns > SWEEP_LIMIT_NS)
		return -ETIMEDOUT;
	/* Killed processes need a moment to exit; back off gently up to about 1 ms. */
	for (unsigned i = 0; i < b->kill_passes && pause_us < 1000; i++)
		pause_us *= 2;
	return (int)pause_us;
}

/* Empty once the leader has exited and the walk finds nothing else of the box. */
static int pgroup_update(struct box *b)
{
	int r;

	if (!b->main_exited)
		return 0;
	r = sweep_box(b, 0);
	if (r < 0)
		return r;
	if (r > 0)
		return 0;
	r = finish_empty(b);
	return r < 0 ? r : 1;
}

static bool pgroup_works(const struct box_probe *p, char *why, size_t size)
{
	/* The seccomp pin only strengthens this rung; without it the rung still works. */
	if (p->subreaper.ok)
		return true;
	box_why(why, size, "%s", p->subreaper.detail);
	return false;
}

const struct box_ops box_pgroup_ops = {
	.probe_parts = BOX_PROBE_SUBREAPER,
	.works = pgroup_works,
	.create = pgroup_create,
	.spawn = pgroup_spawn,
	.signal_all = pgroup_signal_all,
	.kill = pgroup_kill,
	.update = pgroup_update,
};
