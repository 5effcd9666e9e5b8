/*
 * handoff.h - socket hand-off (docs/run.md, "Socket hand-off"): with
 * socket.listen set and socket.mode = "fds", nsreload binds every address
 * once, at start, and passes the listening sockets to each run of the app as
 * fd 3 onwards with systemd's LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID
 * (box_spawn's pass_fds does the passing).
 *
 * Why: the sockets stay open in nsreload for its whole life, so across a
 * restart the port is never closed. The kernel queues the connections that
 * arrive while no run accepts in the socket's backlog, and the next run
 * accepts them: no client ever sees "connection refused". Builds and rule
 * commands never get them (they are CLOEXEC here).
 */
#ifndef NSRELOAD_HANDOFF_H
#define NSRELOAD_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct config;
struct log;

/* Queued connections per socket while no run accepts (the kernel caps it at net.core.somaxconn). */
#define HANDOFF_BACKLOG 1024
/* Sockets at most; as box.h's BOX_PASS_FDS_MAX. */
#define HANDOFF_MAX 64

struct handoff {
	int fds[HANDOFF_MAX]; /* listening, CLOEXEC, in socket.listen's order: the app's fd 3, 4, ... */
	size_t n;
	bool shell_told; /* handoff_check_argv() has warned once */
};

/*
 * Parses one socket.listen address: "PORT" (127.0.0.1:PORT), "HOST:PORT" with
 * an IPv4 literal or "localhost" (127.0.0.1), or "[IPv6]:PORT". PORT is
 * 1..65535. Returns 0 with *ss and *len set, or -EINVAL with why filled.
 */
int handoff_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *why,
		       size_t why_size);

/*
 * Binds and listens on every address of c's socket.listen when socket.mode is
 * "fds" (else does nothing): SO_REUSEADDR, so that a port whose last
 * connections wait in TIME_WAIT can be bound again at once. h is left empty
 * on failure. Returns 0, -EINVAL for an address that does not parse, or the
 * -errno of the socket, bind or listen that failed; each after a log line
 * naming the address and where it was set.
 */
int handoff_open(struct handoff *h, const struct config *c, struct log *log);
/* One listening socket on 127.0.0.1:port as handoff_open() makes them (the proxy's port). fd or -errno. */
int handoff_listen_local(int port);
/* handoff_open() whatever socket.mode says: the front's listeners in tcp mode (frontctl.h). */
int handoff_bind(struct handoff *h, const struct config *c, struct log *log);
/*
 * Warns once when sockets are passed to an app that /bin/sh -c runs (a line
 * with shell syntax, config_app.c) without an exec in it: LISTEN_PID is then
 * the shell's pid, as Debian's dash (0.5.12) forks even a lone last command,
 * and sd_listen_fds() in the app ignores the sockets.
 */
void handoff_check_argv(struct handoff *h, char *const *argv, struct log *log);
/* Closes every socket; h is empty after. Safe on an empty or zeroed h. */
void handoff_close(struct handoff *h);

#endif
