/* The build: its steps, each in a box, and how it ends (build.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "box.h"
#include "build.h"
#include "config.h"
#include "env.h"
#include "files.h"
#include "log.h"
#include "reload.h"

/* Said after a failed build while an app runs. */
static const char *old_run_serves(const struct reload *st)
{
	return st->app.box ? "; the old run keeps serving" : "";
}

static const char *step_cmd(const struct reload *st, size_t step)
{
	return step < st->c->build.pre_cmd.n ? st->c->build.pre_cmd.v[step] : st->c->build.cmd;
}

/*
 * True when the app is build.bin (no full_bin, no entrypoint) given as a path
 * and that file is not there after a build: *path gets it. bin is one path
 * relative to the directory nsreload runs in, as air reads it
 * (config_app_argv): not to root, and not cut at a space.
 */
static bool app_missing(const struct reload *st, char *path, size_t size)
{
	const char *bin = st->c->build.bin;
	struct stat sb;

	if (st->c->build.full_bin[0] || st->c->build.entrypoint.n || !strchr(bin, '/'))
		return false;
	snprintf(path, size, "%s", bin);
	return stat(bin, &sb) < 0 && errno == ENOENT;
}

/* 'F' to the front: the build's output (its last FRONTCTL_OUTPUT_MAX bytes), or why when it has none. */
static void front_failed(struct reload *st, const char *why)
{
	const char *out = st->build.job.capture;
	size_t n = st->build.job.capture_len;

	if (why || !out || !n) {
		out = why ? why : "the build failed without output";
		n = strlen(out);
	}
	frontctl_send(&st->front, 'F', out, n);
}

/* The messages of a build that was not cancelled, and its outcome. */
static enum build_outcome build_judge(struct reload *st, int status)
{
	const char *cmd = step_cmd(st, st->build.step);
	char missing[PATH_MAX];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;

	log_build_end(st->log, (box_now_ns() - st->build.start_ns) / 1000000, status);
	if (status == 0 && app_missing(st, missing, sizeof(missing))) {
		/* Restarting would stop a working app for one that cannot start: no restart. */
		log_msg(st->log, LOG_MAIN,
			"the build succeeded but %s does not exist: build.cmd must write it (build.bin = "
			"'%s')%s",
			missing, st->c->build.bin, old_run_serves(st));
		front_failed(st, "the build succeeded but build.bin does not exist");
		return BUILD_BIN_MISSING;
	}
	if (code == 127 || code == 126)
		log_msg(st->log, LOG_MAIN,
			"'%s' exited with %d: the shell %s (its message is above); fix build.cmd or PATH%s",
			cmd, code, code == 127 ? "did not find the command" : "could not execute it",
			old_run_serves(st));
	if (status == 0) {
		frontctl_send(&st->front, 'O', NULL, 0);
		return BUILD_SUCCEEDED;
	}
	build_log_append(st->c, st->log, cmd, status, st->build.job.capture, st->build.job.capture_len);
	front_failed(st, NULL);
	return BUILD_FAILED;
}

/* BUILD_RUNNING or BUILD_CANCELLING -> BUILD_IDLE, then the machine decides what follows. */
static void build_end(struct reload *st, int status)
{
	enum build_outcome how = BUILD_CANCELLED;

	if (st->build.state == BUILD_CANCELLING)
		log_msg(st->log, LOG_BUILD, "build cancelled");
	else
		how = build_judge(st, status);
	job_reset(st, &st->build.job);
	st->build.state = BUILD_IDLE;
	paths_free(st->build.paths, st->build.npaths);
	st->build.paths = NULL;
	st->build.npaths = 0;
	safefs_file_remove(&st->build.changed_file);
	reload_build_ended(st, how);
}

/* Starts cmd as the current step; -1 after ending the build when it cannot start. */
static int step_start(struct reload *st, const char *cmd)
{
	char *extra[1] = { NULL }, **envp = NULL, why[512] = "";
	int r;

	r = changed_env_entry(st->c, st->log, st->build.paths, st->build.npaths, &st->build.changed_file,
			      &extra[0]);
	if (r < 0) {
		log_msg(st->log, LOG_BUILD, "build skipped: '%s' would not know what changed%s", cmd,
			old_run_serves(st));
		build_end(st, W_EXITCODE(125, 0));
		return -1;
	}
	r = envp_make(st->c, st->log, extra, 1, &envp);
	if (r == 0)
		r = job_start(st, &st->build.job, "build", cmd, envp, why, sizeof(why));
	free(extra[0]);
	envp_free(envp);
	if (r < 0) {
		log_msg(st->log, LOG_BUILD, "cannot start '%s': %s%s", cmd,
			why[0] ? why : explain_errno(-r, why, sizeof(why)), old_run_serves(st));
		build_end(st, W_EXITCODE(125, 0));
		return -1;
	}
	return 0;
}

/* BUILD_RUNNING: starts the current step, skipping empty ones; ends the build when none is left. */
static void build_next_step(struct reload *st)
{
	for (; st->build.step <= st->c->build.pre_cmd.n; st->build.step++) {
		const char *cmd = step_cmd(st, st->build.step);
		if (cmd && cmd[0]) {
			(void)step_start(st, cmd);
			return;
		}
	}
	st->build.step = st->c->build.pre_cmd.n;
	build_end(st, 0);
}

void build_begin(struct reload *st)
{
	if (st->build.state != BUILD_IDLE || reload_quitting(st))
		return;
	st->build.state = BUILD_RUNNING;
	st->build.step = 0;
	st->build.paths = pathset_take(&st->changed, &st->build.npaths);
	st->build.start_ns = box_now_ns();
	log_build_start(st->log, st->build.npaths);
	frontctl_send(&st->front, 'B', NULL, 0);
	build_next_step(st);
}

void build_cancel(struct reload *st)
{
	if (st->build.state == BUILD_IDLE || !st->build.job.box)
		return;
	st->build.state = BUILD_CANCELLING;
	(void)box_kill(st->build.job.box);
}

void build_update(struct reload *st)
{
	int status;

	if (!job_update(st, &st->build.job, &status))
		return;
	if (st->build.state == BUILD_CANCELLING || status != 0) {
		build_end(st, status);
		return;
	}
	/* The next step gets a fresh box and a fresh capture. */
	job_reset(st, &st->build.job);
	st->build.step++;
	build_next_step(st);
}

void build_free(struct reload *st)
{
	job_reset(st, &st->build.job);
	paths_free(st->build.paths, st->build.npaths);
	st->build.paths = NULL;
	st->build.npaths = 0;
	safefs_file_remove(&st->build.changed_file);
}
