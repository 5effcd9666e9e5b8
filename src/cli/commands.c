/* The registry of commands (cmds.h) and the parse-and-report step that the commands share. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "util.h"

const struct cli_command cli_commands[] = {
	{ &cmd_run_spec, cmd_run },       { &cmd_exec_spec, cmd_exec },
	{ &cmd_doctor_spec, cmd_doctor }, { &cmd_init_spec, cmd_init },
	{ &cmd_config_spec, cmd_config }, { &cmd_completion_spec, cmd_completion },
};
const size_t cli_command_count = sizeof(cli_commands) / sizeof(cli_commands[0]);

static const struct opt top_opts[] = {
	{ "--version", 'V', NULL, OPT_NONE, NULL, "print the version", CLI_TOP_VERSION },
	{ NULL },
};

const struct opts_cmd cli_top_spec = {
	.name = "",
	.synopsis = "[run] [options] [BIN [ARGS...]]\n       nsreload <command> [options]",
	.summary = "hot-reload supervisor that leaves no process behind",
	.tables = { top_opts },
	.epilogue = "'nsreload <command> --help' describes a command.",
};

void cli_usage(FILE *f)
{
	fprintf(f, "usage: nsreload %s\n\nCommands:\n", cli_top_spec.synopsis);
	for (size_t i = 0; i < cli_command_count; i++) {
		const struct opts_cmd *c = cli_commands[i].spec;
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	}
	fprintf(f, "  %-12s %s\n  %-12s %s\n\nOptions:\n", "version", "print the version", "help [CMD]",
		"this help, or a command's");
	opts_help_options(f, &cli_top_spec);
	fprintf(f, "\n%s\n", cli_top_spec.epilogue);
}

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < cli_command_count; i++)
		if (strcmp(cli_commands[i].spec->name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

struct cli_take {
	int (*take)(void *data, const struct opt *o, const char *value, const char *written);
	void *data;
	bool help;
};

static int take_or_help(void *data, const struct opt *o, const char *value, const char *written)
{
	struct cli_take *t = data;

	if (o->id == OPT_ID_HELP) {
		t->help = true;
		return 0;
	}
	return t->take ? t->take(t->data, o, value, written) : 0;
}

static void point_at_help(const struct opts_cmd *cmd)
{
	fprintf(stderr, "Try 'nsreload%s%s --help'.\n", cmd->name[0] ? " " : "", cmd->name);
}

int cli_parse(const struct opts_cmd *cmd, int argc, char **argv,
	      int (*take)(void *data, const struct opt *o, const char *value, const char *written),
	      void *data, int *first_positional)
{
	struct cli_take t = { .take = take, .data = data };
	const struct opts_hooks h = { .take = take_or_help, .data = &t };
	char err[512] = "", esc[2048];
	int r;

	r = opts_parse(cmd, argc, argv, &h, first_positional, err, sizeof(err));
	if (r < 0) {
		if (err[0])
			fprintf(stderr, "nsreload%s%s: %s\n", cmd->name[0] ? " " : "", cmd->name,
				text_escape(esc, sizeof(esc), err));
		point_at_help(cmd);
		return -EINVAL;
	}
	if (t.help) {
		opts_help(stdout, cmd);
		return 1;
	}
	return 0;
}

int cli_unexpected(const struct opts_cmd *cmd, const char *arg)
{
	char esc[1024];

	fprintf(stderr, "nsreload %s: unexpected argument '%s'\n", cmd->name,
		text_escape(esc, sizeof(esc), arg));
	point_at_help(cmd);
	return -EINVAL;
}
