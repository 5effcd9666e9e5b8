/*
 * rules.c and its place in filter.c: which [[build.rules]] entry a path
 * belongs to, read from air's source (HEAD, runner/rule.go and
 * runner/rule_test.go), which directories a rule makes the watcher enter, and
 * the rules a file must follow to load.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "filter.h"
#include "rules.h"
#include "test_config_common.h"

struct fx {
	char dir[64];
	struct config c;
	struct rules *rules;
	struct filter *f;
};

/* A config on a fresh root (absolute) from toml, with its rules and a filter that knows them. */
static void fx_start(struct fx *x, const char *toml)
{
	struct diags dg;
	char err[256];

	memset(x, 0, sizeof(*x));
	snprintf(x->dir, sizeof(x->dir), "/tmp/nsreload-rules-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	assert_int_equal(config_init(&x->c), 0);
	assert_int_equal(load_text(&x->c, toml, &dg), 0);
	free(x->c.root);
	x->c.root = strdup(x->dir);
	assert_int_equal(config_finalize(&x->c), 0);
	assert_int_equal(rules_new(&x->rules, &x->c, err, sizeof(err)), 0);
	assert_int_equal(filter_new(&x->f, &x->c,
				    &(struct filter_opts){ .vcs_ignore = true, .rules = x->rules }, err,
				    sizeof(err)),
			 0);
}

static void fx_end(struct fx *x)
{
	char cmd[128];

	filter_free(x->f);
	rules_free(x->rules);
	config_free(&x->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* air runner/rule_test.go, TestRuleMatches (lines 75-111): the same rule and paths, the same answers. */
static void test_air_rule_matches(void **state)
{
	struct fx x;
	bool named;
	(void)state;

	fx_start(&x, "[[build.rules]]\n"
		     "name = 'assets'\n"
		     "cmd = 'true'\n"
		     "include_dir = ['web']\n"
		     "include_ext = ['js']\n"
		     "include_file = ['web/vite.config']\n"
		     "exclude_regex = ['\\.min\\.js$']\n");
	assert_int_equal(rules_match(x.rules, "web/app.js", &named), 0);
	assert_false(named);
	assert_int_equal(rules_match(x.rules, "web/deep/nested.js", NULL), 0);
	assert_int_equal(rules_match(x.rules, "web/app.min.js", NULL), -1);   /* exclude_regex */
	assert_int_equal(rules_match(x.rules, "web/index.html", NULL), -1);   /* ext not listed */
	assert_int_equal(rules_match(x.rules, "web/vite.config", &named), 0); /* include_file */
	assert_true(named);
	assert_int_equal(rules_match(x.rules, "cmd/app.js", NULL), -1); /* outside include_dir */
	assert_int_equal(rules_match(x.rules, "main.go", NULL), -1);
	/* isRuleDir / inRuleDir: the rule's directory and below it (the span is the rule dir's). */
	assert_int_equal(rules_dir_span(x.rules, "web"), 3);
	assert_int_equal(rules_dir_span(x.rules, "web/deep"), 3);
	assert_int_equal(rules_dir_span(x.rules, "cmd"), 0);
	assert_int_equal(rules_dir_span(x.rules, "webby"), 0);
	fx_end(&x);
}

/* rule.go matchRuleIndex: the first rule in the file's order wins; the lists' other forms. */
static void test_first_rule_wins_and_list_forms(void **state)
{
	struct fx x;
	(void)state;

	fx_start(&x,
		 "[[build.rules]]\n"
		 "cmd = 'a'\n"
		 "include_ext = [' css ', '.scss']\n" /* air trims; a leading dot as for build.include_ext */
		 "[[build.rules]]\n"
		 "cmd = 'b'\n"
		 "include_ext = ['css', 'sql']\n"
		 "[[build.rules]]\n"
		 "cmd = 'c'\n"
		 "include_dir = ['./proto/']\n" /* include_dir alone: every file in it */
		 "[[build.rules]]\n"
		 "cmd = 'd'\n"
		 "include_dir = ['gen']\n"
		 "include_ext = ['*']\n");
	assert_int_equal(rules_match(x.rules, "a/b/site.css", NULL), 0);
	assert_int_equal(rules_match(x.rules, "site.scss", NULL), 0);
	assert_int_equal(rules_match(x.rules, "db/q.sql", NULL), 1);
	assert_int_equal(rules_match(x.rules, "proto/api/v1.proto", NULL), 2);
	assert_int_equal(rules_match(x.rules, "proto/README", NULL), 2);
	assert_int_equal(rules_match(x.rules, "gen/Makefile", NULL), 3);
	assert_int_equal(rules_match(x.rules, "proto.go", NULL), -1);
	assert_int_equal(rules_match(x.rules, "css", NULL), -1); /* no extension */
	assert_int_equal(rules_match(NULL, "a.css", NULL), -1);
	fx_end(&x);
}

/* rule.go ruleMatches: exclude_regex sees the absolute path (root joined), not the relative one. */
static void test_exclude_regex_sees_the_absolute_path(void **state)
{
	struct fx x;
	char toml[512];
	(void)state;

	/* "/gen/" excludes a top-level gen/ only against the absolute path; "^/tmp/nsreload-rules-" too. */
	snprintf(toml, sizeof(toml),
		 "[[build.rules]]\ncmd = 'a'\ninclude_ext = ['css']\nexclude_regex = ['/gen/']\n"
		 "[[build.rules]]\ncmd = 'b'\ninclude_ext = ['css', 'sql']\nexclude_regex = "
		 "['^/tmp/nsreload-rules-[^/]*/db/']\n");
	fx_start(&x, toml);
	assert_int_equal(rules_match(x.rules, "gen/a.css", NULL), 1);
	assert_int_equal(rules_match(x.rules, "web/gen/a.css", NULL), 1);
	assert_int_equal(rules_match(x.rules, "web/a.css", NULL), 0);
	assert_int_equal(rules_match(x.rules, "db/q.sql", NULL), -1);
	assert_int_equal(rules_match(x.rules, "q.sql", NULL), 1);
	fx_end(&x);

	/* RE2 syntax, as build.exclude_regex (regex.h): (?i) and \d, which POSIX ERE refused or misread. */
	fx_start(&x,
		 "[[build.rules]]\ncmd = 'a'\ninclude_ext = ['css']\nexclude_regex = ['(?i)\\.MIN\\.css$', "
		 "'\\d+\\.css$']\n");
	assert_int_equal(rules_match(x.rules, "a.min.css", NULL), -1);
	assert_int_equal(rules_match(x.rules, "v2.css", NULL), -1);
	assert_int_equal(rules_match(x.rules, "a.css", NULL), 0);
	fx_end(&x);
}

/*
 * The filter with rules: a rule's files count before include_ext and
 * exclude_*, and its include_dir is watched even when exclude_dir lists it
 * (air README, "Watch rules"); below it exclude_dir, hidden directories,
 * tmp_dir and .gitignore apply again.
 */
static void test_filter_admits_what_rules_take(void **state)
{
	struct fx x;
	(void)state;

	fx_start(&x, "[build]\n"
		     "include_ext = ['go']\n"
		     "exclude_dir = ['web', 'web/node_modules', 'db']\n"
		     "exclude_regex = ['\\.sql$']\n"
		     "[[build.rules]]\n"
		     "cmd = 'npm run build'\n"
		     "include_dir = ['web/src']\n"
		     "include_ext = ['ts']\n"
		     "[[build.rules]]\n"
		     "cmd = 'sqlc generate'\n"
		     "include_ext = ['sql']\n");
	put(x.dir, ".gitignore", "*.gen.ts\n");
	assert_int_equal(filter_reload_ignores(x.f, ""), 0);
	/* Directories. */
	assert_true(filter_watch_dir(x.f, "web"));       /* on the way to web/src, although excluded */
	assert_true(filter_watch_dir(x.f, "web/src"));   /* the rule's own */
	assert_true(filter_watch_dir(x.f, "web/src/a")); /* below it */
	assert_false(filter_watch_dir(x.f, "web/src/.cache"));
	assert_false(filter_watch_dir(x.f, "web/other"));        /* web is still excluded for the build */
	assert_false(filter_watch_dir(x.f, "web/node_modules")); /* not the rule's */
	assert_false(filter_watch_dir(x.f, "db"));               /* no include_dir: no exemption */
	assert_false(filter_watch_dir(x.f, "tmp"));
	/* Files. */
	assert_true(filter_match_file(x.f, "web/src/a/app.ts"));
	assert_false(filter_match_file(x.f, "web/src/app.gen.ts")); /* .gitignore */
	assert_false(filter_match_file(x.f, "web/src/main.go"));    /* exclude_dir web, for the build */
	assert_true(filter_match_file(x.f, "schema.sql"));          /* before exclude_regex and include_ext */
	assert_false(filter_match_file(x.f, "db/schema.sql"));      /* its directory is not watched */
	assert_false(filter_match_file(x.f, "tmp/x.sql"));
	assert_true(filter_match_file(x.f, "main.go"));
	assert_false(filter_match_file(x.f, "notes.txt"));
	fx_end(&x);
}

/* Without rules the filter is what it was. */
static void test_no_rules_no_change(void **state)
{
	struct fx x;
	(void)state;

	fx_start(&x, "[build]\ninclude_ext = ['go']\n");
	assert_null(x.rules);
	assert_true(filter_match_file(x.f, "main.go"));
	assert_false(filter_match_file(x.f, "a.css"));
	fx_end(&x);
}

/* air runner/rule_test.go, TestNormalizeRules (lines 15-46): cmd is required, a matcher is, a bad regex
 * fails. */
static void test_bad_rules_are_refused(void **state)
{
	struct config c;
	struct diags dg;
	struct rules *r = (struct rules *)1;
	char err[256];
	(void)state;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(
		load_text(&c, "[build]\ncmd = 'make'\n\n  [[build.rules]]\ninclude_dir = ['web']\n", &dg),
		-EINVAL);
	assert_int_equal(dg.n, 1);
	assert_string_equal(dg.msg[0],
			    "t.toml:4:3: build.rules[0]: cmd is required (the command the rule runs)");
	config_free(&c);

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(load_text(&c, "[[build.rules]]\nname = 'x'\n[[build.rules]]\ncmd = 'true'\n", &dg),
			 -EINVAL);
	assert_int_equal(dg.n, 3);
	assert_string_equal(dg.msg[0],
			    "t.toml:1:1: build.rules[0]: cmd is required (the command the rule runs)");
	assert_string_equal(dg.msg[1],
			    "t.toml:1:1: build.rules[0]: at least one of include_dir, include_ext and "
			    "include_file is required");
	assert_string_equal(dg.msg[2],
			    "t.toml:3:1: build.rules[1]: at least one of include_dir, include_ext and "
			    "include_file is required");
	config_free(&c);

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(load_text(&c,
				   "[[build.rules]]\nname = 'css'\ncmd = 'x'\ninclude_ext = ['css']\n"
				   "exclude_regex = ['(']\n",
				   &dg),
			 0);
	assert_int_equal(dg.n, 0);
	assert_int_equal(config_finalize(&c), 0);
	assert_int_equal(rules_new(&r, &c, err, sizeof(err)), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "build.rules[0] (css): exclude_regex: \"(\": "));
	/* Where the rule is, and PCRE2's reason with the offset, as for build.exclude_regex. */
	assert_non_null(strstr(err, "t.toml:1:1: build.rules[0]"));
	assert_non_null(strstr(err, "missing closing parenthesis at offset 1"));
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_air_rule_matches),
		cmocka_unit_test(test_first_rule_wins_and_list_forms),
		cmocka_unit_test(test_exclude_regex_sees_the_absolute_path),
		cmocka_unit_test(test_filter_admits_what_rules_take),
		cmocka_unit_test(test_no_rules_no_change),
		cmocka_unit_test(test_bad_rules_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
