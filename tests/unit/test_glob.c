/* glob.c: wildcards, classes, escapes and "**" with gitignore's meaning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "glob.h"

struct gcase {
	const char *pat, *text;
	bool want;
};

static void run(const struct gcase *c, size_t n, unsigned flags)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		bool got = glob_match(c[i].pat, c[i].text, flags);

		if (got != c[i].want) {
			fprintf(stderr, "glob %s on %s: got %d, want %d\n", c[i].pat, c[i].text, got,
				c[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

#define RUN(cases, flags) run(cases, sizeof(cases) / sizeof(cases[0]), flags)

static void test_literal_and_wildcards(void **state)
{
	static const struct gcase cases[] = {
		{ "abc", "abc", true },
		{ "abc", "abcd", false },
		{ "abc", "ab", false },
		{ "", "", true },
		{ "", "a", false },
		{ "*", "", true },
		{ "*", "anything", true },
		{ "*", "a/b", false },
		{ "*.go", "main.go", true },
		{ "*.go", "main.go.bak", false },
		{ "*.go", "dir/main.go", false },
		{ "a*b", "ab", true },
		{ "a*b", "axxb", true },
		{ "a*b", "a/b", false },
		{ "?", "a", true },
		{ "?", "", false },
		{ "?", "/", false },
		{ "a?c", "abc", true },
		{ "a?c", "ac", false },
		{ "*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
		{ "*/*", "a/b", true },
		{ "*/*", "a/b/c", false },
		{ "a/*/c", "a/b/c", true },
		{ "a/*/c", "a/c", false },
		{ "x**y", "xay", true },
		{ "x**y", "xa/y", false },
		{ "a**", "a/b", false },
		{ "**a", "b/a", false },
	};

	(void)state;
	RUN(cases, GLOB_PATHNAME);
}

static void test_without_pathname(void **state)
{
	static const struct gcase cases[] = {
		{ "*", "a/b", true },
		{ "?", "/", true },
		{ "a*c", "a/b/c", true },
		{ "[!a]", "/", true },
	};

	(void)state;
	RUN(cases, 0);
}

static void test_classes(void **state)
{
	static const struct gcase cases[] = {
		{ "[abc]", "b", true },
		{ "[abc]", "d", false },
		{ "[a-c]x", "bx", true },
		{ "[a-c]x", "dx", false },
		{ "[!a-c]", "d", true },
		{ "[!a-c]", "b", false },
		{ "[^a-c]", "d", true },
		{ "[^a-c]", "a", false },
		{ "[]]", "]", true },
		{ "[]a]", "a", true },
		{ "[!]]", "]", false },
		{ "[!]]", "x", true },
		{ "[a-]", "-", true },
		{ "[-a]", "-", true },
		{ "[a-c-e]", "-", true },
		{ "[a-c-e]", "d", false },
		{ "[\\]]", "]", true },
		{ "[\\-]", "-", true },
		{ "[a\\-c]", "b", false },
		{ "[[:digit:]]", "5", true },
		{ "[[:digit:]]", "x", false },
		{ "[[:alpha:]]", "Q", true },
		{ "[[:upper:]]", "q", false },
		{ "[[:lower:][:digit:]]", "7", true },
		{ "[[:space:]]", " ", true },
		{ "[[:xdigit:]]", "f", true },
		{ "[[:xdigit:]]", "g", false },
		{ "[[:punct:]]", "!", true },
		{ "[[:alnum:]]", "_", false },
		{ "[[:bogus:]]", "b", false },
		{ "[[:bogus:]]", "[", false },
		{ "[[:alpha]", "[", true },
		{ "[[:alpha]", "a", true },
		{ "[unclosed", "u", false },
		{ "[unclosed", "[unclosed", false },
		{ "[/]", "/", false },
		{ "[!a]", "/", false },
		{ "a[/]b", "a/b", false },
		{ "[*]", "*", true },
		{ "[?]", "a", false },
		{ "[!]", "!", false },
	};

	(void)state;
	RUN(cases, GLOB_PATHNAME);
}

