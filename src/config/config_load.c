/*
 * Loading the configuration file: finding it, parsing it with toml.c and
 * applying each key through the key table. air's schema is lenient (unknown
 * keys are ignored) but its values are typed, so an unknown key is a warning
 * and a wrong value an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "toml.h"
#include "util.h"

/* A message held back so that all of them come out in the order of the file. */
struct held_diag {
	enum config_diag_level level;
	int line, col;
	size_t seq;
	char *msg;
};

struct load {
	struct config *c;
	const char *name; /* file name for messages */
	const struct config_diag *d;
	int errors;
	const struct toml_table *linux_table; /* applied last, so that it wins wherever it was written */
	struct held_diag *held;
	size_t nheld, capheld;
};

/* "FILE:LINE:COL: text", held until release_diags(); sent at once if memory runs out. */
static void hold(struct load *ld, enum config_diag_level level, int line, int col, const char *text)
{
	struct held_diag *grown = ld->held;
	char *msg = NULL;

	if (level == CONFIG_DIAG_ERROR)
		ld->errors++;
	if (ld->nheld == ld->capheld && (grown = array_grow(ld->held, &ld->capheld, sizeof(*grown))))
		ld->held = grown;
	if (!grown || asprintf(&msg, "%s:%d:%d: %s", ld->name, line, col, text) < 0) {
		config_report(ld->d, level, "%s:%d:%d: %s", ld->name, line, col, text);
		return;
	}
	ld->held[ld->nheld] = (struct held_diag){ level, line, col, ld->nheld, msg };
	ld->nheld++;
}

static int by_position(const void *a, const void *b)
{
	const struct held_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void release_diags(struct load *ld)
{
	if (ld->nheld)
		qsort(ld->held, ld->nheld, sizeof(*ld->held), by_position);
	for (size_t i = 0; i < ld->nheld; i++) {
		config_report(ld->d, ld->held[i].level, "%s", ld->held[i].msg);
		free(ld->held[i].msg);
	}
	free(ld->held);
	ld->held = NULL;
	ld->nheld = ld->capheld = 0;
}

static void error_at(struct load *ld, int line, int col, const char *key, const char *why)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s: %s", key, why);
	hold(ld, CONFIG_DIAG_ERROR, line, col, text);
}

/* "unknown key 'build.exlude_dir' (ignored); did you mean 'build.exclude_dir'?" (suggestion may be NULL). */
static void unknown_at(struct load *ld, const struct toml_keyval *kv, const char *name,
		       const char *suggestion)
{
	char text[1024];
	int n;

	n = snprintf(text, sizeof(text), "unknown %s '%s' (ignored)",
		     kv->val.type == TOML_TABLE ? "table" : "key", name);
	if (suggestion && n > 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n, "; did you mean '%s'?", suggestion);
	hold(ld, CONFIG_DIAG_WARNING, kv->line, kv->col, text);
}

/* "KEY: not implemented yet; what happens instead", for a key of the table or a [[build.rules]] entry. */
static void unimplemented_at(struct load *ld, int line, int col, const char *name, const char *instead)
{
	char text[512];

	snprintf(text, sizeof(text), "%s: not implemented yet; %s", name, instead);
	hold(ld, CONFIG_DIAG_WARNING, line, col, text);
}

/* Each key the file set that is not implemented yet, where it was written; then each [[build.rules]] entry.
 */
static void warn_unimplemented(struct load *ld)
{
	const struct config *c = ld->c;

	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		const struct config_origin *o = &c->origin[i];

		if (o->kind == CONFIG_FROM_FILE && config_key_in_use(c, k))
			unimplemented_at(ld, o->line, o->col, k->name, k->unimplemented);
	}
	for (size_t i = 0; config_rule_key_at(0)->unimplemented && i < c->build.nrules; i++)
		unimplemented_at(ld, c->build.rules[i].line, c->build.rules[i].col, "build.rules",
				 config_rule_key_at(0)->unimplemented);
}

