/*
 * The run loop's state machine (src/reload/reload.h) on a fake box layer
 * (fake_box.h): the test says when a build step or the app ends and when a
 * box is empty, drives the machine's events by hand, and checks the states,
 * the boxes (what ran, in which order, what was signalled) and the JSON log.
 * No process is started; the kernel's side is the integration tests'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fake_box.h"
#include "log.h"
#include "reload.h"

#define EXIT(code) ((code) << 8) /* a wait status */

struct t {
	char root[64];
	struct config c;
	char *logbuf;
	size_t loglen;
	FILE *logf;
	struct log *log;
	struct box_ctx *ctx;
	struct reload st;
};

/*
 * The list as NSRELOAD_CHANGED_PATHS gives it: builds run where nsreload started, so each path of the
 * newline-separated list gets the (absolute) root in front. The result is static.
 */
static const char *in_root(const struct t *t, const char *list)
{
	static char buf[4096];
	size_t n = 0;

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, "\n");

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s/%.*s%s", t->root, (int)len, p,
				      p[len] ? "\n" : "");
		assert_true(n < sizeof(buf));
		p += len + (p[len] ? 1 : 0);
	}
	return buf;
}

/*
 * A machine on a fresh root with build.cmd 'make' and the app './app', and the
 * TOML lines top (before [build]) and build (in it).
 */
