/* A box layer without processes, for the state machine's tests (fake_box.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_box.h"

static const char *const rung_names[] = { "auto",          "cgroup2", "cgroup2+pidns", "cgroup1",
					  "cgroup1+pidns", "pidns",   "pgroup" };

const char *box_rung_name(enum box_rung rung)
{
	return (unsigned)rung < sizeof(rung_names) / sizeof(rung_names[0]) ? rung_names[rung] : "?";
}

int box_rung_parse(const char *name, enum box_rung *out)
{
	for (size_t i = 0; i < sizeof(rung_names) / sizeof(rung_names[0]); i++) {
		if (strcmp(name, rung_names[i]) == 0) {
			*out = (enum box_rung)i;
			return 0;
		}
	}
	return -EINVAL;
}

int box_supervisor_init(void)
{
	return 0;
}

int box_ctx_new(struct box_ctx **out, const struct box_ctx_opts *opts)
{
	struct box_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	ctx->rung = opts->rung == BOX_RUNG_AUTO ? BOX_RUNG_PGROUP : opts->rung;
	ctx->next_pid = 1000;
	*out = ctx;
	return 0;
}

enum box_rung box_ctx_rung(const struct box_ctx *ctx)
{
	return ctx->rung;
}

const char *box_ctx_why(const struct box_ctx *ctx)
{
	(void)ctx;
	return "";
}

const char *box_ctx_cgroup_dir(const struct box_ctx *ctx)
{
	(void)ctx;
	return "";
}

static void strv_release(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char **strv_copy(char *const *v)
{
	size_t n = 0;
	char **c;

	while (v && v[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++)
		c[i] = strdup(v[i]);
	return c;
}

static void close_out(struct box *b)
{
	if (b->out_fd >= 0)
		close(b->out_fd);
	b->out_fd = -1;
}

int box_ctx_free(struct box_ctx *ctx)
{
	while (ctx->boxes) {
		struct box *b = ctx->boxes;
		ctx->boxes = b->next;
		close_out(b);
		strv_release(b->argv);
		strv_release(b->envp);
		free(b);
	}
	free(ctx);
	return 0;
}

int box_new(struct box_ctx *ctx, const char *kind, struct box **out)
{
	struct box *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->ctx = ctx;
	b->out_fd = -1;
	b->pid = -1;
	snprintf(b->kind, sizeof(b->kind), "%s", kind);
	b->new_seq = ++ctx->seq;
	snprintf(b->name, sizeof(b->name), "%s.%u", kind, b->new_seq);
	b->next = ctx->boxes;
	ctx->boxes = b;
	*out = b;
	return 0;
}

const char *box_name(const struct box *b)
{
	return b->name;
}

int box_new_limited(struct box_ctx *ctx, const char *kind, const struct box_limits *lim, struct box **out)
{
	int r = box_new(ctx, kind, out);

	if (r == 0 && lim)
		(*out)->lim = *lim;
	return r;
}

bool box_limits_any(const struct box_limits *l)
{
	return l && (l->memory_max || l->pids_max || l->cpu_quota_us);
}

int box_limit_report(struct box *b, struct box_limit_report *out)
{
	*out = b->report;
	out->applied = b->lim;
	return box_limits_any(&b->lim) ? 0 : -ENODATA;
}

const char *box_ctx_limits_note(const struct box_ctx *ctx)
{
	(void)ctx;
	return "";
}

const char *box_ctx_limits_how(const struct box_ctx *ctx)
{
	(void)ctx;
	return "";
}

void fake_box_oom(struct box *b, unsigned long long peak)
{
	b->report.oom_kills++;
	b->report.memory_peak = peak;
	b->report.memory_via = "cgroup1";
	b->pending |= BOX_EV_OOM;
	fake_box_exit(b, SIGKILL);
}

void fake_box_pids_max(struct box *b, unsigned long long refused)
{
	b->report.pids_max_hits += refused;
	b->report.pids_via = "cgroup1";
	b->pending |= BOX_EV_PIDS_MAX;
}

int box_spawn(struct box *b, const struct box_spawn *sp)
{
	struct box_ctx *ctx = b->ctx;

	if (ctx->fail_kind && strcmp(ctx->fail_kind, b->kind) == 0) {
		ctx->fail_kind = NULL;
		b->stage = ctx->fail_stage;
		b->empty = true;
		return -ctx->fail_errno;
	}
	b->argv = strv_copy(sp->argv);
	b->envp = strv_copy(sp->envp);
	if (sp->stdout_fd >= 0)
		b->out_fd = fcntl(sp->stdout_fd, F_DUPFD_CLOEXEC, 0);
	b->pid = ++ctx->next_pid;
	b->spawned = true;
	return 0;
}

enum box_spawn_stage box_spawn_stage(const struct box *b)
{
	return b->stage;
}

const char *box_spawn_stage_what(enum box_spawn_stage stage)
{
	return stage == BOX_SPAWN_EXEC ? "run the command" : "start its first process";
}

pid_t box_main_pid(const struct box *b)
{
	return b->pid;
}

static void record_signal(struct box *b, int sig)
{
	if (b->nsignals < FAKE_BOX_MAX_SIGNALS)
		b->signals[b->nsignals++] = sig;
}

int box_signal_main(struct box *b, int sig)
{
	if (b->pid <= 0 || b->main_exited)
		return -ESRCH;
	record_signal(b, sig);
	return 0;
}

int box_signal_all(struct box *b, int sig)
{
	if (b->empty)
		return -ESRCH;
	record_signal(b, sig);
	return 0;
}

int box_kill(struct box *b)
{
	if (b->empty || !b->spawned)
		return 0;
	b->stopping = true;
	b->killed = true;
	b->kill_due = true;
	return 0;
}

int box_stop(struct box *b, int sig, unsigned timeout_ms)
{
	if (b->empty || !b->spawned)
		return 0;
	b->stopping = true;
	if (timeout_ms == 0 || b->main_exited)
		return box_kill(b);
	b->stop_sig = sig;
	b->stop_timeout_ms = timeout_ms;
	return box_signal_main(b, sig);
}

int box_stop_all(struct box *b, int sig, unsigned timeout_ms)
{
	if (b->empty || !b->spawned)
		return 0;
	b->stopping = true;
	b->stop_all = true;
	if (timeout_ms == 0 || b->main_exited)
		return box_kill(b);
	b->stop_sig = sig;
	b->stop_timeout_ms = timeout_ms;
	return box_signal_all(b, sig);
}

int box_fds(const struct box *b, struct pollfd fds[BOX_MAX_FDS])
{
	(void)b;
	(void)fds;
	return 0;
}

int box_epoll_add(const struct box *b, int ep, uint64_t tag)
{
	(void)b;
	(void)ep;
	(void)tag;
	return 0;
}

static void main_ends(struct box *b, int status)
{
	if (b->main_exited)
		return;
	b->main_exited = true;
	b->status = status;
	b->pending |= BOX_EV_MAIN_EXITED;
	close_out(b);
}

static void becomes_empty(struct box *b)
{
	if (b->empty)
		return;
	b->empty = true;
	b->empty_seq = ++b->ctx->seq;
	b->pending |= BOX_EV_EMPTY;
}

void fake_box_exit(struct box *b, int status)
{
	main_ends(b, status);
	if (!b->leaves)
		becomes_empty(b);
}

void fake_box_leave(struct box *b)
{
	b->leaves = true;
}

void fake_box_timeout(struct box *b)
{
	b->needed_kill = true;
	b->pending |= BOX_EV_KILLED;
	(void)box_kill(b);
}

void fake_box_write(struct box *b, const char *text)
{
	if (b->out_fd >= 0 && write(b->out_fd, text, strlen(text)) < 0)
		abort();
}

int box_process(struct box *b)
{
	int ev;

	if (b->kill_due) {
		b->kill_due = false;
		main_ends(b, SIGKILL);
		becomes_empty(b);
	}
	ev = (int)b->pending;
	b->pending = 0;
	return ev;
}

bool box_main_exited(const struct box *b)
{
	return b->main_exited;
}

int box_main_status(const struct box *b)
{
	return b->status;
}

bool box_is_empty(const struct box *b)
{
	/* As the real one: a box never spawned holds nothing. */
	return b->empty || !b->spawned;
}

