/* The front's loop: listeners, connections, the app's state (front.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "front.h"
#include "http_req.h"
#include "inject.h"
#include "util.h"

/* A direction's buffer is full at this: reading into it stops until the other side drains it. */
#define BUF_HIGH (256 * 1024)
/* A buffer up to this size is kept from one request to the next (no malloc and free for each). */
#define BUF_KEEP (64 * 1024)
/* How much of the app's answer one recv takes. */
#define UP_READ (256 * 1024)
/* An injected page is buffered up to this; a larger one passes through untouched. */
#define INJECT_MAX (16 * 1024 * 1024)
/* An SSE client that lets this much pile up is dropped. */
/* An answer up to this long (by its Content-Length) is kept until whole: retried if the run dies. */
#define SMALL_ANSWER (64 * 1024)
#define SSE_MAX      (1024 * 1024)

enum item_kind { IT_CTL, IT_TIMER, IT_HTTP_LISTEN, IT_TCP_LISTEN, IT_CLIENT, IT_UP, IT_POOL };

/* What an epoll event points to. */
struct item {
	enum item_kind kind;
	int fd;
	uint32_t ev; /* the mask registered */
};

struct buf {
	char *p;
	size_t off, len, cap; /* the data is p[off, len) */
};

enum conn_state {
	C_READ,       /* reading a request */
	C_HELD,       /* waiting for the app to listen (or to be back) */
	C_CONNECTING, /* connect() in progress */
	C_UPSTREAM,   /* the request goes to the app, its response comes back */
	C_RESPONDING, /* a response of our own (or the app's, finished) is sent; then the next request */
	C_CLOSING,    /* the last bytes are sent, then the connection closes */
	C_SSE,        /* /__nsreload/events */
	C_TUNNEL,     /* after 101, or a tcp-mode connection: bytes both ways */
};

struct conn {
	struct item cli, up;
	struct conn *prev, *next;
	struct front *f;
	bool tcp; /* a tcp-mode connection (no HTTP) */
	enum conn_state state;
	struct buf in;    /* from the client, not parsed yet */
	struct buf out;   /* to the client */
	struct buf upout; /* to the app */
	struct http_req req;
	char ip[INET6_ADDRSTRLEN];
	uint64_t deadline_ns; /* 0: none */
	uint64_t hold_until_ns;
	bool cli_eof, up_eof, cli_shut, up_shut, dead;
	bool up_pooled;  /* up came from the pool: the app may have closed it meanwhile */
	unsigned up_gen; /* f->gen when up was opened: kept only if no restart came since */
	/* The app's response. */
	http_parser rp;
	bool resp_started, resp_done, interim, inject, chunked_out, close_after;
	/*
	 * Bytes of the answer went to the client (or may): from then on a lost connection to the app fails
	 * the request. Until then the answer waits in out (from out_mark on), so that a run killed in the
	 * middle of a small answer costs a retry, not a failure.
	 */
	bool committed;
	size_t out_mark;
	struct http_head rh; /* the reason phrase and the headers */
	struct buf body;     /* a page to inject */
};

