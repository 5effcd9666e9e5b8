/*
 * config_internal.h - what the config*.c files share and nothing else uses:
 * typed values (read from TOML or from flag text, freed, described) and
 * string lists.
 *
 * A "slot" is where one key's value lives (config_slot()); its C type follows
 * the key's enum config_type. Every function that fails writes a reason into
 * why: the part of a message after "KEY: ", such as "expected a boolean (true
 * or false), got a string".
 */
#ifndef NSRELOAD_CONFIG_INTERNAL_H
#define NSRELOAD_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "toml.h"

enum {
	CONFIG_TEXT_APPEND = 1 << 0,   /* list keys: add to the list instead of replacing it */
	CONFIG_TEXT_NO_SPLIT = 1 << 1, /* list keys: the text is one element, commas and all */
};

/*
 * Sets *slot from a TOML value. On -EINVAL, why says what was wrong, and
 * line and col point at the offending part (an array element, say).
 */
int config_value_from_toml(const struct config_key *k, void *slot, const struct toml_value *v, char *why,
			   size_t why_size, int *line, int *col);
/* Sets *slot from flag or default text (flags are CONFIG_TEXT_*). */
int config_value_from_text(const struct config_key *k, void *slot, const char *text, unsigned flags,
			   char *why, size_t why_size);
/* Releases what *slot owns and zeroes it. */
void config_value_free(const struct config_key *k, void *slot);
/* Copies *src into *dst (which must be empty). Returns 0 or -ENOMEM. */
int config_value_copy(const struct config_key *k, void *dst, const void *src);
/* Sets the n keys key_at(0..n-1) that have a default to it in base. Returns 0 or -ENOMEM. */
int config_set_defaults(void *base, const struct config_key *(*key_at)(size_t), size_t n);
/* Whether two slots of k hold the same value. */
bool config_value_equal(const struct config_key *k, const void *a, const void *b);

/* Large enough to hold the value of any key type: a value read but not (yet) kept. */
union config_scratch {
	char *s;
	struct config_strlist l;
	bool b;
	int i;
	unsigned long long u;
};

/*
 * Whether c's value of k asks for something nsreload does not do yet: k is
 * not implemented, its value is not the default, and the key it needs (if
 * any) is true.
 */
bool config_key_in_use(const struct config *c, const struct config_key *k);
/* config_key_suggest() for a key of a [[build.rules]] entry: the closest rule key's name, or NULL. */
const char *config_rule_key_suggest(const char *name);

/* "expected a string", "expected an integer (milliseconds) or a duration string like \"2s\"", ... */
void config_type_expectation(const struct config_key *k, char *buf, size_t size);

/* Formats a message and hands it to d (NULL: config_diag_stderr). */
void config_report(const struct config_diag *d, enum config_diag_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int config_strlist_push(struct config_strlist *l, const char *s, size_t len);
void config_strlist_clear(struct config_strlist *l);

/* The [[build.rules]] entries' defaults; free with config_rule_free(). */
int config_rule_init(struct config_rule *r);
void config_rule_free(struct config_rule *r);

#endif
