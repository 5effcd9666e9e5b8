/*
 * inject.c: which responses get the live-reload script, and the body rewrite in every encoding. The
 * bodies are made here with zlib and libbrotli themselves, and what inject_body() returns is decoded here
 * again, so each case checks the bytes a browser would read.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <cmocka.h>
#include <zlib.h>

#include "inject.h"

/* Which zlib framing a test body gets. */
enum frame { FRAME_GZIP, FRAME_ZLIB, FRAME_RAW };

static const int frame_wbits[] = { 16 + MAX_WBITS, MAX_WBITS, -MAX_WBITS };

static void *zlib_pack(const void *in, size_t n, enum frame f, size_t *out_n)
{
	z_stream z;
	unsigned char *p;
	uLong bound;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, frame_wbits[f], 8, Z_DEFAULT_STRATEGY), Z_OK);
	bound = deflateBound(&z, n);
	p = malloc(bound);
	assert_non_null(p);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = p;
	z.avail_out = (uInt)bound;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_n = z.total_out;
	deflateEnd(&z);
	return p;
}

/* in decoded with framing f (gzip also takes several members); NUL-terminated for the string checks. */
static char *zlib_unpack(const void *in, size_t n, enum frame f, size_t *out_n)
{
	size_t cap = 1 << 20;
	unsigned char *p = malloc(cap + 1);
	z_stream z;
	int zr;

	assert_non_null(p);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, frame_wbits[f]), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = p;
	z.avail_out = (uInt)cap;
	zr = inflate(&z, Z_FINISH);
	assert_int_equal(zr, Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	*out_n = z.total_out;
	p[*out_n] = '\0';
	inflateEnd(&z);
	return (char *)p;
}

static void *br_pack(const void *in, size_t n, size_t *out_n)
{
	size_t bound = BrotliEncoderMaxCompressedSize(n) + 16;
	uint8_t *p = malloc(bound);

	assert_non_null(p);
	*out_n = bound;
	assert_true(BrotliEncoderCompress(1, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n, in, out_n, p));
	return p;
}

static char *br_unpack(const void *in, size_t n, size_t *out_n)
{
	size_t cap = 1 << 20;
	uint8_t *p = malloc(cap + 1);

	assert_non_null(p);
	*out_n = cap;
	assert_int_equal(BrotliDecoderDecompress(n, in, out_n, p), BROTLI_DECODER_RESULT_SUCCESS);
	p[*out_n] = '\0';
	return (char *)p;
}

static const char page[] = "<!doctype html><html><head><title>t</title></head>\n"
			   "<body><p>hello</p></body>\n</html>\n";
static const char page_injected[] =
	"<!doctype html><html><head><title>t</title></head>\n"
	"<body><p>hello</p><script src=\"/__nsreload/client.js\"></script></body>\n"
	"</html>\n";

/* Identity bodies: out must be exactly want. */
static void check_identity(const char *in, const char *want)
{
	void *out = NULL;
	size_t out_n = 0;

	assert_int_equal(
		inject_body(INJECT_IDENTITY, in, strlen(in), inject_tag, strlen(inject_tag), &out, &out_n),
		0);
	assert_int_equal(out_n, strlen(want));
	assert_memory_equal(out, want, out_n);
	free(out);
}

static void test_tag(void **state)
{
	(void)state;
	assert_string_equal(inject_tag, "<script src=\"/__nsreload/client.js\"></script>");
}

static void test_identity_positions(void **state)
{
	(void)state;
	check_identity(page, page_injected);
	/* Any case; the last </body> wins (a first one may sit in a comment or a script string). */
	check_identity("<BODY>x</BODY>", "<BODY>x<script src=\"/__nsreload/client.js\"></script></BODY>");
	check_identity("<body>'</body>'</body >",
		       "<body>'</body>'<script src=\"/__nsreload/client.js\"></script></body >");
	/* No </body>: before </html>; neither: at the end. */
	check_identity("<html><p>x</HTML>",
		       "<html><p>x<script src=\"/__nsreload/client.js\"></script></HTML>");
	check_identity("<p>no end tags", "<p>no end tags<script src=\"/__nsreload/client.js\"></script>");
	check_identity("", "<script src=\"/__nsreload/client.js\"></script>");
	/* "</bodyguard>" is not </body>; a cut-off "</body" at the very end is not either. */
	check_identity("<p></bodyguard>", "<p></bodyguard><script src=\"/__nsreload/client.js\"></script>");
	check_identity("<p></body", "<p></body<script src=\"/__nsreload/client.js\"></script>");
}

