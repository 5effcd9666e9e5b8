/*
 * The app's command line: which shell lines may skip the shell
 * (shell_line_is_plain, util.h), and config_app_argv() with air's meaning of
 * bin, entrypoint, full_bin and args_bin (src/config/config_app.c cites air's
 * source for each rule). The end-to-end side is
 * tests/integration/run_air_app.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

static void test_plain_lines_skip_the_shell(void **state)
{
	static const char *const plain[] = {
		"./tmp/main",
		"/abs/tmp/main -port 8080",
		"  ./tmp/main   serve  ",
		"go run . -flag=value",
		"./app a,b x:y +1 @at 50% -",
		"dlv exec --headless --listen 127.0.0.1:2345 ./tmp/main",
	};
	static const char *const shell[] = {
		"",
		"   ",
		"APP_ENV=dev ./tmp/main", /* an assignment first */
		"./app $HOME",            /* expansion */
		"./app 'a b'",            /* quotes */
		"./app \"a\"",            /* quotes */
		"./app `date`",           /* command substitution */
		"./app; echo",            /* lists */
		"./app | tee log",        /* pipes */
		"./app &",                /* background */
		"./app >log",             /* redirection */
		"./app <in",              /* redirection */
		"./app *.go",             /* globs */
		"./app ?",                /* globs */
		"./app [ab]",             /* globs */
		"./app ~/x",              /* tilde */
		"(./app)",                /* subshell */
		"{ ./app; }",             /* group */
		"./app\tx",               /* tab */
		"./app\nx",               /* newline */
		"./app \\x",              /* backslash */
		"./app #comment",         /* comment */
		"./app \xc3\xa9",         /* non-ASCII */
		"exec ./tmp/main",        /* builtins and reserved words */
		"cd sub",
		". ./env.sh",
		"export A",
		"if",
		"true",
		"command -v x",
		"ulimit -n 1024",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (!shell_line_is_plain(plain[i]))
			fail_msg("plain: '%s'", plain[i]);
	}
	for (size_t i = 0; i < sizeof(shell) / sizeof(shell[0]); i++) {
		if (shell_line_is_plain(shell[i]))
			fail_msg("needs the shell: '%s'", shell[i]);
	}
}

static void test_plain_words(void **state)
{
	char **v = shell_line_words("  ./tmp/main   serve -p=1 ");

	(void)state;
	assert_non_null(v);
	assert_string_equal(v[0], "./tmp/main");
	assert_string_equal(v[1], "serve");
	assert_string_equal(v[2], "-p=1");
	assert_null(v[3]);
	strv_free(v);
}

/* rel under the working directory (static buffer). */
static const char *in_cwd(const char *rel)
{
	static char buf[8192];
	char *cwd = getcwd(NULL, 0);

	assert_non_null(cwd);
	snprintf(buf, sizeof(buf), "%s%s%s", cwd, rel[0] ? "/" : "", rel);
	free(cwd);
	return buf;
}

/* Loads toml as file name, then checks config_app_argv() against want (NULL-terminated). */
static void expect_app(const char *name, const char *toml, const char *const *want)
{
	struct config c;
	char **argv = NULL;
	size_t i = 0;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load_buffer(&c, name, toml, strlen(toml), NULL), 0);
	assert_int_equal(config_finalize(&c), 0);
	assert_int_equal(config_app_argv(&c, &argv), 0);
	for (; want[i]; i++) {
		if (!argv[i] || strcmp(argv[i], want[i]) != 0)
			fail_msg("%s: argv[%zu] is '%s', want '%s'", toml, i, argv[i] ? argv[i] : "(end)",
				 want[i]);
	}
	if (argv[i])
		fail_msg("%s: argv[%zu] is '%s', want the end", toml, i, argv[i]);
	config_argv_free(argv);
	config_free(&c);
}

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_bin_is_absolute_against_the_working_directory(void **state)
{
	char app[8192], up[8192], line[8300];

	(void)state;
	snprintf(app, sizeof(app), "%s", in_cwd("app"));
	/* bin = "app" is ./app, never an app in PATH (gitea's .air.toml has bin = "gitea"). */
	expect_app(".air.toml", "[build]\nbin = 'app'\n", ARGV(app));
	/* root is not the base of bin. */
	expect_app(".air.toml", "root = 'sub'\n[build]\nbin = './tmp/main'\n", ARGV(in_cwd("tmp/main")));
	/* Cleaned as filepath.Abs cleans: ".", "..", doubled slashes. */
	snprintf(up, sizeof(up), "%s", in_cwd(""));
	*strrchr(up, '/') = '\0';
	snprintf(line, sizeof(line), "%s/x/y", up[0] ? up : "");
	expect_app(".air.toml", "[build]\nbin = '.././x//./y'\n", ARGV(line));
	expect_app(".air.toml", "[build]\nbin = '/opt//bin/../app'\n", ARGV("/opt/app"));
	/* An absolute path with a space is quoted (air >= 1.62, formatPath); then the shell runs it. */
	expect_app(".air.toml", "[build]\nbin = '/opt/my app/x'\nargs_bin = ['-v']\n",
		   ARGV("/bin/sh", "-c", "'/opt/my app/x' -v"));
	expect_app(".air.toml", "[build]\nbin = \"/opt/it's/x\"\n",
		   ARGV("/bin/sh", "-c", "'/opt/it'\\''s/x'"));
	/* The same in .nsreload.toml: one meaning, so that 'init --from-air' keeps behaviour. */
	expect_app(".nsreload.toml", "[build]\nbin = 'app'\n", ARGV(app));
}

