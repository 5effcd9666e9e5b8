/*
 * util.c: the duration parser at its limits, escaping text for a terminal,
 * geometric growth of arrays (a 300,000-element list in the configuration is
 * a few dozen reallocs, not 300,000), the one whole-file reader and the
 * advice when file descriptors run out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_internal.h"
#include "util.h"

static void test_duration_limits(void **state)
{
	static const struct {
		const char *s;
		int r;
		unsigned long long ms;
	} cases[] = {
		{ "0", 0, 0 },
		{ "0s", 0, 0 },
		{ "0.0ms", 0, 0 },
		{ "500", 0, 500 },
		{ "1.5s", 0, 1500 },
		{ "1m30s", 0, 90000 },
		{ "250000us", 0, 250 },
		{ "0.5ms", 0, 1 },
		{ "576h", 0, DURATION_MAX_MS },
		{ "2073600000", 0, DURATION_MAX_MS },
		{ "2073600001", -ERANGE, 0 },
		{ "576h1ms", -ERANGE, 0 },
		{ "4294967296ms", -ERANGE, 0 },
		{ "4294967296", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "18446744073709551615ns", -ERANGE, 0 },
		{ "5124095576030432h", -ERANGE, 0 },
		{ "0.0000001ms", -EDOM, 0 },
		{ "0.4ms", -EDOM, 0 },
		{ "499999ns", -EDOM, 0 },
		{ "0.000000000000000000001h", -EDOM, 0 },
		{ "", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "+1s", -EINVAL, 0 },
		{ " 1s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "1e3s", -EINVAL, 0 },
		{ "0x10s", -EINVAL, 0 },
		{ "1sec", -EINVAL, 0 },
		{ "1s.5s", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long long ms = 12345;
		int r = duration_parse_ms(cases[i].s, &ms);

		if (r != cases[i].r || (r == 0 && ms != cases[i].ms))
			fprintf(stderr, "'%s': got %d (%llu ms), want %d (%llu ms)\n", cases[i].s, r, ms,
				cases[i].r, cases[i].ms);
		assert_int_equal(r, cases[i].r);
		assert_int_equal(ms, r == 0 ? cases[i].ms : 12345);
	}
	assert_non_null(duration_strerror(-ERANGE));
	assert_non_null(duration_strerror(-EDOM));
	assert_null(duration_strerror(-EINVAL));
}

static void test_text_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain/path.go", "plain/path.go" },
		{ "tab\there", "tab\\there" },
		{ "a\nb\rc", "a\\nb\\rc" },
		{ "\033[31mred", "\\x1b[31mred" },
		{ "bell\007 del\x7f", "bell\\x07 del\\x7f" },
		{ "c1 \xc2\x9b"
		  "31m",
		  "c1 \\u009b31m" },
		{ "nel \xc2\x85", "nel \\u0085" },
		{ "bidi \xe2\x80\xae \xe2\x81\xa6 \xd8\x9c", "bidi \\u202e \\u2066 \\u061c" },
		{ "ls \xe2\x80\xa8", "ls \\u2028" },
		{ "bad \xff \xc0\xaf \xed\xa0\x80", "bad \\xff \\xc0\\xaf \\xed\\xa0\\x80" },
		{ "utf8 h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0",
		  "utf8 h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0" },
		{ "back\\slash \"quote\"", "back\\slash \"quote\"" },
	};
	char buf[128], tiny[8];
	char *mem = NULL;
	size_t len = 0;
	FILE *m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(text_escape(buf, sizeof(buf), cases[i].in), cases[i].out);
		m = open_memstream(&mem, &len);
		fput_text(m, cases[i].in);
		fclose(m);
		assert_string_equal(mem, cases[i].out);
		free(mem);
		mem = NULL;
	}
	/* Cut before an escape that does not fit, never through it. */
	assert_string_equal(text_escape(tiny, sizeof(tiny), "abcd\033x"), "abcd");
	assert_string_equal(text_escape(tiny, sizeof(tiny), "abc\033x"), "abc\\x1b");
	assert_string_equal(text_escape(tiny, 1, "abc"), "");
}

