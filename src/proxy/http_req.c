/* One HTTP request from a client of the front (http_req.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_req.h"

static struct http_req *of(http_parser *p)
{
	return p->data;
}

/* Appends to a growing buffer; -ENOMEM. */
static int grow_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 256;
		char *nb;

		while (c < *len + n)
			c *= 2;
		nb = realloc(*buf, c);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

static int head_add(struct http_head *h, const char *at, size_t n)
{
	if (h->len + n > HTTP_REQ_HEAD_MAX)
		return -E2BIG;
	return grow_append(&h->text, &h->len, &h->cap, at, n);
}

int http_head_first(struct http_head *h, const char *at, size_t n)
{
	int r = head_add(h, at, n);

	if (r == 0)
		h->first_len += n;
	return r;
}

int http_head_field(struct http_head *h, const char *at, size_t n)
{
	if (h->n == 0 || h->in_value) {
		if (h->n == HTTP_REQ_MAX_HEADERS)
			return -E2BIG;
		h->hdr[h->n++] = (struct http_hdr){ .name = h->len };
		h->in_value = false;
	}
	h->hdr[h->n - 1].name_len += n;
	return head_add(h, at, n);
}

int http_head_value(struct http_head *h, const char *at, size_t n)
{
	struct http_hdr *x;

	if (h->n == 0)
		return -EINVAL;
	x = &h->hdr[h->n - 1];
	if (!h->in_value) {
		x->value = h->len;
		h->in_value = true;
	}
	x->value_len += n;
	return head_add(h, at, n);
}

void http_head_clear(struct http_head *h)
{
	h->len = h->first_len = h->n = 0;
	h->in_value = false;
}

void http_head_free(struct http_head *h)
{
	free(h->text);
	h->text = NULL;
	h->cap = 0;
	http_head_clear(h);
}

bool http_head_is(const struct http_head *h, const struct http_hdr *x, const char *name)
{
	return x->name_len == strlen(name) && strncasecmp(h->text + x->name, name, x->name_len) == 0;
}

/* s[0, n) NUL-terminated in buf, cut to fit (snprintf's "%.*s", without its cost on every request). */
static char *copy_out(char *buf, size_t size, const char *s, size_t n)
{
	if (!size)
		return buf;
	if (n > size - 1)
		n = size - 1;
	if (n)
		memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

const char *http_head_get(const struct http_head *h, const char *name, char *buf, size_t size)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct http_hdr *x = &h->hdr[i];
		if (http_head_is(h, x, name))
			return copy_out(buf, size, h->text + x->value, x->value_len);
	}
	return NULL;
}

/* A piece of the head taken (0), or the request is dead: too large (E2BIG) or malformed. */
static int head_piece(struct http_req *r, int err)
{
	if (err == -E2BIG)
		r->state = HTTP_REQ_TOO_LARGE;
	return err != 0;
}

static int on_begin(http_parser *p)
{
	of(p)->state = HTTP_REQ_HEAD;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);

	return head_piece(r, http_head_first(&r->h, at, n));
}

static int on_field(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);

	return head_piece(r, http_head_field(&r->h, at, n));
}

static int on_value(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);

	return head_piece(r, http_head_value(&r->h, at, n));
}

static int on_headers_complete(http_parser *p)
{
	struct http_req *r = of(p);

	r->state = HTTP_REQ_BODY;
	r->keep_alive = http_should_keep_alive(p);
	r->head = p->method == HTTP_HEAD;
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > HTTP_REQ_BODY_MAX) {
		r->state = HTTP_REQ_BODY_TOO_LARGE;
		return -1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);

	if (r->body_len + n > HTTP_REQ_BODY_MAX) {
		r->state = HTTP_REQ_BODY_TOO_LARGE;
		return 1;
	}
	return grow_append(&r->body, &r->body_len, &r->body_cap, at, n) < 0;
}

static int on_complete(http_parser *p)
{
	struct http_req *r = of(p);

	r->state = HTTP_REQ_DONE;
	r->upgrade = p->upgrade;
	/* One request at a time: the parser stops here, the rest waits for the next. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_begin,
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

void http_req_init(struct http_req *r)
{
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->p, HTTP_REQUEST);
	r->p.data = r;
}

void http_req_free(struct http_req *r)
{
	http_head_free(&r->h);
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

void http_req_reset(struct http_req *r)
{
	r->state = HTTP_REQ_EMPTY;
	http_head_clear(&r->h);
	r->body_len = 0;
	r->upgrade = r->keep_alive = r->head = false;
	/* Unpaused, as a fresh parser, for the next request on this connection. */
	http_parser_init(&r->p, HTTP_REQUEST);
	r->p.data = r;
}

size_t http_req_feed(struct http_req *r, const char *data, size_t n)
{
	size_t used;
	enum http_errno e;

	if (r->state == HTTP_REQ_DONE || r->state >= HTTP_REQ_BAD || n == 0)
		return 0;
	used = http_parser_execute(&r->p, &settings, data, n);
	e = HTTP_PARSER_ERRNO(&r->p);
	if (r->state == HTTP_REQ_DONE)
		return used;
	if (r->p.upgrade && r->state == HTTP_REQ_BODY) {
		/* An Upgrade request's head: what follows is the tunnel's. */
		r->state = HTTP_REQ_DONE;
		r->upgrade = true;
		return used;
	}
	if (e != HPE_OK && r->state < HTTP_REQ_BAD)
		r->state = e == HPE_HEADER_OVERFLOW ? HTTP_REQ_TOO_LARGE : HTTP_REQ_BAD;
	return used;
}