void config_warn_unimplemented(const struct config *c, const struct config_diag *d)
{
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		const struct config_origin *o = &c->origin[i];

		if (o->kind != CONFIG_FROM_FLAG || !config_key_in_use(c, k))
			continue;
		if (o->flag)
			config_report(d, CONFIG_DIAG_WARNING, "%s: not implemented yet; %s", o->flag,
				      k->unimplemented);
		else
			config_report(d, CONFIG_DIAG_WARNING, "--%s: not implemented yet; %s", k->name,
				      k->unimplemented);
	}
}

/* Checks v for k without keeping it. */
static int check_value(struct load *ld, const struct config_key *k, const char *name,
		       const struct toml_value *v)
{
	union config_scratch tmp = { 0 };
	char why[512];
	int line, col, r;

	r = config_value_from_toml(k, &tmp, v, why, sizeof(why), &line, &col);
	config_value_free(k, &tmp);
	if (r == -EINVAL)
		error_at(ld, line, col, name, why);
	return r == -EINVAL ? 0 : r;
}

/*
 * Reads v into *slot (of base k). The value goes through a scratch first, so
 * that a bad one leaves the old value in place. Returns 0 (a bad value is
 * counted in ld->errors) or -ENOMEM.
 */
static int set_value(struct load *ld, const struct config_key *k, void *slot, const char *name,
		     const struct toml_value *v)
{
	union config_scratch tmp = { 0 };
	char why[512];
	int line, col, r;

	r = config_value_from_toml(k, &tmp, v, why, sizeof(why), &line, &col);
	if (r == 0) {
		config_value_free(k, slot);
		r = config_value_copy(k, slot, &tmp);
	} else if (r == -EINVAL) {
		error_at(ld, line, col, name, why);
		r = 0;
	}
	config_value_free(k, &tmp);
	return r;
}

/*
 * air merges the file over its defaults with mergo's overwrite mode, which
 * never copies an empty source value (runner/config.go,
 * initConfigWithoutPreprocess; [build.linux] the same by hand in
 * applyBuildOverrides). So in an .air.toml a string "", a number 0 and a
 * boolean false leave the key as it was. Lists are not empty values there:
 * go-toml reads [] as an empty slice that is not nil, and air's
 * sliceTransformer copies any slice that is not nil. Pointers (startup_banner)
 * are copied. nsreload's own keys (on_busy, [box]) and build.delay
 * (CONFIG_K_ZERO_IS_ZERO: 0 means 0, on purpose) keep their plain meaning.
 * Returns what the value is ("empty", "0", "false") when air would keep the
 * old one, or NULL.
 */
static const char *air_keeps(const struct load *ld, const struct config_key *k, const struct toml_value *v)
{
	union config_scratch tmp = { 0 };
	const char *word = NULL;
	char why[256];
	int line, col;

	if (!ld->c->from_air || !k->air || strncmp(k->name, "box.", 4) == 0 ||
	    (k->flags & CONFIG_K_ZERO_IS_ZERO))
		return NULL;
	if (config_value_from_toml(k, &tmp, v, why, sizeof(why), &line, &col) < 0)
		return NULL; /* set_value() reports it */
	if (k->type == CONFIG_T_STRING && !tmp.s[0])
		word = "empty";
	else if (k->type == CONFIG_T_MS && tmp.u == 0)
		word = "0";
	else if (k->type == CONFIG_T_PORT && tmp.i == 0)
		word = "0";
	else if (k->type == CONFIG_T_BOOL && !tmp.b)
		word = "false";
	else if ((k->type == CONFIG_T_LIST || k->type == CONFIG_T_ARGV) && tmp.l.n == 0)
		word = "empty";
	/* Keeping what is there changes nothing when it is the same value: then the file says it. */
	if (word && config_value_equal(k, &tmp, config_slot_const(k, ld->c)))
		word = NULL;
	config_value_free(k, &tmp);
	return word;
}