static struct t *t_new(const char *top, const char *build)
{
	struct t *t = calloc(1, sizeof(*t));
	char *toml = NULL;

	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/nsreload-test-reload.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	assert_true(asprintf(&toml, "root = '%s'\n%s\n[build]\ncmd = 'make'\nfull_bin = './app'\n%s", t->root,
			     top ? top : "", build ? build : "") > 0);
	assert_int_equal(config_init(&t->c), 0);
	assert_int_equal(config_load_buffer(&t->c, "t.toml", toml, strlen(toml), NULL), 0);
	assert_int_equal(config_finalize(&t->c), 0);
	free(toml);
	t->logf = open_memstream(&t->logbuf, &t->loglen);
	assert_non_null(t->logf);
	assert_int_equal(
		log_new(&t->log, &t->c, &(struct log_opts){ .out = t->logf, .format = LOG_FORMAT_JSON }), 0);
	assert_int_equal(box_ctx_new(&t->ctx, &(struct box_ctx_opts){ .rung = BOX_RUNG_PGROUP }), 0);
	assert_int_equal(reload_init(&t->st, &t->c, t->log, false), 0);
	t->st.ctx = t->ctx;
	return t;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void t_free(struct t *t)
{
	reload_free(&t->st);
	box_ctx_free(t->ctx);
	log_free(t->log);
	fclose(t->logf);
	free(t->logbuf);
	config_free(&t->c);
	nftw(t->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
}

/* How many times s is in the log so far. */
static size_t logged(struct t *t, const char *s)
{
	size_t n = 0;

	fflush(t->logf);
	for (const char *p = t->logbuf; p && (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	return n;
}

static struct box *newest(struct t *t, const char *kind)
{
	struct box *b = fake_box_last(t->ctx, kind);
	assert_non_null(b);
	return b;
}

/* The box events of a wake-up: twice, since a kill empties a box only at the next look. */
static void update(struct t *t)
{
	reload_update(&t->st);
	reload_update(&t->st);
}

/* The current build step ends with status. */
static void step_ends(struct t *t, int status)
{
	struct box *b = newest(t, "build");
	assert_false(b->freed);
	fake_box_exit(b, status);
	update(t);
}

/* A change of path whose debounce runs out. */
static void change_settles(struct t *t, const char *path)
{
	reload_change(&t->st, path);
	reload_debounce_expired(&t->st);
}

/* The first build succeeds and the app runs. */
static struct t *t_running(const char *top, const char *build)
{
	struct t *t = t_new(top, build);
	reload_start(&t->st);
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	return t;
}

/* Milliseconds before the timerfd runs out; 0 when disarmed. */
static long long timer_left_ms(int fd)
{
	struct itimerspec its;
	assert_int_equal(timerfd_gettime(fd, &its), 0);
	return its.it_value.tv_sec * 1000LL + its.it_value.tv_nsec / 1000000;
}

static bool timer_armed(int fd)
{
	struct itimerspec its;
	assert_int_equal(timerfd_gettime(fd, &its), 0);
	return its.it_value.tv_sec || its.it_value.tv_nsec;
}

/* ---- limits ---- */

/*
 * The app's box gets box.memory_max, pids_max and cpu_max; builds only with
 * box.limit_builds. An OOM kill is logged before the exit it explains, and
 * the next change restarts the app as usual.
 */
static void test_the_app_gets_the_limits_and_an_oom_kill_is_reported(void **state)
{
	struct t *t = t_running("[box]\nmemory_max = '64M'\npids_max = 32\ncpu_max = '50%'", NULL);
	struct box *run = newest(t, "run");
	(void)state;

	assert_int_equal(run->lim.memory_max, 64ull << 20);
	assert_int_equal(run->lim.pids_max, 32);
	assert_int_equal(run->lim.cpu_quota_us, 50000);
	assert_int_equal(run->lim.cpu_period_us, 100000);
	assert_int_equal(newest(t, "build")->lim.memory_max, 0); /* no box.limit_builds */
	fake_box_pids_max(run, 3);
	reload_update(&t->st);
	assert_int_equal(logged(t, "\"event\":\"pids_max\",\"who\":\"app\""), 1);
	assert_int_equal(logged(t, "\"pids_max\":32,\"refused\":3,\"via\":\"cgroup1\""), 1);
	fake_box_oom(run, 64ull << 20);
	update(t);
	assert_int_equal(logged(t, "\"event\":\"oom\",\"who\":\"app\""), 1);
	assert_int_equal(logged(t, "\"memory_max\":67108864,\"memory_peak\":67108864,\"oom_kills\":1"), 1);
	assert_true(strstr(t->logbuf, "\"event\":\"oom\"") < strstr(t->logbuf, "\"event\":\"run_exit\""));
	assert_int_equal(t->st.app.state, APP_DOWN);
	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	t_free(t);
}

static void test_limit_builds_limits_the_builds_too(void **state)
{
	struct t *t = t_new("[box]\nmemory_max = '1G'\nlimit_builds = true", NULL);
	(void)state;

	reload_start(&t->st);
	assert_int_equal(newest(t, "build")->lim.memory_max, 1ull << 30);
	fake_box_oom(newest(t, "build"), 1ull << 30);
	update(t);
	assert_int_equal(logged(t, "\"event\":\"oom\",\"who\":\"build\""), 1);
	t_free(t);
}

/* ---- build and run ---- */

static void test_first_build_starts_the_app(void **state)
{
	struct t *t = t_new(NULL, NULL);
	struct box *b, *run;
	(void)state;

	reload_start(&t->st);
	assert_int_equal(t->st.build.state, BUILD_RUNNING);
	b = newest(t, "build");
	assert_string_equal(fake_box_cmd(b), "make");
	assert_string_equal(fake_box_env(b, "NSRELOAD_CHANGED_PATHS"), "");
	assert_int_equal(fake_box_count(t->ctx, "run"), 0);
	fake_box_write(b, "compiling\n");
	step_ends(t, 0);
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_true(b->freed);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	run = newest(t, "run");
	assert_non_null(strstr(fake_box_cmd(run), "./app"));
	assert_null(fake_box_env(run, "NSRELOAD_CHANGED_PATHS"));
	assert_int_equal(logged(t, "\"event\":\"build_start\",\"changed\":0"), 1);
	assert_int_equal(logged(t, "\"line\":\"compiling\""), 1);
	assert_int_equal(logged(t, "\"event\":\"build_end\""), 1);
	assert_int_equal(logged(t, "\"event\":\"run_start\""), 1);
	t_free(t);
}

static void test_steps_run_in_order_and_a_failing_one_ends_the_build(void **state)
{
	struct t *t = t_new(NULL, "pre_cmd = ['gen', '', 'vet']\n");
	(void)state;

	reload_start(&t->st);
	assert_string_equal(fake_box_cmd(newest(t, "build")), "gen");
	step_ends(t, 0);
	assert_string_equal(fake_box_cmd(newest(t, "build")), "vet"); /* the empty step is skipped */
	fake_box_write(newest(t, "build"), "vet: bad\n");
	step_ends(t, EXIT(1));
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2); /* cmd never ran */
	assert_int_equal(fake_box_count(t->ctx, "run"), 0);
	assert_int_equal(logged(t, "\"status\":1}"), 1);
	t_free(t);
}

static void test_a_step_that_leaves_a_process_is_over_when_its_box_is_empty(void **state)
{
	struct t *t = t_new(NULL, NULL);
	struct box *b;
	(void)state;

	reload_start(&t->st);
	b = newest(t, "build");
	fake_box_leave(b);
	fake_box_exit(b, 0);
	reload_update(&t->st); /* the main process ended: what it left is killed */
	assert_true(b->killed);
	assert_int_equal(t->st.build.state, BUILD_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 0);
	reload_update(&t->st); /* now the box is empty */
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	t_free(t);
}

static void test_a_step_that_cannot_start_is_a_failed_build(void **state)
{
	struct t *t = t_running(NULL, NULL);
	struct box *run = newest(t, "run");
	(void)state;

	t->ctx->fail_kind = "build";
	t->ctx->fail_errno = EMFILE;
	t->ctx->fail_stage = BOX_SPAWN_START;
	change_settles(t, "a.go");
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(logged(t, "cannot start 'make': the box could not start its first process"), 1);
	assert_int_equal(logged(t, "the old run keeps serving"), 1);
	assert_ptr_equal(newest(t, "run"), run);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	t_free(t);
}

/* ---- debounce ---- */

static void test_debounce_is_trailing_and_collects_each_path_once(void **state)
{
	struct t *t = t_running(NULL, "delay = 300\n");
	(void)state;

	reload_change(&t->st, "b.go");
	reload_change(&t->st, "a.go");
	reload_change(&t->st, "b.go");
	reload_change(&t->st, NULL); /* an overflow: a change without a path */
	assert_int_equal(t->st.debounce, DEBOUNCE_ARMED);
	assert_true(timer_left_ms(t->st.debounce_fd) > 200);
	assert_true(timer_left_ms(t->st.debounce_fd) <= 300);
	assert_int_equal(fake_box_count(t->ctx, "build"), 1); /* nothing before the timer runs out */
	reload_debounce_expired(&t->st);
	assert_int_equal(t->st.debounce, DEBOUNCE_IDLE);
	assert_int_equal(t->st.build.state, BUILD_RUNNING);
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"),
			    in_root(t, "b.go\na.go"));
	assert_int_equal(logged(t, "\"event\":\"change\",\"paths\":[\"b.go\",\"a.go\"],\"count\":2"), 1);
	/* A stale expiry after the build began does nothing. */
	reload_debounce_expired(&t->st);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	t_free(t);
}

static void test_debounce_zero_fires_at_once(void **state)
{
	struct t *t = t_running(NULL, "delay = 0\n");
	uint64_t x;
	(void)state;

	reload_change(&t->st, "a.go");
	usleep(1000);
	assert_int_equal(read(t->st.debounce_fd, &x, sizeof(x)), (ssize_t)sizeof(x));
	t_free(t);
}

/*
 * The window: build.delay for a lone change; as many ms as the burst has lasted, or 25 ms per change
 * after its first, once that is longer; capped.
 */
static void test_debounce_window_grows_with_the_burst(void **state)
{
	(void)state;
	assert_int_equal(debounce_window_ms(10, 0, 1), 10);
	assert_int_equal(debounce_window_ms(10, 3, 1), 10);
	assert_int_equal(debounce_window_ms(10, 40, 1), 40);
	assert_int_equal(debounce_window_ms(10, 1, 2), DEBOUNCE_PER_CHANGE_MS);
	assert_int_equal(debounce_window_ms(10, 1, 3), 2 * DEBOUNCE_PER_CHANGE_MS);
	assert_int_equal(debounce_window_ms(10, 100000, 1), DEBOUNCE_BURST_CAP_MS);
	assert_int_equal(debounce_window_ms(10, 0, 10000), DEBOUNCE_BURST_CAP_MS);
	assert_int_equal(debounce_window_ms(0, 0, 1), 0); /* 0 still means 0 for a lone change */
	assert_int_equal(debounce_window_ms(0, 7, 1), 7);
	assert_int_equal(debounce_window_ms(1000, 100000, 9), 1000); /* a longer delay (air's) as it was */
}

/*
 * A burst: a change 60 ms into it arms the timer for 60 ms, not build.delay; once it settles, the
 * next change starts a new burst with build.delay again.
 */
static void test_debounce_in_a_burst_waits_as_long_as_it_has_lasted(void **state)
{
	struct t *t = t_running(NULL, "delay = 5\n");
	(void)state;

	reload_change(&t->st, "a.go");
	assert_true(timer_left_ms(t->st.debounce_fd) <= 5);
	t->st.burst_start_ns -= 60 * 1000000ULL; /* as if the burst began 60 ms ago */
	reload_change(&t->st, "b.go");
	assert_true(timer_left_ms(t->st.debounce_fd) > 50);
	assert_true(timer_left_ms(t->st.debounce_fd) <= 61);
	reload_change(&t->st, "c.go"); /* the third change: 2 x 25 ms, less than the 60 ms */
	assert_true(timer_left_ms(t->st.debounce_fd) > 50);
	reload_change(&t->st, "d.go"); /* the fourth: 75 ms */
	assert_true(timer_left_ms(t->st.debounce_fd) > 70);
	assert_true(timer_left_ms(t->st.debounce_fd) <= 75);
	reload_debounce_expired(&t->st);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2); /* one build for the burst */
	step_ends(t, 0);
	reload_change(&t->st, "e.go");
	assert_true(timer_left_ms(t->st.debounce_fd) <= 5); /* a new burst */
	reload_change(&t->st, "e.go"); /* a loop of writes to one file is a burst too: counted per change */
	reload_change(&t->st, "e.go");
	assert_true(timer_left_ms(t->st.debounce_fd) > 45);
	t_free(t);
}

static void test_rebuild_key_builds_without_a_change(void **state)
{
	struct t *t = t_running(NULL, NULL);
	(void)state;

	reload_rebuild(&t->st);
	assert_int_equal(t->st.build.state, BUILD_RUNNING);
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"), "");
	/* r while building goes through on_busy (queue): one more build. */
	reload_rebuild(&t->st);
	assert_true(t->st.build.queued);
	t_free(t);
}

static void test_root_gone_holds_the_changes_until_it_is_back(void **state)
{
	struct t *t = t_running(NULL, NULL);
	(void)state;

	reload_root_gone(&t->st, true);
	change_settles(t, "a.go");
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	reload_root_gone(&t->st, false);
	change_settles(t, NULL);
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"), in_root(t, "a.go"));
	t_free(t);
}

static void test_a_long_list_of_changes_goes_through_a_file(void **state)
{
	struct t *t = t_running(NULL, NULL);
	const char *file;
	char name[64];
	struct stat sb;
	(void)state;

	for (int i = 0; i < 8000; i++) {
		snprintf(name, sizeof(name), "dir/file-%05d.go", i);
		reload_change(&t->st, name);
	}
	reload_debounce_expired(&t->st);
	assert_null(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"));
	file = fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_FILE");
	assert_non_null(file);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_size, 8000 * (strlen(t->root) + 1 + 18)); /* "ROOT/dir/file-NNNNN.go\n" */
	{
		char *path = strdup(file);
		step_ends(t, 0);
		assert_int_not_equal(stat(path, &sb), 0); /* removed when the build ends */
		free(path);
	}
	t_free(t);
}

/* ---- on_busy ---- */

static void test_on_busy_queue_builds_once_more_with_every_path(void **state)
{
	struct t *t = t_running(NULL, NULL);
	(void)state;

	change_settles(t, "a.go");
	change_settles(t, "b.go");
	change_settles(t, "c.go");
	change_settles(t, "b.go");
	assert_true(t->st.build.queued);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	step_ends(t, 0);
	assert_int_equal(fake_box_count(t->ctx, "build"), 3);
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"),
			    in_root(t, "b.go\nc.go"));
	step_ends(t, 0);
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(fake_box_count(t->ctx, "build"), 3);
	t_free(t);
}

