/* env_files: the dotenv parser, its merge rules and the environment it builds. */
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

#include "dotenv.h"

static int parse(const char *text, struct dotenv *d, char *err, size_t size)
{
	return dotenv_parse(text, strlen(text), ".env", d, err, size);
}

static void assert_var(const struct dotenv *d, const char *key, const char *value)
{
	const char *got = dotenv_get(d, key);

	if (!got || strcmp(got, value) != 0)
		fprintf(stderr, "%s: got [%s], want [%s]\n", key, got ? got : "(none)", value);
	assert_non_null(got);
	assert_string_equal(got, value);
}

static void test_forms(void **state)
{
	static const char text[] = "# a comment\n"
				   "\n"
				   "PLAIN=value\n"
				   "  SPACED = spaced value  \n"
				   "export EXPORTED=1\n"
				   "export\tTABBED=2\n"
				   "EMPTY=\n"
				   "EMPTY_QUOTED=\"\"\n"
				   "DOUBLE=\"line1\\nline2 \\\"q\\\" back\\\\slash tab\\tend\"\n"
				   "UNKNOWN_ESCAPE=\"a\\$b\"\n"
				   "HASH=a#b\n"
				   "COMMENTED=value # a comment\n"
				   "TAB_COMMENTED=value\t# a comment\n"
				   "QUOTED_COMMENT='x' # c\n"
				   "QUOTED_HASH=\"a # b\"\n"
				   "EQUALS=a=b=c\n"
				   "DOTTED.KEY=d\n"
				   "_UNDER=u\n"
				   "   # indented comment\n"
				   "MULTI=\"first\n"
				   "second\"\n"
				   "MULTI_SINGLE='x\n"
				   "y'\n"
				   "CRLF=windows\r\n"
				   "CRLF_QUOTED=\"w\"\r\n"
				   "\r\n"
				   "LAST=no newline";
	struct dotenv d = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(text, &d, err, sizeof(err)), 0);
	assert_var(&d, "PLAIN", "value");
	assert_var(&d, "SPACED", "spaced value");
	assert_var(&d, "EXPORTED", "1");
	assert_var(&d, "TABBED", "2");
	assert_var(&d, "EMPTY", "");
	assert_var(&d, "EMPTY_QUOTED", "");
	assert_var(&d, "DOUBLE", "line1\nline2 \"q\" back\\slash tab\tend");
	/* godotenv keeps "\$" through its unescaping, then its expansion makes it a literal '$'. */
	assert_var(&d, "UNKNOWN_ESCAPE", "a$b");
	assert_var(&d, "HASH", "a#b");
	assert_var(&d, "COMMENTED", "value");
	assert_var(&d, "TAB_COMMENTED", "value");
	assert_var(&d, "QUOTED_COMMENT", "x");
	assert_var(&d, "QUOTED_HASH", "a # b");
	assert_var(&d, "EQUALS", "a=b=c");
	assert_var(&d, "DOTTED.KEY", "d");
	assert_var(&d, "_UNDER", "u");
	assert_var(&d, "MULTI", "first\nsecond");
	assert_var(&d, "MULTI_SINGLE", "x\ny");
	assert_var(&d, "CRLF", "windows");
	assert_var(&d, "CRLF_QUOTED", "w");
	assert_var(&d, "LAST", "no newline");
	dotenv_free(&d);
}

static void test_single_quotes_are_literal(void **state)
{
	struct dotenv d = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse("S='$HOME \\n \"x\"'\n", &d, err, sizeof(err)), 0);
	assert_var(&d, "S", "$HOME \\n \"x\"");
	dotenv_free(&d);
}

