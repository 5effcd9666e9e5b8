/*
 * nsreload completion bash|zsh|fish: a completion script made from the
 * commands' option tables (cmds.h) and, for run and config, the key table
 * (every key as --KEY=VALUE). The build runs it to make the installed
 * scripts, so they cannot fall behind the flags.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "config.h"

static const struct opt completion_opts_table[] = { { NULL } };

const struct opts_cmd cmd_completion_spec = {
	.name = "completion",
	.synopsis = "bash|zsh|fish",
	.summary = "print a shell completion script",
	.about = "Prints the completion script for the shell, made from every command's\n"
		 "options and the configuration keys. Load it for this shell only with\n"
		 "  source <(nsreload completion bash)\n"
		 "or install it where the shell looks (cmake --install does).",
	.tables = { completion_opts_table },
	.epilogue = "Exit status: 0, or 2 for an unknown shell.",
};

/* ---- one option, as every shell needs it ---- */

/* An option with what its value completes to. */
struct comp_opt {
	const struct opt *o;
	const char *name; /* "--box" or "--build.cmd" */
	const char *help; /* one line */
	enum opt_complete kind;
	char words[512]; /* kind WORDS */
};

static void join_words(char *buf, size_t size, const char *const *v)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; v[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " " : "", v[i]);
}

/* root, tmp_dir, build.include_dir...: keys that name directories. */
static bool dir_key(const char *name)
{
	size_t len = strlen(name);

	return strcmp(name, "root") == 0 || (len > 4 && strcmp(name + len - 4, "_dir") == 0);
}

/* What a key's value completes to: its choices, signal names, true/false, or nothing. */
static void key_values(const struct config_key *k, struct comp_opt *c)
{
	static const char *const bools[] = { "true", "false", NULL };

	c->kind = OPT_COMPLETE_WORDS;
	if (k->type == CONFIG_T_CHOICE)
		join_words(c->words, sizeof(c->words), k->choices);
	else if (k->type == CONFIG_T_BOOL)
		join_words(c->words, sizeof(c->words), bools);
	else if (k->type == CONFIG_T_SIGNAL)
		snprintf(c->words, sizeof(c->words), "%s", CLI_SIGNAL_WORDS);
	else
		c->kind = dir_key(k->name) ? OPT_COMPLETE_DIR : OPT_COMPLETE_NONE;
}

/* text on one line (its lines joined), up to the end of its first sentence: completions show one line. */
static const char *one_line(char *buf, size_t size, const char *text)
{
	const char *end;
	size_t len;

	text = text ? text : "";
	end = strstr(text, ". ");
	len = end ? (size_t)(end - text) : strlen(text);
	if (len >= size)
		len = size - 1;
	for (size_t i = 0; i < len; i++)
		buf[i] = text[i] == '\n' ? ' ' : text[i];
	buf[len] = '\0';
	if (len && buf[len - 1] == '.')
		buf[len - 1] = '\0';
	return buf;
}

struct each_ctx {
	void (*fn)(void *data, const struct comp_opt *c);
	void *data;
};

static void each_table_opt(void *data, const struct opt *o)
{
	struct each_ctx *e = data;
	const struct config_key *k = o->key ? config_key_find(o->key) : NULL;
	struct comp_opt c = { .o = o, .name = o->name, .kind = o->complete };
	char help[256];

	c.help = one_line(help, sizeof(help), o->help);
	if (o->words)
		snprintf(c.words, sizeof(c.words), "%s", o->words);
	else if (k && o->complete == OPT_COMPLETE_NONE)
		key_values(k, &c);
	e->fn(e->data, &c);
}

/* Calls fn for each option of cmd: its tables', then every key when it takes them. */
static void each_option(const struct opts_cmd *cmd, void (*fn)(void *data, const struct comp_opt *c),
			void *data)
{
	struct each_ctx e = { fn, data };

	opts_each(cmd, each_table_opt, &e);
	if (!cmd->config_keys)
		return;
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		struct opt o = { .arg = k->type == CONFIG_T_BOOL ? OPT_BOOL : OPT_VALUE, .key = k->name };
		struct comp_opt c = { .o = &o };
		char name[128], help[256];

		snprintf(name, sizeof(name), "--%s", k->name);
		c.name = name;
		c.help = one_line(help, sizeof(help), k->doc);
		key_values(k, &c);
		fn(data, &c);
	}
}

/* Writes s with each character of special preceded by a backslash, and each ' as close + escaped + open. */
static void put_escaped(FILE *f, const char *s, const char *special, const char *quote)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs(quote, f);
		else if (strchr(special, *s))
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

