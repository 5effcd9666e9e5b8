/*
 * Real-world .air.toml files (tests/fixtures/air/) load unchanged, and the
 * effective configuration is what air would use, with nsreload's documented
 * differences (debounce 0 is 0, stop signal first, kill_delay 0 keeps the
 * box timeout).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
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
#include "test_config_common.h"

static int load_fixture(struct config *c, const char *name, struct diags *dg)
{
	struct config_diag d = diag_into(dg);
	char path[4096], rel[256];
	int r;

	snprintf(rel, sizeof(rel), "tests/fixtures/air/%s", name);
	source_path(path, sizeof(path), rel);
	if ((r = config_init(c)) < 0)
		return r;
	r = config_load(c, path, &d);
	if (r == 0)
		r = config_finalize(c);
	return r;
}

static void assert_app(const struct config *c, const char *const *want)
{
	char **argv;
	size_t i = 0;

	assert_int_equal(config_app_argv(c, &argv), 0);
	for (; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
	config_argv_free(argv);
}

/* rel under the working directory, as air's filepath.Abs makes bin (static buffer). */
static const char *in_cwd(const char *rel)
{
	static char buf[8192];
	char *cwd = getcwd(NULL, 0);

	assert_non_null(cwd);
	snprintf(buf, sizeof(buf), "%s/%s", cwd, rel);
	free(cwd);
	return buf;
}

/* air's example shape: every section, every key, the example's values. */
static void test_full_example(void **state)
{
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(load_fixture(&c, "full.air.toml", &dg), 0);
	assert_int_equal(dg.n, 0);
	assert_true(c.from_air);
	assert_value(&c, "env_files", "[\".env\"]");
	assert_string_equal(c.build.cmd, "go build -o ./tmp/main .");
	assert_string_equal(c.build.bin, "./tmp/main");
	assert_int_equal(c.build.delay_ms, 0);
	assert_true(c.build.exclude_unchanged);
	assert_true(c.build.follow_symlink);
	assert_true(c.build.stop_on_error);
	assert_false(c.build.send_interrupt);
	assert_int_equal(c.build.kill_delay_ms, 0);
	assert_int_equal(c.build.rerun_delay_ms, 500);
	assert_int_equal(c.build.poll_interval_ms, 500);
	assert_value(&c, "build.exclude_dir", "[\"assets\", \"tmp\", \"vendor\", \"testdata\"]");
	assert_value(&c, "build.include_ext", "[\"go\", \"tpl\", \"tmpl\", \"html\"]");
	assert_value(&c, "build.exclude_regex", "[\"_test.go\"]");
	assert_true(c.misc.clean_on_exit);
	assert_true(c.screen.clear_on_rebuild);
	assert_true(c.screen.keep_scroll);
	assert_string_equal(c.color.main, "magenta");
	assert_false(c.proxy.enabled);
	/* kill_delay "0s" does not shorten the box's grace; the signal stays TERM. */
	assert_int_equal(c.box.stop_signal, SIGTERM);
	assert_int_equal(c.box.stop_timeout_ms, 5000);
	/* bin is absolute against the working directory (air's filepath.Abs), and plain: no shell. */
	assert_app(&c, (const char *const[]){ in_cwd("tmp/main"), NULL });
	/* Every air key of the example came from the file. */
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		if (!k->air || strcmp(k->name, "color.mode") == 0 ||
		    strcmp(k->name, "misc.startup_banner") == 0 ||
		    strcmp(k->name, "proxy.app_start_timeout") == 0 || strncmp(k->name, "box.", 4) == 0)
			continue;
		if (c.origin[i].kind != CONFIG_FROM_FILE)
			fprintf(stderr, "%s is not from the file\n", k->name);
		assert_int_equal(c.origin[i].kind, CONFIG_FROM_FILE);
	}
	config_free(&c);
}

