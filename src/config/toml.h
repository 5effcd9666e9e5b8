/*
 * toml.h - a strict TOML 1.0.0 parser.
 *
 * toml_parse() reads a whole document and returns a tree of tables, arrays
 * and typed scalars, or an error with line, column and a short reason. It is
 * strict: every rule of TOML 1.0.0 is enforced, including every redefinition
 * rule, and invalid UTF-8 is rejected. Nesting depth and input size are
 * bounded (TOML_MAX_DEPTH, TOML_MAX_INPUT) so hostile input cannot exhaust
 * the stack or memory.
 *
 * Every node records the line and column (1-based, columns in bytes) where it
 * starts, so that callers can point at the exact place of a wrong value.
 * Keys keep their order of appearance. Strings are NUL-terminated but may
 * also contain NUL (\u0000): use the length.
 *
 * Functions return 0 or -errno (-EINVAL for a syntax error, -ENOMEM,
 * -E2BIG for input over TOML_MAX_INPUT).
 */
#ifndef NSRELOAD_TOML_H
#define NSRELOAD_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOML_MAX_DEPTH 128
#define TOML_MAX_INPUT (64u << 20)

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,       /* offset date-time */
	TOML_DATETIME_LOCAL, /* local date-time */
	TOML_DATE_LOCAL,
	TOML_TIME_LOCAL,
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_datetime {
	int year, month, day;     /* valid for DATETIME, DATETIME_LOCAL, DATE_LOCAL */
	int hour, minute, second; /* valid for DATETIME, DATETIME_LOCAL, TIME_LOCAL */
	int nanosecond;           /* fractional seconds, truncated past 9 digits */
	int frac_digits;          /* how many fractional digits were written (0: none) */
	int offset_minutes;       /* DATETIME only: +01:30 is 90, Z is 0 */
	bool offset_z;            /* DATETIME only: written as Z */
};

struct toml_table;
struct toml_array;

struct toml_value {
	enum toml_type type;
	int line, col;
	union {
		struct {
			char *ptr;
			size_t len;
		} s;
		int64_t i;
		double f;
		bool b;
		struct toml_datetime dt;
		struct toml_array *arr;
		struct toml_table *tab;
	} u;
};

struct toml_keyval {
	char *key; /* NUL-terminated; may hold NUL, see keylen */
	size_t keylen;
	int line, col; /* where the key was written (for dotted or [table] keys: the part that named it) */
	struct toml_value val;
};

struct toml_table {
	struct toml_keyval *items;
	size_t len;
	size_t cap;
	int line, col;
	unsigned flags; /* parser-internal bookkeeping for the redefinition rules */
};

struct toml_array {
	struct toml_value *items;
	size_t len;
	size_t cap;
	unsigned flags; /* parser-internal */
};

struct toml_error {
	int line, col;
	char msg[160];
};

/*
 * Parses len bytes of buf (which need not be NUL-terminated). On success
 * *out is the root table; free it with toml_free(). On failure *out is NULL
 * and err (if not NULL) says where and why.
 */
int toml_parse(const char *buf, size_t len, struct toml_table **out, struct toml_error *err);

void toml_free(struct toml_table *root);

/* What v is, for messages: "a string", "a local date", "an array of tables", "an inline table", ... */
const char *toml_type_phrase(const struct toml_value *v);

/* Looks up a direct key of a table, with its position; NULL when absent. */
const struct toml_keyval *toml_get_kv(const struct toml_table *t, const char *key);

#endif