static void test_on_busy_restart_cancels_and_starts_once_the_box_is_empty(void **state)
{
	struct t *t = t_running("on_busy = 'restart'", NULL);
	struct box *run = newest(t, "run"), *b1;
	(void)state;

	change_settles(t, "a.go");
	b1 = newest(t, "build");
	change_settles(t, "b.go");
	assert_int_equal(t->st.build.state, BUILD_CANCELLING);
	assert_true(b1->killed);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2); /* not before the box is empty */
	change_settles(t, "c.go");                            /* still cancelling: nothing new */
	update(t);
	assert_true(b1->freed);
	assert_int_equal(logged(t, "build cancelled"), 1);
	assert_int_equal(t->st.build.state, BUILD_RUNNING);
	assert_true(newest(t, "build")->new_seq > b1->empty_seq);
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"),
			    in_root(t, "b.go\nc.go"));
	/* The cancelled build neither restarted nor signalled the app. */
	assert_ptr_equal(newest(t, "run"), run);
	assert_int_equal(run->nsignals, 0);
	assert_int_equal(logged(t, "\"event\":\"build_end\""), 1); /* the first build's only */
	t_free(t);
}

static void test_on_busy_do_nothing_drops_the_paths(void **state)
{
	struct t *t = t_running("on_busy = 'do-nothing'", NULL);
	(void)state;

	change_settles(t, "a.go");
	change_settles(t, "b.go");
	assert_false(t->st.build.queued);
	assert_int_equal(t->st.changed.n, 0);
	step_ends(t, 0);
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	change_settles(t, "c.go");
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"), in_root(t, "c.go"));
	t_free(t);
}

