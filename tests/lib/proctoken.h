/*
 * proctoken - what the C integration harnesses share: finding the processes
 * of a test by an entry in their environment (never by a pid list), killing
 * them safely, and a cgroup v2 parent of the test's own with its clean-up.
 *
 * Every function takes the state it works on; nothing here keeps a global.
 */
#ifndef NSRELOAD_PROCTOKEN_H
#define NSRELOAD_PROCTOKEN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A growable buffer for whole /proc and cgroupfs files. */
struct pt_buf {
	char *data;
	size_t cap;
};

/*
 * Which processes belong to the test: those with an environment entry that
 * starts with prefix (plen bytes; an exact "VAR=value" match includes the
 * terminating NUL in plen) and, if accept is set, whose rest it accepts.
 */
struct pt_match {
	char prefix[256];
	size_t plen;
	bool (*accept)(const char *rest, size_t len, void *arg);
	void *arg;
};

/* A cgroup v2 directory under which the boxes of a test go (or, v1, a v1 freezer one: pt_cgroup1_setup). */
struct pt_cgroup {
	char mount[PATH_MAX];
	char parent[PATH_MAX]; /* "" when there is no writable cgroup2 */
	bool made;             /* we created parent, so we remove it */
	bool v1;               /* a v1 freezer directory: tasks, freezer.state, no cgroup.events */
	char rel[256];         /* v1: parent below our own freezer cgroup, for $NSRELOAD_CGROUP1_PARENT */
};

long long pt_now_ms(void);
void pt_sleep_ms(long ms);
bool pt_in_list(const char *list, const char *name);
/* A non-negative integer from the environment, def when unset; warns under prog's name when bad. */
int pt_env_int(const char *prog, const char *name, int def);
void pt_describe_status(int status, char *buf, size_t size);
/* argv[0]-style lookup in PATH; buf on success, NULL if not found. */
const char *pt_find_in_path(const char *prog, char *buf, size_t size);
int pt_pidfd_open(pid_t pid);
/*
 * In a forked child before it execs nsreload: a process group of its own (a
 * broken kill(-pgrp) in nsreload must not hit the harness), default signal
 * dispositions and an empty mask, stdin on /dev/null.
 */
void pt_child_prepare(void);
/*
 * INT, TERM and HUP call handler, without SA_RESTART: an interrupted poll or
 * sleep returns, so that every loop of a harness can notice and clean up.
 * SIGPIPE is ignored.
 */
void pt_catch_stop_signals(void (*handler)(int));
int pt_pidfd_send_signal(int pidfd, int sig);

/* A copy of environ without the variables named in add, then add ("VAR=value" each, NULL-ended). */
char **pt_envp_new(char *const add[]);
void pt_envp_free(char **envp);

/* Reads a whole file into b, NUL-terminated; its length, or -errno. */
ssize_t pt_read_file(struct pt_buf *b, const char *path);
void pt_buf_free(struct pt_buf *b);

/* Matches exactly VAR=value. */
void pt_match_exact(struct pt_match *m, const char *var, const char *value);
/* Whether pid matches; reads the other threads' environ when the leader's reads empty. */
bool pt_pid_matches(struct pt_buf *b, pid_t pid, const struct pt_match *m);
/* How many processes (other than us) match; stores up to max of them in pids. */
int pt_find(struct pt_buf *b, const struct pt_match *m, pid_t *pids, int max);
/* Kills every matching process, round after round (a fork storm forks between rounds); how many kills. */
int pt_kill_all(struct pt_buf *b, const struct pt_match *m);
/* One line about pid (ppid, state, comm, NSpid) on stdout, indented. */
void pt_print_process(struct pt_buf *b, pid_t pid);

/*
 * Sets cg->parent: the given directory if set (used as it is, never removed),
 * else a fresh <cgroup2 mount>/<name>.<pid>. 0, or -errno with parent "".
 */
int pt_cgroup_setup(struct pt_cgroup *cg, const char *name, const char *given);
/*
 * The v1 twin: a fresh <freezer mount><our own freezer cgroup>/<name>.<pid>,
 * with cg->rel its name below our own cgroup (what NSRELOAD_CGROUP1_PARENT
 * takes). given (a NSRELOAD_CGROUP1_PARENT already set, envmatrix's) is used
 * as it is and never removed. 0, or -errno with parent "" (no v1 freezer, or
 * not writable).
 */
int pt_cgroup1_setup(struct pt_cgroup *cg, const char *name, const char *given);
/* Removes the parent we made (retrying while it is busy); leaves a given one alone. */
void pt_cgroup_done(struct pt_cgroup *cg);
/* 1 populated, 0 empty, -errno. From cgroup.events, or v1's tasks where there is none. */
int pt_cgroup_populated(struct pt_buf *b, const char *dir);
/* Only strictly below our parent, without "..", and not holding us. */
bool pt_cgroup_safe_to_kill(const struct pt_cgroup *cg, const char *dir);
/* Kills and removes a cgroup tree below our parent, depth first, with bounded retries. */
int pt_cgroup_remove_tree(struct pt_buf *b, const struct pt_cgroup *cg, const char *dir);

#endif
