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

struct run_opts {
	int color_mode; /* -1: from the configuration */
	enum log_format format;
	bool no_vcs_ignore;
	bool stdin_to_app;
};

/* ---- set-up ---------------------------------------------------------------------------------------- */

static void run_usage(FILE *f)
{
	fputs("usage: nsreload [run] [options] [BIN [ARGS...]]\n"
	      "\n"
	      "Watches the tree, rebuilds with build.cmd in a box on every change and\n"
	      "restarts the app in a box. The old app's box is empty (every process\n"
	      "gone, ports free) before the new one starts. With no configuration it\n"
	      "behaves as air: go build -o ./tmp/main . and runs ./tmp/main.\n"
	      "\n"
	      "  -c, --config FILE      read this file (else .nsreload.toml, .air.toml)\n"
	      "  --KEY=VALUE            set any key: --build.cmd='make', --build.delay=0\n"
	      "  --box RUNG             auto, cgroup2, cgroup2+pidns, pidns, pgroup\n"
	      "  --debounce DUR         build.delay (trailing debounce)\n"
	      "  --signal SIG           box.stop_signal\n"
	      "  --stop-timeout DUR     grace before the run's box is killed\n"
	      "  --on-busy-update M     queue, restart, do-nothing, signal\n"
	      "  --color=WHEN           auto, always, never (NO_COLOR is honoured)\n"
	      "  --log-format=FORMAT    text or json (one JSON object per event)\n"
	      "  --no-vcs-ignore        do not honour .gitignore and .ignore\n"
	      "  --stdin                give stdin to the app (no r/q keys)\n"
	      "\n"
	      "Keys (stdin a terminal): r+Enter rebuilds and restarts, q+Enter quits.\n"
	      "NSRELOAD_CGROUP_PARENT names the cgroup v2 directory to put boxes under.\n",
	      f);
}

static int take_run_option(void *data, const char *arg)
{
	struct run_opts *o = data;
	char esc[256];

	if (strncmp(arg, "--color=", 8) == 0) {
		const char *v = arg + 8;
		if (strcmp(v, "auto") == 0)
			o->color_mode = CONFIG_COLOR_AUTO;
		else if (strcmp(v, "always") == 0)
			o->color_mode = CONFIG_COLOR_ALWAYS;
		else if (strcmp(v, "never") == 0)
			o->color_mode = CONFIG_COLOR_NEVER;
		else {
			fprintf(stderr, "nsreload run: --color: expected auto, always or never, got '%s'\n",
				text_escape(esc, sizeof(esc), v));
			return -EINVAL;
		}
		return 1;
	}
	if (strncmp(arg, "--log-format=", 13) == 0) {
		const char *v = arg + 13;
		if (strcmp(v, "text") == 0)
			o->format = LOG_FORMAT_TEXT;
		else if (strcmp(v, "json") == 0)
			o->format = LOG_FORMAT_JSON;
		else {
			fprintf(stderr, "nsreload run: --log-format: expected text or json, got '%s'\n",
				text_escape(esc, sizeof(esc), v));
			return -EINVAL;
		}
		return 1;
	}
	if (strcmp(arg, "--no-vcs-ignore") == 0) {
		o->no_vcs_ignore = true;
		return 1;
	}
	if (strcmp(arg, "--stdin") == 0) {
		o->stdin_to_app = true;
		return 1;
	}
	return 0;
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
	struct config_args a = { .own_option = take_run_option, .own_data = &o };
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
	if (check_root(&c, log) == 0)
		code = reload_run(&c, log,
				  &(struct reload_opts){ .vcs_ignore = !o.no_vcs_ignore,
							 .stdin_to_app = o.stdin_to_app });
	log_free(log);
	config_free(&c);
	return code;
}
