/*
 * opts.h - the one command-line parser. Each command declares its flags once,
 * in tables of struct opt; parsing, --help, "did you mean" and the shell
 * completions (nsreload completion) all come from those tables, so a flag
 * cannot be accepted without being documented, or the other way round.
 *
 * It lives in src/base because two layers use it: the commands (src/cli) and
 * the configuration's flag side (config_parse_args, whose shared table maps
 * flags such as --debounce to keys).
 *
 * Forms: --name=VALUE, --name VALUE, -x VALUE, -xVALUE, clustered short flags
 * without values (-vh), and "--", which ends the options. Options stop at the
 * first argument that is not one ("-" alone is not one): what follows is the
 * command's (BIN ARGS, or exec's command). -h and --help are every command's.
 *
 * Nothing here prints except opts_help(); errors come back as text, which
 * quotes the user's argument unescaped: the caller escapes it (text_escape).
 */
#ifndef NSRELOAD_OPTS_H
#define NSRELOAD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_arg {
	OPT_NONE,     /* --flag; --flag=V is an error */
	OPT_VALUE,    /* --flag=V, --flag V, -fV, -f V */
	OPT_OPTIONAL, /* --flag, --flag=V, or --flag V when V does not start with '-' */
	OPT_BOOL,     /* --flag (no value: true), --flag=V, or --flag V when V is true, false, 1 or 0 */
};

/* What a shell offers for an option's value. */
enum opt_complete {
	OPT_COMPLETE_NONE,
	OPT_COMPLETE_FILE,
	OPT_COMPLETE_DIR,
	OPT_COMPLETE_WORDS, /* the words in opt.words */
};

struct opt {
	const char *name;  /* "--stop-signal", with its dashes; NULL ends a table */
	char short_name;   /* 'v', or 0 */
	const char *alias; /* an old spelling with the same meaning ("--signal"), or NULL */
	enum opt_arg arg;
	const char *metavar; /* "SIG": --stop-signal=SIG */
	const char *help;    /* for --help, the man page's summary and completions; '\n' continues it */
	int id;              /* which option it is: above 0 in a command's own table, below in shared ones */
	const char *key;     /* the configuration key it sets (config_parse_args), or NULL */
	unsigned key_flags;  /* how the key takes the text (CONFIG_TEXT_*) */
	enum opt_complete complete;
	const char *words; /* OPT_COMPLETE_WORDS: "auto cgroup2 pidns" */
};

/* -h, --help: every command's, found after its tables; id OPT_ID_HELP. */
enum { OPT_ID_HELP = -1 };
extern const struct opt opts_help_opt;

/* Up to this many tables per command: its own, then shared ones. */
#define OPTS_MAX_TABLES 4

struct opts_cmd {
	const char *name; /* "exec"; "" for nsreload itself */
	const char
		*synopsis;   /* what follows "nsreload exec" in the usage: "[options] -- command [args...]" */
	const char *summary; /* one line, for 'nsreload --help' and completions */
	const char *about;   /* a paragraph for --help; '\n' separates lines */
	const struct opt *tables[OPTS_MAX_TABLES]; /* NULL ends the list */
	const char *more_options; /* lines printed after the table rows (--KEY=VALUE), or NULL */
	const char *epilogue;     /* after the options: exit status and notes, or NULL */
	bool config_keys;         /* --KEY=VALUE for every configuration key is accepted too */
};

struct opts_hooks {
	/*
	 * One option found. value is NULL for OPT_NONE, and for OPT_OPTIONAL and
	 * OPT_BOOL given without one; written is how the user spelled the option
	 * ("--signal", "-w"), valid during the call. Returns 0, or < 0 to stop
	 * parsing (after reporting why).
	 */
	int (*take)(void *data, const struct opt *o, const char *value, const char *written);
	/* Optional: an option the tables do not have ("build.cmd", no dashes). Fills *o, returns true. */
	bool (*find)(void *data, const char *name, size_t len, struct opt *o);
	/* Optional: the names find() knows (no dashes), for suggestions; NULL after the last. */
	const char *(*find_name)(void *data, size_t i);
	void *data;
};

/*
 * Parses argv[1..] (argv[0] is the command). Returns 0 with *first_positional
 * the index of the first argument that is not an option (argc if none), or
 * -EINVAL with err holding the reason ("unknown option '--stop-signl'; did you
 * mean '--stop-signal'?"), or what take() returned.
 */
int opts_parse(const struct opts_cmd *cmd, int argc, char **argv, const struct opts_hooks *h,
	       int *first_positional, char *err, size_t err_size);

/* The option named name (with dashes, "--signal" or "-w"), its alias or short name included; or NULL. */
const struct opt *opts_find(const struct opts_cmd *cmd, const char *name);

/* Calls fn for each option of cmd, in --help order (--help last). */
void opts_each(const struct opts_cmd *cmd, void (*fn)(void *data, const struct opt *o), void *data);

/* The usage, the about text, every option with its help, and the epilogue. */
void opts_help(FILE *f, const struct opts_cmd *cmd);
/* The options part of opts_help(): a row per option, then more_options. */
void opts_help_options(FILE *f, const struct opts_cmd *cmd);

/*
 * Edit distance (insertions, deletions, substitutions and swaps of two
 * neighbours each count 1) between a[0..alen) and b[0..blen). Names longer
 * than 63 bytes count as far from everything.
 */
size_t opts_edit_distance(const char *a, size_t alen, const char *b, size_t blen);
/* Whether a name at distance d from a typed one of len bytes is close enough to suggest. */
bool opts_close_enough(size_t d, size_t len);

#endif
