/* A set of RE2-syntax regular expressions compiled with PCRE2 (regex.h). */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"

#include <errno.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Paths are at most PATH_MAX bytes: a million steps is far more than any sane pattern needs there. */
#define REGEX_MATCH_LIMIT 1000000u

/*
 * PCRE2's JIT reads the subject in 16-byte words and may read past its end
 * (within the page, never used): harmless, but valgrind calls it an invalid
 * read of the caller's block. Each subject is copied into buf, which has
 * SUBJECT_PAD zeroed bytes after it, so every read is inside our block.
 */
#define SUBJECT_PAD 64

struct regex_set {
	pcre2_code **code;
	size_t n;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	char *buf; /* the subject, then SUBJECT_PAD zero bytes */
	size_t cap;
};

/*
 * head, then "/" and tail when tail is not NULL (no "/" after a head of "/"), into s->buf with SUBJECT_PAD
 * zero bytes after it; *len is the subject's length. NULL when memory runs out.
 */
static const char *padded(struct regex_set *s, const char *head, size_t hlen, const char *tail, size_t *len)
{
	bool sep = tail && !(hlen == 1 && head[0] == '/');
	size_t tlen = tail ? strlen(tail) : 0;

	*len = hlen + sep + tlen;
	if (*len + SUBJECT_PAD > s->cap) {
		char *grown = realloc(s->buf, *len + SUBJECT_PAD);

		if (!grown)
			return NULL;
		s->buf = grown;
		s->cap = *len + SUBJECT_PAD;
	}
	memcpy(s->buf, head, hlen);
	if (sep)
		s->buf[hlen] = '/';
	memcpy(s->buf + hlen + sep, tail ? tail : "", tlen);
	memset(s->buf + *len, 0, s->cap - *len);
	return s->buf;
}
static int refuse(struct regex_error *err, size_t offset, const char *what, const char *p, size_t len)
{
	if (err) {
		err->offset = offset;
		snprintf(err->msg, sizeof(err->msg),
			 "%s: `%.*s` (RE2, air's regex syntax, has no such thing)", what, (int)len, p);
	}
	return -EINVAL;
}

static bool is_name_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

/* Past the character class that starts at p[i] == '['; escapes and [:name:] inside are skipped. */
static size_t skip_class(const char *p, size_t len, size_t i)
{
	i++;
	if (i < len && p[i] == '^')
		i++;
	if (i < len && p[i] == ']')
		i++;
	while (i < len && p[i] != ']') {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[' && i + 1 < len && p[i + 1] == ':') {
			const char *end = strstr(p + i + 2, ":]");

			if (end)
				i = (size_t)(end - p) + 1;
		}
		i++;
	}
	return i;
}

/* What follows "(?" at p[i]: a group RE2 knows, or a refusal. */
static int check_group(const char *p, size_t len, size_t i, struct regex_error *err)
{
	size_t j = i + 2;

	if (j < len && p[j] == 'P' && j + 1 < len && p[j + 1] == '<')
		return 0;
	if (j < len && p[j] == '<' && j + 1 < len && is_name_start(p[j + 1]))
		return 0;
	/* Flags: RE2 has i, m, s and U, and '-' to clear them. */
	while (j < len && strchr("imsU-", p[j]))
		j++;
	if (j < len && (p[j] == ':' || p[j] == ')'))
		return 0;
	/* Go names the group's opening: "(?=", "(?<!", "(?x". */
	j = i + 2 + (i + 2 < len && p[i + 2] == '<') + 1;
	return refuse(err, i, "invalid or unsupported Perl syntax", p + i, (j < len ? j : len) - i);
}