/* A key of the table: flags win, but the file's value is still checked. */
static int apply_key(struct load *ld, const struct config_key *k, const char *name,
		     const struct toml_keyval *kv)
{
	size_t idx = config_key_index(k);
	int errors = ld->errors, r;
	const char *kept;

	if (ld->c->origin[idx].kind == CONFIG_FROM_FLAG)
		return check_value(ld, k, name, &kv->val);
	if ((kept = air_keeps(ld, k, &kv->val)) != NULL) {
		ld->c->origin[idx].air_empty_line = kv->line;
		ld->c->origin[idx].air_empty = kept;
		return 0;
	}
	r = set_value(ld, k, config_slot(k, ld->c), name, &kv->val);
	if (r == 0 && ld->errors == errors)
		ld->c->origin[idx] = (struct config_origin){
			.kind = CONFIG_FROM_FILE, .line = kv->line, .col = kv->col, .via = -1
		};
	return r;
}

static void error_type(struct load *ld, const struct toml_value *v, const char *name, const char *expected)
{
	char why[256];

	snprintf(why, sizeof(why), "%s, got %s", expected, toml_type_phrase(v));
	error_at(ld, v->line, v->col, name, why);
}

/* A section of the table ("build", "log", ...): some key is named "<name>.something". */
static bool is_section(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < config_key_count(); i++)
		if (strncmp(config_key_at(i)->name, name, len) == 0 && config_key_at(i)->name[len] == '.')
			return true;
	return false;
}

static bool is_os_name(const char *key)
{
	return strcmp(key, "linux") == 0 || strcmp(key, "darwin") == 0 || strcmp(key, "windows") == 0;
}

/* The [build] key an OS table may override, or NULL. */
static const struct config_key *per_os_key(const char *key)
{
	char name[128];
	const struct config_key *k;

	snprintf(name, sizeof(name), "build.%s", key);
	k = config_key_find(name);
	return k && (k->flags & CONFIG_K_PER_OS) ? k : NULL;
}

/* [build.linux] is applied on this OS; the others are only checked. */
static int load_os_table(struct load *ld, const struct toml_table *t, const char *os, bool apply)
{
	char name[256];
	int r = 0;

	for (size_t i = 0; i < t->len && r == 0; i++) {
		const struct toml_keyval *kv = &t->items[i];
		const struct config_key *k = per_os_key(kv->key);

		snprintf(name, sizeof(name), "build.%s.%s", os, kv->key);
		if (!k)
			unknown_at(ld, kv, name, config_key_suggest(name));
		else if (apply)
			r = apply_key(ld, k, name, kv);
		else
			r = check_value(ld, k, name, &kv->val);
	}
	return r;
}

static int load_rule(struct load *ld, const struct toml_table *t, size_t index, struct config_rule *rule)
{
	char name[256];
	int r = 0;

	for (size_t i = 0; i < t->len && r == 0; i++) {
		const struct toml_keyval *kv = &t->items[i];
		const struct config_key *k = NULL;

		for (size_t j = 0; j < config_rule_key_count() && !k; j++)
			if (strcmp(config_rule_key_at(j)->name, kv->key) == 0)
				k = config_rule_key_at(j);
		snprintf(name, sizeof(name), "build.rules[%zu].%s", index, kv->key);
		if (!k) {
			const char *s = config_rule_key_suggest(kv->key);
			char full[256];

			snprintf(full, sizeof(full), "build.rules[%zu].%s", index, s ? s : "");
			unknown_at(ld, kv, name, s ? full : NULL);
		} else
			r = set_value(ld, k, config_slot(k, rule), name, &kv->val);
	}
	return r;
}