static void test_on_busy_signal_signals_the_app_and_queues_nothing(void **state)
{
	struct t *t = t_running("on_busy = 'signal'", NULL);
	struct box *run = newest(t, "run");
	(void)state;

	change_settles(t, "a.go");
	change_settles(t, "b.go");
	assert_int_equal(run->nsignals, 1);
	assert_int_equal(run->signals[0], SIGTERM);
	assert_false(t->st.build.queued);
	assert_int_equal(t->st.changed.n, 0);
	/* The app ends on the signal: it stays down (no rerun) ... */
	fake_box_exit(run, SIGTERM);
	update(t);
	assert_int_equal(logged(t, "\"event\":\"run_exit\""), 1);
	assert_int_equal(t->st.app.state, APP_DOWN);
	assert_true(run->freed);
	/* ... until the current build succeeds. */
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	t_free(t);
}

/* ---- restart ---- */

static void test_restart_waits_until_the_old_box_is_empty(void **state)
{
	struct t *t = t_running(NULL, NULL);
	struct box *old = newest(t, "run");
	(void)state;

	fake_box_leave(old); /* the app leaves a background process behind */
	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RESTARTING);
	assert_int_equal(old->stop_sig, SIGTERM);
	assert_int_equal(old->stop_timeout_ms, 5000);
	assert_true(old->stop_all); /* box.stop_scope = all: every process got the signal */
	assert_int_equal(fake_box_count(t->ctx, "run"), 1);
	/* The main process obeys; the rest keeps its grace (a shell dying first must not take the app's
	 * shutdown with it); no new app before the box is empty. */
	fake_box_exit(old, SIGTERM);
	reload_update(&t->st);
	assert_false(old->killed);
	assert_false(old->empty);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1);
	assert_int_equal(logged(t, "\"event\":\"run_exit\""), 0); /* we stopped it: not an exit */
	/* What is left is killed when the stop timeout runs out. */
	fake_box_timeout(old);
	reload_update(&t->st);
	assert_true(old->killed);
	assert_true(old->freed);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	assert_true(newest(t, "run")->new_seq > old->empty_seq);
	assert_true(newest(t, "run")->new_seq > old->free_seq);
	assert_int_equal(logged(t, "\"event\":\"run_stop\""), 1);
	assert_int_equal(logged(t, "\"killed\":true"), 1);
	t_free(t);
}

static void test_stop_scope_main_kills_the_rest_when_the_main_process_exits(void **state)
{
	struct t *t = t_running("[box]\nstop_scope = 'main'\n", NULL);
	struct box *old = newest(t, "run");
	(void)state;

	fake_box_leave(old);
	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(old->stop_sig, SIGTERM);
	assert_false(old->stop_all);
	fake_box_exit(old, SIGTERM);
	reload_update(&t->st);
	assert_true(old->killed);
	assert_false(old->empty);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1);
	reload_update(&t->st);
	assert_true(old->freed);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	assert_int_equal(logged(t, "\"killed\":false"), 1);
	t_free(t);
}

static void test_restart_kills_the_box_after_the_stop_timeout(void **state)
{
	struct t *t = t_running(NULL, "send_interrupt = true\nkill_delay = 700\n");
	struct box *old = newest(t, "run");
	(void)state;

	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(old->stop_sig, SIGINT);
	assert_int_equal(old->stop_timeout_ms, 700);
	update(t);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1); /* the app ignores SIGINT */
	fake_box_timeout(old);
	update(t);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	assert_int_equal(logged(t, "\"killed\":true"), 1);
	t_free(t);
}

static void test_a_build_that_succeeds_while_the_app_stops_confirms_the_start(void **state)
{
	struct t *t = t_running(NULL, "stop_on_error = true\n");
	struct box *old = newest(t, "run");
	(void)state;

	change_settles(t, "a.go");
	step_ends(t, EXIT(2));
	assert_int_equal(t->st.app.state, APP_STOPPING);
	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RESTARTING);
	/* Stopped once: the stop signal, then SIGCONT so that a stopped app can act on it. */
	assert_int_equal(old->nsignals, 2);
	assert_int_equal(old->signals[0], SIGTERM);
	assert_int_equal(old->signals[1], SIGCONT);
	fake_box_exit(old, SIGTERM);
	update(t);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	t_free(t);
}

/* ---- build failures ---- */

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_a_failed_build_keeps_the_app_and_writes_the_build_log(void **state)
{
	struct t *t = t_running(NULL, NULL);
	struct box *run = newest(t, "run");
	char path[128], *text;
	(void)state;

	change_settles(t, "a.go");
	fake_box_write(newest(t, "build"), "main.go:3: syntax error\n");
	step_ends(t, EXIT(2));
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_ptr_equal(newest(t, "run"), run);
	assert_int_equal(run->nsignals, 0);
	assert_false(run->stopping);
	snprintf(path, sizeof(path), "%s/tmp/build-errors.log", t->root);
	text = slurp(path);
	assert_non_null(text);
	assert_non_null(strstr(text, ": make: exit status 2\nmain.go:3: syntax error\n"));
	t_free(t);
}

static void test_a_failed_build_with_stop_on_error_stops_the_app(void **state)
{
	struct t *t = t_running(NULL, "stop_on_error = true\n");
	struct box *run = newest(t, "run");
	(void)state;

	change_settles(t, "a.go");
	step_ends(t, EXIT(1));
	assert_int_equal(t->st.app.state, APP_STOPPING);
	assert_int_equal(run->stop_sig, SIGTERM);
	fake_box_exit(run, SIGTERM);
	update(t);
	assert_int_equal(t->st.app.state, APP_DOWN);
	assert_true(run->freed);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1); /* not restarted */
	assert_int_equal(logged(t, "\"event\":\"run_stop\""), 1);
	t_free(t);
}

