/*
 * The key table's honesty and help: keys that are parsed but not implemented
 * yet say so (in the table, as a warning with the file's position or the
 * flag, and in the docs), and unknown keys get a "did you mean".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "test_config_common.h"

/*
 * The keys that nothing reads yet. Whoever implements one takes its mark out
 * of the key table, and its name out of here.
 */
static const char *const unimplemented[] = {
	NULL, /* none since [proxy] (src/proxy/front.h) */
};
#define UNIMPLEMENTED_COUNT (sizeof(unimplemented) / sizeof(unimplemented[0]) - 1)

static bool listed(const char *name)
{
	for (size_t i = 0; unimplemented[i]; i++)
		if (strcmp(unimplemented[i], name) == 0)
			return true;
	return false;
}

static void test_the_unimplemented_keys_are_marked(void **state)
{
	size_t marked = 0;

	(void)state;
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		const struct config_key *gate = k->needs ? config_key_find(k->needs) : NULL;

		if (listed(k->name) != (k->unimplemented != NULL))
			fprintf(stderr, "%s: marked %d, listed %d\n", k->name, k->unimplemented != NULL,
				listed(k->name));
		assert_int_equal(listed(k->name), k->unimplemented != NULL);
		marked += k->unimplemented != NULL;
		/* A key is gated only by a boolean, and only a key that is not implemented is. */
		if (k->needs) {
			assert_non_null(gate);
			assert_int_equal(gate->type, CONFIG_T_BOOL);
			assert_non_null(k->unimplemented);
		}
	}
	assert_int_equal(marked, UNIMPLEMENTED_COUNT);
	/* [[build.rules]] are implemented (src/reload/rulejob.h). */
	for (size_t i = 0; i < config_rule_key_count(); i++)
		assert_null(config_rule_key_at(i)->unimplemented);
}

/* Set to their defaults, or with the key they need off, they ask for nothing: no warning. */
static void test_no_warning_for_what_changes_nothing(void **state)
{
	static const char text[] = "[build]\n"
				   "poll = false\n"
				   "poll_interval = 500\n"
				   "[proxy]\n"
				   "enabled = false\n"
				   "proxy_port = 8090\n"
				   "app_port = 8080\n"
				   "app_start_timeout = 100\n"
				   "[color]\n"
				   "app = ''\n"
				   "[box]\n"
				   "memory_max = 'max'\n"
				   "pids_max = 'max'\n";
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(load_text(&c, text, &dg), 0);
	assert_int_equal(dg.n, 0);
	config_free(&c);
}

static void test_file_warns_where_each_key_is(void **state)
{
	static const char text[] = "[build]\n"
				   "cmd = 'make'\n"
				   "  poll = true\n"
				   "  poll_interval = '2s'\n"
				   "[color]\n"
				   "app = 'red'\n"
				   "[[build.rules]]\n"
				   "cmd = 'make css'\n"
				   "include_ext = ['css']\n"
				   "[box]\n"
				   "pids_max = 64\n"
				   "[proxy]\n"
				   "  enabled = true\n"
				   "  app_port = 8080\n";
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	/* Warnings only: the file loads and its other keys apply. */
	assert_int_equal(load_text(&c, text, &dg), 0);
	/* poll, color.app (ignored, as in air), [[build.rules]], box.pids_max and [proxy] do not warn */
	assert_int_equal(dg.n, 0);
	assert_true(c.build.poll && config_key_set(&c, "build.poll"));
	assert_int_equal(c.build.poll_interval_ms, 2000);
	assert_string_equal(c.build.cmd, "make");
	assert_int_equal(c.box.pids_max, 64);
	config_free(&c);
}

/* A flag names itself; the file's value of a key a flag set is the flag's to report. */
static void test_flags_warn_naming_the_flag(void **state)
{
	char *argv[] = { "run",
			 "--box.memory_max=1G",
			 "--proxy.app_port=80",
			 "--build.poll=false",
			 "--color.app",
			 "red",
			 "--proxy.enabled",
			 NULL };
	struct config_args a = { 0 };
	struct diags dg;
	struct config_diag d = diag_into(&dg);
	struct config c;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse_args(&c, 7, argv, &a, &d), 0);
	assert_int_equal(load_text(&c, "[box]\nmemory_max = '2G'\n", &dg), 0);
	assert_int_equal(dg.n, 0);
	d = diag_into(&dg);
	config_warn_unimplemented(&c, &d);
	/* box.memory_max and [proxy] are implemented: no warning for them. */
	assert_int_equal(dg.n, 0);
	config_free(&c);
}

