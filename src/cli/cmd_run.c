/*
 * nsreload run: watch, build in a box, restart in a box.
 *
 * One thread and one epoll set hold the watcher's inotify fd, a signalfd,
 * the debounce and rerun timerfds, every box's fds, the build output pipes
 * and (for keys) stdin. Nothing polls or sleeps: with nothing changing, the
 * process does not wake up.
 *
 * The order that makes ports reusable: a restart stops the old run's box and
 * waits until the box reports it is EMPTY; only then is the new run spawned.
 * Builds run one at a time, each pre_cmd and cmd in a box of its own, while
 * the old run keeps serving.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"
#include "cmds.h"
#include "config.h"
#include "dotenv.h"
#include "filter.h"
#include "log.h"
#include "safefs.h"
#include "util.h"
#include "watch.h"

extern char **environ;

/* Larger change lists go through a file: the environment has a per-string limit of 128 KiB. */
#define CHANGED_ENV_MAX (64 * 1024)
/* How much of a build's output is kept for build-errors.log. */
#define CAPTURE_MAX  (256 * 1024)
#define LINE_MAX_LEN 4096
/*
 * What nsreload needs open at once at its peak: the loop's own fds, the
 * watcher's, and a build, a run and a post_cmd box being spawned. Below it,
 * start-up fails with a message rather than builds failing at random later.
 */
#define MIN_OPEN_FILES 32

enum ep_tag {
	TAG_SIGNAL = 1,
	TAG_WATCH,
	TAG_DEBOUNCE,
	TAG_RERUN,
	TAG_STDIN,
	TAG_BUILD_OUT,
	TAG_POST_OUT,
	TAG_BOX
};

struct run_opts {
	int color_mode; /* -1: from the configuration */
	enum log_format format;
	bool no_vcs_ignore;
	bool stdin_to_app;
};

/* The paths changed since the last build, in arrival order, each once. */
struct pathset {
	char **v;
	size_t n, cap;
	size_t *slot; /* open addressing: index + 1, 0 empty */
	size_t nslots;
};

/* A command in its box whose output is streamed line by line (build steps, post_cmd). */
struct job {
	struct box *box;
	int out_fd;
	enum ep_tag tag;
	char line[LINE_MAX_LEN];
	size_t line_len;
	char *capture; /* the output, kept for build-errors.log */
	size_t capture_len;
	bool cancelled; /* killed on purpose: its status means nothing */
};

struct reload {
	struct config *c;
	const struct run_opts *o;
	struct log *log;
	struct box_ctx *ctx;
	struct filter *filter;
	struct watch *watch;
	int ep, sigfd, debounce_fd, rerun_fd, devnull;
	bool stdin_keys;
	char keys[64];
	size_t keys_len;

	struct pathset changed;
	bool change_pending; /* the debounce timer is armed or a change awaits a build */
	bool overflowed;     /* events were lost since the last build */

	/* The build: steps 0..pre_cmd.n-1 are pre_cmd, step pre_cmd.n is cmd. */
	struct job build;
	size_t build_step;
	bool building;
	bool build_queued;
	uint64_t build_start_ns;
	char **build_paths; /* what this build was told changed */
	size_t build_npaths;
	struct safefs_file changed_file; /* NSRELOAD_CHANGED_FILE of this build, removed after it */

	struct box *run;
	pid_t run_pid;
	bool run_stopping; /* we asked it to stop */
	bool run_wanted;   /* spawn a run as soon as the old box is empty */
	bool have_good_build;

	bool root_gone; /* the watched root was deleted: no builds until it is back */
	char *cwd;      /* where we started: re-entered when the root is back (. was the old inode) */

	bool quitting;
	struct job post;
	size_t post_step;
	bool post_done;
	unsigned quit_requests;
	int exit_code;
};

/* ---- small helpers ---------------------------------------------------------------------------- */

static int epoll_add_tag(int ep, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/* Frees a box, taking its fds out of our epoll set first so that no stale registration survives. */
static void release_box(struct reload *st, struct box **bp)
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

static int arm_timer_ms(int fd, unsigned long long ms)
{
	/* A zero it_value disarms a timerfd; one nanosecond means "now" and keeps the event path single. */
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ms / 1000),
						.tv_nsec = ms ? (long)(ms % 1000) * 1000000L : 1 } };
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void disarm_timer(int fd)
{
	struct itimerspec its = { 0 };
	(void)timerfd_settime(fd, 0, &its, NULL);
}

static char *path_under_root(const struct config *c, const char *rel)
{
	char *p = NULL;
	if (rel[0] == '/' || !c->root[0] || strcmp(c->root, ".") == 0)
		return strdup(rel);
	if (asprintf(&p, "%s/%s", c->root, rel) < 0)
		return NULL;
	return p;
}

/*
 * strerror(err) plus what to do about the errors a user can fix: out of file
 * descriptors, a full disk. Returns buf.
 */
static const char *explain_errno(int err, char *buf, size_t size)
{
	struct rlimit rl = { 0 };

	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		snprintf(buf, size,
			 "%s: out of file descriptors (ulimit -n is %llu); raise it with 'ulimit -n 4096' "
			 "before starting nsreload",
			 strerror(err), (unsigned long long)rl.rlim_cur);
	else if (err == ENFILE)
		snprintf(buf, size, "%s: the whole system is out of file descriptors (fs.file-max)",
			 strerror(err));
	else if (err == ENOSPC || err == EDQUOT)
		snprintf(buf, size, "%s: its file system is full; free some space there", strerror(err));
	else
		snprintf(buf, size, "%s", strerror(err));
	return buf;
}

/* ---- the set of changed paths ---------------------------------------------------------------- */

static size_t hash_path(const char *s)
{
	return (size_t)hash_fnv1a(HASH_FNV_INIT, s, strlen(s));
}

