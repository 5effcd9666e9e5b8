/*
 * config.h - nsreload's configuration: the model, the key table, loading
 * from TOML, flags, and printing.
 *
 * THE CONTRACT
 *
 * One struct config holds every setting. Its lifecycle is always:
 *
 *	struct config c;
 *	struct config_args a = { 0 };
 *	config_init(&c);                              defaults from the key table
 *	config_parse_args(&c, argc, argv, &a, diag);  flags (they win over the file)
 *	config_load(&c, a.file, diag);                -c FILE, .nsreload.toml, .air.toml, .config/air.toml
 *	config_warn_unimplemented(&c, diag);          flags that set keys not implemented yet
 *	config_finalize(&c);                          derived values (see below)
 *	... read c ...
 *	config_free(&c);
 *
 * config_setup() does those steps in that order ('nsreload run' then
 * calls config_set_command() with its BIN [ARGS...]). Precedence is flags >
 * file > defaults: config_load() leaves alone (but still checks) any key
 * that a flag has set.
 *
 * Every key is described once, in the key table (config_keys.c): its name
 * ("build.kill_delay"), type, default, where it lives in struct config, its
 * air equivalent and a one-line doc. Defaults, TOML loading, flags, 'nsreload
 * init', 'nsreload config' and docs/config.md all come from that table.
 *
 * WHAT THE RELOAD LOOP READS (after config_finalize):
 *  - The app: config_app_argv() gives the argv to spawn, resolving full_bin >
 *    entrypoint > bin, plus args_bin, as one /bin/sh -c line as in air (see
 *    there). Spawn it without a cwd: nothing nsreload runs changes directory.
 *  - Stopping, who: box.stop_scope (enum config_stop_scope).
 *  - Stopping: box.stop_signal and box.stop_timeout_ms are final. air's
 *    build.send_interrupt and build.kill_delay have already been folded into
 *    them, so do not read those two for behaviour (they stay for display).
 *  - Debounce: build.delay_ms (nsreload's default is 50 ms, air's is 1000;
 *    a value from a file is honoured, and 0 means 0).
 *  - Watching: build.include_* / exclude_* with tmp_dir already substituted in
 *    the defaults of cmd, bin and exclude_dir; poll_interval_ms is at least
 *    500 ms as in air.
 *  - [build.linux] has already replaced the [build] command keys; the other
 *    OS tables were checked and ignored.
 *  - Paths are as written. root is relative to the cwd, and tmp_dir, the
 *    watched paths, entrypoint and env_files are relative to root; bin and
 *    every command run in the cwd (air never changes directory).
 *  - env_files: before each build and run, dotenv_load_file() each of them
 *    into one struct dotenv and pass dotenv_envp(environ, ...) to box_spawn().
 *  - on_busy (enum config_on_busy), box.mode (an enum box_rung value),
 *    box.pin_sessions.
 *  - box.memory_max, pids_max and cpu_max (config_cpu_quota_us() and
 *    config_cpu_period_us()) become the app's struct box_limits (box.h), and
 *    the builds' too with box.limit_builds; box.limits_required is the
 *    context's !limits_optional.
 *  - [[build.rules]]: build.rules[0..nrules), each with cmd and a matcher
 *    (config_load refuses the others); src/watch/rules.h matches them and
 *    src/reload/rulejob.h runs them.
 *  - Polling: build.poll is auto while !config_key_set(c, "build.poll")
 *    (src/watch/watch.h, enum watch_poll); poll_interval_ms is at least 500.
 *  - Not implemented yet, so nothing reads them (the key table says what
 *    happens instead): [proxy]. (color.app is read and ignored, as in air.)
 *
 * Errors: functions return 0 or -errno. Problems in a file or a flag are
 * reported through a struct config_diag as complete messages such as
 * ".air.toml:12:14: build.kill_delay: expected an integer (milliseconds) or a
 * duration string like "2s", got a boolean"; the caller exits 2 on -EINVAL.
 * Unknown keys are warnings, with a "did you mean" when a key is close
 * (config_key_suggest), and the file still loads; so are keys that are not
 * implemented yet (config_key.unimplemented). The messages of one
 * file come in the order of the file, with control characters escaped
 * (fput_text in util.h): they quote keys, values and file names. A duration
 * above DURATION_MAX_MS (24 days) or one that is not zero but rounds to 0 ms
 * is an error, never a silent 0 ("no grace", "no timeout"). Nothing here exits, and nothing prints
 * except through the sink (NULL: config_diag_stderr) and the config_print_*
 * functions, to the FILE they are given.
 */
