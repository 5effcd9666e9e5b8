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

/*
 * The flags that set keys, shared by every command that takes the
 * configuration (run, config): watchexec-like names for the common keys. Any
 * key is a flag too, in air's form (--build.cmd=make); those are found by
 * find_key_option() rather than listed here.
 */
const struct opt config_flag_opts[] = {
	{ "--config", 'c', NULL, OPT_VALUE, "FILE",
	  "read FILE, else the first of .nsreload.toml, .air.toml,\n.config/air.toml", CONFIG_OPT_FILE,
	  .complete = OPT_COMPLETE_FILE },
	{ "--watch", 'w', NULL, OPT_VALUE, "DIR", "watch DIR: build.include_dir (repeatable)", 0,
	  "build.include_dir", CONFIG_TEXT_NO_SPLIT, OPT_COMPLETE_DIR },
	{ "--exts", 'e', NULL, OPT_VALUE, "LIST", "build.include_ext, comma-separated: go,tpl,html", 0,
	  "build.include_ext" },
	{ "--ignore", 'i', NULL, OPT_VALUE, "GLOB", "build.exclude_file (repeatable)", 0,
	  "build.exclude_file", CONFIG_TEXT_NO_SPLIT, OPT_COMPLETE_FILE },
	{ "--debounce", 0, NULL, OPT_VALUE, "DUR", "build.delay: wait DUR after the last change", 0,
	  "build.delay" },
	{ "--stop-signal", 0, "--signal", OPT_VALUE, "SIG",
	  "box.stop_signal: the signal that asks the app to stop", 0, "box.stop_signal" },
	{ "--stop-timeout", 0, NULL, OPT_VALUE, "DUR",
	  "box.stop_timeout: grace after the stop signal before\nthe whole box is killed", 0,
	  "box.stop_timeout" },
	{ "--on-busy-update", 0, NULL, OPT_VALUE, "MODE", "on_busy: queue, restart, do-nothing, signal", 0,
	  "on_busy" },
	{ "--box", 0, NULL, OPT_VALUE, "RUNG",
	  "box.mode: auto, cgroup2, cgroup2+pidns, cgroup1,\ncgroup1+pidns, pidns, pgroup", 0, "box.mode" },
	{ "--cgroup-parent", 0, NULL, OPT_VALUE, "DIR",
	  "box.cgroup_parent: create the boxes under this cgroup v2\ndirectory (default "
	  "$NSRELOAD_CGROUP_PARENT)",
	  0, "box.cgroup_parent", 0, OPT_COMPLETE_DIR },
	{ "--listen", 0, NULL, OPT_VALUE, "ADDR",
	  "socket.listen: bind ADDR (PORT, HOST:PORT, [::1]:PORT) once\nand pass it to every run as fd 3 "
	  "onwards (repeatable)",
	  0, "socket.listen", CONFIG_TEXT_NO_SPLIT },
	{ NULL },
};

/* For a caller that names no command: the configuration's flags alone. */
static const struct opts_cmd config_flags_only = { .name = "",
						   .tables = { config_flag_opts },
						   .config_keys = true };

struct parse_state {
	struct config *c;
	struct config_args *a;
	const struct config_diag *d;
};

/* --KEY for any key of the table: a bool takes its value optionally, as in air ("--build.rerun false"). */
static bool find_key_option(void *data, const char *name, size_t len, struct opt *o)
{
	const struct config_key *k;
	char buf[128];

	(void)data;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	k = config_key_find(buf);
	if (!k)
		return false;
	*o = (struct opt){ .name = NULL,
			   .arg = k->type == CONFIG_T_BOOL ? OPT_BOOL : OPT_VALUE,
			   .key = k->name };
	return true;
}

static const char *key_option_name(void *data, size_t i)
{
	(void)data;
	return i < config_key_count() ? config_key_at(i)->name : NULL;
}

/*
 * Applies one flag's value; written is how the user spelled the option, for
 * messages. A listed flag is its origin by its canonical name ("--debounce");
 * NULL means "--KEY".
 */
