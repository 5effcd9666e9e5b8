/*
 * fuzz_ignore - libFuzzer target for the gitignore rules (ignore.c). The
 * input is RULES '\0' PATHS: everything before the last NUL is the text of
 * one ignore file (NULs and all), after it come paths, one a line, a
 * trailing '/' marking a directory. Besides not crashing or leaking, the
 * answers must obey ignore.h and git's rules:
 *  - parsing the same text twice, into two lists or twice into one, with
 *    CRLF line ends, or line by line, gives the same answers;
 *  - with at most 32 lines, the answer is the one of the last rule that
 *    matches alone;
 *  - alone, a rule that matches a file matches the directory of that name
 *    too, and a rule ending in '/' matches no file;
 *  - alone, "!X" includes exactly what X excludes, and a NUL ends a rule;
 *  - alone, a rule X without '/' looks at the last component only, is the
 *    same with "**" and "/" in front, and "/X" is X anchored: the same at
 *    the top, nothing deeper (unless "**"); a leading '/' changes nothing
 *    for a rule with a '/' in the middle;
 *  - an ignore tree with the text as its root .gitignore ignores a path
 *    when the list excludes it or one of its parent directories.
 */
#define _GNU_SOURCE
#include "ignore.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_PATHS = 32, MAX_RULES = 32, TREE_PATHS = 8 };

struct path {
	const char *rel;
	bool is_dir;
};

struct input {
	struct path p[MAX_PATHS];
	size_t n;
};

static void fail(const char *what, const char *rel, bool is_dir)
{
	fprintf(stderr, "fuzz_ignore: %s: path \"%s\"%s\n", what, rel, is_dir ? " (dir)" : "");
	abort();
}

static struct ignore_list *parse(const char *text, size_t len)
{
	struct ignore_list *l = NULL;

	if (ignore_list_parse(&l, text, len) < 0) {
		ignore_list_free(l);
		return NULL;
	}
	return l;
}

/* Whether rel is a path as ignore.h wants them: no empty, "." or ".." component. */
static bool well_formed(const char *rel)
{
	for (const char *c = rel;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*end)
			return true;
		c = end + 1;
	}
}

/* Splits the paths part in place. */
static void split_paths(char *s, struct input *in)
{
	in->n = 0;
	while (*s && in->n < MAX_PATHS) {
		char *nl = strchrnul(s, '\n'), *next = *nl ? nl + 1 : nl;
		bool is_dir = nl > s && nl[-1] == '/';

		*nl = '\0';
		if (is_dir)
			nl[-1] = '\0';
		if (well_formed(s)) {
			in->p[in->n].rel = s;
			in->p[in->n++].is_dir = is_dir;
		}
		s = next;
	}
}

static void same_answers(const char *what, const struct ignore_list *a, const struct ignore_list *b,
			 const struct input *in)
{
	for (size_t i = 0; i < in->n; i++)
		if (ignore_list_match(a, in->p[i].rel, in->p[i].is_dir) !=
		    ignore_list_match(b, in->p[i].rel, in->p[i].is_dir))
			fail(what, in->p[i].rel, in->p[i].is_dir);
}

static void check_lists(const char *text, size_t len, const struct ignore_list *l, const struct input *in)
{
	struct ignore_list *again = parse(text, len), *twice = parse(text, len), *lines = NULL, *dos = NULL;
	char *crlf = NULL;
	size_t n_crlf = 0;
	bool bom_inside = false;

	if (!again || !twice || ignore_list_parse(&twice, text, len) < 0)
		goto out;
	if (ignore_list_count(again) != ignore_list_count(l) ||
	    ignore_list_count(twice) != 2 * ignore_list_count(l))
		fail("rule count changed on a second parse", "", false);
	same_answers("a second parse answers differently", l, again, in);
	same_answers("rules given twice answer differently", l, twice, in);

	/* Line by line, except that a BOM is skipped only at the start of the file. */
	for (const char *c = text, *end = text + len; c < end;) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		size_t n = nl ? (size_t)(nl - c) + 1 : (size_t)(end - c);

		if (c > text && n >= 3 && memcmp(c, "\xef\xbb\xbf", 3) == 0)
			bom_inside = true;
		if (ignore_list_parse(&lines, c, n) < 0)
			goto out;
		c += n;
	}
	if (!bom_inside) {
		if (ignore_list_count(lines) != ignore_list_count(l))
			fail("line by line gives another rule count", "", false);
		same_answers("line by line answers differently", l, lines, in);
	}

	/* With CRLF line ends (git reads them as plain newlines). */
	crlf = malloc(2 * len + 1);
	if (!crlf)
		goto out;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			crlf[n_crlf++] = '\r';
		crlf[n_crlf++] = text[i];
	}
	dos = parse(crlf, n_crlf);
	if (!dos)
		goto out;
	if (ignore_list_count(dos) != ignore_list_count(l))
		fail("CRLF line ends give another rule count", "", false);
	same_answers("CRLF line ends answer differently", l, dos, in);
