/*
 * toml.c - a strict TOML 1.0.0 parser, see toml.h.
 *
 * The whole input is first checked for encoding (UTF-8, control characters,
 * bare CR), so that the grammar below only ever sees well-formed text made of
 * printable characters, tabs, LF and CRLF, and may use 0 to mean "end".
 *
 * The grammar is parsed by recursive descent. Recursion only happens for
 * arrays and inline tables and is bounded by TOML_MAX_DEPTH, which bounds the
 * depth of the resulting tree as well (the tree is freed recursively).
 *
 * Every parse error aborts the whole parse: nothing is ever retried, so the
 * tree may be left half-built on failure; it is always consistent enough to
 * be freed by toml_free().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "toml.h"
#include "util.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* struct toml_table.flags */
enum {
	TAB_EXPLICIT = 1u << 0, /* named by a [header], or an element of an [[array]] */
	TAB_DOTTED = 1u << 1,   /* created by a dotted key: open to more dotted keys */
	TAB_INLINE = 1u << 2,   /* an inline table: closed once written */
};

/* struct toml_array.flags */
enum {
	ARR_TABLES = 1u << 0, /* created by [[header]]: more elements may follow */
};

/*
 * Duplicate detection needs a lookup per key; a linear scan would make a
 * large table quadratic, so the parser keeps one hash index over all tables,
 * keyed by (table, key). It only lives during the parse.
 */
struct kslot {
	struct toml_table *t; /* NULL: empty slot */
	size_t idx;
	size_t hash;
};

struct keyindex {
	struct kslot *slots;
	size_t cap; /* power of two */
	size_t used;
};

/* One part of a dotted key, owned by the parser until it becomes a table key. */
struct keypart {
	char *s;
	size_t len;
	bool given; /* s now belongs to a table (still readable for messages) */
	size_t pos;
	int line, col;
};

struct keypath {
	struct keypart *v;
	size_t n, cap;
};

/* A growable byte buffer for string contents. */
struct sbuf {
	char *p;
	size_t len, cap;
};

struct parser {
	const char *buf;
	size_t len;
	size_t pos;
	int line;          /* of pos */
	size_t line_start; /* offset of the first byte of that line */
	struct toml_error *err;
	struct keyindex idx;
	locale_t c_locale; /* strtod must not depend on LC_NUMERIC */
	struct toml_table *root;
	struct toml_table *cur; /* the table that key/value pairs go to */
	int cur_depth;
};

/* ---- errors ---- */

static void locate(const struct parser *p, size_t at, int *line, int *col)
{
	int l = 1;
	size_t start = 0;

	if (at > p->len)
		at = p->len;
	for (size_t i = 0; i < at; i++) {
		if (p->buf[i] == '\n') {
			l++;
			start = i + 1;
		}
	}
	*line = l;
	*col = (int)(at - start) + 1;
}

static int fail(struct parser *p, size_t at, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the error (when the caller wants it) and returns rc. */
static int fail(struct parser *p, size_t at, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!p->err)
		return rc;
	locate(p, at, &p->err->line, &p->err->col);
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

#define syntax(p, at, ...) fail((p), (at), -EINVAL, __VA_ARGS__)
#define nomem(p)           fail((p), (p)->pos, -ENOMEM, "out of memory")

/* A key made printable for a message: keys may hold anything, even NUL. */
static const char *showkey(char *dst, size_t n, const char *k, size_t len)
{
	size_t o = 0;
	const size_t max = 40;

	for (size_t i = 0; i < len && o + 4 < n; i++) {
		unsigned char c = (unsigned char)k[i];

		if (i == max) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		dst[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[o] = 0;
	return dst;
}

/* The character at pos, for messages. */
static const char *showchar(char *dst, size_t n, const struct parser *p, size_t at)
{
	unsigned char c = at < p->len ? (unsigned char)p->buf[at] : 0;

	if (at >= p->len)
		snprintf(dst, n, "end of input");
	else if (c == '\n' || c == '\r')
		snprintf(dst, n, "end of line");
	else if (c < 0x20 || c == 0x7f)
		snprintf(dst, n, "character U+%04X", c);
	else if (c == '\'')
		snprintf(dst, n, "\"'\"");
	else if (c < 0x80)
		snprintf(dst, n, "'%c'", c);
	else
		snprintf(dst, n, "a non-ASCII character");
	return dst;
}

/* ---- tree ---- */

static void table_free(struct toml_table *t);

static void value_free(struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING:
		free(v->u.s.ptr);
		break;
	case TOML_ARRAY:
		if (v->u.arr) {
			for (size_t i = 0; i < v->u.arr->len; i++)
				value_free(&v->u.arr->items[i]);
			free(v->u.arr->items);
			free(v->u.arr);
		}
		break;
	case TOML_TABLE:
		table_free(v->u.tab);
		break;
	default:
		break;
	}
	v->type = TOML_BOOL;
}

static void table_free(struct toml_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->len; i++) {
		free(t->items[i].key);
		value_free(&t->items[i].val);
	}
	free(t->items);
	free(t);
}

void toml_free(struct toml_table *root)
{
	table_free(root);
}

static size_t hash_key(const struct toml_table *t, const char *k, size_t len)
{
	uint64_t h = hash_fnv1a(HASH_FNV_INIT ^ (uint64_t)(uintptr_t)t, k, len);

	h ^= h >> 29;
	return (size_t)h;
}

static int index_grow(struct keyindex *ix)
{
	size_t ncap = ix->cap ? ix->cap * 2 : 64;
	struct kslot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		struct kslot *s = &ix->slots[i];
		size_t j;

		if (!s->t)
			continue;
		for (j = s->hash & (ncap - 1); ns[j].t; j = (j + 1) & (ncap - 1))
			;
		ns[j] = *s;
	}
	free(ix->slots);
	ix->slots = ns;
	ix->cap = ncap;
	return 0;
}