static int pathset_grow_slots(struct pathset *ps)
{
	size_t nslots = ps->nslots ? ps->nslots * 2 : 64;
	size_t *slot = calloc(nslots, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < ps->n; i++) {
		size_t j = hash_path(ps->v[i]) & (nslots - 1);
		while (slot[j])
			j = (j + 1) & (nslots - 1);
		slot[j] = i + 1;
	}
	free(ps->slot);
	ps->slot = slot;
	ps->nslots = nslots;
	return 0;
}

static int pathset_add(struct pathset *ps, const char *path)
{
	size_t j;
	int r;

	if ((ps->n + 1) * 2 > ps->nslots && (r = pathset_grow_slots(ps)) < 0)
		return r;
	j = hash_path(path) & (ps->nslots - 1);
	for (; ps->slot[j]; j = (j + 1) & (ps->nslots - 1))
		if (strcmp(ps->v[ps->slot[j] - 1], path) == 0)
			return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		char **v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	if (!(ps->v[ps->n] = strdup(path)))
		return -ENOMEM;
	ps->slot[j] = ++ps->n;
	return 0;
}

/* Hands the paths over (the caller frees each and the array) and empties the set. */
static char **pathset_take(struct pathset *ps, size_t *n)
{
	char **v = ps->v;

	*n = ps->n;
	free(ps->slot);
	*ps = (struct pathset){ 0 };
	return v;
}

static void paths_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void pathset_clear(struct pathset *ps)
{
	paths_free(ps->v, ps->n);
	free(ps->slot);
	*ps = (struct pathset){ 0 };
}

/* ---- environments ---------------------------------------------------------------------------- */

/*
 * The environment of a build or run: ours, then env_files (read fresh each
 * time, so that a key removed from a file is gone next time), then the
 * extra "KEY=VALUE" entries, which replace any inherited entry of that key.
 */
static int make_envp(struct reload *st, char *const *extra, size_t nextra, char ***out)
{
	struct dotenv d = { 0 };
	char **base = NULL, **envp;
	size_t nbase = 0, n = 0;
	int r;

	for (size_t i = 0; i < st->c->env_files.n; i++) {
		char err[512] = "";
		char *p = path_under_root(st->c, st->c->env_files.v[i]);
		if (!p) {
			dotenv_free(&d);
			return -ENOMEM;
		}
		r = dotenv_load_file(p, &d, err, sizeof(err));
		if (r == -ENOENT)
			log_msg(st->log, LOG_MAIN, "env file %s does not exist; skipped", p);
		else if (r < 0)
			log_msg(st->log, LOG_MAIN, "env file %s: %s", p, err[0] ? err : strerror(-r));
		free(p);
	}
	r = dotenv_envp(environ, &d, &base);
	dotenv_free(&d);
	if (r < 0)
		return r;
	while (base[nbase])
		nbase++;
	envp = calloc(nbase + nextra + 1, sizeof(*envp));
	if (!envp) {
		dotenv_envp_free(base);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nbase; i++) {
		bool replaced = false;
		for (size_t k = 0; k < nextra && !replaced; k++) {
			size_t klen = strcspn(extra[k], "=") + 1;
			replaced = strncmp(base[i], extra[k], klen) == 0;
		}
		if (replaced) {
			free(base[i]);
			continue;
		}
		envp[n++] = base[i];
	}
	for (size_t k = 0; k < nextra; k++) {
		if (!(envp[n] = strdup(extra[k]))) {
			free(base);
			dotenv_envp_free(envp);
			return -ENOMEM;
		}
		n++;
	}
	envp[n] = NULL;
	/* The strings now belong to envp; only base's array goes. */
	free(base);
	*out = envp;
	return 0;
}

static void envp_free(char **envp)
{
	strv_free(envp);
}

/* ---- jobs: a command in a box, its output streamed ---------------------------------------- */

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

/* Reads what the job wrote; on end of file (or when drain and nothing is left) closes the pipe. */
static void job_read_output(struct reload *st, struct job *j)
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

static void job_reset(struct reload *st, struct job *j)
{
	if (j->out_fd >= 0) {
		close(j->out_fd);
		j->out_fd = -1;
	}
	release_box(st, &j->box);
	free(j->capture);
	j->capture = NULL;
	j->capture_len = 0;
	j->line_len = 0;
	j->cancelled = false;
}

/*
 * Why box_spawn() of b failed with r, for a log line. A failure before the
 * exec is the box's, not the command's: name the step, never "not found".
 */
static const char *spawn_why(const struct box *b, int r, char *buf, size_t size)
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

/*
 * Starts /bin/sh -c cmd in a new box with its output into a pipe we read. When
 * the spawn itself fails, why says which step did.
 */
