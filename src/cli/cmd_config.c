/* nsreload config: the effective configuration and where each value came from. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "config.h"

enum config_output { OUT_TEXT, OUT_JSON, OUT_MARKDOWN };

static void config_usage(FILE *f)
{
	fputs("usage: nsreload config [-c FILE] [--json | --markdown] [options] [BIN [ARGS...]]\n"
	      "\n"
	      "Prints the configuration nsreload would run with, one key per line, each\n"
	      "with where its value came from: default, FILE:LINE, or a flag. The file is\n"
	      "-c FILE, else the first of .nsreload.toml, .air.toml, .config/air.toml.\n"
	      "\n"
	      "  --json               the same as one JSON object\n"
	      "  --markdown           the key reference (docs/config.md) instead\n"
	      "  -c, --config FILE    read this file\n"
	      "  --KEY=VALUE          set any key, as in air: --build.cmd='make', --tmp_dir=out\n"
	      "                       (lists are comma-separated; repeat a list flag to add)\n"
	      "  -w, --watch DIR      build.include_dir (repeatable)\n"
	      "  -e, --exts LIST      build.include_ext, comma-separated\n"
	      "  -i, --ignore GLOB    build.exclude_file (repeatable)\n"
	      "  --debounce DUR       build.delay\n"
	      "  --signal SIG         box.stop_signal\n"
	      "  --stop-timeout DUR   build.kill_delay\n"
	      "  --on-busy-update M   on_busy: queue, restart, do-nothing, signal\n"
	      "  --box RUNG           box.mode: auto, cgroup2, cgroup2+pidns, pidns, pgroup\n"
	      "\n"
	      "BIN [ARGS...] replace the configured app, as for 'nsreload run'.\n",
	      f);
}

static int take_output_option(void *data, const char *arg)
{
	enum config_output *out = data;

	if (strcmp(arg, "--json") == 0)
		*out = OUT_JSON;
	else if (strcmp(arg, "--markdown") == 0)
		*out = OUT_MARKDOWN;
	else
		return 0;
	return 1;
}

int cmd_config(int argc, char **argv)
{
	enum config_output out = OUT_TEXT;
	struct config_args a = { .own_option = take_output_option, .own_data = &out };
	struct config c;
	int r;

	r = config_setup(&c, argc, argv, &a, NULL);
	if (r < 0)
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	if (a.help) {
		config_usage(stdout);
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
