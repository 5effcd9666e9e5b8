/*
 * The run log with text from outside in it: a changed file named
 * "x\n[main] forged" or holding ESC sequences must neither forge a line of
 * the text log nor reach the terminal as a control sequence; JSON escapes the
 * same characters. A build's own output is passed through as it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

struct captured {
	char *text;
	size_t len;
	FILE *f;
	struct log *log;
	struct config c;
};

static void open_log(struct captured *cap, enum log_format format)
{
	memset(cap, 0, sizeof(*cap));
	assert_int_equal(config_init(&cap->c), 0);
	cap->f = open_memstream(&cap->text, &cap->len);
	assert_non_null(cap->f);
	assert_int_equal(log_new(&cap->log, &cap->c,
				 &(struct log_opts){
					 .out = cap->f, .format = format, .color_mode = CONFIG_COLOR_NEVER }),
			 0);
}

/* Closes the log; cap->text holds what it wrote. */
static void close_log(struct captured *cap)
{
	log_free(cap->log);
	fclose(cap->f);
	config_free(&cap->c);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every byte a terminal acts on: C0 but newline, DEL, and C1 in UTF-8 (0xc2 0x80..0x9f). */
static void assert_no_control_bytes(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			fprintf(stderr, "control byte 0x%02x at %zu in:\n%s\n", *p,
				(size_t)(p - (const unsigned char *)s), s);
		assert_false((*p < 0x20 && *p != '\n') || *p == 0x7f);
		assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
}

static void test_text_log_escapes_changed_paths(void **state)
{
	char *forged[] = { "x\n[main] forged\033[31m.go", "y\r\033]0;title\007\xc2\x9b"
							  "31m\xff\xe2\x80\xae.go" };
	struct captured cap;

	(void)state;
	open_log(&cap, LOG_FORMAT_TEXT);
	log_change(cap.log, forged, 1, 1);
	log_change(cap.log, &forged[1], 1, 3);
	close_log(&cap);
	assert_no_control_bytes(cap.text);
	assert_int_equal(count_lines(cap.text), 2);
	assert_null(strstr(cap.text, "\n[main] forged"));
	assert_string_equal(
		cap.text,
		"[watcher] x\\n[main] forged\\x1b[31m.go has changed\n"
		"[watcher] y\\r\\x1b]0;title\\x07\\u009b31m\\xff\\u202e.go and 2 more have changed\n");
	free(cap.text);
}

/* Whatever a message quotes (a command, a path, a value, the app's name) comes out on its one line. */
static void test_text_log_escapes_every_message(void **state)
{
	const char *cmd = "make\nnsreload: [main] done\033[2J";
	struct captured cap;

	(void)state;
	open_log(&cap, LOG_FORMAT_TEXT);
	log_msg(cap.log, LOG_BUILD, "cannot start '%s': %s", cmd, "No such file or directory");
	log_msg(cap.log, LOG_RUNNER, "cannot start %s: %s; nothing runs until the next build", "./app\t\x7f",
		"Permission denied");
	close_log(&cap);
	assert_no_control_bytes(cap.text);
	assert_string_equal(
		cap.text,
		"[build] cannot start 'make\\nnsreload: [main] done\\x1b[2J': No such file or directory\n"
		"[runner] cannot start ./app\\t\\x7f: Permission denied; nothing runs until the next "
		"build\n");
	free(cap.text);
}

/* JSON already escaped C0 and DEL; C1 and the bidi controls are escaped too, and bad UTF-8 is U+FFFD. */
static void test_json_log_escapes_the_same(void **state)
{
	char *paths[] = { "x\n[main] forged\033[31m\xc2\x9b\xe2\x80\xae\xff\x7f.go" };
	struct captured cap;

	(void)state;
	open_log(&cap, LOG_FORMAT_JSON);
	log_change(cap.log, paths, 1, 1);
	log_msg(cap.log, LOG_MAIN, "%s", paths[0]);
	close_log(&cap);
	assert_no_control_bytes(cap.text);
	assert_int_equal(count_lines(cap.text), 2);
	assert_non_null(strstr(
		cap.text, "\"paths\":[\"x\\n[main] forged\\u001b[31m\\u009b\\u202e\\ufffd\\u007f.go\"]"));
	assert_non_null(
		strstr(cap.text, "\"msg\":\"x\\n[main] forged\\u001b[31m\\u009b\\u202e\\ufffd\\u007f.go\""));
	free(cap.text);
}

/* The choice: a build's own output keeps its bytes (compiler colours), after our prefix. */
static void test_build_output_is_passed_through(void **state)
{
	static const char line[] = "\033[31merror\033[0m: main.go:3";
	struct captured cap;

	(void)state;
	open_log(&cap, LOG_FORMAT_TEXT);
	log_output(cap.log, LOG_BUILD, line, strlen(line));
	close_log(&cap);
	assert_string_equal(cap.text, "[build] \033[31merror\033[0m: main.go:3\n");
	free(cap.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_log_escapes_changed_paths),
		cmocka_unit_test(test_text_log_escapes_every_message),
		cmocka_unit_test(test_json_log_escapes_the_same),
		cmocka_unit_test(test_build_output_is_passed_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