static void test_a_build_whose_bin_is_missing_does_not_restart(void **state)
{
	struct t *t = t_new(NULL, NULL);
	(void)state;

	free(t->c.build.full_bin); /* the app is build.bin, ./tmp/main by default */
	t->c.build.full_bin = strdup("");
	reload_start(&t->st);
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_DOWN);
	assert_int_equal(fake_box_count(t->ctx, "run"), 0);
	assert_int_equal(logged(t, "the build succeeded but ./tmp/main does not exist"), 1);
	t_free(t);
}

/* ---- the app ends by itself ---- */

static void test_rerun_starts_the_app_again_after_the_delay(void **state)
{
	struct t *t = t_running(NULL, "rerun = true\nrerun_delay = 400\n");
	struct box *run = newest(t, "run");
	(void)state;

	fake_box_exit(run, EXIT(3));
	update(t);
	assert_int_equal(logged(t, "\"event\":\"run_exit\""), 1);
	assert_int_equal(logged(t, "\"status\":3}"), 1);
	assert_int_equal(t->st.app.state, APP_RERUN_WAIT);
	assert_true(timer_left_ms(t->st.rerun_fd) > 300);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1);
	reload_rerun_expired(&t->st);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	t_free(t);
}

static void test_without_rerun_the_app_stays_down_until_a_build(void **state)
{
	struct t *t = t_running(NULL, NULL);
	(void)state;

	fake_box_leave(newest(t, "run"));
	fake_box_exit(newest(t, "run"), EXIT(0));
	reload_update(&t->st);
	assert_int_equal(t->st.app.state, APP_EXITED);
	assert_true(newest(t, "run")->killed); /* what it left goes with it */
	reload_update(&t->st);
	assert_int_equal(t->st.app.state, APP_DOWN);
	assert_false(timer_armed(t->st.rerun_fd));
	reload_rerun_expired(&t->st);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1);
	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_int_equal(logged(t, "\"event\":\"run_stop\""), 0);
	t_free(t);
}

static void test_an_app_we_stopped_is_not_rerun(void **state)
{
	struct t *t = t_running(NULL, "rerun = true\nstop_on_error = true\n");
	(void)state;

	change_settles(t, "a.go");
	step_ends(t, EXIT(1));
	fake_box_exit(newest(t, "run"), SIGTERM);
	update(t);
	assert_int_equal(t->st.app.state, APP_DOWN);
	assert_false(timer_armed(t->st.rerun_fd));
	assert_int_equal(logged(t, "\"event\":\"run_exit\""), 0);
	t_free(t);
}

static void test_a_build_during_the_rerun_wait_starts_the_app_at_once(void **state)
{
	struct t *t = t_running(NULL, "rerun = true\n");
	(void)state;

	fake_box_exit(newest(t, "run"), EXIT(1));
	update(t);
	assert_int_equal(t->st.app.state, APP_RERUN_WAIT);
	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_false(timer_armed(t->st.rerun_fd));
	assert_int_equal(fake_box_count(t->ctx, "run"), 2);
	t_free(t);
}

/* ---- quit ---- */

static void test_quit_during_a_build(void **state)
{
	struct t *t = t_running(NULL, "post_cmd = ['say bye']\n");
	struct box *run = newest(t, "run"), *build, *post;
	(void)state;

	change_settles(t, "a.go");
	change_settles(t, "b.go"); /* queued */
	build = newest(t, "build");
	reload_change(&t->st, "c.go"); /* the debounce is armed */
	reload_quit(&t->st);
	assert_int_equal(logged(t, "cleaning up..."), 1);
	assert_int_equal(t->st.quit.state, QUIT_POST_CMD);
	assert_false(timer_armed(t->st.debounce_fd));
	assert_false(t->st.build.queued);
	assert_int_equal(t->st.build.state, BUILD_CANCELLING);
	assert_true(build->killed);
	/* post_cmd runs while the app still serves. */
	post = newest(t, "post");
	assert_string_equal(fake_box_cmd(post), "say bye");
	assert_false(run->stopping);
	update(t);
	assert_int_equal(t->st.build.state, BUILD_IDLE);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2); /* the queued build is gone */
	change_settles(t, "d.go");                            /* no build while quitting */
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	fake_box_exit(post, EXIT(1));
	update(t);
	assert_int_equal(logged(t, "post_cmd failed: exit status 1"), 1);
	assert_int_equal(t->st.quit.state, QUIT_STOPPING);
	assert_true(run->stopping);
	assert_int_equal(run->stop_sig, SIGTERM);
	assert_false(reload_done(&t->st));
	fake_box_exit(run, SIGTERM);
	update(t);
	assert_true(reload_done(&t->st));
	assert_int_equal(fake_box_live(t->ctx), 0);
	assert_int_equal(fake_box_count(t->ctx, "run"), 1); /* never restarted */
	t_free(t);
}

static void test_quit_while_the_app_restarts_does_not_start_it(void **state)
{
	struct t *t = t_running(NULL, NULL);
	struct box *old = newest(t, "run");
	(void)state;

	change_settles(t, "a.go");
	step_ends(t, 0);
	assert_int_equal(t->st.app.state, APP_RESTARTING);
	reload_quit(&t->st);
	assert_int_equal(t->st.app.state, APP_STOPPING);
	assert_int_equal(t->st.quit.state, QUIT_STOPPING); /* no post_cmd */
	fake_box_exit(old, SIGTERM);
	update(t);
	assert_true(reload_done(&t->st));
	assert_int_equal(fake_box_count(t->ctx, "run"), 1);
	t_free(t);
}

static void test_a_second_quit_kills_every_box(void **state)
{
	struct t *t = t_running(NULL, "post_cmd = ['slow']\n");
	struct box *run = newest(t, "run");
	(void)state;

	change_settles(t, "a.go");
	reload_quit(&t->st);
	assert_false(run->killed);
	assert_false(newest(t, "post")->killed);
	reload_quit(&t->st);
	assert_true(run->killed);
	assert_true(newest(t, "post")->killed);
	update(t);
	assert_true(reload_done(&t->st));
	assert_int_equal(fake_box_live(t->ctx), 0);
	t_free(t);
}

