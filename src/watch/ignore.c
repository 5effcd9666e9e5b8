#define _GNU_SOURCE
#include "ignore.h"

#include "gitexcl.h"
#include "glob.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	RULE_NEGATE = 1 << 0,
	RULE_DIR_ONLY = 1 << 1,
	RULE_BASENAME = 1 << 2, /* no '/' in the pattern: it tests the last component only */
	RULE_LITERAL = 1 << 3,  /* no glob syntax: strcmp is enough */
};

struct rule {
	char *pat;
	unsigned flags;
};

struct ignore_list {
	struct rule *v;
	size_t n, cap;
};

/* Git trims only spaces, and keeps one that a backslash escapes. */
static size_t trim_trailing_spaces(const char *s, size_t len)
{
	size_t keep = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			i++;
			keep = i + 1;
		} else if (s[i] != ' ') {
			keep = i + 1;
		}
	}
	return keep;
}

static int add_rule(struct ignore_list *l, const char *line, size_t len)
{
	unsigned flags = 0;
	struct rule *r;

	/* Git reads each line as a C string: a NUL ends the rule. */
	len = trim_trailing_spaces(line, strnlen(line, len));
	if (len && line[0] == '!') {
		flags |= RULE_NEGATE;
		line++;
		len--;
	}
	if (len && line[len - 1] == '/') {
		flags |= RULE_DIR_ONLY;
		len--;
	}
	if (!memchr(line, '/', len)) {
		flags |= RULE_BASENAME;
	} else if (line[0] == '/') {
		/* Any slash anchors the rule; a leading one has no other meaning. */
		line++;
		len--;
	}
	/* An empty pattern could only match an empty name, which no path has. */
	if (len == 0)
		return 0;
	if (l->n == l->cap) {
		struct rule *v = array_grow(l->v, &l->cap, sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	r = &l->v[l->n];
	r->pat = strndup(line, len);
	if (!r->pat)
		return -ENOMEM;
	if (!glob_has_magic(r->pat))
		flags |= RULE_LITERAL;
	r->flags = flags;
	l->n++;
	return 0;
}

int ignore_list_parse(struct ignore_list **lp, const char *buf, size_t len)
{
	const char *end = buf + len;

	if (!*lp) {
		*lp = calloc(1, sizeof(**lp));
		if (!*lp)
			return -ENOMEM;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		buf += 3;
	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - buf);
		int r;

		/* Git reads CRLF files as if they had plain newlines. */
		if (n && buf[n - 1] == '\r')
			n--;
		if (n && buf[0] != '#') {
			r = add_rule(*lp, buf, n);
			if (r < 0)
				return r;
		}
		buf = nl ? nl + 1 : end;
	}
	return 0;
}

void ignore_list_free(struct ignore_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].pat);
	free(l->v);
	free(l);
}

size_t ignore_list_count(const struct ignore_list *l)
{
	return l ? l->n : 0;
}

static bool rule_matches(const struct rule *r, const char *rel, const char *base, bool is_dir)
{
	const char *text = (r->flags & RULE_BASENAME) ? base : rel;

	if ((r->flags & RULE_DIR_ONLY) && !is_dir)
		return false;
	if (r->flags & RULE_LITERAL)
		return strcmp(r->pat, text) == 0;
	return glob_match(r->pat, text, GLOB_PATHNAME);
}

enum ignore_verdict ignore_list_match(const struct ignore_list *l, const char *rel, bool is_dir)
{
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;

	if (!l)
		return IGNORE_NONE;
	for (size_t i = l->n; i-- > 0;) {
		if (rule_matches(&l->v[i], rel, base, is_dir))
			return (l->v[i].flags & RULE_NEGATE) ? IGNORE_INCLUDE : IGNORE_EXCLUDE;
	}
	return IGNORE_NONE;
}

/* ---- the tree ---- */

