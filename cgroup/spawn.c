/* What the rungs share to start a box's first process: its environment, the child's set-up, the error pipe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "box-internal.h"
#include "clone.h"
#include "pin.h"
#include "proctree.h"

extern char **environ;

/* Whether entry is one box_make_env() sets itself: NSRELOAD_BOX always, LISTEN_* when fds are passed. */
static bool env_ours(const char *entry, bool passing)
{
	static const char *const listen_keys[] = { "LISTEN_FDS=", "LISTEN_FDNAMES=", "LISTEN_PID=" };

	if (strncmp(entry, "NSRELOAD_BOX=", 13) == 0)
		return true;
	for (size_t i = 0; passing && i < sizeof(listen_keys) / sizeof(listen_keys[0]); i++)
		if (strncmp(entry, listen_keys[i], strlen(listen_keys[i])) == 0)
			return true;
	return false;
}

int box_check_pass_fds(const struct box_spawn *sp)
{
	if (sp->n_pass_fds > BOX_PASS_FDS_MAX)
		return -E2BIG;
	if (sp->n_pass_fds && !sp->pass_fds)
		return -EINVAL;
	for (size_t i = 0; i < sp->n_pass_fds; i++) {
		if (sp->pass_fds[i] < 0)
			return -EINVAL;
		if (sp->fd_names && (!sp->fd_names[i] || !sp->fd_names[i][0] || strchr(sp->fd_names[i], ':')))
			return -EINVAL;
	}
	return 0;
}

char **box_make_env(const struct box *b, const struct box_spawn *sp, char **listen_pid)
{
	char *const *envp = sp->envp ? sp->envp : environ;
	bool passing = sp->n_pass_fds > 0;
	size_t n = 0, j = 0, text = 0, off = 0;
	char **env, *block;

	*listen_pid = NULL;
	while (envp[n])
		n++;
	/* Our entries' text: NSRELOAD_BOX, then LISTEN_FDS, LISTEN_FDNAMES and the LISTEN_PID slot. */
	text = strlen("NSRELOAD_BOX=") + strlen(b->token) + 1;
	if (passing) {
		text += strlen("LISTEN_FDS=") + 21 + strlen("LISTEN_FDNAMES=") + 1;
		text += strlen("LISTEN_PID=") + LISTEN_PID_DIGITS + 1;
		for (size_t i = 0; i < sp->n_pass_fds; i++)
			text += strlen(sp->fd_names ? sp->fd_names[i] : "nsreload") + 1;
	}
	/* One allocation holds the array and our entries, so one free() releases both. */
	env = malloc((n + 5) * sizeof(*env) + text);
	if (!env)
		return NULL;
	block = (char *)(env + n + 5);
	for (size_t i = 0; i < n; i++)
		if (!env_ours(envp[i], passing))
			env[j++] = envp[i];
	env[j++] = block + off;
	off += (size_t)sprintf(block + off, "NSRELOAD_BOX=%s", b->token) + 1;
	if (passing) {
		env[j++] = block + off;
		off += (size_t)sprintf(block + off, "LISTEN_FDS=%zu", sp->n_pass_fds) + 1;
		env[j++] = block + off;
		off += (size_t)sprintf(block + off, "LISTEN_FDNAMES=");
		for (size_t i = 0; i < sp->n_pass_fds; i++)
			off += (size_t)sprintf(block + off, "%s%s", i ? ":" : "",
					       sp->fd_names ? sp->fd_names[i] : "nsreload");
		off++;
		env[j++] = block + off;
		/* A placeholder the child overwrites with its pid (box_child_exec). */
		off += (size_t)sprintf(block + off, "LISTEN_PID=%0*d", LISTEN_PID_DIGITS, 0);
		*listen_pid = block + off - LISTEN_PID_DIGITS;
		off++;
	}
	env[j] = NULL;
	return env;
}

static void write_child_err(int fd, int stage, int err)
{
	struct box_child_err e = { .err = err, .stage = stage };
	ssize_t r;
	if (fd < 0)
		return;
	do
		r = write(fd, &e, sizeof(e));
	while (r < 0 && errno == EINTR);
}