bool box_stop_needed_kill(const struct box *b)
{
	return b->needed_kill;
}

uint64_t box_stop_duration_ns(const struct box *b)
{
	(void)b;
	return 1000000;
}

enum box_rung box_rung_of(const struct box *b)
{
	return b->ctx->rung;
}

const char *box_cgroup_path(const struct box *b)
{
	(void)b;
	return NULL;
}

int box_ctx_reap(struct box_ctx *ctx)
{
	(void)ctx;
	return 0;
}

int box_ctx_exempt(struct box_ctx *ctx, pid_t pid, int pidfd)
{
	(void)ctx;
	(void)pid;
	(void)pidfd;
	return 0;
}

int box_free(struct box *b)
{
	if (b->spawned && !b->empty) {
		/* The real one kills what is left and waits until the box is empty. */
		b->killed = true;
		main_ends(b, SIGKILL);
		becomes_empty(b);
	}
	close_out(b);
	b->freed = true;
	b->free_seq = ++b->ctx->seq;
	return 0;
}

uint64_t box_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct box *fake_box_last(const struct box_ctx *ctx, const char *kind)
{
	for (struct box *b = ctx->boxes; b; b = b->next)
		if (strcmp(b->kind, kind) == 0)
			return b;
	return NULL;
}

size_t fake_box_count(const struct box_ctx *ctx, const char *kind)
{
	size_t n = 0;
	for (const struct box *b = ctx->boxes; b; b = b->next)
		n += !kind || strcmp(b->kind, kind) == 0;
	return n;
}

size_t fake_box_live(const struct box_ctx *ctx)
{
	size_t n = 0;
	for (const struct box *b = ctx->boxes; b; b = b->next)
		n += !b->freed;
	return n;
}

const char *fake_box_env(const struct box *b, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; b->envp && b->envp[i]; i++)
		if (strncmp(b->envp[i], name, len) == 0 && b->envp[i][len] == '=')
			return b->envp[i] + len + 1;
	return NULL;
}

const char *fake_box_cmd(const struct box *b)
{
	if (!b->argv || !b->argv[0])
		return "";
	if (strcmp(b->argv[0], "/bin/sh") == 0 && b->argv[1] && strcmp(b->argv[1], "-c") == 0 && b->argv[2])
		return b->argv[2];
	return b->argv[0];
}