out:
	free(crlf);
	ignore_list_free(dos);
	ignore_list_free(again);
	ignore_list_free(twice);
	ignore_list_free(lines);
}

static const char *last_component(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash ? slash + 1 : rel;
}

/* The list of one rule: prefix (may be "") and then line[0..n). */
static struct ignore_list *one_rule(const char *prefix, const char *line, size_t n)
{
	size_t plen = strlen(prefix);
	char *buf = malloc(plen + n + 1);
	struct ignore_list *l;

	if (!buf)
		return NULL;
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, line, n);
	l = parse(buf, plen + n);
	free(buf);
	return l;
}

/* A '/' followed by something that trimming keeps: the rule is anchored without a leading '/'. */
static bool has_middle_slash(const char *line, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (line[i] == '/' && line[i + 1] != '/' && line[i + 1] != ' ' && line[i + 1] != '\r')
			return true;
	return false;
}

/* As in git, a NUL ends a rule (a CR before it is no line end, so that case is left out). */
static void check_nul_ends_rule(const char *line, size_t n, const struct ignore_list *x,
				const struct input *in)
{
	size_t cut = strnlen(line, n);
	struct ignore_list *c;

	if (cut == n || (cut && line[cut - 1] == '\r'))
		return;
	c = one_rule("", line, cut);
	if (!c)
		return;
	same_answers("a NUL did not end the rule", x, c, in);
	ignore_list_free(c);
}

/* Checks one rule alone; adds its verdicts to last[] (the last matching rule's), false if it could not. */
static bool check_rule(const char *line, size_t n, const struct input *in, enum ignore_verdict *last)
{
	struct ignore_list *x = one_rule("", line, n), *neg = NULL, *anch = NULL, *any = NULL;
	/* The rule is what comes before a NUL. */
	size_t m = strnlen(line, n);
	bool plain = m && line[0] != '!' && line[0] != '#' && line[0] != '/' &&
		     !(m >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0);
	bool no_slash = !memchr(line, '/', m), dir_only = m && line[m - 1] == '/';
	bool double_star = memmem(line, m, "**", 2) != NULL;

	if (!x)
		return false;
	for (size_t i = 0; i < in->n; i++) {
		enum ignore_verdict v = ignore_list_match(x, in->p[i].rel, in->p[i].is_dir);

		if (v != IGNORE_NONE)
			last[i] = v;
	}
	check_nul_ends_rule(line, n, x, in);
	if (plain) {
		neg = one_rule("!", line, n);
		anch = one_rule("/", line, n);
		any = one_rule("**/", line, n);
		if (!neg || !anch || !any)
			goto out;
	}
	for (size_t i = 0; i < in->n; i++) {
		const char *rel = in->p[i].rel;
		bool d = in->p[i].is_dir, deep = strchr(rel, '/') != NULL;
		enum ignore_verdict v = ignore_list_match(x, rel, d);

		if (!d && v != IGNORE_NONE && ignore_list_match(x, rel, true) != v)
			fail("a rule matches a file but not a directory of that name", rel, d);
		if (!d && dir_only && v != IGNORE_NONE)
			fail("a directory-only rule matched a file", rel, d);
		if (no_slash && ignore_list_match(x, last_component(rel), d) != v)
			fail("a rule without '/' looked beyond the last component", rel, d);
		if (!plain)
			continue;
		if (ignore_list_match(neg, rel, d) != (v == IGNORE_EXCLUDE ? IGNORE_INCLUDE : IGNORE_NONE))
			fail("\"!\" did not invert the rule", rel, d);
		if (no_slash && !deep && ignore_list_match(anch, rel, d) != v)
			fail("an anchored rule differs at the top", rel, d);
		if (no_slash && deep && !double_star && ignore_list_match(anch, rel, d) != IGNORE_NONE)
			fail("an anchored rule matched below the top", rel, d);
		if (has_middle_slash(line, m) && ignore_list_match(anch, rel, d) != v)
			fail("a leading '/' changed a rule with a '/' in the middle", rel, d);
		if (no_slash && ignore_list_count(x) == 1 && ignore_list_match(any, rel, d) != v)
			fail("a rule without '/' differs from \"**/\" and the rule", rel, d);
	}
out:
	ignore_list_free(x);
	ignore_list_free(neg);
	ignore_list_free(anch);
	ignore_list_free(any);
	return true;
}

