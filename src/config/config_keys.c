/*
 * The key table: everything nsreload knows about each key, in one place, and
 * finding a key by name (or the closest one, for "did you mean"). How a value
 * of each type is read, checked and freed is config_value.c.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "opts.h"

static const char *const on_busy_choices[] = { "queue", "restart", "do-nothing", "signal", NULL };
static const char *const color_mode_choices[] = { "auto", "always", "never", NULL };
/* The order of enum box_rung (box.h); a unit test checks it against box_rung_name(). */
static const char *const box_mode_choices[] = { "auto",          "cgroup2", "cgroup2+pidns", "cgroup1",
						"cgroup1+pidns", "pidns",   "pgroup",        NULL };
/* The order of enum config_stop_scope. */
static const char *const box_stop_scope_choices[] = { "all", "main", NULL };
/* The order of enum watch_watcher (watch.h). */
/* The order of enum config_socket_mode. */
static const char *const socket_mode_choices[] = { "fds", "tcp", NULL };
static const char *const build_watcher_choices[] = { "auto", "inotify", "fanotify", "poll", NULL };

#define AT(field)   offsetof(struct config, field)
#define RULE(field) offsetof(struct config_rule, field)
#define SAME        "same"

static const struct config_key keys[] = {
	/* top level */
	{ "root", CONFIG_T_STRING, 0, AT(root), ".", NULL, SAME,
	  "Watch root; tmp_dir, entrypoint and env_files are relative to it. Builds and the app run in "
	  "the directory nsreload was started in, as in air." },
	{ "tmp_dir", CONFIG_T_STRING, 0, AT(tmp_dir), "tmp", NULL, SAME,
	  "Holds build output and logs; never watched. Its name goes into the defaults of build.cmd, "
	  "build.bin "
	  "and build.exclude_dir." },
	{ "testdata_dir", CONFIG_T_STRING, 0, AT(testdata_dir), "testdata", NULL, SAME, "Never watched." },
	{ "env_files", CONFIG_T_LIST, 0, AT(env_files), "", NULL, "same (air's example file has [\".env\"])",
	  "dotenv files loaded before each build and run ($VAR expanded as godotenv does); variables already "
	  "in the environment win." },
	{ "on_busy", CONFIG_T_CHOICE, 0, AT(on_busy), "queue", on_busy_choices, NULL,
	  "What a change does while a build is running: queue (build again once it is done), restart "
	  "(kill the build and start over), do-nothing, or signal (send box.stop_signal to the app)." },

	/* [build]: commands */
	{ "build.pre_cmd", CONFIG_T_LIST, CONFIG_K_PER_OS, AT(build.pre_cmd), "", NULL, SAME,
	  "Shell commands run in order before every build." },
	{ "build.cmd", CONFIG_T_STRING, CONFIG_K_PER_OS | CONFIG_K_TMP_DIR, AT(build.cmd),
	  "go build -o ./tmp/main .", NULL, SAME,
	  "The build command, run with /bin/sh -c; empty: no build." },
	{ "build.post_cmd", CONFIG_T_LIST, CONFIG_K_PER_OS, AT(build.post_cmd), "", NULL, SAME,
	  "Shell commands run when nsreload is told to stop, before the app is stopped." },
	{ "build.bin", CONFIG_T_STRING, CONFIG_K_PER_OS | CONFIG_K_TMP_DIR, AT(build.bin), "./tmp/main", NULL,
	  "same (air deprecates it for entrypoint)",
	  "The app: a path made absolute against the directory nsreload was started in (\"app\" is ./app), "
	  "run with args_bin; used when full_bin and entrypoint are empty." },
	{ "build.entrypoint", CONFIG_T_ARGV, CONFIG_K_PER_OS, AT(build.entrypoint), "", NULL, SAME,
	  "The app and its default arguments, a string or an array; a bare name found in PATH runs from "
	  "there, else it is relative to root. Joined with args_bin into one line for /bin/sh -c, as in "
	  "air. Wins over bin." },
	{ "build.full_bin", CONFIG_T_STRING, CONFIG_K_PER_OS, AT(build.full_bin), "", NULL, SAME,
	  "A shell line that runs the app, such as \"APP_ENV=dev ./tmp/main\". Wins over entrypoint and "
	  "bin." },
	{ "build.args_bin", CONFIG_T_LIST, CONFIG_K_PER_OS, AT(build.args_bin), "", NULL, SAME,
	  "Extra arguments for the app, joined to its line with spaces: $VAR and quotes are the shell's." },
	{ "build.log", CONFIG_T_STRING, 0, AT(build.log), "build-errors.log", NULL, SAME,
	  "Build errors are appended to this file, inside tmp_dir." },

	/* [build]: what is watched */
	{ "build.include_ext", CONFIG_T_LIST, 0, AT(build.include_ext), "go,tpl,tmpl,html", NULL, SAME,
	  "Extensions to watch, without the dot; \"*\" watches every file but the built binary." },
	{ "build.exclude_dir", CONFIG_T_LIST, CONFIG_K_TMP_DIR, AT(build.exclude_dir),
	  "assets,tmp,vendor,testdata", NULL, SAME,
	  "Directories never watched, as exact paths relative to root; hidden directories are always "
	  "skipped." },
	{ "build.include_dir", CONFIG_T_LIST, 0, AT(build.include_dir), "", NULL, SAME,
	  "Watch only these directories, which may lie outside root." },
	{ "build.include_file", CONFIG_T_LIST, 0, AT(build.include_file), "", NULL, SAME,
	  "Individual files to watch." },
	{ "build.exclude_file", CONFIG_T_LIST, 0, AT(build.exclude_file), "", NULL, SAME,
	  "Globs on the relative path of files not to watch." },
	{ "build.exclude_regex", CONFIG_T_LIST, 0, AT(build.exclude_regex), "_test.go", NULL, SAME,
	  "Regular expressions (Go RE2 syntax) matched against the absolute path of files not to watch." },
	{ "build.exclude_unchanged", CONFIG_T_BOOL, 0, AT(build.exclude_unchanged), "false", NULL,
	  "same (air's example file has true)", "Skip the rebuild when a file's content has not changed." },
	{ "build.follow_symlink", CONFIG_T_BOOL, 0, AT(build.follow_symlink), "false", NULL,
	  "same (air's example file has true)", "Follow symlinked directories." },
	{ "build.poll", CONFIG_T_BOOL, CONFIG_K_UNSET_AUTO, AT(build.poll), "false", NULL,
	  "same meaning set; air never polls by itself",
	  "Poll for changes instead of using inotify. Unset: auto, which polls only the subtrees on file "
	  "systems where inotify misses changes made elsewhere (NFS, SMB, 9p, virtiofs and other FUSE, "
	  "vboxsf) and says so; true polls everywhere, false never." },
	{ "build.poll_interval", CONFIG_T_MS, CONFIG_K_MS_INT, AT(build.poll_interval_ms), "0", NULL, SAME,
	  "Polling interval in milliseconds; anything below 500 means 500." },
	{ "build.watcher", CONFIG_T_CHOICE, 0, AT(build.watcher), "auto", build_watcher_choices, NULL,
	  "How changes are seen: auto, inotify, fanotify or poll. auto uses fanotify (one mark per file "
	  "system, set-up that does not grow with the tree) where nsreload may (CAP_SYS_ADMIN, Linux 5.9+) "
	  "and the tree has more than 10,000 directories, else inotify; inotify and auto poll as build.poll "
	  "says; poll polls everywhere. 'nsreload doctor' says which and why." },

	/* [build]: timing and restarts */
	{ "build.delay", CONFIG_T_MS, CONFIG_K_MS_INT | CONFIG_K_ZERO_IS_ZERO, AT(build.delay_ms), "50", NULL,
	  "air's default is 1000 ms and 0 there means the default; nsreload's default is 50 ms and 0 means "
	  "0. air sleeps a fixed delay after the first change; nsreload debounces (each change restarts the "
	  "wait, longer in a burst)",
	  "Debounce: how long the tree must stay quiet after a change before the rebuild, in milliseconds; "
	  "in a burst, as long as it has lasted, or 25 ms per change after its first, up to 500 ms." },
	{ "build.stop_on_error", CONFIG_T_BOOL, 0, AT(build.stop_on_error), "false", NULL,
	  "same (air's example file has true)",
	  "When the build fails, stop the old app; otherwise it keeps running." },
	{ "build.send_interrupt", CONFIG_T_BOOL, CONFIG_K_FOLDED, AT(build.send_interrupt), "false", NULL,
	  "air sends INT when true and KILL at once when false; nsreload always sends box.stop_signal first, "
	  "and true makes that INT",
	  "Stop the app with SIGINT: sets box.stop_signal to INT." },
	{ "build.kill_delay", CONFIG_T_MS, CONFIG_K_GO_DUR | CONFIG_K_FOLDED, AT(build.kill_delay_ms), "0",
	  NULL,
	  "same forms (500 is 500 ms, \"2s\"; an integer of 1000000 or more is nanoseconds). air uses it "
	  "only "
	  "with send_interrupt and kills at once when it is 0; nsreload ignores 0 (box.stop_timeout stays)",
	  "Grace between the stop signal and the kill: a value above 0 sets box.stop_timeout." },
	{ "build.rerun", CONFIG_T_BOOL, 0, AT(build.rerun), "false", NULL, SAME,
	  "Start the app again whenever it exits, whatever its exit status." },
	{ "build.rerun_delay", CONFIG_T_MS, CONFIG_K_MS_INT, AT(build.rerun_delay_ms), "500", NULL, SAME,
	  "Wait before such a restart, in milliseconds." },
	{ "build.ignore_dangerous_root_dir", CONFIG_T_BOOL, 0, AT(build.ignore_dangerous_root_dir), "false",
	  NULL, SAME, "Allow root to be /, ~ or /root." },

	/* [log] */
	{ "log.time", CONFIG_T_BOOL, 0, AT(log.time), "false", NULL, SAME,
	  "Prefix nsreload's own lines with the time (HH:MM:SS)." },
	{ "log.main_only", CONFIG_T_BOOL, 0, AT(log.main_only), "false", NULL, SAME,
	  "Show only nsreload's main messages, not the watcher's, build's or runner's." },
	{ "log.silent", CONFIG_T_BOOL, 0, AT(log.silent), "false", NULL, SAME,
	  "Print nothing of nsreload's own." },

	/* [color] */
	{ "color.main", CONFIG_T_STRING, 0, AT(color.main), "magenta", NULL, SAME,
	  "Colour of nsreload's main messages." },
	{ "color.watcher", CONFIG_T_STRING, 0, AT(color.watcher), "cyan", NULL, SAME,
	  "Colour of the watcher's messages." },
	{ "color.build", CONFIG_T_STRING, 0, AT(color.build), "yellow", NULL, SAME,
	  "Colour of the build's messages." },
	{ "color.runner", CONFIG_T_STRING, 0, AT(color.runner), "green", NULL, SAME,
	  "Colour of the runner's messages." },
	{ "color.app", CONFIG_T_STRING, 0, AT(color.app), "", NULL,
	  "same: air parses it and never uses it (cfgColor.App is not in colorInfo())",
	  "Read and ignored, as in air: the app's output is passed on unchanged." },
	{ "color.mode", CONFIG_T_CHOICE, CONFIG_K_EMPTY_AUTO, AT(color.mode), "auto", color_mode_choices,
	  SAME,
	  "auto (colour on a terminal), always or never; \"\" is auto, as in air (air init writes it)." },

	/* [misc] */
	{ "misc.clean_on_exit", CONFIG_T_BOOL, 0, AT(misc.clean_on_exit), "false", NULL,
	  "same (air's example file has true)", "Delete tmp_dir when nsreload exits." },
	{ "misc.startup_banner", CONFIG_T_OPT_STRING, 0, AT(misc.startup_banner), NULL, NULL, SAME,
	  "A banner printed at start: unset shows nsreload's (its name and version), \"\" shows none, and "
	  "any "
	  "other text is printed instead (air's README, \"Startup banner\")." },

	/* [screen] */
	{ "screen.clear_on_rebuild", CONFIG_T_BOOL, 0, AT(screen.clear_on_rebuild), "false", NULL,
	  "same (air's example file has true)", "Clear the screen before each rebuild." },
	{ "screen.keep_scroll", CONFIG_T_BOOL, 0, AT(screen.keep_scroll), "true", NULL, SAME,
	  "Keep the scrollback when clearing (ESC[2J; false sends ESC c)." },

	/* [proxy] */
	{ "proxy.enabled", CONFIG_T_BOOL, 0, AT(proxy.enabled), "false", NULL, SAME,
	  "Run a reverse proxy that reloads the browser after each restart and shows build errors." },
	{ "proxy.proxy_port", CONFIG_T_PORT, 0, AT(proxy.proxy_port), "0", NULL, SAME,
	  "Port the proxy listens on." },
	{
		"proxy.app_port",
		CONFIG_T_PORT,
		0,
		AT(proxy.app_port),
		"0",
		NULL,
		SAME,
		"Port the app listens on.",
	},
	{
		"proxy.app_start_timeout",
		CONFIG_T_MS,
		CONFIG_K_MS_INT,
		AT(proxy.app_start_timeout_ms),
		"5000",
		NULL,
		SAME,
		"How long the proxy waits for the app to listen, in milliseconds.",
	},

	/* [socket]: nsreload's own */
	{ "socket.listen", CONFIG_T_LIST, 0, AT(socket.listen), "", NULL, NULL,
	  "Addresses nsreload listens on once, for every run: \"127.0.0.1:8080\" or \"8080\" (127.0.0.1). "
	  "The sockets never close across restarts, so the kernel queues connections while no run "
	  "accepts." },
	{ "socket.mode", CONFIG_T_CHOICE, 0, AT(socket.mode), "fds", socket_mode_choices, NULL,
	  "fds: each run gets the sockets as fd 3 onwards with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID "
	  "(systemd's socket activation); tcp: nsreload accepts and splices each connection to "
	  "socket.app_port, holding new ones while the app restarts." },
	{ "socket.app_port", CONFIG_T_PORT, 0, AT(socket.app_port), "0", NULL, NULL,
	  "tcp mode: the port the app listens on, on 127.0.0.1." },

	/* [box]: nsreload's own */
	{ "box.mode", CONFIG_T_CHOICE, 0, AT(box.mode), "auto", box_mode_choices, NULL,
	  "Containment: auto (the best rung this host allows), cgroup2, cgroup2+pidns, cgroup1, "
	  "cgroup1+pidns, "
	  "pidns or pgroup." },
	{ "box.stop_signal", CONFIG_T_SIGNAL, 0, AT(box.stop_signal), "TERM", NULL,
	  "build.send_interrupt = true means INT; without it air sends KILL at once",
	  "Signal that asks the app to stop; the box is killed box.stop_timeout later." },
	{ "box.stop_timeout", CONFIG_T_MS, 0, AT(box.stop_timeout_ms), "5s", NULL,
	  "build.kill_delay, which air uses only with send_interrupt",
	  "Grace after box.stop_signal before the whole box is killed." },
	{ "box.memory_max", CONFIG_T_BYTES, 0, AT(box.memory_max), "max", NULL, NULL,
	  "Memory limit of the app's box (memory.max; swap refused): bytes, a size such as \"512M\", or "
	  "\"max\". Past it the OOM killer ends the app, and nsreload says so." },
	{ "box.pids_max", CONFIG_T_LIMIT, 0, AT(box.pids_max), "max", NULL, NULL,
	  "Process and thread limit of the app's box (pids.max), or \"max\". Forks refused at it are "
	  "reported." },
	{ "box.cpu_max", CONFIG_T_CPU, 0, AT(box.cpu_max), "max", NULL, NULL,
	  "CPU limit of the app's box, as systemd's CPUQuota= (\"50%\" of one CPU, \"200%\" two) or "
	  "cpu.max (\"QUOTA PERIOD\" in microseconds), or \"max\"." },
	{ "box.limit_builds", CONFIG_T_BOOL, 0, AT(box.limit_builds), "false", NULL, NULL,
	  "Give builds, [[build.rules]] commands, pre_cmd and post_cmd the same limits as the app." },
	{ "box.limits_required", CONFIG_T_BOOL, 0, AT(box.limits_required), "true", NULL, NULL,
	  "Refuse to start when a limit cannot be applied on this host (the message says why and how to "
	  "fix it); false runs without that limit and says so." },
	{ "box.pin_sessions", CONFIG_T_BOOL, 0, AT(box.pin_sessions), "true", NULL, NULL,
	  "pgroup rung: make setsid a no-op so that nothing leaves the session; setpgid stays allowed "
	  "for job control (false is exec's --no-pin)." },
	{ "box.cgroup_parent", CONFIG_T_STRING, 0, AT(box.cgroup_parent), "", NULL, NULL,
	  "Cgroup v2 directory under which the cgroup rungs make their boxes (a delegated subtree, say). "
	  "Empty: $NSRELOAD_CGROUP_PARENT, else nsreload's own cgroup." },
	{ "box.stop_scope", CONFIG_T_CHOICE, 0, AT(box.stop_scope), "all", box_stop_scope_choices,
	  "nsreload only; air sends its signals to the app's whole process group",
	  "Who gets box.stop_signal: all (every process in the box; the rest get until box.stop_timeout "
	  "when the main process exits first) or main (the main process only; what it leaves is killed "
	  "when it exits)." },
};

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