struct front {
	const struct front_opts *o;
	int ep;
	struct item ctl, timer, http_listen, *tcp_listen;
	struct conn *conns;
	struct item pool[FRONT_POOL_MAX]; /* idle connections to the app (fd -1: a free slot) */
	unsigned gen; /* counts 'S', 'R' and 'D': connections of an older run are not kept */
	size_t nconns, nheld;
	struct conn *dead; /* closed during this batch of events: freed after it */
	uint64_t timer_period_ms;
	/* The app, as nsreload tells it. */
	bool stopping; /* 'S' until 'R' and an answer on the port: hold, do not send to the old run */
	bool probing;  /* after 'R' */
	enum { APP_STARTING, APP_UP, APP_STOPPING, APP_DOWN } app;
	enum { BUILD_NONE, BUILD_RUNNING, BUILD_OK, BUILD_FAILED } build;
	bool failed; /* the last build that ended failed: its output stays on every page */
	char *build_output;
	size_t build_output_len;
	char msg[FRONT_MSG_MAX + 1];
	/* The app's answers are read through this: a 1 MiB answer in a few recv calls, not 16. */
	char rbuf[UP_READ];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define MS(x) ((uint64_t)(x)*1000000ULL)

/* ---- buffers ------------------------------------------------------------------------------------ */

static size_t buf_size(const struct buf *b)
{
	return b->len - b->off;
}

static int buf_add(struct buf *b, const void *data, size_t n)
{
	if (!n)
		return 0;
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		size_t c = b->cap ? b->cap : 4096;
		char *p;
		if (b->off) { /* compact first */
			memmove(b->p, b->p + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		while (c < b->len + n)
			c *= 2;
		if (c != b->cap) {
			p = realloc(b->p, c);
			if (!p)
				return -ENOMEM;
			b->p = p;
			b->cap = c;
		}
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024], *big = NULL;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(tmp))
		return buf_add(b, tmp, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = buf_add(b, big, (size_t)n);
	free(big);
	return r;
}

/* "Name: value\r\n" of header x of h (no printf: this runs for every header of every answer). */
static int buf_add_header(struct buf *b, const struct http_head *h, const struct http_hdr *x)
{
	if (buf_add(b, h->text + x->name, x->name_len) < 0 || buf_add(b, ": ", 2) < 0 ||
	    buf_add(b, h->text + x->value, x->value_len) < 0 || buf_add(b, "\r\n", 2) < 0)
		return -ENOMEM;
	return 0;
}

/* "HTTP/1.1 NNN reason\r\n": the status (100 to 999, as http-parser takes it) and the app's reason. */
static int buf_add_status(struct buf *b, unsigned status, const struct http_head *h)
{
	char line[14] = "HTTP/1.1 000 ";

	line[9] = (char)('0' + status / 100 % 10);
	line[10] = (char)('0' + status / 10 % 10);
	line[11] = (char)('0' + status % 10);
	if (buf_add(b, line, 13) < 0 || buf_add(b, h->text, h->first_len) < 0 || buf_add(b, "\r\n", 2) < 0)
		return -ENOMEM;
	return 0;
}

static void buf_drop(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){ 0 };
}

/* Empty; the memory is kept for the next request unless it grew past BUF_KEEP. */
static void buf_empty(struct buf *b)
{
	if (b->cap > BUF_KEEP)
		buf_free(b);
	b->off = b->len = 0;
}

/* Writes what it can of b to fd: 0 (maybe partly), or -errno (the peer is gone). */
static int buf_flush(struct buf *b, int fd)
{
	while (buf_size(b)) {
		ssize_t w = send(fd, b->p + b->off, buf_size(b), MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		buf_drop(b, (size_t)w);
	}
	return 0;
}

/* Reads from fd into b (up to 64 KiB): bytes read, 0 at EOF, -EAGAIN, or -errno. */
static ssize_t buf_read(struct buf *b, int fd)
{
	char tmp[65536];
	ssize_t n = recv(fd, tmp, sizeof(tmp), 0);

	if (n < 0)
		return -errno;
	if (n > 0 && buf_add(b, tmp, (size_t)n) < 0)
		return -ENOMEM;
	return n;
}

/* ---- the log, through nsreload --------------------------------------------------------------------- */

static void front_log(struct front *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void front_log(struct front *f, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	line[0] = 'L';
	va_start(ap, fmt);
	n = vsnprintf(line + 1, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	(void)send(f->o->ctl_fd, line, (size_t)n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- epoll ------------------------------------------------------------------------------------------- */

static int ep_add(struct front *f, struct item *it, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = it };

	if (epoll_ctl(f->ep, EPOLL_CTL_ADD, it->fd, &e) < 0)
		return -errno;
	it->ev = ev;
	return 0;
}

static void ep_set(struct front *f, struct item *it, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = it };

	if (it->fd < 0 || it->ev == ev)
		return;
	if (epoll_ctl(f->ep, EPOLL_CTL_MOD, it->fd, &e) == 0)
		it->ev = ev;
}

/* Points fd's registration to it (another item held it): 0 or -errno. */
static int ep_mod(struct front *f, struct item *it, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = it };

	if (epoll_ctl(f->ep, EPOLL_CTL_MOD, it->fd, &e) < 0)
		return -errno;
	it->ev = ev;
	return 0;
}

static void item_close(struct item *it)
{
	if (it->fd >= 0)
		close(it->fd); /* closing drops it from the epoll set */
	it->fd = -1;
	it->ev = 0;
}

static struct conn *conn_of(struct item *it)
{
	if (it->kind == IT_CLIENT)
		return (struct conn *)((char *)it - offsetof(struct conn, cli));
	return (struct conn *)((char *)it - offsetof(struct conn, up));
}

/* ---- the pool of idle connections to the app --------------------------------------------------------- */

/* Keeps fd (its answer done, the app keeps it open) for the next request, or closes it: the pool is full. */
static void pool_put(struct front *f, int fd)
{
	for (size_t i = 0; i < FRONT_POOL_MAX; i++) {
		struct item *it = &f->pool[i];
		if (it->fd >= 0)
			continue;
		*it = (struct item){ .kind = IT_POOL, .fd = fd };
		/* Readable while idle: the app closed it (or talks out of turn): dropped. */
		if (ep_mod(f, it, EPOLLIN) < 0)
			item_close(it);
		return;
	}
	close(fd);
}

/* An idle connection (still registered for its slot: the taker points it elsewhere), or -1. */
static int pool_take(struct front *f)
{
	for (size_t i = 0; i < FRONT_POOL_MAX; i++) {
		int fd = f->pool[i].fd;
		if (fd < 0)
			continue;
		f->pool[i].fd = -1;
		f->pool[i].ev = 0;
		return fd;
	}
	return -1;
}

static void pool_drop(struct front *f)
{
	for (size_t i = 0; i < FRONT_POOL_MAX; i++)
		item_close(&f->pool[i]);
}

/* An idle connection became readable: EOF or bytes nobody asked for, both end it. */
static void pool_event(struct item *it)
{
	char b;

	if (it->fd < 0)
		return;
	if (recv(it->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EINTR))
		return; /* an event of the fd this slot held before, taken and put back in the same batch */
	item_close(it);
}

/* ---- connections -------------------------------------------------------------------------------------- */

static void conn_set_held(struct conn *c, bool held)
{
	bool was = c->state == C_HELD;

	if (was && !held)
		c->f->nheld--;
	else if (!was && held)
		c->f->nheld++;
}

static void conn_state(struct conn *c, enum conn_state s)
{
	conn_set_held(c, s == C_HELD);
	c->state = s;
}

/* Closes both sides; the struct is freed after this batch of events (others may point to it). */
static void conn_close(struct conn *c)
{
	struct front *f = c->f;

	if (c->dead)
		return;
	conn_state(c, C_CLOSING);
	c->dead = true;
	item_close(&c->cli);
	item_close(&c->up);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	f->nconns--;
	c->next = f->dead;
	f->dead = c;
}

static void conn_free(struct conn *c)
{
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->upout);
	http_head_free(&c->rh);
	buf_free(&c->body);
	http_req_free(&c->req);
	free(c);
}

/* The epoll masks the state and the buffers call for: backpressure both ways. */
static void conn_update(struct conn *c)
{
	uint32_t cev = 0, uev = 0;
	bool out = buf_size(&c->out) > 0;

	if (c->dead)
		return;
	switch (c->state) {
	case C_READ:
	case C_SSE:
		cev = EPOLLIN;
		break;
	case C_HELD:
	case C_CONNECTING:
		/* tcp mode: what the client sends meanwhile waits in upout, up to the mark. */
		if (c->tcp && !c->cli_eof && buf_size(&c->upout) < BUF_HIGH)
			cev = EPOLLIN;
		uev = c->state == C_CONNECTING ? EPOLLOUT : 0;
		break;
	case C_UPSTREAM:
		uev = (buf_size(&c->upout) ? EPOLLOUT : 0) | (buf_size(&c->out) < BUF_HIGH ? EPOLLIN : 0);
		/* Still read (what comes is the next request's, kept in in): no epoll_ctl back and forth. */
		cev = !c->cli_eof && buf_size(&c->in) < BUF_HIGH ? EPOLLIN : 0;
		break;
	case C_TUNNEL:
		cev = !c->cli_eof && buf_size(&c->upout) < BUF_HIGH ? EPOLLIN : 0;
		uev = (!c->up_eof && buf_size(&c->out) < BUF_HIGH ? EPOLLIN : 0) |
		      (buf_size(&c->upout) ? EPOLLOUT : 0);
		break;
	case C_RESPONDING:
	case C_CLOSING:
		break;
	}
	if (out && (c->state != C_UPSTREAM || c->committed))
		cev |= EPOLLOUT;
	ep_set(c->f, &c->cli, cev);
	ep_set(c->f, &c->up, uev);
}

static void conn_timeout(struct conn *c, uint64_t ms)
{
	c->deadline_ns = ms ? now_ns() + MS(ms) : 0;
}

/* ---- responses of our own -------------------------------------------------------------------------- */

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* Sends a whole response; close: the connection closes after it, else the next request is read. */
static void respond(struct conn *c, int status, const char *type, const char *body, size_t n,
		    bool close_after)
{
	close_after = close_after || !c->req.keep_alive;
	if (buf_printf(
		    &c->out,
		    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
		    "Connection: %s\r\n\r\n",
		    status, reason_of(status), type, c->req.head ? 0 : n,
		    close_after ? "close" : "keep-alive") < 0 ||
	    (!c->req.head && buf_add(&c->out, body, n) < 0)) {
		conn_close(c);
		return;
	}
	conn_state(c, close_after ? C_CLOSING : C_RESPONDING);
	conn_timeout(c, FRONT_IDLE_TIMEOUT_MS);
}

static void respond_error(struct conn *c, int status, const char *why)
{
	char body[512];
	int n = snprintf(body, sizeof(body), "%d %s: %s\n", status, reason_of(status), why);

	respond(c, status, "text/plain; charset=utf-8", body, (size_t)n, true);
}

/* The 502 page: what failed, the app's port, the timeout. */
static void respond_502(struct conn *c, const char *what)
{
	char body[2048];
	int n = snprintf(
		body, sizeof(body),
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>502 Bad Gateway - nsreload"
		"</title></head>\n<body style=\"font-family:sans-serif;margin:2em\">\n"
		"<h1>502 Bad Gateway</h1>\n<p>nsreload's proxy could not get an answer from the app at "
		"<b>127.0.0.1:%d</b>: %s.</p>\n<p>It waited %u ms (proxy.app_start_timeout) for the app "
		"to listen. Check that the app listens on proxy.app_port (%d) and look at nsreload's "
		"output for its errors. This page reloads when the app is back.</p>\n%s\n</body></html>\n",
		c->f->o->app_port, what, c->f->o->timeout_ms, c->f->o->app_port, inject_tag);

	front_log(c->f, "502 for %s: the app at 127.0.0.1:%d: %s", http_method_str(c->req.p.method),
		  c->f->o->app_port, what);
	respond(c, 502, "text/html; charset=utf-8", body, (size_t)n, false);
}

/* ---- the app's state, and SSE ----------------------------------------------------------------------- */

static void sse_send(struct front *f, const char *event, const char *data)
{
	for (struct conn *c = f->conns; c; c = c->next) {
		if (c->state != C_SSE)
			continue;
		if (buf_printf(&c->out, "event: %s\ndata: %s\n\n", event, data) < 0 ||
		    buf_size(&c->out) > SSE_MAX) {
			conn_close(c);
			continue;
		}
		conn_update(c);
	}
}

/* The build's output as the data of build-failed: {"output": "..."} on one line. */
static char *failed_json(const struct front *f)
{
	char *s = NULL, *text;
	size_t n = 0;
	FILE *m;

	text = strndup(f->build_output ? f->build_output : "", f->build_output_len);
	m = text ? open_memstream(&s, &n) : NULL;
	if (!m) {
		free(text);
		return NULL;
	}
	fputs("{\"output\": ", m);
	fput_quoted(m, text);
	fputs("}", m);
	free(text);
	if (fclose(m) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void sse_build_failed(struct front *f, struct conn *only)
{
	char *json = failed_json(f);

	if (!json)
		return;
	if (only) {
		(void)buf_printf(&only->out, "event: build-failed\ndata: %s\n\n", json);
	} else {
		sse_send(f, "build-failed", json);
	}
	free(json);
}

static const char *app_name(const struct front *f)
{
	static const char *const names[] = { "starting", "running", "stopping", "down" };
	return names[f->app];
}

static const char *build_name(const struct front *f)
{
	static const char *const names[] = { "none", "running", "ok", "failed" };
	return names[f->build];
}

/* ---- the request path ---------------------------------------------------------------------------------- */

static void start_upstream(struct conn *c);
static void start_upstream_fresh(struct conn *c);
static void upstream_ready(struct conn *c);
static void flush_now(struct conn *c);
static void client_parse(struct conn *c);

static void serve_events(struct conn *c)
{
	if (buf_printf(&c->out,
		       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
		       "Connection: keep-alive\r\nX-Accel-Buffering: no\r\n\r\nretry: 500\n: nsreload\n\n") <
	    0) {
		conn_close(c);
		return;
	}
	/* The state now: a page reloaded under a failed build shows its overlay again. */
	if (c->f->failed)
		sse_build_failed(c->f, c);
	conn_state(c, C_SSE);
	conn_timeout(c, 0);
}

static void serve_status(struct conn *c)
{
	char body[256];
	int n = snprintf(
		body, sizeof(body),
		"{\"app\": \"%s\", \"build\": \"%s\", \"held\": %zu, \"connections\": %zu, \"pid\": %d}\n",
		app_name(c->f), build_name(c->f), c->f->nheld, c->f->nconns, (int)getpid());

	respond(c, 200, "application/json", body, (size_t)n, false);
}

/* A whole request: ours (/__nsreload/...), or the app's. */
static void handle_request(struct conn *c)
{
	char path[256];

	http_req_path(&c->req, path, sizeof(path));
	if (strncmp(path, "/__nsreload/", 12) == 0) {
		size_t n;
		const char *js;

		if (strcmp(path, "/__nsreload/client.js") == 0) {
			js = inject_client_js(&n);
			respond(c, 200, "text/javascript; charset=utf-8", js, n, false);
		} else if (strcmp(path, "/__nsreload/events") == 0) {
			serve_events(c);
		} else if (strcmp(path, "/__nsreload/status") == 0) {
			serve_status(c);
		} else {
			respond(c, 404, "text/plain", "not found\n", 10, false);
		}
		conn_update(c);
		return;
	}
	/* No deadline while the app works on it (long polls); the hold has its own. */
	conn_timeout(c, 0);
	c->hold_until_ns = now_ns() + MS(c->f->o->timeout_ms);
	start_upstream(c);
}

/* Parses what the client sent; a whole request goes on, a bad one is answered and closed. */
static void client_parse(struct conn *c)
{
	char expect[64];

	while (c->state == C_READ && buf_size(&c->in)) {
		enum http_req_state was = c->req.state;
		size_t used = http_req_feed(&c->req, c->in.p + c->in.off, buf_size(&c->in));

		buf_drop(&c->in, used);
		if (was == HTTP_REQ_EMPTY && c->req.state != HTTP_REQ_EMPTY)
			conn_timeout(c, FRONT_HEAD_TIMEOUT_MS);
		switch (c->req.state) {
		case HTTP_REQ_BAD:
			respond_error(c, 400, "malformed request");
			break;
		case HTTP_REQ_TOO_LARGE:
			respond_error(c, 431, "the request's header section is over 64 KiB");
			break;
		case HTTP_REQ_BODY_TOO_LARGE:
			respond_error(c, 413, "the request body is over 64 MiB");
			break;
		case HTTP_REQ_DONE:
			handle_request(c);
			break;
		case HTTP_REQ_BODY:
			if (was == HTTP_REQ_HEAD &&
			    http_req_header(&c->req, "expect", expect, sizeof(expect)) &&
			    strcasecmp(expect, "100-continue") == 0)
				(void)buf_printf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
			conn_timeout(c, FRONT_IDLE_TIMEOUT_MS);
			break;
		default:
			break;
		}
		if (!used)
			break;
	}
	conn_update(c);
}

/* The next request on a keep-alive connection (what the client sent ahead is parsed now). */
static void conn_next_request(struct conn *c)
{
	item_close(&c->up);
	http_req_reset(&c->req);
	http_head_clear(&c->rh); /* kept for the next answer: at most 64 KiB */
	buf_free(&c->body);
	buf_empty(&c->upout);
	c->resp_started = c->resp_done = c->interim = c->inject = c->chunked_out = c->close_after = false;
	conn_state(c, C_READ);
	conn_timeout(c, FRONT_IDLE_TIMEOUT_MS);
	client_parse(c);
	if (c->state == C_READ && c->cli_eof)
		conn_close(c); /* the client ended while its last request was with the app */
}

/* Holds a request (or a tcp connection) until the app listens, or the timeout: 502, or closed. */
static void conn_hold(struct conn *c, const char *why)
{
	item_close(&c->up);
	if (now_ns() >= c->hold_until_ns) {
		if (c->tcp)
			conn_close(c);
		else
			respond_502(c, why);
		conn_update(c);
		return;
	}
	conn_state(c, C_HELD);
	conn_update(c);
}

static int connect_local(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* A new connection to the app; refused: the request is held. */
static void start_upstream_fresh(struct conn *c)
{
	int fd = connect_local(c->tcp ? c->f->o->tcp_app_port : c->f->o->app_port);

	if (fd < 0) {
		conn_hold(c, "connection refused");
		return;
	}
	c->up.fd = fd;
	c->up_pooled = false;
	c->up_gen = c->f->gen;
	if (ep_add(c->f, &c->up, EPOLLOUT) < 0) {
		conn_close(c);
		return;
	}
	conn_state(c, C_CONNECTING);
	conn_update(c);
}

/*
 * Sends the request to the app, unless it is stopping: then it is held. A
 * pooled connection only for a request that may go twice (front.h).
 */
static void start_upstream(struct conn *c)
{
	int fd;

	if (c->f->stopping) {
		conn_hold(c, "it was restarting and did not listen again in time");
		return;
	}
	if (!c->tcp && http_req_retryable(&c->req)) {
		while ((fd = pool_take(c->f)) >= 0) {
			c->up = (struct item){ .kind = IT_UP, .fd = fd };
			if (ep_mod(c->f, &c->up, EPOLLIN) == 0) {
				c->up_pooled = true;
				c->up_gen = c->f->gen;
				upstream_ready(c);
				return;
			}
			item_close(&c->up);
		}
	}
	start_upstream_fresh(c);
}

/* ---- the app's response ------------------------------------------------------------------------------ */

static struct conn *rconn(http_parser *p)
{
	return p->data;
}

/* A piece of the app's head, or the end of its answer (1): too large, or malformed. */
static int r_status(http_parser *p, const char *at, size_t n)
{
	return http_head_first(&rconn(p)->rh, at, n) != 0;
}

static int r_field(http_parser *p, const char *at, size_t n)
{
	return http_head_field(&rconn(p)->rh, at, n) != 0;
}

static int r_value(http_parser *p, const char *at, size_t n)
{
	return http_head_value(&rconn(p)->rh, at, n) != 0;
}

/*
 * The response's head for the client: the app's headers but the hop-by-hop
 * ones; content_length >= 0: that Content-Length (an injected page), else
 * the app's framing (Content-Length kept, chunked re-chunked, or closed).
 */
static int emit_head(struct conn *c, long long content_length)
{
	http_parser *p = &c->rp;
	bool no_body = c->req.head || p->status_code == 204 || p->status_code == 304 ||
		       (p->status_code >= 100 && p->status_code < 200);
	bool has_cl = (p->flags & F_CONTENTLENGTH) != 0;
	int r;

	r = buf_add_status(&c->out, p->status_code, &c->rh);
	for (size_t i = 0; r == 0 && i < c->rh.n; i++) {
		struct http_hdr *h = &c->rh.hdr[i];
		if (http_head_is(&c->rh, h, "connection") || http_head_is(&c->rh, h, "keep-alive") ||
		    http_head_is(&c->rh, h, "transfer-encoding") ||
		    http_head_is(&c->rh, h, "proxy-connection") ||
		    (content_length >= 0 && http_head_is(&c->rh, h, "content-length")))
			continue;
		r = buf_add_header(&c->out, &c->rh, h);
	}
	if (r < 0)
		return r;
	if (content_length >= 0)
		r = buf_printf(&c->out, "Content-Length: %lld\r\n", content_length);
	/* HTTP/1.0 clients know no chunks: theirs ends with the connection. */
	else if (!no_body && !has_cl && (p->flags & F_CHUNKED) && c->req.p.http_minor > 0) {
		c->chunked_out = true;
		r = buf_printf(&c->out, "Transfer-Encoding: chunked\r\n");
	} else if (!no_body && !has_cl)
		c->close_after = true; /* the body ends when the app closes */
	if (r == 0 && (c->close_after || !c->req.keep_alive))
		r = buf_add(&c->out, "Connection: close\r\n\r\n", 21);
	else if (r == 0)
		r = buf_add(&c->out, "Connection: keep-alive\r\n\r\n", 26);
	return r;
}

static int emit_body(struct conn *c, const char *at, size_t n)
{
	if (!n)
		return 0;
	if (c->chunked_out && (buf_printf(&c->out, "%zx\r\n", n) < 0 || buf_add(&c->out, at, n) < 0 ||
			       buf_add(&c->out, "\r\n", 2) < 0))
		return -ENOMEM;
	if (!c->chunked_out && buf_add(&c->out, at, n) < 0)
		return -ENOMEM;
	return 0;
}

static int r_headers_complete(http_parser *p)
{
	struct conn *c = rconn(p);
	char type[256], enc[128];
	const char *ct, *ce;
	enum inject_enc e;

	if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
		c->interim = true; /* 100 Continue and the like: the request went whole; dropped */
		return 0;
	}
	if (p->status_code == 101 && c->req.upgrade) {
		/* The head as it is (Connection: Upgrade, Upgrade: ...), then the tunnel. */
		(void)buf_printf(&c->out, "HTTP/1.1 101 %.*s\r\n", (int)c->rh.first_len, c->rh.text);
		for (size_t i = 0; i < c->rh.n; i++) {
			struct http_hdr *h = &c->rh.hdr[i];
			(void)buf_add_header(&c->out, &c->rh, h);
		}
		(void)buf_add(&c->out, "\r\n", 2);
		return 0;
	}
	ct = http_head_get(&c->rh, "content-type", type, sizeof(type));
	ce = http_head_get(&c->rh, "content-encoding", enc, sizeof(enc));
	c->inject = inject_wanted(p->status_code, ct, ce, c->req.head) && inject_enc_parse(ce, &e) == 0;
	/* A stream (no Content-Length, or a long one) goes as it comes; a short answer waits until whole. */
	if (!c->inject && (!(p->flags & F_CONTENTLENGTH) || p->content_length > SMALL_ANSWER))
		c->committed = true;
	if (!c->inject && emit_head(c, -1) < 0)
		return -1;
	/* 1: no body (the answer to HEAD). */
	return c->req.head ? 1 : 0;
}

static int r_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = rconn(p);

	if (!c->inject)
		return emit_body(c, at, n) < 0;
	if (buf_size(&c->body) + n <= INJECT_MAX)
		return buf_add(&c->body, at, n) < 0;
	/* Too large to inject: what was kept goes out as it came, and the rest streams. */
	c->inject = false;
	if (emit_head(c, -1) < 0 || emit_body(c, c->body.p + c->body.off, buf_size(&c->body)) < 0)
		return 1;
	buf_free(&c->body);
	return emit_body(c, at, n) < 0;
}

static int r_complete(http_parser *p)
{
	struct conn *c = rconn(p);

	if (c->interim) {
		/* The real response follows. */
		c->interim = false;
		http_head_clear(&c->rh);
		return 0;
	}
	if (c->inject) {
		char type[128];
		enum inject_enc e = INJECT_IDENTITY;
		void *o = NULL;
		size_t on = 0;

		(void)inject_enc_parse(http_head_get(&c->rh, "content-encoding", type, sizeof(type)), &e);
		if (inject_body(e, c->body.p + c->body.off, buf_size(&c->body), inject_tag,
				strlen(inject_tag), &o, &on) == 0) {
			int r = emit_head(c, (long long)on) < 0 || buf_add(&c->out, o, on) < 0;
			free(o);
			if (r)
				return 1;
		} else if (emit_head(c, (long long)buf_size(&c->body)) < 0 ||
			   buf_add(&c->out, c->body.p + c->body.off, buf_size(&c->body)) < 0) {
			return 1; /* a corrupt body goes as it came */
		}
		buf_free(&c->body);
	} else if (c->chunked_out && buf_add(&c->out, "0\r\n\r\n", 5) < 0) {
		return 1;
	}
	c->resp_done = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings resp_settings = {
	.on_status = r_status,
	.on_header_field = r_field,
	.on_header_value = r_value,
	.on_headers_complete = r_headers_complete,
	.on_body = r_body,
	.on_message_complete = r_complete,
};

/*
 * The response is whole: the next request, or the end. keep: the app's answer
 * lets its connection serve another request (keep-alive, nothing after it);
 * it goes to the pool unless a restart came since it was opened.
 */
static void response_done(struct conn *c, bool keep)
{
	struct front *f = c->f;

	/* An answer that came before the whole request went (an early 413, say): the rest would be a request.
	 */
	if (keep && !f->stopping && c->up_gen == f->gen && c->up.fd >= 0 && !buf_size(&c->upout)) {
		pool_put(f, c->up.fd);
		c->up.fd = -1;
		c->up.ev = 0;
	}
	item_close(&c->up);
	if (c->close_after || !c->req.keep_alive)
		conn_state(c, C_CLOSING);
	else
		conn_state(c, C_RESPONDING);
	conn_timeout(c, FRONT_IDLE_TIMEOUT_MS);
	/* dispatch() sends the answer and updates the epoll masks. */
}

/* The app closed or reset before a byte of its answer: again (the new run), or 502. */
static void upstream_lost(struct conn *c, const char *why)
{
	if (c->tcp) {
		conn_close(c);
		return;
	}
	if (!c->committed && http_req_retryable(&c->req)) {
		/* Nothing of this answer reached the client: it goes again, to the new run. */
		c->out.len = c->out.off + c->out_mark;
		buf_free(&c->upout);
		if (c->up_pooled && !c->resp_started) {
			/* The app closed an idle connection as it was taken: again at once, on a new one. */
			item_close(&c->up);
			start_upstream_fresh(c);
			return;
		}
		conn_hold(c, why);
		return;
	}
	if (!c->resp_started) {
		respond_502(c, why);
		conn_update(c);
		return;
	}
	/* Part of the answer is out: the client must see the connection end. */
	conn_state(c, C_CLOSING);
	conn_update(c);
}

/* Bytes after the 101 (the app's) and after the request's head (the client's) start the tunnel. */
static void start_tunnel(struct conn *c, const char *rest, size_t n)
{
	conn_state(c, C_TUNNEL);
	conn_timeout(c, 0);
	if (n)
		(void)buf_add(&c->out, rest, n);
	/* What the client sent after its Upgrade request is the tunnel's. */
	if (buf_size(&c->in)) {
		(void)buf_add(&c->upout, c->in.p + c->in.off, buf_size(&c->in));
		buf_drop(&c->in, buf_size(&c->in));
	}
}

static void upstream_readable(struct conn *c)
{
	ssize_t n;
	size_t used;

	if (c->state == C_TUNNEL) {
		n = buf_read(&c->out, c->up.fd);
		if (n == 0)
			c->up_eof = true;
		else if (n < 0 && n != -EAGAIN) {
			conn_close(c);
			return;
		}
		return;
	}
	{
		char *tmp = c->f->rbuf;
		ssize_t r = recv(c->up.fd, tmp, UP_READ, 0);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r < 0) {
			upstream_lost(c, "the connection was reset before an answer");
			return;
		}
		if (r == 0) {
			if (!c->resp_started) {
				upstream_lost(c, "the connection closed before an answer");
				return;
			}
			http_parser_execute(&c->rp, &resp_settings, NULL, 0);
			if (c->resp_done)
				response_done(c, false);
			else
				upstream_lost(c, "the connection closed in the middle of the answer");
			return;
		}
		c->resp_started = true;
		used = http_parser_execute(&c->rp, &resp_settings, tmp, (size_t)r);
		if (c->rp.upgrade && c->rp.status_code == 101 && c->req.upgrade) {
			start_tunnel(c, tmp + used, (size_t)r - used);
			return;
		}
		if (c->resp_done) {
			response_done(c, used == (size_t)r && http_should_keep_alive(&c->rp));
			return;
		}
		if (HTTP_PARSER_ERRNO(&c->rp) != HPE_OK) {
			if (buf_size(&c->out) == 0 && !c->inject)
				respond_502(c, "its answer was not valid HTTP");
			else
				conn_state(c, C_CLOSING);
			item_close(&c->up);
		}
	}
}

/* Connected (or taken from the pool): the request goes out, its answer is awaited. */
static void upstream_ready(struct conn *c)
{
	char *req = NULL;
	size_t n = 0;

	conn_state(c, c->tcp ? C_TUNNEL : C_UPSTREAM);
	if (!c->tcp) {
		if (http_req_write(&c->req, c->ip, &req, &n) < 0 || buf_add(&c->upout, req, n) < 0) {
			free(req);
			conn_close(c);
			return;
		}
		free(req);
		http_parser_init(&c->rp, HTTP_RESPONSE);
		c->rp.data = c;
		http_head_clear(&c->rh);
		buf_free(&c->body);
		c->resp_started = c->resp_done = c->interim = c->inject = c->chunked_out = c->close_after =
			false;
		c->committed = !http_req_retryable(&c->req);
		c->out_mark = buf_size(&c->out);
	} else {
		conn_timeout(c, 0);
	}
	flush_now(c); /* the socket takes the request now: no EPOLLOUT round */
	conn_update(c);
}

static void upstream_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_hold(c, err == ECONNREFUSED ? "connection refused" : strerror(err));
		return;
	}
	upstream_ready(c);
}

static void upstream_event(struct conn *c, uint32_t ev)
{
	if (c->state == C_CONNECTING) {
		upstream_connected(c);
		return;
	}
	if ((ev & EPOLLOUT) && buf_size(&c->upout)) {
		if (buf_flush(&c->upout, c->up.fd) < 0) {
			if (c->state == C_TUNNEL)
				conn_close(c);
			else
				upstream_lost(c, "the connection was reset before an answer");
			return;
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		upstream_readable(c);
}

/* ---- the client side ------------------------------------------------------------------------------------
 */

static void client_event(struct conn *c, uint32_t ev)
{
	if (ev & EPOLLOUT) {
		if (buf_flush(&c->out, c->cli.fd) < 0) {
			conn_close(c);
			return;
		}
		if (!buf_size(&c->out)) {
			if (c->state == C_CLOSING || c->state == C_RESPONDING)
				return; /* settle() */
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		struct buf *into = c->state == C_TUNNEL || c->tcp ? &c->upout : &c->in;
		ssize_t n;

		if (!(c->cli.ev & EPOLLIN)) {
			/* Hung up while nothing reads from it (held, waiting for the app): gone. */
			if (ev & (EPOLLHUP | EPOLLERR))
				conn_close(c);
			return;
		}
		n = buf_read(into, c->cli.fd);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (n == 0) {
			c->cli_eof = true;
			/* A request that went to the app is answered first (conn_next_request closes). */
			if (c->state != C_TUNNEL && !c->tcp && c->state != C_UPSTREAM) {
				conn_close(c);
				return;
			}
		}
		if (c->state == C_READ)
			client_parse(c);
		else if (c->state == C_SSE)
			buf_drop(&c->in, buf_size(&c->in)); /* nothing to say to us */
	}
}

/*
 * Sends what waits for either side now, rather than after another epoll_wait
 * and two epoll_ctl calls for EPOLLOUT: the sockets are writable nearly
 * always. What does not fit waits for EPOLLOUT (conn_update).
 */
static void flush_now(struct conn *c)
{
	if (c->dead)
		return;
	if (c->up.fd >= 0 && buf_size(&c->upout) && (c->state == C_UPSTREAM || c->state == C_TUNNEL) &&
	    buf_flush(&c->upout, c->up.fd) < 0) {
		if (c->state == C_TUNNEL)
			conn_close(c);
		else
			upstream_lost(c, "the connection was reset before an answer");
	}
	if (!c->dead && c->cli.fd >= 0 && buf_size(&c->out) && (c->state != C_UPSTREAM || c->committed) &&
	    buf_flush(&c->out, c->cli.fd) < 0)
		conn_close(c);
}

/*
 * What follows once a buffer is empty: the next request or the close after a
 * response; in a tunnel, one side's EOF passed on once its bytes are out, and
 * the close when both sides ended.
 */
static void settle(struct conn *c)
{
	if (c->dead)
		return;
	if (c->state == C_TUNNEL) {
		if (c->up_eof && !buf_size(&c->out) && !c->cli_shut) {
			c->cli_shut = true;
			(void)shutdown(c->cli.fd, SHUT_WR);
		}
		if (c->cli_eof && !buf_size(&c->upout) && !c->up_shut && c->up.fd >= 0) {
			c->up_shut = true;
			(void)shutdown(c->up.fd, SHUT_WR);
		}
		if (c->cli_shut && c->up_shut)
			conn_close(c);
		return;
	}
	if (buf_size(&c->out))
		return;
	if (c->state == C_CLOSING)
		conn_close(c);
	else if (c->state == C_RESPONDING)
		conn_next_request(c);
}

static struct conn *conn_new(struct front *f, int fd, bool tcp, const struct sockaddr_storage *sa)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->f = f;
	c->tcp = tcp;
	c->cli = (struct item){ .kind = IT_CLIENT, .fd = fd };
	c->up = (struct item){ .kind = IT_UP, .fd = -1 };
	http_req_init(&c->req);
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->ip, sizeof(c->ip));
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->ip, sizeof(c->ip));
	else
		snprintf(c->ip, sizeof(c->ip), "unknown");
	c->next = f->conns;
	if (f->conns)
		f->conns->prev = c;
	f->conns = c;
	f->nconns++;
	return c;
}

static void accept_all(struct front *f, struct item *l, bool tcp)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return; /* EAGAIN, or EMFILE and the like: the next wake-up tries again */
		if (f->nconns >= FRONT_MAX_CONNS) {
			close(fd); /* full: the others keep being served */
			continue;
		}
		c = conn_new(f, fd, tcp, &sa);
		if (!c || ep_add(f, &c->cli, 0) < 0) {
			if (c)
				conn_close(c);
			else
				close(fd);
			continue;
		}
		if (tcp) {
			c->hold_until_ns = now_ns() + MS(f->o->timeout_ms);
			start_upstream(c);
		} else {
			conn_state(c, C_READ);
			conn_timeout(c, FRONT_HEAD_TIMEOUT_MS);
			conn_update(c);
		}
	}
}

