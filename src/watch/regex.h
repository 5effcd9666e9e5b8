/*
 * regex.h - a set of regular expressions with Go RE2's meaning, on PCRE2.
 *
 * air compiles build.exclude_regex (and a [[build.rules]] entry's
 * exclude_regex) with Go's regexp, which is RE2 syntax. PCRE2 (libpcre2-8)
 * reads all of RE2's syntax; these options make it mean what RE2 means
 * where the two differ:
 *  - PCRE2_UTF and PCRE2_MATCH_INVALID_UTF: patterns and subjects are UTF-8,
 *    and a path that is not valid UTF-8 is still matched (its bad bytes
 *    match nothing), where Go reads each bad byte as U+FFFD.
 *  - PCRE2_DOLLAR_ENDONLY: '$' is the end of the text, not "before a final
 *    newline" (without (?m)).
 *  - PCRE2_NEVER_BACKSLASH_C: RE2 has no \C; a pattern cannot enable it.
 *  - No PCRE2_UCP: \d, \w, \s and \b are ASCII, as in RE2.
 * What RE2 lacks and PCRE2 has is refused with RE2's reason, as air (whose
 * regexp.Compile fails) refuses to start: lookahead and lookbehind, atomic
 * groups, backreferences (\1..\9, \g, \k), conditionals and recursion.
 * Other PCRE2-only syntax (possessive quantifiers, \Z, callouts) is not
 * looked for: it is rare in a path filter and compiles to a matcher that
 * never surprises an RE2 user with what the part RE2 has means.
 *
 * Each pattern is compiled once (with PCRE2's JIT where it works, else its
 * interpreter) and matched with one match block shared by the set, so a
 * set is not for concurrent use. Matching is bounded (a match limit), so a
 * pattern with catastrophic backtracking cannot hang the loop: hitting the
 * limit counts as no match.
 */
#ifndef NSRELOAD_REGEX_H
#define NSRELOAD_REGEX_H

#include <stddef.h>

struct regex_set;

/* Why a pattern was refused. */
struct regex_error {
	size_t index;  /* which pattern */
	size_t offset; /* byte offset in it where the problem was found */
	char msg[200]; /* PCRE2's text, or RE2's reason for what it lacks */
};

/*
 * Compiles patterns[0..n) into *out (n may be 0: a set that matches
 * nothing). Returns 0, -ENOMEM, or -EINVAL with err filled in (err may be
 * NULL).
 */
int regex_set_compile(struct regex_set **out, const char *const *patterns, size_t n, struct regex_error *err);
/* The index of the first pattern that matches somewhere in subject[0..len), -1, or -ENOMEM. */
int regex_set_match(struct regex_set *s, const char *subject, size_t len);
/* The same on the path root + "/" + rel (root "/" takes no second "/"), built in the set's own buffer. */
int regex_set_match_under(struct regex_set *s, const char *root, const char *rel);
size_t regex_set_count(const struct regex_set *s);
void regex_set_free(struct regex_set *s);

#endif