static void test_escapes(void **state)
{
	static const struct gcase cases[] = {
		{ "\\*", "*", true },       { "\\*", "a", false },    { "\\?", "?", true },
		{ "\\?", "a", false },      { "\\[a]", "[a]", true }, { "\\[a]", "a", false },
		{ "\\\\", "\\", true },     { "\\a", "a", true },     { "a\\", "a\\", false },
		{ "a\\", "a", false },      { "\\#x", "#x", true },   { "\\!x", "!x", true },
		{ "foo\\ ", "foo ", true }, { "*\\*", "ab*", true },  { "*\\*", "ab", false },
	};

	(void)state;
	RUN(cases, GLOB_PATHNAME);
}

static void test_double_star(void **state)
{
	static const struct gcase cases[] = {
		{ "**", "a", true },
		{ "**", "a/b/c", true },
		{ "**/foo", "foo", true },
		{ "**/foo", "a/foo", true },
		{ "**/foo", "a/b/foo", true },
		{ "**/foo", "a/foox", false },
		{ "**/foo", "xfoo", false },
		{ "**/foo/bar", "x/foo/bar", true },
		{ "**/foo/bar", "foo/bar", true },
		{ "abc/**", "abc/x", true },
		{ "abc/**", "abc/x/y", true },
		{ "abc/**", "abc", false },
		{ "abc/**", "abcd/x", false },
		{ "a/**/b", "a/b", true },
		{ "a/**/b", "a/x/b", true },
		{ "a/**/b", "a/x/y/b", true },
		{ "a/**/b", "a/xb", false },
		{ "a/**/b", "ab", false },
		{ "a/**/b", "a/x/y/bc", false },
		{ "a/**/*.c", "a/m.c", true },
		{ "a/**/*.c", "a/x/y/m.c", true },
		{ "a/**b", "a/xb", true },
		{ "a/**b", "a/x/b", false },
		{ "**/*.go", "x.go", true },
		{ "**/*.go", "d/e/x.go", true },
		{ "**/**/x", "x", true },
		{ "**/**/x", "a/b/x", true },
		{ "a/**/**/b", "a/b", true },
		{ "a/**/**/b", "a/1/2/3/b", true },
		{ "**/a/**", "x/a/y", true },
		{ "**/a/**", "a", false },
		{ "***/x", "a/b/x", true },
		{ "a/**\\/b", "a/x/b", true },
	};

	(void)state;
	RUN(cases, GLOB_PATHNAME);
}

/*
 * A row of "**" components against a deep path: each may stand for no
 * directory or for some, and trying every split used to take 2^n steps
 * (found by fuzz_glob; regressions/fuzz_glob/double-star-row-exponential).
 */
static void test_double_star_row(void **state)
{
	char pat[3 * 64 + 2] = "", text[2 * 64 + 2] = "";

	(void)state;
	for (int i = 0; i < 64; i++) {
		strcat(pat, "**/");
		strcat(text, "a/");
	}
	strcat(text, "b");
	strcat(pat, "x");
	assert_false(glob_match(pat, text, GLOB_PATHNAME));
	pat[strlen(pat) - 1] = 'b';
	assert_true(glob_match(pat, text, GLOB_PATHNAME));
	assert_false(glob_match(pat, "a/a/c", GLOB_PATHNAME));
	assert_true(glob_match(pat, "b", GLOB_PATHNAME));
}

static void test_has_magic(void **state)
{
	(void)state;
	assert_false(glob_has_magic("plain/name.go"));
	assert_true(glob_has_magic("*.go"));
	assert_true(glob_has_magic("a?"));
	assert_true(glob_has_magic("[ab]"));
	assert_true(glob_has_magic("\\#x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_and_wildcards),
		cmocka_unit_test(test_without_pathname),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_double_star),
		cmocka_unit_test(test_double_star_row),
		cmocka_unit_test(test_has_magic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