/* Looks for the PCRE2 syntax that RE2 lacks and that would change what a pattern means. */
static int check_re2(const char *p, struct regex_error *err)
{
	size_t len = strlen(p);

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len) {
			char e = p[i + 1];

			if (e == 'Q') {
				const char *end = strstr(p + i + 2, "\\E");

				if (!end)
					break;
				i = (size_t)(end - p) + 1;
				continue;
			}
			/* \1..\7 before an octal digit is an octal escape in RE2; alone, a backreference. */
			if ((e >= '1' && e <= '7' && !(i + 2 < len && p[i + 2] >= '0' && p[i + 2] <= '7')) ||
			    e == '8' || e == '9' || e == 'g' || e == 'k')
				return refuse(err, i, "invalid escape sequence (a backreference)", p + i, 2);
			i++;
		} else if (p[i] == '[') {
			i = skip_class(p, len, i);
		} else if (p[i] == '(' && i + 1 < len && p[i + 1] == '?') {
			int r = check_group(p, len, i, err);

			if (r < 0)
				return r;
		} else if (p[i] == '(' && i + 1 < len && p[i + 1] == '*') {
			return refuse(err, i, "missing argument to repetition operator", p + i, 2);
		}
	}
	return 0;
}

static int compile_one(struct regex_set *s, const char *pat, struct regex_error *err)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re;
	int r = check_re2(pat, err);

	if (r < 0)
		return r;
	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
			   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
				   PCRE2_NEVER_BACKSLASH_C | PCRE2_NO_AUTO_CAPTURE,
			   &code, &off, NULL);
	if (!re) {
		if (code == PCRE2_ERROR_HEAPLIMIT || code == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		if (err) {
			PCRE2_UCHAR buf[sizeof(err->msg)];

			if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0)
				snprintf((char *)buf, sizeof(buf), "error %d", code);
			err->offset = off;
			snprintf(err->msg, sizeof(err->msg), "%s", (const char *)buf);
		}
		return -EINVAL;
	}
	/* The JIT is only faster: where it cannot work (no support, no executable memory), match without it.
	 */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	s->code[s->n++] = re;
	return 0;
}

int regex_set_compile(struct regex_set **out, const char *const *patterns, size_t n, struct regex_error *err)
{
	struct regex_set *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;

	if (!s)
		return -ENOMEM;
	if (n && !(s->code = calloc(n, sizeof(*s->code))))
		goto fail;
	s->md = pcre2_match_data_create(1, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->md || !s->mctx)
		goto fail;
	pcre2_set_match_limit(s->mctx, REGEX_MATCH_LIMIT);
	for (size_t i = 0; i < n; i++) {
		if (err)
			err->index = i;
		r = compile_one(s, patterns[i], err);
		if (r < 0)
			goto fail;
	}
	*out = s;
	return 0;
fail:
	regex_set_free(s);
	return r;
}

/* The index of the first pattern that matches the padded subject, or -1. */
static int match(const struct regex_set *s, const char *subj, size_t len)
{
	for (size_t i = 0; i < s->n; i++) {
		int rc = pcre2_match(s->code[i], (PCRE2_SPTR)subj, len, 0, 0, s->md, s->mctx);

		/* 0: the match block is too small for the captures, which is still a match. */
		if (rc >= 0)
			return (int)i;
	}
	return -1;
}

int regex_set_match(struct regex_set *s, const char *subject, size_t len)
{
	const char *subj;

	if (!s || !s->n)
		return -1;
	subj = padded(s, subject, len, NULL, &len);
	return subj ? match(s, subj, len) : -ENOMEM;
}

int regex_set_match_under(struct regex_set *s, const char *root, const char *rel)
{
	const char *subj;
	size_t len;

	if (!s || !s->n)
		return -1;
	subj = padded(s, root, strlen(root), rel, &len);
	return subj ? match(s, subj, len) : -ENOMEM;
}

size_t regex_set_count(const struct regex_set *s)
{
	return s ? s->n : 0;
}

void regex_set_free(struct regex_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		pcre2_code_free(s->code[i]);
	free(s->code);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	free(s->buf);
	free(s);
}
