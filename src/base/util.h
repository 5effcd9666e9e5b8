/*
 * util.h - small helpers shared by the subcommands: signal names, durations,
 * quoting and escaping text, hashing, growing arrays, reading a whole file and
 * the advice when file descriptors run out. The parsers return 0 or
 * a negative errno and write their result only on success.
 */
#ifndef NSRELOAD_UTIL_H
#define NSRELOAD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "TERM", "SIGTERM", "term" or "15". */
int sig_parse(const char *s, int *sig);
/* "TERM" for SIGTERM; "?" when unknown. */
const char *sig_name(int sig);

/*
 * The largest duration any key or flag takes: 24 days. Every duration is
 * checked against it where it is parsed, so that a value in milliseconds fits
 * wherever it lands: box_stop()'s unsigned, a signed int of milliseconds, a
 * timerfd. Without the check 4294967296ms became 0 in an unsigned: no grace.
 */
#define DURATION_MAX_MS 2073600000ull

/*
 * A duration in milliseconds: "500ms", "2s", "1.5s", "1m", "1h", Go's
 * compound form "1m30s" (units ns, us, µs, ms, s, m, h), or a bare integer,
 * which counts as milliseconds (air's kill_delay form). Rounds to the nearest
 * millisecond. Returns 0, -EINVAL when s is not a duration, -ERANGE above
 * DURATION_MAX_MS, or -EDOM for a duration that is not zero but rounds to 0
 * ms, which would silently mean "no grace" or "no timeout".
 */
int duration_parse_ms(const char *s, unsigned long long *ms);
/* Why duration_parse_ms() refused a value, for "KEY: <why>, got ...": -ERANGE and -EDOM; NULL otherwise. */
const char *duration_strerror(int r);

/*
 * Bytes of the valid UTF-8 sequence that starts at s, or 0 when it is not
 * one (overlongs, surrogates and code points above U+10FFFF are not).
 */
size_t utf8_sequence_length(const unsigned char *s);

/*
 * Writes s in double quotes, escaped so that the result is both a JSON string
 * and a TOML basic string: quote, backslash and control characters (C0, DEL,
 * and the hidden ones of fput_text) are escaped, and bytes that are not UTF-8
 * become U+FFFD.
 */
void fput_quoted(FILE *f, const char *s);

/*
 * Writes text that came from outside (a file name, a command, a value from
 * the configuration) so that it stays one harmless piece of a line on a
 * terminal or in a text log: tab, newline and CR as \t \n \r, the other C0
 * controls, DEL and bytes that are not UTF-8 as \xNN, and the characters that
 * change what a reader sees without being seen as \uXXXX: C1 controls (U+009B
 * is CSI to some terminals), U+2028/U+2029 and the bidi controls. A file
 * named "a\n[main] ok" can then neither forge a log line nor send escapes to
 * the terminal. Backslashes stay as written: this is for people to read, not
 * to parse back (the JSON log is for that).
 */
void fput_text(FILE *f, const char *s);
/* fput_text() into buf, which is always terminated; cut before an escape that does not fit. Returns buf. */
const char *text_escape(char *buf, size_t size, const char *s);

/*
 * FNV-1a over len bytes, continuing from h: start from HASH_FNV_INIT (or a
 * seed mixed into it). For the hash tables of paths and keys, not for
 * anything an attacker should not be able to collide.
 */
#define HASH_FNV_INIT 1469598103934665603ull
uint64_t hash_fnv1a(uint64_t h, const char *s, size_t len);

/*
 * Grows an array that is full: returns v reallocated to twice *cap elements
 * of size bytes (4 when *cap is 0) and updates *cap, or NULL (v and *cap
 * untouched) when memory or size_t runs out. Doubling keeps n appends O(n)
 * even where every realloc moves the block, as ASan's does; growing by one
 * element made a 300,000-element list take minutes there.
 */
void *array_grow(void *v, size_t *cap, size_t size);

/* Frees a NULL-terminated array of malloc'd strings, and the array. NULL is fine. */
void strv_free(char **v);

/*
 * Whether `/bin/sh -c line` would run no more than the words of line split
 * at spaces, so that the shell can be left out: the app then gets the stop
 * signal itself (dash forks for a -c line, so a signal to the shell never
 * reaches it). Conservative on purpose: every byte is a letter, a digit, a
 * space or one of _ . / = : , + @ % -; there is at least one word; and the
 * first word holds no '=' (an assignment such as APP_ENV=dev) and is not a
 * shell reserved word or builtin (exec, cd, ., export, if, ...). Anything
 * else (quotes, $, `, ;, |, &, <, >, *, ?, [, ~, (, ), {, }, tab, newline,
 * backslash, #, bytes above 127) keeps the shell.
 */
bool shell_line_is_plain(const char *line);
/*
 * The words of a line that shell_line_is_plain(), NULL-terminated, for
 * execvp(); free with strv_free(). NULL when out of memory.
 */
char **shell_line_words(const char *line);

/*
 * Reads the whole file path, opened with O_RDONLY | O_CLOEXEC | oflags
 * (O_NOFOLLOW, say), into *buf (malloc'd, with a '\0' after its *len bytes,
 * for parsers that want one). Returns 0, -EFBIG when it holds more than max
 * bytes (nothing past max + 4 KiB is read), or -errno.
 */
int read_file(const char *path, int oflags, size_t max, char **buf, size_t *len);

/*
 * The advice for EMFILE, in one place: "out of file descriptors (ulimit -n
 * is 1024)" + what + "; raise it with 'ulimit -n 4096' before starting
 * nsreload", with what ("" or " while watching src/x: ...") saying what
 * could not be done. Returns buf.
 */
const char *nofile_advice(char *buf, size_t size, const char *what);

#endif
