/*
 * The command line: the shared parser (opts.h), "did you mean", and that the
 * option tables, every command's --help and the man page (docs/nsreload.1)
 * name the same options, so that none of them can drift from the others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "config.h"
#include "opts.h"

#ifndef NSRELOAD_SOURCE_DIR
#error "NSRELOAD_SOURCE_DIR must name the source tree"
#endif

/* ---- the parser ---- */

enum { T_BOX = 1, T_VERBOSE, T_FROM, T_FLAG, T_WATCH };

static const struct opt test_table[] = {
	{ "--box", 0, NULL, OPT_VALUE, "RUNG", "the rung", T_BOX },
	{ "--stop-signal", 0, "--signal", OPT_VALUE, "SIG", "the signal", T_FLAG },
	{ "--verbose", 'v', NULL, OPT_NONE, NULL, "talk", T_VERBOSE },
	{ "--from-air", 0, NULL, OPT_OPTIONAL, "FILE", "air", T_FROM },
	{ "--watch", 'w', NULL, OPT_VALUE, "DIR", "watch", T_WATCH },
	{ NULL },
};

static const struct opts_cmd test_cmd = { .name = "test", .synopsis = "[options]", .tables = { test_table } };

struct seen {
	int n;
	int id[16];
	char value[16][64];
	char written[16][32];
};

static int record(void *data, const struct opt *o, const char *value, const char *written)
{
	struct seen *s = data;

	if (s->n < 16) {
		s->id[s->n] = o->id;
		snprintf(s->value[s->n], sizeof(s->value[0]), "%s", value ? value : "(null)");
		snprintf(s->written[s->n], sizeof(s->written[0]), "%s", written);
		s->n++;
	}
	return 0;
}

static int parse(char **argv, int argc, struct seen *s, int *first, char *err, size_t size)
{
	const struct opts_hooks h = { .take = record, .data = s };

	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	return opts_parse(&test_cmd, argc, argv, &h, first, err, size);
}

static void test_value_forms(void **state)
{
	char *argv[] = { "test", "--box=pidns", "--box", "pgroup", "-wsrc", "-w", "lib",
			 "-vh",  "--signal",    "INT",   "--",     "-v",    "x" };
	struct seen s;
	char err[256];
	int first;

	(void)state;
	assert_int_equal(parse(argv, 13, &s, &first, err, sizeof(err)), 0);
	assert_int_equal(first, 11);
	assert_int_equal(s.n, 7);
	assert_string_equal(s.value[0], "pidns");
	assert_string_equal(s.value[1], "pgroup");
	assert_int_equal(s.id[2], T_WATCH);
	assert_string_equal(s.value[2], "src");
	assert_string_equal(s.written[2], "-w");
	assert_string_equal(s.value[3], "lib");
	assert_int_equal(s.id[4], T_VERBOSE);
	assert_int_equal(s.id[5], OPT_ID_HELP);
	/* The old spelling is the same option, and messages quote it as written. */
	assert_int_equal(s.id[6], T_FLAG);
	assert_string_equal(s.written[6], "--signal");
}

static void test_optional_value_and_positionals(void **state)
{
	char *a1[] = { "test", "--from-air", "my.toml", "x" };
	char *a2[] = { "test", "--from-air", "-v" };
	char *a3[] = { "test", "--from-air=", "./app", "--box=x" };
	struct seen s;
	char err[256];
	int first;

	(void)state;
	assert_int_equal(parse(a1, 4, &s, &first, err, sizeof(err)), 0);
	assert_string_equal(s.value[0], "my.toml");
	assert_int_equal(first, 3);
	assert_int_equal(parse(a2, 3, &s, &first, err, sizeof(err)), 0);
	assert_string_equal(s.value[0], "(null)");
	assert_int_equal(s.id[1], T_VERBOSE);
	/* Options end at the first argument that is not one: --box=x is the app's. */
	assert_int_equal(parse(a3, 4, &s, &first, err, sizeof(err)), 0);
	assert_string_equal(s.value[0], "");
	assert_int_equal(first, 2);
	assert_int_equal(s.n, 1);
}

