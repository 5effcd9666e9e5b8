/*
 * Printing the configuration: values as TOML or JSON, origins, the
 * 'nsreload config' listing, the .nsreload.toml that 'nsreload init' writes
 * and the key reference in docs/config.md. All of it walks the key table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "util.h"

/* The largest unit that divides ms exactly: "0s", "250ms", "2s", "5m", "1h". */
static void print_duration(FILE *f, unsigned long long ms)
{
	if (ms == 0)
		fputs("\"0s\"", f);
	else if (ms % 3600000 == 0)
		fprintf(f, "\"%lluh\"", ms / 3600000);
	else if (ms % 60000 == 0)
		fprintf(f, "\"%llum\"", ms / 60000);
	else if (ms % 1000 == 0)
		fprintf(f, "\"%llus\"", ms / 1000);
	else
		fprintf(f, "\"%llums\"", ms);
}

/* box.cpu_max as it reads back: "50%" when that is exact, else cpu.max's "QUOTA PERIOD". */
static void print_cpu(FILE *f, unsigned long long v)
{
	unsigned long long quota = config_cpu_quota_us(v), period = config_cpu_period_us(v);

	if (v == 0)
		fputs("\"max\"", f);
	else if (period == 100000 && quota % 1000 == 0)
		fprintf(f, "\"%llu%%\"", quota / 1000);
	else
		fprintf(f, "\"%llu %llu\"", quota, period);
}

static void print_bytes(FILE *f, unsigned long long bytes, bool json)
{
	static const char units[] = "KMGT";
	int unit = -1;

	if (bytes == 0) {
		fputs("\"max\"", f);
		return;
	}
	if (json) {
		fprintf(f, "%llu", bytes);
		return;
	}
	while (unit < 3 && bytes % 1024 == 0) {
		bytes /= 1024;
		unit++;
	}
	if (unit < 0)
		fprintf(f, "%llu", bytes);
	else
		fprintf(f, "\"%llu%c\"", bytes, units[unit]);
}

void config_print_value(FILE *f, const struct config_key *k, const void *slot, bool json)
{
	const struct config_strlist *l;
	const char *name;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		if (*(char *const *)slot)
			fput_quoted(f, *(char *const *)slot);
		else if (json)
			fputs("null", f);
		break;
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		l = slot;
		fputc('[', f);
		for (size_t i = 0; i < l->n; i++) {
			if (i)
				fputs(", ", f);
			fput_quoted(f, l->v[i]);
		}
		fputc(']', f);
		break;
	case CONFIG_T_BOOL:
		fputs(*(const bool *)slot ? "true" : "false", f);
		break;
	case CONFIG_T_PORT:
		fprintf(f, "%d", *(const int *)slot);
		break;
	case CONFIG_T_MS:
		if (json || (k->flags & CONFIG_K_MS_INT))
			fprintf(f, "%llu", *(const unsigned long long *)slot);
		else
			print_duration(f, *(const unsigned long long *)slot);
		break;
	case CONFIG_T_CHOICE:
		fput_quoted(f, k->choices[*(const int *)slot]);
		break;
	case CONFIG_T_SIGNAL:
		name = sig_name(*(const int *)slot);
		if (strcmp(name, "?") == 0)
			fprintf(f, "%d", *(const int *)slot);
		else
			fput_quoted(f, name);
		break;
	case CONFIG_T_BYTES:
		print_bytes(f, *(const unsigned long long *)slot, json);
		break;
	case CONFIG_T_LIMIT:
		if (*(const unsigned long long *)slot == 0)
			fputs("\"max\"", f);
		else
			fprintf(f, "%llu", *(const unsigned long long *)slot);
		break;
	case CONFIG_T_CPU:
		print_cpu(f, *(const unsigned long long *)slot);
		break;
	}
}