static int job_start(struct reload *st, struct job *j, const char *kind, const char *cmd, char **envp,
		     char *why, size_t why_size)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	int pfd[2], r;

	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	r = box_new(st->ctx, kind, &j->box);
	if (r < 0)
		goto fail;
	r = box_spawn(j->box, &(struct box_spawn){ .argv = argv,
						   .envp = envp,
						   .cwd = st->c->root,
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
	if ((r = epoll_add_tag(st->ep, j->out_fd, EPOLLIN, j->tag)) < 0 ||
	    (r = box_epoll_add(j->box, st->ep, TAG_BOX)) < 0)
		return r; /* the job is live: the caller's reset cleans it */
	return 0;
fail:
	close(pfd[0]);
	close(pfd[1]);
	release_box(st, &j->box);
	return r;
}

/*
 * Brings a job's box up to date. A command that ends takes whatever it left
 * in the background with it. Returns true once the box is empty and the
 * output read: the job is over and *status holds its wait status.
 */
static bool job_update(struct reload *st, struct job *j, int *status)
{
	int ev;

	if (!j->box)
		return false;
	ev = box_process(j->box);
	if (ev < 0) {
		log_msg(st->log, LOG_MAIN, "box: %s", strerror(-ev));
		return false;
	}
	if ((ev & BOX_EV_MAIN_EXITED) && !box_is_empty(j->box))
		(void)box_kill(j->box);
	if (!box_is_empty(j->box) || !box_main_exited(j->box))
		return false;
	job_read_output(st, j);
	*status = box_main_status(j->box);
	return true;
}

/* ---- runs ---------------------------------------------------------------------------------------- */

static int spawn_run(struct reload *st)
{
	char **argv = NULL, **envp = NULL, why[512];
	int r;

	st->run_wanted = false;
	r = config_app_argv(st->c, &argv);
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "nothing to run: %s",
			r == -ENOENT ? "no bin, entrypoint or full_bin" : strerror(-r));
		return r;
	}
	r = make_envp(st, NULL, 0, &envp);
	if (r < 0)
		goto out;
	r = box_new(st->ctx, "run", &st->run);
	if (r < 0) {
		log_msg(st->log, LOG_MAIN,
			"cannot create a box for the app: %s; nothing runs until the next build",
			explain_errno(-r, why, sizeof(why)));
		goto out;
	}
	r = box_spawn(st->run, &(struct box_spawn){ .argv = argv,
						    .envp = envp,
						    .cwd = st->c->root,
						    .stdin_fd = st->o->stdin_to_app ? -1 : st->devnull,
						    .stdout_fd = -1,
						    .stderr_fd = -1,
						    .tty_fd = -1 });
	if (r < 0) {
		log_msg(st->log, LOG_RUNNER, "cannot start %s: %s; nothing runs until the next build",
			argv[0], spawn_why(st->run, r, why, sizeof(why)));
		release_box(st, &st->run);
		goto out;
	}
	st->run_stopping = false;
	st->run_pid = box_main_pid(st->run);
	log_run_start(st->log, st->run_pid, box_rung_name(box_rung_of(st->run)));
	r = box_epoll_add(st->run, st->ep, TAG_BOX);
out:
	envp_free(envp);
	config_argv_free(argv);
	return r;
}

static void stop_run(struct reload *st)
{
	int r;

	if (!st->run || st->run_stopping)
		return;
	st->run_stopping = true;
	r = box_stop(st->run, st->c->box.stop_signal, (unsigned)st->c->box.stop_timeout_ms);
	if (r < 0 && r != -ESRCH)
		(void)box_kill(st->run);
}

/* The new run starts once the old box is empty (see run_update). */
static void restart_run(struct reload *st)
{
	disarm_timer(st->rerun_fd);
	if (st->quitting)
		return;
	if (!st->run) {
		(void)spawn_run(st);
		return;
	}
	st->run_wanted = true;
	stop_run(st);
}

static void run_update(struct reload *st)
{
	int ev;

	if (!st->run)
		return;
	ev = box_process(st->run);
	if (ev < 0) {
		log_msg(st->log, LOG_MAIN, "run box: %s", strerror(-ev));
		return;
	}
	if (ev & BOX_EV_MAIN_EXITED) {
		if (!st->run_stopping)
			log_run_exit(st->log, st->run_pid, box_main_status(st->run));
		/* What the app left behind goes with it: the box is one unit. */
		if (!box_is_empty(st->run))
			(void)box_kill(st->run);
	}
	if (!box_is_empty(st->run) || !box_main_exited(st->run))
		return;
	{
		bool stopped = st->run_stopping;
		if (stopped)
			log_run_stop(st->log, st->run_pid, box_rung_name(box_rung_of(st->run)),
				     box_stop_duration_ns(st->run) / 1000000, box_stop_needed_kill(st->run));
		release_box(st, &st->run);
		st->run_stopping = false;
		if (st->quitting)
			return;
		if (st->run_wanted)
			(void)spawn_run(st);
		else if (!stopped && st->c->build.rerun)
			(void)arm_timer_ms(st->rerun_fd, st->c->build.rerun_delay_ms);
	}
}

/* ---- builds ---------------------------------------------------------------------------------------- */

/* The reason of a safefs refusal, or the errno explained. */
static const char *fs_why(int r, char *why, size_t size)
{
	return why[0] ? why : explain_errno(-r, why, size);
}

static void append_build_log(struct reload *st, const char *cmd, int status)
{
	char *dir = path_under_root(st->c, st->c->tmp_dir), how[64], when[32], why[512];
	struct safefs_tmp t;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f = NULL;
	int r, fd;

	if (!dir)
		return;
	r = safefs_tmp_open(st->c->root, st->c->tmp_dir, &t, why, sizeof(why));
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "cannot use tmp_dir %s for the build log: %s", dir,
			fs_why(r, why, sizeof(why)));
		free(dir);
		return;
	}
	fd = safefs_open_append(t.fd, st->c->build.log, why, sizeof(why));
	safefs_tmp_close(&t);
	if (fd < 0 || !(f = fdopen(fd, "a"))) {
		r = fd < 0 ? fd : -errno;
		log_msg(st->log, LOG_MAIN, "cannot append to the build log %s/%s: %s", dir, st->c->build.log,
			fs_why(r, why, sizeof(why)));
		if (fd >= 0)
			close(fd);
		free(dir);
		return;
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	log_describe_status(status, how, sizeof(how));
	fprintf(f, "%s: %s: %s\n", when, cmd, how);
	if (st->build.capture_len)
		fwrite(st->build.capture, 1, st->build.capture_len, f);
	/* A full disk shows at the flush: the error sticks to the stream until fclose. */
	r = ferror(f) ? (errno ? errno : EIO) : 0;
	if (fclose(f) != 0 && r == 0)
		r = errno;
	if (r)
		log_msg(st->log, LOG_MAIN,
			"cannot write the build log %s/%s: %s; the build output above is all there is", dir,
			st->c->build.log, explain_errno(r, why, sizeof(why)));
	free(dir);
}