void box_child_drop_pending(void)
{
	const struct timespec now = { 0 };
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return;
	while (sigtimedwait(&pending, NULL, &now) > 0)
		;
}

/* Writes pid in decimal at dst, NUL-terminated, in at most LISTEN_PID_DIGITS digits: no stdio after clone. */
static void put_pid(char *dst, pid_t pid)
{
	char digits[LISTEN_PID_DIGITS];
	size_t n = 0;
	unsigned long v = (unsigned long)pid;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n)
		*dst++ = digits[--n];
	*dst = '\0';
}

/*
 * Puts c->pass_fds at 3.. without FD_CLOEXEC. Each is first copied above
 * every target (one may sit on another's target, or on 3 + its own index of
 * another), and so is *err_fd, which a dup2() onto 3.. would otherwise close;
 * the copies are CLOEXEC. Returns 0 or -errno.
 */
static int place_pass_fds(const struct box_child *c, int *err_fd)
{
	int above[BOX_PASS_FDS_MAX];
	int top = 3 + (int)c->n_pass_fds;

	if (*err_fd >= 0 && *err_fd < top) {
		int fd = fcntl(*err_fd, F_DUPFD_CLOEXEC, top);
		if (fd < 0)
			return -errno;
		*err_fd = fd;
	}
	for (size_t i = 0; i < c->n_pass_fds; i++) {
		above[i] = fcntl(c->pass_fds[i], F_DUPFD_CLOEXEC, top);
		if (above[i] < 0)
			return -errno;
	}
	/* dup2() clears FD_CLOEXEC on the new fd: these are the ones the command keeps. */
	for (size_t i = 0; i < c->n_pass_fds; i++) {
		if (dup2(above[i], 3 + (int)i) < 0)
			return -errno;
		close(above[i]);
	}
	return 0;
}

void box_child_exec(const struct box_child *c)
{
	sigset_t all;
	int stage = BOX_SPAWN_SETUP, err_fd = c->err_fd;

	if (c->procs_fd >= 0) {
		/* Fallback for kernels without CLONE_INTO_CGROUP: exec must never happen outside the box. */
		if (write(c->procs_fd, "0", 1) != 1) {
			write_child_err(c->err_fd, BOX_SPAWN_CGROUP, errno);
			_exit(125);
		}
		close(c->procs_fd);
	}
	/* The limits' v1 directories (limits/limits.c): the same rule, exec never happens unlimited. */
	if (box_limits_join(c) < 0) {
		write_child_err(c->err_fd, BOX_SPAWN_CGROUP, errno);
		_exit(125);
	}
	if (setpgid(0, 0) < 0)
		goto fail;
	box_child_drop_pending();
	/* Signals are still blocked here, so SIGTTOU cannot stop us while we take the terminal. */
	if (c->tty_fd >= 0)
		(void)tcsetpgrp(c->tty_fd, getpid());
	for (int i = 0; i < 3; i++) {
		if (c->stdio[i] >= 0 && c->stdio[i] != i && dup2(c->stdio[i], i) < 0)
			goto fail;
	}
	if (c->cwd && chdir(c->cwd) < 0)
		goto fail;
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	if (c->pin) {
		int listener = -1;
		int r = pin_install(c->pin_sock >= 0 ? &listener : NULL);
		if (r < 0) {
			errno = -r;
			goto fail;
		}
		/* Not sent: the supervisor just never hears of a setsid. The program must not keep it. */
		if (listener >= 0) {
			(void)pin_send_listener(c->pin_sock, listener);
			close(listener);
		}
	}
	/* Last of the set-up: every other fd it uses (stdio, the terminal, the pin's) is done with. */
	if (c->n_pass_fds) {
		int r = place_pass_fds(c, &err_fd);
		if (r < 0) {
			errno = -r;
			goto fail;
		}
	}
	/* The process that execs is the one sd_listen_fds() checks for: us, by our namespace's count. */
	if (c->listen_pid)
		put_pid(c->listen_pid, getpid());
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		goto fail;
	stage = BOX_SPAWN_EXEC;
	execvpe(c->argv[0], c->argv, c->envp);
fail:
	write_child_err(err_fd, stage, errno);
	_exit(stage == BOX_SPAWN_EXEC ? 127 : 125);
}