void config_origin_text(const struct config *c, size_t i, char *buf, size_t size)
{
	const struct config_origin *o = &c->origin[i];
	size_t used = 0;

	switch (o->kind) {
	case CONFIG_FROM_DEFAULT:
		if (o->air_empty_line > 0)
			used = (size_t)snprintf(buf, size, "default (%s:%d is %s: air keeps the default)",
						c->file ? c->file : "?", o->air_empty_line, o->air_empty);
		else
			used = (size_t)snprintf(buf, size, "default");
		break;
	case CONFIG_FROM_FILE:
		used = (size_t)snprintf(buf, size, "%s:%d", c->file ? c->file : "?", o->line);
		break;
	case CONFIG_FROM_FLAG:
		if (!o->flag)
			used = (size_t)snprintf(buf, size, "flag --%s", config_key_at(i)->name);
		else if (o->flag[0] == '-')
			used = (size_t)snprintf(buf, size, "flag %s", o->flag);
		else
			used = (size_t)snprintf(buf, size, "%s", o->flag);
		break;
	}
	if (o->via >= 0 && used < size)
		snprintf(buf + used, size - used, " via %s", config_key_at((size_t)o->via)->name);
}

/* The value as a string (for column alignment). */
static char *value_text(const struct config_key *k, const void *slot, bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return NULL;
	config_print_value(m, k, slot, json);
	fclose(m);
	return text;
}

static void print_rule_inline(FILE *f, const struct config_rule *r)
{
	fputs("{ ", f);
	for (size_t j = 0; j < config_rule_key_count(); j++) {
		const struct config_key *k = config_rule_key_at(j);
		fprintf(f, "%s%s = ", j ? ", " : "", k->name);
		config_print_value(f, k, config_slot_const(k, r), false);
	}
	fputs(" }", f);
}

void config_print_effective(FILE *f, const struct config *c)
{
	char origin[512];

	/* The file's name and the origins that hold it are text from outside: escaped (fput_text). */
	if (c->file) {
		fputs("# configuration file: ", f);
		fput_text(f, c->file);
		fprintf(f, "%s\n", c->from_air ? " (air's format)" : "");
	} else
		fputs("# no configuration file: defaults and flags\n", f);
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		const void *slot = config_slot_const(k, c);
		char *text = value_text(k, slot, false);
		int width;

		config_origin_text(c, i, origin, sizeof(origin));
		if (k->type == CONFIG_T_OPT_STRING && !*(char *const *)slot)
			width = fprintf(f, "# %s is unset", k->name);
		else if ((k->flags & CONFIG_K_UNSET_AUTO) && !config_key_set(c, k->name))
			width = fprintf(f, "# %s is unset: auto", k->name);
		else
			width = fprintf(f, "%s = %s", k->name, text ? text : "");
		fprintf(f, "%*s# ", width < 47 ? 48 - width : 1, "");
		fput_text(f, origin);
		fputs(k->unimplemented ? "; not implemented yet\n" : "\n", f);
		free(text);
	}
	if (c->build.nrules) {
		fputs("build.rules = [\n", f);
		for (size_t i = 0; i < c->build.nrules; i++) {
			fputs("\t", f);
			print_rule_inline(f, &c->build.rules[i]);
			fputs(",  # ", f);
			fput_text(f, c->file ? c->file : "?");
			fprintf(f, ":%d\n", c->build.rules[i].line);
		}
		fputs("]\n", f);
	}
}

void config_print_json(FILE *f, const struct config *c)
{
	char origin[512];

	fputs("{\n  \"file\": ", f);
	if (c->file)
		fput_quoted(f, c->file);
	else
		fputs("null", f);
	fprintf(f, ",\n  \"from_air\": %s,\n  \"keys\": {\n", c->from_air ? "true" : "false");
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		fprintf(f, "    \"%s\": { \"value\": ", k->name);
		if ((k->flags & CONFIG_K_UNSET_AUTO) && !config_key_set(c, k->name))
			fputs("\"auto\"", f);
		else
			config_print_value(f, k, config_slot_const(k, c), true);
		config_origin_text(c, i, origin, sizeof(origin));
		fputs(", \"origin\": ", f);
		fput_quoted(f, origin);
		fprintf(f, " }%s\n", i + 1 < config_key_count() ? "," : "");
	}
	fputs("  },\n  \"rules\": [", f);
	for (size_t i = 0; i < c->build.nrules; i++) {
		const struct config_rule *r = &c->build.rules[i];
		fprintf(f, "%s\n    { ", i ? "," : "");
		for (size_t j = 0; j < config_rule_key_count(); j++) {
			const struct config_key *k = config_rule_key_at(j);
			fprintf(f, "\"%s\": ", k->name);
			config_print_value(f, k, config_slot_const(k, r), true);
			fputs(", ", f);
		}
		fprintf(f, "\"line\": %d }", r->line);
	}
	fputs(c->build.nrules ? "\n  ]\n}\n" : "]\n}\n", f);
}