static int apply_flag(struct config *c, const struct opt *o, const char *value, const char *written,
		      const struct config_diag *d)
{
	const struct config_key *k = config_key_find(o->key);
	size_t idx = config_key_index(k);
	unsigned flags = o->key_flags;
	char why[512];
	int r;

	/* The first use of a list flag replaces the default or the file's value; later uses add to it. */
	if (c->origin[idx].kind == CONFIG_FROM_FLAG)
		flags |= CONFIG_TEXT_APPEND;
	r = config_value_from_text(k, config_slot(k, c), value, flags, why, sizeof(why));
	if (r == -EINVAL) {
		config_report(d, CONFIG_DIAG_ERROR, "%s: %s", written, why);
		return r;
	}
	if (r < 0)
		return r;
	c->origin[idx] = (struct config_origin){ .kind = CONFIG_FROM_FLAG, .flag = o->name, .via = -1 };
	return 0;
}

static int take_option(void *data, const struct opt *o, const char *value, const char *written)
{
	struct parse_state *p = data;

	if (o->key)
		return apply_flag(p->c, o, value ? value : "true", written, p->d);
	if (o->id == OPT_ID_HELP)
		p->a->help = true;
	else if (o->id == CONFIG_OPT_FILE)
		p->a->file = value;
	else if (p->a->own_option)
		return p->a->own_option(p->a->own_data, o, value, written);
	return 0;
}

int config_parse_args(struct config *c, int argc, char **argv, struct config_args *a,
		      const struct config_diag *d)
{
	struct parse_state p = { .c = c, .a = a, .d = d };
	struct opts_hooks h = { .take = take_option, .data = &p };
	const struct opts_cmd *cmd = a->cmd ? a->cmd : &config_flags_only;
	char err[512] = "";
	int r;

	a->file = NULL;
	a->help = false;
	if (cmd->config_keys) {
		h.find = find_key_option;
		h.find_name = key_option_name;
	}
	r = opts_parse(cmd, argc, argv, &h, &a->first_positional, err, sizeof(err));
	if (r == -EINVAL && err[0])
		config_report(d, CONFIG_DIAG_ERROR, "%s", err);
	return r;
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
	c->argv_exact = true;
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

/*
 * Whether k's value from an .air.toml is its default written out: air (>=
 * 1.65) rewrites such a value for tmp_dir by value, not by where it came from
 * (runner/config.go adjustDefaultsForTmpDirWithOS: cmd and bin when they equal
 * the default, exclude_dir when the whole list is the default one).
 */
static bool air_default_written(const struct config *c, const struct config_key *k)
{
	union config_scratch def = { 0 };
	char why[160];
	bool same;

	if (!c->from_air || c->origin[config_key_index(k)].kind != CONFIG_FROM_FILE ||
	    config_value_from_text(k, &def, k->def, 0, why, sizeof(why)) < 0)
		return false;
	same = config_value_equal(k, &def, config_slot_const(k, c));
	config_value_free(k, &def);
	return same;
}

static int derive_from_tmp_dir(struct config *c)
{
	const struct config_key *tmp_key = config_key_find("tmp_dir");
	int r;

	if (strcmp(c->tmp_dir, tmp_key->def) == 0)
		return 0;
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);

		if (!(k->flags & CONFIG_K_TMP_DIR) ||
		    (c->origin[i].kind != CONFIG_FROM_DEFAULT && !air_default_written(c, k)))
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

/*
 * exclude_dir entries without surrounding blanks and one trailing '/', as air
 * cleans them (runner/util.go cleanPath, called in config.go preprocess after
 * the tmp_dir rewrite): "web/ " is "web".
 */
static void trim_exclude_dirs(struct config *c)
{
	struct config_strlist *l = &c->build.exclude_dir;

	for (size_t i = 0; i < l->n; i++) {
		char *s = l->v[i], *start = s;
		size_t len;

		while (*start == ' ' || (*start >= '\t' && *start <= '\r'))
			start++;
		len = strlen(start);
		while (len > 0 &&
		       (start[len - 1] == ' ' || (start[len - 1] >= '\t' && start[len - 1] <= '\r')))
			len--;
		if (len > 0 && start[len - 1] == '/')
			len--;
		memmove(s, start, len);
		s[len] = '\0';
	}
}

bool config_key_set(const struct config *c, const char *name)
{
	const struct config_key *k = config_key_find(name);

	return k && c->origin[config_key_index(k)].kind != CONFIG_FROM_DEFAULT;
}

int config_finalize(struct config *c)
{
	int r = derive_from_tmp_dir(c);

	if (r < 0)
		return r;
	trim_exclude_dirs(c);
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