/* A post_cmd killed by the second quit ending must not start the next one: the second quit means now. */
static void test_a_second_quit_starts_no_further_post_cmd(void **state)
{
	struct t *t = t_running(NULL, "post_cmd = ['slow', 'next']\n");
	(void)state;

	reload_quit(&t->st);
	assert_string_equal(fake_box_cmd(newest(t, "post")), "slow");
	reload_quit(&t->st);
	assert_int_equal(logged(t, "after a second quit request"), 1);
	reload_quit(&t->st); /* a third: everything is being killed already */
	assert_int_equal(logged(t, "after a second quit request"), 1);
	update(t);
	assert_int_equal(fake_box_count(t->ctx, "post"), 1);
	assert_true(reload_done(&t->st));
	assert_int_equal(fake_box_live(t->ctx), 0);
	t_free(t);
}

static void test_quit_with_nothing_running_is_done_at_once(void **state)
{
	struct t *t = t_new(NULL, NULL);
	(void)state;

	reload_quit(&t->st);
	reload_update(&t->st);
	assert_true(reload_done(&t->st));
	t_free(t);
}

/* ---- [[build.rules]] (rulejob.h) ---- */

/* Two rules, no debounce: css (index 0) and sql (index 1). */
#define TWO_RULES                                                                                            \
	"[[build.rules]]\nname = 'css'\ncmd = 'make css'\ninclude_ext = ['css']\ndelay = 0\n"                \
	"[[build.rules]]\ncmd = 'make sql'\ninclude_ext = ['sql']\ndelay = 0\n"

/*
 * t_running with TWO_RULES, read as an .nsreload.toml: "t.toml" reads as an
 * .air.toml, where a rule's delay 0 is air's 1000 ms.
 */
static struct t *t_rules(const char *top)
{
	struct t *t = t_running(top, TWO_RULES);
	t->c.from_air = false;
	return t;
}

/* A change rule i takes, whose debounce (0) runs out. */
static void rule_settles(struct t *t, size_t i, const char *path)
{
	reload_rule_change(&t->st, i, path);
	reload_rules_timer(&t->st);
}

/* The current rule command ends with status. */
static void rule_ends(struct t *t, int status)
{
	struct box *b = newest(t, "rule");
	assert_false(b->freed);
	fake_box_exit(b, status);
	update(t);
}

/* Builds and rule commands whose box is live: never more than one. */
static size_t jobs_live(struct t *t)
{
	size_t n = 0;

	for (struct box *b = t->ctx->boxes; b; b = b->next)
		if (!b->freed && (strcmp(b->kind, "build") == 0 || strcmp(b->kind, "rule") == 0))
			n++;
	assert_true(n <= 1);
	return n;
}

static void test_a_rule_runs_its_cmd_in_a_box_and_no_build(void **state)
{
	struct t *t = t_rules(NULL);
	struct box *run = newest(t, "run"), *r;
	(void)state;

	rule_settles(t, 0, "web/a.css");
	assert_int_equal(t->st.rules.state, RULEJOB_RUNNING);
	r = newest(t, "rule");
	assert_string_equal(fake_box_cmd(r), "make css");
	/* The build's environment contract, for the rule too. */
	assert_string_equal(fake_box_env(r, "NSRELOAD_CHANGED_PATHS"), in_root(t, "web/a.css"));
	fake_box_write(r, "css built\n");
	rule_ends(t, 0);
	assert_true(r->freed);
	assert_int_equal(t->st.rules.state, RULEJOB_IDLE);
	assert_int_equal(fake_box_count(t->ctx, "build"), 1); /* the first build's only */
	assert_ptr_equal(newest(t, "run"), run);              /* the app was left alone */
	assert_int_equal(run->nsignals, 0);
	assert_int_equal(logged(t, "\"event\":\"rule_start\",\"rule\":\"css\",\"paths\":[\"web/a.css\"]"), 1);
	assert_int_equal(logged(t, "\"line\":\"css built\""), 1);
	assert_int_equal(logged(t, "\"event\":\"rule_end\",\"rule\":\"css\""), 1);
	/* A rule without a name is rule-N, N from 0, as air names it. */
	rule_settles(t, 1, "q.sql");
	assert_int_equal(logged(t, "\"rule\":\"rule-1\""), 1);
	t_free(t);
}

static void test_rules_and_builds_never_overlap_and_wait_in_order(void **state)
{
	struct t *t = t_rules(NULL);
	(void)state;

	change_settles(t, "main.go"); /* build 2 runs */
	rule_settles(t, 1, "q.sql");  /* waits */
	rule_settles(t, 0, "a.css");  /* waits, after sql */
	change_settles(t, "b.go");    /* on_busy queue: build 3, after both */
	assert_int_equal(fake_box_count(t->ctx, "rule"), 0);
	assert_int_equal(jobs_live(t), 1);
	step_ends(t, 0);
	assert_int_equal(jobs_live(t), 1);
	assert_string_equal(fake_box_cmd(newest(t, "rule")), "make sql");
	rule_settles(t, 1, "r.sql"); /* its own rule runs: it waits, after the build */
	rule_ends(t, 0);
	assert_int_equal(jobs_live(t), 1);
	assert_string_equal(fake_box_cmd(newest(t, "rule")), "make css");
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	rule_ends(t, EXIT(1)); /* a failed rule: logged, the queue goes on, the app is not touched */
	assert_int_equal(logged(t, "\"event\":\"rule_end\",\"rule\":\"css\",\"duration_ms\":"), 1);
	assert_int_equal(jobs_live(t), 1);
	assert_int_equal(fake_box_count(t->ctx, "build"), 3);
	assert_string_equal(fake_box_env(newest(t, "build"), "NSRELOAD_CHANGED_PATHS"), in_root(t, "b.go"));
	step_ends(t, 0);
	assert_string_equal(fake_box_env(newest(t, "rule"), "NSRELOAD_CHANGED_PATHS"), in_root(t, "r.sql"));
	rule_ends(t, 0);
	assert_int_equal(jobs_live(t), 0);
	assert_int_equal(fake_box_count(t->ctx, "rule"), 3);
	assert_int_equal(fake_box_count(t->ctx, "build"), 3);
	t_free(t);
}

