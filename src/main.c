/* nsreload: the command line. Each subcommand lives in its own file (cmds.h). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "version.h"

static void usage(FILE *f)
{
	fputs("usage: nsreload [run] [options] [BIN [ARGS...]]\n"
	      "       nsreload <command> [options]\n"
	      "\n"
	      "  run [options] [BIN [ARGS...]]   watch, rebuild and restart in boxes (the default)\n"
	      "  exec [options] -- cmd args...   run one command in a box, in the foreground\n"
	      "  doctor [--json]                 which containment rungs work here, and why\n"
	      "  init [--from-air [FILE]]        write a commented .nsreload.toml\n"
	      "  config [-c FILE] [--json]       the effective configuration and where it came from\n"
	      "  version                         print the version\n"
	      "\n"
	      "'nsreload <command> --help' describes a command.\n",
	      f);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	char esc[256];

	/* Like air: no command, or options only, means run with the configuration file. */
	if (!cmd || (cmd[0] == '-' && strcmp(cmd, "--version") != 0 && strcmp(cmd, "--help") != 0 &&
		     strcmp(cmd, "-h") != 0)) {
		char *run_argv0 = "run";
		argv[0] = run_argv0;
		return cmd_run(argc, argv);
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "exec") == 0)
		return cmd_exec(argc - 1, argv + 1);
	if (strcmp(cmd, "doctor") == 0)
		return cmd_doctor(argc - 1, argv + 1);
	if (strcmp(cmd, "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("nsreload %s\n", NSRELOAD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "nsreload: unknown command '%s'\n", text_escape(esc, sizeof(esc), cmd));
	usage(stderr);
	return 2;
}