#ifndef NSRELOAD_CONFIG_H
#define NSRELOAD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "opts.h"

#define CONFIG_MAX_KEYS 80

/* A list of strings; v has n entries (room for cap) and is NULL when cap is 0. */
struct config_strlist {
	char **v;
	size_t n;
	size_t cap;
};

enum config_on_busy {
	CONFIG_ON_BUSY_QUEUE,      /* finish the build, then run again once */
	CONFIG_ON_BUSY_RESTART,    /* stop what is running and start over */
	CONFIG_ON_BUSY_DO_NOTHING, /* ignore changes while busy */
	CONFIG_ON_BUSY_SIGNAL,     /* send box.stop_signal to the app, nothing more */
};

/* box.stop_scope: who gets box.stop_signal. */
enum config_stop_scope {
	CONFIG_STOP_ALL,  /* every process in the box (systemd's default KillMode) */
	CONFIG_STOP_MAIN, /* the main process only; what it leaves is killed when it exits */
};

enum config_color_mode {
	CONFIG_COLOR_AUTO,
	CONFIG_COLOR_ALWAYS,
	CONFIG_COLOR_NEVER,
};

/* One [[build.rules]] entry: a matching change runs cmd instead of a rebuild. */
struct config_rule {
	char *name;
	char *cmd;
	struct config_strlist include_dir;
	struct config_strlist include_ext;
	struct config_strlist include_file;
	struct config_strlist exclude_regex;
	unsigned long long delay_ms;
	int line, col; /* where its [[build.rules]] header is */
};

struct config_build {
	struct config_strlist pre_cmd;
	char *cmd;
	struct config_strlist post_cmd;
	char *bin;
	struct config_strlist entrypoint;
	char *full_bin;
	struct config_strlist args_bin;
	char *log;
	struct config_strlist include_ext;
	struct config_strlist exclude_dir;
	struct config_strlist include_dir;
	struct config_strlist include_file;
	struct config_strlist exclude_file;
	struct config_strlist exclude_regex;
	bool exclude_unchanged;
	bool follow_symlink;
	bool poll; /* auto (poll the subtrees inotify cannot see) while !config_key_set(c, "build.poll") */
	unsigned long long poll_interval_ms;
	int watcher; /* build.watcher: enum watch_watcher (src/watch/watch.h), the order of its choices */
	unsigned long long delay_ms;
	bool stop_on_error;
	bool send_interrupt;
	unsigned long long kill_delay_ms;
	bool rerun;
	unsigned long long rerun_delay_ms;
	bool ignore_dangerous_root_dir;
	struct config_rule *rules;
	size_t nrules;
};

struct config_log {
	bool time;
	bool main_only;
	bool silent;
};

struct config_color {
	char *main;
	char *watcher;
	char *build;
	char *runner;
	char *app;
	int mode; /* enum config_color_mode */
};

struct config_misc {
	bool clean_on_exit;
	char *startup_banner; /* NULL: unset (show the banner); "": hide it */
};

struct config_screen {
	bool clear_on_rebuild;
	bool keep_scroll;
};

struct config_proxy {
	bool enabled;
	int proxy_port;
	int app_port;
	unsigned long long app_start_timeout_ms;
};

