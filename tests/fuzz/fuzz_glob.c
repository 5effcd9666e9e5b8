/*
 * fuzz_glob - libFuzzer target for glob_match(). The input is
 * PATTERN '\0' TEXT (a missing NUL means an empty text; anything after a
 * second NUL is ignored), and both flag settings are tried. Besides not
 * crashing, the answers must obey the contract in glob.h:
 *  - a pattern without magic matches exactly the equal string;
 *  - a pattern made literal by escaping every character matches exactly the
 *    text it was made from;
 *  - under GLOB_PATHNAME, without "**", a match never has more '/' in the
 *    text than in the pattern (only a '/' matches a '/');
 *  - with no '/' on either side, GLOB_PATHNAME changes nothing;
 *  - "**" + "/" + pattern matches where pattern matches from some
 *    component of the text on;
 *  - where our syntax and fnmatch(3)'s coincide (see fnmatch_comparable)
 *    the answers are fnmatch's.
 * A blow-up in the backtracking shows as a libFuzzer -timeout.
 */
#define _GNU_SOURCE
#include "glob.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/*
 * Whether fnmatch(3) with these flags means what glob.h says for pat. Not
 * for glibc: "**" (it has no such thing) and, under FNM_PATHNAME, a '*'
 * before an escaped '/' ("*\/b" misses "x/b"). Classes only in their plain
 * form, letters and digits and ascending ranges of them, as git's and
 * fnmatch's differ in the corners; no trailing lone backslash.
 */
static bool fnmatch_comparable(const char *p, unsigned flags)
{
	for (; *p; p++) {
		if (*p == '\\') {
			if (!p[1] || ((flags & GLOB_PATHNAME) && p[1] == '/'))
				return false;
			p++;
		} else if (*p == '*' && p[1] == '*' && (flags & GLOB_PATHNAME)) {
			return false;
		} else if (*p == '[') {
			size_t members = 0;

			if (*++p == '!' || *p == '^')
				p++;
			for (; *p != ']' || members == 0; members++) {
				if (!isalnum((unsigned char)*p))
					return false;
				if (p[1] == '-' && isalnum((unsigned char)p[2])) {
					if (p[2] < p[0])
						return false;
					p += 2;
				}
				p++;
			}
		}
	}
	return true;
}

static void fail(const char *what, const char *pat, const char *text, unsigned flags)
{
	fprintf(stderr, "fuzz_glob: %s: pattern \"%s\" text \"%s\" flags %u\n", what, pat, text, flags);
	abort();
}

static void check(const char *pat, const char *text, char *escaped, unsigned flags)
{
	bool got = glob_match(pat, text, flags);
	bool equal = strcmp(pat, text) == 0;

	if (!glob_has_magic(pat) && got != equal)
		fail("literal pattern disagrees with strcmp", pat, text, flags);
	if (!glob_match(escaped, text, flags) || glob_match(escaped, pat, flags) != equal)
		fail("escaped text does not match exactly itself", escaped, pat, flags);
	if ((flags & GLOB_PATHNAME) && got && !strstr(pat, "**") &&
	    count_char(text, '/') > count_char(pat, '/'))
		fail("a wildcard crossed '/'", pat, text, flags);
	if (!(flags & GLOB_PATHNAME) && !strchr(pat, '/') && !strchr(text, '/') &&
	    got != glob_match(pat, text, GLOB_PATHNAME))
		fail("GLOB_PATHNAME changed a match without '/'", pat, text, flags);
	if (fnmatch_comparable(pat, flags)) {
		int fm = fnmatch(pat, text, (flags & GLOB_PATHNAME) ? FNM_PATHNAME : 0);

		if (fm != 0 && fm != FNM_NOMATCH)
			fail("fnmatch failed", pat, text, flags);
		if (got != (fm == 0))
			fail("fnmatch disagrees", pat, text, flags);
	}
}

/*
 * A leading "**" + "/" stands for any number of leading directories, none
 * included: the pattern after it must match the text from some component on.
 */
static void check_leading_double_star(const char *pat, const char *text)
{
	char *lead;
	bool want = false;

	if (asprintf(&lead, "**/%s", pat) < 0)
		return;
	for (const char *c = text; c && !want; c = strchr(c, '/'), c = c ? c + 1 : NULL)
		want = glob_match(pat, c, GLOB_PATHNAME);
	if (glob_match(lead, text, GLOB_PATHNAME) != want)
		fail("a leading \"**/\" is not any number of directories", lead, text, GLOB_PATHNAME);
	free(lead);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *escaped, *text;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	text = buf + strlen(buf);
	if ((size_t)(text - buf) < size)
		text++;
	/* Text escaped char by char, to be used as a pattern. */
	escaped = malloc(2 * strlen(text) + 1);
	if (!escaped) {
		free(buf);
		return 0;
	}
	for (size_t i = 0, j = 0;; i++) {
		if (text[i] == '\0') {
			escaped[j] = '\0';
			break;
		}
		escaped[j++] = '\\';
		escaped[j++] = text[i];
	}
	check(buf, text, escaped, 0);
	check(buf, text, escaped, GLOB_PATHNAME);
	check_leading_double_star(buf, text);
	free(escaped);
	free(buf);
	return 0;
}
