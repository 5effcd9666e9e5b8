/* filter.c: air's watch keys, the built binary, .gitignore/.ignore and exclude_unchanged. */
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
#include "ignore.h"

struct fx {
	char dir[64];
	struct config c;
	struct filter *f;
};

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void fx_start(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->dir, sizeof(x->dir), "/tmp/nsreload-filter-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	assert_int_equal(config_init(&x->c), 0);
	free(x->c.root);
	x->c.root = strdup(x->dir);
}

/* Loads toml (may be NULL) over the defaults and builds the filter. */
static void fx_filter(struct fx *x, const char *toml, bool vcs)
{
	struct filter_opts o = { .vcs_ignore = vcs };
	char err[256];

	if (toml)
		assert_int_equal(config_load_buffer(&x->c, "test.toml", toml, strlen(toml), NULL), 0);
	assert_int_equal(config_finalize(&x->c), 0);
	assert_int_equal(filter_new(&x->f, &x->c, &o, err, sizeof(err)), 0);
}

static void fx_end(struct fx *x)
{
	char cmd[128];

	filter_free(x->f);
	config_free(&x->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
}

/* Path lists for one predicate: "+" in front means yes, "-" no. */
static void expect(struct filter *f, const char *const *v, bool (*pred)(struct filter *, const char *),
		   const char *what)
{
	size_t bad = 0;

	for (; *v; v++) {
		bool want = (*v)[0] == '+', got = pred(f, *v + 1);

		if (got != want) {
			fprintf(stderr, "%s(%s): got %d\n", what, *v + 1, got);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

#define expect_dirs(f, v)  expect(f, v, filter_watch_dir, "watch_dir")
#define expect_files(f, v) expect(f, v, filter_match_file, "match_file")

/* One configuration (over the defaults, .gitignore honoured), then the watch_dir and match_file lists (NULL:
 * none). */
static void check(const char *toml, const char *const *dirs, const char *const *files)
{
	struct fx x;

	fx_start(&x);
	fx_filter(&x, toml, true);
	if (dirs)
		expect_dirs(x.f, dirs);
	if (files)
		expect_files(x.f, files);
	fx_end(&x);
}

static void test_air_defaults(void **state)
{
	static const char *const dirs[] = { "+",           "+pkg",          "+pkg/api",  "-tmp",
					    "-tmp/x",      "-vendor",       "-assets",   "-testdata",
					    "+pkg/vendor", "+pkg/assets",   "-.git",     "-.git/refs",
					    "-pkg/.cache", "-pkg/.cache/x", "+internal", "+tmpfoo",
					    NULL };
	static const char *const files[] = { "+main.go",
					     "+pkg/a.go",
					     "+views/index.html",
					     "+x.tmpl",
					     "+x.tpl",
					     "-main_test.go",
					     "-pkg/a_test.go",
					     "-README.md",
					     "-Makefile",
					     "-tmp/main",
					     "-tmp/x.go",
					     "-vendor/x.go",
					     "-.git/x.go",
					     "-a/.hidden/x.go",
					     "+.x.go",
					     "-go",
					     "-x.go.swp",
					     "-x.go~",
					     "+a.b.go",
					     NULL };
	struct fx x;

	(void)state;
	fx_start(&x);
	fx_filter(&x, NULL, true);
	expect_dirs(x.f, dirs);
	/* "" is the root, never a file. */
	assert_false(filter_match_file(x.f, ""));
	expect_files(x.f, files);
	fx_end(&x);
}

static void test_include_ext(void **state)
{
	static const char *const star[] = { "+README.md", "+Makefile",  "+a/b/c",     "-tmp/main",
					    "-bin/app",   "+bin/other", "-x_test.go", NULL };
	static const char *const lenient[] = { "+a.go", "+b.rs", "+c.h", "-c.hpp", "-go", "-x.", NULL };

	(void)state;
	check("[build]\ninclude_ext = [\"*\"]\nbin = \"./bin/app\"\n", NULL, star);
	check("[build]\ninclude_ext = [\".go\", \" rs \", \"h\", \"\"]\n", NULL, lenient);
}

static void test_exclude_dir(void **state)
{
	static const char *const dirs[] = { "-a/b", "-a/b/c", "+a",   "+b",      "+x/a/b", "+a/bc",
					    "-gen", "+tmp",   "-out", "+vendor", "-up",    NULL };
	static const char *const files[] = { "-a/b/x.go", "+a/x.go",   "+x/a/b/x.go", "-gen/x.go",
					     "+tmp/x.go", "-out/x.go", NULL };

	(void)state;
	/* Written loosely on purpose: "./", a trailing '/', "..", a path outside root. */
	check("tmp_dir = \"out\"\n[build]\nexclude_dir = [\"./a/b/\", \"gen\", \"x/../up\", "
	      "\"../elsewhere\"]\n",
	      dirs, files);
}

static void test_include_dir(void **state)
{
	static const char *const dirs[] = { "+",           "+api",          "+api/v1",    "+cmd",
					    "+cmd/server", "+cmd/server/h", "-cmd/other", "-web",
					    "-apiv2",      "-api/.git",     NULL };
	static const char *const files[] = { "+api/x.go", "+api/v1/y.go",     "-main.go",
					     "-cmd/x.go", "+cmd/server/m.go", "-apiv2/x.go",
					     "-web/x.go", "-api/x_test.go",   NULL };
	static const char *const outside_dirs[] = { "+", "-api", NULL };
	static const char *const outside_files[] = { "-main.go", "-api/x.go", NULL };

	(void)state;
	check("[build]\ninclude_dir = [\"api\", \"./cmd/server/\"]\n", dirs, files);
	/* Every include_dir outside root: nothing below root is watched. */
	check("[build]\ninclude_dir = [\"../shared\"]\n", outside_dirs, outside_files);
}

static void test_include_file(void **state)
{
	static const char *const dirs[] = { "+config", "+", "-secret", NULL };
	static const char *const files[] = { "+config/app.yaml",
					     "-config/other.yaml",
					     "+.env",
					     "-config/x.go",
					     "+Dockerfile",
					     "-tmp/Dockerfile",
					     "-x.yaml",
					     "-.env.local",
					     "-secret/key.go",
					     NULL };
	struct fx x;

	(void)state;
	fx_start(&x);
	/* .env and config/ are gitignored, as in most repositories; naming them still counts. */
	put(x.dir, ".gitignore", ".env\nconfig/\nsecret/\n");
	fx_filter(&x,
		  "[build]\ninclude_file = [\"config/app.yaml\", \".env\", \"./Dockerfile\", "
		  "\"tmp/Dockerfile\"]\n",
		  true);
	expect_dirs(x.f, dirs);
	expect_files(x.f, files);
	fx_end(&x);
}

static void test_exclude_file(void **state)
{
	static const char *const files[] = { "-a.gen.go",
					     "+pkg/a.gen.go",
					     "-internal/mock_x.go",
					     "-internal/a/b/mock_x.go",
					     "+internal/a/b/x.go",
					     "-docs/x.html",
					     "+docs/a/x.html",
					     "-z1.go",
					     "+za.go",
					     "-lit[.go",
					     "+litx.go",
					     "-a/b/any/deep/thing.go",
					     NULL };

	(void)state;
	check("[build]\nexclude_file = [\"*.gen.go\", \"internal/**/mock_*.go\", \"./docs/*.html\", "
	      "\"z[0-9].go\", \"lit\\\\[.go\", \"a/b/**\"]\n",
	      NULL, files);
}

static void count_warning(void *data, const char *msg)
{
	char *last = data;

	/* The first one is kept: there must be exactly one. */
	if (!last[0])
		snprintf(last, 512, "%s", msg);
	else
		snprintf(last, 512, "TWICE");
}

/*
 * air matches exclude_regex, with Go's RE2, against the event's absolute path
 * (runner/util.go, isExcludeRegex; runner/config.go compiles them at start).
 * The fixture's root is /tmp/nsreload-filter-XXXXXX.
 */
static void test_exclude_regex(void **state)
{
	static const char *const files[] = { "-x_test.go", "+x_test_go.go", "-gen/a.go", "+pkg/gen/a.go",
					     "-mocks.go",  "-a/MOCK.go",    "+main.go",  "-A_TEST.go",
					     "-v2.go",     "+v.go",         "+d/x.go",   NULL };
	static const char *const slash_gen[] = { "-gen/a.go", "-pkg/gen/a.go", "+gen.go", "+agen/a.go",
						 NULL };
	static const char *const bad[] = { "(unclosed", "(?=x)", "(?<!x)y", "(a)\\1", "(?x) a", "\\C", NULL };
	struct fx x;
	struct filter_opts o = { .vcs_ignore = true };
	struct filter *f = NULL;
	char err[512], toml[256];

	(void)state;
	check("[build]\nexclude_regex = [\"_test\\\\.go$\", \"nsreload-filter-[^/]*/gen/\", \"(mock|MOCK)\", "
	      "\"(?i)_TEST\\\\.go$\", \"\\\\d+\\\\.go$\"]\n",
	      NULL, files);
	/* "/gen/" excludes a top-level gen/ (and any other), as in air; POSIX on the relative path did not.
	 */
	check("[build]\nexclude_regex = [\"/gen/\"]\n", NULL, slash_gen);

	for (const char *const *b = bad; *b; b++) {
		fx_start(&x);
		snprintf(toml, sizeof(toml), "[build]\nexclude_regex = [\"ok\", '%s']\n", *b);
		assert_int_equal(config_load_buffer(&x.c, "t.toml", toml, strlen(toml), NULL), 0);
		assert_int_equal(config_finalize(&x.c), 0);
		assert_int_equal(filter_new(&f, &x.c, &o, err, sizeof(err)), -EINVAL);
		assert_null(f);
		assert_non_null(strstr(err, *b));
		assert_non_null(strstr(err, "t.toml:2:1: build.exclude_regex: "));
		assert_non_null(strstr(err, " at offset "));
		fx_end(&x);
	}

	/* A regex that matches root itself excludes everything: one warning, naming it and its place. */
	fx_start(&x);
	err[0] = '\0';
	o.warn = count_warning;
	o.warn_data = err;
	snprintf(toml, sizeof(toml), "[build]\nexclude_regex = [\"_test\", \"nsreload-filter\"]\n");
	assert_int_equal(config_load_buffer(&x.c, "t.toml", toml, strlen(toml), NULL), 0);
	assert_int_equal(config_finalize(&x.c), 0);
	assert_int_equal(filter_new(&x.f, &x.c, &o, NULL, 0), 0);
	assert_non_null(
		strstr(err, "t.toml:2:1: build.exclude_regex: \"nsreload-filter\" matches the project"));
	assert_false(filter_match_file(x.f, "main.go"));
	fx_end(&x);
}

static void test_exclude_unchanged(void **state)
{
	char abs[256];
	struct fx x;

	(void)state;
	fx_start(&x);
	fx_filter(&x, "[build]\nexclude_unchanged = true\n", true);
	snprintf(abs, sizeof(abs), "%s/main.go", x.dir);
	put(x.dir, "main.go", "package main\n");
	assert_true(filter_content_changed(x.f, "main.go", abs));  /* first sighting */
	assert_false(filter_content_changed(x.f, "main.go", abs)); /* saved unchanged */
	put(x.dir, "main.go", "package main\n");
	assert_false(filter_content_changed(x.f, "main.go", abs)); /* rewritten, same bytes */
	put(x.dir, "main.go", "package main\n\n");
	assert_true(filter_content_changed(x.f, "main.go", abs));
	put(x.dir, "main.go", "package main\n");
	assert_true(filter_content_changed(x.f, "main.go", abs)); /* back to the old text is a change too */
	unlink(abs);
	assert_true(filter_content_changed(x.f, "main.go", abs)); /* removed */
	put(x.dir, "main.go", "package main\n");
	assert_true(filter_content_changed(x.f, "main.go", abs)); /* recreated */
	assert_false(filter_content_changed(x.f, "main.go", abs));
	fx_end(&x);

	fx_start(&x);
	fx_filter(&x, "[build]\nexclude_unchanged = false\n", true);
	snprintf(abs, sizeof(abs), "%s/main.go", x.dir);
	put(x.dir, "main.go", "package main\n");
	assert_true(filter_content_changed(x.f, "main.go", abs));
	assert_true(filter_content_changed(x.f, "main.go", abs));
	fx_end(&x);
}

static void test_vcs_ignore(void **state)
{
	static const char *const on[] = { "-a.pb.go",  "+keep/a.pb.go", "-build/x.go",
					  "-local.go", "+sub/local.go", "-sub/deep/x.go",
					  "+sub/x.go", "-sub/y.go",     NULL };
	static const char *const off[] = { "+a.pb.go", "+build/x.go", "+local.go", "+sub/deep/x.go", NULL };
	struct fx x;

	(void)state;
	fx_start(&x);
	put(x.dir, ".gitignore", "*.pb.go\nbuild/\n");
	put(x.dir, ".ignore", "/local.go\n");
	put(x.dir, "keep/.gitignore", "!*.pb.go\n");
	put(x.dir, "sub/.gitignore", "deep/\ny.go\n");
	put(x.dir, "sub/deep/x.go", "");
	put(x.dir, "build/x.go", "");
	fx_filter(&x, NULL, true);
	expect_files(x.f, on);
	assert_false(filter_watch_dir(x.f, "build"));
	assert_false(filter_watch_dir(x.f, "sub/deep"));
	assert_true(filter_watch_dir(x.f, "sub"));
	assert_true(filter_is_ignore_file(x.f, "sub/.gitignore"));
	assert_true(filter_is_ignore_file(x.f, ".ignore"));
	assert_false(filter_is_ignore_file(x.f, "sub/gitignore"));

	/* The rules change on disk: nothing changes until the reload. */
	put(x.dir, ".gitignore", "build/\n");
	assert_false(filter_match_file(x.f, "a.pb.go"));
	assert_int_equal(filter_reload_ignores(x.f, ""), 0);
	assert_true(filter_match_file(x.f, "a.pb.go"));
	put(x.dir, "sub/.gitignore", "");
	assert_int_equal(filter_reload_ignores(x.f, "sub"), 0);
	assert_true(filter_watch_dir(x.f, "sub/deep"));
	fx_end(&x);

	fx_start(&x);
	put(x.dir, ".gitignore", "*.pb.go\nbuild/\n");
	put(x.dir, ".ignore", "local.go\n");
	put(x.dir, "sub/.gitignore", "deep/\n");
	fx_filter(&x, NULL, false);
	expect_files(x.f, off);
	assert_true(filter_watch_dir(x.f, "build"));
	assert_false(filter_is_ignore_file(x.f, ".gitignore"));
	assert_int_equal(filter_reload_ignores(x.f, ""), 0);
	fx_end(&x);
}

/* .ignore is not git's, so the differential test cannot cover it. */
static void test_dot_ignore(void **state)
{
	struct ignore *ig;
	struct fx x;

	(void)state;
	fx_start(&x);
	put(x.dir, ".gitignore", "*.log\n!keep.log\n");
	put(x.dir, ".ignore", "keep.log\n!b.log\n");
	put(x.dir, "d/.ignore", "!c.log\n/only\n");
	assert_int_equal(ignore_new(&ig, x.dir, IGNORE_GITIGNORE | IGNORE_DOTIGNORE), 0);
	assert_true(ignore_path(ig, "a.log", false));
	assert_true(ignore_path(ig, "keep.log", false)); /* .ignore comes after .gitignore */
	assert_false(ignore_path(ig, "b.log", false));
	assert_false(ignore_path(ig, "d/c.log", false)); /* deeper wins */
	assert_true(ignore_path(ig, "d/only", false));
	assert_false(ignore_path(ig, "d/e/only", false));
	assert_true(ignore_is_rules_file(ig, "x/.ignore"));
	ignore_free(ig);

	assert_int_equal(ignore_new(&ig, x.dir, IGNORE_DOTIGNORE), 0);
	assert_false(ignore_path(ig, "a.log", false));
	assert_true(ignore_path(ig, "keep.log", false));
	assert_false(ignore_is_rules_file(ig, ".gitignore"));
	ignore_free(ig);

	assert_int_equal(ignore_new(&ig, x.dir, IGNORE_GITIGNORE), 0);
	assert_false(ignore_path(ig, "keep.log", false));
	assert_false(ignore_path(ig, "", true));
	ignore_free(ig);
	fx_end(&x);
}

static void test_ignore_list(void **state)
{
	static const char text[] = "# comment\n"
				   "\n"
				   "   \n"
				   "\\#hash\n"
				   "\\!bang\n"
				   "!neg\n"
				   "dir/\n"
				   "/anch\n"
				   "a/b\n"
				   "sp\\ \n"
				   "tr   \n"
				   "crlf\r\n"
				   "last-no-newline";
	struct ignore_list *l = NULL;

	(void)state;
	assert_int_equal(ignore_list_parse(&l, text, strlen(text)), 0);
	assert_int_equal(ignore_list_count(l), 10);
	assert_int_equal(ignore_list_match(l, "#hash", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "x/!bang", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "neg", false), IGNORE_INCLUDE);
	assert_int_equal(ignore_list_match(l, "x/dir", true), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "x/dir", false), IGNORE_NONE);
	assert_int_equal(ignore_list_match(l, "anch", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "x/anch", false), IGNORE_NONE);
	assert_int_equal(ignore_list_match(l, "a/b", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "x/a/b", false), IGNORE_NONE);
	assert_int_equal(ignore_list_match(l, "sp ", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "sp", false), IGNORE_NONE);
	assert_int_equal(ignore_list_match(l, "tr", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "crlf", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(l, "last-no-newline", false), IGNORE_EXCLUDE);
	assert_int_equal(ignore_list_match(NULL, "x", false), IGNORE_NONE);
	/* A second file appends: its rules come last and win. */
	assert_int_equal(ignore_list_parse(&l, "!tr\n", 4), 0);
	assert_int_equal(ignore_list_match(l, "tr", false), IGNORE_INCLUDE);
	ignore_list_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_air_defaults),  cmocka_unit_test(test_include_ext),
		cmocka_unit_test(test_exclude_dir),   cmocka_unit_test(test_include_dir),
		cmocka_unit_test(test_include_file),  cmocka_unit_test(test_exclude_file),
		cmocka_unit_test(test_exclude_regex), cmocka_unit_test(test_exclude_unchanged),
		cmocka_unit_test(test_vcs_ignore),    cmocka_unit_test(test_dot_ignore),
		cmocka_unit_test(test_ignore_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
