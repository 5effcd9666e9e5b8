/*
 * The configuration's lifecycle without the file: defaults, flags, derived
 * values and the app's argv. Loading the file is config_load.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "util.h"

void config_diag_stderr(void *data, enum config_diag_level level, const char *msg)
{
	(void)data;
	fprintf(stderr, "nsreload: %s%s\n", level == CONFIG_DIAG_WARNING ? "warning: " : "", msg);
}

/*
 * Messages quote what the file or the command line said (keys, values, file
 * names), so control characters in them are escaped here, once for every sink:
 * a quoted key "\u001b[2J" must not clear the terminal it is reported on.
 */
void config_report(const struct config_diag *d, enum config_diag_level level, const char *fmt, ...)
{
	char msg[1024], safe[4 * sizeof(msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_escape(safe, sizeof(safe), msg);
	if (d && d->report)
		d->report(d->data, level, safe);
	else
		config_diag_stderr(NULL, level, safe);
}

int config_init(struct config *c)
{
	int r;

	*c = (struct config){ 0 };
	for (size_t i = 0; i < config_key_count(); i++)
		c->origin[i] = (struct config_origin){ .kind = CONFIG_FROM_DEFAULT, .via = -1 };
	r = config_set_defaults(c, config_key_at, config_key_count());
	if (r < 0)
		config_free(c);
	return r;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < config_key_count(); i++)
		config_value_free(config_key_at(i), config_slot(config_key_at(i), c));
	for (size_t i = 0; i < c->build.nrules; i++)
		config_rule_free(&c->build.rules[i]);
	free(c->build.rules);
	free(c->file);
	*c = (struct config){ 0 };
}

/* ---- flags ---- */

/* watchexec-like names for the common keys. */
static const struct flag_alias {
	const char *name; /* as written, with its dashes */
	char short_name;
	const char *key;
	unsigned text_flags;
} flag_aliases[] = {
	{ "--watch", 'w', "build.include_dir", CONFIG_TEXT_NO_SPLIT },
	{ "--exts", 'e', "build.include_ext", 0 },
	{ "--ignore", 'i', "build.exclude_file", CONFIG_TEXT_NO_SPLIT },
	{ "--debounce", 0, "build.delay", 0 },
	{ "--signal", 0, "box.stop_signal", 0 },
	{ "--stop-timeout", 0, "build.kill_delay", 0 },
	{ "--on-busy-update", 0, "on_busy", 0 },
	{ "--box", 0, "box.mode", 0 },
	{ "--cgroup-parent", 0, "box.cgroup_parent", 0 },
};

static const struct flag_alias *alias_by_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(flag_aliases) / sizeof(flag_aliases[0]); i++)
		if (strlen(flag_aliases[i].name) == len + 2 &&
		    strncmp(flag_aliases[i].name + 2, name, len) == 0)
			return &flag_aliases[i];
	return NULL;
}

static const struct flag_alias *alias_by_short(char c)
{
	for (size_t i = 0; i < sizeof(flag_aliases) / sizeof(flag_aliases[0]); i++)
		if (flag_aliases[i].short_name == c)
			return &flag_aliases[i];
	return NULL;
}

static const struct config_key *key_by_name(const char *name, size_t len)
{
	char buf[128];

	if (len >= sizeof(buf))
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return config_key_find(buf);
}

static bool is_bool_word(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "1") == 0 ||
	       strcmp(s, "0") == 0;
}

/* Applies one flag's value; written is how the user spelled the option, for messages. */
static int apply_flag(struct config *c, const struct config_key *k, const struct flag_alias *alias,
		      const char *value, const char *written, int written_len, const struct config_diag *d)
{
	size_t idx = config_key_index(k);
	unsigned flags = alias ? alias->text_flags : 0;
	char why[512];
	int r;

	/* The first use of a list flag replaces the default or the file's value; later uses add to it. */
	if (c->origin[idx].kind == CONFIG_FROM_FLAG)
		flags |= CONFIG_TEXT_APPEND;
	r = config_value_from_text(k, config_slot(k, c), value, flags, why, sizeof(why));
	if (r == -EINVAL) {
		config_report(d, CONFIG_DIAG_ERROR, "%.*s: %s", written_len, written, why);
		return r;
	}
	if (r < 0)
		return r;
	c->origin[idx] = (struct config_origin){ .kind = CONFIG_FROM_FLAG,
						 .flag = alias ? alias->name : NULL,
						 .via = -1 };
	return 0;
}