/* ---- bash ---- */

struct bash_ctx {
	FILE *f;
	const char *cmd;
};

/* The case arms of _nsreload_value: one per option that takes a value, by "CMD OPTION[=]". */
/* The command names as one shell case pattern: "run|exec|...". */
static void put_command_pattern(FILE *f)
{
	for (size_t i = 0; i < cli_command_count; i++)
		fprintf(f, "%s%s", i ? "|" : "", cli_commands[i].spec->name);
}

static void bash_value_arm(void *data, const struct comp_opt *c)
{
	struct bash_ctx *b = data;

	if (c->o->arg == OPT_NONE)
		return;
	/* A bool takes its value only after '=': "--build.rerun ./app" is the flag and then BIN. */
	fprintf(b->f, "\t'%s %s='", b->cmd, c->name);
	if (c->o->arg != OPT_BOOL)
		fprintf(b->f, "|'%s %s'", b->cmd, c->name);
	if (c->o->alias)
		fprintf(b->f, "|'%s %s='|'%s %s'", b->cmd, c->o->alias, b->cmd, c->o->alias);
	if (c->o->short_name)
		fprintf(b->f, "|'%s -%c'", b->cmd, c->o->short_name);
	if (c->kind == OPT_COMPLETE_WORDS)
		fprintf(b->f, ") COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", c->words);
	else if (c->kind == OPT_COMPLETE_DIR)
		fputs(") COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n", b->f);
	else if (c->kind == OPT_COMPLETE_FILE)
		fputs(") COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n", b->f);
	else
		fputs(") COMPREPLY=() ;;\n", b->f);
}

static void bash_option_word(void *data, const struct comp_opt *c)
{
	struct bash_ctx *b = data;
	const char *eq = c->o->arg == OPT_VALUE ? "=" : "";

	fprintf(b->f, " %s%s", c->name, eq);
	if (c->o->alias)
		fprintf(b->f, " %s%s", c->o->alias, eq);
	if (c->o->short_name)
		fprintf(b->f, " -%c", c->o->short_name);
}

static void print_bash(FILE *f)
{
	struct bash_ctx b = { .f = f };

	fputs("# bash completion for nsreload; made by 'nsreload completion bash'\n\n"
	      "# Completes the value of option $2 of command $1; returns 1 when $2 takes none.\n"
	      "_nsreload_value() {\n\tcase \"$1 $2\" in\n",
	      f);
	for (size_t i = 0; i < cli_command_count; i++) {
		b.cmd = cli_commands[i].spec->name;
		each_option(cli_commands[i].spec, bash_value_arm, &b);
	}
	fputs("\t'completion '*) COMPREPLY=() ;;\n\t*) return 1 ;;\n\tesac\n}\n\n"
	      "_nsreload_options() {\n\tcase $1 in\n",
	      f);
	for (size_t i = 0; i < cli_command_count; i++) {
		b.cmd = cli_commands[i].spec->name;
		fprintf(f, "\t%s) echo '", b.cmd);
		each_option(cli_commands[i].spec, bash_option_word, &b);
		fputs("' ;;\n", f);
	}
	fputs("\tesac\n}\n\n", f);
	fputs("_nsreload() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=run first=1 opt= eq= i\n"
	      "\tCOMPREPLY=()\n"
	      "\tcase ${COMP_WORDS[1]} in\n\t",
	      f);
	put_command_pattern(f);
	fputs(") cmd=${COMP_WORDS[1]} first=2 ;;\n\tesac\n"
	      "\t# After '--' or the first argument that is not an option: the command's own words.\n"
	      "\tfor ((i = first; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n"
	      "\t\t--) COMPREPLY=($(compgen -c -- \"$cur\")); return ;;\n"
	      "\t\tesac\n\tdone\n"
	      "\t# bash splits --box=pidns into --box, = and pidns.\n"
	      "\tif [ \"$cur\" = = ]; then\n"
	      "\t\topt=${COMP_WORDS[COMP_CWORD-1]} eq== cur=\n"
	      "\telif [ \"$COMP_CWORD\" -ge 2 ] && [ \"${COMP_WORDS[COMP_CWORD-1]}\" = = ]; then\n"
	      "\t\topt=${COMP_WORDS[COMP_CWORD-2]} eq==\n"
	      "\telif [ \"$COMP_CWORD\" -gt \"$first\" ]; then\n"
	      "\t\topt=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tfi\n"
	      "\tif [ -n \"$opt\" ] && _nsreload_value \"$cmd\" \"$opt$eq\"; then\n\t\treturn\n\tfi\n"
	      "\tif [ \"$COMP_CWORD\" = 1 ] && [ \"${cur#-}\" = \"$cur\" ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W '",
	      f);
	for (size_t i = 0; i < cli_command_count; i++)
		fprintf(f, "%s ", cli_commands[i].spec->name);
	fputs("help version' -- \"$cur\"))\n"
	      "\telif [ \"$cmd\" = completion ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W 'bash zsh fish' -- \"$cur\"))\n"
	      "\telif [ \"${cur#-}\" != \"$cur\" ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(_nsreload_options \"$cmd\")\" -- \"$cur\"))\n"
	      "\t\t[ \"$COMP_CWORD\" = 1 ] && COMPREPLY+=($(compgen -W '-V --version' -- \"$cur\"))\n"
	      "\t\t# --box= waits for its value.\n"
	      "\t\t[ \"${#COMPREPLY[@]}\" = 1 ] && [ \"${COMPREPLY[0]%=}\" != \"${COMPREPLY[0]}\" ] &&\n"
	      "\t\t\tcompopt -o nospace 2>/dev/null\n"
	      "\telse\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\tfi\n"
	      "}\n"
	      "complete -F _nsreload nsreload\n",
	      f);
}

