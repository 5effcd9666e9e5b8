/* dotenv files: the parser, the merge rules and the environment for a spawn (dotenv.h). */
#define _GNU_SOURCE
#include "dotenv.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	const char *buf;
	size_t len, pos;
	int line;
	const char *name;
	char *err;
	size_t err_size;
};

static int fail(struct cursor *c, int line, const char *reason)
{
	snprintf(c->err, c->err_size, "%s:%d: %s", c->name, line, reason);
	return -EINVAL;
}

static bool at_end(const struct cursor *c)
{
	return c->pos >= c->len;
}

static char peek(const struct cursor *c)
{
	return at_end(c) ? '\0' : c->buf[c->pos];
}

static void skip_blanks(struct cursor *c)
{
	while (!at_end(c) && (peek(c) == ' ' || peek(c) == '\t'))
		c->pos++;
}

/* Past the end of this line (and its newline). */
static void skip_line(struct cursor *c)
{
	while (!at_end(c) && peek(c) != '\n')
		c->pos++;
	if (!at_end(c)) {
		c->pos++;
		c->line++;
	}
}

static bool is_key_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool is_key_char(char ch)
{
	return is_key_start(ch) || (ch >= '0' && ch <= '9') || ch == '.';
}

/* A growing string for values with escapes. */
struct text {
	char *s;
	size_t n, cap;
};

static int text_add(struct text *t, char ch)
{
	if (t->n + 1 >= t->cap) {
		char *s = array_grow(t->s, &t->cap, 1);
		if (!s)
			return -ENOMEM;
		t->s = s;
	}
	t->s[t->n++] = ch;
	t->s[t->n] = '\0';
	return 0;
}

static int quoted_value(struct cursor *c, struct text *t)
{
	char quote = c->buf[c->pos++];
	int start_line = c->line, r;

	for (;;) {
		char ch;
		if (at_end(c))
			return fail(c, start_line,
				    quote == '"' ? "unterminated double-quoted value"
						 : "unterminated single-quoted value");
		ch = c->buf[c->pos++];
		if (ch == quote)
			break;
		if (ch == '\n')
			c->line++;
		if (ch == '\\' && quote == '"' && !at_end(c)) {
			char e = c->buf[c->pos];
			switch (e) {
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case '"':
			case '\\':
				ch = e;
				break;
			default:
				/* Unknown escapes stay as written, backslash and all. */
				e = '\0';
			}
			if (e)
				c->pos++;
		}
		if ((r = text_add(t, ch)) < 0)
			return r;
	}
	/* After the closing quote only blanks and a comment may follow. */
	skip_blanks(c);
	if (peek(c) == '\r')
		c->pos++;
	if (!at_end(c) && peek(c) != '\n' && peek(c) != '#')
		return fail(c, c->line, "unexpected text after the closing quote");
	skip_line(c);
	return 0;
}

static int unquoted_value(struct cursor *c, struct text *t)
{
	size_t start = c->pos, end;
	int r;

	while (!at_end(c) && peek(c) != '\n') {
		/* '#' starts a comment only after a blank, so that "a#b" keeps its '#'. */
		if (peek(c) == '#' && c->pos > start &&
		    (c->buf[c->pos - 1] == ' ' || c->buf[c->pos - 1] == '\t'))
			break;
		c->pos++;
	}
	end = c->pos;
	while (end > start && (c->buf[end - 1] == ' ' || c->buf[end - 1] == '\t' || c->buf[end - 1] == '\r'))
		end--;
	for (size_t i = start; i < end; i++)
		if ((r = text_add(t, c->buf[i])) < 0)
			return r;
	skip_line(c);
	return 0;
}

static struct dotenv_var *find_var(const struct dotenv *d, const char *key, size_t keylen)
{
	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->v[i].key) == keylen && strncmp(d->v[i].key, key, keylen) == 0)
			return &d->v[i];
	return NULL;
}

