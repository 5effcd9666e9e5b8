/*
 * The state machine's events, the changes part (debounce, on_busy), and where
 * the parts meet (reload.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "log.h"
#include "reload.h"

int timer_arm_ms(int fd, unsigned long long ms)
{
	/* A zero it_value disarms a timerfd; one nanosecond means "now" and keeps the event path single. */
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ms / 1000),
						.tv_nsec = ms ? (long)(ms % 1000) * 1000000L : 1 } };
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void timer_disarm(int fd)
{
	struct itimerspec its = { 0 };
	(void)timerfd_settime(fd, 0, &its, NULL);
}

bool reload_quitting(const struct reload *st)
{
	return st->quit.state != QUIT_NONE;
}

/* ---- changes: collected, debounced, then a build or on_busy ---------------------------------------- */

unsigned long long debounce_window_ms(unsigned long long delay_ms, unsigned long long age_ms, size_t changes)
{
	unsigned long long more = changes > 1 ? (changes - 1) * DEBOUNCE_PER_CHANGE_MS : 0;
	unsigned long long grown = age_ms > more ? age_ms : more;

	if (grown > DEBOUNCE_BURST_CAP_MS)
		grown = DEBOUNCE_BURST_CAP_MS;
	return grown > delay_ms ? grown : delay_ms;
}

/*
 * -> DEBOUNCE_ARMED: a trailing debounce, every change pushes the build back by build.delay, or, in a
 * burst that has lasted longer or brought more changes, by debounce_window_ms().
 */
void reload_change(struct reload *st, const char *path)
{
	uint64_t now = box_now_ns();

	/* Out of memory: the path is not listed, but the change still builds. */
	if (path)
		(void)pathset_add(&st->changed, path);
	if (st->debounce == DEBOUNCE_IDLE) {
		st->burst_start_ns = now;
		st->burst_changes = 0;
	}
	st->burst_changes++;
	st->debounce = DEBOUNCE_ARMED;
	(void)timer_arm_ms(st->debounce_fd,
			   debounce_window_ms(st->c->build.delay_ms, (now - st->burst_start_ns) / 1000000,
					      st->burst_changes));
}

bool reload_busy(const struct reload *st)
{
	return st->build.state != BUILD_IDLE || st->rules.state != RULEJOB_IDLE;
}

/* The build waits for its turn: behind what waits already, or at the front (place 0). */
static void build_queue(struct reload *st, bool front)
{
	if (front || !st->build.queued)
		st->build.queued_place = front ? 0 : ++st->places;
	st->build.queued = true;
}

/* on_busy queue: one more build after this one, told every path collected meanwhile. */
static void on_busy_queue(struct reload *st)
{
	build_queue(st, false);
}

/*
 * on_busy restart: the build's box is killed; the new build starts once it is empty. A rule's
 * command is not the build's to kill: then the build waits as with queue.
 */
static void on_busy_restart(struct reload *st)
{
	build_queue(st, st->build.state != BUILD_IDLE);
	if (st->build.state == BUILD_RUNNING)
		build_cancel(st);
}

/* on_busy do-nothing: the paths are dropped; the build goes on. */
static void on_busy_do_nothing(struct reload *st)
{
	pathset_clear(&st->changed);
}

/* on_busy signal: the stop signal goes to the app's main process, the paths are dropped. */
static void on_busy_signal(struct reload *st)
{
	app_signal(st, st->c->box.stop_signal);
	pathset_clear(&st->changed);
}

/* Indexed by enum config_on_busy. */
static void (*const on_busy[])(struct reload *) = {
	[CONFIG_ON_BUSY_QUEUE] = on_busy_queue,
	[CONFIG_ON_BUSY_RESTART] = on_busy_restart,
	[CONFIG_ON_BUSY_DO_NOTHING] = on_busy_do_nothing,
	[CONFIG_ON_BUSY_SIGNAL] = on_busy_signal,
};

/* DEBOUNCE_ARMED (or a key) -> DEBOUNCE_IDLE: build now, or whatever on_busy says while a build runs. */
static void changes_settled(struct reload *st)
{
	st->debounce = DEBOUNCE_IDLE;
	if (reload_quitting(st) || st->root_gone)
		return; /* the changes wait: the root's return starts a build */
	log_change(st->log, st->changed.v, st->changed.n < 100 ? st->changed.n : 100, st->changed.n);
	if (!reload_busy(st))
		build_begin(st);
	else if (st->c->on_busy >= 0 && (size_t)st->c->on_busy < sizeof(on_busy) / sizeof(on_busy[0]))
		on_busy[st->c->on_busy](st);
}

void reload_build_ended(struct reload *st, enum build_outcome how)
{
	if (how == BUILD_FAILED && st->c->build.stop_on_error)
		app_stop(st);
	else if (how == BUILD_SUCCEEDED)
		app_restart(st);
	reload_next_job(st);
}

void reload_next_job(struct reload *st)
{
	uint64_t place = 0;
	int rule;

	if (reload_busy(st) || reload_quitting(st))
		return;
	/* Rules wait for the root to come back; a build was queued before it went, and goes as it did. */
	rule = st->root_gone ? -1 : rulejob_first_due(st, &place);
	if (st->build.queued && (rule < 0 || st->build.queued_place <= place)) {
		st->build.queued = false;
		build_begin(st);
	} else if (rule >= 0) {
		rulejob_start(st, (size_t)rule);
	}
}