/* ---- zsh ---- */

/* Escapes for a '...' _arguments spec: ' closes the quote, and [ ] : \ are _arguments' own. */
static void zsh_put(FILE *f, const char *s)
{
	put_escaped(f, s, "[]:\\", "'\\''");
}

static void zsh_action(FILE *f, const struct comp_opt *c, const char *meta)
{
	fputs(c->o->arg == OPT_VALUE ? ":" : "::", f);
	zsh_put(f, meta);
	if (c->kind == OPT_COMPLETE_WORDS) {
		fputs(":(", f);
		zsh_put(f, c->words);
		fputs(")", f);
	} else if (c->kind == OPT_COMPLETE_DIR) {
		fputs(":_directories", f);
	} else if (c->kind == OPT_COMPLETE_FILE) {
		fputs(":_files", f);
	} else {
		fputs(": ", f);
	}
}

/* One _arguments spec: '*--box=[help]:RUNG:(auto cgroup2 ...)'. Every option may be repeated. */
static void zsh_spec(FILE *f, const struct comp_opt *c, const char *name, bool is_short)
{
	const char *meta = c->o->metavar ? c->o->metavar : "VALUE";
	const char *form = c->o->arg == OPT_NONE ? "" : is_short ? "+" : c->o->arg == OPT_VALUE ? "=" : "=-";

	fprintf(f, " \\\n\t\t'*%s%s[", name, form);
	zsh_put(f, c->help);
	fputs("]", f);
	if (c->o->arg != OPT_NONE)
		zsh_action(f, c, meta);
	fputs("'", f);
}

static void zsh_option(void *data, const struct comp_opt *c)
{
	FILE *f = data;
	char short_name[3] = { '-', c->o->short_name, '\0' };

	zsh_spec(f, c, c->name, false);
	if (c->o->alias)
		zsh_spec(f, c, c->o->alias, false);
	if (c->o->short_name)
		zsh_spec(f, c, short_name, true);
}

static void print_zsh(FILE *f)
{
	fputs("#compdef nsreload\n# zsh completion for nsreload; made by 'nsreload completion zsh'\n", f);
	for (size_t i = 0; i < cli_command_count; i++) {
		const struct opts_cmd *cmd = cli_commands[i].spec;

		fprintf(f, "\n_nsreload_%s() {\n\t_arguments -s -S", cmd->name);
		each_option(cmd, zsh_option, f);
		if (strcmp(cmd->name, "completion") == 0)
			fputs(" \\\n\t\t'1:shell:(bash zsh fish)'", f);
		else if (strcmp(cmd->name, "run") == 0 || strcmp(cmd->name, "config") == 0 ||
			 strcmp(cmd->name, "exec") == 0)
			fputs(" \\\n\t\t'*::command:_normal'", f);
		fputs("\n}\n", f);
	}
	fputs("\n_nsreload() {\n\tlocal -a cmds\n\tcmds=(", f);
	for (size_t i = 0; i < cli_command_count; i++) {
		fprintf(f, "\n\t\t'%s:", cli_commands[i].spec->name);
		zsh_put(f, cli_commands[i].spec->summary);
		fputs("'", f);
	}
	fputs("\n\t\t'help:describe a command'\n\t\t'version:print the version'\n\t)\n"
	      "\tif (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then\n"
	      "\t\t_describe -t commands 'nsreload command' cmds\n\t\treturn\n\tfi\n"
	      "\tcase $words[2] in\n\t",
	      f);
	put_command_pattern(f);
	fputs(")\n\t\tshift words\n\t\t(( CURRENT-- ))\n\t\t_nsreload_$words[1] ;;\n"
	      "\t-V|--version|help|version) ;;\n"
	      "\t*) _nsreload_run ;;\n\tesac\n}\n\n"
	      "if [ \"$funcstack[1]\" = _nsreload ]; then\n\t_nsreload \"$@\"\nelse\n"
	      "\tcompdef _nsreload nsreload\nfi\n",
	      f);
}