enum dir_state {
	DIR_UNKNOWN,
	DIR_KEPT,     /* not ignored; its rules are loaded */
	DIR_EXCLUDED, /* ignored itself, or below an ignored directory */
};

/* One directory seen so far, kept in a tsearch tree keyed by rel. */
struct dir_node {
	char *rel;
	enum dir_state state;
	struct ignore_list *rules; /* NULL: no ignore files */
};

struct ignore {
	char *root;
	unsigned which;
	void *dirs;              /* tsearch root of struct dir_node */
	struct git_excludes git; /* info/exclude and core.excludesFile, with IGNORE_GITIGNORE */
	char *gbuf;              /* room for git.prefix + a relative path */
	size_t gcap;
};

static const char *const rules_files[] = { ".gitignore", ".ignore" };

static int dir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dir_node *)a)->rel, ((const struct dir_node *)b)->rel);
}

static void dir_free(void *p)
{
	struct dir_node *d = p;

	ignore_list_free(d->rules);
	free(d->rel);
	free(d);
}

int ignore_new(struct ignore **out, const char *root, unsigned which)
{
	struct ignore *ig = calloc(1, sizeof(*ig));

	if (!ig)
		return -ENOMEM;
	ig->root = strdup(root);
	if (!ig->root) {
		free(ig);
		return -ENOMEM;
	}
	ig->which = which;
	if (which & IGNORE_GITIGNORE) {
		int r = git_excludes_load(&ig->git, root);

		if (r < 0) {
			ignore_free(ig);
			return r;
		}
	}
	*out = ig;
	return 0;
}

void ignore_free(struct ignore *ig)
{
	if (!ig)
		return;
	tdestroy(ig->dirs, dir_free);
	git_excludes_free(&ig->git);
	free(ig->gbuf);
	free(ig->root);
	free(ig);
}