static const struct config_key rule_keys[] = {
	{ "name", CONFIG_T_STRING, 0, RULE(name), "", NULL, SAME,
	  "A name for messages; empty: rule-N, N counting from 0 in the file's order." },
	{ "cmd", CONFIG_T_STRING, 0, RULE(cmd), "", NULL, SAME,
	  "Required. The shell command (/bin/sh -c, in a box of its own) a matching change runs instead "
	  "of a rebuild." },
	{ "include_dir", CONFIG_T_LIST, 0, RULE(include_dir), "", NULL, SAME,
	  "Directories (relative to root) whose files the rule takes; watched even when exclude_dir "
	  "lists them." },
	{ "include_ext", CONFIG_T_LIST, 0, RULE(include_ext), "", NULL, SAME,
	  "Extensions the rule takes, without the dot; \"*\" takes any." },
	{ "include_file", CONFIG_T_LIST, 0, RULE(include_file), "", NULL, SAME,
	  "Files (relative to root) the rule takes." },
	{ "exclude_regex", CONFIG_T_LIST, 0, RULE(exclude_regex), "", NULL, SAME,
	  "Regular expressions matched against the absolute path: a file matched is not the rule's." },
	{ "delay", CONFIG_T_MS, CONFIG_K_MS_INT, RULE(delay_ms), "1000", NULL,
	  "air waits delay after the first change, and 0 means 1000 there (in an .air.toml here too)",
	  "Debounce of the rule, in milliseconds, after the last change." },
};