int config_parse_args(struct config *c, int argc, char **argv, struct config_args *a,
		      const struct config_diag *d)
{
	int i, r;

	a->file = NULL;
	a->help = false;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL, *name;
		const struct flag_alias *alias = NULL;
		const struct config_key *k = NULL;
		int written_len;

		if (a->own_option && (r = a->own_option(a->own_data, arg)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			a->help = true;
			continue;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg, '=');
			size_t len;

			name = arg + 2;
			len = eq ? (size_t)(eq - name) : strlen(name);
			written_len = (int)(len + 2);
			if (eq)
				value = eq + 1;
			if (len == 6 && strncmp(name, "config", 6) == 0) {
				k = NULL; /* --config FILE, the long form of -c */
			} else if (!(alias = alias_by_long(name, len)) && !(k = key_by_name(name, len))) {
				config_report(d, CONFIG_DIAG_ERROR, "unknown option '%.*s'", written_len,
					      arg);
				return -EINVAL;
			}
		} else {
			written_len = 2;
			if (arg[2])
				value = arg + 2;
			if (arg[1] != 'c' && !(alias = alias_by_short(arg[1]))) {
				config_report(d, CONFIG_DIAG_ERROR, "unknown option '%.2s'", arg);
				return -EINVAL;
			}
		}
		if (alias)
			k = config_key_find(alias->key);
		if (!value && k && k->type == CONFIG_T_BOOL) {
			/* A bare bool flag is true; "--build.rerun false" is air's form. */
			value = "true";
			if (i + 1 < argc && is_bool_word(argv[i + 1]))
				value = argv[++i];
		}
		if (!value) {
			if (i + 1 >= argc) {
				config_report(d, CONFIG_DIAG_ERROR, "option '%.*s' needs a value",
					      written_len, arg);
				return -EINVAL;
			}
			value = argv[++i];
		}
		if (!k) {
			a->file = value;
			continue;
		}
		r = apply_flag(c, k, alias, value, arg, written_len, d);
		if (r < 0)
			return r;
	}
	a->first_positional = i < argc ? i : argc;
	return 0;
}

static int set_origin_flag_text(struct config *c, const char *name, const char *text, unsigned flags)
{
	const struct config_key *k = config_key_find(name);
	char why[256];
	int r;

	r = config_value_from_text(k, config_slot(k, c), text, flags, why, sizeof(why));
	if (r < 0)
		return r;
	c->origin[config_key_index(k)] =
		(struct config_origin){ .kind = CONFIG_FROM_FLAG, .flag = "command line", .via = -1 };
	return 0;
}

int config_set_command(struct config *c, char *const *argv, int n)
{
	int r;

	if (n <= 0)
		return 0;
	if ((r = set_origin_flag_text(c, "build.entrypoint", argv[0], CONFIG_TEXT_NO_SPLIT)) < 0 ||
	    (r = set_origin_flag_text(c, "build.full_bin", "", 0)) < 0 ||
	    (r = set_origin_flag_text(c, "build.args_bin", "", 0)) < 0)
		return r;
	for (int i = 1; i < n; i++)
		if ((r = set_origin_flag_text(c, "build.args_bin", argv[i],
					      CONFIG_TEXT_APPEND | CONFIG_TEXT_NO_SPLIT)) < 0)
			return r;
	return 0;
}

/* ---- derived values ---- */

static int origin_rank(enum config_origin_kind kind)
{
	return kind == CONFIG_FROM_FLAG ? 2 : kind == CONFIG_FROM_FILE ? 1 : 0;
}