static void test_identity_binary_safe(void **state)
{
	static const char in[] = "a\0b</body>";
	static const char want[] = "a\0b<script src=\"/__nsreload/client.js\"></script></body>";
	void *out = NULL;
	size_t out_n = 0;

	(void)state;
	assert_int_equal(inject_body(INJECT_IDENTITY, in, sizeof(in) - 1, inject_tag, strlen(inject_tag),
				     &out, &out_n),
			 0);
	assert_int_equal(out_n, sizeof(want) - 1);
	assert_memory_equal(out, want, out_n);
	free(out);
}

static void test_gzip_round_trip(void **state)
{
	size_t n, out_n, dec_n;
	void *in = zlib_pack(page, strlen(page), FRAME_GZIP, &n);
	void *out = NULL;
	char *dec;

	(void)state;
	assert_int_equal(inject_body(INJECT_GZIP, in, n, inject_tag, strlen(inject_tag), &out, &out_n), 0);
	dec = zlib_unpack(out, out_n, FRAME_GZIP, &dec_n);
	assert_string_equal(dec, page_injected);
	free(dec);
	free(out);
	free(in);
}

/* Two gzip members one after the other (RFC 1952): one page, as gunzip and browsers read it. */
static void test_gzip_members(void **state)
{
	size_t half = strlen(page) / 2, n1, n2, out_n, dec_n;
	void *m1 = zlib_pack(page, half, FRAME_GZIP, &n1);
	void *m2 = zlib_pack(page + half, strlen(page) - half, FRAME_GZIP, &n2);
	unsigned char *in = malloc(n1 + n2);
	void *out = NULL;
	char *dec;

	(void)state;
	assert_non_null(in);
	memcpy(in, m1, n1);
	memcpy(in + n1, m2, n2);
	assert_int_equal(inject_body(INJECT_GZIP, in, n1 + n2, inject_tag, strlen(inject_tag), &out, &out_n),
			 0);
	dec = zlib_unpack(out, out_n, FRAME_GZIP, &dec_n);
	assert_string_equal(dec, page_injected);
	free(dec);
	free(out);
	free(in);
	free(m1);
	free(m2);
}

/* "deflate" zlib-wrapped (RFC 9110) and raw (what some servers send): both read; written zlib-wrapped. */
static void test_deflate_round_trip(void **state)
{
	static const enum frame frames[] = { FRAME_ZLIB, FRAME_RAW };

	(void)state;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		size_t n, out_n, dec_n;
		void *in = zlib_pack(page, strlen(page), frames[i], &n);
		void *out = NULL;
		char *dec;

		assert_int_equal(
			inject_body(INJECT_DEFLATE, in, n, inject_tag, strlen(inject_tag), &out, &out_n), 0);
		dec = zlib_unpack(out, out_n, FRAME_ZLIB, &dec_n);
		assert_string_equal(dec, page_injected);
		free(dec);
		free(out);
		free(in);
	}
}

static void test_br_round_trip(void **state)
{
	size_t n, out_n, dec_n;
	void *in = br_pack(page, strlen(page), &n);
	void *out = NULL;
	char *dec;

	(void)state;
	assert_int_equal(inject_body(INJECT_BR, in, n, inject_tag, strlen(inject_tag), &out, &out_n), 0);
	dec = br_unpack(out, out_n, &dec_n);
	assert_string_equal(dec, page_injected);
	free(dec);
	free(out);
	free(in);
}

/* A page bigger than the first decode buffer (16 KiB) and than one doubling: the growth path. */
static void test_large_page(void **state)
{
	size_t body = 300000, n, out_n, dec_n;
	char *big = malloc(body + 32);
	void *in, *out = NULL;
	char *dec;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', body);
	strcpy(big + body, "</body>");
	in = br_pack(big, strlen(big), &n);
	assert_int_equal(inject_body(INJECT_BR, in, n, inject_tag, strlen(inject_tag), &out, &out_n), 0);
	dec = br_unpack(out, out_n, &dec_n);
	assert_int_equal(dec_n, body + strlen(inject_tag) + strlen("</body>"));
	assert_memory_equal(dec + body, inject_tag, strlen(inject_tag));
	assert_string_equal(dec + body + strlen(inject_tag), "</body>");
	free(dec);
	free(out);
	free(in);
	free(big);
}

