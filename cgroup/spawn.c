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

char **box_make_env(const struct box *b, char *const *envp)
{
	static const char key[] = "NSRELOAD_BOX=";
	size_t n = 0, j = 0;
	char **env;

	if (!envp)
		envp = environ;
	while (envp[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], key, sizeof(key) - 1) != 0)
			env[j++] = envp[i];
	/* One allocation holds the array and our entry, so one free() releases both. */
	env[j] = NULL;
	{
		size_t len = sizeof(key) + strlen(b->token);
		char **all = realloc(env, (j + 2) * sizeof(*env) + len);
		if (!all) {
			free(env);
			return NULL;
		}
		env = all;
		char *entry = (char *)(env + j + 2);
		snprintf(entry, len, "%s%s", key, b->token);
		env[j] = entry;
		env[j + 1] = NULL;
	}
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

void box_child_exec(const struct box_child *c)
{
	sigset_t all;
	int stage = BOX_SPAWN_SETUP;

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
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		goto fail;
	stage = BOX_SPAWN_EXEC;
	execvpe(c->argv[0], c->argv, c->envp);
fail:
	write_child_err(c->err_fd, stage, errno);
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
	char **env;
	pid_t pid;

	env = box_make_env(b, sp->envp);
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
					.procs_fd = procs_fd };
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
