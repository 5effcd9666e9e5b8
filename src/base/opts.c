/* The one command-line parser (opts.h): table lookup, value forms, suggestions and --help. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "opts.h"

const struct opt opts_help_opt = {
	.name = "--help", .short_name = 'h', .arg = OPT_NONE, .help = "show this help", .id = OPT_ID_HELP
};

/* Where the help text starts: "  -w, --watch=DIR" fits in front of it. */
#define HELP_COLUMN 24

/* Calls fn for each option: the tables in order, then --help. */
void opts_each(const struct opts_cmd *cmd, void (*fn)(void *data, const struct opt *o), void *data)
{
	for (int t = 0; t < OPTS_MAX_TABLES && cmd->tables[t]; t++)
		for (const struct opt *o = cmd->tables[t]; o->name; o++)
			fn(data, o);
	fn(data, &opts_help_opt);
}

static bool long_matches(const char *name, const char *arg, size_t len)
{
	return name && strlen(name) == len && strncmp(name, arg, len) == 0;
}

/* arg[0..len) is "--something". */
static const struct opt *find_long(const struct opts_cmd *cmd, const char *arg, size_t len)
{
	for (int t = 0; t < OPTS_MAX_TABLES && cmd->tables[t]; t++)
		for (const struct opt *o = cmd->tables[t]; o->name; o++)
			if (long_matches(o->name, arg, len) || long_matches(o->alias, arg, len))
				return o;
	return long_matches(opts_help_opt.name, arg, len) ? &opts_help_opt : NULL;
}

static const struct opt *find_short(const struct opts_cmd *cmd, char c)
{
	for (int t = 0; t < OPTS_MAX_TABLES && cmd->tables[t]; t++)
		for (const struct opt *o = cmd->tables[t]; o->name; o++)
			if (o->short_name == c)
				return o;
	return c == opts_help_opt.short_name ? &opts_help_opt : NULL;
}

const struct opt *opts_find(const struct opts_cmd *cmd, const char *name)
{
	if (name[0] != '-')
		return NULL;
	if (name[1] == '-')
		return find_long(cmd, name, strlen(name));
	return name[1] && !name[2] ? find_short(cmd, name[1]) : NULL;
}

/* ---- did you mean ---- */

#define NAME_MAX_LEN 63

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

size_t opts_edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	/* Three rows of the optimal-string-alignment table: i-2, i-1 and i. */
	size_t rows[3][NAME_MAX_LEN + 1];
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	if (alen > NAME_MAX_LEN || blen > NAME_MAX_LEN)
		return (size_t)-1;
	for (size_t j = 0; j <= blen; j++)
		prev[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		size_t *oldest = prev2;

		cur[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		prev2 = prev;
		prev = cur;
		cur = oldest;
	}
	return prev[blen];
}

bool opts_close_enough(size_t d, size_t len)
{
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	return d > 0 && d <= limit;
}

struct suggestion {
	const char *typed; /* without its dashes */
	size_t len;
	const char *best; /* with its dashes, or a find_name() name without them */
	bool best_bare;   /* best has no dashes: print "--" before it */
	size_t best_d;
};

static void consider(struct suggestion *s, const char *name, bool bare)
{
	const char *n = name && !bare ? name + 2 : name;
	size_t d;

	if (!n)
		return;
	d = opts_edit_distance(s->typed, s->len, n, strlen(n));
	/* getopt took "--verb" for --verbose: it is a suggestion now, as close as a typo. */
	if (s->len >= 3 && strlen(n) > s->len && strncmp(n, s->typed, s->len) == 0 && d > 1)
		d = 1;
	if (d < s->best_d) {
		s->best = name;
		s->best_bare = bare;
		s->best_d = d;
	}
}

static void consider_opt(void *data, const struct opt *o)
{
	consider(data, o->name, false);
	consider(data, o->alias, false);
}

static void suggest(const struct opts_cmd *cmd, const struct opts_hooks *h, const char *typed, size_t len,
		    char *buf, size_t size)
{
	struct suggestion s = { .typed = typed, .len = len, .best_d = (size_t)-1 };
	const char *n;

	opts_each(cmd, consider_opt, &s);
	for (size_t i = 0; h->find_name && (n = h->find_name(h->data, i)) != NULL; i++)
		consider(&s, n, true);
	buf[0] = '\0';
	if (s.best && opts_close_enough(s.best_d, len))
		snprintf(buf, size, "; did you mean '%s%s'?", s.best_bare ? "--" : "", s.best);
}

/* ---- parsing ---- */

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_bool_word(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "1") == 0 ||
	       strcmp(s, "0") == 0;
}

struct parse {
	const struct opts_cmd *cmd;
	const struct opts_hooks *h;
	int argc;
	char **argv;
	int i;             /* the argument being parsed */
	char written[128]; /* how the user spelled the option */
	char *err;
	size_t err_size;
	struct opt scratch; /* what find() filled */
};

/* Takes the option's value from what follows it when it has none yet, and hands both to take(). */
static int take_option(struct parse *p, const struct opt *o, const char *value)
{
	const char *next = p->i + 1 < p->argc ? p->argv[p->i + 1] : NULL;

	if (o->arg == OPT_NONE && value)
		return fail(p->err, p->err_size, "option '%s' takes no value", p->written);
	if (!value && next &&
	    (o->arg == OPT_VALUE || (o->arg == OPT_OPTIONAL && next[0] != '-') ||
	     (o->arg == OPT_BOOL && is_bool_word(next)))) {
		value = next;
		p->i++;
	}
	if (!value && o->arg == OPT_VALUE)
		return fail(p->err, p->err_size, "option '%s' needs a value", p->written);
	return p->h->take(p->h->data, o, value, p->written);
}

