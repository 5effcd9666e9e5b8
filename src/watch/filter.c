#define _GNU_SOURCE
#include "filter.h"

#include "config.h"
#include "glob.h"
#include "ignore.h"
#include "regex.h"
#include "rules.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pathlist {
	char **v;
	size_t n, cap;
};

/* What exclude_unchanged remembers of one file. */
struct seen {
	char *rel;
	uint64_t hash;
	off_t size;
};

struct filter {
	bool all_ext;
	struct pathlist ext;          /* without the dot */
	struct pathlist skip_dir;     /* exclude_dir, tmp_dir and testdata_dir, cleaned */
	struct pathlist include_dir;  /* cleaned; those outside root dropped */
	bool only_include_dir;        /* include_dir was given */
	struct pathlist include_file; /* cleaned */
	struct pathlist exclude_file; /* globs, leading "./" dropped */
	struct pathlist binary;       /* the built binary, cleaned */
	struct regex_set *regex;      /* exclude_regex, matched against root_abs + "/" + rel */
	char *root_abs;               /* root, absolute and cleaned */
	bool exclude_unchanged;
	void *seen; /* tsearch root of struct seen */
	struct ignore *ignore;
	const struct rules *rules; /* [[build.rules]], borrowed; NULL: none */
};

/*
 * Lexically cleans path (relative to root) into a fresh string: no ".",
 * no empty components, ".." folded. -EINVAL when it is absolute or climbs
 * out of root, since no path below root can then equal it.
 */