static void test_rule_on_busy_restart_restarts_its_own_command_only(void **state)
{
	struct t *t = t_rules("on_busy = 'restart'");
	struct box *r1;
	(void)state;

	rule_settles(t, 0, "a.css");
	r1 = newest(t, "rule");
	rule_settles(t, 0, "b.css"); /* its own command: killed, started again once its box is empty */
	assert_int_equal(t->st.rules.state, RULEJOB_CANCELLING);
	assert_true(r1->killed);
	assert_int_equal(fake_box_count(t->ctx, "rule"), 1);
	update(t);
	assert_true(r1->freed);
	assert_int_equal(logged(t, "rule css cancelled"), 1);
	assert_int_equal(fake_box_count(t->ctx, "rule"), 2);
	assert_string_equal(fake_box_env(newest(t, "rule"), "NSRELOAD_CHANGED_PATHS"), in_root(t, "b.css"));
	/* A build's change does not kill a rule's command, nor another rule's: they wait. */
	change_settles(t, "main.go");
	rule_settles(t, 1, "q.sql");
	assert_false(newest(t, "rule")->killed);
	assert_int_equal(jobs_live(t), 1);
	rule_ends(t, 0);
	assert_int_equal(fake_box_count(t->ctx, "build"), 2);
	/* And a rule's change does not kill the build. */
	rule_settles(t, 0, "c.css");
	assert_false(newest(t, "build")->killed);
	step_ends(t, 0);
	assert_string_equal(fake_box_cmd(newest(t, "rule")), "make sql");
	rule_ends(t, 0);
	assert_string_equal(fake_box_env(newest(t, "rule"), "NSRELOAD_CHANGED_PATHS"), in_root(t, "c.css"));
	t_free(t);
}

static void test_rule_on_busy_do_nothing_and_signal_drop_the_change(void **state)
{
	struct t *t = t_rules("on_busy = 'do-nothing'");
	struct box *run;
	(void)state;

	rule_settles(t, 0, "a.css");
	rule_settles(t, 0, "b.css");
	change_settles(t, "main.go");
	rule_ends(t, 0);
	assert_int_equal(jobs_live(t), 0);
	assert_int_equal(fake_box_count(t->ctx, "rule"), 1);
	assert_int_equal(fake_box_count(t->ctx, "build"), 1);
	t_free(t);

	t = t_rules("on_busy = 'signal'");
	run = newest(t, "run");
	change_settles(t, "main.go");
	rule_settles(t, 0, "a.css");
	assert_int_equal(run->nsignals, 1);
	step_ends(t, 0);
	assert_int_equal(fake_box_count(t->ctx, "rule"), 0);
	t_free(t);
}

static void test_quit_cancels_a_rule_and_what_waits(void **state)
{
	struct t *t = t_rules(NULL);
	struct box *r;
	(void)state;

	rule_settles(t, 0, "a.css");
	rule_settles(t, 1, "q.sql");
	r = newest(t, "rule");
	reload_rule_change(&t->st, 1, "later.sql"); /* its debounce still runs */
	reload_quit(&t->st);
	assert_true(r->killed);
	assert_false(timer_armed(t->st.rules.timer_fd));
	update(t);
	assert_true(r->freed);
	assert_int_equal(logged(t, "rule css cancelled"), 1);
	assert_false(reload_done(&t->st)); /* the app stops next */
	fake_box_exit(newest(t, "run"), SIGTERM);
	update(t);
	assert_true(reload_done(&t->st));
	assert_int_equal(fake_box_live(t->ctx), 0);
	assert_int_equal(fake_box_count(t->ctx, "rule"), 1); /* the sql rule never ran */
	t_free(t);
}

static void test_rule_debounce_is_per_rule_and_trailing(void **state)
{
	struct t *t = t_running(NULL, "[[build.rules]]\ncmd = 'a'\ninclude_ext = ['css']\ndelay = 5000\n"
				      "[[build.rules]]\ncmd = 'b'\ninclude_ext = ['sql']\ndelay = 200\n");
	long long left;
	(void)state;

	reload_rule_change(&t->st, 0, "a.css");
	left = timer_left_ms(t->st.rules.timer_fd);
	assert_true(left > 4000 && left <= 5000);
	reload_rule_change(&t->st, 1, "q.sql"); /* the earliest deadline wins */
	left = timer_left_ms(t->st.rules.timer_fd);
	assert_true(left > 0 && left <= 200);
	reload_rules_timer(&t->st); /* too early for both: nothing */
	assert_int_equal(fake_box_count(t->ctx, "rule"), 0);
	assert_true(timer_armed(t->st.rules.timer_fd));
	t_free(t);

	/* In an .air.toml, delay 0 is air's default, 1000 ms: Go cannot tell 0 from unset (rule_test.go:25).
	 */
	t = t_running(NULL, TWO_RULES);
	assert_true(t->c.from_air);
	reload_rule_change(&t->st, 0, "a.css");
	left = timer_left_ms(t->st.rules.timer_fd);
	assert_true(left > 500 && left <= 1000);
	t_free(t);
}

/*
 * Spare boxes (spare.h), as the loop turns them on: after a wake-up a build box and a run box wait,
 * empty and never spawned, with the limits of their kind; the next build step and the next app take
 * them; a box that emptied is freed at the end of the wake-up; quitting frees the spares and makes
 * no more.
 */
