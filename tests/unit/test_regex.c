/*
 * regex.h: RE2's meaning on PCRE2. Each case is what Go's regexp (RE2
 * syntax, https://github.com/google/re2/wiki/Syntax, as air's
 * runner/config.go compiles exclude_regex) does with it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "regex.h"

static int match1(const char *pat, const char *subject, size_t len)
{
	struct regex_set *s;
	int r;

	assert_int_equal(regex_set_compile(&s, &pat, 1, NULL), 0);
	r = regex_set_match(s, subject, len);
	regex_set_free(s);
	return r;
}

#define MATCHES(p, subj)     assert_int_equal(match1(p, subj, strlen(subj)), 0)
#define NOT_MATCHES(p, subj) assert_int_equal(match1(p, subj, strlen(subj)), -1)

static void test_re2_meaning(void **state)
{
	(void)state;
	MATCHES("/gen/", "/home/u/proj/gen/x.go");
	MATCHES("(?i)_TEST\\.go$", "/p/a_test.go");
	MATCHES("\\d+\\.go$", "/p/v2.go");
	/* Without (?m), $ is the end of the text: Go does not match before a final newline. */
	NOT_MATCHES("x$", "/p/x\n");
	MATCHES("(?m)x$", "/p/x\n");
	/* \d, \w, \s and \b are ASCII in RE2: an Arabic-Indic digit is not \d. */
	NOT_MATCHES("\\d", "/p/\xd9\xa3.go");
	MATCHES("\\pN", "/p/\xd9\xa3.go");
	/* . matches one character (UTF-8), not one byte; no newline without (?s). */
	MATCHES("^/p/.\\.go$", "/p/\xc3\xa9.go");
	NOT_MATCHES("a.b", "a\nb");
	MATCHES("(?s)a.b", "a\nb");
	/* Named groups, both spellings; non-greedy; (?U); \Q..\E; POSIX classes; \z. */
	MATCHES("(?P<n>ab)+c", "ababc");
	MATCHES("(?<n>ab)+c", "ababc");
	MATCHES("(?U)a+", "aaa");
	MATCHES("\\Q(x)\\E$", "/p/(x)");
	MATCHES("[[:digit:]]x", "1x");
	MATCHES("go\\z", "a.go");
	/* A path that is not UTF-8 is still matched; its bad byte matches nothing. */
	MATCHES("_test\\.go$", "/p/\xff_test.go");
	NOT_MATCHES("^/p/.x", "/p/\xffx");
	/* An empty set, and the first of several that match. */
	{
		struct regex_set *s;
		const char *two[] = { "nope", "b", "a" };

		assert_int_equal(regex_set_compile(&s, NULL, 0, NULL), 0);
		assert_int_equal(regex_set_match(s, "abc", 3), -1);
		assert_int_equal(regex_set_count(s), 0);
		regex_set_free(s);
		assert_int_equal(regex_set_compile(&s, two, 3, NULL), 0);
		assert_int_equal(regex_set_match(s, "abc", 3), 1);
		regex_set_free(s);
	}
}

static void refused(const char *pat, size_t offset, const char *msg)
{
	const char *pats[] = { "fine", pat };
	struct regex_set *s = NULL;
	struct regex_error e;

	assert_int_equal(regex_set_compile(&s, pats, 2, &e), -EINVAL);
	assert_null(s);
	assert_int_equal(e.index, 1);
	assert_int_equal(e.offset, offset);
	if (!strstr(e.msg, msg))
		fail_msg("%s: \"%s\" does not say \"%s\"", pat, e.msg, msg);
}

static void test_refused(void **state)
{
	(void)state;
	/* PCRE2's own errors, with its offset. */
	refused("a(", 2, "missing closing parenthesis");
	refused("*a", 0, "quantifier does not follow a repeatable item");
	refused("[a", 2, "missing terminating ]");
	/* What RE2 lacks: Go's regexp.Compile fails on each, so air does not start. */
	refused("x(?=y)", 1, "invalid or unsupported Perl syntax: `(?=`");
	refused("(?!y)", 0, "`(?!`");
	refused("(?<=a)b", 0, "`(?<=`");
	refused("(?<!a)b", 0, "`(?<!`");
	refused("(?>a)", 0, "`(?>`");
	refused("(a)\\1", 3, "backreference");
	refused("(?<n>a)\\k<n>", 7, "backreference");
	refused("(?x) a b", 0, "`(?x`");
	refused("(*UTF)a", 0, "missing argument to repetition operator");
	/* \C is neither RE2 nor allowed by PCRE2_NEVER_BACKSLASH_C. */
	refused("a\\Cb", 3, "\\C");
	/* Inside a class or \Q..\E these are plain characters, as in RE2. */
	MATCHES("[(?=]x", "=x");
	MATCHES("\\Q(?=\\E", "(?=");
	/* \12 is an octal escape in RE2 (newline), not a backreference. */
	MATCHES("a\\12b", "a\nb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_re2_meaning),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
