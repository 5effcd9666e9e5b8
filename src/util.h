/*
 * util.h - small parsers shared by the subcommands: signal names and
 * durations. Each returns 0 or -EINVAL and writes its result only on success.
 */
#ifndef NSRELOAD_UTIL_H
#define NSRELOAD_UTIL_H

/* "TERM", "SIGTERM", "term" or "15". */
int sig_parse(const char *s, int *sig);
/* "TERM" for SIGTERM; "?" when unknown. */
const char *sig_name(int sig);

/*
 * A duration in milliseconds: "500ms", "2s", "1.5s", "1m", "1h", or a bare
 * integer, which counts as milliseconds (air's kill_delay form).
 */
int duration_parse_ms(const char *s, unsigned long long *ms);

#endif
