/* The exit sequence: post_cmd, then the app stopped, then every box gone (quit.h). */
#include <string.h>

#include "app.h"
#include "box.h"
#include "config.h"
#include "env.h"
#include "log.h"
#include "quit.h"
#include "reload.h"

/*
 * QUIT_POST_CMD: starts the next post_cmd; after the last, QUIT_STOPPING, and the app is stopped. After
 * quit_force() none is started: the one it killed ending must not start the next.
 */
static void post_next(struct reload *st)
{
	if (st->quit.forced)
		st->quit.step = st->c->build.post_cmd.n;
	while (st->quit.step < st->c->build.post_cmd.n) {
		const char *cmd = st->c->build.post_cmd.v[st->quit.step++];
		char **envp = NULL, why[512] = "";
		int r;
		if (!cmd || !cmd[0])
			continue;
		r = envp_make(st->c, st->log, NULL, 0, &envp);
		if (r == 0)
			r = job_start(st, &st->quit.post, "post", cmd, envp, why, sizeof(why));
		envp_free(envp);
		if (r == 0)
			return;
		log_msg(st->log, LOG_MAIN, "cannot start post_cmd '%s': %s", cmd,
			why[0] ? why : strerror(-r));
		job_reset(st, &st->quit.post);
	}
	st->quit.state = QUIT_STOPPING;
	/* post_cmd runs before the app is stopped, as in air. */
	app_stop(st);
}

void quit_begin(struct reload *st)
{
	if (st->quit.state != QUIT_NONE)
		return;
	st->quit.state = QUIT_POST_CMD;
	app_keep_down(st);
	st->build.queued = false;
	st->debounce = DEBOUNCE_IDLE;
	timer_disarm(st->debounce_fd);
	log_msg(st->log, LOG_MAIN, "cleaning up...");
	build_cancel(st);
	rulejob_quit(st);
	/* Nothing will be started any more: no box is kept ready. */
	spare_free(st);
	post_next(st);
}

void quit_force(struct reload *st)
{
	/* A third request finds everything being killed already. */
	if (st->quit.forced)
		return;
	st->quit.forced = true;
	if (st->app.box)
		log_msg(st->log, LOG_MAIN,
			"killed pid %d (the app) and every box at once after a second quit request",
			(int)st->app.pid);
	else
		log_msg(st->log, LOG_MAIN, "killed every box at once after a second quit request");
	if (st->quit.post.box)
		(void)box_kill(st->quit.post.box);
	app_kill(st);
	if (st->build.job.box)
		(void)box_kill(st->build.job.box);
	if (st->rules.job.box)
		(void)box_kill(st->rules.job.box);
}

void post_update(struct reload *st)
{
	int status;

	if (!job_update(st, &st->quit.post, &status))
		return;
	if (status != 0) {
		char how[64];
		log_describe_status(status, how, sizeof(how));
		log_msg(st->log, LOG_MAIN, "post_cmd failed: %s", how);
	}
	job_reset(st, &st->quit.post);
	post_next(st);
}

void quit_update(struct reload *st)
{
	if (st->quit.state == QUIT_STOPPING && !st->quit.post.box && !st->app.box && !st->build.job.box &&
	    !st->rules.job.box)
		st->quit.state = QUIT_DONE;
}

void quit_free(struct reload *st)
{
	job_reset(st, &st->quit.post);
}