static void test_lines_of_variables(void **state)
{
	struct dotenv d = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse("\nA=1\n\n# c\nB=\"x\ny\"\nC=3\n", &d, err, sizeof(err)), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].line, 2);
	assert_int_equal(d.v[1].line, 5);
	assert_int_equal(d.v[2].line, 7);
	dotenv_free(&d);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "A=1\nSINGLE='it''s'\n", ".env:2: unexpected text after the closing quote" },
		{ "A=1\nB=\"open\nC=2\n", ".env:2: unterminated double-quoted value" },
		{ "A='open\n", ".env:1: unterminated single-quoted value" },
		{ "A=1\n\nJUST_A_WORD\n", ".env:3: expected '=' after the variable name" },
		{ "=value\n", ".env:1: missing variable name before '='" },
		{ "1ABC=x\n", ".env:1: expected KEY=VALUE" },
		{ "A B=x\n", ".env:1: expected '=' after the variable name" },
		{ "A=\"x\" y\n", ".env:1: unexpected text after the closing quote" },
		{ "export =x\n", ".env:1: missing variable name before '='" },
		{ "A=1\nB=2\0\n", ".env:2: contains a NUL byte" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dotenv d = { 0 };
		size_t len = strlen(bad[i].text);
		if (strstr(bad[i].text, "B=2"))
			len += 2; /* past the NUL */
		err[0] = '\0';
		assert_int_equal(dotenv_parse(bad[i].text, len, ".env", &d, err, sizeof(err)), -EINVAL);
		if (strcmp(err, bad[i].msg) != 0)
			fprintf(stderr, "for %s: got %s\n", bad[i].text, err);
		assert_string_equal(err, bad[i].msg);
		/* Nothing is kept from a file with an error. */
		assert_int_equal(d.n, 0);
	}
}

static void test_a_key_named_export(void **state)
{
	struct dotenv d = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse("export=1\nexported=2\n", &d, err, sizeof(err)), 0);
	assert_var(&d, "export", "1");
	assert_var(&d, "exported", "2");
	dotenv_free(&d);
}

/* Last in a file wins; the first file wins over later ones. */
static void test_merge_rules(void **state)
{
	struct dotenv d = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse("A=first\nA=second\nB=1\n", &d, err, sizeof(err)), 0);
	assert_var(&d, "A", "second");
	assert_int_equal(parse("A=other-file\nC=3\n", &d, err, sizeof(err)), 0);
	assert_var(&d, "A", "second");
	assert_var(&d, "C", "3");
	assert_int_equal(d.n, 3);
	/* A failing file leaves what was there. */
	assert_int_equal(parse("D=4\nbad line\n", &d, err, sizeof(err)), -EINVAL);
	assert_int_equal(d.n, 3);
	assert_null(dotenv_get(&d, "D"));
	dotenv_free(&d);
}

/* Variables already in the environment win. */
static void test_envp(void **state)
{
	char *base[] = { "PATH=/bin", "HOME=/root", "EMPTY=", NULL };
	struct dotenv d = { 0 };
	char err[256], **envp;

	(void)state;
	assert_int_equal(parse("HOME=/elsewhere\nAPP_ENV=dev\nEMPTY=x\nPAT=y\n", &d, err, sizeof(err)), 0);
	assert_int_equal(dotenv_envp(base, &d, &envp), 0);
	assert_string_equal(envp[0], "PATH=/bin");
	assert_string_equal(envp[1], "HOME=/root");
	assert_string_equal(envp[2], "EMPTY=");
	assert_string_equal(envp[3], "APP_ENV=dev");
	assert_string_equal(envp[4], "PAT=y");
	assert_null(envp[5]);
	dotenv_envp_free(envp);

	assert_int_equal(dotenv_envp(NULL, &d, &envp), 0);
	assert_string_equal(envp[0], "HOME=/elsewhere");
	dotenv_envp_free(envp);
	dotenv_free(&d);
}