const char *http_req_header(const struct http_req *r, const char *name, char *buf, size_t size)
{
	return http_head_get(&r->h, name, buf, size);
}

const char *http_req_path(const struct http_req *r, char *buf, size_t size)
{
	size_t n = 0;

	/* text is not NUL-terminated: the URL ends at first_len. */
	while (n < r->h.first_len && r->h.text[n] != '?' && r->h.text[n] != '#')
		n++;
	return copy_out(buf, size, r->h.text, n);
}

bool http_req_retryable(const struct http_req *r)
{
	switch (r->p.method) {
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_OPTIONS:
	case HTTP_PUT:
	case HTTP_DELETE:
		return !r->upgrade && r->body_len <= HTTP_REQ_RETRY_BODY_MAX;
	default:
		return false;
	}
}

/* Hop-by-hop headers (RFC 9110 7.6.1) and those the front writes itself. */
static bool hop_by_hop(const struct http_req *r, const struct http_hdr *h)
{
	static const char *const names[] = { "connection",
					     "keep-alive",
					     "proxy-connection",
					     "transfer-encoding",
					     "te",
					     "trailer",
					     "upgrade",
					     "content-length",
					     "x-forwarded-for",
					     "via",
					     "proxy-authorization" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (http_head_is(&r->h, h, names[i]))
			return true;
	return false;
}

/*
 * The request for the app is built with plain appends: open_memstream and
 * fprintf cost more than half of the front's instructions for a small request
 * (an 8 KiB calloc'd stream buffer, the format parsing).
 */
struct strbuf {
	char *p;
	size_t len, cap;
	int err; /* -ENOMEM once an append failed: the rest are skipped */
};

static void sb_add(struct strbuf *b, const char *data, size_t n)
{
	if (n && !b->err && grow_append(&b->p, &b->len, &b->cap, data, n) < 0)
		b->err = -ENOMEM;
}

static void sb_str(struct strbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* The values of every header called name, joined by ", ", into b (nothing when none). */
static void put_joined(struct strbuf *b, const struct http_req *r, const char *name)
{
	bool first = true;

	for (size_t i = 0; i < r->h.n; i++) {
		const struct http_hdr *h = &r->h.hdr[i];
		if (!http_head_is(&r->h, h, name))
			continue;
		if (!first)
			sb_add(b, ", ", 2);
		sb_add(b, r->h.text + h->value, h->value_len);
		first = false;
	}
	if (!first)
		sb_add(b, ", ", 2);
}

int http_req_write(const struct http_req *r, const char *client_ip, char **out, size_t *out_n)
{
	struct strbuf b = { 0 };
	char up[256], num[64];

	*out = NULL;
	*out_n = 0;
	/* One allocation for the usual request: its head, its body, and what is added. */
	b.cap = r->h.len + r->body_len + 512;
	b.p = malloc(b.cap);
	if (!b.p)
		return -ENOMEM;
	sb_str(&b, http_method_str(r->p.method));
	sb_add(&b, " ", 1);
	sb_add(&b, r->h.text, r->h.first_len);
	sb_add(&b, " HTTP/1.1\r\n", 11);
	for (size_t i = 0; i < r->h.n; i++) {
		const struct http_hdr *h = &r->h.hdr[i];
		if (hop_by_hop(r, h))
			continue;
		sb_add(&b, r->h.text + h->name, h->name_len);
		sb_add(&b, ": ", 2);
		sb_add(&b, r->h.text + h->value, h->value_len);
		sb_add(&b, "\r\n", 2);
	}
	sb_str(&b, "X-Forwarded-For: ");
	put_joined(&b, r, "x-forwarded-for");
	sb_str(&b, client_ip);
	sb_str(&b, "\r\nVia: ");
	put_joined(&b, r, "via");
	if (r->p.http_minor == 1) {
		sb_str(&b, "1.1 nsreload\r\n");
	} else {
		snprintf(num, sizeof(num), "1.%d nsreload\r\n", r->p.http_minor);
		sb_str(&b, num);
	}
	if (r->upgrade) {
		sb_str(&b, "Connection: Upgrade\r\nUpgrade: ");
		sb_str(&b, http_req_header(r, "upgrade", up, sizeof(up)) ? up : "websocket");
		sb_add(&b, "\r\n", 2);
	} else if (r->body_len || (r->p.flags & (F_CHUNKED | F_CONTENTLENGTH))) {
		snprintf(num, sizeof(num), "Content-Length: %zu\r\n", r->body_len);
		sb_str(&b, num);
	}
	/* No Connection header otherwise: HTTP/1.1 keeps the connection for the front's pool (front.h). */
	sb_add(&b, "\r\n", 2);
	if (r->body_len)
		sb_add(&b, r->body, r->body_len);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*out_n = b.len;
	return 0;
}
