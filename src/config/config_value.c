/*
 * Typed values: how a value of each key type (enum config_type) is read from
 * TOML or from text, checked, compared, copied, freed and described. The keys
 * themselves are in config_keys.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "util.h"

/* ---- string lists ---- */

int config_strlist_push(struct config_strlist *l, const char *s, size_t len)
{
	char *copy;

	if (l->n == l->cap) {
		char **v = array_grow(l->v, &l->cap, sizeof(*l->v));
		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	l->v[l->n++] = copy;
	return 0;
}

void config_strlist_clear(struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct config_strlist){ 0 };
}

/* ---- type descriptions ---- */

void config_type_expectation(const struct config_key *k, char *buf, size_t n)
{
	const char *fixed = NULL;
	size_t used;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		fixed = "expected a string";
		break;
	case CONFIG_T_LIST:
		fixed = "expected an array of strings";
		break;
	case CONFIG_T_ARGV:
		fixed = "expected a string or an array of strings";
		break;
	case CONFIG_T_BOOL:
		fixed = "expected a boolean (true or false)";
		break;
	case CONFIG_T_PORT:
		fixed = "expected a port number (0 to 65535)";
		break;
	case CONFIG_T_MS:
		fixed = "expected an integer (milliseconds) or a duration string like \"2s\"";
		break;
	case CONFIG_T_SIGNAL:
		fixed = "expected a signal name like \"TERM\" or a number";
		break;
	case CONFIG_T_BYTES:
		fixed = "expected a number of bytes, a size like \"512M\", or \"max\"";
		break;
	case CONFIG_T_LIMIT:
		fixed = "expected a positive integer or \"max\"";
		break;
	case CONFIG_T_CPU:
		fixed = "expected a share of one CPU like \"50%\", \"max\", or cpu.max's \"QUOTA PERIOD\" in "
			"microseconds (period 1000 to 1000000, quota at least 1000)";
		break;
	case CONFIG_T_CHOICE:
		break;
	}
	if (fixed) {
		snprintf(buf, n, "%s", fixed);
		return;
	}
	used = (size_t)snprintf(buf, n, "expected one of");
	for (int i = 0; k->choices[i] && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s \"%s\"", i ? "," : "", k->choices[i]);
}

/* "expected X, got Y" with Y the TOML type. */
static int mismatch(const struct config_key *k, const struct toml_value *v, char *why, size_t n)
{
	char expected[160];

	config_type_expectation(k, expected, sizeof(expected));
	snprintf(why, n, "%s, got %s", expected, toml_type_phrase(v));
	return -EINVAL;
}

/* "expected X, got "text"" for a string that does not parse. */
static int bad_text(const struct config_key *k, const char *text, char *why, size_t n)
{
	char expected[160];

	config_type_expectation(k, expected, sizeof(expected));
	snprintf(why, n, "%s, got \"%s\"", expected, text);
	return -EINVAL;
}

static int bad_integer(const struct config_key *k, int64_t i, char *why, size_t n)
{
	char expected[160];

	config_type_expectation(k, expected, sizeof(expected));
	snprintf(why, n, "%s, got %" PRId64, expected, i);
	return -EINVAL;
}

/* ---- scalar parsers shared by TOML strings and flag text ---- */