static struct toml_keyval *tab_find(const struct parser *p, const struct toml_table *t, const char *k,
				    size_t len)
{
	const struct keyindex *ix = &p->idx;
	size_t h;

	if (!ix->cap)
		return NULL;
	h = hash_key(t, k, len);
	for (size_t j = h & (ix->cap - 1);; j = (j + 1) & (ix->cap - 1)) {
		const struct kslot *s = &ix->slots[j];
		struct toml_keyval *kv;

		if (!s->t)
			return NULL;
		if (s->t != t || s->hash != h)
			continue;
		kv = &t->items[s->idx];
		if (kv->keylen == len && memcmp(kv->key, k, len) == 0)
			return kv;
	}
}

/*
 * Adds a key that tab_find() said is absent. Takes the key string from kp
 * and the value from v (left empty) only on success.
 */
static int tab_add(struct parser *p, struct toml_table *t, struct keypart *kp, struct toml_value *v,
		   struct toml_keyval **out)
{
	struct keyindex *ix = &p->idx;
	struct toml_keyval *kv;
	size_t h, j;

	if ((ix->used + 1) * 2 > ix->cap && index_grow(ix) < 0)
		return nomem(p);
	if (t->len == t->cap) {
		struct toml_keyval *ni = array_grow(t->items, &t->cap, sizeof(*ni));

		if (!ni)
			return nomem(p);
		t->items = ni;
	}
	h = hash_key(t, kp->s, kp->len);
	for (j = h & (ix->cap - 1); ix->slots[j].t; j = (j + 1) & (ix->cap - 1))
		;
	ix->slots[j] = (struct kslot){ .t = t, .idx = t->len, .hash = h };
	ix->used++;

	kv = &t->items[t->len++];
	kv->key = kp->s;
	kv->keylen = kp->len;
	kv->line = kp->line;
	kv->col = kp->col;
	kv->val = *v;
	kp->given = true;
	v->type = TOML_BOOL;
	if (out)
		*out = kv;
	return 0;
}

static struct toml_table *table_new(int line, int col, unsigned flags)
{
	struct toml_table *t = calloc(1, sizeof(*t));

	if (t) {
		t->line = line;
		t->col = col;
		t->flags = flags;
	}
	return t;
}

/* Adds key kp to t as a new empty table. */
static int add_table(struct parser *p, struct toml_table *t, struct keypart *kp, int line, int col,
		     unsigned flags, struct toml_table **out)
{
	struct toml_value v = { .type = TOML_TABLE, .line = line, .col = col };
	int r;

	v.u.tab = table_new(line, col, flags);
	if (!v.u.tab)
		return nomem(p);
	r = tab_add(p, t, kp, &v, NULL);
	if (r < 0) {
		table_free(v.u.tab);
		return r;
	}
	*out = v.u.tab;
	return 0;
}

static int array_push(struct parser *p, struct toml_array *a, struct toml_value *v)
{
	if (a->len == a->cap) {
		struct toml_value *ni = array_grow(a->items, &a->cap, sizeof(*ni));

		if (!ni)
			return nomem(p);
		a->items = ni;
	}
	a->items[a->len++] = *v;
	v->type = TOML_BOOL;
	return 0;
}

/* ---- encoding ---- */

/*
 * Checks the whole input once: valid UTF-8 (no overlong forms, no encoded
 * surrogates, nothing above U+10FFFF), no control character but tab, LF and
 * CRLF. TOML allows other controls nowhere, not even in comments or strings
 * (there they must be escaped).
 */
static int check_text(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->buf;
	size_t n = p->len, i = p->pos;

	while (i < n) {
		unsigned c = s[i];
		unsigned lo = 0x80, hi = 0xbf;
		size_t k;

		if (c < 0x80) {
			if ((c >= 0x20 && c != 0x7f) || c == '\t' || c == '\n') {
				i++;
				continue;
			}
			if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
				i += 2;
				continue;
			}
			if (c == '\r')
				return syntax(p, i, "carriage return not followed by a line feed");
			return syntax(p, i,
				      "control character U+%04X is not allowed (escape it in a basic string)",
				      c);
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* UTF-16 surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return syntax(p, i, "invalid UTF-8 byte 0x%02X", c);
		}
		if (k >= n - i)
			return syntax(p, i, "truncated UTF-8 sequence");
		if (s[i + 1] < lo || s[i + 1] > hi)
			return syntax(p, i, "invalid UTF-8 sequence");
		for (size_t j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xbf)
				return syntax(p, i, "invalid UTF-8 sequence");
		i += k + 1;
	}
	return 0;
}

/* ---- lexing helpers ---- */

static inline int peek(const struct parser *p, size_t k)
{
	return p->pos + k < p->len ? (unsigned char)p->buf[p->pos + k] : 0;
}

