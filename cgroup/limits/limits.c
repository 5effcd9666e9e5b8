/*
 * Per-box limits (box.h, box_new_limited()): memory, pids and cpu, each on
 * whichever cgroup version the host gives that controller.
 *
 * The model is systemd's hybrid mode: a box is contained and killed by its
 * rung (a cgroup2 directory, a PID namespace, a process group) and limited
 * by the controllers wherever they are. On a unified host that is the box's
 * own cgroup2 directory. On a hybrid host (cgroup2 mounted, memory, pids and
 * cpu bound to v1 hierarchies, as on the VM this was written on) and on a
 * v1-only host, each limited box also gets a directory of its own in each v1
 * hierarchy it needs, below the context's directory there, below our own
 * cgroup of that hierarchy (never elsewhere: we never move a process out of
 * the cgroup the host put it in, nor write to a cgroup we did not make). The
 * box's first process joins those directories itself before exec, so that
 * nothing of the box ever runs unlimited; what it starts inherits them.
 *
 * cgroup v2 needs each controller enabled in cgroup.subtree_control from the
 * parent down to the context directory, and its no-internal-processes rule
 * allows that only in a cgroup without processes of its own (the root is
 * exempt). Where nsreload's own cgroup is the parent and holds nothing but
 * nsreload and its death guard, both move into a leaf of their own
 * (<name>.self beside the context directory), as crun and systemd do. Where
 * it also holds processes nsreload did not start (the user's shell) it
 * cannot, and says so with the fix, unless limits_optional allows starting
 * without that controller (box_ctx_limits_note()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box-internal.h"
#include "cgfs.h"
#include "cgv1.h"

#define SELF_SUFFIX ".self"

static const char *const keys[BOX_LIM_N] = { "memory_max", "pids_max", "cpu_max" };

/* What each controller is called and where its limits and counters live, v2 then v1. */
struct ctl_files {
	const char *name;
	const char *v2_limit;
	const char *v1_limit;
};

static const struct ctl_files ctls[BOX_LIM_N] = {
	[BOX_LIM_MEMORY] = { "memory", "memory.max", "memory.limit_in_bytes" },
	[BOX_LIM_PIDS] = { "pids", "pids.max", "pids.max" },
	[BOX_LIM_CPU] = { "cpu", "cpu.max", "cpu.cfs_quota_us" },
};

/* The limit of ctl in l (the cpu quota for cpu). */
static uint64_t lim_of(const struct box_limits *l, enum box_lim_ctl ctl)
{
	switch (ctl) {
	case BOX_LIM_MEMORY:
		return l->memory_max;
	case BOX_LIM_PIDS:
		return l->pids_max;
	default:
		return l->cpu_quota_us;
	}
}

bool box_limits_any(const struct box_limits *l)
{
	return l && (l->memory_max || l->pids_max || l->cpu_quota_us);
}

