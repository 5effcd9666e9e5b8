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

/* -> DEBOUNCE_ARMED: a trailing debounce, every change pushes the build back by build.delay. */
void reload_change(struct reload *st, const char *path)
{
	/* Out of memory: the path is not listed, but the change still builds. */
	if (path)
		(void)pathset_add(&st->changed, path);
	st->debounce = DEBOUNCE_ARMED;
	(void)timer_arm_ms(st->debounce_fd, st->c->build.delay_ms);
}

/* on_busy queue: one more build after this one, told every path collected meanwhile. */
static void on_busy_queue(struct reload *st)
{
	st->build.queued = true;
}

/* on_busy restart: the build's box is killed; the new build starts once it is empty. */
static void on_busy_restart(struct reload *st)
{
	st->build.queued = true;
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
	if (st->build.state == BUILD_IDLE)
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
	if (st->build.queued && !reload_quitting(st)) {
		st->build.queued = false;
		build_begin(st);
	}
}

/* ---- the events ---------------------------------------------------------------------------------------- */

void reload_start(struct reload *st)
{
	build_begin(st);
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
	job_read_output(st, tag == TAG_POST_OUT ? &st->quit.post : &st->build.job);
}

void reload_update(struct reload *st)
{
	if (!st->app.box && !st->build.job.box && !st->quit.post.box)
		(void)box_ctx_reap(st->ctx);
	build_update(st);
	post_update(st);
	app_update(st);
	quit_update(st);
}

bool reload_done(const struct reload *st)
{
	return st->quit.state == QUIT_DONE;
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

	*st = (struct reload){ .c = c,
			       .log = log,
			       .stdin_to_app = stdin_to_app,
			       .build = { .job = { .out_fd = -1, .tag = TAG_BUILD_OUT },
					  .changed_file = { .dirfd = -1 } },
			       .quit = { .post = { .out_fd = -1, .tag = TAG_POST_OUT } } };
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	st->debounce_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->rerun_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (st->ep < 0 || st->debounce_fd < 0 || st->rerun_fd < 0 || st->devnull < 0)
		return -errno;
	r = reload_epoll_add(st->ep, st->debounce_fd, TAG_DEBOUNCE);
	return r < 0 ? r : reload_epoll_add(st->ep, st->rerun_fd, TAG_RERUN);
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
	quit_free(st);
	app_free(st);
	pathset_clear(&st->changed);
	close_fd(&st->debounce_fd);
	close_fd(&st->rerun_fd);
	close_fd(&st->devnull);
	close_fd(&st->ep);
}