static void test_errors(void **state)
{
	static const struct {
		const char *arg, *msg;
	} bad[] = {
		{ "--box", "option '--box' needs a value" },
		{ "--verbose=yes", "option '--verbose' takes no value" },
		{ "-x", "unknown option '-x'" },
		{ "-vx", "unknown option '-x'" },
		{ "--nope", "unknown option '--nope'" },
		{ "--bx=1", "unknown option '--bx'; did you mean '--box'?" },
		{ "--verbse", "unknown option '--verbse'; did you mean '--verbose'?" },
		{ "--stop-signl", "unknown option '--stop-signl'; did you mean '--stop-signal'?" },
		{ "--sginal=INT", "unknown option '--sginal'; did you mean '--signal'?" },
		{ "--hepl", "unknown option '--hepl'; did you mean '--help'?" },
		{ "--from-ari", "unknown option '--from-ari'; did you mean '--from-air'?" },
		{ "--completely-different", "unknown option '--completely-different'" },
		{ "--verb", "unknown option '--verb'; did you mean '--verbose'?" },
	};
	struct seen s;
	char err[256];
	int first;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "test", (char *)bad[i].arg };

		assert_int_equal(parse(argv, 2, &s, &first, err, sizeof(err)), -EINVAL);
		if (strcmp(err, bad[i].msg) != 0)
			fprintf(stderr, "%s\n  got: %s\n want: %s\n", bad[i].arg, err, bad[i].msg);
		assert_string_equal(err, bad[i].msg);
	}
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(opts_edit_distance("kitten", 6, "sitting", 7), 3);
	assert_int_equal(opts_edit_distance("box", 3, "box", 3), 0);
	assert_int_equal(opts_edit_distance("", 0, "box", 3), 3);
	assert_int_equal(opts_edit_distance("signal", 6, "sginal", 6), 1);
	assert_int_equal(opts_edit_distance("ab", 2, "ba", 2), 1);
	assert_true(opts_close_enough(1, 3));
	assert_false(opts_close_enough(0, 3));
	assert_false(opts_close_enough(3, 5));
}

/* Every command of the registry, by its real table: a typo of each long option suggests that option. */
static void test_did_you_mean_every_option(void **state)
{
	(void)state;
	for (size_t i = 0; i < cli_command_count; i++) {
		const struct opts_cmd *cmd = cli_commands[i].spec;

		for (int t = 0; t < OPTS_MAX_TABLES && cmd->tables[t]; t++) {
			for (const struct opt *o = cmd->tables[t]; o->name; o++) {
				char typo[64], want[160], err[256];
				char *argv[] = { (char *)cmd->name, typo };
				const struct opts_hooks h = { .take = record, .data = &(struct seen){ 0 } };
				size_t len = strlen(o->name);
				int first;

				if (len < 6) /* "--box": one letter off is another word */
					continue;
				/* Drop the last letter. */
				snprintf(typo, sizeof(typo), "%.*s", (int)len - 1, o->name);
				snprintf(want, sizeof(want), "did you mean '%s'?", o->name);
				assert_int_equal(opts_parse(cmd, 2, argv, &h, &first, err, sizeof(err)),
						 -EINVAL);
				if (!strstr(err, want))
					fprintf(stderr, "%s %s: %s\n", cmd->name, typo, err);
				assert_non_null(strstr(err, want));
			}
		}
	}
}

/* run's own options and the shared configuration flags, in one parse: each reaches its own taker. */
static void test_run_options_and_config_flags(void **state)
{
	char *argv[] = { "run",     "--color=never", "-c",  "my.toml",          "--log-format", "json",
			 "--stdin", "--signal",      "INT", "--build.cmd=make", "./app" };
	struct seen s = { 0 };
	struct config_args a = { .cmd = &cmd_run_spec, .own_option = record, .own_data = &s };
	struct config c;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_parse_args(&c, 11, argv, &a, NULL), 0);
	assert_string_equal(a.file, "my.toml");
	assert_int_equal(a.first_positional, 10);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.written[0], "--color");
	assert_string_equal(s.value[0], "never");
	assert_string_equal(s.value[1], "json");
	assert_string_equal(s.written[2], "--stdin");
	assert_int_equal(c.box.stop_signal, SIGINT);
	assert_string_equal(c.build.cmd, "make");
	config_free(&c);
}

/* ---- the tables against --help and the man page ---- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;

	assert_non_null(f);
	assert_non_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* The man page as text: "\-" is "-", and font changes are dropped. */
