#include "glob.h"

#include <ctype.h>
#include <string.h>

/*
 * Besides a plain miss, the matcher reports two kinds of hopeless failure so
 * that a '*' further out stops trying longer runs: the text ran out while
 * pattern remained (no longer run can help), or a single '*' would have had
 * to cross a '/' (only an enclosing "**" can). This keeps patterns with many
 * stars linear-ish instead of exponential.
 */
enum result {
	R_MATCH,
	R_MISS,
	R_ABORT_ALL,
	R_ABORT_TO_DOUBLE,
};

static bool named_class(const char *name, size_t len, unsigned char c, bool *known)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank }, { "cntrl", iscntrl },
		{ "digit", isdigit }, { "graph", isgraph }, { "lower", islower }, { "print", isprint },
		{ "punct", ispunct }, { "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0) {
			*known = true;
			return classes[i].fn(c) != 0;
		}
	}
	*known = false;
	return false;
}

/*
 * Matches c against the class that starts at *pp ('['), and leaves *pp on its
 * closing ']'. Returns 1 on a match, 0 on a miss, -1 when the class is
 * malformed (then the whole pattern can never match).
 */
static int class_match(const char **pp, unsigned char c, unsigned flags)
{
	const char *p = *pp + 1;
	bool negate = false, hit = false, have_prev = false;
	unsigned char prev = 0;

	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	for (bool first = true;; p++, first = false) {
		unsigned char pc = (unsigned char)*p;

		if (pc == '\0')
			return -1;
		if (pc == ']' && !first)
			break;
		if (pc == '\\') {
			pc = (unsigned char)*++p;
			if (pc == '\0')
				return -1;
		} else if (pc == '-' && have_prev && p[1] && p[1] != ']') {
			unsigned char hi = (unsigned char)*++p;

			if (hi == '\\') {
				hi = (unsigned char)*++p;
				if (hi == '\0')
					return -1;
			}
			if (c >= prev && c <= hi)
				hit = true;
			/* "a-c-e": the second '-' is literal, as in git. */
			have_prev = false;
			continue;
		} else if (pc == '[' && p[1] == ':') {
			const char *name = p + 2, *end = name;
			bool known;

			while (*end && *end != ']')
				end++;
			if (*end == '\0')
				return -1;
			if (end > name && end[-1] == ':') {
				if (named_class(name, (size_t)(end - name - 1), c, &known))
					hit = true;
				if (!known)
					return -1;
				p = end;
				have_prev = false;
				continue;
			}
			/* No ":]" before the next ']': the '[' is an ordinary member. */
		}
		if (pc == c)
			hit = true;
		prev = pc;
		have_prev = true;
	}
	*pp = p;
	if (hit == negate)
		return 0;
	if ((flags & GLOB_PATHNAME) && c == '/')
		return 0;
	return 1;
}

static enum result match(const char *pat, const char *p, const char *t, unsigned flags);

/* p is just past the first '*' of a run; t is where the run starts consuming. */
static enum result star(const char *pat, const char *p, const char *t, unsigned flags)
{
	const char *first = p - 1;
	bool cross_slash = !(flags & GLOB_PATHNAME);

	if (*p == '*') {
		while (*p == '*')
			p++;
		if ((flags & GLOB_PATHNAME) && (first == pat || first[-1] == '/') &&
		    (*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
			cross_slash = true;
			/*
			 * "**" + "/" may stand for no directory at all. The loop
			 * below tries the same rest after each later '/', so when
			 * no later start can help, neither can the loop: passing
			 * that on keeps a row of "**" components from going exponential.
			 */
			if (*p == '/') {
				enum result r = match(pat, p + 1, t, flags);

				if (r == R_MATCH || r == R_ABORT_ALL)
					return r;
			}
		}
	}
	if (*p == '\0') {
		if (!cross_slash && strchr(t, '/'))
			return R_ABORT_TO_DOUBLE;
		return R_MATCH;
	}
	for (const char *c = t;; c++) {
		enum result r = match(pat, p, c, flags);

		if (r != R_MISS && (!cross_slash || r != R_ABORT_TO_DOUBLE))
			return r;
		if (*c == '\0')
			return R_ABORT_ALL;
		if (!cross_slash && *c == '/')
			return R_ABORT_TO_DOUBLE;
	}
}

static enum result match(const char *pat, const char *p, const char *t, unsigned flags)
{
	for (; *p; p++, t++) {
		if (*t == '\0' && *p != '*')
			return R_ABORT_ALL;
		switch (*p) {
		case '\\':
			p++;
			/* A trailing lone backslash can match nothing. */
			if (*p == '\0')
				return R_ABORT_ALL;
			if (*p != *t)
				return R_MISS;
			break;
		case '?':
			if ((flags & GLOB_PATHNAME) && *t == '/')
				return R_MISS;
			break;
		case '*':
			return star(pat, p + 1, t, flags);
		case '[': {
			int r = class_match(&p, (unsigned char)*t, flags);

			if (r < 0)
				return R_ABORT_ALL;
			if (r == 0)
				return R_MISS;
			break;
		}
		default:
			if (*p != *t)
				return R_MISS;
		}
	}
	return *t ? R_MISS : R_MATCH;
}

bool glob_match(const char *pattern, const char *text, unsigned flags)
{
	return match(pattern, pattern, text, flags) == R_MATCH;
}

bool glob_has_magic(const char *pattern)
{
	return strpbrk(pattern, "*?[\\") != NULL;
}