/* def with each path element "tmp" (between start, '/' or ' ' and end or '/') replaced by tmp. */
static char *substitute_tmp_dir(const char *def, const char *tmp)
{
	size_t tmplen = strlen(tmp), cap = strlen(def) * (tmplen + 1) + 1, o = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (const char *p = def; *p;) {
		bool starts = p == def || p[-1] == '/' || p[-1] == ' ';
		if (starts && strncmp(p, "tmp", 3) == 0 && (p[3] == '\0' || p[3] == '/')) {
			memcpy(out + o, tmp, tmplen);
			o += tmplen;
			p += 3;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* The default list with its element "tmp" replaced by tmp (which may hold a comma). */
static int list_with_tmp_dir(struct config_strlist *l, const char *def, const char *tmp)
{
	int r = 0;

	config_strlist_clear(l);
	for (const char *p = def; r == 0;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 3 && strncmp(p, "tmp", 3) == 0)
			r = config_strlist_push(l, tmp, strlen(tmp));
		else
			r = config_strlist_push(l, p, len);
		if (!comma)
			break;
		p = comma + 1;
	}
	return r;
}

static int derive_from_tmp_dir(struct config *c)
{
	const struct config_key *tmp_key = config_key_find("tmp_dir");
	int r;

	if (strcmp(c->tmp_dir, tmp_key->def) == 0)
		return 0;
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);

		if (!(k->flags & CONFIG_K_TMP_DIR) || c->origin[i].kind != CONFIG_FROM_DEFAULT)
			continue;
		if (k->type == CONFIG_T_LIST) {
			r = list_with_tmp_dir(config_slot(k, c), k->def, c->tmp_dir);
		} else {
			char *text = substitute_tmp_dir(k->def, c->tmp_dir);
			char **slot = config_slot(k, c);
			if (!text)
				return -ENOMEM;
			free(*slot);
			*slot = text;
			r = 0;
		}
		if (r < 0)
			return r;
		c->origin[i].via = (int)config_key_index(tmp_key);
	}
	return 0;
}

/* The stronger of two keys that say the same thing decides; the box key wins a tie. */
static void fold_into(struct config *c, const char *air_name, const char *box_name, bool applies)
{
	size_t from = config_key_index(config_key_find(air_name));
	size_t to = config_key_index(config_key_find(box_name));

	if (!applies || origin_rank(c->origin[from].kind) <= origin_rank(c->origin[to].kind))
		return;
	c->origin[to] = c->origin[from];
	c->origin[to].via = (int)from;
}

int config_finalize(struct config *c)
{
	int r = derive_from_tmp_dir(c);

	if (r < 0)
		return r;
	fold_into(c, "build.send_interrupt", "box.stop_signal", c->build.send_interrupt);
	if (c->origin[config_key_index(config_key_find("box.stop_signal"))].via >= 0)
		c->box.stop_signal = SIGINT;
	/* 0 is air's default and its example's "0s": there it means "KILL at once", which we do not copy. */
	fold_into(c, "build.kill_delay", "box.stop_timeout",
		  c->build.kill_delay_ms > 0 ||
			  c->origin[config_key_index(config_key_find("build.kill_delay"))].kind ==
				  CONFIG_FROM_FLAG);
	if (c->origin[config_key_index(config_key_find("box.stop_timeout"))].via >= 0)
		c->box.stop_timeout_ms = c->build.kill_delay_ms;
	/* air's floor for polling: anything faster only burns CPU. */
	if (c->build.poll_interval_ms < 500)
		c->build.poll_interval_ms = 500;
	return 0;
}

/* ---- the app's argv ---- */

/* "line arg1 arg2": air joins the arguments with spaces and hands the line to the shell. */
static char *shell_line(const char *line, const struct config_strlist *args)
{
	size_t len = strlen(line) + 1, o;
	char *s;

	for (size_t i = 0; i < args->n; i++)
		len += strlen(args->v[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	o = (size_t)sprintf(s, "%s", line);
	for (size_t i = 0; i < args->n; i++)
		o += (size_t)sprintf(s + o, " %s", args->v[i]);
	return s;
}

int config_app_argv(const struct config *c, char ***out)
{
	const struct config_build *b = &c->build;
	const char *line = b->full_bin[0] ? b->full_bin : NULL;
	size_t n = 0;
	char **argv;

	if (!line && !b->entrypoint.n)
		line = b->bin[0] ? b->bin : NULL;
	if (!line && !b->entrypoint.n)
		return -ENOENT;
	argv = calloc(line ? 4 : b->entrypoint.n + b->args_bin.n + 1, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	if (line) {
		argv[n++] = strdup("/bin/sh");
		argv[n++] = strdup("-c");
		argv[n++] = shell_line(line, &b->args_bin);
	} else {
		for (size_t i = 0; i < b->entrypoint.n; i++)
			argv[n++] = strdup(b->entrypoint.v[i]);
		for (size_t i = 0; i < b->args_bin.n; i++)
			argv[n++] = strdup(b->args_bin.v[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!argv[i]) {
			for (size_t j = 0; j < n; j++)
				free(argv[j]);
			free(argv);
			return -ENOMEM;
		}
	}
	*out = argv;
	return 0;
}

void config_argv_free(char **argv)
{
	strv_free(argv);
}