static inline int col_of(const struct parser *p, size_t at)
{
	return (int)(at - p->line_start) + 1;
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

/* Consumes LF or CRLF at pos, if there is one. */
static bool eat_newline(struct parser *p)
{
	int c = peek(p, 0);

	if (c == '\r')
		p->pos++; /* check_text() made sure LF follows */
	else if (c != '\n')
		return false;
	p->pos++;
	p->line++;
	p->line_start = p->pos;
	return true;
}

static void skip_ws(struct parser *p)
{
	int c;

	while ((c = peek(p, 0)) == ' ' || c == '\t')
		p->pos++;
}

static void skip_comment(struct parser *p)
{
	if (peek(p, 0) != '#')
		return;
	while (p->pos < p->len && p->buf[p->pos] != '\n' && p->buf[p->pos] != '\r')
		p->pos++;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static void skip_ws_nl(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		skip_comment(p);
		if (!eat_newline(p))
			return;
	}
}

static bool eat_word(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->pos < n || memcmp(p->buf + p->pos, w, n) != 0)
		return false;
	p->pos += n;
	return true;
}

/* ---- strings ---- */

static int sb_reserve(struct sbuf *b, size_t more)
{
	size_t ncap;
	char *np;

	if (b->cap - b->len > more)
		return 0;
	ncap = b->cap ? b->cap : 32;
	while (ncap - b->len <= more)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

static int sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (sb_reserve(b, n) < 0)
		return -ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int sb_putc(struct sbuf *b, char c)
{
	return sb_put(b, &c, 1);
}

/* The result is always NUL-terminated, even when empty. */
static int sb_finish(struct sbuf *b)
{
	if (sb_reserve(b, 0) < 0)
		return -ENOMEM;
	b->p[b->len] = 0;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* pos is on the backslash. */
static int parse_escape(struct parser *p, struct sbuf *b, bool multiline)
{
	size_t at = p->pos;
	int e = peek(p, 1);
	char c, u8[4];
	uint32_t cp = 0;
	int ndig;

	switch (e) {
	case 'b':
		c = '\b';
		break;
	case 't':
		c = '\t';
		break;
	case 'n':
		c = '\n';
		break;
	case 'f':
		c = '\f';
		break;
	case 'r':
		c = '\r';
		break;
	case '"':
		c = '"';
		break;
	case '\\':
		c = '\\';
		break;
	case 'u':
	case 'U':
		ndig = e == 'u' ? 4 : 8;
		for (int i = 0; i < ndig; i++) {
			int d = hexval(peek(p, 2 + i));

			if (d < 0)
				return syntax(p, at, "\\%c escape needs %d hex digits", e, ndig);
			cp = cp << 4 | (uint32_t)d;
		}
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return syntax(p, at, "\\%c%0*X is not a Unicode scalar value", e, ndig, cp);
		p->pos += 2 + ndig;
		return sb_put(b, u8, utf8_encode(u8, cp)) < 0 ? nomem(p) : 0;
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		if (!multiline)
			goto bad;
		/* A line-ending backslash swallows all whitespace up to the next non-blank. */
		p->pos++;
		skip_ws(p);
		if (!eat_newline(p))
			return syntax(p, at, "a backslash followed by whitespace must end the line");
		for (;;) {
			skip_ws(p);
			if (!eat_newline(p))
				break;
		}
		return 0;
	default:
		goto bad;
	}
	p->pos += 2;
	return sb_putc(b, c) < 0 ? nomem(p) : 0;
bad:
	if (e >= 0x20 && e < 0x7f)
		return syntax(p, at, "invalid escape sequence '\\%c'", e);
	return syntax(p, at, "invalid escape sequence");
}

static bool plain_byte(int c, int quote, bool basic)
{
	return c != 0 && c != quote && (c != '\\' || !basic) && c != '\n' && c != '\r';
}

/*
 * A string of any of the four kinds, pos on its opening quote. The contents
 * go to out and outlen (NUL-terminated), owned by the caller on success.
 */
static int parse_string(struct parser *p, char **out, size_t *outlen, bool allow_multiline)
{
	size_t start = p->pos;
	int q = peek(p, 0);
	bool basic = q == '"';
	bool ml = peek(p, 1) == q && peek(p, 2) == q;
	struct sbuf b = { 0 };
	int r;

	if (ml && !allow_multiline)
		return syntax(p, start, "a multi-line string cannot be a key");
	p->pos += ml ? 3 : 1;
	if (ml)
		eat_newline(p); /* a newline right after the opening delimiter is trimmed */
	for (;;) {
		int c = peek(p, 0);
		size_t run = p->pos;

		while (plain_byte(peek(p, 0), q, basic))
			p->pos++;
		if (p->pos > run) {
			if (sb_put(&b, p->buf + run, p->pos - run) < 0)
				goto oom;
			continue;
		}
		if (p->pos >= p->len) {
			r = syntax(p, start, "unterminated string");
			goto out;
		}
		if (c == q) {
			size_t n = 0;

			if (!ml) {
				p->pos++;
				break;
			}
			while (peek(p, n) == q)
				n++;
			if (n < 3) {
				if (sb_put(&b, p->buf + p->pos, n) < 0)
					goto oom;
				p->pos += n;
				continue;
			}
			if (n > 5) {
				r = syntax(p, p->pos, "too many quotes at the end of a multi-line string");
				goto out;
			}
			/* Up to two quotes may sit right before the closing delimiter. */
			if (sb_put(&b, p->buf + p->pos, n - 3) < 0)
				goto oom;
			p->pos += n;
			break;
		}
		if (c == '\n' || c == '\r') {
			if (!ml) {
				r = syntax(p, p->pos,
					   "newline in a single-line string (unterminated string?)");
				goto out;
			}
			/* CRLF is stored as LF, so a value does not depend on the file's line endings. */
			eat_newline(p);
			if (sb_putc(&b, '\n') < 0)
				goto oom;
			continue;
		}
		/* only a backslash in a basic string is left */
		r = parse_escape(p, &b, ml);
		if (r < 0)
			goto out;
	}
	if (sb_finish(&b) < 0)
		goto oom;
	*out = b.p;
	*outlen = b.len;
	return 0;
oom:
	r = nomem(p);
out:
	free(b.p);
	return r;
}

/* ---- keys ---- */

static void keypath_clear(struct keypath *kp)
{
	for (size_t i = 0; i < kp->n; i++)
		if (!kp->v[i].given)
			free(kp->v[i].s);
	free(kp->v);
	*kp = (struct keypath){ 0 };
}

/* A dotted key (one part or more); leaves pos after trailing whitespace. */
static int parse_key(struct parser *p, struct keypath *kp)
{
	for (;;) {
		struct keypart part = { .pos = p->pos, .line = p->line, .col = col_of(p, p->pos) };
		int c = peek(p, 0);
		int r;

		if (kp->n > TOML_MAX_DEPTH)
			return syntax(p, p->pos, "key has too many parts (more than %d)", TOML_MAX_DEPTH);
		if (c == '"' || c == '\'') {
			r = parse_string(p, &part.s, &part.len, false);
			if (r < 0)
				return r;
		} else if (is_bare(c)) {
			size_t s = p->pos;

			while (is_bare(peek(p, 0)))
				p->pos++;
			part.len = p->pos - s;
			part.s = malloc(part.len + 1);
			if (!part.s)
				return nomem(p);
			memcpy(part.s, p->buf + s, part.len);
			part.s[part.len] = 0;
		} else {
			char ch[32];

			if (kp->n)
				return syntax(p, p->pos, "expected a key after '.', found %s",
					      showchar(ch, sizeof(ch), p, p->pos));
			return syntax(p, p->pos, "expected a key, found %s",
				      showchar(ch, sizeof(ch), p, p->pos));
		}
		if (kp->n == kp->cap) {
			struct keypart *nv = array_grow(kp->v, &kp->cap, sizeof(*nv));

			if (!nv) {
				free(part.s);
				return nomem(p);
			}
			kp->v = nv;
		}
		kp->v[kp->n++] = part;
		skip_ws(p);
		if (peek(p, 0) != '.')
			return 0;
		p->pos++;
		skip_ws(p);
	}
}

/* "a.b.c" for messages, from the first n parts. */
static const char *showpath(char *dst, size_t size, const struct keypath *kp, size_t n)
{
	size_t o = 0;

	dst[0] = 0;
	for (size_t i = 0; i < n && o + 8 < size; i++) {
		if (i)
			dst[o++] = '.';
		showkey(dst + o, size - o, kp->v[i].s, kp->v[i].len);
		o += strlen(dst + o);
	}
	return dst;
}

const char *toml_type_phrase(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a boolean";
	case TOML_DATETIME:
		return "a date-time";
	case TOML_DATETIME_LOCAL:
		return "a local date-time";
	case TOML_DATE_LOCAL:
		return "a local date";
	case TOML_TIME_LOCAL:
		return "a local time";
	case TOML_ARRAY:
		return (v->u.arr->flags & ARR_TABLES) ? "an array of tables" : "an array";
	case TOML_TABLE:
		return (v->u.tab->flags & TAB_INLINE) ? "an inline table" : "a table";
	}
	return "a value";
}

/* ---- values ---- */

static int parse_value(struct parser *p, struct toml_value *v, int depth);
static int parse_keyval(struct parser *p, struct toml_table *t, int depth);

/* Exactly n digits. */
static int fixed_digits(struct parser *p, int n, int *out, const char *what)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		int c = peek(p, 0);

		if (!is_digit(c))
			return syntax(p, p->pos, "%s must have %d digits", what, n);
		v = v * 10 + (c - '0');
		p->pos++;
	}
	*out = v;
	return 0;
}

