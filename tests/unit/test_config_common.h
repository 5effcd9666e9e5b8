/*
 * Helpers shared by the config tests: capturing diagnostics, loading text,
 * checking a flag's error and reading values back as text. Include
 * <cmocka.h> (and what it needs) first.
 */
#ifndef TEST_CONFIG_COMMON_H
#define TEST_CONFIG_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct diags {
	int n;
	enum config_diag_level level[16];
	char msg[16][512];
};

static inline void capture_diag(void *data, enum config_diag_level level, const char *msg)
{
	struct diags *dg = data;

	if (dg->n < 16) {
		dg->level[dg->n] = level;
		snprintf(dg->msg[dg->n], sizeof(dg->msg[0]), "%s", msg);
		dg->n++;
	}
}

/* Drops the "not implemented yet" warnings from dg, for tests about something else. */
static inline void drop_unimplemented(struct diags *dg)
{
	int kept = 0;

	for (int i = 0; i < dg->n; i++) {
		if (dg->level[i] == CONFIG_DIAG_WARNING && strstr(dg->msg[i], ": not implemented yet; "))
			continue;
		dg->level[kept] = dg->level[i];
		memmove(dg->msg[kept], dg->msg[i], sizeof(dg->msg[0]));
		kept++;
	}
	dg->n = kept;
}

static inline struct config_diag diag_into(struct diags *dg)
{
	memset(dg, 0, sizeof(*dg));
	return (struct config_diag){ .report = capture_diag, .data = dg };
}

/* Loads text as the file "t.toml", its messages into dg. */
static inline int load_text(struct config *c, const char *text, struct diags *dg)
{
	struct config_diag d = diag_into(dg);
	return config_load_buffer(c, "t.toml", text, strlen(text), &d);
}

/* The flag arg (and its value next, when not NULL) must fail with exactly the message msg. */
static inline void assert_flag_error(struct config *c, const char *arg, const char *next, const char *msg)
{
	char *argv[] = { "run", (char *)arg, (char *)next, NULL };
	struct config_args a = { 0 };
	struct diags dg;
	struct config_diag d = diag_into(&dg);
	int r = config_parse_args(c, next ? 3 : 2, argv, &a, &d);

	if (r != -EINVAL || dg.n != 1 || strcmp(dg.msg[0], msg) != 0)
		fprintf(stderr, "%s %s\n  got: %s\n want: %s\n", arg, next ? next : "",
			dg.n ? dg.msg[0] : "no message", msg);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(dg.n, 1);
	assert_string_equal(dg.msg[0], msg);
}

/* The value of a key as config_print_value() writes it in TOML; free it. */
static inline char *value_of(const struct config *c, const char *name)
{
	const struct config_key *k = config_key_find(name);
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (!k)
		return strdup("<no such key>");
	m = open_memstream(&text, &len);
	config_print_value(m, k, config_slot_const(k, c), false);
	fclose(m);
	return text;
}

#define assert_value(c, name, expected)                                                                      \
	do {                                                                                                 \
		char *got_ = value_of((c), (name));                                                          \
		if (strcmp(got_, (expected)) != 0)                                                           \
			fprintf(stderr, "%s: got %s, want %s\n", (name), got_, (expected));                  \
		assert_string_equal(got_, (expected));                                                       \
		free(got_);                                                                                  \
	} while (0)

static inline const struct config_origin *origin_of(const struct config *c, const char *name)
{
	return &c->origin[config_key_index(config_key_find(name))];
}

/* The source tree's root, from this file's path (CMake compiles with absolute paths). */
static inline void source_path(char *buf, size_t size, const char *rel)
{
	const char *me = __FILE__;
	const char *cut = strstr(me, "tests/unit/");

	snprintf(buf, size, "%.*s%s", cut ? (int)(cut - me) : 0, me, rel);
}

#endif