/* ---- control messages, the timer ------------------------------------------------------------------------
 */

/* A blocking connect (bounded: 100 ms): a non-blocking one on loopback may report a refusal only later. */
static bool port_answers(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_usec = 100000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* After 'R': the app answers on its port(s): browsers reload, held requests go. */
static void probe(struct front *f)
{
	if (f->o->http_fd >= 0 && !port_answers(f->o->app_port))
		return;
	if (f->o->ntcp && !port_answers(f->o->tcp_app_port))
		return;
	f->probing = false;
	f->stopping = false;
	f->app = APP_UP;
	sse_send(f, "reload", "{}");
}

static void on_message(struct front *f, const char *m, size_t n)
{
	switch (m[0]) {
	case 'B':
		f->build = BUILD_RUNNING;
		break;
	case 'F':
		f->build = BUILD_FAILED;
		f->failed = true;
		free(f->build_output);
		f->build_output = malloc(n);
		f->build_output_len = f->build_output ? n - 1 : 0;
		if (f->build_output)
			memcpy(f->build_output, m + 1, n - 1);
		sse_build_failed(f, NULL);
		break;
	case 'O':
		/* 'B' came in between: the overlay goes when the build that follows a failure succeeds. */
		if (f->failed)
			sse_send(f, "build-ok", "{}");
		f->failed = false;
		f->build = BUILD_OK;
		break;
	case 'S':
		pool_drop(f);
		f->gen++;
		f->stopping = true;
		f->probing = false;
		f->app = APP_STOPPING;
		break;
	case 'R':
		pool_drop(f);
		f->gen++;
		f->stopping = true;
		f->probing = true;
		f->app = APP_STARTING;
		probe(f);
		break;
	case 'D':
		pool_drop(f);
		f->gen++;
		f->stopping = f->probing = false;
		f->app = APP_DOWN;
		break;
	default:
		break;
	}
}

/* 0, or 1 at EOF of the control socket (nsreload is gone: the front ends). */
static int ctl_readable(struct front *f)
{
	for (;;) {
		ssize_t n = recv(f->ctl.fd, f->msg, sizeof(f->msg) - 1, MSG_DONTWAIT);

		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : 1;
		f->msg[n] = '\0';
		on_message(f, f->msg, (size_t)n);
	}
}

static void on_tick(struct front *f)
{
	uint64_t now = now_ns(), x;

	(void)!read(f->timer.fd, &x, sizeof(x));
	if (f->probing)
		probe(f);
	for (struct conn *c = f->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == C_HELD) {
			if (now >= c->hold_until_ns)
				conn_hold(c, f->stopping
						     ? "it was restarting and did not listen again in time"
						     : "connection refused");
			else if (!f->stopping)
				start_upstream(c);
			continue;
		}
		if (!c->deadline_ns || now < c->deadline_ns)
			continue;
		if (c->state == C_READ && c->req.state != HTTP_REQ_EMPTY)
			respond_error(c, 408, "the request did not come whole in time");
		else
			conn_close(c);
		conn_update(c);
	}
}