static int expect_char(struct parser *p, int c, const char *what)
{
	if (peek(p, 0) != c)
		return syntax(p, p->pos, "expected '%c' in %s", c, what);
	p->pos++;
	return 0;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* HH:MM:SS[.frac] */
static int parse_time(struct parser *p, struct toml_datetime *dt)
{
	size_t at = p->pos;
	int r;

	if ((r = fixed_digits(p, 2, &dt->hour, "hour")) < 0 || (r = expect_char(p, ':', "time")) < 0 ||
	    (r = fixed_digits(p, 2, &dt->minute, "minute")) < 0)
		return r;
	if (peek(p, 0) != ':')
		return syntax(p, p->pos, "time needs seconds (HH:MM:SS)");
	p->pos++;
	if ((r = fixed_digits(p, 2, &dt->second, "second")) < 0)
		return r;
	if (dt->hour > 23)
		return syntax(p, at, "hour %d out of range (00-23)", dt->hour);
	if (dt->minute > 59)
		return syntax(p, at, "minute %d out of range (00-59)", dt->minute);
	if (dt->second > 60) /* 60: leap second */
		return syntax(p, at, "second %d out of range (00-60)", dt->second);
	if (peek(p, 0) == '.') {
		p->pos++;
		if (!is_digit(peek(p, 0)))
			return syntax(p, p->pos, "expected digits after '.' in time");
		while (is_digit(peek(p, 0))) {
			if (dt->frac_digits < 9)
				dt->nanosecond = dt->nanosecond * 10 + (peek(p, 0) - '0');
			if (dt->frac_digits < 1000000)
				dt->frac_digits++;
			p->pos++;
		}
		for (int i = dt->frac_digits; i < 9; i++)
			dt->nanosecond *= 10;
	}
	return 0;
}

/* pos is on a digit, and either YYYY- or HH: follows. */
static int parse_datetime(struct parser *p, struct toml_value *v)
{
	struct toml_datetime *dt = &v->u.dt;
	size_t at = p->pos;
	int c, r;

	memset(dt, 0, sizeof(*dt));
	if (peek(p, 2) == ':') {
		v->type = TOML_TIME_LOCAL;
		return parse_time(p, dt);
	}
	if ((r = fixed_digits(p, 4, &dt->year, "year")) < 0 || (r = expect_char(p, '-', "date")) < 0 ||
	    (r = fixed_digits(p, 2, &dt->month, "month")) < 0 || (r = expect_char(p, '-', "date")) < 0 ||
	    (r = fixed_digits(p, 2, &dt->day, "day")) < 0)
		return r;
	if (dt->month < 1 || dt->month > 12)
		return syntax(p, at, "month %d out of range (01-12)", dt->month);
	if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
		return syntax(p, at, "day %d out of range for %04d-%02d", dt->day, dt->year, dt->month);
	c = peek(p, 0);
	if (c == 'T' || c == 't' || (c == ' ' && is_digit(peek(p, 1)))) {
		p->pos++;
		if (!is_digit(peek(p, 0)))
			return syntax(p, p->pos, "expected a time after the date");
		r = parse_time(p, dt);
		if (r < 0)
			return r;
	} else {
		v->type = TOML_DATE_LOCAL;
		return 0;
	}
	c = peek(p, 0);
	if (c == 'Z' || c == 'z') {
		p->pos++;
		dt->offset_z = true;
		v->type = TOML_DATETIME;
	} else if (c == '+' || c == '-') {
		int oh = 0, om = 0;
		size_t oat = p->pos;

		p->pos++;
		if ((r = fixed_digits(p, 2, &oh, "offset hour")) < 0 ||
		    (r = expect_char(p, ':', "offset")) < 0 ||
		    (r = fixed_digits(p, 2, &om, "offset minute")) < 0)
			return r;
		if (oh > 23 || om > 59)
			return syntax(p, oat, "offset out of range");
		dt->offset_minutes = (c == '-' ? -1 : 1) * (oh * 60 + om);
		v->type = TOML_DATETIME;
	} else {
		v->type = TOML_DATETIME_LOCAL;
	}
	return 0;
}

static int digit_in_base(int c, int base)
{
	int d = hexval(c);

	return d >= 0 && d < base ? d : -1;
}

/*
 * Digits of the given base with single underscores between them; pos on the
 * first digit. The value is accumulated in *val (when not NULL), and
 * *overflow set when it would pass max.
 */
static int scan_digits(struct parser *p, int base, uint64_t *val, uint64_t max, bool *overflow)
{
	if (digit_in_base(peek(p, 0), base) < 0)
		return syntax(p, p->pos, "expected a digit");
	for (;;) {
		int c = peek(p, 0);
		int d = digit_in_base(c, base);

		if (d >= 0) {
			if (val) {
				if (*val > (max - (uint64_t)d) / (uint64_t)base)
					*overflow = true;
				else
					*val = *val * (uint64_t)base + (uint64_t)d;
			}
			p->pos++;
		} else if (c == '_') {
			if (digit_in_base(peek(p, 1), base) < 0)
				return syntax(p, p->pos,
					      "an underscore in a number must be between two digits");
			p->pos++;
		} else {
			return 0;
		}
	}
}

static int number_end(struct parser *p, size_t start)
{
	int c = peek(p, 0);

	if (is_bare(c) || c == '.' || c == '+')
		return syntax(p, start, "invalid number");
	return 0;
}

/* strtod_l() on the text of a float token, without its underscores. */
static int convert_float(struct parser *p, size_t start, double *out)
{
	char small[128], *txt = small;
	size_t n = 0;
	int r = 0;

	if (p->pos - start >= sizeof(small)) {
		txt = malloc(p->pos - start + 1);
		if (!txt)
			return nomem(p);
	}
	for (size_t i = start; i < p->pos; i++)
		if (p->buf[i] != '_')
			txt[n++] = p->buf[i];
	txt[n] = 0;
	if (!p->c_locale) {
		p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (!p->c_locale) {
			r = nomem(p);
			goto out;
		}
	}
	errno = 0;
	*out = strtod_l(txt, NULL, p->c_locale);
	/* Too small a number rounds to 0 or a subnormal, but too large must not become inf. */
	if (errno == ERANGE && isinf(*out))
		r = syntax(p, start, "float out of range");
out:
	if (txt != small)
		free(txt);
	return r;
}

static int parse_number(struct parser *p, struct toml_value *v)
{
	size_t start = p->pos;
	int sign = 0;
	int c = peek(p, 0);
	bool isfloat = false, overflow = false;
	uint64_t mag = 0;
	int r;

	if (c == '+' || c == '-') {
		sign = c;
		p->pos++;
		c = peek(p, 0);
	}
	if (c == 'i' || c == 'n') {
		if (eat_word(p, "inf"))
			v->u.f = sign == '-' ? -INFINITY : INFINITY;
		else if (eat_word(p, "nan"))
			v->u.f = sign == '-' ? -NAN : NAN;
		else
			return syntax(p, start, "invalid value");
		v->type = TOML_FLOAT;
		return number_end(p, start);
	}
	if (c == '0' && (peek(p, 1) == 'x' || peek(p, 1) == 'o' || peek(p, 1) == 'b')) {
		int prefix = peek(p, 1);
		int base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;

		if (sign)
			return syntax(p, start, "a sign is only allowed on decimal integers");
		p->pos += 2;
		if (digit_in_base(peek(p, 0), base) < 0)
			return syntax(p, p->pos, "expected base-%d digits after '0%c'", base, prefix);
		r = scan_digits(p, base, &mag, INT64_MAX, &overflow);
		if (r < 0)
			return r;
		if (overflow)
			return syntax(p, start, "integer does not fit in 64 bits");
		v->type = TOML_INTEGER;
		v->u.i = (int64_t)mag;
		return number_end(p, start);
	}
	if (!is_digit(c))
		return syntax(p, start, "invalid value");
	if (c == '0' && (is_digit(peek(p, 1)) || peek(p, 1) == '_'))
		return syntax(p, start, "leading zeros are not allowed");
	r = scan_digits(p, 10, &mag, sign == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &overflow);
	if (r < 0)
		return r;
	if (peek(p, 0) == '.') {
		isfloat = true;
		p->pos++;
		if (!is_digit(peek(p, 0)))
			return syntax(p, p->pos, "expected a digit after the decimal point");
		r = scan_digits(p, 10, NULL, 0, NULL);
		if (r < 0)
			return r;
	}
	if (peek(p, 0) == 'e' || peek(p, 0) == 'E') {
		isfloat = true;
		p->pos++;
		if (peek(p, 0) == '+' || peek(p, 0) == '-')
			p->pos++;
		if (!is_digit(peek(p, 0)))
			return syntax(p, p->pos, "expected a digit in the exponent");
		r = scan_digits(p, 10, NULL, 0, NULL);
		if (r < 0)
			return r;
	}
	if (isfloat) {
		r = convert_float(p, start, &v->u.f);
		if (r < 0)
			return r;
		v->type = TOML_FLOAT;
	} else {
		if (overflow)
			return syntax(p, start, "integer does not fit in 64 bits");
		v->type = TOML_INTEGER;
		if (sign != '-')
			v->u.i = (int64_t)mag;
		else if (mag > (uint64_t)INT64_MAX)
			v->u.i = INT64_MIN;
		else
			v->u.i = -(int64_t)mag;
	}
	return number_end(p, start);
}

static int parse_array(struct parser *p, struct toml_value *v, int depth)
{
	struct toml_array *a = calloc(1, sizeof(*a));
	char ch[32];
	int r;

	if (!a)
		return nomem(p);
	v->type = TOML_ARRAY;
	v->u.arr = a;
	p->pos++;
	for (;;) {
		struct toml_value item = { 0 };

		skip_ws_nl(p);
		if (peek(p, 0) == ']')
			break;
		r = parse_value(p, &item, depth + 1);
		if (r < 0)
			goto out;
		r = array_push(p, a, &item);
		if (r < 0) {
			value_free(&item);
			goto out;
		}
		skip_ws_nl(p);
		if (peek(p, 0) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p, 0) == ']')
			break;
		r = syntax(p, p->pos, "expected ',' or ']' in array, found %s",
			   showchar(ch, sizeof(ch), p, p->pos));
		goto out;
	}
	p->pos++;
	return 0;
out:
	value_free(v);
	return r;
}