/* [socket]: nsreload's own (docs/run.md, "Socket hand-off"). */
enum config_socket_mode {
	CONFIG_SOCKET_FDS, /* the sockets are passed to each run as fd 3 onwards (systemd's LISTEN_FDS) */
	CONFIG_SOCKET_TCP, /* nsreload accepts and splices each connection to 127.0.0.1:socket.app_port */
};

struct config_socket {
	struct config_strlist listen; /* "HOST:PORT" or "PORT" (127.0.0.1); empty: no socket */
	int mode;                     /* enum config_socket_mode */
	int app_port;                 /* CONFIG_SOCKET_TCP: where the app listens on 127.0.0.1 */
};

struct config_box {
	int mode;                           /* an enum box_rung value (box.h): the same order as its names */
	int stop_signal;                    /* final after config_finalize */
	unsigned long long stop_timeout_ms; /* final after config_finalize */
	unsigned long long memory_max;      /* bytes; 0: no limit ("max") */
	unsigned long long pids_max;        /* 0: no limit ("max") */
	unsigned long long cpu_max;         /* config_cpu_pack(quota, period); 0: no limit ("max") */
	bool limit_builds;                  /* the limits apply to builds, rules, pre_cmd and post_cmd too */
	bool limits_required; /* a limit that cannot be had stops the start (false: run without) */
	bool pin_sessions;    /* pgroup rung: pin setsid/setpgid (exec's --no-pin is false) */
	char *cgroup_parent;  /* "": $NSRELOAD_CGROUP_PARENT, else nsreload's own cgroup */
	int stop_scope;       /* enum config_stop_scope */
};

enum config_origin_kind {
	CONFIG_FROM_DEFAULT,
	CONFIG_FROM_FILE,
	CONFIG_FROM_FLAG,
};

/* Where a key's value came from. */
struct config_origin {
	enum config_origin_kind kind;
	int line, col;    /* FILE: the key's position in config.file */
	const char *flag; /* FLAG: the option used ("--debounce"); NULL means "--<key name>" */
	int via;          /* >= 0: derived from that key (its index), whose origin this is; else -1 */
	/* > 0: an .air.toml wrote an empty or zero value on this line, and air keeps the value it had
	 * (mergo never copies an empty value; config_load.c); air_empty names it ("empty", "0", "false"). */
	int air_empty_line;
	const char *air_empty;
};

struct config {
	char *root;
	char *tmp_dir;
	char *testdata_dir;
	struct config_strlist env_files;
	int on_busy; /* enum config_on_busy */
	struct config_build build;
	struct config_log log;
	struct config_color color;
	struct config_misc misc;
	struct config_screen screen;
	struct config_proxy proxy;
	struct config_socket socket;
	struct config_box box;

	char *file;                                   /* the file loaded, as found or given; NULL: none */
	bool from_air;                                /* it is an .air.toml (not .nsreload.toml) */
	struct config_origin origin[CONFIG_MAX_KEYS]; /* by key index */
	bool argv_exact; /* config_set_command(): the app is BIN [ARGS...] exactly, run without a shell */
};

/*
 * box.cpu_max's value: the quota and period of cgroup v2's cpu.max, in
 * microseconds, in one number (period below 2^20, quota below 2^44); 0 is
 * "max". The text forms, as systemd's CPUQuota= and cpu.max write it: "50%"
 * (of one CPU, period 100 ms; "200%" is two CPUs), "max", "QUOTA" or "QUOTA
 * PERIOD" (period 1000 to 1000000, quota at least 1000).
 */
#define CONFIG_CPU_PERIOD_BITS 20
static inline unsigned long long config_cpu_pack(unsigned long long quota_us, unsigned long long period_us)
{
	return quota_us << CONFIG_CPU_PERIOD_BITS | period_us;
}
static inline unsigned long long config_cpu_quota_us(unsigned long long v)
{
	return v >> CONFIG_CPU_PERIOD_BITS;
}
static inline unsigned long long config_cpu_period_us(unsigned long long v)
{
	return v & ((1ull << CONFIG_CPU_PERIOD_BITS) - 1);
}
/*
 * The text parsers of the limit keys, for exec's flags: box.memory_max's
 * ("512M", bytes, "max" as 0), box.pids_max's (a positive integer, "max" as
 * 0), box.cpu_max's (packed as above). 0 or -EINVAL.
 */
