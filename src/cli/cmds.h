/*
 * cmds.h - the subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code, and each
 * declares its options in one table (an opts_cmd, opts.h): the registry
 * below is what main.c dispatches on, what 'nsreload completion' turns into
 * shell completions, and what the unit test checks against --help and the
 * man page.
 */
#ifndef NSRELOAD_CMDS_H
#define NSRELOAD_CMDS_H

#include <stddef.h>
#include <stdio.h>

#include "opts.h"

int cmd_exec(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_completion(int argc, char **argv);
/* 'nsreload run', and bare 'nsreload' or 'nsreload -OPTION...' */
int cmd_run(int argc, char **argv);

extern const struct opts_cmd cmd_run_spec;
extern const struct opts_cmd cmd_exec_spec;
extern const struct opts_cmd cmd_doctor_spec;
extern const struct opts_cmd cmd_init_spec;
extern const struct opts_cmd cmd_config_spec;
extern const struct opts_cmd cmd_completion_spec;

struct cli_command {
	const struct opts_cmd *spec;
	int (*main)(int argc, char **argv);
};

/* Every command, run first (the default). */
extern const struct cli_command cli_commands[];
extern const size_t cli_command_count;

/* The command called name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

/* nsreload's own options, before any command: -V/--version (and -h/--help). */
extern const struct opts_cmd cli_top_spec;
enum { CLI_TOP_VERSION = 1 };

/* 'nsreload --help': the commands and nsreload's own options. */
void cli_usage(FILE *f);

/* The rung names, signal names and duration form that several tables offer and describe alike. */
#define CLI_RUNG_WORDS   "auto cgroup2 pidns cgroup2+pidns cgroup1 cgroup1+pidns pgroup"
#define CLI_SIGNAL_WORDS "TERM INT HUP QUIT KILL USR1 USR2"

/*
 * Parses argv for a command that does not read the configuration, with
 * nsreload's messages: a usage error is "nsreload CMD: unknown option '--x';
 * did you mean '--y'?" and a pointer to --help on stderr, and --help prints
 * the command's help on stdout. take() gets the command's own options (not
 * --help). Returns 0 with *first_positional set, 1 after printing the help,
 * or -EINVAL after a usage error (exit 2).
 */
int cli_parse(const struct opts_cmd *cmd, int argc, char **argv,
	      int (*take)(void *data, const struct opt *o, const char *value, const char *written),
	      void *data, int *first_positional);

/* "nsreload CMD: unexpected argument 'x'" and the pointer to --help; returns -EINVAL. */
int cli_unexpected(const struct opts_cmd *cmd, const char *arg);

#endif