static const char *build_step_cmd(const struct reload *st, size_t step)
{
	return step < st->c->build.pre_cmd.n ? st->c->build.pre_cmd.v[step] : st->c->build.cmd;
}

/* Writes all of buf; -errno (with errno set) on failure, -ENOSPC for a write that stops short. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The list of changed paths in a new file nsreload-changed.PID.RANDOM of tmp_dir, created with O_EXCL
 * in an fd of tmp_dir: st->changed_file, removed after the build.
 */
static int write_changed_file(struct reload *st, const char *joined)
{
	char *dir = path_under_root(st->c, st->c->tmp_dir), prefix[64], why[512];
	struct safefs_tmp t;
	int fd, r;

	if (!dir)
		return -ENOMEM;
	r = safefs_tmp_open(st->c->root, st->c->tmp_dir, &t, why, sizeof(why));
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "cannot use tmp_dir %s for the list of changed paths: %s", dir,
			fs_why(r, why, sizeof(why)));
		free(dir);
		return r;
	}
	snprintf(prefix, sizeof(prefix), "nsreload-changed.%d.", (int)getpid());
	fd = safefs_create_unique(t.fd, t.path, prefix, &st->changed_file);
	r = fd < 0 ? fd : write_all(fd, joined, strlen(joined));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "cannot write the list of %zu changed paths to %s/%s: %s",
			st->build_npaths, dir, fd >= 0 ? st->changed_file.name : prefix,
			explain_errno(-r, why, sizeof(why)));
		safefs_file_remove(&st->changed_file);
	}
	safefs_tmp_close(&t);
	free(dir);
	return r;
}

/* NSRELOAD_CHANGED_PATHS, or NSRELOAD_CHANGED_FILE when the list is too big for the environment. */
static int changed_env_entry(struct reload *st, char **entry)
{
	size_t total = 0;
	char *joined, *p;

	for (size_t i = 0; i < st->build_npaths; i++)
		total += strlen(st->build_paths[i]) + 1;
	joined = malloc(total + 1);
	if (!joined)
		return -ENOMEM;
	p = joined;
	for (size_t i = 0; i < st->build_npaths; i++) {
		size_t len = strlen(st->build_paths[i]);
		memcpy(p, st->build_paths[i], len);
		p += len;
		if (i + 1 < st->build_npaths)
			*p++ = '\n';
	}
	*p = '\0';
	if (total <= CHANGED_ENV_MAX) {
		int n = asprintf(entry, "NSRELOAD_CHANGED_PATHS=%s", joined);
		free(joined);
		return n < 0 ? -ENOMEM : 0;
	}
	if (st->changed_file.dirfd < 0) {
		int r = write_changed_file(st, joined);
		if (r < 0) {
			free(joined);
			return r;
		}
	}
	free(joined);
	return asprintf(entry, "NSRELOAD_CHANGED_FILE=%s", st->changed_file.path) < 0 ? -ENOMEM : 0;
}

static void start_build(struct reload *st);

/*
 * True when the app is build.bin (no full_bin, no entrypoint) given as a path
 * and that file is not there after a build: *path gets it.
 */
static bool app_missing(struct reload *st, char *path, size_t size)
{
	const char *bin = st->c->build.bin;
	size_t len = strcspn(bin, " \t");
	char word[PATH_MAX], *abs;
	struct stat sb;
	bool missing;

	if (st->c->build.full_bin[0] || st->c->build.entrypoint.n || !bin[0] || len >= sizeof(word) ||
	    !memchr(bin, '/', len))
		return false;
	memcpy(word, bin, len);
	word[len] = '\0';
	abs = path_under_root(st->c, word);
	if (!abs)
		return false;
	missing = stat(abs, &sb) < 0 && errno == ENOENT;
	snprintf(path, size, "%s", word);
	free(abs);
	return missing;
}

static void build_finished(struct reload *st, int status, bool cancelled)
{
	uint64_t ms = (box_now_ns() - st->build_start_ns) / 1000000;
	const char *cmd = build_step_cmd(st, st->build_step);
	char missing[PATH_MAX];

	bool bin_missing = !cancelled && status == 0 && app_missing(st, missing, sizeof(missing));

	if (cancelled) {
		log_msg(st->log, LOG_BUILD, "build cancelled");
	} else {
		log_build_end(st->log, ms, status);
		/* Restarting would stop a working app for one that cannot start: no restart. */
		if (bin_missing)
			log_msg(st->log, LOG_MAIN,
				"the build succeeded but %s does not exist: build.cmd must write it "
				"(build.bin = '%s')%s",
				missing, st->c->build.bin, st->run ? "; the old run keeps serving" : "");
		if (WIFEXITED(status) && (WEXITSTATUS(status) == 127 || WEXITSTATUS(status) == 126))
			log_msg(st->log, LOG_MAIN,
				"'%s' exited with %d: the shell %s (its message is above); fix build.cmd or "
				"PATH%s",
				cmd, WEXITSTATUS(status),
				WEXITSTATUS(status) == 127 ? "did not find the command"
							   : "could not execute it",
				st->run ? "; the old run keeps serving" : "");
		if (status != 0) {
			append_build_log(st, cmd, status);
			if (st->c->build.stop_on_error) {
				st->run_wanted = false;
				stop_run(st);
			}
		}
	}
	job_reset(st, &st->build);
	st->building = false;
	paths_free(st->build_paths, st->build_npaths);
	st->build_paths = NULL;
	st->build_npaths = 0;
	safefs_file_remove(&st->changed_file);
	if (!cancelled && status == 0 && !bin_missing) {
		st->have_good_build = true;
		restart_run(st);
	}
	if (st->build_queued && !st->quitting) {
		st->build_queued = false;
		start_build(st);
	}
}