static void test_spare_boxes_wait_and_are_taken_and_freed_on_quit(void **state)
{
	struct t *t = t_new("[box]\npids_max = 32", NULL);
	struct box *b1, *sb, *sr, *run, *old;
	(void)state;

	t->st.spares.on = true;
	reload_start(&t->st);
	b1 = newest(t, "build");
	assert_null(t->st.spares.box[SPARE_BUILD]); /* none before the wake-up ends */
	update(t);
	sb = t->st.spares.box[SPARE_BUILD];
	sr = t->st.spares.box[SPARE_RUN];
	assert_non_null(sb);
	assert_non_null(sr);
	assert_false(sb->spawned);
	assert_false(sr->spawned);
	assert_int_equal(sr->lim.pids_max, 32);
	assert_int_equal(sb->lim.pids_max, 0); /* no box.limit_builds */
	assert_int_equal(logged(t, "\"event\":\"box_spare\",\"kind\":\"run\""), 1);

	/* The build ends: the app starts in the spare run box; the build's box is freed after. */
	fake_box_exit(b1, 0); /* newest(t, "build") would be the spare */
	update(t);
	assert_int_equal(t->st.app.state, APP_RUNNING);
	assert_ptr_equal(t->st.app.box, sr);
	assert_true(sr->spawned);
	assert_true(b1->freed);
	assert_true(b1->free_seq > sr->new_seq);
	assert_non_null(t->st.spares.box[SPARE_RUN]); /* the next one */
	assert_ptr_equal(t->st.spares.box[SPARE_BUILD], sb);

	/* A change: the build runs in the spare build box, the new app in the next spare run box. */
	run = t->st.spares.box[SPARE_RUN];
	old = t->st.app.box;
	change_settles(t, "a.go");
	assert_ptr_equal(t->st.build.job.box, sb);
	assert_true(sb->spawned);
	fake_box_exit(sb, 0);
	update(t);
	assert_int_equal(t->st.app.state, APP_RESTARTING);
	fake_box_exit(old, SIGTERM);
	update(t);
	assert_ptr_equal(t->st.app.box, run);
	assert_true(run->spawned);
	assert_true(old->freed);

	/* Quit: the spares go at once, none is made after, and nothing is left at the end. */
	reload_quit(&t->st);
	assert_null(t->st.spares.box[SPARE_BUILD]);
	assert_null(t->st.spares.box[SPARE_RUN]);
	update(t);
	assert_null(t->st.spares.box[SPARE_RUN]);
	fake_box_exit(run, SIGTERM);
	update(t);
	assert_true(reload_done(&t->st));
	assert_int_equal(fake_box_live(t->ctx), 0);
	for (struct box *b = t->ctx->boxes; b; b = b->next)
		assert_false(b->killed && !b->spawned); /* no spare ever held or was killed for a process */
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_build_starts_the_app),
		cmocka_unit_test(test_the_app_gets_the_limits_and_an_oom_kill_is_reported),
		cmocka_unit_test(test_limit_builds_limits_the_builds_too),
		cmocka_unit_test(test_steps_run_in_order_and_a_failing_one_ends_the_build),
		cmocka_unit_test(test_a_step_that_leaves_a_process_is_over_when_its_box_is_empty),
		cmocka_unit_test(test_a_step_that_cannot_start_is_a_failed_build),
		cmocka_unit_test(test_debounce_is_trailing_and_collects_each_path_once),
		cmocka_unit_test(test_debounce_zero_fires_at_once),
		cmocka_unit_test(test_debounce_window_grows_with_the_burst),
		cmocka_unit_test(test_debounce_in_a_burst_waits_as_long_as_it_has_lasted),
		cmocka_unit_test(test_rebuild_key_builds_without_a_change),
		cmocka_unit_test(test_root_gone_holds_the_changes_until_it_is_back),
		cmocka_unit_test(test_a_long_list_of_changes_goes_through_a_file),
		cmocka_unit_test(test_on_busy_queue_builds_once_more_with_every_path),
		cmocka_unit_test(test_on_busy_restart_cancels_and_starts_once_the_box_is_empty),
		cmocka_unit_test(test_on_busy_do_nothing_drops_the_paths),
		cmocka_unit_test(test_on_busy_signal_signals_the_app_and_queues_nothing),
		cmocka_unit_test(test_restart_waits_until_the_old_box_is_empty),
		cmocka_unit_test(test_stop_scope_main_kills_the_rest_when_the_main_process_exits),
		cmocka_unit_test(test_restart_kills_the_box_after_the_stop_timeout),
		cmocka_unit_test(test_a_build_that_succeeds_while_the_app_stops_confirms_the_start),
		cmocka_unit_test(test_a_failed_build_keeps_the_app_and_writes_the_build_log),
		cmocka_unit_test(test_a_failed_build_with_stop_on_error_stops_the_app),
		cmocka_unit_test(test_a_build_whose_bin_is_missing_does_not_restart),
		cmocka_unit_test(test_rerun_starts_the_app_again_after_the_delay),
		cmocka_unit_test(test_without_rerun_the_app_stays_down_until_a_build),
		cmocka_unit_test(test_an_app_we_stopped_is_not_rerun),
		cmocka_unit_test(test_a_build_during_the_rerun_wait_starts_the_app_at_once),
		cmocka_unit_test(test_quit_during_a_build),
		cmocka_unit_test(test_quit_while_the_app_restarts_does_not_start_it),
		cmocka_unit_test(test_a_second_quit_kills_every_box),
		cmocka_unit_test(test_a_second_quit_starts_no_further_post_cmd),
		cmocka_unit_test(test_quit_with_nothing_running_is_done_at_once),
		cmocka_unit_test(test_a_rule_runs_its_cmd_in_a_box_and_no_build),
		cmocka_unit_test(test_rules_and_builds_never_overlap_and_wait_in_order),
		cmocka_unit_test(test_rule_on_busy_restart_restarts_its_own_command_only),
		cmocka_unit_test(test_rule_on_busy_do_nothing_and_signal_drop_the_change),
		cmocka_unit_test(test_quit_cancels_a_rule_and_what_waits),
		cmocka_unit_test(test_rule_debounce_is_per_rule_and_trailing),
		cmocka_unit_test(test_spare_boxes_wait_and_are_taken_and_freed_on_quit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
