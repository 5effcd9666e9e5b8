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

/* Counts head bytes; false (and HTTP_REQ_TOO_LARGE) past the limit. */
static bool head_fits(struct http_req *r, size_t n)
{
	r->head_len += n;
	if (r->head_len <= HTTP_REQ_HEAD_MAX)
		return true;
	r->state = HTTP_REQ_TOO_LARGE;
	return false;
}

static int on_begin(http_parser *p)
{
	of(p)->state = HTTP_REQ_HEAD;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);

	if (!head_fits(r, n) || grow_append(&r->text, &r->text_len, &r->text_cap, at, n) < 0)
		return 1;
	r->url_len += n;
	return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);

	if (!head_fits(r, n))
		return 1;
	if (r->nhdr == 0 || r->in_value) {
		if (r->nhdr == HTTP_REQ_MAX_HEADERS) {
			r->state = HTTP_REQ_TOO_LARGE;
			return 1;
		}
		r->hdr[r->nhdr++] = (struct http_hdr){ .name = r->text_len, .value = 0 };
		r->in_value = false;
	}
	r->hdr[r->nhdr - 1].name_len += n;
	return grow_append(&r->text, &r->text_len, &r->text_cap, at, n) < 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = of(p);
	struct http_hdr *h;

	if (!head_fits(r, n) || r->nhdr == 0)
		return 1;
	h = &r->hdr[r->nhdr - 1];
	if (!r->in_value) {
		h->value = r->text_len;
		r->in_value = true;
	}
	h->value_len += n;
	return grow_append(&r->text, &r->text_len, &r->text_cap, at, n) < 0;
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
	free(r->text);
	free(r->body);
	r->text = r->body = NULL;
	r->text_len = r->text_cap = r->body_len = r->body_cap = 0;
}

void http_req_reset(struct http_req *r)
{
	r->state = HTTP_REQ_EMPTY;
	r->text_len = r->url_len = r->nhdr = r->head_len = r->body_len = 0;
	r->in_value = r->upgrade = r->keep_alive = r->head = false;
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

static bool name_is(const struct http_req *r, const struct http_hdr *h, const char *name)
{
	return h->name_len == strlen(name) && strncasecmp(r->text + h->name, name, h->name_len) == 0;
}

const char *http_req_header(const struct http_req *r, const char *name, char *buf, size_t size)
{
	for (size_t i = 0; i < r->nhdr; i++) {
		const struct http_hdr *h = &r->hdr[i];
		if (name_is(r, h, name)) {
			snprintf(buf, size, "%.*s", (int)h->value_len, r->text + h->value);
			return buf;
		}
	}
	return NULL;
}

const char *http_req_path(const struct http_req *r, char *buf, size_t size)
{
	size_t n = strcspn(r->text ? r->text : "", "?#");

	if (n > r->url_len)
		n = r->url_len;
	snprintf(buf, size, "%.*s", (int)n, r->text ? r->text : "");
	return buf;
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
		if (name_is(r, h, names[i]))
			return true;
	return false;
}

/* The values of every header called name, joined by ", ", into f (nothing when none). */
static void put_joined(FILE *f, const struct http_req *r, const char *name)
{
	bool first = true;

	for (size_t i = 0; i < r->nhdr; i++) {
		const struct http_hdr *h = &r->hdr[i];
		if (!name_is(r, h, name))
			continue;
		fprintf(f, "%s%.*s", first ? "" : ", ", (int)h->value_len, r->text + h->value);
		first = false;
	}
	if (!first)
		fputs(", ", f);
}

int http_req_write(const struct http_req *r, const char *client_ip, char **out, size_t *out_n)
{
	char up[256];
	FILE *f;

	*out = NULL;
	f = open_memstream(out, out_n);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%s %.*s HTTP/1.1\r\n", http_method_str(r->p.method), (int)r->url_len, r->text);
	for (size_t i = 0; i < r->nhdr; i++) {
		const struct http_hdr *h = &r->hdr[i];
		if (hop_by_hop(r, h))
			continue;
		fprintf(f, "%.*s: %.*s\r\n", (int)h->name_len, r->text + h->name, (int)h->value_len,
			r->text + h->value);
	}
	fputs("X-Forwarded-For: ", f);
	put_joined(f, r, "x-forwarded-for");
	fprintf(f, "%s\r\nVia: ", client_ip);
	put_joined(f, r, "via");
	fprintf(f, "1.%d nsreload\r\n", r->p.http_minor);
	if (r->upgrade) {
		fprintf(f, "Connection: Upgrade\r\nUpgrade: %s\r\n",
			http_req_header(r, "upgrade", up, sizeof(up)) ? up : "websocket");
	} else {
		if (r->body_len || (r->p.flags & (F_CHUNKED | F_CONTENTLENGTH)))
			fprintf(f, "Content-Length: %zu\r\n", r->body_len);
		fputs("Connection: close\r\n", f);
	}
	fputs("\r\n", f);
	if (r->body_len)
		fwrite(r->body, 1, r->body_len, f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