int config_parse_bytes(const char *s, unsigned long long *out);
int config_parse_limit(const char *s, unsigned long long *out);
int config_parse_cpu(const char *s, unsigned long long *out);

/* ---- the key table ---- */

enum config_type {
	CONFIG_T_STRING,     /* char * */
	CONFIG_T_OPT_STRING, /* char *, NULL while unset */
	CONFIG_T_LIST,       /* struct config_strlist: an array of strings */
	CONFIG_T_ARGV,       /* struct config_strlist: a string (one element) or an array of strings */
	CONFIG_T_BOOL,       /* bool */
	CONFIG_T_PORT,       /* int, 0..65535 */
	CONFIG_T_MS,         /* unsigned long long ms: integer milliseconds or a duration string */
	CONFIG_T_CHOICE,     /* int: index into choices */
	CONFIG_T_SIGNAL,     /* int: a signal number; written as a name */
	CONFIG_T_BYTES,      /* unsigned long long bytes, 0 for "max"; "512M" */
	CONFIG_T_LIMIT,      /* unsigned long long, 0 for "max" */
	CONFIG_T_CPU,        /* unsigned long long, config_cpu_pack(): "50%", "max", "50000 100000" */
};

enum {
	CONFIG_K_PER_OS = 1 << 0,  /* may be overridden in [build.linux], [build.darwin], [build.windows] */
	CONFIG_K_MS_INT = 1 << 1,  /* written as integer milliseconds (air's type for it is int) */
	CONFIG_K_GO_DUR = 1 << 2,  /* air's time.Duration: an integer of 1000000 or more is nanoseconds */
	CONFIG_K_TMP_DIR = 1 << 3, /* the default names "tmp", which stands for tmp_dir */
	CONFIG_K_FOLDED = 1 << 4,  /* air's form of a [box] key: config_finalize() folds it in there */
	CONFIG_K_ZERO_IS_ZERO =
		1 << 5, /* an .air.toml's 0 means 0, not air's default (build.delay: on purpose) */
	CONFIG_K_EMPTY_AUTO =
		1 << 6, /* a choice: "" reads as its first choice, "auto" (color.mode, as air) */
	CONFIG_K_UNSET_AUTO = 1 << 7, /* a boolean that is neither until a file or flag sets it: auto */
};

struct config_key {
	const char *name; /* dotted: "build.kill_delay" */
	enum config_type type;
	unsigned flags;
	size_t offset;              /* into struct config (or struct config_rule for rule keys) */
	const char *def;            /* default in flag syntax ("go,tpl", "100ms"); NULL: none */
	const char *const *choices; /* CONFIG_T_CHOICE: NULL-terminated */
	const char *air;            /* air's equivalent and any difference; NULL: nsreload's own key */
	const char *doc;            /* one line */
	/*
	 * NULL: the key does what doc says. Otherwise it is parsed and checked but not
	 * implemented yet, and this says what happens instead ("inotify is always used").
	 * Setting it to anything but its default warns (config_load for the file,
	 * config_warn_unimplemented for flags), and docs/config.md says so.
	 */
	const char *unimplemented;
	/* With unimplemented: a boolean key without which this one does nothing, in air too
	 * (proxy.app_port needs proxy.enabled); no warning while that key is false. */
	const char *needs;
};

size_t config_key_count(void);
const struct config_key *config_key_at(size_t i);
/* NULL when no key has that name. */
const struct config_key *config_key_find(const char *name);
/*
 * For "did you mean": the name closest to name, a key that was not found (a
 * file's "build.exlude_dir", a flag's "bulid.cmd"), or NULL when none is close.
 * Candidates are the keys, the tables ("build", "build.linux", ...) and the
 * [[build.rules]] keys as "build.rules.cmd". Case and '-' for '_' do not count;
 * a key with the same last part in another table is chosen first
 * ("build.stop_signal": "box.stop_signal", "silent": "log.silent"), then one
 * at most two edits away (an adjacent swap is one edit; one for names of
 * five characters or less). The result is static.
 */