/* ---- rules: the same on_busy, for one rule's settled changes ------------------------------------- */

/* Rule i waits for its turn: behind what waits already, or at the front (place 0). */
static void rule_queue(struct reload *st, size_t i, bool front)
{
	struct rule_pending *p = &st->rules.v[i];

	if (front || !p->due)
		p->place = front ? 0 : ++st->places;
	p->due = true;
}

void reload_rule_settled(struct reload *st, size_t i)
{
	bool same = st->rules.state != RULEJOB_IDLE && st->rules.running == i;

	if (reload_quitting(st))
		return;
	if (!reload_busy(st) && !st->root_gone) {
		rulejob_start(st, i);
		return;
	}
	switch (st->root_gone ? CONFIG_ON_BUSY_QUEUE : st->c->on_busy) {
	case CONFIG_ON_BUSY_RESTART:
		/* Only this rule's own command is stopped for it; the build or another rule runs on. */
		rule_queue(st, i, same);
		if (same && st->rules.state == RULEJOB_RUNNING)
			rulejob_cancel(st);
		break;
	case CONFIG_ON_BUSY_DO_NOTHING:
		pathset_clear(&st->rules.v[i].changed);
		break;
	case CONFIG_ON_BUSY_SIGNAL:
		app_signal(st, st->c->box.stop_signal);
		pathset_clear(&st->rules.v[i].changed);
		break;
	default:
		rule_queue(st, i, false);
		break;
	}
}

/* ---- the events ---------------------------------------------------------------------------------------- */

void reload_start(struct reload *st)
{
	build_begin(st);
}

void reload_rule_change(struct reload *st, size_t i, const char *path)
{
	rulejob_change(st, i, path);
}

void reload_rules_timer(struct reload *st)
{
	rulejob_timer_expired(st);
}

void reload_root_gone(struct reload *st, bool gone)
{
	st->root_gone = gone;
}

void reload_debounce_expired(struct reload *st)
{
	if (st->debounce == DEBOUNCE_ARMED)
		changes_settled(st);
}

void reload_rebuild(struct reload *st)
{
	log_msg(st->log, LOG_MAIN, "rebuild and restart requested");
	timer_disarm(st->debounce_fd);
	changes_settled(st);
}

void reload_rerun_expired(struct reload *st)
{
	app_rerun_due(st);
}

void reload_quit(struct reload *st)
{
	if (reload_quitting(st))
		quit_force(st);
	else
		quit_begin(st);
}

void reload_output(struct reload *st, enum reload_tag tag)
{
	job_read_output(st, tag == TAG_POST_OUT   ? &st->quit.post
			    : tag == TAG_RULE_OUT ? &st->rules.job
						  : &st->build.job);
}

void reload_update(struct reload *st)
{
	if (!st->app.box && !st->build.job.box && !st->quit.post.box && !st->rules.job.box)
		(void)box_ctx_reap(st->ctx);
	build_update(st);
	rulejob_update(st);
	post_update(st);
	app_update(st);
	quit_update(st);
	/* Last: what this wake-up started is spawned; now the box work that no one waits for. */
	spare_idle(st);
}

bool reload_done(const struct reload *st)
{
	return st->quit.state == QUIT_DONE;
}

void reload_signal_boxes(struct reload *st, int sig)
{
	struct box *boxes[] = { st->app.box, st->build.job.box, st->rules.job.box, st->quit.post.box };

	for (size_t i = 0; i < sizeof(boxes) / sizeof(boxes[0]); i++)
		if (boxes[i])
			(void)box_signal_all(boxes[i], sig);
}

/* ---- set-up ---------------------------------------------------------------------------------------- */

int reload_epoll_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int reload_init(struct reload *st, const struct config *c, struct log *log, bool stdin_to_app)
{
	int r;

	*st = (struct reload){
		.c = c,
		.log = log,
		.stdin_to_app = stdin_to_app,
		.build = { .job = { .out_fd = -1, .tag = TAG_BUILD_OUT }, .changed_file = { .dirfd = -1 } },
		.quit = { .post = { .out_fd = -1, .tag = TAG_POST_OUT } },
		.rules = { .timer_fd = -1, .job = { .out_fd = -1 }, .changed_file = { .dirfd = -1 } },
		.front = { .fd = -1, .pidfd = -1 }
	};
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	st->debounce_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->rerun_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (st->ep < 0 || st->debounce_fd < 0 || st->rerun_fd < 0 || st->devnull < 0)
		return -errno;
	r = reload_epoll_add(st->ep, st->debounce_fd, TAG_DEBOUNCE);
	if (r == 0)
		r = reload_epoll_add(st->ep, st->rerun_fd, TAG_RERUN);
	return r < 0 ? r : rulejob_init(st);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void reload_free(struct reload *st)
{
	build_free(st);
	rulejob_free(st);
	quit_free(st);
	app_free(st);
	spare_free(st);
	pathset_clear(&st->changed);
	close_fd(&st->debounce_fd);
	close_fd(&st->rerun_fd);
	close_fd(&st->devnull);
	close_fd(&st->ep);
	handoff_close(&st->handoff);
	frontctl_stop(&st->front);
}