/* air refuses a rule without cmd or without a matcher (runner/rule_test.go:28-40, TestNormalizeRules). */
static void check_rule(struct load *ld, const struct config_rule *rule, size_t index)
{
	char name[64];

	snprintf(name, sizeof(name), "build.rules[%zu]", index);
	if (!rule->cmd[0])
		error_at(ld, rule->line, rule->col, name, "cmd is required (the command the rule runs)");
	if (!rule->include_dir.n && !rule->include_ext.n && !rule->include_file.n)
		error_at(ld, rule->line, rule->col, name,
			 "at least one of include_dir, include_ext and include_file is required");
}

static int load_rules(struct load *ld, const struct toml_value *v)
{
	struct config_build *b = &ld->c->build;
	const struct toml_array *a;
	struct config_rule *rules;
	size_t n = 0;
	int r = 0, errors;

	if (v->type != TOML_ARRAY) {
		error_type(ld, v, "build.rules", "expected an array of tables ([[build.rules]])");
		return 0;
	}
	a = v->u.arr;
	rules = calloc(a->len ? a->len : 1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < a->len && r == 0; i++) {
		const struct toml_value *e = &a->items[i];
		char name[64];

		if (e->type != TOML_TABLE) {
			snprintf(name, sizeof(name), "build.rules[%zu]", i);
			error_type(ld, e, name, "expected a table");
			continue;
		}
		if ((r = config_rule_init(&rules[n])) < 0)
			break;
		rules[n].line = e->u.tab->line ? e->u.tab->line : e->line;
		rules[n].col = e->u.tab->line ? e->u.tab->col : e->col;
		errors = ld->errors;
		r = load_rule(ld, e->u.tab, i, &rules[n]);
		/* A rule whose keys already failed is not judged as a whole: one message per mistake. */
		if (r == 0 && ld->errors == errors)
			check_rule(ld, &rules[n], i);
		n++;
	}
	for (size_t i = 0; i < b->nrules; i++)
		config_rule_free(&b->rules[i]);
	free(b->rules);
	b->rules = rules;
	b->nrules = n;
	return r;
}

static int walk_table(struct load *ld, const struct toml_table *t, const char *section)
{
	char name[256];
	int r = 0;

	for (size_t i = 0; i < t->len && r == 0; i++) {
		const struct toml_keyval *kv = &t->items[i];
		const struct config_key *k;

		snprintf(name, sizeof(name), "%s%s%s", section ? section : "", section ? "." : "", kv->key);
		/* A key holding "." or NUL is a quoted key that only looks like one of ours. */
		k = strchr(kv->key, '.') || strlen(kv->key) != kv->keylen ? NULL : config_key_find(name);
		if (k) {
			r = apply_key(ld, k, name, kv);
		} else if (strcmp(name, "build.rules") == 0) {
			r = load_rules(ld, &kv->val);
		} else if (section && strcmp(section, "build") == 0 && is_os_name(kv->key)) {
			if (kv->val.type != TOML_TABLE)
				error_type(ld, &kv->val, name, "expected a table");
			else if (strcmp(kv->key, "linux") == 0)
				ld->linux_table = kv->val.u.tab;
			else
				r = load_os_table(ld, kv->val.u.tab, kv->key, false);
		} else if (!section && !strchr(kv->key, '.') && is_section(kv->key)) {
			if (kv->val.type != TOML_TABLE)
				error_type(ld, &kv->val, name, "expected a table");
			else
				r = walk_table(ld, kv->val.u.tab, kv->key);
		} else {
			unknown_at(ld, kv, name, config_key_suggest(name));
		}
	}
	return r;
}

static bool is_nsreload_file(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	return len >= 13 && strcmp(base + len - 13, "nsreload.toml") == 0;
}

static int too_big(const char *name, const struct config_diag *d)
{
	config_report(d, CONFIG_DIAG_ERROR, "%s: larger than the %u MiB a configuration file may have", name,
		      TOML_MAX_INPUT >> 20);
	return -E2BIG;
}