const char *config_key_suggest(const char *name);
/* Whether a file or a flag set the key name (a CONFIG_K_UNSET_AUTO key is auto while not). */
bool config_key_set(const struct config *c, const char *name);
/* The index of k in the table, for config.origin[]. */
size_t config_key_index(const struct config_key *k);
/* The keys of one [[build.rules]] entry (offsets into struct config_rule). */
size_t config_rule_key_count(void);
const struct config_key *config_rule_key_at(size_t i);

/* Where k's value lives in base (a struct config, or a struct config_rule for rule keys). */
void *config_slot(const struct config_key *k, void *base);
const void *config_slot_const(const struct config_key *k, const void *base);

/* ---- diagnostics ---- */

enum config_diag_level {
	CONFIG_DIAG_WARNING,
	CONFIG_DIAG_ERROR,
};

struct config_diag {
	void (*report)(void *data, enum config_diag_level level, const char *msg);
	void *data;
};

/* The default sink: "nsreload: warning: MSG" or "nsreload: MSG" on stderr. */
void config_diag_stderr(void *data, enum config_diag_level level, const char *msg);

/* ---- lifecycle ---- */

/* Every key at its default. Returns 0 or -ENOMEM. */
int config_init(struct config *c);
void config_free(struct config *c);

struct config_args {
	/* out */
	const char *file;     /* -c FILE, or NULL */
	int first_positional; /* index in argv of the first argument that is not an option (argc if none) */
	bool help;            /* -h or --help was given */
	/* in, optional: the command's options, its own table first and config_flag_opts among the others
	 * (opts.h); NULL: config_flag_opts alone, and every key. */
	const struct opts_cmd *cmd;
	/* in, optional: takes the command's own options (those of its tables that set no key): returns 0,
	 * or -EINVAL after reporting a problem with the value. */
	int (*own_option)(void *data, const struct opt *o, const char *value, const char *written);
	void *own_data;
};

/* config_flag_opts' id for -c/--config FILE: below 0, as every shared table's (a command's own are above). */
enum { CONFIG_OPT_FILE = -2 };

/*
 * The flags that set keys, for every command that reads the configuration:
 * -c/--config FILE, -w/--watch DIR, -e/--exts LIST, -i/--ignore GLOB,
 * --debounce DUR, --stop-signal SIG (old spelling --signal), --stop-timeout
 * DUR, --on-busy-update MODE, --box RUNG, --cgroup-parent DIR.
 */
extern const struct opt config_flag_opts[];

/*
 * Parses options from argv[1] on (argv[0] is the subcommand) with the shared
 * parser (opts.h) and applies those that set keys to c with a FLAG origin.
 * Stops at "--" (skipped) or at the first argument that is not an option.
 * Forms: --build.cmd=V, --build.cmd V, --tmp_dir V (when a->cmd takes
 * config_keys, or is NULL); list keys take comma-separated values, and
 * repeating a list flag appends (the first use replaces the default); bools
 * take true/false/1/0 or nothing (true); and config_flag_opts. Returns 0, or
 * -EINVAL after reporting an unknown option (with a suggestion when one is
 * close) or a bad value.
 */
int config_parse_args(struct config *c, int argc, char **argv, struct config_args *a,
		      const struct config_diag *d);

/*
 * The command line's BIN [ARGS...] (for 'nsreload run'): they replace the
 * configured app. BIN becomes build.entrypoint, ARGS build.args_bin, and
 * full_bin is cleared, all with a FLAG origin whose flag is "command line";
 * c->argv_exact makes config_app_argv() run them exactly, without a shell
 * (so any path works, relative to the cwd). n may be 0 (nothing changes).
 */