int box_read_child_err(int err_rd, enum box_spawn_stage *stage)
{
	struct box_child_err e;
	ssize_t n;

	do
		n = read(err_rd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(err_rd);
	if (n == (ssize_t)sizeof(e)) {
		if (stage)
			*stage = e.stage >= BOX_SPAWN_CGROUP && e.stage <= BOX_SPAWN_EXEC
					 ? (enum box_spawn_stage)e.stage
					 : BOX_SPAWN_SETUP;
		return -e.err;
	}
	return 0;
}

pid_t box_clone_into(const struct box *b, uint64_t flags, int *pidfd, int *procs_fd)
{
	pid_t pid = proc_clone(flags, b->cg_fd, pidfd);

	*procs_fd = -1;
	if (pid < 0 && b->cg_fd >= 0 && pid != -ENOMEM && pid != -EAGAIN) {
		/* No CLONE_INTO_CGROUP here: the child moves itself before exec instead. */
		*procs_fd = openat(b->cg_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		pid = *procs_fd < 0 ? -errno : proc_clone(flags, -1, pidfd);
	}
	return pid;
}

int box_spawn_direct(struct box *b, const struct box_spawn *sp, bool pin)
{
	struct box_child c;
	int errp[2], pin_sock[2] = { -1, -1 }, procs_fd = -1, pidfd = -1, r;
	char **env, *listen_pid;
	pid_t pid;

	r = box_check_pass_fds(sp);
	if (r < 0)
		return r;
	env = box_make_env(b, sp, &listen_pid);
	if (!env)
		return -ENOMEM;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		r = -errno;
		free(env);
		return r;
	}
	/* Without the socket the pin still works; only its notice is lost. */
	if (pin && b->ctx->pin_notice && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pin_sock) < 0)
		pin_sock[0] = pin_sock[1] = -1;
	pid = box_clone_into(b, 0, &pidfd, &procs_fd);
	if (pid == 0) {
		c = (struct box_child){ .argv = sp->argv,
					.envp = env,
					.cwd = sp->cwd,
					.stdio = { sp->stdin_fd, sp->stdout_fd, sp->stderr_fd },
					.tty_fd = sp->tty_fd,
					.pin = pin,
					.pin_sock = pin_sock[1],
					.err_fd = errp[1],
					.procs_fd = procs_fd,
					.pass_fds = sp->pass_fds,
					.n_pass_fds = sp->n_pass_fds,
					.listen_pid = listen_pid };
		box_limits_child(b, &c);
		box_child_exec(&c);
	}
	if (procs_fd >= 0)
		close(procs_fd);
	close(errp[1]);
	if (pin_sock[1] >= 0)
		close(pin_sock[1]);
	free(env);
	if (pid < 0) {
		close(errp[0]);
		if (pin_sock[0] >= 0)
			close(pin_sock[0]);
		return pid;
	}
	b->pid = pid;
	b->pidfd = pidfd;
	b->proc_pid = pidfd >= 0 ? proc_pidfd_pid(pidfd) : -ENOENT;
	if (b->proc_pid <= 0)
		b->proc_pid = pid;
	if (b->cg_fd < 0) {
		/* Set it from both sides, so that a kill right after spawn cannot miss the group. */
		(void)setpgid(pid, pid);
	}
	r = box_read_child_err(errp[0], &b->spawn_stage);
	/* The child sent the listener before it exec'd, so it is there now (or never comes). */
	if (pin_sock[0] >= 0) {
		int fd = r == 0 ? pin_recv_listener(pin_sock[0]) : -1;
		b->pin_fd = fd >= 0 ? fd : -1;
		close(pin_sock[0]);
	}
	return r;
}
