/* A command in its box, its output read line by line (job.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "files.h"
#include "job.h"
#include "log.h"
#include "reload.h"

/* How much of a job's output is kept for build-errors.log. */
#define CAPTURE_MAX (256 * 1024)

void reload_box_limits(const struct config *c, bool app, struct box_limits *out)
{
	*out = (struct box_limits){ 0 };
	if (!app && !c->box.limit_builds)
		return;
	out->memory_max = c->box.memory_max;
	out->pids_max = c->box.pids_max;
	out->cpu_quota_us = config_cpu_quota_us(c->box.cpu_max);
	out->cpu_period_us = config_cpu_period_us(c->box.cpu_max);
}

void reload_limit_events(struct reload *st, struct box *b, const char *who, int ev)
{
	struct box_limit_report rep;

	if (ev < 0 || !(ev & (BOX_EV_OOM | BOX_EV_PIDS_MAX)) || box_limit_report(b, &rep) < 0)
		return;
	log_limit(st->log, who, box_main_pid(b), (unsigned)ev, &rep);
}

void reload_box_free(struct reload *st, struct box **bp)
{
	struct pollfd fds[BOX_MAX_FDS];
	char dir[PATH_MAX + 64];
	int n, r;

	if (!*bp)
		return;
	n = box_fds(*bp, fds);
	for (int i = 0; i < n; i++)
		(void)epoll_ctl(st->ep, EPOLL_CTL_DEL, fds[i].fd, NULL);
	snprintf(dir, sizeof(dir), "%s", box_cgroup_path(*bp) ? box_cgroup_path(*bp) : "");
	r = box_free(*bp);
	if (r < 0 && dir[0])
		log_msg(st->log, LOG_MAIN,
			"cannot remove the box's cgroup %s: %s, still after retries for about a second. "
			"nsreload goes on; the directory is left behind, and the next nsreload start with "
			"this cgroup parent removes it",
			dir, strerror(-r));
	else if (r < 0)
		log_msg(st->log, LOG_MAIN, "a box could not be emptied: %s", strerror(-r));
	*bp = NULL;
}

const char *spawn_why(const struct box *b, int r, char *buf, size_t size)
{
	enum box_spawn_stage stage = box_spawn_stage(b);
	char err[256];

	explain_errno(-r, err, sizeof(err));
	if (stage == BOX_SPAWN_EXEC || stage == BOX_SPAWN_NONE)
		snprintf(buf, size, "%s", err);
	else
		snprintf(buf, size, "the box could not %s (%s rung): %s", box_spawn_stage_what(stage),
			 box_rung_name(box_rung_of(b)), err);
	return buf;
}

static void job_capture(struct job *j, const char *s, size_t len)
{
	char *p;
	if (j->capture_len + len > CAPTURE_MAX)
		return;
	p = realloc(j->capture, j->capture_len + len + 1);
	if (!p)
		return;
	memcpy(p + j->capture_len, s, len);
	j->capture_len += len;
	p[j->capture_len] = '\0';
	j->capture = p;
}

static void job_emit_line(struct reload *st, struct job *j)
{
	log_output(st->log, LOG_BUILD, j->line, j->line_len);
	j->line_len = 0;
}

void job_read_output(struct reload *st, struct job *j)
{
	char buf[8192];

	while (j->out_fd >= 0) {
		ssize_t n = read(j->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (j->line_len)
				job_emit_line(st, j);
			close(j->out_fd); /* leaves the epoll set with it */
			j->out_fd = -1;
			return;
		}
		job_capture(j, buf, (size_t)n);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || j->line_len == sizeof(j->line)) {
				job_emit_line(st, j);
				if (buf[i] == '\n')
					continue;
			}
			j->line[j->line_len++] = buf[i];
		}
	}
}

void job_reset(struct reload *st, struct job *j)
{
	if (j->out_fd >= 0) {
		close(j->out_fd);
		j->out_fd = -1;
	}
	/* Emptied: removed at the end of the wake-up, after what follows it was started (spare.h). */
	spare_retire(st, &j->box);
	free(j->capture);
	j->capture = NULL;
	j->capture_len = 0;
	j->line_len = 0;
}

int job_start(struct reload *st, struct job *j, const char *kind, const char *cmd, char **envp, char *why,
	      size_t why_size)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	struct box_limits lim;
	int pfd[2], r;

	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	j->kind = kind;
	reload_box_limits(st->c, false, &lim);
	/* A build step takes the box made for it while idle (spare.h); others make theirs. */
	r = strcmp(kind, "build") == 0 ? spare_take(st, SPARE_BUILD, &j->box)
				       : box_new_limited(st->ctx, kind, &lim, &j->box);
	if (r < 0)
		goto fail;
	r = box_spawn(j->box, &(struct box_spawn){ .argv = argv,
						   .envp = envp,
						   .cwd = NULL, /* where nsreload runs, as air */
						   .stdin_fd = st->devnull,
						   .stdout_fd = pfd[1],
						   .stderr_fd = pfd[1],
						   .tty_fd = -1 });
	if (r < 0) {
		spawn_why(j->box, r, why, why_size);
		goto fail;
	}
	close(pfd[1]);
	j->out_fd = pfd[0];
	if ((r = reload_epoll_add(st->ep, j->out_fd, j->tag)) < 0 ||
	    (r = box_epoll_add(j->box, st->ep, TAG_BOX)) < 0)
		return r; /* the job is live: the caller's reset cleans it */
	return 0;
fail:
	close(pfd[0]);
	close(pfd[1]);
	reload_box_free(st, &j->box);
	return r;
}

bool job_update(struct reload *st, struct job *j, int *status)
{
	int ev;

	if (!j->box)
		return false;
	ev = box_process(j->box);
	if (ev < 0) {
		log_msg(st->log, LOG_MAIN, "box: %s", strerror(-ev));
		return false;
	}
	reload_limit_events(st, j->box, j->kind ? j->kind : "job", ev);
	if ((ev & BOX_EV_MAIN_EXITED) && !box_is_empty(j->box))
		(void)box_kill(j->box);
	if (!box_is_empty(j->box) || !box_main_exited(j->box))
		return false;
	job_read_output(st, j);
	*status = box_main_status(j->box);
	return true;
}
