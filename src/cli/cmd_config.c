/* nsreload config: the effective configuration and where each value came from. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "config.h"

enum config_output { OUT_TEXT, OUT_JSON, OUT_MARKDOWN };

static const struct opt config_opts_table[] = {
	{ "--json", 0, NULL, OPT_NONE, NULL, "the same as one JSON object", OUT_JSON },
	{ "--markdown", 0, NULL, OPT_NONE, NULL, "the key reference (docs/config.md) instead", OUT_MARKDOWN },
	{ NULL },
};

const struct opts_cmd cmd_config_spec = {
	.name = "config",
	.synopsis = "[-c FILE] [--json | --markdown] [options] [BIN [ARGS...]]",
	.summary = "the effective configuration and where it came from",
	.about = "Prints the configuration nsreload would run with, one key per line, each\n"
		 "with where its value came from: default, FILE:LINE, or a flag. The file is\n"
		 "-c FILE, else the first of .nsreload.toml, .air.toml, .config/air.toml.\n"
		 "It takes every option of 'nsreload run' that sets a key.",
	.tables = { config_opts_table, config_flag_opts },
	.more_options = "      --KEY=VALUE       set any key, as in air: --build.cmd='make', --tmp_dir=out\n"
			"                        (lists are comma-separated; repeat a list flag to add)\n",
	.epilogue = "BIN [ARGS...] replace the configured app, as for 'nsreload run'.\n"
		    "Exit status: 0, 1 when it cannot be printed, 2 for a configuration error.",
	.config_keys = true,
};

static int take_output_option(void *data, const struct opt *o, const char *value, const char *written)
{
	(void)value;
	(void)written;
	*(enum config_output *)data = (enum config_output)o->id;
	return 0;
}

int cmd_config(int argc, char **argv)
{
	enum config_output out = OUT_TEXT;
	struct config_args a = { .cmd = &cmd_config_spec,
				 .own_option = take_output_option,
				 .own_data = &out };
	struct config c;
	int r;

	r = config_setup(&c, argc, argv, &a, NULL);
	if (r < 0)
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	if (a.help) {
		opts_help(stdout, &cmd_config_spec);
		config_free(&c);
		return 0;
	}
	r = config_set_command(&c, argv + a.first_positional, argc - a.first_positional);
	if (r < 0) {
		fprintf(stderr, "nsreload config: %s\n", strerror(-r));
		config_free(&c);
		return 1;
	}
	if (out == OUT_JSON)
		config_print_json(stdout, &c);
	else if (out == OUT_MARKDOWN)
		config_print_markdown(stdout);
	else
		config_print_effective(stdout, &c);
	config_free(&c);
	if (fflush(stdout) != 0) {
		perror("nsreload config: stdout");
		return 1;
	}
	return 0;
}