/* Starts the current step, skipping empty commands; finishes the build when none is left. */
static void build_next_step(struct reload *st)
{
	char *extra[1] = { NULL }, **envp = NULL, why[512] = "";
	int r;

	while (st->build_step <= st->c->build.pre_cmd.n) {
		const char *cmd = build_step_cmd(st, st->build_step);
		if (!cmd || !cmd[0]) {
			st->build_step++;
			continue;
		}
		r = changed_env_entry(st, &extra[0]);
		if (r < 0) {
			log_msg(st->log, LOG_BUILD, "build skipped: '%s' would not know what changed%s", cmd,
				st->run ? "; the old run keeps serving" : "");
			build_finished(st, W_EXITCODE(125, 0), false);
			return;
		}
		r = make_envp(st, extra, 1, &envp);
		if (r == 0)
			r = job_start(st, &st->build, "build", cmd, envp, why, sizeof(why));
		free(extra[0]);
		envp_free(envp);
		if (r < 0) {
			log_msg(st->log, LOG_BUILD, "cannot start '%s': %s%s", cmd,
				why[0] ? why : explain_errno(-r, why, sizeof(why)),
				st->run ? "; the old run keeps serving" : "");
			build_finished(st, W_EXITCODE(125, 0), false);
		}
		return;
	}
	st->build_step = st->c->build.pre_cmd.n;
	build_finished(st, 0, false);
}

static void start_build(struct reload *st)
{
	if (st->building || st->quitting)
		return;
	st->building = true;
	st->build_step = 0;
	st->build_paths = pathset_take(&st->changed, &st->build_npaths);
	st->overflowed = false;
	st->build_start_ns = box_now_ns();
	log_build_start(st->log, st->build_npaths);
	build_next_step(st);
}

static void build_update(struct reload *st)
{
	int status;

	if (!job_update(st, &st->build, &status))
		return;
	if (st->build.cancelled) {
		build_finished(st, status, true);
		return;
	}
	if (status != 0) {
		build_finished(st, status, false);
		return;
	}
	/* The next step gets a fresh box and a fresh capture. */
	job_reset(st, &st->build);
	st->build_step++;
	build_next_step(st);
}

/* The debounce ran out (or a key asked): build now, or whatever on_busy says while a build runs. */
static void changes_settled(struct reload *st)
{
	st->change_pending = false;
	if (st->quitting || st->root_gone)
		return; /* the changes wait: the root's return starts a build */
	log_change(st->log, st->changed.v, st->changed.n < 100 ? st->changed.n : 100, st->changed.n);
	if (!st->building) {
		start_build(st);
		return;
	}
	switch (st->c->on_busy) {
	case CONFIG_ON_BUSY_QUEUE:
		st->build_queued = true;
		break;
	case CONFIG_ON_BUSY_RESTART:
		st->build_queued = true;
		if (st->build.box && !st->build.cancelled) {
			st->build.cancelled = true;
			(void)box_kill(st->build.box);
		}
		break;
	case CONFIG_ON_BUSY_DO_NOTHING:
		pathset_clear(&st->changed);
		break;
	case CONFIG_ON_BUSY_SIGNAL:
		if (st->run)
			(void)box_signal_main(st->run, st->c->box.stop_signal);
		pathset_clear(&st->changed);
		break;
	}
}

/* ---- the watcher's sink ------------------------------------------------------------------------ */

static void on_watch_event(void *data, enum watch_event ev, const char *path)
{
	struct reload *st = data;

	switch (ev) {
	case WATCH_WARNING:
		log_msg(st->log, LOG_WATCHER, "%s", path);
		return;
	case WATCH_ROOT_GONE:
		log_msg(st->log, LOG_WATCHER, "%s", path);
		st->root_gone = true;
		return;
	case WATCH_ROOT_BACK:
		log_msg(st->log, LOG_WATCHER, "%s", path);
		st->root_gone = false;
		/* With root ".", our cwd is still the deleted directory: enter the new one by its path. */
		if (st->cwd && chdir(st->cwd) < 0)
			log_msg(st->log, LOG_MAIN, "cannot enter %s again: %s", st->cwd, strerror(errno));
		st->overflowed = true;
		break;
	case WATCH_OVERFLOW:
		st->overflowed = true;
		break;
	case WATCH_CHANGED: {
		/* exclude_unchanged: a save that leaves the content as it was is no change (always true when
		 * off). */
		char *abs = path_under_root(st->c, path);
		bool changed = !abs || filter_content_changed(st->filter, path, abs);
		free(abs);
		if (!changed)
			return;
		if (pathset_add(&st->changed, path) < 0)
			st->overflowed = true;
		break;
	}
	}
	/* Trailing debounce: every event pushes the build back by delay. */
	st->change_pending = true;
	(void)arm_timer_ms(st->debounce_fd, st->c->build.delay_ms);
}

/* ---- quitting ---------------------------------------------------------------------------------------- */

static void post_next(struct reload *st)
{
	while (st->post_step < st->c->build.post_cmd.n) {
		const char *cmd = st->c->build.post_cmd.v[st->post_step++];
		char **envp = NULL, why[512] = "";
		int r;
		if (!cmd || !cmd[0])
			continue;
		r = make_envp(st, NULL, 0, &envp);
		if (r == 0)
			r = job_start(st, &st->post, "post", cmd, envp, why, sizeof(why));
		envp_free(envp);
		if (r == 0)
			return;
		log_msg(st->log, LOG_MAIN, "cannot start post_cmd '%s': %s", cmd,
			why[0] ? why : strerror(-r));
		job_reset(st, &st->post);
	}
	st->post_done = true;
	/* post_cmd runs before the app is stopped, as in air. */
	stop_run(st);
}

