/* nsreload: the command line. Each subcommand lives in its own file; cmds.h lists them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "version.h"

static int version(void)
{
	printf("nsreload %s\n", NSRELOAD_VERSION);
	return 0;
}

/* 'nsreload help [COMMAND]'. */
static int help(const char *name)
{
	const struct cli_command *c = name ? cli_command_find(name) : NULL;

	if (c)
		opts_help(stdout, c->spec);
	else
		cli_usage(stdout);
	return 0;
}

static int unknown_command(const char *cmd)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	char esc[256];

	for (size_t i = 0; i < cli_command_count; i++) {
		const char *name = cli_commands[i].spec->name;
		size_t d = opts_edit_distance(cmd, strlen(cmd), name, strlen(name));

		if (d < best_d) {
			best = name;
			best_d = d;
		}
	}
	fprintf(stderr, "nsreload: unknown command '%s'", text_escape(esc, sizeof(esc), cmd));
	if (best && opts_close_enough(best_d, strlen(cmd)))
		fprintf(stderr, "; did you mean '%s'?", best);
	fputs("\n", stderr);
	cli_usage(stderr);
	return 2;
}

static bool is_one_of(const char *s, const char *a, const char *b, const char *c)
{
	return strcmp(s, a) == 0 || strcmp(s, b) == 0 || strcmp(s, c) == 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	const struct cli_command *c;

	if (cmd && is_one_of(cmd, "version", "--version", "-V"))
		return version();
	if (cmd && is_one_of(cmd, "help", "--help", "-h"))
		return help(argc > 2 && strcmp(cmd, "help") == 0 ? argv[2] : NULL);
	/* Like air: no command, or options only, means run with the configuration file. */
	if (!cmd || cmd[0] == '-') {
		char *run_argv0 = "run";
		argv[0] = run_argv0;
		return cmd_run(argc, argv);
	}
	c = cli_command_find(cmd);
	if (!c)
		return unknown_command(cmd);
	return c->main(argc - 1, argv + 1);
}