size_t config_key_count(void)
{
	return sizeof(keys) / sizeof(keys[0]);
}

const struct config_key *config_key_at(size_t i)
{
	return i < config_key_count() ? &keys[i] : NULL;
}

const struct config_key *config_key_find(const char *name)
{
	for (size_t i = 0; i < config_key_count(); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

size_t config_key_index(const struct config_key *k)
{
	return (size_t)(k - keys);
}

size_t config_rule_key_count(void)
{
	return sizeof(rule_keys) / sizeof(rule_keys[0]);
}

const struct config_key *config_rule_key_at(size_t i)
{
	return i < config_rule_key_count() ? &rule_keys[i] : NULL;
}

void *config_slot(const struct config_key *k, void *base)
{
	return (char *)base + k->offset;
}

const void *config_slot_const(const struct config_key *k, const void *base)
{
	return (const char *)base + k->offset;
}

/* ---- keys that are not implemented yet ---- */

bool config_key_in_use(const struct config *c, const struct config_key *k)
{
	const struct config_key *gate = k->needs ? config_key_find(k->needs) : NULL;
	union config_scratch def = { 0 };
	char why[160];
	bool differs;

	if (!k->unimplemented || (gate && !*(const bool *)config_slot_const(gate, c)))
		return false;
	/* A default that does not parse (only when memory runs out) says nothing: no warning. */
	if (k->def && config_value_from_text(k, &def, k->def, 0, why, sizeof(why)) < 0)
		return false;
	differs = !config_value_equal(k, &def, config_slot_const(k, c));
	config_value_free(k, &def);
	return differs;
}

/* ---- "did you mean" ---- */

/* The tables a file may hold besides the sections of the keys (a unit test checks those are here too). */
static const char *const table_names[] = { "build",       "build.linux", "build.darwin", "build.windows",
					   "build.rules", "log",         "color",        "misc",
					   "screen",      "proxy",       "socket",       "box" };

/* Longer names are not compared: no key is this long, so none is close. */
#define SUGGEST_MAX 63 /* opts_edit_distance() takes names up to 63 bytes */

static char fold(char ch)
{
	return ch == '-' ? '_' : (char)tolower((unsigned char)ch);
}

/* Copies n bytes of s, folded, into out (SUGGEST_MAX + 1 bytes). */
static void fold_into(char *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = fold(s[i]);
	out[n] = '\0';
}

/*
 * The shared edit distance (opts.h: insertions, deletions, substitutions and
 * swaps of two neighbours), after fold(): case and '-' for '_' do not count.
 */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	char fa[SUGGEST_MAX + 1], fb[SUGGEST_MAX + 1];

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return (size_t)-1;
	fold_into(fa, a, la);
	fold_into(fb, b, lb);
	return opts_edit_distance(fa, la, fb, lb);
}

/* The part after the last dot. */
static const char *leaf(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot ? dot + 1 : name;
}

/* How close a candidate must be to the typed name (len bytes): typos, not other words. */
static size_t suggest_limit(size_t len)
{
	return len <= 5 ? 1 : 2;
}

/* The candidate nearest to name within suggest_limit(); ties go to the first. */
static const char *nearest(const char *name, const char *(*cand)(size_t), size_t n)
{
	size_t len = strlen(name), best = suggest_limit(len) + 1;
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *c = cand(i);
		size_t d, lc = strlen(c);

		/* The name itself, if it is one, was not found for another reason (a quoted "build.cmd"). */
		if (lc > SUGGEST_MAX || strcmp(c, name) == 0 || (d = edit_distance(name, len, c, lc)) >= best)
			continue;
		best = d;
		found = c;
	}
	return found;
}

static const char *key_name_at(size_t i)
{
	return i < config_key_count() ? keys[i].name : table_names[i - config_key_count()];
}

static const char *rule_key_name_at(size_t i)
{
	return rule_keys[i].name;
}

const char *config_rule_key_suggest(const char *name)
{
	return strlen(name) > SUGGEST_MAX ? NULL : nearest(name, rule_key_name_at, config_rule_key_count());
}

/* The one key whose last part is name's, written in another table; NULL when none or several. */
static const char *moved_key(const char *name)
{
	const char *found = NULL, *want = leaf(name);

	for (size_t i = 0; i < config_key_count(); i++) {
		const char *l = leaf(keys[i].name);
		if (strcmp(keys[i].name, name) == 0 || strlen(l) != strlen(want) ||
		    edit_distance(l, strlen(l), want, strlen(want)) != 0)
			continue;
		if (found)
			return NULL;
		found = keys[i].name;
	}
	return found;
}

const char *config_key_suggest(const char *name)
{
	const char *s;

	if (strlen(name) > SUGGEST_MAX)
		return NULL;
	if ((s = moved_key(name)))
		return s;
	return nearest(name, key_name_at, config_key_count() + sizeof(table_names) / sizeof(table_names[0]));
}