static void begin_quit(struct reload *st)
{
	st->quit_requests++;
	if (st->quit_requests > 1) {
		/* A second request means now. */
		if (st->post.box)
			(void)box_kill(st->post.box);
		if (st->run)
			(void)box_kill(st->run);
		if (st->build.box)
			(void)box_kill(st->build.box);
		return;
	}
	st->quitting = true;
	st->run_wanted = false;
	st->build_queued = false;
	disarm_timer(st->debounce_fd);
	disarm_timer(st->rerun_fd);
	log_msg(st->log, LOG_MAIN, "cleaning up...");
	if (st->build.box) {
		st->build.cancelled = true;
		(void)box_kill(st->build.box);
	}
	post_next(st);
}

static void post_update(struct reload *st)
{
	int status;

	if (!job_update(st, &st->post, &status))
		return;
	if (status != 0) {
		char how[64];
		log_describe_status(status, how, sizeof(how));
		log_msg(st->log, LOG_MAIN, "post_cmd failed: %s", how);
	}
	job_reset(st, &st->post);
	post_next(st);
}

static bool quit_complete(const struct reload *st)
{
	return st->quitting && st->post_done && !st->post.box && !st->run && !st->build.box;
}

/* misc.clean_on_exit: safefs removes tmp_dir only strictly inside root, on root's mount. */
static void clean_tmp_dir(struct reload *st)
{
	char why[512];
	size_t kept = 0;
	int r = safefs_clean_tmp(st->c->root, st->c->tmp_dir, &kept, why, sizeof(why));

	if (r < 0)
		log_msg(st->log, LOG_MAIN, "misc.clean_on_exit: tmp_dir %s is not removed: %s",
			st->c->tmp_dir, fs_why(r, why, sizeof(why)));
	else if (kept)
		log_msg(st->log, LOG_MAIN,
			"misc.clean_on_exit: tmp_dir %s is kept with %zu entries nsreload does not remove "
			"(mount points, other file systems, /, /root or $HOME, or deeper than %d levels)",
			st->c->tmp_dir, kept, SAFEFS_MAX_DEPTH);
}

/* ---- signals and keys ---------------------------------------------------------------------------- */

static void on_signals(struct reload *st)
{
	struct signalfd_siginfo si;

	while (read(st->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch ((int)si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			begin_quit(st);
			break;
		default:
			break; /* SIGCHLD: the boxes are brought up to date after every wake-up */
		}
	}
}

static void on_stdin(struct reload *st)
{
	char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0) {
		/* A closed terminal is not a quit request; it just has no more keys. */
		(void)epoll_ctl(st->ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
		st->stdin_keys = false;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (st->keys_len < sizeof(st->keys) - 1)
				st->keys[st->keys_len++] = buf[i];
			continue;
		}
		st->keys[st->keys_len] = '\0';
		st->keys_len = 0;
		if (strcmp(st->keys, "r") == 0) {
			log_msg(st->log, LOG_MAIN, "rebuild and restart requested");
			disarm_timer(st->debounce_fd);
			changes_settled(st);
		} else if (strcmp(st->keys, "q") == 0) {
			begin_quit(st);
		}
	}
}

/* ---- the loop ---------------------------------------------------------------------------------------- */

static void update_boxes(struct reload *st)
{
	if (!st->run && !st->build.box && !st->post.box)
		(void)box_ctx_reap(st->ctx);
	build_update(st);
	post_update(st);
	run_update(st);
}

static int event_loop(struct reload *st)
{
	while (!quit_complete(st)) {
		struct epoll_event evs[16];
		int n = epoll_wait(st->ep, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint64_t x;
			switch ((enum ep_tag)evs[i].data.u64) {
			case TAG_SIGNAL:
				on_signals(st);
				break;
			case TAG_WATCH:
				if (st->watch)
					(void)watch_process(st->watch);
				break;
			case TAG_DEBOUNCE:
				if (read(st->debounce_fd, &x, sizeof(x)) == (ssize_t)sizeof(x) &&
				    st->change_pending)
					changes_settled(st);
				break;
			case TAG_RERUN:
				if (read(st->rerun_fd, &x, sizeof(x)) == (ssize_t)sizeof(x) && !st->run &&
				    !st->quitting)
					(void)spawn_run(st);
				break;
			case TAG_STDIN:
				on_stdin(st);
				break;
			case TAG_BUILD_OUT:
				job_read_output(st, &st->build);
				break;
			case TAG_POST_OUT:
				job_read_output(st, &st->post);
				break;
			case TAG_BOX:
				break;
			}
		}
		update_boxes(st);
	}
	return 0;
}

/* ---- set-up ---------------------------------------------------------------------------------------- */

enum { RUN_COLOR = 1, RUN_LOG_FORMAT, RUN_NO_VCS_IGNORE, RUN_STDIN };

static const struct opt run_opts_table[] = {
	{ "--color", 0, NULL, OPT_VALUE, "WHEN", "auto, always, never (NO_COLOR is honoured)", RUN_COLOR,
	  .complete = OPT_COMPLETE_WORDS, .words = "auto always never" },
	{ "--log-format", 0, NULL, OPT_VALUE, "FORMAT", "text or json (one JSON object per event)",
	  RUN_LOG_FORMAT, .complete = OPT_COMPLETE_WORDS, .words = "text json" },
	{ "--no-vcs-ignore", 0, NULL, OPT_NONE, NULL, "do not honour .gitignore and .ignore",
	  RUN_NO_VCS_IGNORE },
	{ "--stdin", 0, NULL, OPT_NONE, NULL, "give stdin to the app (no r/q keys)", RUN_STDIN },
	{ NULL },
};