/* The generated reference says it for every such key, and 'nsreload init' and 'nsreload config' too. */
static void test_docs_and_listings_say_not_implemented(void **state)
{
	char *text = NULL;
	size_t len = 0, notes = 0;
	FILE *m = open_memstream(&text, &len);
	const char *line;
	struct config c;

	(void)state;
	config_print_markdown(m);
	fclose(m);
	for (const char *p = text; (p = strstr(p, "**Not implemented yet:**")); p++)
		notes++;
	/* One per key; [[build.rules]] are implemented. */
	assert_int_equal(notes, UNIMPLEMENTED_COUNT);
	assert_non_null(strstr(text, "| `proxy.enabled` |"));
	assert_null(strstr(text, "no box gets a memory limit"));
	free(text);

	assert_int_equal(config_init(&c), 0);
	m = open_memstream(&text, &len);
	config_write_toml(m, &c);
	fclose(m);
	assert_null(strstr(text, "# Not implemented yet: no proxy runs."));
	/* build.poll unset is auto: written commented out, so that the file leaves it unset. */
	assert_non_null(strstr(text, "\n# poll = false\n"));
	assert_null(strstr(text, "# Not implemented yet: no box gets a process limit"));
	assert_null(strstr(text, "# Not implemented yet: no rule runs"));
	free(text);
	m = open_memstream(&text, &len);
	config_print_effective(m, &c);
	fclose(m);
	line = strstr(text, "\nproxy.enabled = false ");
	assert_non_null(line);
	assert_true(strncmp(strchr(line, '#'), "# default\n", 10) == 0);
	assert_false(config_key_set(&c, "build.poll"));
	line = strstr(text, "\n# build.poll is unset: auto ");
	assert_non_null(line);
	assert_true(strncmp(strchr(line + 2, '#'), "# default\n", 10) == 0);
	line = strstr(text, "\nbuild.rerun = false ");
	assert_non_null(line);
	assert_true(strncmp(strchr(line, '#'), "# default\n", 10) == 0);
	free(text);
	config_free(&c);
}

static void test_suggestions(void **state)
{
	static const struct {
		const char *typed, *want;
	} cases[] = {
		{ "bulid.cmd", "build.cmd" },                /* a swap is one edit */
		{ "build.exlude_dir", "build.exclude_dir" }, /* a letter missing */
		{ "build.kill-delay", "build.kill_delay" },  /* a flag's dashes */
		{ "Build.Cmd", "build.cmd" },                /* case */
		{ "build.stop_signal", "box.stop_signal" },  /* the same key in another table */
		{ "silent", "log.silent" },                  /* ... or at the top level */
		{ "build.linux.log", "build.log" },          /* not a per-OS key: where it is one */
		{ "box.mod", "box.mode" },                   /* short names: one edit */
		{ "biuld", "build" },                        /* tables */
		{ "build.lniux", "build.linux" },            /* the per-OS tables */
		{ "build.ruels", "build.rules" },            /* and the rules */
		{ "box.stop_timout", "box.stop_timeout" },
		{ "mode", NULL },               /* color.mode or box.mode: no guess */
		{ "tmp_folder", NULL },         /* too far from tmp_dir */
		{ "build.stop_on_root", NULL }, /* three edits from stop_on_error */
		{ "build.cmd", NULL },          /* found: not for a suggestion */
		{ "", NULL },
		{ "build.cmd.build.cmd.build.cmd.build.cmd.build.cmd.build.cmd.build.cmd",
		  NULL }, /* too long */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = config_key_suggest(cases[i].typed);

		if (cases[i].want ? !got || strcmp(got, cases[i].want) != 0 : got != NULL)
			fprintf(stderr, "%s: got %s, want %s\n", cases[i].typed, got ? got : "NULL",
				cases[i].want ? cases[i].want : "NULL");
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
	}
}

/* Every table a key lives in is a candidate: its name with the first two letters swapped finds it. */
static void test_every_table_is_suggested(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *name = config_key_at(i)->name, *dot = strchr(name, '.');
		char table[64], typo[64];

		if (!dot)
			continue;
		snprintf(table, sizeof(table), "%.*s", (int)(dot - name), name);
		snprintf(typo, sizeof(typo), "%c%c%s", table[1], table[0], table + 2);
		assert_non_null(config_key_suggest(typo));
		assert_string_equal(config_key_suggest(typo), table);
	}
}

static void test_file_warnings_suggest(void **state)
{
	static const char text[] = "[build]\n"
				   "exlude_dir = ['x']\n"
				   "stop_timeout = '1s'\n"
				   "[biuld]\n"
				   "cmd = 'x'\n"
				   "[build.linux]\n"
				   "cmdd = 'y'\n"
				   "[[build.rules]]\n"
				   "include_ext = ['css']\n"
				   "cmd = 'make css'\n"
				   "cmnd = 'z'\n";
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(load_text(&c, text, &dg), 0);
	drop_unimplemented(&dg);
	assert_int_equal(dg.n, 5);
	assert_string_equal(dg.msg[0], "t.toml:2:1: unknown key 'build.exlude_dir' (ignored); did you mean "
				       "'build.exclude_dir'?");
	assert_string_equal(dg.msg[1], "t.toml:3:1: unknown key 'build.stop_timeout' (ignored); did you mean "
				       "'box.stop_timeout'?");
	assert_string_equal(dg.msg[2], "t.toml:4:2: unknown table 'biuld' (ignored); did you mean 'build'?");
	/* Two edits but too far: "build.linux.cmdd" is not close to any full name. */
	assert_string_equal(dg.msg[3], "t.toml:7:1: unknown key 'build.linux.cmdd' (ignored)");
	assert_string_equal(dg.msg[4],
			    "t.toml:11:1: unknown key 'build.rules[0].cmnd' (ignored); did you mean "
			    "'build.rules[0].cmd'?");
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_unimplemented_keys_are_marked),
		cmocka_unit_test(test_no_warning_for_what_changes_nothing),
		cmocka_unit_test(test_file_warns_where_each_key_is),
		cmocka_unit_test(test_flags_warn_naming_the_flag),
		cmocka_unit_test(test_docs_and_listings_say_not_implemented),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_every_table_is_suggested),
		cmocka_unit_test(test_file_warnings_suggest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
