/* nsreload's side of the front (frontctl.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "files.h"
#include "front.h"
#include "frontctl.h"
#include "handoff.h"
#include "log.h"
#include "util.h"

/* The configuration errors of the front's keys: a message and 2, else 0. */
static int check_config(const struct config *c, struct log *log, bool http, bool tcp)
{
	if (http && (c->proxy.proxy_port == 0 || c->proxy.app_port == 0)) {
		log_msg(log, LOG_MAIN,
			"proxy.enabled needs proxy.proxy_port (where browsers connect) and proxy.app_port "
			"(where "
			"the app listens); set both");
		return 2;
	}
	if (http && c->proxy.proxy_port == c->proxy.app_port) {
		log_msg(log, LOG_MAIN, "proxy.proxy_port and proxy.app_port are both %d: they must differ",
			c->proxy.proxy_port);
		return 2;
	}
	if (tcp && c->socket.app_port == 0) {
		log_msg(log, LOG_MAIN,
			"socket.mode = \"tcp\" needs socket.app_port: the port the app listens on, on "
			"127.0.0.1");
		return 2;
	}
	return 0;
}

/* Closes every fd from 3 up but those in keep (n of them). 0 or -errno. */
static int close_fds_except(const int *keep, size_t n)
{
	unsigned from = 3;

	for (;;) {
		unsigned next = ~0U;
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= (int)from && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > from && syscall(SYS_close_range, from, next - 1, 0U) < 0)
			return -errno;
		if (next == ~0U)
			return 0;
		from = next + 1;
	}
}

/*
 * The front parses what any local process sends it, so it keeps nothing of
 * nsreload's power: none of its fds (the boxes' cgroups, the watcher, the
 * terminal's job) but its own sockets, and, started as root, not root's
 * identity either (nobody, no groups, no new privileges). It needs none: it
 * only accepts on sockets bound already and connects to 127.0.0.1.
 * 0 or -errno.
 */
static int front_shed(const int *keep, size_t n)
{
	const uid_t nobody = 65534;
	int r = close_fds_except(keep, n);

	if (r < 0)
		return r;
	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(nobody, nobody, nobody) < 0 ||
			       setresuid(nobody, nobody, nobody) < 0))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* The child: the front's loop until nsreload is gone. Never returns. */
static void front_child(pid_t parent, int ctl, int http_fd, const struct handoff *tcp, const struct config *c)
{
	struct front_opts o = { .ctl_fd = ctl,
				.http_fd = http_fd,
				.proxy_port = c->proxy.proxy_port,
				.app_port = c->proxy.app_port,
				.timeout_ms = c->proxy.app_start_timeout_ms > 0
						      ? (unsigned)c->proxy.app_start_timeout_ms
						      : 5000,
				.tcp_fds = tcp->fds,
				.ntcp = tcp->n,
				.tcp_app_port = c->socket.app_port };

	int keep[2 + HANDOFF_MAX];
	size_t nkeep = 0;

	keep[nkeep++] = ctl;
	if (http_fd >= 0)
		keep[nkeep++] = http_fd;
	for (size_t i = 0; i < tcp->n && nkeep < sizeof(keep) / sizeof(keep[0]); i++)
		keep[nkeep++] = tcp->fds[i];
	if (front_shed(keep, nkeep) < 0)
		_exit(1);
	/* Killed with nsreload, whatever way it ends; and it may have ended before this line. Set after
	 * the change of identity, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	if (http_fd >= 0)
		(void)fcntl(http_fd, F_SETFL, O_NONBLOCK);
	for (size_t i = 0; i < tcp->n; i++)
		(void)fcntl(tcp->fds[i], F_SETFL, O_NONBLOCK);
	_exit(front_main(&o));
}

int frontctl_start(struct frontctl *fc, const struct config *c, struct log *log)
{
	bool http = c->proxy.enabled, tcp = c->socket.mode == CONFIG_SOCKET_TCP && c->socket.listen.n > 0;
	struct handoff tl = { .n = 0 };
	int sv[2], http_fd = -1, r;
	char why[256];
	pid_t pid, parent = getpid();

	*fc = (struct frontctl){ .fd = -1, .pidfd = -1 };
	if (!http && !tcp)
		return 0;
	r = check_config(c, log, http, tcp);
	if (r)
		return r;
	if (http) {
		http_fd = handoff_listen_local(c->proxy.proxy_port);
		if (http_fd < 0) {
			log_msg(log, LOG_MAIN, "cannot listen on 127.0.0.1:%d (proxy.proxy_port): %s",
				c->proxy.proxy_port, explain_errno(-http_fd, why, sizeof(why)));
			return 1;
		}
	}
	if (tcp) {
		r = handoff_bind(&tl, c, log);
		if (r < 0) {
			if (http_fd >= 0)
				close(http_fd);
			return r == -EINVAL ? 2 : 1;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		front_child(parent, sv[1], http_fd, &tl, c);
	}
	r = pid < 0 ? -errno : 0;
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		goto fail;
	}
	*fc = (struct frontctl){ .pid = pid, .fd = sv[0], .pidfd = (int)syscall(SYS_pidfd_open, pid, 0) };
	(void)fcntl(fc->fd, F_SETFL, O_NONBLOCK);
	if (http)
		log_msg(log, LOG_PROXY, "listening on http://127.0.0.1:%d -> app 127.0.0.1:%d",
			c->proxy.proxy_port, c->proxy.app_port);
	for (size_t i = 0; tcp && i < c->socket.listen.n; i++)
		log_msg(log, LOG_PROXY, "listening on tcp %s -> app 127.0.0.1:%d", c->socket.listen.v[i],
			c->socket.app_port);
	r = 0;
fail:
	/* The front holds the listeners now (or nobody does). */
	if (http_fd >= 0)
		close(http_fd);
	handoff_close(&tl);
	if (r < 0) {
		log_msg(log, LOG_MAIN, "cannot start the proxy: %s", explain_errno(-r, why, sizeof(why)));
		return 1;
	}
	return 0;
}

