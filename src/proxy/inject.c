/*
 * inject.c - which responses get the live-reload script, and the body rewrite: zlib for gzip and deflate,
 * libbrotli for br (issue 16: no hand-written compression). Everything works on whole buffers the proxy
 * already holds; the decoded size is capped so that a small compressed body cannot make us allocate
 * gigabytes.
 */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>

#include "inject.h"

const char inject_tag[] = "<script src=\"/__nsreload/client.js\"></script>";

/*
 * Loopback traffic: speed over size. zlib level 1 and brotli quality 1 still shrink HTML several
 * times, and a 16 MiB page is re-encoded in tens of milliseconds, not seconds.
 */
#define INJECT_ZLIB_LEVEL     1
#define INJECT_BROTLI_QUALITY 1

/* One past the cap: a decoded body that reaches it is too big. */
#define DECODE_LIMIT ((size_t)INJECT_MAX_BODY + 1)

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* s without the spaces and tabs around it: *len gets the trimmed length. */
static const char *trim(const char *s, size_t *len)
{
	size_t n = strlen(s);
	while (n > 0 && is_space(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;
	*len = n;
	return s;
}

static bool word_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

int inject_enc_parse(const char *content_encoding, enum inject_enc *out)
{
	size_t n;
	const char *s = trim(content_encoding ? content_encoding : "", &n);

	if (n == 0 || word_is(s, n, "identity"))
		*out = INJECT_IDENTITY;
	else if (word_is(s, n, "gzip") || word_is(s, n, "x-gzip"))
		*out = INJECT_GZIP;
	else if (word_is(s, n, "deflate"))
		*out = INJECT_DEFLATE;
	else if (word_is(s, n, "br"))
		*out = INJECT_BR;
	else
		return -ENOTSUP;
	return 0;
}

/* The media type of a Content-Type value is text/html, whatever its parameters (charset=...). */
static bool type_is_html(const char *content_type)
{
	static const char html[] = "text/html";
	const char *s = content_type;

	while (is_space(*s))
		s++;
	if (strncasecmp(s, html, sizeof(html) - 1) != 0)
		return false;
	s += sizeof(html) - 1;
	while (is_space(*s))
		s++;
	return *s == '\0' || *s == ';';
}

bool inject_wanted(int status, const char *content_type, const char *content_encoding, bool head)
{
	enum inject_enc enc;

	if (head || status < 200 || status > 299 || status == 204 || status == 206)
		return false;
	if (!content_type || !type_is_html(content_type))
		return false;
	return inject_enc_parse(content_encoding, &enc) == 0;
}

/* A growing buffer for decoded bytes, never past DECODE_LIMIT. */
struct buf {
	unsigned char *p;
	size_t len, cap;
};

/* Free room at the end of b, grown (doubling) when full: 0, -E2BIG at DECODE_LIMIT, or -ENOMEM. */
static int buf_room(struct buf *b, size_t *room)
{
	if (b->len == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		unsigned char *p;

		if (b->cap >= DECODE_LIMIT)
			return -E2BIG;
		if (cap > DECODE_LIMIT)
			cap = DECODE_LIMIT;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	*room = b->cap - b->len;
	if (*room > UINT_MAX)
		*room = UINT_MAX;
	return 0;
}

/*
 * Inflates in[0..n) into b with window bits wbits (zlib, raw or gzip). With members, a gzip stream may hold
 * several members one after the other (RFC 1952); otherwise bytes after the end are corrupt.
 */
static int inflate_all(const unsigned char *in, size_t n, int wbits, bool members, struct buf *b)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, wbits) != Z_OK)
		return -ENOMEM;
	for (;;) {
		size_t room;
		int zr;

		if (z.avail_in == 0 && n > 0) {
			z.avail_in = n > UINT_MAX ? UINT_MAX : (uInt)n;
			z.next_in = (Bytef *)in;
			in += z.avail_in;
			n -= z.avail_in;
		}
		r = buf_room(b, &room);
		if (r < 0)
			break;
		z.next_out = b->p + b->len;
		z.avail_out = (uInt)room;
		zr = inflate(&z, Z_NO_FLUSH);
		b->len += room - z.avail_out;
		if (zr == Z_STREAM_END) {
			r = 0;
			if (z.avail_in == 0 && n == 0)
				break;
			r = -EINVAL;
			if (!members || inflateReset(&z) != Z_OK)
				break;
			continue;
		}
		if (zr == Z_OK || (zr == Z_BUF_ERROR && (z.avail_in > 0 || n > 0)))
			continue;
		/* Z_BUF_ERROR with all input given: the stream was cut short. */
		r = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
		break;
	}
	inflateEnd(&z);
	return r;
}

/* The decoder's error codes from -21 to -30 are failed allocations (brotli/decode.h); the rest is bad input.
 */
static int brotli_error(BrotliDecoderErrorCode e)
{
	return e <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
			       e >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES
		       ? -ENOMEM
		       : -EINVAL;
}