static void expect_einval(enum inject_enc enc, const void *in, size_t n)
{
	void *out = (void *)&out;
	size_t out_n = 12345;

	assert_int_equal(inject_body(enc, in, n, inject_tag, strlen(inject_tag), &out, &out_n), -EINVAL);
	assert_ptr_equal(out, (void *)&out); /* untouched: nothing to free */
	assert_int_equal(out_n, 12345);
}

static void test_corrupt(void **state)
{
	static const char junk[] = "this is not compressed at all, just text</body>";
	size_t gz_n, z_n, br_n;
	unsigned char *gz = zlib_pack(page, strlen(page), FRAME_GZIP, &gz_n);
	unsigned char *zz = zlib_pack(page, strlen(page), FRAME_ZLIB, &z_n);
	unsigned char *br = br_pack(page, strlen(page), &br_n);
	unsigned char *longer;

	(void)state;
	expect_einval(INJECT_GZIP, junk, strlen(junk));
	expect_einval(INJECT_DEFLATE, junk, strlen(junk));
	expect_einval(INJECT_BR, junk, strlen(junk));
	/* Empty, cut short, a flipped byte in the data (the CRC or the Adler sum catches it). */
	expect_einval(INJECT_GZIP, "", 0);
	expect_einval(INJECT_BR, "", 0);
	expect_einval(INJECT_GZIP, gz, gz_n - 4);
	expect_einval(INJECT_DEFLATE, zz, z_n - 2);
	expect_einval(INJECT_BR, br, br_n - 1);
	gz[gz_n - 6] ^= 0x55;
	expect_einval(INJECT_GZIP, gz, gz_n);
	zz[z_n - 1] ^= 0x55;
	expect_einval(INJECT_DEFLATE, zz, z_n);
	/* Bytes after a br stream's end. */
	longer = malloc(br_n + 3);
	assert_non_null(longer);
	memcpy(longer, br, br_n);
	memcpy(longer + br_n, "abc", 3);
	expect_einval(INJECT_BR, longer, br_n + 3);
	free(longer);
	free(gz);
	free(zz);
	free(br);
}

/* A decompression bomb: a few KiB that decode past INJECT_MAX_BODY stop at the cap with -E2BIG. */
static void test_bomb(void **state)
{
	size_t big = (size_t)INJECT_MAX_BODY + 1, n;
	char *zeros = calloc(1, big);
	void *in, *out = NULL;
	size_t out_n = 0;

	(void)state;
	assert_non_null(zeros);
	in = zlib_pack(zeros, big, FRAME_GZIP, &n);
	assert_true(n < 100000);
	assert_int_equal(inject_body(INJECT_GZIP, in, n, inject_tag, strlen(inject_tag), &out, &out_n),
			 -E2BIG);
	free(in);
	in = zlib_pack(zeros, big, FRAME_RAW, &n);
	assert_int_equal(inject_body(INJECT_DEFLATE, in, n, inject_tag, strlen(inject_tag), &out, &out_n),
			 -E2BIG);
	free(in);
	in = br_pack(zeros, big, &n);
	assert_true(n < 100000);
	assert_int_equal(inject_body(INJECT_BR, in, n, inject_tag, strlen(inject_tag), &out, &out_n), -E2BIG);
	free(in);
	assert_int_equal(
		inject_body(INJECT_IDENTITY, zeros, big, inject_tag, strlen(inject_tag), &out, &out_n),
		-E2BIG);
	assert_null(out);
	/* Exactly at the cap is still a page. */
	in = zlib_pack(zeros, big - 1, FRAME_GZIP, &n);
	assert_int_equal(inject_body(INJECT_GZIP, in, n, inject_tag, strlen(inject_tag), &out, &out_n), 0);
	assert_non_null(out);
	free(out);
	free(in);
	free(zeros);
}