int frontctl_exempt(struct frontctl *fc, struct box_ctx *ctx)
{
	if (fc->pid <= 0 || fc->pidfd < 0)
		return 0;
	return box_ctx_exempt(ctx, fc->pid, fc->pidfd);
}

void frontctl_send(struct frontctl *fc, char kind, const char *data, size_t n)
{
	char *m;

	if (!fc || fc->fd < 0 || fc->gone)
		return;
	if (n > FRONTCTL_OUTPUT_MAX) {
		data += n - FRONTCTL_OUTPUT_MAX;
		n = FRONTCTL_OUTPUT_MAX;
	}
	m = malloc(n + 1);
	if (!m)
		return;
	m[0] = kind;
	if (n)
		memcpy(m + 1, data, n);
	/* A front too busy to take it (a full socket buffer) misses one state change, not the supervisor. */
	(void)send(fc->fd, m, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(m);
}

void frontctl_readable(struct frontctl *fc, struct log *log)
{
	char line[1100];

	for (;;) {
		ssize_t n = recv(fc->fd, line, sizeof(line), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (!fc->gone)
				log_msg(log, LOG_MAIN,
					"the proxy (pid %d) ended; nsreload goes on without it (no proxy, no "
					"browser "
					"reload)",
					(int)fc->pid);
			fc->gone = true;
			close(fc->fd); /* out of the epoll set too */
			fc->fd = -1;
			return;
		}
		if (line[0] == 'L')
			log_msg(log, LOG_PROXY, "%.*s", (int)n - 1, line + 1);
	}
}

void frontctl_stop(struct frontctl *fc)
{
	struct pollfd p;

	if (fc->fd >= 0)
		close(fc->fd);
	fc->fd = -1;
	if (fc->pid <= 0)
		return;
	/* It ends on the EOF; a front that does not within 2 s is killed. */
	if (fc->pidfd >= 0) {
		p = (struct pollfd){ .fd = fc->pidfd, .events = POLLIN };
		if (poll(&p, 1, 2000) == 0)
			(void)syscall(SYS_pidfd_send_signal, fc->pidfd, SIGKILL, NULL, 0);
		close(fc->pidfd);
		fc->pidfd = -1;
	}
	/* ECHILD: box_ctx_reap() reaped it already. WNOHANG: never wait on a pid that is someone else's now.
	 */
	(void)waitpid(fc->pid, NULL, WNOHANG);
	fc->pid = 0;
}
