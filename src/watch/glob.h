/*
 * glob.h - shell-style pattern matching with gitignore's rules.
 *
 * Syntax: '*' matches any run of characters and '?' any one character,
 * neither of them '/' when GLOB_PATHNAME is given; "[...]" is a class with
 * ranges ("a-z"), negation ("[!...]" or "[^...]"), POSIX names
 * ("[[:digit:]]") and backslash escapes, and never matches '/' under
 * GLOB_PATHNAME; a backslash makes the next character literal. A double
 * star is special only as a whole path component: at the start and followed
 * by a slash it matches any number of leading directories (none included);
 * after a slash at the end it matches everything below; between two slashes
 * it matches zero or more directories. Elsewhere it is the same as '*'.
 *
 * A malformed pattern (an unclosed class, an unknown class name, a trailing
 * lone backslash) matches nothing, as in git.
 */
#ifndef NSRELOAD_GLOB_H
#define NSRELOAD_GLOB_H

#include <stdbool.h>

enum {
	GLOB_PATHNAME = 1 << 0, /* wildcards and classes do not match '/'; "**" is special */
};

bool glob_match(const char *pattern, const char *text, unsigned flags);
/* Whether pattern contains any of "*?[\\" (otherwise plain string comparison suffices). */
bool glob_has_magic(const char *pattern);

#endif