static void test_entrypoint_is_joined_to_root(void **state)
{
	(void)state;
	expect_app(".air.toml", "root = 'sub'\n[build]\nentrypoint = ['./server', 'a']\n",
		   ARGV(in_cwd("sub/server"), "a"));
	expect_app(".air.toml", "[build]\nentrypoint = 'bin/server'\n", ARGV(in_cwd("bin/server")));
	expect_app(".air.toml", "root = 'sub'\n[build]\nentrypoint = '/usr/bin/env'\n", ARGV("/usr/bin/env"));
	/* A bare name found in PATH stays a bare name (the shell finds the same file); one that is not is
	 * under root. */
	expect_app(".air.toml", "[build]\nentrypoint = ['sh', 'x.sh']\n", ARGV("sh", "x.sh"));
	expect_app(".air.toml", "root = 'sub'\n[build]\nentrypoint = 'nsreload-no-such-program'\n",
		   ARGV(in_cwd("sub/nsreload-no-such-program")));
}

static void test_one_shell_line_as_air(void **state)
{
	char line[8300];

	(void)state;
	/* entrypoint's words and args_bin are joined raw: $HOME and quotes are the shell's. */
	snprintf(line, sizeof(line), "%s $HOME 'a b' \"$HOME/c d\"", in_cwd("show.sh"));
	expect_app(".air.toml",
		   "[build]\nentrypoint = ['./show.sh', '$HOME']\nargs_bin = [\"'a b'\", '\"$HOME/c d\"']\n",
		   ARGV("/bin/sh", "-c", line));
	expect_app(".air.toml", "[build]\nargs_bin = ['hello', 'world']\n",
		   ARGV(in_cwd("tmp/main"), "hello", "world"));
	/* full_bin is a shell line as written (no path is made absolute in it). */
	expect_app(".air.toml", "[build]\nfull_bin = 'APP_ENV=dev ./tmp/main'\nargs_bin = ['x']\n",
		   ARGV("/bin/sh", "-c", "APP_ENV=dev ./tmp/main x"));
	expect_app(".air.toml", "[build]\nfull_bin = './tmp/main -port 8080'\n",
		   ARGV("./tmp/main", "-port", "8080"));
}

static void test_the_command_line_runs_without_a_shell(void **state)
{
	char *argv[] = { "./x y", "$HOME", "a b", NULL };
	struct config c;
	char **out = NULL;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(
		config_load_buffer(&c, ".air.toml", "root = 'sub'\n", strlen("root = 'sub'\n"), NULL), 0);
	assert_int_equal(config_set_command(&c, argv, 3), 0);
	assert_int_equal(config_finalize(&c), 0);
	assert_int_equal(config_app_argv(&c, &out), 0);
	for (int i = 0; i < 3; i++)
		assert_string_equal(out[i], argv[i]);
	assert_null(out[3]);
	config_argv_free(out);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_lines_skip_the_shell),
		cmocka_unit_test(test_plain_words),
		cmocka_unit_test(test_bin_is_absolute_against_the_working_directory),
		cmocka_unit_test(test_entrypoint_is_joined_to_root),
		cmocka_unit_test(test_one_shell_line_as_air),
		cmocka_unit_test(test_the_command_line_runs_without_a_shell),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