/* The timer: every FRONT_RETRY_MS while something waits for the app, every second while deadlines run. */
static void timer_adjust(struct front *f)
{
	uint64_t ms = f->nheld || f->probing ? FRONT_RETRY_MS : f->nconns ? 1000 : 0;
	struct itimerspec its = { 0 };

	if (ms == f->timer_period_ms)
		return;
	its.it_interval.tv_sec = (time_t)(ms / 1000);
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(f->timer.fd, 0, &its, NULL) == 0)
		f->timer_period_ms = ms;
}

static void dispatch(struct front *f, struct item *it, uint32_t ev, bool *done)
{
	struct conn *c;

	switch (it->kind) {
	case IT_CTL:
		*done = ctl_readable(f) == 1;
		return;
	case IT_TIMER:
		on_tick(f);
		return;
	case IT_HTTP_LISTEN:
		accept_all(f, it, false);
		return;
	case IT_TCP_LISTEN:
		accept_all(f, it, true);
		return;
	case IT_POOL:
		pool_event(it);
		return;
	case IT_CLIENT:
	case IT_UP:
		c = conn_of(it);
		if (c->dead || it->fd < 0)
			return;
		if (it->kind == IT_CLIENT)
			client_event(c, ev);
		else
			upstream_event(c, ev);
		flush_now(c);
		settle(c);
		if (!c->dead)
			conn_update(c);
		return;
	}
}