static void test_array_grow_doubles(void **state)
{
	size_t cap = 0, changes = 0;
	int *v = NULL;

	(void)state;
	for (size_t n = 0; n < 300000; n++) {
		if (n == cap) {
			size_t old = cap;
			int *grown = array_grow(v, &cap, sizeof(*v));
			assert_non_null(grown);
			assert_int_equal(cap, old ? old * 2 : 4);
			v = grown;
			changes++;
		}
		assert_non_null(v);
		v[n] = (int)n;
	}
	/* 4, 8, ... 524288: 18 reallocs for 300,000 appends. */
	assert_int_equal(changes, 18);
	assert_non_null(v);
	assert_int_equal(v[299999], 299999);
	free(v);

	/* A capacity that cannot double fails cleanly and leaves the array alone. */
	cap = SIZE_MAX / 4 + 1;
	assert_null(array_grow(NULL, &cap, 4));
	assert_int_equal(cap, SIZE_MAX / 4 + 1);
}

/* A 300,000-element array in the file: the list's capacity grew by doubling, not by one. */
static void test_config_list_grows_geometrically(void **state)
{
	const size_t n = 300000;
	struct config_strlist l = { 0 };
	size_t reallocs = 0, len = 0, cap = 4096;
	char *toml = malloc(cap);
	struct config c;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		size_t before = l.cap;
		assert_int_equal(config_strlist_push(&l, "go", 2), 0);
		reallocs += l.cap != before;
	}
	assert_int_equal(l.n, n);
	assert_true(reallocs <= 20);
	assert_true(l.cap >= n && l.cap < 2 * n);
	config_strlist_clear(&l);
	assert_int_equal(l.cap, 0);

	assert_non_null(toml);
	len = (size_t)snprintf(toml, cap, "[build]\ninclude_ext = [");
	for (size_t i = 0; i < n; i++) {
		if (len + 32 > cap) {
			char *grown = realloc(toml, cap * 2);
			assert_non_null(grown);
			toml = grown;
			cap *= 2;
		}
		len += (size_t)snprintf(toml + len, cap - len, "%s\"e%zu\"", i ? "," : "", i);
	}
	len += (size_t)snprintf(toml + len, cap - len, "]\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load_buffer(&c, "big.toml", toml, len, NULL), 0);
	assert_int_equal(c.build.include_ext.n, n);
	assert_string_equal(c.build.include_ext.v[n - 1], "e299999");
	assert_true(c.build.include_ext.cap >= n && c.build.include_ext.cap < 2 * n);
	config_free(&c);
	free(toml);
}

/* Sizes around the 4 KiB first buffer and the limit; a symlink with O_NOFOLLOW; a missing file. */
static void test_read_file(void **state)
{
	char dir[] = "/tmp/nsreload-test-util-XXXXXX", path[64], link[64];
	static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 100000 };
	char *buf = NULL, *want = malloc(100000);
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(want);
	for (size_t i = 0; i < 100000; i++)
		want[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(want, 1, sizes[i], f), sizes[i]);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(read_file(path, 0, 100000, &buf, &len), 0);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(buf, want, len);
		assert_int_equal(buf[len], '\0');
		free(buf);
	}
	/* 100000 bytes: one more than a limit of 99999. */
	assert_int_equal(read_file(path, 0, 99999, &buf, &len), -EFBIG);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(read_file(link, 0, 100000, &buf, &len), 0);
	free(buf);
	assert_int_equal(read_file(link, O_NOFOLLOW, 100000, &buf, &len), -ELOOP);
	assert_int_equal(read_file("/nonexistent/nsreload", 0, 1, &buf, &len), -ENOENT);
	assert_int_equal(read_file(dir, 0, 1, &buf, &len), -EISDIR);
	unlink(link);
	unlink(path);
	rmdir(dir);
	free(want);
}

static void test_nofile_advice(void **state)
{
	struct rlimit rl;
	char buf[256], want[256];

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(want, sizeof(want),
			 "out of file descriptors while watching x; raise it with 'ulimit -n 4096' "
			 "before starting nsreload");
	else
		snprintf(want, sizeof(want),
			 "out of file descriptors (ulimit -n is %llu) while watching x; raise it with "
			 "'ulimit -n "
			 "4096' before starting nsreload",
			 (unsigned long long)rl.rlim_cur);
	assert_string_equal(nofile_advice(buf, sizeof(buf), " while watching x"), want);
	/* Cut, but terminated. */
	assert_int_equal(strlen(nofile_advice(buf, 10, "")), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_limits),
		cmocka_unit_test(test_text_escape),
		cmocka_unit_test(test_array_grow_doubles),
		cmocka_unit_test(test_config_list_grows_geometrically),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_nofile_advice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