/* Whether the space-separated list text holds word. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += n)
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* The value of "key N" in a flat-keyed cgroup file of dirfd: 0, or -errno (-ENOENT: no such file or key). */
static int read_key(int dirfd, const char *file, const char *key, uint64_t *out)
{
	char buf[4096];
	size_t n = strlen(key);
	ssize_t len = cg_read_file_at(dirfd, file, buf, sizeof(buf));

	if (len < 0)
		return (int)len;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, n) == 0 && line[n] == ' ') {
			*out = strtoull(line + n + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

/* A whole file holding one number. */
static int read_num(int dirfd, const char *file, uint64_t *out)
{
	char buf[64];
	ssize_t len = cg_read_file_at(dirfd, file, buf, sizeof(buf));

	if (len < 0)
		return (int)len;
	*out = strtoull(buf, NULL, 10);
	return 0;
}

/* ---- cgroup v2 ---- */

/* Whether our cgroup parent is the hierarchy's root, which the no-internal-processes rule exempts. */
static bool v2_is_root(int dirfd)
{
	/* cgroup.type exists in every cgroup but the root. */
	return faccessat(dirfd, "cgroup.type", F_OK, 0) < 0 && errno == ENOENT;
}

/*
 * Reads the parent's cgroup.procs: *count processes other than nsreload and
 * its guard, the first of them in *first (0: none), and whether nsreload
 * itself is there. Returns 0 or -errno.
 */
static int v2_procs(const struct box_ctx *ctx, int *count, pid_t *first, bool *self)
{
	char *procs = NULL, *p, *end;
	ssize_t len = cg_read_alloc_at(ctx->parentfd, "cgroup.procs", &procs, 1 << 20);

	*count = 0;
	*first = 0;
	*self = false;
	if (len < 0)
		return (int)len;
	for (p = procs; *p; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		while (*end == '\n')
			end++;
		if (v == getpid())
			*self = true;
		if (v == getpid() || v == ctx->guard_pid)
			continue;
		if (!*first)
			*first = (pid_t)v;
		(*count)++;
	}
	free(procs);
	return 0;
}

/* The command name of pid, for the message. */
static void comm_of(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
}

/* Moves nsreload and its guard from the parent into a leaf of their own (<ctx name>.self). */
static int v2_move_self(struct box_ctx *ctx)
{
	char leaf[BOX_CTX_NAME_MAX + sizeof(SELF_SUFFIX)], pid[32];
	int fd, r;

	snprintf(leaf, sizeof(leaf), "%s" SELF_SUFFIX, ctx->name);
	if (mkdirat(ctx->parentfd, leaf, 0755) < 0)
		return -errno;
	fd = cg_open_child(ctx->parentfd, leaf);
	if (fd < 0)
		return fd;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	r = cg_write_file_at(fd, "cgroup.procs", pid);
	if (r == 0 && ctx->guard_pid > 0) {
		snprintf(pid, sizeof(pid), "%d", (int)ctx->guard_pid);
		r = cg_write_file_at(fd, "cgroup.procs", pid);
	}
	close(fd);
	return r;
}

/*
 * Enables ctl from the parent down to the context directory. Returns 0,
 * -ENOENT when the parent does not have the controller (try v1), or -errno
 * with ctx->why set.
 */
static int v2_enable(struct box_ctx *ctx, enum box_lim_ctl ctl, const char *key)
{
	const char *name = ctls[ctl].name;
	char buf[512], word[32], comm[64];
	int r, count;
	pid_t other;
	bool self;

	if (ctx->dirfd < 0 || cg_read_file_at(ctx->parentfd, "cgroup.controllers", buf, sizeof(buf)) < 0 ||
	    !has_word(buf, name))
		return -ENOENT;
	snprintf(word, sizeof(word), "+%s", name);
	if (cg_read_file_at(ctx->parentfd, "cgroup.subtree_control", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	if (!has_word(buf, name) && !v2_is_root(ctx->parentfd)) {
		r = v2_procs(ctx, &count, &other, &self);
		if (r < 0) {
			snprintf(ctx->why, sizeof(ctx->why), "%s: cannot read %.1000s/cgroup.procs: %s", key,
				 ctx->probe.cgroup_dir, strerror(-r));
			return r;
		}
		if (other > 0) {
			comm_of(other, comm, sizeof(comm));
			snprintf(ctx->why, sizeof(ctx->why),
				 "%s needs cgroup v2's %s controller in the boxes' cgroups, which means "
				 "enabling it "
				 "in %.1000s/cgroup.subtree_control; cgroup v2 allows that only in a cgroup "
				 "without processes of its own (the no-internal-processes rule), and that "
				 "cgroup "
				 "is not the root and holds %d process(es) nsreload did not start (pid %d, "
				 "%s), "
				 "which nsreload never moves. Fix: start nsreload in a delegated cgroup of "
				 "its "
				 "own: systemd-run --user --scope -p Delegate=yes nsreload ... (or point "
				 "box.cgroup_parent at an empty delegated cgroup); or start without limits: "
				 "box.limits_required = false (exec: --limits-optional)",
				 key, name, ctx->probe.cgroup_dir, count, (int)other, comm);
			return -ENOTSUP;
		}
		/* Only we (and our guard) are there: into a leaf of our own, once for every controller. */
		if (self && (r = v2_move_self(ctx)) < 0) {
			snprintf(ctx->why, sizeof(ctx->why),
				 "%s: cannot move nsreload into a leaf cgroup of its own below %.1000s "
				 "(needed to "
				 "enable the %s controller there): %s",
				 key, ctx->probe.cgroup_dir, name, strerror(-r));
			return r;
		}
	}
	if (!has_word(buf, name)) {
		r = cg_write_file_at(ctx->parentfd, "cgroup.subtree_control", word);
		if (r < 0) {
			snprintf(ctx->why, sizeof(ctx->why),
				 "%s: cannot enable the %s controller in %.1000s: %s", key, name,
				 ctx->probe.cgroup_dir, strerror(-r));
			return r;
		}
	}
	r = cg_write_file_at(ctx->dirfd, "cgroup.subtree_control", word);
	if (r < 0)
		snprintf(ctx->why, sizeof(ctx->why), "%s: cannot enable the %s controller in %.1000s: %s",
			 key, name, ctx->dir, strerror(-r));
	return r;
}

/* Writes lim's value of ctl into the box's cgroup2 directory. */
static int v2_write(struct box *b, enum box_lim_ctl ctl, const struct box_limits *lim)
{
	char val[64];
	int r;

	if (ctl == BOX_LIM_CPU)
		snprintf(val, sizeof(val), "%" PRIu64 " %" PRIu64, lim->cpu_quota_us,
			 lim->cpu_period_us ? lim->cpu_period_us : 100000);
	else
		snprintf(val, sizeof(val), "%" PRIu64, lim_of(lim, ctl));
	r = cg_write_file_at(b->cg_fd, ctls[ctl].v2_limit, val);
	/* Swap would turn the limit into slowness: refused, where the kernel has swap accounting. */
	if (r == 0 && ctl == BOX_LIM_MEMORY) {
		int rr = cg_write_file_at(b->cg_fd, "memory.swap.max", "0");
		if (rr < 0 && rr != -ENOENT)
			r = rr;
	}
	return r;
}

/* ---- the context ---- */

/* Appends text to buf (size bytes) after a "; " when buf is not empty; a message cut short is fine. */
static void append(char *buf, size_t size, const char *text)
{
	size_t len = strlen(buf);

	/* A message cut short is fine: the precision only tells the compiler so. */
	if (len + 3 < size)
		snprintf(buf + len, size - len, "%s%.*s", len ? "; " : "", (int)(size - len - 3), text);
}

/* ctx->why when a controller ctl can be had nowhere and nothing more precise was said. */
static void say_nowhere(struct box_ctx *ctx, enum box_lim_ctl ctl)
{
	snprintf(ctx->why, sizeof(ctx->why),
		 "%s: the %s controller is neither delegated to %.1000s (its cgroup.controllers does not "
		 "list it) nor in a cgroup v1 hierarchy below our own cgroup. Fix: have it delegated: "
		 "systemd-run --user --scope -p Delegate=yes nsreload ...; or start without limits: "
		 "box.limits_required = false (exec: --limits-optional)",
		 keys[ctl], ctls[ctl].name, ctx->probe.cgroup_dir[0] ? ctx->probe.cgroup_dir : "our cgroup");
}

int box_limits_ctx_init(struct box_ctx *ctx, const struct box_ctx_opts *opts)
{
	/* ctx->why holds auto's reasons (box_ctx_why()): the steps below write theirs there too. */
	char saved[sizeof(ctx->why)];

	for (int i = 0; i < BOX_LIM_N; i++)
		ctx->lim_via[i] = BOX_LIM_VIA_NONE;
	ctx->lim_note[0] = ctx->lim_how[0] = '\0';
	if (!box_limits_any(opts->limits))
		return 0;
	snprintf(saved, sizeof(saved), "%s", ctx->why);
	for (int i = 0; i < BOX_LIM_N; i++) {
		enum box_lim_ctl ctl = (enum box_lim_ctl)i;
		char how[64];
		int r;

		if (!lim_of(opts->limits, ctl))
			continue;
		ctx->why[0] = '\0';
		r = v2_enable(ctx, ctl, keys[i]);
		if (r == 0)
			ctx->lim_via[i] = BOX_LIM_VIA_V2;
		else if (r == -ENOENT && (r = box_lim_v1_ctx_init(ctx, ctl, ctls[ctl].name, keys[ctl])) == 0)
			ctx->lim_via[i] = BOX_LIM_VIA_V1;
		if (r == 0) {
			snprintf(how, sizeof(how), "%s on cgroup%s", keys[i],
				 ctx->lim_via[i] == BOX_LIM_VIA_V2 ? "2" : "1");
			append(ctx->lim_how, sizeof(ctx->lim_how), how);
			continue;
		}
		if (!ctx->why[0])
			say_nowhere(ctx, ctl);
		if (!opts->limits_optional) {
			(void)box_limits_ctx_fini(ctx);
			return -ENOTSUP;
		}
		append(ctx->lim_note, sizeof(ctx->lim_note), ctx->why);
	}
	snprintf(ctx->why, sizeof(ctx->why), "%s", saved);
	return 0;
}

int box_limits_ctx_fini(struct box_ctx *ctx)
{
	for (int i = 0; i < BOX_LIM_N; i++)
		if (ctx->lim_via[i] == BOX_LIM_VIA_V1)
			box_lim_v1_ctx_fini(ctx, (enum box_lim_ctl)i);
	return 0;
}

const char *box_ctx_limits_note(const struct box_ctx *ctx)
{
	return ctx->lim_note;
}

const char *box_ctx_limits_how(const struct box_ctx *ctx)
{
	return ctx->lim_how;
}

/* ---- boxes ---- */

/* The directory that holds ctl's counters for b, or -1. */
static int counters_fd(const struct box *b, enum box_lim_ctl ctl)
{
	if (!lim_of(&b->lim, ctl))
		return -1;
	if (b->ctx->lim_via[ctl] == BOX_LIM_VIA_V2)
		return b->cg_fd;
	return b->lim_v1[ctl] ? b->lim_v1[ctl]->fd : -1;
}

/*
 * Opens what the kernel notifies: pids.events (POLLPRI, v2; v1: a timer), the OOM
 * (v2: memory.events, POLLPRI; v1: an eventfd). A kill's SIGCHLD reaches us
 * only for our own child: these also catch an OOM kill or a refused fork deep
 * in the box. Best effort: without them the counters are still read on
 * every box_process().
 */
static void limits_watch(struct box *b)
{
	int fd;

	if ((fd = counters_fd(b, BOX_LIM_PIDS)) >= 0 && b->ctx->lim_via[BOX_LIM_PIDS] == BOX_LIM_VIA_V2)
		b->lim_pids_fd = openat(fd, "pids.events", O_RDONLY | O_CLOEXEC);
	else if (fd >= 0)
		b->lim_pids_fd = box_lim_v1_pids_timer();
	b->lim_pids_timer = b->lim_pids_fd >= 0 && b->ctx->lim_via[BOX_LIM_PIDS] == BOX_LIM_VIA_V1;
	if ((fd = counters_fd(b, BOX_LIM_MEMORY)) < 0)
		return;
	if (b->ctx->lim_via[BOX_LIM_MEMORY] == BOX_LIM_VIA_V2) {
		b->lim_oom_fd = openat(fd, "memory.events", O_RDONLY | O_CLOEXEC);
	} else {
		b->lim_oom_fd = box_lim_v1_oom_eventfd(fd);
		b->lim_oom_eventfd = b->lim_oom_fd >= 0;
		if (b->lim_oom_fd < 0)
			b->lim_oom_fd = -1;
	}
}

int box_limits_create(struct box *b, const struct box_limits *lim)
{
	int r = 0;

	if (!box_limits_any(lim))
		return 0;
	b->limited = true;
	for (int i = 0; i < BOX_LIM_N && r == 0; i++) {
		enum box_lim_ctl ctl = (enum box_lim_ctl)i;

		if (!lim_of(lim, ctl))
			continue;
		switch (b->ctx->lim_via[i]) {
		case BOX_LIM_VIA_V2:
			r = b->cg_fd >= 0 ? v2_write(b, ctl, lim) : -ENOTSUP;
			break;
		case BOX_LIM_VIA_V1:
			r = box_lim_v1_create(b, ctl, lim);
			break;
		default:
			/* limits_optional let the context start without it: the report says it is not
			 * applied. */
			if (!b->ctx->lim_note[0])
				r = -ENOTSUP;
			continue;
		}
		if (r == 0 && ctl == BOX_LIM_CPU) {
			b->lim.cpu_quota_us = lim->cpu_quota_us;
			b->lim.cpu_period_us = lim->cpu_period_us ? lim->cpu_period_us : 100000;
		} else if (r == 0 && ctl == BOX_LIM_MEMORY) {
			b->lim.memory_max = lim->memory_max;
		} else if (r == 0) {
			b->lim.pids_max = lim->pids_max;
		}
	}
	if (r < 0)
		(void)box_limits_destroy(b);
	else
		limits_watch(b);
	return r;
}

int box_limits_destroy(struct box *b)
{
	int r = 0;

	if (b->lim_pids_fd >= 0)
		close(b->lim_pids_fd);
	if (b->lim_oom_fd >= 0)
		close(b->lim_oom_fd);
	b->lim_pids_fd = b->lim_oom_fd = -1;
	for (int i = 0; i < BOX_LIM_N; i++) {
		if (b->lim_join_fd[i] >= 0)
			close(b->lim_join_fd[i]);
		b->lim_join_fd[i] = -1;
		if (b->lim_v1[i]) {
			int rr = box_lim_v1_destroy(b, (enum box_lim_ctl)i);
			if (rr < 0 && r == 0)
				r = rr;
		}
	}
	return r;
}

void box_limits_child(const struct box *b, struct box_child *c)
{
	for (int i = 0; i < BOX_LIM_N; i++)
		c->join_fd[i] = b->lim_join_fd[i];
}

int box_limits_join(const struct box_child *c)
{
	for (int i = 0; i < BOX_LIM_N; i++)
		if (c->join_fd[i] >= 0 && write(c->join_fd[i], "0", 1) != 1)
			return -errno;
	return 0;
}

static const char *via_name(const struct box *b, enum box_lim_ctl ctl)
{
	if (!lim_of(&b->lim, ctl))
		return NULL;
	return b->ctx->lim_via[ctl] == BOX_LIM_VIA_V2 ? "cgroup2" : "cgroup1";
}

int box_limit_report(struct box *b, struct box_limit_report *out)
{
	bool v2;
	int fd;

	*out = (struct box_limit_report){ .applied = b->lim };
	if (!b->limited)
		return -ENODATA;
	out->memory_via = via_name(b, BOX_LIM_MEMORY);
	out->pids_via = via_name(b, BOX_LIM_PIDS);
	out->cpu_via = via_name(b, BOX_LIM_CPU);
	if ((fd = counters_fd(b, BOX_LIM_MEMORY)) >= 0) {
		v2 = b->ctx->lim_via[BOX_LIM_MEMORY] == BOX_LIM_VIA_V2;
		(void)read_key(fd, v2 ? "memory.events" : "memory.oom_control", "oom_kill", &out->oom_kills);
		(void)read_num(fd, v2 ? "memory.peak" : "memory.max_usage_in_bytes", &out->memory_peak);
	}
	if ((fd = counters_fd(b, BOX_LIM_PIDS)) >= 0)
		(void)read_key(fd, "pids.events", "max", &out->pids_max_hits);
	if ((fd = counters_fd(b, BOX_LIM_CPU)) >= 0) {
		v2 = b->ctx->lim_via[BOX_LIM_CPU] == BOX_LIM_VIA_V2;
		(void)read_key(fd, "cpu.stat", "nr_throttled", &out->cpu_throttled);
		if (v2) {
			(void)read_key(fd, "cpu.stat", "throttled_usec", &out->cpu_throttled_us);
		} else if (read_key(fd, "cpu.stat", "throttled_time", &out->cpu_throttled_us) == 0) {
			out->cpu_throttled_us /= 1000;
		}
	}
	return 0;
}

/* Drains the watched notification fds, so that a level-triggered epoll sleeps until the next one. */
static void limits_rearm(struct box *b)
{
	char buf[512];
	uint64_t n;

	/* Reading through the watched fd itself re-arms its POLLPRI, as cgroup.events' (rungs/cgroup2.c). */
	if (b->lim_pids_fd >= 0 && b->lim_pids_timer)
		(void)read(b->lim_pids_fd, &n, sizeof(n));
	else if (b->lim_pids_fd >= 0)
		(void)pread(b->lim_pids_fd, buf, sizeof(buf), 0);
	if (b->lim_oom_fd >= 0 && b->lim_oom_eventfd)
		(void)read(b->lim_oom_fd, &n, sizeof(n));
	else if (b->lim_oom_fd >= 0)
		(void)pread(b->lim_oom_fd, buf, sizeof(buf), 0);
}

/* A held fork bomb refuses forks all the time: told at the first, then at most this often. */
#define PIDS_TELL_NS (5ull * 1000000000ull)

unsigned box_limits_events(struct box *b)
{
	struct box_limit_report rep;
	unsigned ev = 0;
	uint64_t now;

	if (!b->limited)
		return 0;
	limits_rearm(b);
	if (box_limit_report(b, &rep) < 0)
		return 0;
	if (rep.oom_kills > b->lim_oom_seen)
		ev |= BOX_EV_OOM;
	b->lim_oom_seen = rep.oom_kills;
	now = box_now_ns();
	if (rep.pids_max_hits > b->lim_pids_seen &&
	    (b->lim_pids_told_ns == 0 || now - b->lim_pids_told_ns >= PIDS_TELL_NS)) {
		ev |= BOX_EV_PIDS_MAX;
		b->lim_pids_seen = rep.pids_max_hits;
		b->lim_pids_told_ns = now;
	}
	return ev;
}
