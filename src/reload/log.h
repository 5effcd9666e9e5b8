/*
 * log.h - what 'nsreload run' tells the user: air-style coloured prefixes
 * for main, watcher, build and runner in text form, or one JSON object per
 * event (--log-format=json) for CI.
 *
 * THE CONTRACT
 *  - One struct log per run, made from the configuration after
 *    config_finalize(): [color] names the prefix colours, [log] time adds an
 *    HH:MM:SS prefix, silent hides everything, main_only hides everything but
 *    main. JSON events ignore silent and main_only: CI asked for them.
 *  - Colour: LOG_COLOR_ALWAYS and NEVER are final; AUTO colours only when the
 *    output is a terminal and NO_COLOR is unset or empty (no-color.org).
 *  - Everything goes to the FILE given (stderr for run, as air), one line per
 *    call, flushed, so that it interleaves sanely with the app's own output.
 *  - Nothing here fails: a log that cannot be written is not worth stopping
 *    the loop for. log_new() returns 0 or -ENOMEM.
 *  - Text that came from outside (changed paths, commands, values from the
 *    configuration, the app's name) cannot forge a line or reach the
 *    terminal as escapes: in text form every message is written through
 *    fput_text() (util.h), in JSON every string through fput_quoted().
 *    log_output() is the exception: a build's own output is passed through
 *    as the build wrote it (compiler colours), after the [build] prefix.
 */
#ifndef NSRELOAD_LOG_H
#define NSRELOAD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;
struct log;

/* LOG_PROXY: the front's lines (frontctl.h), in main's colour. */
enum log_source { LOG_MAIN, LOG_WATCHER, LOG_BUILD, LOG_RUNNER, LOG_PROXY };

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

struct log_opts {
	FILE *out;
	enum log_format format;
	int color_mode; /* enum config_color_mode */
};

int log_new(struct log **out, const struct config *c, const struct log_opts *o);
void log_free(struct log *l);

/*
 * A message from nsreload itself (JSON: {"event":"log","source":...,"msg":...}).
 * In text, control characters anywhere in it are escaped, a newline too: one
 * call is one line. Log a multi-line text one line per call.
 */
void log_msg(struct log *l, enum log_source src, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * misc.startup_banner's text, as it is, without a prefix (control characters
 * escaped): one line per line of text; "" prints nothing. Text form only, and
 * not while log.silent.
 */
void log_banner(struct log *l, const char *text);
/* One line of a command's output (build, pre_cmd, post_cmd), without its newline. */
void log_output(struct log *l, enum log_source src, const char *line, size_t len);

/* The changed paths that start a build (count may exceed n when the list was cut). */
void log_change(struct log *l, char *const *paths, size_t n, size_t count);
void log_build_start(struct log *l, size_t changed_count);
/* status is a wait status; duration in ms from build_start. */
void log_build_end(struct log *l, uint64_t duration_ms, int status);
/* A [[build.rules]] command starts, told the paths that changed. */
void log_rule_start(struct log *l, const char *name, const char *cmd, char *const *paths, size_t npaths);
/* status is a wait status; duration in ms from rule_start. */
void log_rule_end(struct log *l, const char *name, uint64_t duration_ms, int status);
void log_run_start(struct log *l, pid_t pid, const char *rung);
/* A spare box of kind ("build", "run") named box was made while idle (spare.h): JSON only. */
void log_box_spare(struct log *l, const char *kind, const char *box);
/* The app's main process ended by itself (not stopped by us), with its wait status. */
void log_run_exit(struct log *l, pid_t pid, int status);
void log_run_stop(struct log *l, pid_t pid, const char *rung, uint64_t stop_ms, bool killed);

struct box_limit_report;

/*
 * A limit of a box was hit (box.h: BOX_EV_OOM or BOX_EV_PIDS_MAX in ev, the
 * counters in rep): who is "app", "build", a rule's name. Text: "app killed
 * by the OOM killer: memory_max 64M, peak 64M", "app hit pids_max 32: 5
 * forks refused"; JSON: {"event":"oom",...} and {"event":"pids_max",...}.
 */
void log_limit(struct log *l, const char *who, pid_t pid, unsigned ev, const struct box_limit_report *rep);
/* log_limit()'s text for one event bit, for a caller without a log (exec). */
void log_limit_text(char *buf, size_t size, const char *who, unsigned ev, const struct box_limit_report *rep);
/* Bytes as a size that reads back: "64M", "1536K", "100" (powers of 1024, as memory.max). */
void log_size(char *buf, size_t size, uint64_t bytes);

/* "exit status 2", "killed by signal 9 (KILL)". */
void log_describe_status(int status, char *buf, size_t size);

#endif