static char *man_text(void)
{
	char *src = read_all(NSRELOAD_SOURCE_DIR "/docs/nsreload.1"), *out = malloc(strlen(src) + 1),
	     *o = out;

	assert_non_null(out);
	for (const char *p = src; *p;) {
		if (p[0] == '\\' && p[1] == '-') {
			*o++ = '-';
			p += 2;
		} else if (p[0] == '\\' && p[1] == 'f' && p[2]) {
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	free(src);
	return out;
}

/* The part of the man page under '.SS "nsreload NAME ...', up to the next heading. */
static char *man_section(const char *man, const char *name)
{
	char heading[64];
	const char *start, *end;

	snprintf(heading, sizeof(heading), ".SS \"nsreload %s", name);
	start = strstr(man, heading);
	if (!start)
		fprintf(stderr, "docs/nsreload.1 has no section %s\n", heading);
	assert_non_null(start);
	start += strlen(heading);
	end = strstr(start, "\n.S");
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* Whether text names the option: "--box" in "--box=RUNG" but not in "--box.mode", "-c" not in "--config". */
static bool mentions(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = text; (p = strstr(p, name)) != NULL; p++)
		if ((p == text || !name_char(p[-1])) && !name_char(p[len]))
			return true;
	return false;
}

struct check {
	const char *cmd;
	const char *where;
	const char *text;
};

static void check_named(const struct check *c, const char *name)
{
	if (!mentions(c->text, name))
		fprintf(stderr, "nsreload %s: %s does not mention %s\n", c->cmd, c->where, name);
	assert_true(mentions(c->text, name));
}

static void check_option(void *data, const struct opt *o)
{
	const struct check *c = data;
	char short_name[3] = { '-', o->short_name, '\0' };

	check_named(c, o->name);
	if (o->alias)
		check_named(c, o->alias);
	if (o->short_name)
		check_named(c, short_name);
}

static char *help_of(const struct opts_cmd *cmd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	if (cmd == &cli_top_spec)
		cli_usage(m);
	else
		opts_help(m, cmd);
	fclose(m);
	return buf;
}

static void check_command(const struct opts_cmd *cmd, const char *man, const char *section_name)
{
	char *help = help_of(cmd), *section = man_section(man, section_name);
	struct check in_help = { cmd->name, "--help", help },
		     in_man = { cmd->name, "docs/nsreload.1", section };

	opts_each(cmd, check_option, &in_help);
	/* -h/--help is said once for every command, in COMMANDS. */
	for (int t = 0; t < OPTS_MAX_TABLES && cmd->tables[t]; t++)
		for (const struct opt *o = cmd->tables[t]; o->name; o++)
			check_option(&in_man, o);
	free(help);
	free(section);
}

static void test_every_option_in_help_and_man_page(void **state)
{
	char *man = man_text();

	(void)state;
	for (size_t i = 0; i < cli_command_count; i++)
		check_command(cli_commands[i].spec, man, cli_commands[i].spec->name);
	check_command(&cli_top_spec, man, "-V");
	assert_true(mentions(man, "--help"));
	free(man);
}

/* The man page names every environment variable the code reads. */
static void test_man_page_environment(void **state)
{
	static const char *const vars[] = {
		"NSRELOAD_CGROUP_PARENT", "NSRELOAD_HIDE_CGROUP_KILL", "NO_COLOR", "HOME", "NSRELOAD_BOX",
		"NSRELOAD_CHANGED_PATHS", "NSRELOAD_CHANGED_FILE"
	};
	char *man = man_text();
	const char *env = strstr(man, ".SH ENVIRONMENT");

	(void)state;
	assert_non_null(env);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		assert_true(mentions(env, vars[i]));
	free(man);
}

struct same_meaning {
	const struct opt *first[64];
	size_t n;
};

static void collect(void *data, const struct opt *o)
{
	struct same_meaning *s = data;

	for (size_t i = 0; i < s->n; i++) {
		const struct opt *p = s->first[i];

		if (strcmp(p->name, o->name) != 0)
			continue;
		if (p->arg != o->arg || p->short_name != o->short_name ||
		    strcmp(p->metavar ? p->metavar : "", o->metavar ? o->metavar : "") != 0 ||
		    strcmp(p->alias ? p->alias : "", o->alias ? o->alias : "") != 0)
			fprintf(stderr, "%s differs between commands\n", o->name);
		assert_int_equal(p->arg, o->arg);
		assert_int_equal(p->short_name, o->short_name);
		assert_string_equal(p->metavar ? p->metavar : "", o->metavar ? o->metavar : "");
		assert_string_equal(p->alias ? p->alias : "", o->alias ? o->alias : "");
		return;
	}
	assert_true(s->n < 64);
	s->first[s->n++] = o;
}

/* One vocabulary: an option that several commands take is spelled, aliased and given a value alike. */
static void test_one_vocabulary(void **state)
{
	struct same_meaning s = { .n = 0 };

	(void)state;
	for (size_t i = 0; i < cli_command_count; i++)
		opts_each(cli_commands[i].spec, collect, &s);
	/* The four that the issue names are where they must be. */
	assert_non_null(opts_find(&cmd_exec_spec, "--stop-signal"));
	assert_non_null(opts_find(&cmd_run_spec, "--signal"));
	assert_ptr_equal(opts_find(&cmd_run_spec, "--signal"), opts_find(&cmd_run_spec, "--stop-signal"));
	assert_string_equal(opts_find(&cmd_run_spec, "--stop-timeout")->key, "box.stop_timeout");
	assert_non_null(opts_find(&cmd_exec_spec, "--box"));
	assert_non_null(opts_find(&cmd_doctor_spec, "--cgroup-parent"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_optional_value_and_positionals),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_did_you_mean_every_option),
		cmocka_unit_test(test_run_options_and_config_flags),
		cmocka_unit_test(test_every_option_in_help_and_man_page),
		cmocka_unit_test(test_man_page_environment),
		cmocka_unit_test(test_one_vocabulary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