int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
		       const struct config_diag *d)
{
	struct load ld = { .c = c, .name = name, .d = d };
	struct toml_table *root = NULL;
	struct toml_error err = { 0 };
	char *copy = strdup(name);
	int r;

	if (!copy)
		return -ENOMEM;
	free(c->file);
	c->file = copy;
	c->from_air = !is_nsreload_file(name);
	r = toml_parse(buf, len, &root, &err);
	if (r == -EINVAL) {
		config_report(d, CONFIG_DIAG_ERROR, "%s:%d:%d: %s", name, err.line, err.col, err.msg);
		return r;
	}
	if (r == -E2BIG)
		return too_big(name, d);
	if (r < 0) {
		config_report(d, CONFIG_DIAG_ERROR, "%s: %s", name, strerror(-r));
		return r;
	}
	r = walk_table(&ld, root, NULL);
	if (r == 0 && ld.linux_table)
		r = load_os_table(&ld, ld.linux_table, "linux", true);
	if (r == 0)
		warn_unimplemented(&ld);
	release_diags(&ld);
	toml_free(root);
	if (r < 0)
		return r;
	return ld.errors ? -EINVAL : 0;
}

/* air's working-directory variable, or NULL when it is unset or empty. */
static const char *air_wd(void)
{
	const char *wd = getenv("air_wd");

	return wd && *wd ? wd : NULL;
}

int config_load(struct config *c, const char *path, const struct config_diag *d)
{
	static const char *const candidates[] = { ".nsreload.toml", ".air.toml", ".config/air.toml" };
	const char *wd = air_wd();
	char found[PATH_MAX];
	size_t len = 0;
	char *buf = NULL;
	int r;

	/* With air_wd, air looks for its own files there (config.go readConfByName); not for ours. */
	for (size_t i = wd ? 1 : 0; !path && i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		FILE *f;

		snprintf(found, sizeof(found), "%s%s%s", wd ? wd : "", wd ? "/" : "", candidates[i]);
		f = fopen(found, "rb");
		if (f || errno != ENOENT)
			path = found;
		if (f)
			fclose(f);
	}
	if (!path)
		return 0;
	r = read_file(path, 0, TOML_MAX_INPUT, &buf, &len);
	if (r == -EFBIG)
		return too_big(path, d);
	if (r < 0) {
		config_report(d, CONFIG_DIAG_ERROR, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = config_load_buffer(c, path, buf, len, d);
	free(buf);
	return r;
}

/*
 * air_wd, air's working directory (runner/config.go preprocess): for an air
 * configuration (an .air.toml, or none at all) nsreload changes to it and
 * root becomes that directory, whatever the file or a flag said, as in air.
 * An .nsreload.toml is nsreload's own and ignores it.
 */
static int apply_air_wd(struct config *c, const struct config_diag *d)
{
	const struct config_key *k = config_key_find("root");
	const char *wd = air_wd();
	char *dot;

	if (!wd || (c->file && !c->from_air))
		return 0;
	if (chdir(wd) < 0) {
		int e = errno;
		config_report(d, CONFIG_DIAG_ERROR, "air_wd: cannot change to %s: %s", wd, strerror(e));
		return -EINVAL;
	}
	if (!(dot = strdup(".")))
		return -ENOMEM;
	free(c->root);
	c->root = dot;
	c->origin[config_key_index(k)] =
		(struct config_origin){ .kind = CONFIG_FROM_FLAG, .flag = "environment air_wd", .via = -1 };
	return 0;
}

int config_setup(struct config *c, int argc, char **argv, struct config_args *a, const struct config_diag *d)
{
	int r = config_init(c);

	if (r < 0)
		return r;
	r = config_parse_args(c, argc, argv, a, d);
	if (r == 0 && !a->help)
		r = config_load(c, a->file, d);
	if (r == 0 && !a->help)
		r = apply_air_wd(c, d);
	if (r == 0 && !a->help)
		config_warn_unimplemented(c, d);
	if (r == 0)
		r = config_finalize(c);
	if (r < 0)
		config_free(c);
	return r;
}
