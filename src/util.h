/*
 * util.h - small parsers shared by the subcommands: signal names and
 * durations. Each returns 0 or -EINVAL and writes its result only on success.
 */
#ifndef NSRELOAD_UTIL_H
#define NSRELOAD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "TERM", "SIGTERM", "term" or "15". */
int sig_parse(const char *s, int *sig);
/* "TERM" for SIGTERM; "?" when unknown. */
const char *sig_name(int sig);

/*
 * A duration in milliseconds: "500ms", "2s", "1.5s", "1m", "1h", Go's
 * compound form "1m30s", or a bare integer, which counts as milliseconds
 * (air's kill_delay form).
 */
int duration_parse_ms(const char *s, unsigned long long *ms);

/*
 * Bytes of the valid UTF-8 sequence that starts at s, or 0 when it is not
 * one (overlongs, surrogates and code points above U+10FFFF are not).
 */
size_t utf8_sequence_length(const unsigned char *s);

/*
 * Writes s in double quotes, escaped so that the result is both a JSON string
 * and a TOML basic string: quote, backslash and control characters are
 * escaped, and bytes that are not UTF-8 become U+FFFD.
 */
void fput_quoted(FILE *f, const char *s);

/*
 * FNV-1a over len bytes, continuing from h: start from HASH_FNV_INIT (or a
 * seed mixed into it). For the hash tables of paths and keys, not for
 * anything an attacker should not be able to collide.
 */
#define HASH_FNV_INIT 1469598103934665603ull
uint64_t hash_fnv1a(uint64_t h, const char *s, size_t len);

/* Frees a NULL-terminated array of malloc'd strings, and the array. NULL is fine. */
void strv_free(char **v);

#endif
