/*
 * The key table and typed values: everything nsreload knows about each key,
 * in one place, and how a value of each type is read, checked and freed.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "util.h"

static const char *const on_busy_choices[] = { "queue", "restart", "do-nothing", "signal", NULL };
static const char *const color_mode_choices[] = { "auto", "always", "never", NULL };
/* The order of enum box_rung (box.h); a unit test checks it against box_rung_name(). */
static const char *const box_mode_choices[] = { "auto", "cgroup2", "cgroup2+pidns", "pidns", "pgroup", NULL };

#define AT(field)   offsetof(struct config, field)
#define RULE(field) offsetof(struct config_rule, field)
#define SAME        "same"

static const struct config_key keys[] = {
	/* top level */
	{ "root", CONFIG_T_STRING, 0, AT(root), ".", NULL, SAME,
	  "Watch root, and the working directory of the build and the app." },
	{ "tmp_dir", CONFIG_T_STRING, 0, AT(tmp_dir), "tmp", NULL, SAME,
	  "Holds build output and logs; never watched. Its name goes into the defaults of build.cmd, "
	  "build.bin "
	  "and build.exclude_dir." },
	{ "testdata_dir", CONFIG_T_STRING, 0, AT(testdata_dir), "testdata", NULL, SAME, "Never watched." },
	{ "env_files", CONFIG_T_LIST, 0, AT(env_files), "", NULL, "same (air's example file has [\".env\"])",
	  "dotenv files loaded before each build and run; variables already in the environment win." },
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
	  "The app, run with /bin/sh -c and args_bin; used when full_bin and entrypoint are empty." },
	{ "build.entrypoint", CONFIG_T_ARGV, CONFIG_K_PER_OS, AT(build.entrypoint), "", NULL, SAME,
	  "The app and its default arguments, a string or an array, run without a shell; a bare name is "
	  "looked "
	  "up in PATH, a path is relative to root. Wins over bin." },
	{ "build.full_bin", CONFIG_T_STRING, CONFIG_K_PER_OS, AT(build.full_bin), "", NULL, SAME,
	  "A shell line that runs the app, such as \"APP_ENV=dev ./tmp/main\". Wins over entrypoint and "
	  "bin." },
	{ "build.args_bin", CONFIG_T_LIST, CONFIG_K_PER_OS, AT(build.args_bin), "", NULL, SAME,
	  "Extra arguments for the app." },
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
	  "Regular expressions matched against the path of files not to watch." },
	{ "build.exclude_unchanged", CONFIG_T_BOOL, 0, AT(build.exclude_unchanged), "false", NULL,
	  "same (air's example file has true)", "Skip the rebuild when a file's content has not changed." },
	{ "build.follow_symlink", CONFIG_T_BOOL, 0, AT(build.follow_symlink), "false", NULL,
	  "same (air's example file has true)", "Follow symlinked directories." },
	{ "build.poll", CONFIG_T_BOOL, 0, AT(build.poll), "false", NULL, SAME,
	  "Poll for changes instead of using inotify (Docker Desktop, WSL2, network file systems)." },
	{ "build.poll_interval", CONFIG_T_MS, CONFIG_K_MS_INT, AT(build.poll_interval_ms), "0", NULL, SAME,
	  "Polling interval in milliseconds; anything below 500 means 500." },

	/* [build]: timing and restarts */
	{ "build.delay", CONFIG_T_MS, CONFIG_K_MS_INT, AT(build.delay_ms), "100", NULL,
	  "air's default is 1000 ms and 0 there means the default; nsreload's default is 100 ms and 0 means "
	  "0. air sleeps a fixed delay after the first change; nsreload debounces (each change restarts the "
	  "wait)",
	  "Debounce: how long the tree must stay quiet after a change before the rebuild, in milliseconds." },
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
	{ "color.app", CONFIG_T_STRING, 0, AT(color.app), "", NULL, "same (parsed, unused)", "Unused." },
	{ "color.mode", CONFIG_T_CHOICE, 0, AT(color.mode), "auto", color_mode_choices, SAME,
	  "auto (colour on a terminal), always or never." },

	/* [misc] */
	{ "misc.clean_on_exit", CONFIG_T_BOOL, 0, AT(misc.clean_on_exit), "false", NULL,
	  "same (air's example file has true)", "Delete tmp_dir when nsreload exits." },
	{ "misc.startup_banner", CONFIG_T_OPT_STRING, 0, AT(misc.startup_banner), NULL, NULL, SAME,
	  "A banner printed at start: unset shows nsreload's, \"\" shows none." },

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
	{ "proxy.app_port", CONFIG_T_PORT, 0, AT(proxy.app_port), "0", NULL, SAME,
	  "Port the app listens on." },
	{ "proxy.app_start_timeout", CONFIG_T_MS, CONFIG_K_MS_INT, AT(proxy.app_start_timeout_ms), "5000",
	  NULL, SAME, "How long the proxy waits for the app to listen, in milliseconds." },

	/* [box]: nsreload's own */
	{ "box.mode", CONFIG_T_CHOICE, 0, AT(box.mode), "auto", box_mode_choices, NULL,
	  "Containment: auto (the best rung this host allows), cgroup2, cgroup2+pidns, pidns or pgroup." },
	{ "box.stop_signal", CONFIG_T_SIGNAL, 0, AT(box.stop_signal), "TERM", NULL,
	  "build.send_interrupt = true means INT; without it air sends KILL at once",
	  "Signal that asks the app to stop; the box is killed box.stop_timeout later." },
	{ "box.stop_timeout", CONFIG_T_MS, 0, AT(box.stop_timeout_ms), "5s", NULL,
	  "build.kill_delay, which air uses only with send_interrupt",
	  "Grace after box.stop_signal before the whole box is killed." },
	{ "box.memory_max", CONFIG_T_BYTES, 0, AT(box.memory_max), "max", NULL, NULL,
	  "Memory limit of each box on the cgroup rungs: bytes, a size such as \"512M\", or \"max\"." },
	{ "box.pids_max", CONFIG_T_LIMIT, 0, AT(box.pids_max), "max", NULL, NULL,
	  "Process limit of each box on the cgroup rungs, or \"max\"." },
	{ "box.pin_sessions", CONFIG_T_BOOL, 0, AT(box.pin_sessions), "true", NULL, NULL,
	  "pgroup rung: make setsid and setpgid no-ops so that nothing leaves the group (false is exec's "
	  "--no-pin)." },
	{ "box.cgroup_parent", CONFIG_T_STRING, 0, AT(box.cgroup_parent), "", NULL, NULL,
	  "Cgroup v2 directory under which the cgroup rungs make their boxes (a delegated subtree, say). "
	  "Empty: $NSRELOAD_CGROUP_PARENT, else nsreload's own cgroup." },
};

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