const struct opts_cmd cmd_run_spec = {
	.name = "run",
	.synopsis = "[options] [BIN [ARGS...]]",
	.summary = "watch, rebuild and restart in boxes (the default)",
	.about = "Watches the tree, rebuilds with build.cmd in a box on every change and\n"
		 "restarts the app in a box. The old app's box is empty (every process\n"
		 "gone, ports free) before the new one starts. With no configuration it\n"
		 "behaves as air: go build -o ./tmp/main . and runs ./tmp/main.\n"
		 "BIN [ARGS...] replace the configured app.",
	.tables = { run_opts_table, config_flag_opts },
	.more_options = "      --KEY=VALUE       set any key: --build.cmd='make', --build.delay=0\n"
			"                        (nsreload config --markdown lists them)\n",
	.epilogue = "Keys (stdin a terminal): r+Enter rebuilds and restarts, q+Enter quits.\n"
		    "Exit status: 0 after a requested exit, 1 on a failure while running,\n"
		    "2 for a configuration error, 125 when the box cannot be set up.",
	.config_keys = true,
};

static void run_usage(FILE *f)
{
	opts_help(f, &cmd_run_spec);
}

/* value is one of words' space-separated words: *index is its position. */
static int pick_word(const char *words, const char *value, int *index)
{
	size_t len = strlen(value);

	*index = 0;
	for (const char *w = words; *w; (*index)++) {
		size_t wlen = strcspn(w, " ");

		if (wlen == len && strncmp(w, value, len) == 0)
			return 0;
		w += wlen;
		w += *w == ' ';
	}
	return -EINVAL;
}

static int take_run_option(void *data, const struct opt *opt, const char *value, const char *written)
{
	struct run_opts *o = data;
	char esc[256];
	int i;

	switch (opt->id) {
	case RUN_COLOR:
	case RUN_LOG_FORMAT:
		if (pick_word(opt->words, value, &i) < 0) {
			fprintf(stderr, "nsreload run: %s: expected %s, got '%s'\n", written,
				opt->id == RUN_COLOR ? "auto, always or never" : "text or json",
				text_escape(esc, sizeof(esc), value));
			return -EINVAL;
		}
		if (opt->id == RUN_COLOR)
			o->color_mode = i == 0   ? CONFIG_COLOR_AUTO
					: i == 1 ? CONFIG_COLOR_ALWAYS
						 : CONFIG_COLOR_NEVER;
		else
			o->format = i == 0 ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
		return 0;
	case RUN_NO_VCS_IGNORE:
		o->no_vcs_ignore = true;
		return 0;
	case RUN_STDIN:
		o->stdin_to_app = true;
		return 0;
	}
	return -EINVAL;
}

static void report_stale(const char *path, void *data)
{
	struct reload *st = data;
	log_msg(st->log, LOG_MAIN, "removed stale box %s left by a supervisor that died", path);
}

/* Fails with a message when ulimit -n is too low for nsreload to work at all. */
static int check_open_files(struct reload *st)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= MIN_OPEN_FILES)
		return 0;
	log_msg(st->log, LOG_MAIN,
		"ulimit -n is %llu: nsreload needs at least %d open files (its event loop, the watcher and "
		"three boxes); raise it with 'ulimit -n 4096' and start again",
		(unsigned long long)rl.rlim_cur, MIN_OPEN_FILES);
	return -EMFILE;
}

static int open_loop_fds(struct reload *st, const sigset_t *mask)
{
	int r;

	st->sigfd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	st->debounce_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->rerun_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	st->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (st->sigfd < 0 || st->ep < 0 || st->debounce_fd < 0 || st->rerun_fd < 0 || st->devnull < 0)
		return -errno;
	if ((r = epoll_add_tag(st->ep, st->sigfd, EPOLLIN, TAG_SIGNAL)) < 0 ||
	    (r = epoll_add_tag(st->ep, st->debounce_fd, EPOLLIN, TAG_DEBOUNCE)) < 0 ||
	    (r = epoll_add_tag(st->ep, st->rerun_fd, EPOLLIN, TAG_RERUN)) < 0)
		return r;
	if (!st->o->stdin_to_app && isatty(STDIN_FILENO) &&
	    epoll_add_tag(st->ep, STDIN_FILENO, EPOLLIN, TAG_STDIN) == 0)
		st->stdin_keys = true;
	return 0;
}

static int open_watcher(struct reload *st)
{
	char err[1024] = "";
	int r;

	r = filter_new(&st->filter, st->c, &(struct filter_opts){ .vcs_ignore = !st->o->no_vcs_ignore }, err,
		       sizeof(err));
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "filter: %s", err[0] ? err : strerror(-r));
		return r;
	}
	r = watch_new(&st->watch, &(struct watch_opts){ .root = st->c->root,
							.follow_symlink = st->c->build.follow_symlink,
							.filter = st->filter,
							.sink = { .event = on_watch_event, .data = st } });
	if (r < 0) {
		log_msg(st->log, LOG_MAIN, "cannot watch %s: %s", st->c->root, strerror(-r));
		return r;
	}
	log_msg(st->log, LOG_WATCHER, "watching %s (%zu directories)", st->c->root, watch_count(st->watch));
	return epoll_add_tag(st->ep, watch_fd(st->watch), EPOLLIN, TAG_WATCH);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void teardown(struct reload *st)
{
	job_reset(st, &st->build);
	job_reset(st, &st->post);
	release_box(st, &st->run);
	if (st->ctx) {
		char dir[PATH_MAX];

		(void)box_ctx_reap(st->ctx);
		snprintf(dir, sizeof(dir), "%s", box_ctx_cgroup_dir(st->ctx));
		if (box_ctx_free(st->ctx) < 0)
			log_msg(st->log, LOG_MAIN,
				"cannot remove nsreload's cgroup %s: still busy after retries for about a "
				"second; it is left behind, and the next nsreload start with this cgroup "
				"parent removes it",
				dir);
		st->ctx = NULL;
	}
	free(st->cwd);
	st->cwd = NULL;
	if (st->watch)
		watch_free(st->watch);
	if (st->filter)
		filter_free(st->filter);
	paths_free(st->build_paths, st->build_npaths);
	safefs_file_remove(&st->changed_file);
	pathset_clear(&st->changed);
	close_fd(&st->sigfd);
	close_fd(&st->ep);
	close_fd(&st->debounce_fd);
	close_fd(&st->rerun_fd);
	close_fd(&st->devnull);
}

