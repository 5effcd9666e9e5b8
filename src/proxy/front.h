/*
 * front.h - the front: nsreload's HTTP proxy and TCP front door, one process
 * of its own (docs/design.md, "The front"), forked by 'nsreload run'
 * (front_ctl.h) with its listeners bound already.
 *
 * THE CONTRACT
 *  - front_main() runs one epoll loop until the control socket (a
 *    SOCK_SEQPACKET socketpair) reaches EOF, then returns 0: nsreload has
 *    exited or closed it. It installs no signal handler (the caller set
 *    PR_SET_PDEATHSIG and blocked the signals).
 *  - Control messages, one per packet, first byte the kind (from nsreload):
 *    'B' build started; 'F' build failed + its output; 'O' build ok;
 *    'S' the app is stopping (new requests are held, not sent to the old run);
 *    'R' a run started (the app port is probed until it answers, then the
 *    browsers get "reload" and held requests go); 'D' the app is down.
 *    To nsreload: 'L' + one line for its log.
 *  - HTTP (http_fd >= 0): requests go to 127.0.0.1:app_port, HTML is
 *    injected with the client script (inject.h), /__nsreload/{client.js,
 *    events,status} are served here; a refused request is held and retried
 *    up to app_start_timeout_ms, then a 502 page. Upgrade requests that get
 *    101 become tunnels.
 *  - Connections to the app are kept for the next request (a pool of at most
 *    FRONT_POOL_MAX idle ones) when its answer allowed it: keep-alive, whole,
 *    nothing after it. Only retryable requests (http_req_retryable) take a
 *    pooled connection: one the app closed meanwhile costs them a second try
 *    on a new connection, never a failure; the others (POST, ...) always
 *    connect anew, as they could not be sent twice. 'S', 'R' and 'D' empty the
 *    pool, and a connection opened before them is not kept: none is reused
 *    across a restart.
 *  - TCP (ntcp > 0): each accepted connection is tunnelled to
 *    127.0.0.1:tcp_app_port, held the same way while the app is away.
 *  - Untrusted input never takes the front down: bad requests get 400, 431,
 *    413 or 408 and are closed; at most FRONT_MAX_CONNS connections.
 */
#ifndef NSRELOAD_FRONT_H
#define NSRELOAD_FRONT_H

#include <stddef.h>

#define FRONT_MAX_CONNS 1024
/* The headers of a request must be complete within this long. */
#define FRONT_HEAD_TIMEOUT_MS 10000
/* A keep-alive connection with no request, or a request body without progress, is closed after this. */
#define FRONT_IDLE_TIMEOUT_MS 60000
/* Idle keep-alive connections to the app kept for the next requests. */
#define FRONT_POOL_MAX 32
/* How often held requests try the app again, and the app port is probed after 'R'. */
#define FRONT_RETRY_MS 25
/* The longest control message: 'F' and 64 KiB of build output. */
#define FRONT_MSG_MAX (1 + 64 * 1024)

struct front_opts {
	int ctl_fd;          /* the control socket */
	int http_fd;         /* the proxy's listening socket, or -1 */
	int proxy_port;      /* for the log */
	int app_port;        /* proxy.app_port */
	unsigned timeout_ms; /* proxy.app_start_timeout */
	const int *tcp_fds;  /* socket.listen, in tcp mode */
	size_t ntcp;
	int tcp_app_port; /* socket.app_port */
};

int front_main(const struct front_opts *o);

#endif