static void front_free(struct front *f)
{
	while (f->conns)
		conn_close(f->conns);
	while (f->dead) {
		struct conn *c = f->dead;
		f->dead = c->next;
		conn_free(c);
	}
	pool_drop(f);
	free(f->tcp_listen);
	free(f->build_output);
	if (f->timer.fd >= 0)
		close(f->timer.fd);
	if (f->ep >= 0)
		close(f->ep);
}

static int front_setup(struct front *f)
{
	struct rlimit rl;

	/* Two fds a connection: as many as the hard limit lets. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (size_t i = 0; i < FRONT_POOL_MAX; i++)
		f->pool[i] = (struct item){ .kind = IT_POOL, .fd = -1 };
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	f->timer = (struct item){ .kind = IT_TIMER,
				  .fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) };
	f->ctl = (struct item){ .kind = IT_CTL, .fd = f->o->ctl_fd };
	f->http_listen = (struct item){ .kind = IT_HTTP_LISTEN, .fd = f->o->http_fd };
	f->tcp_listen = calloc(f->o->ntcp ? f->o->ntcp : 1, sizeof(*f->tcp_listen));
	if (f->ep < 0 || f->timer.fd < 0)
		return -errno;
	if (!f->tcp_listen)
		return -ENOMEM;
	if (ep_add(f, &f->ctl, EPOLLIN) < 0 || ep_add(f, &f->timer, EPOLLIN) < 0)
		return -errno;
	if (f->o->http_fd >= 0 && ep_add(f, &f->http_listen, EPOLLIN) < 0)
		return -errno;
	for (size_t i = 0; i < f->o->ntcp; i++) {
		f->tcp_listen[i] = (struct item){ .kind = IT_TCP_LISTEN, .fd = f->o->tcp_fds[i] };
		if (ep_add(f, &f->tcp_listen[i], EPOLLIN) < 0)
			return -errno;
	}
	return 0;
}

int front_main(const struct front_opts *o)
{
	struct front f = { .o = o, .ep = -1, .timer = { .fd = -1 } };
	struct epoll_event evs[64];
	bool done = false;
	int r;

	r = front_setup(&f);
	if (r < 0) {
		front_log(&f, "cannot set up the proxy's loop: %s", strerror(-r));
		front_free(&f);
		return 1;
	}
	while (!done) {
		int n = epoll_wait(f.ep, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n && !done; i++)
			dispatch(&f, evs[i].data.ptr, evs[i].events, &done);
		while (f.dead) {
			struct conn *c = f.dead;
			f.dead = c->next;
			conn_free(c);
		}
		timer_adjust(&f);
	}
	front_free(&f);
	return 0;
}