/* As air: root /, /root or $HOME is refused unless build.ignore_dangerous_root_dir says otherwise. */
static int check_root(const struct config *c, struct log *log)
{
	char *real = realpath(c->root, NULL);
	const char *what = "";
	bool refused = real && !c->build.ignore_dangerous_root_dir && safefs_dangerous_dir(real, &what);

	if (refused)
		log_msg(log, LOG_MAIN,
			"root %s is %s: nsreload would watch and build all of it and, with "
			"misc.clean_on_exit, remove its tmp_dir; refusing. Point root at a project, or set "
			"build.ignore_dangerous_root_dir = true",
			real, what);
	free(real);
	return refused ? -EPERM : 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .color_mode = -1, .format = LOG_FORMAT_TEXT };
	struct config_args a = { .cmd = &cmd_run_spec, .own_option = take_run_option, .own_data = &o };
	struct config c;
	struct reload st = { .c = &c,
			     .o = &o,
			     .ep = -1,
			     .sigfd = -1,
			     .debounce_fd = -1,
			     .rerun_fd = -1,
			     .devnull = -1,
			     .changed_file = { .dirfd = -1 },
			     .build = { .out_fd = -1, .tag = TAG_BUILD_OUT },
			     .post = { .out_fd = -1, .tag = TAG_POST_OUT } };
	char why[2048] = "";
	const char *why_line;
	sigset_t mask, oldmask;
	int r, code = 1;

	r = config_setup(&c, argc, argv, &a, NULL);
	if (r < 0)
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	if (a.help) {
		run_usage(stdout);
		config_free(&c);
		return 0;
	}
	r = config_set_command(&c, argv + a.first_positional, argc - a.first_positional);
	if (r < 0) {
		fprintf(stderr, "nsreload run: %s\n", strerror(-r));
		config_free(&c);
		return 1;
	}
	r = log_new(&st.log, &c,
		    &(struct log_opts){ .out = stderr,
					.format = o.format,
					.color_mode = o.color_mode >= 0 ? o.color_mode : c.color.mode });
	if (r < 0) {
		config_free(&c);
		return 1;
	}
	if (check_root(&c, st.log) < 0) {
		code = 2;
		goto out_log;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	/* Signals come through the signalfd only; box_spawn() unblocks them in the child. */
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0) {
		perror("nsreload run: sigprocmask");
		goto out_log;
	}
	r = check_open_files(&st);
	if (r < 0)
		goto out;
	st.cwd = getcwd(NULL, 0);
	r = open_loop_fds(&st, &mask);
	if (r < 0) {
		log_msg(st.log, LOG_MAIN, "cannot set up the event loop: %s",
			explain_errno(-r, why, sizeof(why)));
		goto out;
	}
	r = box_supervisor_init();
	if (r < 0) {
		log_msg(st.log, LOG_MAIN, "cannot become a child subreaper: %s", strerror(-r));
		goto out;
	}
	r = box_ctx_new(&st.ctx,
			&(struct box_ctx_opts){ .rung = (enum box_rung)c.box.mode,
						.cgroup_parent = c.box.cgroup_parent[0]
									 ? c.box.cgroup_parent
									 : getenv("NSRELOAD_CGROUP_PARENT"),
						.no_pin = !c.box.pin_sessions,
						.on_stale = report_stale,
						.data = &st,
						.errbuf = why,
						.errbuf_size = sizeof(why) });
	if (r < 0) {
		log_msg(st.log, LOG_MAIN,
			"box %s is not available here: %s; run 'nsreload doctor' for details",
			box_rung_name((enum box_rung)c.box.mode), why[0] ? why : strerror(-r));
		/* As nsreload exec: 125 is "nsreload itself could not do its job". */
		code = 125;
		goto out;
	}
	/* The why has a line per rung skipped, and log_msg() shows a newline as "\n": a call per line. */
	why_line = box_ctx_why(st.ctx);
	log_msg(st.log, LOG_MAIN, "box: %s%s%.*s", box_rung_name(box_ctx_rung(st.ctx)),
		why_line[0] ? "; " : "", (int)strcspn(why_line, "\n"), why_line);
	while ((why_line = strchr(why_line, '\n')) != NULL) {
		why_line++;
		log_msg(st.log, LOG_MAIN, "  %.*s", (int)strcspn(why_line, "\n"), why_line);
	}
	r = open_watcher(&st);
	if (r < 0)
		goto out;
	if (st.stdin_keys)
		log_msg(st.log, LOG_MAIN, "r+Enter rebuilds and restarts, q+Enter quits");

	start_build(&st);
	r = event_loop(&st);
	if (r < 0) {
		log_msg(st.log, LOG_MAIN, "event loop: %s", strerror(-r));
		goto out;
	}
	code = 0;
out:
	teardown(&st);
	if (code == 0 && c.misc.clean_on_exit)
		clean_tmp_dir(&st);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out_log:
	log_free(st.log);
	config_free(&c);
	return code;
}