static int path_clean(const char *path, char **out)
{
	size_t len = strlen(path), n = 0;
	char *o;

	if (path[0] == '/')
		return -EINVAL;
	o = malloc(len + 1);
	if (!o)
		return -ENOMEM;
	for (const char *p = path; *p;) {
		const char *e = strchrnul(p, '/');
		size_t cl = (size_t)(e - p);

		if (cl == 0 || (cl == 1 && p[0] == '.')) {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0) {
				free(o);
				return -EINVAL;
			}
			while (n > 0 && o[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else {
			if (n)
				o[n++] = '/';
			memcpy(o + n, p, cl);
			n += cl;
		}
		p = *e ? e + 1 : e;
	}
	o[n] = '\0';
	*out = o;
	return 0;
}

static int pathlist_push(struct pathlist *l, char *s)
{
	if (l->n == l->cap) {
		char **v = array_grow(l->v, &l->cap, sizeof(*l->v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		l->v = v;
	}
	l->v[l->n++] = s;
	return 0;
}

/* Adds the cleaned form of path; paths outside root are left out (they can never match). */
static int pathlist_add_clean(struct pathlist *l, const char *path)
{
	char *s;
	int r;

	if (!path || !*path)
		return 0;
	r = path_clean(path, &s);
	if (r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	return pathlist_push(l, s);
}

static void pathlist_free(struct pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static bool pathlist_has(const struct pathlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* rel is dir or lies below it; "" is the root, above everything. */
static bool is_under(const char *rel, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return true;
	return strncmp(rel, dir, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

static int add_all(struct pathlist *l, const struct config_strlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = pathlist_add_clean(l, src->v[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

static int add_exts(struct filter *f, const struct config_strlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const char *e = src->v[i];
		char *s;

		while (*e == ' ' || *e == '\t')
			e++;
		if (strcmp(e, "*") == 0) {
			f->all_ext = true;
			continue;
		}
		/* air wants "go"; ".go" would match nothing there, which nobody means. */
		if (*e == '.')
			e++;
		s = strdup(e);
		if (!s)
			return -ENOMEM;
		/* air trims spaces around an extension too. */
		for (size_t n = strlen(s); n && (s[n - 1] == ' ' || s[n - 1] == '\t');)
			s[--n] = '\0';
		if (!*s) {
			free(s);
			continue;
		}
		if (pathlist_push(&f->ext, s) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_globs(struct pathlist *l, const struct config_strlist *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const char *g = src->v[i];
		char *s;

		while (g[0] == '.' && g[1] == '/')
			g += 2;
		if (!*g)
			continue;
		s = strdup(g);
		if (!s || pathlist_push(l, s) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Where c's exclude_regex was set, for messages: ".air.toml:7:1", "flag --build.exclude_regex". */
static void regex_origin(const struct config *c, char *buf, size_t size)
{
	size_t i = config_key_index(config_key_find("build.exclude_regex"));
	const struct config_origin *o = &c->origin[i];

	if (o->kind == CONFIG_FROM_FILE)
		snprintf(buf, size, "%s:%d:%d", c->file ? c->file : "?", o->line, o->col);
	else if (o->kind == CONFIG_FROM_FLAG)
		snprintf(buf, size, "flag %s",
			 o->flag && o->flag[0] == '-' ? o->flag : "--build.exclude_regex");
	else
		snprintf(buf, size, "default");
}

int filter_root_abs(const char *root, char **out)
{
	char cwd[PATH_MAX], *joined = NULL, *clean;
	int r;

	if (!root || !*root)
		root = ".";
	if (root[0] == '/') {
		joined = strdup(root);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if (asprintf(&joined, "%s/%s", cwd, root) < 0)
			joined = NULL;
	}
	if (!joined)
		return -ENOMEM;
	/* Below "/" every path is relative: clean it as one, then put the slash back. */
	r = path_clean(joined + strspn(joined, "/"), &clean);
	if (r == -EINVAL) {
		/* ".." above "/": rare enough to keep as written. */
		*out = joined;
		return 0;
	}
	free(joined);
	if (r < 0)
		return r;
	r = asprintf(out, "/%s", clean);
	free(clean);
	if (r < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int add_regexes(struct filter *f, const struct config *c, const struct filter_opts *o, char *err,
		       size_t errsize)
{
	const struct config_strlist *src = &c->build.exclude_regex;
	struct regex_error e = { 0 };
	char where[PATH_MAX + 64], msg[PATH_MAX + 512];
	int r, i;

	if (!src->n)
		return 0;
	r = filter_root_abs(c->root, &f->root_abs);
	if (r < 0)
		return r;
	r = regex_set_compile(&f->regex, (const char *const *)src->v, src->n, &e);
	if (r == -EINVAL) {
		regex_origin(c, where, sizeof(where));
		if (err && errsize)
			snprintf(err, errsize, "%s: build.exclude_regex: \"%s\": %s at offset %zu", where,
				 src->v[e.index], e.msg, e.offset);
	}
	if (r < 0 || !f->root_abs || !o || !o->warn)
		return r;
	i = regex_set_match(f->regex, f->root_abs, strlen(f->root_abs));
	if (i >= 0) {
		regex_origin(c, where, sizeof(where));
		snprintf(msg, sizeof(msg),
			 "%s: build.exclude_regex: \"%s\" matches the project's own path %s, so it excludes "
			 "every "
			 "file under it (air matches these regexes against absolute paths)",
			 where, src->v[i], f->root_abs);
		o->warn(o->warn_data, msg);
	}
	return 0;
}

/* The app's path as the build writes it: bin, or entrypoint when it names a path rather than a command. */
static int add_binary(struct filter *f, const struct config *c)
{
	int r = pathlist_add_clean(&f->binary, c->build.bin);

	if (r < 0)
		return r;
	if (c->build.entrypoint.n && strchr(c->build.entrypoint.v[0], '/'))
		return pathlist_add_clean(&f->binary, c->build.entrypoint.v[0]);
	return 0;
}

int filter_new(struct filter **out, const struct config *c, const struct filter_opts *o, char *err,
	       size_t errsize)
{
	struct filter *f = calloc(1, sizeof(*f));
	int r;

	if (err && errsize)
		err[0] = '\0';
	if (!f)
		return -ENOMEM;
	f->exclude_unchanged = c->build.exclude_unchanged;
	f->rules = o ? o->rules : NULL;
	if ((r = add_exts(f, &c->build.include_ext)) < 0 ||
	    (r = add_all(&f->skip_dir, &c->build.exclude_dir)) < 0 ||
	    (r = pathlist_add_clean(&f->skip_dir, c->tmp_dir)) < 0 ||
	    (r = pathlist_add_clean(&f->skip_dir, c->testdata_dir)) < 0 ||
	    (r = add_all(&f->include_dir, &c->build.include_dir)) < 0 ||
	    (r = add_all(&f->include_file, &c->build.include_file)) < 0 ||
	    (r = add_globs(&f->exclude_file, &c->build.exclude_file)) < 0 || (r = add_binary(f, c)) < 0 ||
	    (r = add_regexes(f, c, o, err, errsize)) < 0)
		goto fail;
	if (!o || o->vcs_ignore) {
		r = ignore_new(&f->ignore, c->root && *c->root ? c->root : ".",
			       IGNORE_GITIGNORE | IGNORE_DOTIGNORE);
		if (r < 0)
			goto fail;
	}
	/* Entries outside root drop out of include_dir, yet still mean that the rest of root is not watched.
	 */
	f->only_include_dir = c->build.include_dir.n > 0;
	*out = f;
	return 0;
fail:
	filter_free(f);
	return r;
}

static void seen_free(void *p)
{
	struct seen *s = p;

	free(s->rel);
	free(s);
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	pathlist_free(&f->ext);
	pathlist_free(&f->skip_dir);
	pathlist_free(&f->include_dir);
	pathlist_free(&f->include_file);
	pathlist_free(&f->exclude_file);
	pathlist_free(&f->binary);
	regex_set_free(f->regex);
	free(f->root_abs);
	tdestroy(f->seen, seen_free);
	ignore_free(f->ignore);
	free(f);
}

/* air's fixed rules for one directory: hidden, or listed in exclude_dir, tmp_dir or testdata_dir. */
static bool dir_skipped(const struct filter *f, const char *rel, size_t len)
{
	const char *name = rel + len;

	while (name > rel && name[-1] != '/')
		name--;
	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < f->skip_dir.n; i++)
		if (strlen(f->skip_dir.v[i]) == len && strncmp(f->skip_dir.v[i], rel, len) == 0)
			return true;
	return false;
}

/* Whether a directory in the first len bytes of rel (a directory path), past its first from bytes, is
 * skipped. */
static bool any_dir_skipped_from(const struct filter *f, const char *rel, size_t from, size_t len)
{
	for (size_t i = from + 1; i <= len; i++)
		if ((i == len || rel[i] == '/') && dir_skipped(f, rel, i))
			return true;
	return false;
}

/* Whether any directory in the first len bytes of rel (a directory path) is skipped by air's rules. */
static bool any_dir_skipped(const struct filter *f, const char *rel, size_t len)
{
	return any_dir_skipped_from(f, rel, 0, len);
}

/* Some entry of l lies strictly below directory rel, so the watcher must pass through it. */
static bool leads_to(const struct pathlist *l, const char *rel)
{
	size_t n = strlen(rel);

	for (size_t i = 0; i < l->n; i++)
		if (n == 0 || (strncmp(l->v[i], rel, n) == 0 && l->v[i][n] == '/'))
			return true;
	return false;
}

static bool in_include_dir(const struct filter *f, const char *dir)
{
	if (!f->only_include_dir)
		return true;
	for (size_t i = 0; i < f->include_dir.n; i++)
		if (is_under(dir, f->include_dir.v[i]))
			return true;
	return false;
}

/*
 * [[build.rules]]: a rule's include_dir, and the directories on the way to it,
 * are watched even when exclude_dir or .gitignore leave them out (air's
 * README); below it, exclude_dir entries, hidden directories and .gitignore
 * apply again.
 */
static bool rule_dir_watched(struct filter *f, const char *rel)
{
	size_t len = strlen(rel), span = rules_dir_span(f->rules, rel);

	if (span == len)
		return true;
	return span && !any_dir_skipped_from(f, rel, span, len) &&
	       !(f->ignore && ignore_path(f->ignore, rel, true));
}

bool filter_watch_dir(struct filter *f, const char *rel)
{
	if (!*rel)
		return true;
	if (f->rules && rule_dir_watched(f, rel))
		return true;
	if (any_dir_skipped(f, rel, strlen(rel)))
		return false;
	if (leads_to(&f->include_file, rel))
		return true;
	if (!in_include_dir(f, rel) && !leads_to(&f->include_dir, rel))
		return false;
	return !(f->ignore && ignore_path(f->ignore, rel, true));
}

static bool ext_included(const struct filter *f, const char *base)
{
	const char *dot = strrchr(base, '.');

	if (f->all_ext)
		return true;
	if (!dot)
		return false;
	return pathlist_has(&f->ext, dot + 1);
}

/* exclude_regex, on the absolute path as air does; running out of memory means "not excluded". */
static bool regex_excluded(struct filter *f, const char *rel)
{
	return f->root_abs && regex_set_match_under(f->regex, f->root_abs, rel) >= 0;
}

/*
 * [[build.rules]] come before the build's filters (air runner/rule.go,
 * matchRuleIndex): a file a rule matches counts whatever include_ext and
 * exclude_* say, if its directory is watched and .gitignore does not leave
 * it out (a file the rule names in include_file is stronger, as for the
 * build). Which rule it is, is the loop's question (rules_match()).
 */
static bool rule_file_matched(struct filter *f, const char *rel, size_t dirlen)
{
	bool named, in_dir = true;

	if (rules_match(f->rules, rel, &named) < 0 || pathlist_has(&f->binary, rel))
		return false;
	if (dirlen) {
		char *dir = strndup(rel, dirlen);

		in_dir = dir && filter_watch_dir(f, dir);
		free(dir);
	}
	return in_dir && (named || !(f->ignore && ignore_path(f->ignore, rel, false)));
}

bool filter_match_file(struct filter *f, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	const char *base = slash ? slash + 1 : rel;
	size_t dirlen = slash ? (size_t)(slash - rel) : 0;

	if (*rel && f->rules && rule_file_matched(f, rel, dirlen))
		return true;
	if (!*rel || any_dir_skipped(f, rel, dirlen) || pathlist_has(&f->binary, rel))
		return false;
	/* As in air, the excludes win over include_file. */
	for (size_t i = 0; i < f->exclude_file.n; i++)
		if (glob_match(f->exclude_file.v[i], rel, GLOB_PATHNAME))
			return false;
	if (regex_excluded(f, rel))
		return false;
	/* Naming a file is stronger than a .gitignore: ".env" is listed in most of them. */
	if (pathlist_has(&f->include_file, rel))
		return true;
	if (!ext_included(f, base))
		return false;
	if (f->only_include_dir) {
		char *dir = strndup(rel, dirlen);
		bool in;

		if (!dir)
			return false;
		in = in_include_dir(f, dir);
		free(dir);
		if (!in)
			return false;
	}
	return !(f->ignore && ignore_path(f->ignore, rel, false));
}

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->rel, ((const struct seen *)b)->rel);
}

/* FNV-1a, 64 bits, over the whole file: cheap, and a collision only costs one missed rebuild. */
static int hash_file(const char *abs, uint64_t *hash, off_t *size)
{
	int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char buf[65536];
	uint64_t h = HASH_FNV_INIT;
	off_t total = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			close(fd);
			return e;
		}
		if (n == 0)
			break;
		h = hash_fnv1a(h, buf, (size_t)n);
		total += n;
	}
	close(fd);
	*hash = h;
	*size = total;
	return 0;
}

bool filter_content_changed(struct filter *f, const char *rel, const char *abs)
{
	struct seen key = { .rel = (char *)rel }, *s, **slot;
	uint64_t hash;
	off_t size;

	if (!f->exclude_unchanged)
		return true;
	slot = tfind(&key, &f->seen, seen_cmp);
	if (hash_file(abs, &hash, &size) < 0) {
		/* Gone (or unreadable): a removal is a change, and a file that comes back is new. */
		if (slot) {
			s = *slot;
			tdelete(&key, &f->seen, seen_cmp);
			seen_free(s);
		}
		return true;
	}
	if (slot) {
		s = *slot;
		if (s->hash == hash && s->size == size)
			return false;
		s->hash = hash;
		s->size = size;
		return true;
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->rel = strdup(rel);
	if (!s || !s->rel || !tsearch(s, &f->seen, seen_cmp)) {
		if (s)
			free(s->rel);
		free(s);
		return true;
	}
	s->hash = hash;
	s->size = size;
	return true;
}

int filter_reload_ignores(struct filter *f, const char *rel)
{
	return f->ignore ? ignore_reload(f->ignore, rel) : 0;
}

bool filter_is_ignore_file(const struct filter *f, const char *rel)
{
	return f->ignore && ignore_is_rules_file(f->ignore, rel);
}

int filter_path_clean(const char *path, char **out)
{
	return path_clean(path, out);
}