static int parse_inline_table(struct parser *p, struct toml_value *v, int depth)
{
	struct toml_table *t = table_new(v->line, v->col, 0);
	char ch[32];
	int r;

	if (!t)
		return nomem(p);
	v->type = TOML_TABLE;
	v->u.tab = t;
	p->pos++;
	skip_ws(p);
	if (peek(p, 0) != '}') {
		for (;;) {
			int c = peek(p, 0);

			if (c == '\n' || c == '\r') {
				r = syntax(p, p->pos, "newline in an inline table");
				goto out;
			}
			r = parse_keyval(p, t, depth + 1);
			if (r < 0)
				goto out;
			skip_ws(p);
			c = peek(p, 0);
			if (c == '}')
				break;
			if (c == ',') {
				p->pos++;
				skip_ws(p);
				if (peek(p, 0) == '}') {
					r = syntax(p, p->pos - 1, "trailing comma in an inline table");
					goto out;
				}
				continue;
			}
			if (c == '\n' || c == '\r')
				r = syntax(p, p->pos, "newline in an inline table");
			else
				r = syntax(p, p->pos, "expected ',' or '}' in inline table, found %s",
					   showchar(ch, sizeof(ch), p, p->pos));
			goto out;
		}
	}
	p->pos++;
	t->flags |= TAB_INLINE;
	return 0;
out:
	value_free(v);
	return r;
}