static void test_load_file(void **state)
{
	static const char text[] = "A=1\nB=oops\"\nC='x\n";
	char path[] = "/tmp/nsreload-dotenv-XXXXXX";
	struct dotenv d = { 0 };
	char err[512];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);

	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(dotenv_load_file(path, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3: unterminated single-quoted value"));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	unlink(path);
	assert_int_equal(dotenv_load_file(path, &d, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(d.n, 0);
}

/*
 * $VAR expansion as godotenv v1.5 (air's library) does it: parser.go,
 * expandVariables() with expandVarRegex `(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`,
 * applied to unquoted values and to double-quoted ones (after their
 * escapes), never to single-quoted ones (extractVarValue()). A name is
 * looked up in the map of the file parsed so far, then with os.LookupEnv,
 * which after godotenv.Load's earlier files holds theirs too; else "".
 */
static void test_expansion(void **state)
{
	static const char text[] = "A=1\n"
				   "B=$A\n"
				   "C=${A}x\n"
				   "D=\"$A-${A}\\n\"\n"
				   "E='$A ${A}'\n"
				   "ESC=\\$A\n"
				   "ESC_BRACED=\"\\${A}\"\n"
				   "UNKNOWN=x${NOPE}y$NOPE\n"
				   "LOWER=$a ${a} $home\n"
				   "OPEN=${A\n"
				   "CLOSE=$A}\n"
				   "PAREN=$(A)\n"
				   "CMD=$(echo hi)\n"
				   "DOLLAR=$ and ${} and $\n"
				   "DEFAULT=${A:-d}\n"
				   "DIGIT=$1\n"
				   "BEFORE=$LATE\n"
				   "LATE=late\n"
				   "A=2\n"
				   "AFTER=$A$LATE\n"
				   "SELF=$SELF.x\n"
				   "FROM_ENV=$HOME:$PATH\n"
				   "COMMENTED=$A # $A\n";
	char *env[] = { "HOME=/root", "PATH=/bin", "LATE=env", NULL };
	struct dotenv d = { .env = env };
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(text, &d, err, sizeof(err)), 0);
	assert_var(&d, "B", "1");
	assert_var(&d, "C", "1x");
	assert_var(&d, "D", "1-1\n");
	assert_var(&d, "E", "$A ${A}");
	assert_var(&d, "ESC", "$A");
	assert_var(&d, "ESC_BRACED", "${A}");
	assert_var(&d, "UNKNOWN", "xy");
	/* Names are [A-Z0-9_]: the rest stays as written. */
	assert_var(&d, "LOWER", "$a ${a} $home");
	/* Each of '(', '{', '}' is optional on its own. */
	assert_var(&d, "OPEN", "1");
	assert_var(&d, "CLOSE", "1");
	assert_var(&d, "PAREN", "1)");
	assert_var(&d, "CMD", "$(echo hi)");
	assert_var(&d, "DOLLAR", "$ and ${} and $");
	assert_var(&d, "DEFAULT", "1:-d}");
	assert_var(&d, "DIGIT", "");
	/* Not yet in the file: the environment's. */
	assert_var(&d, "BEFORE", "env");
	/* The latest earlier definition in the file wins over the environment. */
	assert_var(&d, "AFTER", "2late");
	assert_var(&d, "SELF", ".x");
	assert_var(&d, "FROM_ENV", "/root:/bin");
	assert_var(&d, "COMMENTED", "2");
	dotenv_free(&d);
}

/* A later file sees an earlier one's variables (godotenv.Load has set them), unless the environment has them.
 */
static void test_expansion_across_files(void **state)
{
	char *env[] = { "SHADOW=env", NULL };
	struct dotenv d = { .env = env };
	char err[256] = "";

	(void)state;
	assert_int_equal(parse("FIRST=one\nSHADOW=file\n", &d, err, sizeof(err)), 0);
	assert_int_equal(parse("SECOND=$FIRST-$SHADOW\nPATH_LIKE=\"${FIRST}/bin\"\n", &d, err, sizeof(err)),
			 0);
	assert_var(&d, "SECOND", "one-env");
	assert_var(&d, "PATH_LIKE", "one/bin");
	dotenv_free(&d);
	/* Without an environment (dotenv.env NULL) only the files count. */
	assert_int_equal(parse("X=1\n", &d, err, sizeof(err)), 0);
	assert_int_equal(parse("Y=$X$HOME\n", &d, err, sizeof(err)), 0);
	assert_var(&d, "Y", "1");
	dotenv_free(&d);
}

/* Doubling a value line by line would exhaust memory: past execve()'s limit for one string, it is an error.
 */
static void test_expansion_bound(void **state)
{
	size_t n = 40;
	char *text = malloc(64 * n + 64), *p = text;
	struct dotenv d = { 0 };
	char err[256] = "";

	(void)state;
	assert_non_null(text);
	p += sprintf(p, "V0=xxxxxxxxxxxxxxxx\n");
	for (size_t i = 1; i < n; i++)
		p += sprintf(p, "V%zu=$V%zu$V%zu\n", i, i - 1, i - 1);
	assert_int_equal(parse(text, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    ".env:14: the value expands to more than 128 KiB (the kernel's limit for one "
			    "environment string)");
	assert_int_equal(d.n, 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_single_quotes_are_literal),
		cmocka_unit_test(test_lines_of_variables),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_a_key_named_export),
		cmocka_unit_test(test_merge_rules),
		cmocka_unit_test(test_envp),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_expansion_across_files),
		cmocka_unit_test(test_expansion_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