static int load_rules(struct ignore *ig, struct dir_node *d)
{
	for (size_t i = 0; i < sizeof(rules_files) / sizeof(rules_files[0]); i++) {
		char *path, *buf = NULL;
		size_t len = 0;
		int r;

		if (!(ig->which & (1u << i)))
			continue;
		if (asprintf(&path, "%s/%s%s%s", ig->root, d->rel, *d->rel ? "/" : "", rules_files[i]) < 0)
			return -ENOMEM;
		/* Git refuses symlinked ignore files; so do we. */
		r = read_file(path, O_NOFOLLOW, SIZE_MAX, &buf, &len);
		free(path);
		if (r == -ENOMEM)
			return r;
		/* A missing or unreadable file has no rules, as git treats it. */
		if (r < 0)
			continue;
		r = ignore_list_parse(&d->rules, buf, len);
		free(buf);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct dir_node *dir_get(struct ignore *ig, const char *rel)
{
	struct dir_node key = { .rel = (char *)rel };
	struct dir_node *d, **slot = tfind(&key, &ig->dirs, dir_cmp);

	if (slot)
		return *slot;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->rel = strdup(rel);
	if (!d->rel || !tsearch(d, &ig->dirs, dir_cmp)) {
		free(d->rel);
		free(d);
		return NULL;
	}
	return d;
}

/*
 * After every .gitignore, in git's order: info/exclude, then
 * core.excludesFile, on the path from the work tree's top.
 */
static enum ignore_verdict git_match(struct ignore *ig, const char *rel, bool is_dir)
{
	size_t plen, len;
	enum ignore_verdict v;

	if (!ig->git.info && !ig->git.excludes)
		return IGNORE_NONE;
	plen = strlen(ig->git.prefix);
	len = strlen(rel);
	if (plen + len + 1 > ig->gcap) {
		char *grown = realloc(ig->gbuf, plen + len + 1);

		/* Out of memory: as everywhere here, "not ignored". */
		if (!grown)
			return IGNORE_NONE;
		ig->gbuf = grown;
		ig->gcap = plen + len + 1;
	}
	memcpy(ig->gbuf, ig->git.prefix, plen);
	memcpy(ig->gbuf + plen, rel, len + 1);
	v = ignore_list_match(ig->git.info, ig->gbuf, is_dir);
	return v != IGNORE_NONE ? v : ignore_list_match(ig->git.excludes, ig->gbuf, is_dir);
}

/*
 * The verdict for rel from the lists of its ancestors chain[0..n) (root
 * first): the deepest list with a matching rule decides, then git's
 * repository-wide lists. off[i] is where rel's part below chain[i] starts.
 */
static enum ignore_verdict chain_match(struct ignore *ig, struct dir_node **chain, const size_t *off,
				       size_t n, const char *rel, bool is_dir)
{
	for (size_t i = n; i-- > 0;) {
		enum ignore_verdict v = ignore_list_match(chain[i]->rules, rel + off[i], is_dir);

		if (v != IGNORE_NONE)
			return v;
	}
	return git_match(ig, rel, is_dir);
}

/* The node of directory rel, with its state settled against its ancestors chain[0..n). */
static struct dir_node *dir_settle(struct ignore *ig, const char *rel, struct dir_node **chain,
				   const size_t *off, size_t n, int *err)
{
	struct dir_node *d = dir_get(ig, rel);

	*err = -ENOMEM;
	if (!d)
		return NULL;
	*err = 0;
	if (d->state != DIR_UNKNOWN)
		return d;
	/* A directory is tested before its own files are read: they cannot re-include it. */
	if (n && chain_match(ig, chain, off, n, rel, true) == IGNORE_EXCLUDE) {
		d->state = DIR_EXCLUDED;
		return d;
	}
	*err = load_rules(ig, d);
	if (*err < 0) {
		ignore_list_free(d->rules);
		d->rules = NULL;
		return NULL;
	}
	d->state = DIR_KEPT;
	return d;
}

int ignore_check(struct ignore *ig, const char *rel, bool is_dir, bool *ignored)
{
	size_t depth = 1, n = 0;
	struct dir_node **chain, *d;
	size_t *off;
	char *buf;
	int r = -ENOMEM;

	*ignored = false;
	if (!*rel)
		return 0;
	for (const char *p = rel; *p; p++)
		depth += *p == '/';
	buf = strdup(rel);
	chain = calloc(depth, sizeof(*chain));
	off = calloc(depth, sizeof(*off));
	if (!buf || !chain || !off)
		goto out;
	d = dir_settle(ig, "", chain, off, 0, &r);
	if (!d)
		goto out;
	chain[n] = d;
	off[n++] = 0;
	for (size_t i = 0; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		d = dir_settle(ig, buf, chain, off, n, &r);
		buf[i] = '/';
		if (!d)
			goto out;
		if (d->state == DIR_EXCLUDED) {
			*ignored = true;
			goto out;
		}
		chain[n] = d;
		off[n++] = i + 1;
	}
	*ignored = chain_match(ig, chain, off, n, rel, is_dir) == IGNORE_EXCLUDE;
out:
	free(buf);
	free(chain);
	free(off);
	return r;
}

bool ignore_path(struct ignore *ig, const char *rel, bool is_dir)
{
	bool ignored;

	return ignore_check(ig, rel, is_dir, &ignored) == 0 && ignored;
}

int ignore_reload(struct ignore *ig, const char *rel)
{
	/*
	 * A changed file can flip whether any directory below rel is ignored,
	 * and so whether the files below those are read: start again.
	 */
	(void)rel;
	tdestroy(ig->dirs, dir_free);
	ig->dirs = NULL;
	return 0;
}

bool ignore_is_rules_file(const struct ignore *ig, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;

	for (size_t i = 0; i < sizeof(rules_files) / sizeof(rules_files[0]); i++)
		if ((ig->which & (1u << i)) && strcmp(base, rules_files[i]) == 0)
			return true;
	return false;
}