/*
 * A value at the given depth (root's keys are at depth 1). On failure v is
 * left holding nothing to free.
 */
static int parse_value(struct parser *p, struct toml_value *v, int depth)
{
	int c = peek(p, 0);
	char ch[32];
	int r;

	memset(v, 0, sizeof(*v));
	v->type = TOML_BOOL;
	v->line = p->line;
	v->col = col_of(p, p->pos);
	if (depth > TOML_MAX_DEPTH)
		return syntax(p, p->pos, "nesting too deep (more than %d levels)", TOML_MAX_DEPTH);
	switch (c) {
	case '"':
	case '\'':
		r = parse_string(p, &v->u.s.ptr, &v->u.s.len, true);
		if (r == 0)
			v->type = TOML_STRING;
		return r;
	case 't':
	case 'f':
		if (eat_word(p, c == 't' ? "true" : "false")) {
			v->u.b = c == 't';
			if (is_bare(peek(p, 0)))
				return syntax(p, p->pos - (c == 't' ? 4 : 5), "invalid value");
			return 0;
		}
		return syntax(p, p->pos, "invalid value (strings must be quoted; booleans are lowercase)");
	case '[':
		return parse_array(p, v, depth);
	case '{':
		return parse_inline_table(p, v, depth);
	case 0:
	case '\n':
	case '\r':
	case '#':
		return syntax(p, p->pos, "missing value");
	default:
		break;
	}
	if (is_digit(c) && is_digit(peek(p, 1))) {
		if (peek(p, 2) == ':' || (is_digit(peek(p, 2)) && is_digit(peek(p, 3)) && peek(p, 4) == '-'))
			return parse_datetime(p, v);
	}
	if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
		return parse_number(p, v);
	if (is_bare(c) || c >= 0x80)
		return syntax(p, p->pos, "invalid value (strings must be quoted)");
	return syntax(p, p->pos, "expected a value, found %s", showchar(ch, sizeof(ch), p, p->pos));
}