/* ---- fish ---- */

static void fish_put(FILE *f, const char *s)
{
	fputc('\'', f);
	put_escaped(f, s, "\\", "\\'");
	fputc('\'', f);
}

struct fish_ctx {
	FILE *f;
	const char *cond;
};

static void fish_option(void *data, const struct comp_opt *c)
{
	struct fish_ctx *x = data;

	fprintf(x->f, "complete -c nsreload -n %s -l %s", x->cond, c->name + 2);
	if (c->o->short_name)
		fprintf(x->f, " -s %c", c->o->short_name);
	/* Only a value that must follow gets completions: others would be offered as arguments too. */
	if (c->o->arg == OPT_VALUE)
		fputs(c->kind == OPT_COMPLETE_FILE ? " -r -F" : " -x", x->f);
	if (c->o->arg == OPT_VALUE && c->kind == OPT_COMPLETE_WORDS) {
		fputs(" -a ", x->f);
		fish_put(x->f, c->words);
	} else if (c->o->arg == OPT_VALUE && c->kind == OPT_COMPLETE_DIR) {
		fputs(" -a '(__fish_complete_directories)'", x->f);
	}
	fputs(" -d ", x->f);
	fish_put(x->f, c->help);
	fputc('\n', x->f);
	if (c->o->alias) {
		fprintf(x->f, "complete -c nsreload -n %s -l %s%s -d ", x->cond, c->o->alias + 2,
			c->o->arg == OPT_VALUE ? " -x" : "");
		fish_put(x->f, c->help);
		fputc('\n', x->f);
	}
}

static void print_fish(FILE *f)
{
	char none[256] = "'not __fish_seen_subcommand_from", cond[512];
	size_t used = strlen(none);

	for (size_t i = 0; i < cli_command_count && used < sizeof(none); i++)
		used += (size_t)snprintf(none + used, sizeof(none) - used, " %s", cli_commands[i].spec->name);
	snprintf(none + used, sizeof(none) - used, " help version'");

	fputs("# fish completion for nsreload; made by 'nsreload completion fish'\n"
	      "complete -c nsreload -f\n",
	      f);
	for (size_t i = 0; i < cli_command_count; i++) {
		fprintf(f, "complete -c nsreload -n %s -a %s -d ", none, cli_commands[i].spec->name);
		fish_put(f, cli_commands[i].spec->summary);
		fputc('\n', f);
	}
	fprintf(f, "complete -c nsreload -n %s -a help -d 'describe a command'\n", none);
	fprintf(f, "complete -c nsreload -n %s -a version -d 'print the version'\n", none);
	fprintf(f, "complete -c nsreload -n %s -s V -l version -d 'print the version'\n", none);
	for (size_t i = 0; i < cli_command_count; i++) {
		const char *name = cli_commands[i].spec->name;
		struct fish_ctx x = { .f = f, .cond = cond };

		/* run is also what nsreload does with options and no command. */
		if (strcmp(name, "run") == 0)
			snprintf(cond, sizeof(cond), "'__fish_seen_subcommand_from run; or %.*s'",
				 (int)strlen(none) - 2, none + 1);
		else
			snprintf(cond, sizeof(cond), "'__fish_seen_subcommand_from %s'", name);
		each_option(cli_commands[i].spec, fish_option, &x);
	}
	fputs("complete -c nsreload -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n", f);
}

int cmd_completion(int argc, char **argv)
{
	int first, r;

	r = cli_parse(&cmd_completion_spec, argc, argv, NULL, NULL, &first);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (first + 1 != argc) {
		fputs("nsreload completion: name one shell: bash, zsh or fish\n", stderr);
		return 2;
	}
	if (strcmp(argv[first], "bash") == 0)
		print_bash(stdout);
	else if (strcmp(argv[first], "zsh") == 0)
		print_zsh(stdout);
	else if (strcmp(argv[first], "fish") == 0)
		print_fish(stdout);
	else
		return cli_unexpected(&cmd_completion_spec, argv[first]) < 0 ? 2 : 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("nsreload completion: stdout");
		return 1;
	}
	return 0;
}
