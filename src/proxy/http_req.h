/*
 * http_req.h - one HTTP/1.x request from a client of the front (front.h),
 * parsed with http-parser (docs/design.md, "Why http-parser") and written
 * out again for the app. Pure: no I/O, so that the fuzz target
 * (tests/fuzz/fuzz_http.c) drives the same code as the proxy.
 *
 * THE CONTRACT
 *  - http_req_feed() takes the client's bytes as they come and says how many
 *    it consumed; it stops after each complete request (the rest is the next
 *    one, kept by the caller: pipelining) and after the head of an Upgrade
 *    request (the rest belongs to the tunnel).
 *  - Limits: the head (request line and headers) is at most HTTP_REQ_HEAD_MAX
 *    bytes (else HTTP_REQ_TOO_LARGE: 431), the body at most HTTP_REQ_BODY_MAX
 *    (else HTTP_REQ_BODY_TOO_LARGE: 413); a malformed request is
 *    HTTP_REQ_BAD (400). After an error the request is dead: answer and close.
 *  - The body is buffered whole (chunked bodies de-chunked), so that a request
 *    refused by a restarting app can be sent again (http_req_retryable()).
 */
#ifndef NSRELOAD_HTTP_REQ_H
#define NSRELOAD_HTTP_REQ_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_REQ_HEAD_MAX (64 * 1024)
#define HTTP_REQ_BODY_MAX (64 * 1024 * 1024)
/* A body up to this size is kept for a retry (http_req_retryable). */
#define HTTP_REQ_RETRY_BODY_MAX (1024 * 1024)
#define HTTP_REQ_MAX_HEADERS    256

enum http_req_state {
	HTTP_REQ_EMPTY,          /* no byte of a request yet */
	HTTP_REQ_HEAD,           /* in the request line or the headers */
	HTTP_REQ_BODY,           /* in the body */
	HTTP_REQ_DONE,           /* a whole request (or an Upgrade request's head) */
	HTTP_REQ_BAD,            /* malformed: 400 */
	HTTP_REQ_TOO_LARGE,      /* the head passed HTTP_REQ_HEAD_MAX: 431 */
	HTTP_REQ_BODY_TOO_LARGE, /* the body passed HTTP_REQ_BODY_MAX: 413 */
};

struct http_hdr {
	size_t name, name_len, value, value_len; /* offsets into http_head.text */
};

/*
 * A message's head as http-parser's callbacks hand it over, in pieces: the
 * URL (a request) or the reason phrase (a response) first, then the header
 * names and values, back to back in one buffer (not NUL-terminated). The
 * requests of clients and the responses of the app both go through it.
 */
struct http_head {
	char *text;
	size_t len, cap;
	size_t first_len; /* the URL or the reason is text[0, first_len) */
	struct http_hdr hdr[HTTP_REQ_MAX_HEADERS];
	size_t n;
	bool in_value; /* the last piece was a header value */
};

/* Each appends a piece: 0, -ENOMEM, -E2BIG past HTTP_REQ_HEAD_MAX bytes or HTTP_REQ_MAX_HEADERS headers,
 * -EINVAL for a value before any name. */
int http_head_first(struct http_head *h, const char *at, size_t n);
int http_head_field(struct http_head *h, const char *at, size_t n);
int http_head_value(struct http_head *h, const char *at, size_t n);
/* Empty again (the buffer kept). */
void http_head_clear(struct http_head *h);
void http_head_free(struct http_head *h);
/* Header x is called name (case-insensitive). */
bool http_head_is(const struct http_head *h, const struct http_hdr *x, const char *name);
/* The value of the first header called name, NUL-terminated copy in buf, or NULL. */
const char *http_head_get(const struct http_head *h, const char *name, char *buf, size_t size);

struct http_req {
	http_parser p;
	enum http_req_state state;
	struct http_head h; /* the URL and the headers */
	char *body;
	size_t body_len, body_cap;
	bool upgrade;    /* an Upgrade request (WebSocket): the rest of the bytes are the tunnel's */
	bool keep_alive; /* the client keeps the connection after the response */
	bool head;       /* a HEAD request: its response has no body */
};

/* Ready for a request. */
void http_req_init(struct http_req *r);
/* Frees the buffers; the struct may be reused after http_req_init(). */
void http_req_free(struct http_req *r);
/* Ready for the next request on the same connection (buffers kept). */
void http_req_reset(struct http_req *r);
/* Feeds n bytes; returns how many were consumed (the rest is not this request's). */
size_t http_req_feed(struct http_req *r, const char *data, size_t n);
/* The value of header name (case-insensitive), NUL-terminated copy in buf, or NULL. */
const char *http_req_header(const struct http_req *r, const char *name, char *buf, size_t size);
/* The URL's path (NUL-terminated copy in buf, without the query). */
const char *http_req_path(const struct http_req *r, char *buf, size_t size);
/* An idempotent method with a body small enough to keep: may be sent again to a new run. */
bool http_req_retryable(const struct http_req *r);
/*
 * The request for the app, malloc'd in *out: the method and URL, the headers
 * but the hop-by-hop ones (Connection, Keep-Alive, Transfer-Encoding, TE, ...),
 * X-Forwarded-For and Via with client_ip and our hop appended, Content-Length
 * for the buffered body and no Connection header (HTTP/1.1: the connection
 * may serve the next request, front.h's pool), or for an Upgrade request its
 * Connection and Upgrade. 0 or -ENOMEM.
 */
int http_req_write(const struct http_req *r, const char *client_ip, char **out, size_t *out_n);

#endif
