/*
 * cmds.h - the subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code.
 */
#ifndef NSRELOAD_CMDS_H
#define NSRELOAD_CMDS_H

int cmd_exec(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_config(int argc, char **argv);
/* 'nsreload run', and bare 'nsreload' or 'nsreload -OPTION...' */
int cmd_run(int argc, char **argv);

#endif