static bool tree_should_ignore(const struct ignore_list *l, const char *rel, bool is_dir)
{
	char *buf = strdup(rel);
	bool ignored = false;

	if (!buf)
		abort();
	for (char *s = buf; (s = strchr(s, '/')) != NULL && !ignored; *s++ = '/') {
		*s = '\0';
		ignored = ignore_list_match(l, buf, true) == IGNORE_EXCLUDE;
	}
	free(buf);
	return ignored || ignore_list_match(l, rel, is_dir) == IGNORE_EXCLUDE;
}

static void check_tree_in(const char *dir, const char *text, size_t len, const struct ignore_list *l,
			  const struct input *in)
{
	char path[128];
	struct ignore *ig;
	int fd;

	snprintf(path, sizeof(path), "%s/.gitignore", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, len) != (ssize_t)len || ignore_new(&ig, dir, IGNORE_GITIGNORE) < 0) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	/* The tree costs system calls per directory: a few paths are enough. */
	for (size_t i = 0; i < in->n && i < TREE_PATHS; i++) {
		bool ignored;

		if (ignore_check(ig, in->p[i].rel, in->p[i].is_dir, &ignored) < 0)
			break;
		if (ignored != tree_should_ignore(l, in->p[i].rel, in->p[i].is_dir))
			fail("the tree disagrees with its root list", in->p[i].rel, in->p[i].is_dir);
	}
	ignore_free(ig);
	unlink(path);
}

/* In a scratch directory of its own, gone afterwards: libFuzzer may end the process at any time. */
static void check_tree(const char *text, size_t len, const struct ignore_list *l, const struct input *in)
{
	char dir[] = "/dev/shm/fuzz_ignore.XXXXXX", alt[] = "/tmp/fuzz_ignore.XXXXXX";
	const char *d = mkdtemp(dir);

	if (!d)
		d = mkdtemp(alt);
	if (!d)
		abort();
	check_tree_in(d, text, len, l, in);
	if (rmdir(d) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *sep;
	size_t len, nrules = 0;
	enum ignore_verdict last[MAX_PATHS];
	const char *c, *end;
	bool whole = true;
	struct ignore_list *l;
	struct input in;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	sep = memrchr(buf, '\0', size);
	len = sep ? (size_t)(sep - buf) : size;
	end = buf + len;
	split_paths(sep ? sep + 1 : buf + size, &in);
	l = parse(buf, len);
	if (!l)
		goto out;
	check_lists(buf, len, l, &in);
	/* Each rule alone; when that covers the file, the last one that matches must decide. */
	for (size_t i = 0; i < in.n; i++)
		last[i] = IGNORE_NONE;
	for (c = buf; c < end && nrules < MAX_RULES; nrules++) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		size_t n = nl ? (size_t)(nl - c) : (size_t)(end - c);

		/* Alone, a line would lose a BOM that the file keeps. */
		if (!check_rule(c, n, &in, last) || (c > buf && n >= 3 && memcmp(c, "\xef\xbb\xbf", 3) == 0))
			whole = false;
		c += n + (nl != NULL);
	}
	for (size_t i = 0; whole && c >= end && i < in.n; i++)
		if (ignore_list_match(l, in.p[i].rel, in.p[i].is_dir) != last[i])
			fail("the last matching rule did not decide", in.p[i].rel, in.p[i].is_dir);
	check_tree(buf, len, l, &in);
	ignore_list_free(l);
out:
	free(buf);
	return 0;
}