static const struct config_key rule_keys[] = {
	{ "name", CONFIG_T_STRING, 0, RULE(name), "", NULL, SAME, "A name for messages." },
	{ "cmd", CONFIG_T_STRING, 0, RULE(cmd), "", NULL, SAME,
	  "Shell command run on a matching change, instead of a rebuild." },
	{ "include_dir", CONFIG_T_LIST, 0, RULE(include_dir), "", NULL, SAME,
	  "Directories the rule watches." },
	{ "include_ext", CONFIG_T_LIST, 0, RULE(include_ext), "", NULL, SAME,
	  "Extensions the rule watches." },
	{ "include_file", CONFIG_T_LIST, 0, RULE(include_file), "", NULL, SAME, "Files the rule watches." },
	{ "exclude_regex", CONFIG_T_LIST, 0, RULE(exclude_regex), "", NULL, SAME,
	  "Regular expressions of paths the rule ignores." },
	{ "delay", CONFIG_T_MS, CONFIG_K_MS_INT, RULE(delay_ms), "1000", NULL, SAME,
	  "Debounce for the rule, in milliseconds." },
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

/* ---- string lists ---- */

int config_strlist_push(struct config_strlist *l, const char *s, size_t len)
{
	char *copy;

	if (l->n == l->cap) {
		char **v = array_grow(l->v, &l->cap, sizeof(*l->v));
		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	l->v[l->n++] = copy;
	return 0;
}

void config_strlist_clear(struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct config_strlist){ 0 };
}

/* ---- type descriptions ---- */

const char *config_toml_type_phrase(enum toml_type t)
{
	switch (t) {
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a boolean";
	case TOML_DATETIME:
		return "a date-time";
	case TOML_DATETIME_LOCAL:
		return "a local date-time";
	case TOML_DATE_LOCAL:
		return "a local date";
	case TOML_TIME_LOCAL:
		return "a local time";
	case TOML_ARRAY:
		return "an array";
	case TOML_TABLE:
		return "a table";
	}
	return "a value";
}

void config_type_expectation(const struct config_key *k, char *buf, size_t n)
{
	const char *fixed = NULL;
	size_t used;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		fixed = "expected a string";
		break;
	case CONFIG_T_LIST:
		fixed = "expected an array of strings";
		break;
	case CONFIG_T_ARGV:
		fixed = "expected a string or an array of strings";
		break;
	case CONFIG_T_BOOL:
		fixed = "expected a boolean (true or false)";
		break;
	case CONFIG_T_PORT:
		fixed = "expected a port number (0 to 65535)";
		break;
	case CONFIG_T_MS:
		fixed = "expected an integer (milliseconds) or a duration string like \"2s\"";
		break;
	case CONFIG_T_SIGNAL:
		fixed = "expected a signal name like \"TERM\" or a number";
		break;
	case CONFIG_T_BYTES:
		fixed = "expected a number of bytes, a size like \"512M\", or \"max\"";
		break;
	case CONFIG_T_LIMIT:
		fixed = "expected a positive integer or \"max\"";
		break;
	case CONFIG_T_CHOICE:
		break;
	}
	if (fixed) {
		snprintf(buf, n, "%s", fixed);
		return;
	}
	used = (size_t)snprintf(buf, n, "expected one of");
	for (int i = 0; k->choices[i] && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s \"%s\"", i ? "," : "", k->choices[i]);
}