/* ---- key/value pairs and headers ---- */

/*
 * key = value into table t whose keys are at the given depth. Intermediate
 * tables of a dotted key are created as needed; existing ones may only be
 * extended if dotted keys created them, and never inside an inline table.
 */
static int parse_keyval(struct parser *p, struct toml_table *t, int depth)
{
	struct keypath kp = { 0 };
	struct toml_value v = { 0 };
	struct toml_keyval *kv;
	struct keypart *last;
	char name[160], ch[32];
	int r;

	r = parse_key(p, &kp);
	if (r < 0)
		goto out;
	if (peek(p, 0) != '=') {
		r = syntax(p, p->pos, "expected '=' after key, found %s",
			   showchar(ch, sizeof(ch), p, p->pos));
		goto out;
	}
	p->pos++;
	skip_ws(p);
	for (size_t i = 0; i + 1 < kp.n; i++) {
		struct keypart *part = &kp.v[i];

		kv = tab_find(p, t, part->s, part->len);
		if (!kv) {
			r = add_table(p, t, part, part->line, part->col, TAB_DOTTED, &t);
			if (r < 0)
				goto out;
		} else if (kv->val.type == TOML_TABLE && (kv->val.u.tab->flags & TAB_DOTTED) &&
			   !(kv->val.u.tab->flags & TAB_INLINE)) {
			t = kv->val.u.tab;
		} else {
			showpath(name, sizeof(name), &kp, i + 1);
			if (kv->val.type == TOML_TABLE && !(kv->val.u.tab->flags & TAB_INLINE))
				r = syntax(p, part->pos,
					   "cannot add to table '%s' with a dotted key: it was defined by a "
					   "[table] header (line %d)",
					   name, kv->val.u.tab->line);
			else
				r = syntax(p, part->pos,
					   "cannot add to '%s': already defined as %s at line %d", name,
					   toml_type_phrase(&kv->val), kv->line);
			goto out;
		}
	}
	last = &kp.v[kp.n - 1];
	kv = tab_find(p, t, last->s, last->len);
	if (kv) {
		r = syntax(p, last->pos, "duplicate key '%s' (first defined at line %d)",
			   showpath(name, sizeof(name), &kp, kp.n), kv->line);
		goto out;
	}
	r = parse_value(p, &v, depth + (int)kp.n - 1);
	if (r < 0)
		goto out;
	r = tab_add(p, t, last, &v, NULL);
	if (r < 0)
		value_free(&v);
out:
	keypath_clear(&kp);
	return r;
}

