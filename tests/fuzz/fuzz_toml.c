/*
 * fuzz_toml - libFuzzer target for the TOML parser: any input must either
 * parse into a well-formed tree or fail with a located error, without
 * crashing, leaking or tripping a sanitizer.
 */
#include "toml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_table(const struct toml_table *t, int depth);

/* The checks only look for what a consumer of the tree relies on. */
static void check_value(const struct toml_value *v, int depth)
{
	if (depth > TOML_MAX_DEPTH + 2 || v->line < 1 || v->col < 1)
		abort();
	switch (v->type) {
	case TOML_STRING:
		if (!v->u.s.ptr || v->u.s.ptr[v->u.s.len] != 0)
			abort();
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < v->u.arr->len; i++)
			check_value(&v->u.arr->items[i], depth + 1);
		break;
	case TOML_TABLE:
		check_table(v->u.tab, depth + 1);
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		if (v->u.dt.nanosecond < 0 || v->u.dt.nanosecond > 999999999 || v->u.dt.second > 60)
			abort();
		break;
	default:
		if (v->type > TOML_TABLE)
			abort();
	}
}

static void check_table(const struct toml_table *t, int depth)
{
	for (size_t i = 0; i < t->len; i++) {
		const struct toml_keyval *kv = &t->items[i];

		if (!kv->key || kv->key[kv->keylen] != 0 || kv->line < 1 || kv->col < 1)
			abort();
		/* Keys without NUL must be found again by name. */
		if (strlen(kv->key) == kv->keylen && toml_get_kv(t, kv->key) != kv)
			abort();
		check_value(&kv->val, depth);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_table *root = NULL;
	struct toml_error err;
	int r = toml_parse((const char *)data, size, &root, &err);

	if (r < 0) {
		if (root || err.line < 1 || err.col < 1 || !err.msg[0] ||
		    memchr(err.msg, 0, sizeof(err.msg)) == NULL)
			abort();
		return 0;
	}
	if (r != 0 || !root)
		abort();
	check_table(root, 0);
	toml_free(root);
	return 0;
}
