/*
 * toml_decoder - the toml-test decoder interface: TOML on stdin, "tagged
 * JSON" on stdout, exit 0; on a parse error "line:col: reason" on stderr and
 * exit 1. Exit 2 means the input could not be read.
 */
#include "toml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			/* The parser guarantees valid UTF-8, so only controls need escaping. */
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void print_time(FILE *f, const struct toml_datetime *dt)
{
	fprintf(f, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
	if (dt->frac_digits > 0) {
		char frac[16];
		int n = dt->frac_digits < 9 ? dt->frac_digits : 9;

		snprintf(frac, sizeof(frac), "%09d", dt->nanosecond);
		fprintf(f, ".%.*s", n, frac);
	}
}

/* toml-test's names of the types. */
static const char *toml_type_name(enum toml_type type)
{
	switch (type) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_FLOAT:
		return "float";
	case TOML_BOOL:
		return "bool";
	case TOML_DATETIME:
		return "datetime";
	case TOML_DATETIME_LOCAL:
		return "datetime-local";
	case TOML_DATE_LOCAL:
		return "date-local";
	case TOML_TIME_LOCAL:
		return "time-local";
	case TOML_ARRAY:
		return "array";
	case TOML_TABLE:
		return "table";
	}
	return "unknown";
}

static void print_scalar(FILE *f, const struct toml_value *v)
{
	const struct toml_datetime *dt = &v->u.dt;

	fprintf(f, "{\"type\":\"%s\",\"value\":", toml_type_name(v->type));
	switch (v->type) {
	case TOML_STRING:
		json_string(f, v->u.s.ptr, v->u.s.len);
		break;
	case TOML_INTEGER:
		fprintf(f, "\"%lld\"", (long long)v->u.i);
		break;
	case TOML_FLOAT:
		if (isnan(v->u.f))
			fputs("\"nan\"", f);
		else if (isinf(v->u.f))
			fputs(v->u.f < 0 ? "\"-inf\"" : "\"inf\"", f);
		else
			fprintf(f, "\"%.17g\"", v->u.f); /* 17 significant digits round-trip any double */
		break;
	case TOML_BOOL:
		fputs(v->u.b ? "\"true\"" : "\"false\"", f);
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		fputc('"', f);
		if (v->type != TOML_TIME_LOCAL)
			fprintf(f, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
		if (v->type == TOML_DATETIME || v->type == TOML_DATETIME_LOCAL)
			fputc('T', f);
		if (v->type != TOML_DATE_LOCAL)
			print_time(f, dt);
		if (v->type == TOML_DATETIME) {
			int off = dt->offset_minutes;

			if (dt->offset_z)
				fputc('Z', f);
			else
				fprintf(f, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
		}
		fputc('"', f);
		break;
	default:
		fputs("null", f);
	}
	fputc('}', f);
}

static void print_table(FILE *f, const struct toml_table *t);

/* Recursion is bounded: the parser limits nesting to TOML_MAX_DEPTH. */
static void print_value(FILE *f, const struct toml_value *v)
{
	if (v->type == TOML_TABLE) {
		print_table(f, v->u.tab);
	} else if (v->type == TOML_ARRAY) {
		fputc('[', f);
		for (size_t i = 0; i < v->u.arr->len; i++) {
			if (i)
				fputc(',', f);
			print_value(f, &v->u.arr->items[i]);
		}
		fputc(']', f);
	} else {
		print_scalar(f, v);
	}
}

static void print_table(FILE *f, const struct toml_table *t)
{
	fputc('{', f);
	for (size_t i = 0; i < t->len; i++) {
		if (i)
			fputc(',', f);
		json_string(f, t->items[i].key, t->items[i].keylen);
		fputc(':', f);
		print_value(f, &t->items[i].val);
	}
	fputc('}', f);
}

int main(void)
{
	/* One byte more than the parser accepts, so that it can say -E2BIG itself. */
	const size_t max = (size_t)TOML_MAX_INPUT + 1;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	struct toml_table *root;
	struct toml_error err;
	int r;

	if (!buf) {
		fprintf(stderr, "toml_decoder: out of memory\n");
		return 2;
	}
	for (;;) {
		ssize_t n;

		if (len == cap && cap < max) {
			char *nb;

			cap = cap * 2 < max ? cap * 2 : max;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fprintf(stderr, "toml_decoder: out of memory\n");
				return 2;
			}
			buf = nb;
		}
		if (len == cap)
			break;
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "toml_decoder: read: %s\n", strerror(errno));
			free(buf);
			return 2;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = toml_parse(buf, len, &root, &err);
	free(buf);
	if (r < 0) {
		fprintf(stderr, "%d:%d: %s\n", err.line, err.col, err.msg);
		return 1;
	}
	print_table(stdout, root);
	fputc('\n', stdout);
	toml_free(root);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "toml_decoder: write error\n");
		return 2;
	}
	return 0;
}
