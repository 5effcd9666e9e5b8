/*
 * Rung 3: a process group pinned to our session. The child makes its own
 * group and, unless --no-pin, a seccomp filter turns setsid into a no-op for
 * the whole tree; setpgid stays allowed, so shells can give each job a group
 * and the terminal (job control), and the kernel keeps those groups inside
 * the session. kill(-pgid) reaches the leader's group at once. Because the
 * supervisor is a child subreaper, every process of the box is below the
 * main process or below an orphan that came back to us: the sweep walks the
 * trees of our children (the children of every thread) that the box claims
 * (by main pid, held group or token) or no box claims (but for the helpers
 * the caller marked with box_ctx_exempt()), and kills them, each pinned by
 * pidfd and proven ours, until nothing is left.
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
	int sig;         /* 0: only count */
	bool skip_group; /* the held group was signalled as a whole: its members are not signalled again */
	pid_t self;
	int found;
};

/*
 * Whether the process pinned by procfd (its /proc directory) carries box b's
 * token. An environment that reads empty is most likely an execve under way
 * (the new one is not set up yet): read again for up to about 20 ms before
 * taking it for a process without one, or an escapee in mid-exec would be
 * missed.
 */
static bool has_token(const struct box *b, int procfd)
{
	char entry[128];
	unsigned pause_us = 50;

	snprintf(entry, sizeof(entry), "NSRELOAD_BOX=%s", b->token);
	for (int tries = 0; tries < 10; tries++) {
		int r = proc_environ_has_at(procfd, "environ", entry);
		if (r >= 0)
			return r == 1;
		struct timespec ts = { 0, (long)pause_us * 1000L };
		nanosleep(&ts, NULL);
		if (pause_us < 4000)
			pause_us *= 2;
	}
	return false;
}

/*
 * The group of the leader's number is b's while the leader is our unreaped
 * child (alive or a held zombie). pgid as /proc numbers it.
 */
static bool holds_group(const struct box *b, pid_t pgid)
{
	return b->proc_pid > 0 && !b->pid_reaped && pgid == b->proc_pid;
}

/*
 * Which box a child of ours (the supervisor) belongs to: the box whose main
 * process it is, whose held group it is in, or whose token it carries. NULL
 * when none claims it: an orphan that left its group and lost its token
 * (setpgid, then an exec with a new environment, or a setproctitle). Every
 * process of ours is some box's, so such an orphan counts, and is killed,
 * with every box; but not a helper the caller forked and marked as no box's
 * (box_ctx_exempt(): a terminal sentinel that has left the app's group still
 * reporting the Ctrl-C that killed the app).
 */
static struct box *claim(struct box_ctx *ctx, pid_t pid, int procfd, pid_t pgid, char state)
{
	struct box *b;

	for (b = ctx->boxes; b; b = b->next) {
		if (b->proc_pid == pid && !b->pid_reaped)
			return b;
	}
	for (b = ctx->boxes; b; b = b->next) {
		if (holds_group(b, pgid))
			return b;
	}
	/* A zombie has no environment left to read. */
	for (b = ctx->boxes; b && state != 'Z'; b = b->next) {
		if (has_token(b, procfd))
			return b;
	}
	return NULL;
}

/*
 * Signals a process of the box the walk found, pinned by procfd (its /proc
 * directory, opened after the walk read its pid). Its parent (a box process)
 * may have reaped it since the walk read /proc, and its pid be a stranger's
 * now: so it is proven ours again through procfd and signalled through it,
 * which fails with ESRCH if the process it pins has gone. Proof is what a
 * stranger cannot have: our child (only we can reap it, so its pid cannot
 * change hands), the held group, or the box's token. A process with none of
 * them (deep in the tree, in a group of its own, without the token) is left
 * for a later pass: once its ancestors are killed it is our child.
 */
static void signal_member(struct sweep *s, int procfd)
{
	pid_t ppid, pgid;
	char state = '?';

	if (proc_read_stat_at(procfd, "stat", &ppid, &pgid, &state) == 0 && state != 'Z' &&
	    !(s->skip_group && holds_group(s->b, pgid)) &&
	    (ppid == s->self || holds_group(s->b, pgid) || has_token(s->b, procfd)))
		(void)syscall(SYS_pidfd_send_signal, procfd, s->sig, NULL, 0);
}

/* Below a process of the box everything is the box's: a child is forked in its parent's box. */
static int sweep_one(pid_t pid, void *data)
{
	struct sweep *s = data;

	s->found++;
	if (s->sig) {
		int fd = proc_open(pid);
		if (fd >= 0) {
			signal_member(s, fd);
			close(fd);
		}
	}
	return 0;
}

/* One child of ours: its tree is counted (and signalled) when the box claims it, or no box does. */
static int sweep_root(pid_t pid, void *data)
{
	struct sweep *s = data;
	struct box *owner;
	pid_t pgid;
	char state = '?';
	int fd, r;

	fd = proc_open(pid);
	if (fd < 0)
		return 0; /* gone */
	if (proc_read_stat_at(fd, "stat", NULL, &pgid, &state) < 0) {
		close(fd);
		return 0;
	}
	owner = claim(s->b->ctx, pid, fd, pgid, state);
	/* Another box's, or no box's at all: a helper of the caller's outside every group (box_ctx_exempt).
	 */
	if ((owner && owner != s->b) || (!owner && box_ctx_exempted(s->b->ctx, pid))) {
		close(fd);
		return 0;
	}
	if (pid != s->b->proc_pid) {
		s->found++;
		if (s->sig && state != 'Z')
			signal_member(s, fd);
	} else if (s->sig && state != 'Z' && !(s->skip_group && holds_group(s->b, pgid))) {
		/* The leader has left its own group (setpgid): reach it through its pidfd. */
		(void)box_pidfd_signal(s->b, s->sig, NULL);
	}
	close(fd);
	if (state == 'Z')
		return 0;
	r = proctree_walk(pid, sweep_one, s);
	return r < 0 ? r : 0;
}

/*
 * Counts (and signals with sig != 0) the living and zombie processes of the
 * box but its leader: the trees of the children of ours that the box claims
 * or no box does. skip_group: the held group has just been signalled whole.
 * Pids are /proc's throughout (proctree.h), ours only for kill(-pgid).
 */
static int sweep_box(struct box *b, int sig, bool skip_group)
{
	struct sweep s = { .b = b, .sig = sig, .skip_group = skip_group, .self = proc_self() };
	int r;

	r = proctree_children(s.self, sweep_root, &s);
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
	/* What is in other groups (a shell's jobs, setpgid) or left the session (--no-pin). */
	(void)sweep_box(b, sig, true);
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

	/*
	 * One kill reaches the whole group at once: a fork racing with it fails.
	 * Every pass sends it again, since setpgid can move a process of another
	 * group of the box into it after the last one.
	 */
	if (b->pid > 0 && !b->pid_reaped)
		(void)kill(-b->pid, SIGKILL);
	/* Reaps the box's dead and takes the leader's status (it stays a zombie). */
	(void)box_ctx_reap(b->ctx);
	n = sweep_box(b, SIGKILL, true);
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
	r = sweep_box(b, 0, false);
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