/* "--name[=V]", or "-name[=V]" (dashes 1): a key, as Go's flag package takes it. */
static int parse_long(struct parse *p, const char *arg, size_t dashes)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct opt *o = dashes == 2 ? find_long(p->cmd, arg, len) : NULL;
	char hint[128];

	snprintf(p->written, sizeof(p->written), "%.*s", (int)len, arg);
	if (!o && p->h->find && p->h->find(p->h->data, arg + dashes, len - dashes, &p->scratch))
		o = &p->scratch;
	if (!o) {
		suggest(p->cmd, p->h, arg + dashes, len - dashes, hint, sizeof(hint));
		return fail(p->err, p->err_size, "unknown option '%.*s'%s", (int)len, arg, hint);
	}
	return take_option(p, o, eq ? eq + 1 : NULL);
}

/*
 * "-build.cmd x" and "-build.cmd=x": Go's flag package (air's) takes one dash
 * as well as two. A single-dash word is such a key flag when its name (before
 * any '=') is longer than one letter and names a key, or when its first
 * letter is no short option at all ("-build.cmdd" then gets a suggestion
 * rather than "unknown option '-b'"). Otherwise it is short options: -c FILE,
 * -wDIR, -vh.
 */
static bool single_dash_key(const struct parse *p, const char *arg)
{
	size_t len = strcspn(arg + 1, "=");
	struct opt scratch;

	if (len < 2 || !p->h->find)
		return false;
	return p->h->find(p->h->data, arg + 1, len, &scratch) || !find_short(p->cmd, arg[1]);
}

/* -v, -vh, -wDIR, -w DIR. */
static int parse_short(struct parse *p, const char *arg)
{
	for (size_t j = 1; arg[j]; j++) {
		const struct opt *o = find_short(p->cmd, arg[j]);
		int r;

		snprintf(p->written, sizeof(p->written), "-%c", arg[j]);
		if (!o)
			return fail(p->err, p->err_size, "unknown option '-%c'", arg[j]);
		if (o->arg != OPT_NONE)
			return take_option(p, o, arg[j + 1] ? arg + j + 1 : NULL);
		if ((r = p->h->take(p->h->data, o, NULL, p->written)) < 0)
			return r;
	}
	return 0;
}

int opts_parse(const struct opts_cmd *cmd, int argc, char **argv, const struct opts_hooks *h,
	       int *first_positional, char *err, size_t err_size)
{
	struct parse p = { .cmd = cmd, .h = h, .argc = argc, .argv = argv, .err = err, .err_size = err_size };
	int r;

	for (p.i = 1; p.i < argc; p.i++) {
		const char *arg = argv[p.i];

		if (strcmp(arg, "--") == 0) {
			p.i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (arg[1] == '-')
			r = parse_long(&p, arg, 2);
		else if (single_dash_key(&p, arg))
			r = parse_long(&p, arg, 1);
		else
			r = parse_short(&p, arg);
		if (r < 0)
			return r;
	}
	*first_positional = p.i < argc ? p.i : argc;
	return 0;
}

/* ---- --help ---- */

/* Prints text with every line after the first indented to col. */
static void put_indented(FILE *f, const char *text, int col)
{
	while (*text) {
		size_t len = strcspn(text, "\n");

		fprintf(f, "%.*s\n", (int)len, text);
		text += len;
		if (*text == '\n' && *++text)
			fprintf(f, "%*s", col, "");
	}
}

/* "-w, --watch=DIR", "    --wait-all", "    --from-air[=FILE]". */
static int format_left(char *buf, size_t size, const struct opt *o)
{
	char short_part[8] = "    ";
	const char *open = "", *meta = "", *close = "";

	if (o->short_name)
		snprintf(short_part, sizeof(short_part), "-%c, ", o->short_name);
	if (o->arg != OPT_NONE) {
		meta = o->metavar ? o->metavar : "VALUE";
		open = o->arg == OPT_VALUE ? "=" : "[=";
		close = o->arg == OPT_VALUE ? "" : "]";
	}
	return snprintf(buf, size, "%s%s%s%s%s", short_part, o->name, open, meta, close);
}

static void help_row(void *data, const struct opt *o)
{
	FILE *f = data;
	char left[96];

	/* Two spaces at least between the option and its help, or the help goes on the next line. */
	if (format_left(left, sizeof(left), o) + 4 > HELP_COLUMN)
		fprintf(f, "  %s\n%*s", left, HELP_COLUMN, "");
	else
		fprintf(f, "  %-*s", HELP_COLUMN - 2, left);
	put_indented(f, o->help ? o->help : "", HELP_COLUMN);
	if (o->alias)
		fprintf(f, "%*s(also %s, its old spelling)\n", HELP_COLUMN, "", o->alias);
}

void opts_help_options(FILE *f, const struct opts_cmd *cmd)
{
	for (int t = 0; t < OPTS_MAX_TABLES && cmd->tables[t]; t++)
		for (const struct opt *o = cmd->tables[t]; o->name; o++)
			help_row(f, o);
	if (cmd->more_options)
		fputs(cmd->more_options, f);
	help_row(f, &opts_help_opt);
}

void opts_help(FILE *f, const struct opts_cmd *cmd)
{
	fprintf(f, "usage: nsreload%s%s %s\n", cmd->name[0] ? " " : "", cmd->name, cmd->synopsis);
	if (cmd->about) {
		fputc('\n', f);
		put_indented(f, cmd->about, 0);
	}
	fputs("\nOptions:\n", f);
	opts_help_options(f, cmd);
	if (cmd->epilogue) {
		fputc('\n', f);
		put_indented(f, cmd->epilogue, 0);
	}
}