static const char *type_words(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_T_STRING:
		return "string";
	case CONFIG_T_OPT_STRING:
		return "string, or unset";
	case CONFIG_T_LIST:
		return "array of strings";
	case CONFIG_T_ARGV:
		return "string or array of strings";
	case CONFIG_T_BOOL:
		return "boolean";
	case CONFIG_T_PORT:
		return "port";
	case CONFIG_T_MS:
		return k->flags & CONFIG_K_MS_INT ? "milliseconds (or a duration string)"
						  : "duration (\"2s\", or integer milliseconds)";
	case CONFIG_T_CHOICE:
		return "one of";
	case CONFIG_T_SIGNAL:
		return "signal name or number";
	case CONFIG_T_BYTES:
		return "size (\"512M\", bytes, or \"max\")";
	case CONFIG_T_LIMIT:
		return "integer or \"max\"";
	case CONFIG_T_CPU:
		return "CPU share (\"50%\", \"max\", or \"QUOTA PERIOD\" in microseconds)";
	}
	return "";
}

/* The section of a dotted name: "build" for "build.cmd", "" for "root". */
static size_t section_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : 0;
}

static bool same_section(const char *a, const char *b)
{
	size_t la = section_len(a), lb = section_len(b);
	return la == lb && strncmp(a, b, la) == 0;
}

/* One key's row; note: say when the key is not implemented (the rules' table says it once, above). */
static void markdown_row(FILE *f, const char *name, const struct config_key *k, const void *slot, bool note)
{
	fprintf(f, "| `%s` | `", name);
	if (k->type == CONFIG_T_OPT_STRING && !*(char *const *)slot)
		fputs("unset", f);
	else if (k->flags & CONFIG_K_UNSET_AUTO)
		fputs("unset (auto)", f);
	else
		config_print_value(f, k, slot, false);
	fprintf(f, "` | %s", type_words(k));
	if (k->type == CONFIG_T_CHOICE)
		for (int j = 0; k->choices[j]; j++)
			fprintf(f, "%s`%s`", j ? ", " : " ", k->choices[j]);
	fprintf(f, " | %s | %s", k->air ? k->air : "nsreload only", k->doc);
	if (note && k->unimplemented)
		fprintf(f, " **Not implemented yet:** %s.", k->unimplemented);
	fputs(" |\n", f);
}

void config_print_markdown(FILE *f)
{
	struct config defaults;
	struct config_rule rule;

	if (config_init(&defaults) < 0 || config_rule_init(&rule) < 0) {
		config_free(&defaults);
		return;
	}
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		size_t sl = section_len(k->name);

		if (i == 0 || !same_section(k->name, config_key_at(i - 1)->name)) {
			if (sl)
				fprintf(f, "\n### `[%.*s]`\n\n", (int)sl, k->name);
			else
				fputs("### Top level\n\n", f);
			fputs("| key | default | type | air | meaning |\n|---|---|---|---|---|\n", f);
		}
		markdown_row(f, k->name, k, config_slot_const(k, &defaults), true);
		if (strcmp(k->name, "build.ignore_dangerous_root_dir") == 0) {
			fputs("\n### `[[build.rules]]`\n\n", f);
			if (config_rule_key_at(0)->unimplemented)
				fprintf(f, "**Not implemented yet:** %s.\n\n",
					config_rule_key_at(0)->unimplemented);
			else
				fputs("A change to a file a rule matches runs the rule's `cmd` instead of a "
				      "rebuild; "
				      "docs/run.md (\"Rules\") says how.\n\n",
				      f);
			fputs("| key | default | type | air | meaning |\n|---|---|---|---|---|\n", f);
			for (size_t j = 0; j < config_rule_key_count(); j++) {
				const struct config_key *rk = config_rule_key_at(j);
				char name[64];
				snprintf(name, sizeof(name), "build.rules.%s", rk->name);
				markdown_row(f, name, rk, config_slot_const(rk, &rule), false);
			}
		}
	}
	config_rule_free(&rule);
	config_free(&defaults);
}