/* [a.b.c] or [[a.b.c]], pos on the first '['. */
static int parse_header(struct parser *p)
{
	struct keypath kp = { 0 };
	size_t start = p->pos;
	int line = p->line, col = col_of(p, p->pos);
	bool aot = peek(p, 1) == '[';
	struct toml_table *t = p->root;
	struct toml_keyval *kv;
	struct keypart *last;
	char name[160], ch[32];
	int depth = 0;
	int r;

	p->pos += aot ? 2 : 1;
	skip_ws(p);
	r = parse_key(p, &kp);
	if (r < 0)
		goto out;
	if (peek(p, 0) != ']' || (aot && peek(p, 1) != ']')) {
		r = syntax(p, p->pos, "expected '%s' after table name, found %s", aot ? "]]" : "]",
			   showchar(ch, sizeof(ch), p, p->pos + (peek(p, 0) == ']')));
		goto out;
	}
	p->pos += aot ? 2 : 1;

	for (size_t i = 0; i + 1 < kp.n; i++) {
		struct keypart *part = &kp.v[i];

		kv = tab_find(p, t, part->s, part->len);
		depth++;
		if (!kv) {
			r = add_table(p, t, part, part->line, part->col, 0, &t);
			if (r < 0)
				goto out;
		} else if (kv->val.type == TOML_TABLE && !(kv->val.u.tab->flags & TAB_INLINE)) {
			t = kv->val.u.tab;
		} else if (kv->val.type == TOML_ARRAY && (kv->val.u.arr->flags & ARR_TABLES)) {
			/* [a.b] after [[a]] goes into the last element of a */
			t = kv->val.u.arr->items[kv->val.u.arr->len - 1].u.tab;
			depth++;
		} else {
			r = syntax(p, part->pos,
				   "cannot define a table inside '%s': already defined as %s at line %d",
				   showpath(name, sizeof(name), &kp, i + 1), toml_type_phrase(&kv->val),
				   kv->line);
			goto out;
		}
	}
	depth += aot ? 2 : 1;
	if (depth > TOML_MAX_DEPTH) {
		r = syntax(p, start, "nesting too deep (more than %d levels)", TOML_MAX_DEPTH);
		goto out;
	}
	last = &kp.v[kp.n - 1];
	showpath(name, sizeof(name), &kp, kp.n);
	kv = tab_find(p, t, last->s, last->len);
	if (!aot) {
		if (!kv) {
			r = add_table(p, t, last, line, col, TAB_EXPLICIT, &t);
			if (r < 0)
				goto out;
		} else if (kv->val.type != TOML_TABLE) {
			r = syntax(p, start, "cannot define table '%s': already defined as %s at line %d",
				   name, toml_type_phrase(&kv->val), kv->line);
			goto out;
		} else if (kv->val.u.tab->flags & TAB_EXPLICIT) {
			r = syntax(p, start, "table '%s' defined twice (first at line %d)", name,
				   kv->val.u.tab->line);
			goto out;
		} else if (kv->val.u.tab->flags & (TAB_DOTTED | TAB_INLINE)) {
			r = syntax(p, start, "cannot define table '%s': already defined by %s at line %d",
				   name,
				   (kv->val.u.tab->flags & TAB_INLINE) ? "an inline table" : "dotted keys",
				   kv->line);
			goto out;
		} else {
			/* A super-table named after its sub-tables: defined now, and only once. */
			t = kv->val.u.tab;
			t->flags |= TAB_EXPLICIT;
			t->line = kv->val.line = line;
			t->col = kv->val.col = col;
		}
	} else {
		struct toml_array *a;
		struct toml_value elem = { .type = TOML_TABLE, .line = line, .col = col };

		if (!kv) {
			struct toml_value av = { .type = TOML_ARRAY, .line = line, .col = col };

			av.u.arr = calloc(1, sizeof(*av.u.arr));
			if (!av.u.arr) {
				r = nomem(p);
				goto out;
			}
			av.u.arr->flags = ARR_TABLES;
			a = av.u.arr;
			r = tab_add(p, t, last, &av, NULL);
			if (r < 0) {
				free(a);
				goto out;
			}
		} else if (kv->val.type == TOML_ARRAY && (kv->val.u.arr->flags & ARR_TABLES)) {
			a = kv->val.u.arr;
		} else {
			r = syntax(p, start,
				   "cannot define array of tables '%s': already defined as %s at line %d",
				   name, toml_type_phrase(&kv->val), kv->line);
			goto out;
		}
		elem.u.tab = table_new(line, col, TAB_EXPLICIT);
		if (!elem.u.tab) {
			r = nomem(p);
			goto out;
		}
		t = elem.u.tab;
		r = array_push(p, a, &elem);
		if (r < 0) {
			table_free(t);
			goto out;
		}
	}
	p->cur = t;
	p->cur_depth = depth;
out:
	keypath_clear(&kp);
	return r;
}

static int parse_document(struct parser *p)
{
	char ch[32];
	int r;

	for (;;) {
		int c;

		skip_ws(p);
		c = peek(p, 0);
		if (p->pos >= p->len)
			return 0;
		if (c == '[') {
			r = parse_header(p);
			if (r < 0)
				return r;
		} else if (c != '#' && c != '\n' && c != '\r') {
			r = parse_keyval(p, p->cur, p->cur_depth + 1);
			if (r < 0)
				return r;
		}
		skip_ws(p);
		skip_comment(p);
		if (p->pos >= p->len)
			return 0;
		if (!eat_newline(p))
			return syntax(p, p->pos, "expected end of line, found %s",
				      showchar(ch, sizeof(ch), p, p->pos));
	}
}

int toml_parse(const char *buf, size_t len, struct toml_table **out, struct toml_error *err)
{
	struct parser p = { .buf = buf, .len = len, .line = 1, .err = err };
	int r;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (len > TOML_MAX_INPUT)
		return fail(&p, 0, -E2BIG, "input too large (more than %u bytes)", TOML_MAX_INPUT);
	if (!buf && len)
		return fail(&p, 0, -EINVAL, "no input");
	/* A UTF-8 byte order mark is allowed at the very start only. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p.pos = 3;
	r = check_text(&p);
	if (r < 0)
		return r;
	p.root = table_new(1, 1, TAB_EXPLICIT);
	if (!p.root)
		return nomem(&p);
	p.cur = p.root;
	r = parse_document(&p);
	free(p.idx.slots);
	if (p.c_locale)
		freelocale(p.c_locale);
	if (r < 0) {
		table_free(p.root);
		return r;
	}
	*out = p.root;
	return 0;
}

const struct toml_keyval *toml_get_kv(const struct toml_table *t, const char *key)
{
	size_t n;

	if (!t || !key)
		return NULL;
	n = strlen(key);
	for (size_t i = 0; i < t->len; i++)
		if (t->items[i].keylen == n && memcmp(t->items[i].key, key, n) == 0)
			return &t->items[i];
	return NULL;
}