static void test_minimal(void **state)
{
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(load_fixture(&c, "minimal.air.toml", &dg), 0);
	assert_int_equal(dg.n, 0);
	assert_string_equal(c.build.cmd, "go build -o ./tmp/api ./cmd/api");
	assert_value(&c, "build.include_ext", "[\"go\", \"sql\"]");
	assert_value(&c, "build.exclude_dir", "[\"tmp\", \"vendor\", \"node_modules\"]");
	assert_int_equal(c.build.delay_ms, 1000);
	/* Everything else is air's default. */
	assert_value(&c, "build.exclude_regex", "[\"_test.go\"]");
	assert_int_equal(c.build.rerun_delay_ms, 500);
	assert_false(c.build.stop_on_error);
	assert_string_equal(c.build.log, "build-errors.log");
	assert_int_equal(c.box.stop_timeout_ms, 5000);
	assert_app(&c, (const char *const[]){ in_cwd("tmp/api"), NULL });
	config_free(&c);
}

/* kill_delay as "2s", entrypoint as a string, tmp_dir renamed. */
static void test_string_forms(void **state)
{
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(load_fixture(&c, "strings.air.toml", &dg), 0);
	/* The proxy is enabled, and implemented (src/proxy/front.h): no warning. */
	assert_int_equal(dg.n, 0);
	assert_int_equal(c.build.kill_delay_ms, 2000);
	assert_true(c.build.send_interrupt);
	assert_int_equal(c.box.stop_signal, SIGINT);
	assert_int_equal(c.box.stop_timeout_ms, 2000);
	assert_value(&c, "build.entrypoint", "[\"./build/server\"]");
	assert_value(&c, "build.exclude_dir", "[\"assets\", \"build\", \"vendor\", \"testdata\"]");
	assert_string_equal(c.build.bin, "./build/main");
	assert_int_equal(c.build.delay_ms, 500);
	assert_int_equal(c.build.rerun_delay_ms, 1500);
	assert_int_equal(c.build.poll_interval_ms, 500);
	assert_true(c.log.time);
	assert_true(c.proxy.enabled);
	assert_int_equal(c.proxy.proxy_port, 8090);
	assert_int_equal(c.proxy.app_port, 8080);
	assert_int_equal(c.proxy.app_start_timeout_ms, 10000);
	/* The entrypoint is joined to root and made absolute, args_bin after it; plain words: no shell. */
	assert_app(&c, (const char *const[]){ in_cwd("build/server"), "--config", "dev.yaml", NULL });
	config_free(&c);
}

/* Unknown keys and tables, trailing commas, literal strings, an inline table, no final newline. */
static void test_messy_file_warns_and_loads(void **state)
{
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(load_fixture(&c, "messy.air.toml", &dg), 0);
	assert_int_equal(dg.n, 5);
	for (int i = 0; i < dg.n; i++)
		assert_int_equal(dg.level[i], CONFIG_DIAG_WARNING);
	assert_non_null(strstr(dg.msg[0], "messy.air.toml:3:1: unknown key 'tmp_folder' (ignored)"));
	assert_non_null(strstr(dg.msg[1], "messy.air.toml:9:1: unknown key 'build.stop_on_root' (ignored)"));
	assert_non_null(strstr(dg.msg[2], "messy.air.toml:27:1: unknown key 'log.level' (ignored)"));
	assert_non_null(strstr(dg.msg[3], "messy.air.toml:30:2: unknown table 'run' (ignored)"));
	assert_non_null(strstr(dg.msg[4], "messy.air.toml:34:2: unknown table 'watch' (ignored)"));
	assert_string_equal(c.root, ".");
	assert_string_equal(c.build.cmd, "go build -tags dev -o ./tmp/main .");
	assert_value(&c, "build.include_ext", "[\"go\", \"html\", \"css\"]");
	assert_value(&c, "build.exclude_dir", "[\"assets\", \"tmp\", \"vendor\", \"frontend/node_modules\"]");
	assert_value(&c, "build.exclude_regex", "[\"_test\\\\.go\", \".*_templ\\\\.go\"]");
	assert_int_equal(c.build.kill_delay_ms, 500);
	assert_int_equal(c.box.stop_signal, SIGINT);
	assert_int_equal(c.box.stop_timeout_ms, 500);
	assert_int_equal(c.build.delay_ms, 200);
	config_free(&c);
}

