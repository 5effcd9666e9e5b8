/* Which [[build.rules]] entry a changed file belongs to (rules.h). */
#define _GNU_SOURCE
#include "rules.h"

#include "config.h"
#include "filter.h"
#include "regex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One rule, compiled: its lists cleaned, its regexes built. */
struct rule_match {
	char **dir; /* include_dir, cleaned, relative to root; those outside root dropped */
	size_t ndir;
	bool any_dir; /* include_dir was empty */
	char **ext;   /* include_ext without the dot, trimmed */
	size_t next;
	bool all_ext; /* "*" */
	char **file;  /* include_file, cleaned */
	size_t nfile;
	struct regex_set *regex; /* exclude_regex (regex.h: RE2 syntax, as the build's); NULL: none */
};

struct rules {
	char *root_abs; /* root made absolute against the cwd, cleaned; the regexes see root_abs/rel */
	struct rule_match *v;
	size_t n;
};

/* ---- set-up ---- */

static int push(char ***v, size_t *n, char *s)
{
	char **g;

	if (!s)
		return -ENOMEM;
	g = realloc(*v, (*n + 1) * sizeof(**v));
	if (!g) {
		free(s);
		return -ENOMEM;
	}
	g[(*n)++] = s;
	*v = g;
	return 0;
}

/* Cleaned paths relative to root; an entry outside root can match nothing and is left out. */
static int add_paths(char ***v, size_t *n, const struct config_strlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		char *s;
		int r = filter_path_clean(src->v[i], &s);

		if (r == -EINVAL || (r == 0 && !*s && src->v[i][0] == '\0')) {
			if (r == 0)
				free(s);
			continue;
		}
		if (r < 0 || (r = push(v, n, s)) < 0)
			return r;
	}
	return 0;
}

/* air trims spaces (strings.TrimSpace); a leading dot is dropped as for build.include_ext. */
static int add_exts(struct rule_match *m, const struct config_strlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const char *e = src->v[i] + strspn(src->v[i], " \t\n\r");
		size_t len = strlen(e);

		while (len && strchr(" \t\n\r", e[len - 1]))
			len--;
		if (len == 1 && e[0] == '*') {
			m->all_ext = true;
			continue;
		}
		if (len && e[0] == '.')
			e++, len--;
		if (len && push(&m->ext, &m->next, strndup(e, len)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* RE2 syntax through regex.h, as build.exclude_regex: a bad one names its rule, its place and PCRE2's reason.
 */
static int add_regexes(struct rule_match *m, const struct config *c, const struct config_rule *cr,
		       size_t index, char *err, size_t errsize)
{
	struct regex_error e = { 0 };
	char where[64] = "";
	int r;

	if (!cr->exclude_regex.n)
		return 0;
	r = regex_set_compile(&m->regex, (const char *const *)cr->exclude_regex.v, cr->exclude_regex.n, &e);
	if (r == -EINVAL && err && errsize) {
		if (c->file && cr->line > 0)
			snprintf(where, sizeof(where), ":%d:%d: ", cr->line, cr->col);
		snprintf(err, errsize, "%s%sbuild.rules[%zu]%s%s%s: exclude_regex: \"%s\": %s at offset %zu",
			 where[0] ? c->file : "", where, index, cr->name[0] ? " (" : "", cr->name,
			 cr->name[0] ? ")" : "", cr->exclude_regex.v[e.index], e.msg, e.offset);
	}
	return r;
}

static void strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void match_free(struct rule_match *m)
{
	strs_free(m->dir, m->ndir);
	strs_free(m->ext, m->next);
	strs_free(m->file, m->nfile);
	regex_set_free(m->regex);
}

int rules_new(struct rules **out, const struct config *c, char *err, size_t errsize)
{
	struct rules *rs;
	int r;

	*out = NULL;
	if (err && errsize)
		err[0] = '\0';
	if (!c->build.nrules)
		return 0;
	rs = calloc(1, sizeof(*rs));
	if (!rs || !(rs->v = calloc(c->build.nrules, sizeof(*rs->v)))) {
		free(rs);
		return -ENOMEM;
	}
	rs->n = c->build.nrules;
	r = filter_root_abs(c->root, &rs->root_abs);
	for (size_t i = 0; i < rs->n && r == 0; i++) {
		const struct config_rule *cr = &c->build.rules[i];
		struct rule_match *m = &rs->v[i];

		m->any_dir = cr->include_dir.n == 0;
		if ((r = add_paths(&m->dir, &m->ndir, &cr->include_dir)) < 0 ||
		    (r = add_paths(&m->file, &m->nfile, &cr->include_file)) < 0 ||
		    (r = add_exts(m, &cr->include_ext)) < 0)
			break;
		r = add_regexes(m, c, cr, i, err, errsize);
	}
	if (r < 0) {
		rules_free(rs);
		return r;
	}
	*out = rs;
	return 0;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		match_free(&r->v[i]);
	free(r->v);
	free(r->root_abs);
	free(r);
}

/* ---- matching ---- */

/* rel is dir or lies below it; "" (root) holds everything. */
static bool under(const char *rel, const char *dir)
{
	size_t n = strlen(dir);

	return n == 0 || (strncmp(rel, dir, n) == 0 && (rel[n] == '\0' || rel[n] == '/'));
}

static bool in_dirs(const struct rule_match *m, const char *rel)
{
	if (m->any_dir)
		return true;
	for (size_t i = 0; i < m->ndir; i++)
		if (under(rel, m->dir[i]))
			return true;
	return false;
}

/* air: re.MatchString on the absolute path, unanchored. Out of memory: no rule claims it, the build's filters
 * decide. */
static bool excluded(const struct rules *rs, const struct rule_match *m, const char *rel)
{
	int r = regex_set_match_under(m->regex, rs->root_abs, rel);

	return r >= 0 || r == -ENOMEM;
}

static bool ext_listed(const struct rule_match *m, const char *rel)
{
	const char *base = strrchr(rel, '/'), *dot;

	base = base ? base + 1 : rel;
	dot = strrchr(base, '.');
	if (m->all_ext)
		return true;
	for (size_t i = 0; dot && i < m->next; i++)
		if (strcmp(m->ext[i], dot + 1) == 0)
			return true;
	return false;
}

static bool file_listed(const struct rule_match *m, const char *rel)
{
	for (size_t i = 0; i < m->nfile; i++)
		if (strcmp(m->file[i], rel) == 0)
			return true;
	return false;
}

int rules_match(const struct rules *r, const char *rel, bool *by_name)
{
	if (by_name)
		*by_name = false;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct rule_match *m = &r->v[i];
		bool named;

		if (!in_dirs(m, rel) || excluded(r, m, rel))
			continue;
		if (m->next == 0 && !m->all_ext && m->nfile == 0)
			return (int)i; /* include_dir alone: everything in it */
		named = file_listed(m, rel);
		if (named || ext_listed(m, rel)) {
			if (by_name)
				*by_name = named;
			return (int)i;
		}
	}
	return -1;
}

size_t rules_dir_span(const struct rules *r, const char *rel)
{
	size_t len = strlen(rel), span = 0;

	for (size_t i = 0; r && i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].ndir; j++) {
			const char *d = r->v[i].dir[j];
			size_t dl = strlen(d);

			if (under(d, rel))
				return len; /* the rule's directory, or on the way to it */
			if (under(rel, d) && dl > span)
				span = dl;
		}
	}
	return span;
}