static int parse_bool_text(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_choice_text(const struct config_key *k, const char *s, int *out)
{
	/* air reads color.mode "" as auto, and 'air init' (>= 1.66) writes exactly that. */
	if (!*s && (k->flags & CONFIG_K_EMPTY_AUTO)) {
		*out = 0;
		return 0;
	}
	for (int i = 0; k->choices[i]; i++) {
		if (strcmp(k->choices[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_uint_text(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "max", plain bytes, or a number with K, M, G or T (powers of 1024, as cgroup's memory.max). */
static int parse_bytes_text(const char *s, unsigned long long *out)
{
	static const char suffixes[] = "KMGT";
	unsigned long long v, mult = 1;
	char *end;

	if (strcmp(s, "max") == 0) {
		*out = 0;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		/* memchr, not strchr: strchr would find the terminator of suffixes for "5 " (' ' & ~0x20 is
		 * 0). */
		const char *p = memchr(suffixes, toupper((unsigned char)end[0]), sizeof(suffixes) - 1);
		if (!p || (end[1] && strcasecmp(end + 1, "B") != 0 && strcasecmp(end + 1, "iB") != 0))
			return -EINVAL;
		mult = 1ull << (10 * (p - suffixes + 1));
	}
	if (v == 0 || v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static int parse_limit_text(const char *s, unsigned long long *out)
{
	unsigned long long v;

	if (strcmp(s, "max") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_uint_text(s, UINT64_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "50%", "max", "QUOTA" or "QUOTA PERIOD" (config.h, config_cpu_pack()). */
static int parse_cpu_text(const char *s, unsigned long long *out)
{
	unsigned long long quota, period = 100000;
	char *end;

	if (strcmp(s, "max") == 0 || strncmp(s, "max ", 4) == 0) {
		if (s[3] && (parse_uint_text(s + 4, 1000000, &period) < 0 || period < 1000))
			return -EINVAL;
		*out = 0;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	quota = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (strcmp(end, "%") == 0) {
		/* Of one CPU per 100 ms period, as systemd's CPUQuota=; 1% is the kernel's 1 ms minimum. */
		if (quota == 0 || quota > 100000)
			return -EINVAL;
		quota *= 1000;
	} else if (*end == ' ') {
		if (parse_uint_text(end + 1, 1000000, &period) < 0 || period < 1000)
			return -EINVAL;
	} else if (*end) {
		return -EINVAL;
	}
	if (quota < 1000 || quota >= 1ull << (64 - CONFIG_CPU_PERIOD_BITS))
		return -EINVAL;
	*out = config_cpu_pack(quota, period);
	return 0;
}

int config_parse_bytes(const char *s, unsigned long long *out)
{
	return parse_bytes_text(s, out);
}

int config_parse_limit(const char *s, unsigned long long *out)
{
	return parse_limit_text(s, out);
}

int config_parse_cpu(const char *s, unsigned long long *out)
{
	return parse_cpu_text(s, out);
}

static int set_string(char **slot, const char *s, size_t len)
{
	char *copy = strndup(s, len);

	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

/* A scalar type from its text form, shared by TOML strings and flags. */
static int scalar_from_text(const struct config_key *k, void *slot, const char *s, char *why, size_t n)
{
	unsigned long long u;
	int r = 0, i;
	bool b;

	switch (k->type) {
	case CONFIG_T_BOOL:
		if ((r = parse_bool_text(s, &b)) == 0)
			*(bool *)slot = b;
		break;
	case CONFIG_T_PORT:
		if ((r = parse_uint_text(s, 65535, &u)) == 0)
			*(int *)slot = (int)u;
		break;
	case CONFIG_T_MS:
		if ((r = duration_parse_ms(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		else if (duration_strerror(r)) {
			snprintf(why, n, "%s, got \"%s\"", duration_strerror(r), s);
			return -EINVAL;
		}
		break;
	case CONFIG_T_CHOICE:
		if ((r = parse_choice_text(k, s, &i)) == 0)
			*(int *)slot = i;
		break;
	case CONFIG_T_SIGNAL:
		if ((r = sig_parse(s, &i)) == 0)
			*(int *)slot = i;
		break;
	case CONFIG_T_BYTES:
		if ((r = parse_bytes_text(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		break;
	case CONFIG_T_LIMIT:
		if ((r = parse_limit_text(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		break;
	case CONFIG_T_CPU:
		if ((r = parse_cpu_text(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		break;
	default:
		r = -EINVAL;
	}
	return r < 0 ? bad_text(k, s, why, n) : 0;
}

/* ---- from TOML ---- */

static bool has_nul(const struct toml_value *v)
{
	return memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL;
}

static int list_from_toml(const struct config_key *k, struct config_strlist *slot, const struct toml_value *v,
			  char *why, size_t n, int *line, int *col)
{
	struct config_strlist l = { 0 };
	const struct toml_array *a = v->u.arr;
	int r;

	for (size_t i = 0; i < a->len; i++) {
		const struct toml_value *e = &a->items[i];
		if (e->type != TOML_STRING || has_nul(e)) {
			*line = e->line;
			*col = e->col;
			if (e->type == TOML_STRING) {
				snprintf(why, n, "element %zu contains a NUL character", i);
			} else {
				char expected[160];
				config_type_expectation(k, expected, sizeof(expected));
				snprintf(why, n, "%s, got %s in the array", expected, toml_type_phrase(e));
			}
			config_strlist_clear(&l);
			return -EINVAL;
		}
		if ((r = config_strlist_push(&l, e->u.s.ptr, e->u.s.len)) < 0) {
			config_strlist_clear(&l);
			return r;
		}
	}
	config_strlist_clear(slot);
	*slot = l;
	return 0;
}

/* A scalar type from a TOML integer (every scalar type but choices takes one). */
static int scalar_from_integer(const struct config_key *k, void *slot, int64_t i, char *why, size_t n)
{
	int64_t ms;

	switch (k->type) {
	case CONFIG_T_PORT:
		if (i < 0 || i > 65535)
			return bad_integer(k, i, why, n);
		*(int *)slot = (int)i;
		return 0;
	case CONFIG_T_MS:
		if (i < 0) {
			snprintf(why, n, "must not be negative, got %" PRId64, i);
			return -EINVAL;
		}
		/* air reads a time.Duration integer below 1 ms as milliseconds, and nanoseconds above. */
		ms = (k->flags & CONFIG_K_GO_DUR) && i >= 1000000 ? i / 1000000 : i;
		if ((unsigned long long)ms > DURATION_MAX_MS) {
			snprintf(why, n, "%s, got %" PRId64, duration_strerror(-ERANGE), i);
			return -EINVAL;
		}
		*(unsigned long long *)slot = (unsigned long long)ms;
		return 0;
	case CONFIG_T_SIGNAL:
		if (i <= 0 || i >= NSIG)
			return bad_integer(k, i, why, n);
		*(int *)slot = (int)i;
		return 0;
	case CONFIG_T_BYTES:
	case CONFIG_T_LIMIT:
		if (i <= 0)
			return bad_integer(k, i, why, n);
		*(unsigned long long *)slot = (unsigned long long)i;
		return 0;
	case CONFIG_T_CPU:
		/* A bare number would be ambiguous (percent? microseconds?): only the text forms. */
		return bad_integer(k, i, why, n);
	default:
		return -EINVAL;
	}
}

int config_value_from_toml(const struct config_key *k, void *slot, const struct toml_value *v, char *why,
			   size_t n, int *line, int *col)
{
	*line = v->line;
	*col = v->col;
	if (v->type == TOML_STRING && has_nul(v)) {
		snprintf(why, n, "contains a NUL character");
		return -EINVAL;
	}
	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		if (v->type != TOML_STRING)
			return mismatch(k, v, why, n);
		return set_string(slot, v->u.s.ptr, v->u.s.len);
	case CONFIG_T_ARGV:
		if (v->type == TOML_STRING) {
			struct config_strlist *l = slot;
			config_strlist_clear(l);
			return config_strlist_push(l, v->u.s.ptr, v->u.s.len);
		}
		/* fall through */
	case CONFIG_T_LIST:
		if (v->type != TOML_ARRAY)
			return mismatch(k, v, why, n);
		return list_from_toml(k, slot, v, why, n, line, col);
	case CONFIG_T_BOOL:
		if (v->type != TOML_BOOL)
			return mismatch(k, v, why, n);
		*(bool *)slot = v->u.b;
		return 0;
	default:
		/* Ports are integers and choices strings; the other scalars take both forms. */
		if (v->type == TOML_INTEGER && k->type != CONFIG_T_CHOICE)
			return scalar_from_integer(k, slot, v->u.i, why, n);
		if (v->type == TOML_STRING && k->type != CONFIG_T_PORT)
			return scalar_from_text(k, slot, v->u.s.ptr, why, n);
		return mismatch(k, v, why, n);
	}
}

/* ---- from flag or default text ---- */

static int list_from_text(struct config_strlist *l, const char *text, unsigned flags)
{
	const char *p = text;
	int r;

	if (!(flags & CONFIG_TEXT_APPEND))
		config_strlist_clear(l);
	if (flags & CONFIG_TEXT_NO_SPLIT)
		return config_strlist_push(l, text, strlen(text));
	/* An empty value is an empty list, as air's flags have it. */
	while (*text) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if ((r = config_strlist_push(l, p, len)) < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int config_value_from_text(const struct config_key *k, void *slot, const char *text, unsigned flags,
			   char *why, size_t why_size)
{
	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		return set_string(slot, text, strlen(text));
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		return list_from_text(slot, text, flags);
	default:
		return scalar_from_text(k, slot, text, why, why_size);
	}
}

void config_value_free(const struct config_key *k, void *slot)
{
	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		free(*(char **)slot);
		*(char **)slot = NULL;
		break;
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		config_strlist_clear(slot);
		break;
	default:
		break;
	}
}

int config_value_copy(const struct config_key *k, void *dst, const void *src)
{
	const struct config_strlist *from;
	int r;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		if (!*(char *const *)src)
			return 0;
		*(char **)dst = strdup(*(char *const *)src);
		return *(char **)dst ? 0 : -ENOMEM;
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		from = src;
		for (size_t i = 0; i < from->n; i++)
			if ((r = config_strlist_push(dst, from->v[i], strlen(from->v[i]))) < 0)
				return r;
		return 0;
	case CONFIG_T_BOOL:
		*(bool *)dst = *(const bool *)src;
		return 0;
	case CONFIG_T_PORT:
	case CONFIG_T_CHOICE:
	case CONFIG_T_SIGNAL:
		*(int *)dst = *(const int *)src;
		return 0;
	case CONFIG_T_MS:
	case CONFIG_T_BYTES:
	case CONFIG_T_LIMIT:
	case CONFIG_T_CPU:
		*(unsigned long long *)dst = *(const unsigned long long *)src;
		return 0;
	}
	return -EINVAL;
}

static bool strings_equal(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

bool config_value_equal(const struct config_key *k, const void *a, const void *b)
{
	const struct config_strlist *x = a, *y = b;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		return strings_equal(*(char *const *)a, *(char *const *)b);
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		if (x->n != y->n)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (strcmp(x->v[i], y->v[i]) != 0)
				return false;
		return true;
	case CONFIG_T_BOOL:
		return *(const bool *)a == *(const bool *)b;
	case CONFIG_T_PORT:
	case CONFIG_T_CHOICE:
	case CONFIG_T_SIGNAL:
		return *(const int *)a == *(const int *)b;
	case CONFIG_T_MS:
	case CONFIG_T_BYTES:
	case CONFIG_T_LIMIT:
	case CONFIG_T_CPU:
		return *(const unsigned long long *)a == *(const unsigned long long *)b;
	}
	return false;
}

/* ---- rules ---- */

int config_set_defaults(void *base, const struct config_key *(*key_at)(size_t), size_t n)
{
	char why[160];
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = key_at(i);
		if (k->def &&
		    (r = config_value_from_text(k, config_slot(k, base), k->def, 0, why, sizeof(why))) < 0)
			return r;
	}
	return 0;
}

int config_rule_init(struct config_rule *r)
{
	int e;

	*r = (struct config_rule){ 0 };
	e = config_set_defaults(r, config_rule_key_at, config_rule_key_count());
	if (e < 0)
		config_rule_free(r);
	return e;
}

void config_rule_free(struct config_rule *r)
{
	for (size_t i = 0; i < config_rule_key_count(); i++)
		config_value_free(config_rule_key_at(i), config_slot(config_rule_key_at(i), r));
}