/* "# " lines of at most about 78 columns. */
static void print_comment(FILE *f, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t len = strlen(p), cut = len;
		if (len > 76) {
			cut = 76;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = len;
		}
		fprintf(f, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void write_rules(FILE *f, const struct config *c)
{
	struct config_rule example;

	if (c->build.nrules == 0) {
		fputs("\n# [[build.rules]]: a change to a matching file runs cmd instead of a rebuild.\n", f);
		if (config_rule_key_at(0)->unimplemented)
			fprintf(f, "# Not implemented yet: %s.\n", config_rule_key_at(0)->unimplemented);
		if (config_rule_init(&example) < 0)
			return;
		fputs("# [[build.rules]]\n", f);
		for (size_t j = 0; j < config_rule_key_count(); j++) {
			const struct config_key *k = config_rule_key_at(j);
			fprintf(f, "# %s = ", k->name);
			config_print_value(f, k, config_slot_const(k, &example), false);
			fprintf(f, "  # %s\n", k->doc);
		}
		config_rule_free(&example);
		return;
	}
	for (size_t i = 0; i < c->build.nrules; i++) {
		const struct config_rule *r = &c->build.rules[i];
		/* A newline in the file's name would end the comment and write TOML of its own. */
		fputs("\n[[build.rules]]  # from ", f);
		fput_text(f, c->file ? c->file : "?");
		fprintf(f, ":%d\n", r->line);
		for (size_t j = 0; j < config_rule_key_count(); j++) {
			const struct config_key *k = config_rule_key_at(j);
			fprintf(f, "%s = ", k->name);
			config_print_value(f, k, config_slot_const(k, r), false);
			fputc('\n', f);
		}
	}
}

void config_write_toml(FILE *f, const struct config *c)
{
	struct config defaults;
	char origin[512];

	if (config_init(&defaults) < 0)
		return;
	fputs("# nsreload's configuration. 'nsreload init' wrote every key with its default;\n"
	      "# keep only what you change. The keys are air's (an .air.toml works unchanged)\n"
	      "# plus on_busy and [box]; docs/config.md describes each one.\n"
	      "# 'nsreload config' prints the effective values and where each came from.\n",
	      f);
	if (c->file) {
		fputs("# Converted from ", f);
		fput_text(f, c->file);
		fputs(": the values taken from it say so.\n", f);
	}
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		const struct config_origin *o = &c->origin[i];
		bool plain_default = o->kind == CONFIG_FROM_DEFAULT && o->via < 0;
		/* A plain default is the table's, not what config_finalize() made of it. */
		const void *slot =
			config_slot_const(k, plain_default ? (const void *)&defaults : (const void *)c);
		bool unset = (k->type == CONFIG_T_OPT_STRING && !*(char *const *)slot) ||
			     ((k->flags & CONFIG_K_UNSET_AUTO) && plain_default);
		size_t sl = section_len(k->name);

		if (i > 0 && !same_section(k->name, config_key_at(i - 1)->name)) {
			if (strncmp(config_key_at(i - 1)->name, "build.", 6) == 0)
				write_rules(f, c);
			fprintf(f, "\n[%.*s]\n", (int)sl, k->name);
		}
		fputc('\n', f);
		print_comment(f, k->doc);
		if (k->unimplemented) {
			char note[256];
			snprintf(note, sizeof(note), "Not implemented yet: %s.", k->unimplemented);
			print_comment(f, note);
		}
		/* Written live, air's form of a box key would tie with the box key, and the box key wins
		 * ties. */
		fprintf(f, "%s%s = ", unset || (k->flags & CONFIG_K_FOLDED) ? "# " : "",
			k->name + (sl ? sl + 1 : 0));
		if (unset && k->type == CONFIG_T_OPT_STRING)
			fputs("\"\"", f);
		else
			config_print_value(f, k, slot, false);
		if (!plain_default) {
			config_origin_text(c, i, origin, sizeof(origin));
			fprintf(f, "  # %s", o->kind == CONFIG_FROM_FILE ? "from " : "");
			fput_text(f, origin);
		}
		fputc('\n', f);
	}
	config_free(&defaults);
}
