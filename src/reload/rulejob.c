/* [[build.rules]]: each rule's changes, debounced, and its command in a box (rulejob.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "env.h"
#include "files.h"
#include "log.h"
#include "reload.h"
#include "rulejob.h"

static const struct config_rule *rule_of(const struct reload *st, size_t i)
{
	return &st->c->build.rules[i];
}

/* The rule's name for messages: its own, or rule-N as air names it (runner/rule_test.go:22). */
static const char *rule_name(const struct reload *st, size_t i, char *buf, size_t size)
{
	const char *name = rule_of(st, i)->name;

	snprintf(buf, size, "%s", name && name[0] ? name : "");
	if (!buf[0])
		snprintf(buf, size, "rule-%zu", i);
	return buf;
}

/* rule.delay; in an .air.toml 0 is air's default, 1000 ms (air cannot tell 0 from unset). */
static unsigned long long rule_delay_ms(const struct reload *st, size_t i)
{
	unsigned long long ms = rule_of(st, i)->delay_ms;

	return ms == 0 && st->c->from_air ? 1000 : ms;
}

int rulejob_init(struct reload *st)
{
	struct rulejob *rj = &st->rules;

	*rj = (struct rulejob){ .timer_fd = -1,
				.job = { .out_fd = -1, .tag = TAG_RULE_OUT },
				.changed_file = { .dirfd = -1 } };
	if (!st->c->build.nrules)
		return 0;
	rj->v = calloc(st->c->build.nrules, sizeof(*rj->v));
	if (!rj->v)
		return -ENOMEM;
	rj->n = st->c->build.nrules;
	rj->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rj->timer_fd < 0)
		return -errno;
	return reload_epoll_add(st->ep, rj->timer_fd, TAG_RULE_TIMER);
}

static void end_paths(struct rulejob *rj)
{
	paths_free(rj->paths, rj->npaths);
	rj->paths = NULL;
	rj->npaths = 0;
}

void rulejob_free(struct reload *st)
{
	struct rulejob *rj = &st->rules;

	job_reset(st, &rj->job);
	end_paths(rj);
	safefs_file_remove(&rj->changed_file);
	for (size_t i = 0; i < rj->n; i++)
		pathset_clear(&rj->v[i].changed);
	free(rj->v);
	rj->v = NULL;
	rj->n = 0;
	if (rj->timer_fd >= 0)
		close(rj->timer_fd);
	rj->timer_fd = -1;
}

/* ---- the debounce ---------------------------------------------------------------------------------- */

/* The timerfd to the earliest deadline left, rounded up so that it never wakes too early; off if none. */
static void timer_rearm(struct reload *st)
{
	struct rulejob *rj = &st->rules;
	uint64_t first = 0, now = box_now_ns();

	for (size_t i = 0; i < rj->n; i++)
		if (rj->v[i].deadline_ns && (!first || rj->v[i].deadline_ns < first))
			first = rj->v[i].deadline_ns;
	if (!first)
		timer_disarm(rj->timer_fd);
	else
		(void)timer_arm_ms(rj->timer_fd, first > now ? (first - now + 999999) / 1000000 : 0);
}

void rulejob_change(struct reload *st, size_t i, const char *path)
{
	struct rule_pending *p;

	if (i >= st->rules.n || reload_quitting(st))
		return;
	p = &st->rules.v[i];
	/* Out of memory: the path is not listed, but the change still runs the rule. */
	if (path)
		(void)pathset_add(&p->changed, path);
	p->deadline_ns = box_now_ns() + rule_delay_ms(st, i) * 1000000ULL;
	timer_rearm(st);
}

void rulejob_timer_expired(struct reload *st)
{
	struct rulejob *rj = &st->rules;
	uint64_t now = box_now_ns();

	for (size_t i = 0; i < rj->n; i++) {
		if (!rj->v[i].deadline_ns || rj->v[i].deadline_ns > now)
			continue;
		rj->v[i].deadline_ns = 0;
		reload_rule_settled(st, i);
	}
	timer_rearm(st);
}

int rulejob_first_due(const struct reload *st, uint64_t *place)
{
	int first = -1;

	for (size_t i = 0; i < st->rules.n; i++)
		if (st->rules.v[i].due && (first < 0 || st->rules.v[i].place < *place)) {
			first = (int)i;
			*place = st->rules.v[i].place;
		}
	return first;
}

/* ---- the command ----------------------------------------------------------------------------------- */

/* RULEJOB_RUNNING or CANCELLING -> RULEJOB_IDLE: its messages, then the next job. */
static void rule_end(struct reload *st, int status)
{
	struct rulejob *rj = &st->rules;
	const struct config_rule *r = rule_of(st, rj->running);
	uint64_t ms = (box_now_ns() - rj->start_ns) / 1000000;
	char name[32];

	rule_name(st, rj->running, name, sizeof(name));
	if (rj->state == RULEJOB_CANCELLING) {
		log_msg(st->log, LOG_BUILD, "rule %s cancelled", name);
	} else {
		log_rule_end(st->log, name, ms, status);
		if (status != 0)
			build_log_append(st->c, st->log, r->cmd, status, rj->job.capture,
					 rj->job.capture_len);
	}
	job_reset(st, &rj->job);
	rj->state = RULEJOB_IDLE;
	end_paths(rj);
	safefs_file_remove(&rj->changed_file);
	reload_next_job(st);
}

void rulejob_start(struct reload *st, size_t i)
{
	struct rulejob *rj = &st->rules;
	const struct config_rule *r;
	char *extra[1] = { NULL }, **envp = NULL, why[512] = "", name[32];
	int ret;

	if (rj->state != RULEJOB_IDLE || i >= rj->n || reload_quitting(st))
		return;
	r = rule_of(st, i);
	rj->state = RULEJOB_RUNNING;
	rj->running = i;
	rj->v[i].due = false;
	rj->paths = pathset_take(&rj->v[i].changed, &rj->npaths);
	rj->start_ns = box_now_ns();
	log_rule_start(st->log, rule_name(st, i, name, sizeof(name)), r->cmd, rj->paths, rj->npaths);
	ret = changed_env_entry(st->c, st->log, rj->paths, rj->npaths, &rj->changed_file, &extra[0]);
	if (ret == 0)
		ret = envp_make(st->c, st->log, extra, 1, &envp);
	if (ret == 0)
		ret = job_start(st, &rj->job, "rule", r->cmd, envp, why, sizeof(why));
	free(extra[0]);
	envp_free(envp);
	if (ret < 0) {
		log_msg(st->log, LOG_BUILD, "rule %s: cannot start '%s': %s", name, r->cmd,
			why[0] ? why : explain_errno(-ret, why, sizeof(why)));
		rule_end(st, W_EXITCODE(125, 0));
	}
}

void rulejob_cancel(struct reload *st)
{
	if (st->rules.state == RULEJOB_IDLE || !st->rules.job.box)
		return;
	st->rules.state = RULEJOB_CANCELLING;
	(void)box_kill(st->rules.job.box);
}

void rulejob_update(struct reload *st)
{
	int status;

	if (job_update(st, &st->rules.job, &status))
		rule_end(st, status);
}

void rulejob_quit(struct reload *st)
{
	struct rulejob *rj = &st->rules;

	for (size_t i = 0; i < rj->n; i++) {
		rj->v[i].due = false;
		rj->v[i].deadline_ns = 0;
	}
	if (rj->timer_fd >= 0)
		timer_disarm(rj->timer_fd);
	rulejob_cancel(st);
}
