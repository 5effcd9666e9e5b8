/*
 * libFuzzer target for the front's request path (src/proxy/http_req.h): the
 * bytes of a client, fed in pieces as the network would cut them, parse into
 * requests or stop at a limit with a state the proxy answers (400, 431, 413),
 * and every whole request writes out for the app; nothing leaks, overruns or
 * passes the limits.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_req.h"

/* One request's checks: within the limits, and written out for the app with the hop it adds. */
static void check_done(struct http_req *r)
{
	char buf[256], *out = NULL;
	size_t n = 0;

	if (r->h.len > HTTP_REQ_HEAD_MAX || r->body_len > HTTP_REQ_BODY_MAX || r->h.n > HTTP_REQ_MAX_HEADERS)
		abort();
	(void)http_req_path(r, buf, sizeof(buf));
	(void)http_req_header(r, "host", buf, sizeof(buf));
	(void)http_req_retryable(r);
	if (http_req_write(r, "127.0.0.1", &out, &n) == 0) {
		if (n < 4 || !memmem(out, n, "Via: ", 5) || !memmem(out, n, "X-Forwarded-For: ", 17))
			abort();
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r;
	size_t off = 0, step;
	int requests = 0;

	/* The first byte picks how the input is cut: 1 to 256 bytes at a time. */
	if (size == 0)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	http_req_init(&r);
	while (off < size && requests < 64) {
		size_t n = size - off < step ? size - off : step;
		size_t used = http_req_feed(&r, (const char *)data + off, n);

		if (used > n)
			abort();
		off += used;
		if (r.state == HTTP_REQ_DONE) {
			check_done(&r);
			requests++;
			if (r.upgrade)
				break; /* the rest is the tunnel's */
			http_req_reset(&r);
			continue;
		}
		if (r.state >= HTTP_REQ_BAD)
			break; /* answered and closed */
		if (used == 0 && n > 0)
			abort(); /* a live parser takes every byte it is given */
	}
	http_req_free(&r);
	return 0;
}