int config_set_command(struct config *c, char *const *argv, int n);

/*
 * Finds and loads the configuration file: path if not NULL (it must exist),
 * else the first of .nsreload.toml, .air.toml, .config/air.toml in the cwd
 * that exists; none is fine (defaults). Keys set by flags are checked but
 * keep the flag's value. Returns 0, -EINVAL when the file has errors (each
 * reported), or another -errno when it cannot be read (reported).
 */
int config_load(struct config *c, const char *path, const struct config_diag *d);
/* The same from a buffer; name is used in messages and as c->file. */
int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
		       const struct config_diag *d);

/*
 * Resolves derived values: tmp_dir into the defaults of build.cmd, build.bin
 * and build.exclude_dir; build.send_interrupt (when true) and
 * build.kill_delay (when above 0, or from a flag) into box.stop_signal and
 * box.stop_timeout, where the one from the stronger source wins (flag >
 * file > default) and the box key wins a tie; poll_interval up to 500 ms.
 * Call it once, after the flags and the file. Returns 0 or -ENOMEM.
 */
int config_finalize(struct config *c);

/*
 * Warns, naming the flag, about each key set by a flag that is not
 * implemented yet (config_key.unimplemented) to a value that would matter:
 * "--proxy.enabled: not implemented yet; no proxy runs ...". Call it
 * after config_load(), which warns about the file's, with file:line:col.
 * Nothing stops: such a key is only checked.
 */
void config_warn_unimplemented(const struct config *c, const struct config_diag *d);

/*
 * config_init, config_parse_args, config_load, config_warn_unimplemented,
 * config_finalize. On error c is freed.
 */
int config_setup(struct config *c, int argc, char **argv, struct config_args *a, const struct config_diag *d);

/*
 * The app's argv after config_finalize, NULL-terminated, for box_spawn() in
 * the cwd (config_app.c cites air v1.67.2 for each rule). One line is built
 * as air builds it: full_bin as written; else entrypoint's first word (a
 * bare name found in PATH as it is, else joined to root and made absolute)
 * and its other words; else bin made absolute against the cwd (never root,
 * never PATH); an absolute program path that is not one plain shell word is
 * single-quoted; then args_bin, all joined with spaces. That line runs as
 * {"/bin/sh", "-c", line}, so $VAR and quotes in entrypoint and args_bin are
 * the shell's, except when shell_line_is_plain() (util.h): then its words
 * are the argv and no shell stands between nsreload and the app (so the stop
 * signal reaches the app). After config_set_command() (argv_exact), BIN and
 * ARGS are the argv exactly, without a shell. The meaning is the same for
 * .nsreload.toml and .air.toml. Free it with config_argv_free(). Returns 0,
 * -ENOENT when nothing is configured to run, or -ENOMEM (also when the cwd
 * cannot be read).
 */
int config_app_argv(const struct config *c, char ***argv);
void config_argv_free(char **argv);

/* ---- printing (config_print.c) ---- */

/* One value as TOML (also valid JSON unless noted: an unset optional string prints nothing). */
void config_print_value(FILE *f, const struct config_key *k, const void *slot, bool json);
/*
 * Where a key's value came from: "default", ".air.toml:12", "flag --debounce",
 * "command line", "default via tmp_dir", ".air.toml:7 via build.kill_delay".
 */
void config_origin_text(const struct config *c, size_t key_index, char *buf, size_t size);

/* 'nsreload config': one line per key, "key = value  # origin". */
void config_print_effective(FILE *f, const struct config *c);
/* 'nsreload config --json'. */
void config_print_json(FILE *f, const struct config *c);
/* 'nsreload config --markdown': the key reference of docs/config.md. */
void config_print_markdown(FILE *f);
/*
 * 'nsreload init': a commented .nsreload.toml with every key. Values that came
 * from a file (init --from-air) say so in a comment.
 */
void config_write_toml(FILE *f, const struct config *c);

#endif