static void test_enc_parse(void **state)
{
	static const struct {
		const char *s;
		int r;
		enum inject_enc enc;
	} cases[] = {
		{ NULL, 0, INJECT_IDENTITY },
		{ "", 0, INJECT_IDENTITY },
		{ "identity", 0, INJECT_IDENTITY },
		{ " Identity ", 0, INJECT_IDENTITY },
		{ "gzip", 0, INJECT_GZIP },
		{ "GZIP", 0, INJECT_GZIP },
		{ "x-gzip", 0, INJECT_GZIP },
		{ "\tgzip ", 0, INJECT_GZIP },
		{ "deflate", 0, INJECT_DEFLATE },
		{ "Deflate", 0, INJECT_DEFLATE },
		{ "br", 0, INJECT_BR },
		{ "BR", 0, INJECT_BR },
		{ "zstd", -ENOTSUP, 0 },
		{ "compress", -ENOTSUP, 0 },
		{ "gzip, br", -ENOTSUP, 0 },
		{ "gzip,gzip", -ENOTSUP, 0 },
		{ "brotli", -ENOTSUP, 0 },
		{ "gzipx", -ENOTSUP, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum inject_enc enc = (enum inject_enc)99;

		assert_int_equal(inject_enc_parse(cases[i].s, &enc), cases[i].r);
		if (cases[i].r == 0)
			assert_int_equal(enc, cases[i].enc);
	}
}

static void test_wanted(void **state)
{
	static const struct {
		int status;
		const char *type, *enc;
		bool head, want;
	} cases[] = {
		{ 200, "text/html", NULL, false, true },
		{ 200, "text/html; charset=utf-8", NULL, false, true },
		{ 200, "Text/HTML;charset=UTF-8", "", false, true },
		{ 200, " text/html ; charset=utf-8", "identity", false, true },
		{ 201, "text/html", "gzip", false, true },
		{ 299, "text/html", "x-gzip", false, true },
		{ 200, "text/html", "deflate", false, true },
		{ 200, "text/html", "br", false, true },
		{ 203, "text/html", "BR", false, true },
		/* Not 2xx, or no body to change. */
		{ 204, "text/html", NULL, false, false },
		{ 206, "text/html", NULL, false, false },
		{ 304, "text/html", NULL, false, false },
		{ 301, "text/html", NULL, false, false },
		{ 404, "text/html", NULL, false, false },
		{ 500, "text/html", NULL, false, false },
		{ 199, "text/html", NULL, false, false },
		{ 200, "text/html", NULL, true, false },
		/* Not HTML. */
		{ 200, NULL, NULL, false, false },
		{ 200, "", NULL, false, false },
		{ 200, "text/plain", NULL, false, false },
		{ 200, "text/htmlx", NULL, false, false },
		{ 200, "text/html5", NULL, false, false },
		{ 200, "application/xhtml+xml", NULL, false, false },
		{ 200, "text/event-stream", NULL, false, false },
		{ 200, "application/json", NULL, false, false },
		/* An encoding we cannot undo. */
		{ 200, "text/html", "zstd", false, false },
		{ 200, "text/html", "gzip, br", false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(inject_wanted(cases[i].status, cases[i].type, cases[i].enc, cases[i].head),
				 cases[i].want);
}

/* The served script: the events it must handle, and the overlay text set as text, never as HTML. */
static void test_client_js(void **state)
{
	size_t len = 0;
	const char *js = inject_client_js(&len);

	(void)state;
	assert_int_equal(len, strlen(js));
	assert_non_null(strstr(js, "new EventSource('/__nsreload/events')"));
	assert_non_null(strstr(js, "'reload'"));
	assert_non_null(strstr(js, "'build-failed'"));
	assert_non_null(strstr(js, "'build-ok'"));
	assert_non_null(strstr(js, "nsreload-overlay"));
	assert_non_null(strstr(js, "Build failed"));
	assert_non_null(strstr(js, "textContent"));
	assert_null(strstr(js, "innerHTML"));
	assert_null(strstr(js, "console."));
	assert_ptr_equal(inject_client_js(NULL), js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_identity_positions),
		cmocka_unit_test(test_identity_binary_safe),
		cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_deflate_round_trip),
		cmocka_unit_test(test_br_round_trip),
		cmocka_unit_test(test_large_page),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_enc_parse),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_client_js),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