static int brotli_decode(const unsigned char *in, size_t n, struct buf *b)
{
	BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	int r;

	if (!s)
		return -ENOMEM;
	for (;;) {
		BrotliDecoderResult res;
		size_t room, avail_out;
		uint8_t *next_out;

		r = buf_room(b, &room);
		if (r < 0)
			break;
		avail_out = room;
		next_out = b->p + b->len;
		res = BrotliDecoderDecompressStream(s, &n, &in, &avail_out, &next_out, NULL);
		b->len += room - avail_out;
		if (res == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
			continue;
		if (res == BROTLI_DECODER_RESULT_SUCCESS)
			r = n == 0 ? 0 : -EINVAL; /* bytes after the stream's end */
		else if (res == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
			r = -EINVAL; /* it had all the input: cut short */
		else
			r = brotli_error(BrotliDecoderGetErrorCode(s));
		break;
	}
	BrotliDecoderDestroyInstance(s);
	return r;
}

static int decode(enum inject_enc enc, const unsigned char *in, size_t n, struct buf *b)
{
	int r;

	switch (enc) {
	case INJECT_IDENTITY:
		if (n >= DECODE_LIMIT)
			return -E2BIG;
		b->p = malloc(n ? n : 1);
		if (!b->p)
			return -ENOMEM;
		memcpy(b->p, in, n);
		b->len = b->cap = n;
		return 0;
	case INJECT_GZIP:
		r = inflate_all(in, n, 16 + MAX_WBITS, true, b);
		break;
	case INJECT_DEFLATE:
		/* RFC 9110's deflate is zlib-wrapped; some servers send raw deflate, which browsers take too.
		 */
		r = inflate_all(in, n, MAX_WBITS, false, b);
		if (r == -EINVAL) {
			b->len = 0;
			r = inflate_all(in, n, -MAX_WBITS, false, b);
		}
		break;
	case INJECT_BR:
		r = brotli_decode(in, n, b);
		break;
	default:
		return -EINVAL;
	}
	if (r == 0 && b->len > INJECT_MAX_BODY)
		r = -E2BIG;
	return r;
}

/*
 * Where "</NAME" followed by '>', a space or '/' last starts in s[0..n), any case; NULL when nowhere.
 * memrchr finds each '<' from the end, so a page is read about once.
 */
static const unsigned char *rfind_close_tag(const unsigned char *s, size_t n, const char *name)
{
	size_t k = strlen(name);
	size_t end;

	if (n < k + 3)
		return NULL;
	end = n - (k + 3) + 1; /* "</" name and one more byte fit after any start below end */
	while (end > 0) {
		const unsigned char *p = memrchr(s, '<', end);

		if (!p)
			return NULL;
		if (p[1] == '/' && strncasecmp((const char *)p + 2, name, k) == 0 &&
		    strchr("> \t\r\n\f/", p[2 + k]) && p[2 + k] != '\0')
			return p;
		end = (size_t)(p - s);
	}
	return NULL;
}

/* The tag inserted into b (grown for it) before the last </body>, else </html>, else at the end. */
static int insert_tag(struct buf *b, const char *tag, size_t tag_len)
{
	const unsigned char *at = rfind_close_tag(b->p, b->len, "body");
	size_t pos;

	if (!at)
		at = rfind_close_tag(b->p, b->len, "html");
	pos = at ? (size_t)(at - b->p) : b->len;
	if (b->cap - b->len < tag_len) {
		unsigned char *p = realloc(b->p, b->len + tag_len);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = b->len + tag_len;
	}
	memmove(b->p + pos + tag_len, b->p + pos, b->len - pos);
	memcpy(b->p + pos, tag, tag_len);
	b->len += tag_len;
	return 0;
}

/* in[0..n) deflated in one go, zlib-wrapped or gzip by wbits; n is below UINT_MAX (inject_body's cap). */
static int zlib_encode(const unsigned char *in, size_t n, int wbits, void **out, size_t *out_n)
{
	z_stream z;
	unsigned char *p;
	uLong bound;
	int zr;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, INJECT_ZLIB_LEVEL, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)n);
	p = malloc(bound);
	if (!p) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = p;
	z.avail_out = (uInt)bound;
	zr = deflate(&z, Z_FINISH);
	*out_n = z.total_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END) { /* deflateBound() is an upper bound: cannot happen */
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

static int brotli_encode(const unsigned char *in, size_t n, void **out, size_t *out_n)
{
	size_t bound = BrotliEncoderMaxCompressedSize(n);
	unsigned char *p;

	if (bound < 16)
		bound = 16; /* 0 for an empty input in some versions */
	p = malloc(bound);
	if (!p)
		return -ENOMEM;
	*out_n = bound;
	if (!BrotliEncoderCompress(INJECT_BROTLI_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n, in,
				   out_n, p)) {
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

int inject_body(enum inject_enc enc, const void *in, size_t n, const char *tag, size_t tag_len, void **out,
		size_t *out_n)
{
	struct buf b = { 0 };
	int r;

	if (tag_len > INJECT_MAX_BODY)
		return -E2BIG; /* keeps the whole page below UINT_MAX for zlib's one-shot deflate */
	r = decode(enc, in, n, &b);
	if (r == 0)
		r = insert_tag(&b, tag, tag_len);
	if (r == 0) {
		switch (enc) {
		case INJECT_IDENTITY:
			*out = b.p;
			*out_n = b.len;
			return 0;
		case INJECT_GZIP:
			r = zlib_encode(b.p, b.len, 16 + MAX_WBITS, out, out_n);
			break;
		case INJECT_DEFLATE:
			r = zlib_encode(b.p, b.len, MAX_WBITS, out, out_n);
			break;
		case INJECT_BR:
			r = brotli_encode(b.p, b.len, out, out_n);
			break;
		}
	}
	free(b.p);
	return r;
}