/* Adds or replaces key in d; takes value. */
static int set_var(struct dotenv *d, const char *key, size_t keylen, char *value, int line)
{
	struct dotenv_var *v = find_var(d, key, keylen), *grown;

	if (v) {
		free(v->value);
		v->value = value;
		v->line = line;
		return 0;
	}
	if (d->n == d->cap) {
		if (!(grown = array_grow(d->v, &d->cap, sizeof(*d->v))))
			return -ENOMEM;
		d->v = grown;
	}
	v = &d->v[d->n];
	v->key = strndup(key, keylen);
	if (!v->key)
		return -ENOMEM;
	v->value = value;
	v->line = line;
	d->n++;
	return 0;
}

/* The value of the environment entry name[0..len) in env, or NULL. */
static const char *env_lookup(char *const *env, const char *name, size_t len)
{
	for (; env && *env; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

static bool is_expand_name(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static int text_append(struct text *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = text_add(t, s[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * godotenv's (v1.5) expansion of one value, in *out (malloc'd). It looks
 * for '$', or '\' right before one, then takes an optional '(', an optional
 * '{', an optional name of [A-Z0-9_] and an optional '}', each on its own
 * (so "${A" and "$A}" count as "${A}", and "$(A)" leaves its ')'). With the
 * '\' the match is kept as written without it ("\$A" is "$A"); with a name
 * it is replaced by the name's value: from this file's earlier lines (this),
 * else the environment (this->env), else an earlier file (godotenv's Load
 * has put those in the process's environment when it lacked them), else
 * ""; without a name ("$", "${", "$x": names are upper case) it stays.
 */
static int expand(const char *v, const struct dotenv *this, const struct dotenv *earlier, char **out)
{
	struct text t = { 0 };
	int r = 0;

	for (size_t i = 0; v[i] && r == 0;) {
		bool escaped = v[i] == '\\' && v[i + 1] == '$';
		size_t start = i, name, nlen;
		const char *val;

		if (v[i] != '$' && !escaped) {
			r = text_add(&t, v[i++]);
			continue;
		}
		i += escaped ? 2 : 1;
		i += v[i] == '(';
		i += v[i] == '{';
		for (name = i; is_expand_name(v[i]); i++)
			;
		nlen = i - name;
		i += v[i] == '}';
		if (escaped || nlen == 0) {
			r = text_append(&t, v + start + escaped, i - start - escaped);
		} else {
			const struct dotenv_var *var = find_var(this, v + name, nlen);

			val = var ? var->value : env_lookup(this->env, v + name, nlen);
			if (!val && earlier && (var = find_var(earlier, v + name, nlen)))
				val = var->value;
			if (val)
				r = text_append(&t, val, strlen(val));
		}
		if (r == 0 && t.n > DOTENV_MAX_VALUE)
			r = -E2BIG;
	}
	if (r == 0 && !t.s && !(t.s = strdup("")))
		r = -ENOMEM;
	if (r < 0) {
		free(t.s);
		return r;
	}
	*out = t.s;
	return 0;
}

static int parse_line(struct cursor *c, struct dotenv *d, const struct dotenv *earlier)
{
	struct text t = { 0 };
	size_t key_start, key_len;
	int line = c->line, r;
	char quote;

	if (c->len - c->pos > 7 && strncmp(c->buf + c->pos, "export", 6) == 0 &&
	    (c->buf[c->pos + 6] == ' ' || c->buf[c->pos + 6] == '\t')) {
		c->pos += 6;
		skip_blanks(c);
	}
	if (!is_key_start(peek(c)))
		return fail(c, line,
			    peek(c) == '=' ? "missing variable name before '='" : "expected KEY=VALUE");
	key_start = c->pos;
	while (!at_end(c) && is_key_char(peek(c)))
		c->pos++;
	key_len = c->pos - key_start;
	skip_blanks(c);
	if (peek(c) != '=')
		return fail(c, line, "expected '=' after the variable name");
	c->pos++;
	skip_blanks(c);
	quote = peek(c);
	if (quote == '"' || quote == '\'')
		r = quoted_value(c, &t);
	else
		r = unquoted_value(c, &t);
	if (r == 0 && !t.s && !(t.s = strdup("")))
		r = -ENOMEM;
	/* As godotenv: unquoted and double-quoted values are expanded, single-quoted ones are not. */
	if (r == 0 && quote != '\'') {
		char *expanded = NULL;

		r = expand(t.s, d, earlier, &expanded);
		if (r == -E2BIG)
			r = fail(c, line,
				 "the value expands to more than 128 KiB (the kernel's limit for one "
				 "environment string)");
		if (r == 0) {
			free(t.s);
			t.s = expanded;
		}
	}
	if (r == 0)
		r = set_var(d, c->buf + key_start, key_len, t.s, line);
	if (r < 0)
		free(t.s);
	return r;
}

int dotenv_parse(const char *buf, size_t len, const char *name, struct dotenv *out, char *err,
		 size_t err_size)
{
	struct cursor c = {
		.buf = buf, .len = len, .line = 1, .name = name, .err = err, .err_size = err_size
	};
	struct dotenv parsed = { .env = out->env };
	const char *nul = memchr(buf, '\0', len);
	int r = 0;

	if (nul) {
		int line = 1;
		for (const char *p = buf; p < nul; p++)
			line += *p == '\n';
		return fail(&c, line, "contains a NUL byte");
	}
	while (!at_end(&c) && r == 0) {
		bool crlf;

		skip_blanks(&c);
		crlf = peek(&c) == '\r' && c.pos + 1 < len && buf[c.pos + 1] == '\n';
		if (at_end(&c) || peek(&c) == '\n' || peek(&c) == '#' || crlf)
			skip_line(&c);
		else
			r = parse_line(&c, &parsed, out);
	}
	/* An earlier file (or an earlier call) keeps its value: godotenv's Load does not override. */
	for (size_t i = 0; i < parsed.n && r == 0; i++) {
		struct dotenv_var *v = &parsed.v[i];
		if (find_var(out, v->key, strlen(v->key)))
			continue;
		r = set_var(out, v->key, strlen(v->key), v->value, v->line);
		if (r == 0)
			v->value = NULL;
	}
	dotenv_free(&parsed);
	return r;
}

int dotenv_load_file(const char *path, struct dotenv *out, char *err, size_t err_size)
{
	char *buf = NULL;
	size_t len = 0;
	int r = read_file(path, 0, SIZE_MAX, &buf, &len);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	r = dotenv_parse(buf, len, path, out, err, err_size);
	free(buf);
	return r;
}

const char *dotenv_get(const struct dotenv *d, const char *key)
{
	const struct dotenv_var *v = find_var(d, key, strlen(key));
	return v ? v->value : NULL;
}

void dotenv_free(struct dotenv *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].value);
	}
	free(d->v);
	*d = (struct dotenv){ 0 };
}

static bool env_has(char *const *env, const char *key)
{
	size_t len = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, len) == 0 && (*env)[len] == '=')
			return true;
	return false;
}

int dotenv_envp(char *const *base, const struct dotenv *d, char ***out)
{
	size_t nbase = 0, n = 0;
	char **envp;

	while (base && base[nbase])
		nbase++;
	envp = calloc(nbase + d->n + 1, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (size_t i = 0; i < nbase; i++)
		if (!(envp[n++] = strdup(base[i])))
			goto nomem;
	for (size_t i = 0; i < d->n; i++) {
		if (env_has(base, d->v[i].key))
			continue;
		if (asprintf(&envp[n], "%s=%s", d->v[i].key, d->v[i].value) < 0) {
			envp[n] = NULL;
			goto nomem;
		}
		n++;
	}
	*out = envp;
	return 0;
nomem:
	dotenv_envp_free(envp);
	return -ENOMEM;
}

void dotenv_envp_free(char **envp)
{
	strv_free(envp);
}
