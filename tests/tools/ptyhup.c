/*
 * ptyhup - runs a command as the controlling process of a new terminal and
 * hangs that terminal up on request, as closing a terminal window does.
 *
 * Usage: ptyhup OUTFILE CMD [ARGS...]
 * The command's terminal output is copied to OUTFILE. On SIGUSR1 the master
 * side is closed: the kernel sends SIGHUP to the command (the session
 * leader). ptyhup then waits up to 20 s for it and exits with its exit
 * status (128+N for a signal, 124 when it did not end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int child_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits for pid up to ms milliseconds; -1 when it is still running. */
static int wait_code(pid_t pid, int ms)
{
	for (int waited = 0; waited <= ms; waited += 10) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return child_code(status);
		if (r < 0 && errno != EINTR)
			return -1;
		(void)poll(NULL, 0, 10);
	}
	return -1;
}

int main(int argc, char **argv)
{
	int master, slave, out, sfd, code;
	sigset_t mask;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: ptyhup OUTFILE CMD [ARGS...]\n");
		return 2;
	}
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		perror("ptyhup");
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		perror("ptyhup: signalfd");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("ptyhup: fork");
		return 2;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		close(master);
		if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 ||
		    dup2(slave, 1) < 0 || dup2(slave, 2) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
			perror("ptyhup: child");
			_exit(126);
		}
		if (slave > 2)
			close(slave);
		execvp(argv[2], argv + 2);
		perror("ptyhup: exec");
		_exit(127);
	}
	close(slave);
	for (;;) {
		struct pollfd p[2] = { { .fd = master, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		char buf[4096];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("ptyhup: poll");
			return 2;
		}
		if (p[1].revents & POLLIN)
			break;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break; /* the command closed the terminal itself */
			if (write(out, buf, (size_t)n) != n)
				perror("ptyhup: write");
		}
	}
	close(master); /* the hang-up */
	code = wait_code(pid, 20000);
	if (code < 0) {
		fprintf(stderr, "ptyhup: the command did not end within 20 s of the hang-up\n");
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return 124;
	}
	return code;
}