/* "expected X, got Y" with Y the TOML type. */
static int mismatch(const struct config_key *k, const struct toml_value *v, char *why, size_t n)
{
	char expected[160];

	config_type_expectation(k, expected, sizeof(expected));
	snprintf(why, n, "%s, got %s", expected, config_toml_type_phrase(v->type));
	return -EINVAL;
}

/* "expected X, got "text"" for a string that does not parse. */
static int bad_text(const struct config_key *k, const char *text, char *why, size_t n)
{
	char expected[160];

	config_type_expectation(k, expected, sizeof(expected));
	snprintf(why, n, "%s, got \"%s\"", expected, text);
	return -EINVAL;
}

static int bad_integer(const struct config_key *k, int64_t i, char *why, size_t n)
{
	char expected[160];

	config_type_expectation(k, expected, sizeof(expected));
	snprintf(why, n, "%s, got %" PRId64, expected, i);
	return -EINVAL;
}

/* ---- scalar parsers shared by TOML strings and flag text ---- */

static int parse_bool_text(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_choice_text(const struct config_key *k, const char *s, int *out)
{
	for (int i = 0; k->choices[i]; i++) {
		if (strcmp(k->choices[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_uint_text(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "max", plain bytes, or a number with K, M, G or T (powers of 1024, as cgroup's memory.max). */
static int parse_bytes_text(const char *s, unsigned long long *out)
{
	static const char suffixes[] = "KMGT";
	unsigned long long v, mult = 1;
	char *end;

	if (strcmp(s, "max") == 0) {
		*out = 0;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		/* memchr, not strchr: strchr would find the terminator of suffixes for "5 " (' ' & ~0x20 is
		 * 0). */
		const char *p = memchr(suffixes, toupper((unsigned char)end[0]), sizeof(suffixes) - 1);
		if (!p || (end[1] && strcasecmp(end + 1, "B") != 0 && strcasecmp(end + 1, "iB") != 0))
			return -EINVAL;
		mult = 1ull << (10 * (p - suffixes + 1));
	}
	if (v == 0 || v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static int parse_limit_text(const char *s, unsigned long long *out)
{
	unsigned long long v;

	if (strcmp(s, "max") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_uint_text(s, UINT64_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int set_string(char **slot, const char *s, size_t len)
{
	char *copy = strndup(s, len);

	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

/* A scalar type from its text form, shared by TOML strings and flags. */
static int scalar_from_text(const struct config_key *k, void *slot, const char *s, char *why, size_t n)
{
	unsigned long long u;
	int r = 0, i;
	bool b;

	switch (k->type) {
	case CONFIG_T_BOOL:
		if ((r = parse_bool_text(s, &b)) == 0)
			*(bool *)slot = b;
		break;
	case CONFIG_T_PORT:
		if ((r = parse_uint_text(s, 65535, &u)) == 0)
			*(int *)slot = (int)u;
		break;
	case CONFIG_T_MS:
		if ((r = duration_parse_ms(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		else if (duration_strerror(r)) {
			snprintf(why, n, "%s, got \"%s\"", duration_strerror(r), s);
			return -EINVAL;
		}
		break;
	case CONFIG_T_CHOICE:
		if ((r = parse_choice_text(k, s, &i)) == 0)
			*(int *)slot = i;
		break;
	case CONFIG_T_SIGNAL:
		if ((r = sig_parse(s, &i)) == 0)
			*(int *)slot = i;
		break;
	case CONFIG_T_BYTES:
		if ((r = parse_bytes_text(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		break;
	case CONFIG_T_LIMIT:
		if ((r = parse_limit_text(s, &u)) == 0)
			*(unsigned long long *)slot = u;
		break;
	default:
		r = -EINVAL;
	}
	return r < 0 ? bad_text(k, s, why, n) : 0;
}

/* ---- from TOML ---- */

static bool has_nul(const struct toml_value *v)
{
	return memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL;
}

static int list_from_toml(const struct config_key *k, struct config_strlist *slot, const struct toml_value *v,
			  char *why, size_t n, int *line, int *col)
{
	struct config_strlist l = { 0 };
	const struct toml_array *a = v->u.arr;
	int r;

	for (size_t i = 0; i < a->len; i++) {
		const struct toml_value *e = &a->items[i];
		if (e->type != TOML_STRING || has_nul(e)) {
			*line = e->line;
			*col = e->col;
			if (e->type == TOML_STRING) {
				snprintf(why, n, "element %zu contains a NUL character", i);
			} else {
				char expected[160];
				config_type_expectation(k, expected, sizeof(expected));
				snprintf(why, n, "%s, got %s in the array", expected,
					 config_toml_type_phrase(e->type));
			}
			config_strlist_clear(&l);
			return -EINVAL;
		}
		if ((r = config_strlist_push(&l, e->u.s.ptr, e->u.s.len)) < 0) {
			config_strlist_clear(&l);
			return r;
		}
	}
	config_strlist_clear(slot);
	*slot = l;
	return 0;
}

/* A scalar type from a TOML integer (every scalar type but choices takes one). */
static int scalar_from_integer(const struct config_key *k, void *slot, int64_t i, char *why, size_t n)
{
	int64_t ms;

	switch (k->type) {
	case CONFIG_T_PORT:
		if (i < 0 || i > 65535)
			return bad_integer(k, i, why, n);
		*(int *)slot = (int)i;
		return 0;
	case CONFIG_T_MS:
		if (i < 0) {
			snprintf(why, n, "must not be negative, got %" PRId64, i);
			return -EINVAL;
		}
		/* air reads a time.Duration integer below 1 ms as milliseconds, and nanoseconds above. */
		ms = (k->flags & CONFIG_K_GO_DUR) && i >= 1000000 ? i / 1000000 : i;
		if ((unsigned long long)ms > DURATION_MAX_MS) {
			snprintf(why, n, "%s, got %" PRId64, duration_strerror(-ERANGE), i);
			return -EINVAL;
		}
		*(unsigned long long *)slot = (unsigned long long)ms;
		return 0;
	case CONFIG_T_SIGNAL:
		if (i <= 0 || i >= NSIG)
			return bad_integer(k, i, why, n);
		*(int *)slot = (int)i;
		return 0;
	case CONFIG_T_BYTES:
	case CONFIG_T_LIMIT:
		if (i <= 0)
			return bad_integer(k, i, why, n);
		*(unsigned long long *)slot = (unsigned long long)i;
		return 0;
	default:
		return -EINVAL;
	}
}

int config_value_from_toml(const struct config_key *k, void *slot, const struct toml_value *v, char *why,
			   size_t n, int *line, int *col)
{
	*line = v->line;
	*col = v->col;
	if (v->type == TOML_STRING && has_nul(v)) {
		snprintf(why, n, "contains a NUL character");
		return -EINVAL;
	}
	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		if (v->type != TOML_STRING)
			return mismatch(k, v, why, n);
		return set_string(slot, v->u.s.ptr, v->u.s.len);
	case CONFIG_T_ARGV:
		if (v->type == TOML_STRING) {
			struct config_strlist *l = slot;
			config_strlist_clear(l);
			return config_strlist_push(l, v->u.s.ptr, v->u.s.len);
		}
		/* fall through */
	case CONFIG_T_LIST:
		if (v->type != TOML_ARRAY)
			return mismatch(k, v, why, n);
		return list_from_toml(k, slot, v, why, n, line, col);
	case CONFIG_T_BOOL:
		if (v->type != TOML_BOOL)
			return mismatch(k, v, why, n);
		*(bool *)slot = v->u.b;
		return 0;
	default:
		/* Ports are integers and choices strings; the other scalars take both forms. */
		if (v->type == TOML_INTEGER && k->type != CONFIG_T_CHOICE)
			return scalar_from_integer(k, slot, v->u.i, why, n);
		if (v->type == TOML_STRING && k->type != CONFIG_T_PORT)
			return scalar_from_text(k, slot, v->u.s.ptr, why, n);
		return mismatch(k, v, why, n);
	}
}

/* ---- from flag or default text ---- */

static int list_from_text(struct config_strlist *l, const char *text, unsigned flags)
{
	const char *p = text;
	int r;

	if (!(flags & CONFIG_TEXT_APPEND))
		config_strlist_clear(l);
	if (flags & CONFIG_TEXT_NO_SPLIT)
		return config_strlist_push(l, text, strlen(text));
	/* An empty value is an empty list, as air's flags have it. */
	while (*text) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if ((r = config_strlist_push(l, p, len)) < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int config_value_from_text(const struct config_key *k, void *slot, const char *text, unsigned flags,
			   char *why, size_t why_size)
{
	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		return set_string(slot, text, strlen(text));
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		return list_from_text(slot, text, flags);
	default:
		return scalar_from_text(k, slot, text, why, why_size);
	}
}

void config_value_free(const struct config_key *k, void *slot)
{
	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		free(*(char **)slot);
		*(char **)slot = NULL;
		break;
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		config_strlist_clear(slot);
		break;
	default:
		break;
	}
}

int config_value_copy(const struct config_key *k, void *dst, const void *src)
{
	const struct config_strlist *from;
	int r;

	switch (k->type) {
	case CONFIG_T_STRING:
	case CONFIG_T_OPT_STRING:
		if (!*(char *const *)src)
			return 0;
		*(char **)dst = strdup(*(char *const *)src);
		return *(char **)dst ? 0 : -ENOMEM;
	case CONFIG_T_LIST:
	case CONFIG_T_ARGV:
		from = src;
		for (size_t i = 0; i < from->n; i++)
			if ((r = config_strlist_push(dst, from->v[i], strlen(from->v[i]))) < 0)
				return r;
		return 0;
	case CONFIG_T_BOOL:
		*(bool *)dst = *(const bool *)src;
		return 0;
	case CONFIG_T_PORT:
	case CONFIG_T_CHOICE:
	case CONFIG_T_SIGNAL:
		*(int *)dst = *(const int *)src;
		return 0;
	case CONFIG_T_MS:
	case CONFIG_T_BYTES:
	case CONFIG_T_LIMIT:
		*(unsigned long long *)dst = *(const unsigned long long *)src;
		return 0;
	}
	return -EINVAL;
}

/* ---- rules ---- */

int config_rule_init(struct config_rule *r)
{
	char why[160];
	int e;

	*r = (struct config_rule){ 0 };
	for (size_t i = 0; i < config_rule_key_count(); i++) {
		const struct config_key *k = &rule_keys[i];
		if (k->def &&
		    (e = config_value_from_text(k, config_slot(k, r), k->def, 0, why, sizeof(why))) < 0) {
			config_rule_free(r);
			return e;
		}
	}
	return 0;
}

void config_rule_free(struct config_rule *r)
{
	for (size_t i = 0; i < config_rule_key_count(); i++)
		config_value_free(&rule_keys[i], config_slot(&rule_keys[i], r));
}
