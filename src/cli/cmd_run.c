/*
 * nsreload run: the command's set-up. Its options and the configuration make
 * a struct config and a log; then the event loop (src/reload/loop.h) runs the
 * state machine (src/reload/reload.h) until the exit sequence is over.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "safefs.h"
#include "util.h"
#include "version.h"

struct run_opts {
	int color_mode; /* -1: from the configuration */
	enum log_format format;
	bool no_vcs_ignore;
	bool stdin_to_app;
};

/* ---- set-up ---------------------------------------------------------------------------------------- */

enum { RUN_COLOR = 1, RUN_LOG_FORMAT, RUN_NO_VCS_IGNORE, RUN_STDIN };

static const struct opt run_opts_table[] = {
	{ "--color", 0, NULL, OPT_VALUE, "WHEN", "auto, always, never (NO_COLOR is honoured)", RUN_COLOR,
	  .complete = OPT_COMPLETE_WORDS, .words = "auto always never" },
	{ "--log-format", 0, NULL, OPT_VALUE, "FORMAT", "text or json (one JSON object per event)",
	  RUN_LOG_FORMAT, .complete = OPT_COMPLETE_WORDS, .words = "text json" },
	{ "--no-vcs-ignore", 0, NULL, OPT_NONE, NULL, "do not honour .gitignore and .ignore",
	  RUN_NO_VCS_IGNORE },
	{ "--stdin", 0, NULL, OPT_NONE, NULL, "give stdin to the app (no r/q keys)", RUN_STDIN },
	{ NULL },
};

const struct opts_cmd cmd_run_spec = {
	.name = "run",
	.synopsis = "[options] [BIN [ARGS...]]",
	.summary = "watch, rebuild and restart in boxes (the default)",
	.about = "Watches the tree, rebuilds with build.cmd in a box on every change and\n"
		 "restarts the app in a box. The old app's box is empty (every process\n"
		 "gone, ports free) before the new one starts. With no configuration it\n"
		 "behaves as air: go build -o ./tmp/main . and runs ./tmp/main.\n"
		 "BIN [ARGS...] replace the configured app.",
	.tables = { run_opts_table, config_flag_opts },
	.more_options = "      --KEY=VALUE       set any key: --build.cmd='make', --build.delay=0\n"
			"                        (nsreload config --markdown lists them)\n",
	.epilogue = "Keys (stdin a terminal): r+Enter rebuilds and restarts, q+Enter quits.\n"
		    "Exit status: 0 after a requested exit, 1 on a failure while running,\n"
		    "2 for a configuration error, 125 when the box cannot be set up.",
	.config_keys = true,
};

static void run_usage(FILE *f)
{
	opts_help(f, &cmd_run_spec);
}

/* value is one of words' space-separated words: *index is its position. */
static int pick_word(const char *words, const char *value, int *index)
{
	size_t len = strlen(value);

	*index = 0;
	for (const char *w = words; *w; (*index)++) {
		size_t wlen = strcspn(w, " ");

		if (wlen == len && strncmp(w, value, len) == 0)
			return 0;
		w += wlen;
		w += *w == ' ';
	}
	return -EINVAL;
}

static int take_run_option(void *data, const struct opt *opt, const char *value, const char *written)
{
	struct run_opts *o = data;
	char esc[256];
	int i;

	switch (opt->id) {
	case RUN_COLOR:
	case RUN_LOG_FORMAT:
		if (pick_word(opt->words, value, &i) < 0) {
			fprintf(stderr, "nsreload run: %s: expected %s, got '%s'\n", written,
				opt->id == RUN_COLOR ? "auto, always or never" : "text or json",
				text_escape(esc, sizeof(esc), value));
			return -EINVAL;
		}
		if (opt->id == RUN_COLOR)
			o->color_mode = i == 0   ? CONFIG_COLOR_AUTO
					: i == 1 ? CONFIG_COLOR_ALWAYS
						 : CONFIG_COLOR_NEVER;
		else
			o->format = i == 0 ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
		return 0;
	case RUN_NO_VCS_IGNORE:
		o->no_vcs_ignore = true;
		return 0;
	case RUN_STDIN:
		o->stdin_to_app = true;
		return 0;
	}
	return -EINVAL;
}

/* As air: root /, /root or $HOME is refused unless build.ignore_dangerous_root_dir says otherwise. */
static int check_root(const struct config *c, struct log *log)
{
	char *real = realpath(c->root, NULL);
	const char *what = "";
	bool refused = real && !c->build.ignore_dangerous_root_dir && safefs_dangerous_dir(real, &what);

	if (refused)
		log_msg(log, LOG_MAIN,
			"root %s is %s: nsreload would watch and build all of it and, with "
			"misc.clean_on_exit, remove its tmp_dir; refusing. Point root at a project, or set "
			"build.ignore_dangerous_root_dir = true",
			real, what);
	free(real);
	return refused ? -EPERM : 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .color_mode = -1, .format = LOG_FORMAT_TEXT };
	struct config_args a = { .cmd = &cmd_run_spec, .own_option = take_run_option, .own_data = &o };
	struct config c;
	struct log *log = NULL;
	int r, code = 2;

	r = config_setup(&c, argc, argv, &a, NULL);
	if (r < 0)
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	if (a.help) {
		run_usage(stdout);
		config_free(&c);
		return 0;
	}
	r = config_set_command(&c, argv + a.first_positional, argc - a.first_positional);
	if (r < 0) {
		fprintf(stderr, "nsreload run: %s\n", strerror(-r));
		config_free(&c);
		return 1;
	}
	r = log_new(&log, &c,
		    &(struct log_opts){ .out = stderr,
					.format = o.format,
					.color_mode = o.color_mode >= 0 ? o.color_mode : c.color.mode });
	if (r < 0) {
		config_free(&c);
		return 1;
	}
	/* air prints its banner unless misc.startup_banner says otherwise: unset is ours, "" none. */
	log_banner(log, c.misc.startup_banner ? c.misc.startup_banner : "nsreload " NSRELOAD_VERSION);
	if (check_root(&c, log) == 0)
		code = reload_run(&c, log,
				  &(struct reload_opts){ .vcs_ignore = !o.no_vcs_ignore,
							 .stdin_to_app = o.stdin_to_app });
	log_free(log);
	config_free(&c);
	return code;
}