/* A shell-line full_bin, post_cmd = [""], Windows-style paths, integer kill_delay. */
static void test_shell_line_and_windows_paths(void **state)
{
	struct diags dg;
	struct config c;

	(void)state;
	assert_int_equal(load_fixture(&c, "shell.air.toml", &dg), 0);
	assert_int_equal(dg.n, 0);
	assert_string_equal(c.build.full_bin, "APP_ENV=dev APP_USER=air ./tmp/main.exe");
	assert_string_equal(c.build.bin, "tmp\\main.exe");
	assert_int_equal(c.build.post_cmd.n, 1);
	assert_string_equal(c.build.post_cmd.v[0], "");
	assert_int_equal(c.build.pre_cmd.n, 2);
	assert_string_equal(c.build.pre_cmd.v[0], "templ generate");
	assert_int_equal(c.build.kill_delay_ms, 500);
	assert_false(c.build.send_interrupt);
	assert_int_equal(c.box.stop_signal, SIGTERM);
	assert_int_equal(c.box.stop_timeout_ms, 500);
	assert_int_equal(c.build.delay_ms, 1000);
	/* full_bin wins over entrypoint and bin, through the shell as in air. */
	assert_app(&c,
		   (const char *const[]){ "/bin/sh", "-c", "APP_ENV=dev APP_USER=air ./tmp/main.exe", NULL });
	config_free(&c);
}

static void test_missing_file_is_an_error(void **state)
{
	struct diags dg;
	struct config_diag d = diag_into(&dg);
	struct config c;

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, "/nonexistent/.air.toml", &d), -ENOENT);
	assert_int_equal(dg.n, 1);
	assert_string_equal(dg.msg[0], "cannot read /nonexistent/.air.toml: No such file or directory");
	config_free(&c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* -c FILE, then .nsreload.toml, then .air.toml, then .config/air.toml. */
static void test_lookup_order(void **state)
{
	char dir[] = "/tmp/nsreload-config-XXXXXX", old[4096];
	struct diags dg;
	struct config_diag d = diag_into(&dg);
	struct config c;

	(void)state;
	assert_non_null(getcwd(old, sizeof(old)));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, NULL, &d), 0);
	assert_null(c.file);
	config_free(&c);

	assert_int_equal(mkdir(".config", 0755), 0);
	write_file(".config/air.toml", "root = 'config-dir'\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, NULL, &d), 0);
	assert_string_equal(c.file, ".config/air.toml");
	assert_string_equal(c.root, "config-dir");
	config_free(&c);

	write_file(".air.toml", "root = 'air'\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, NULL, &d), 0);
	assert_string_equal(c.file, ".air.toml");
	assert_true(c.from_air);
	config_free(&c);

	write_file(".nsreload.toml", "root = 'ours'\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, NULL, &d), 0);
	assert_string_equal(c.file, ".nsreload.toml");
	assert_false(c.from_air);
	assert_string_equal(c.root, "ours");
	config_free(&c);

	write_file("other.toml", "root = 'given'\n");
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_load(&c, "other.toml", &d), 0);
	assert_string_equal(c.root, "given");
	config_free(&c);
	assert_int_equal(dg.n, 0);

	unlink("other.toml");
	unlink(".nsreload.toml");
	unlink(".air.toml");
	unlink(".config/air.toml");
	rmdir(".config");
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_string_forms),
		cmocka_unit_test(test_messy_file_warns_and_loads),
		cmocka_unit_test(test_shell_line_and_windows_paths),
		cmocka_unit_test(test_missing_file_is_an_error),
		cmocka_unit_test(test_lookup_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
