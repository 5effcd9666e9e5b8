/*
 * box-internal.h - state shared by box.c and the rung files, and the hooks
 * each rung provides. Nothing outside cgroup/ includes this.
 */
#ifndef NSRELOAD_BOX_INTERNAL_H
#define NSRELOAD_BOX_INTERNAL_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "box.h"

/*
 * The context directory is <parent>/nsreload.<pid>.<16 hex digits>: the
 * random part keeps apart supervisors with the same pid in different PID
 * namespaces that share a cgroup parent. At most this long:
 */
#define BOX_CTX_NAME_MAX (sizeof("nsreload.") - 1 + 10 + 1 + 16)
/* Box names (struct box name[]) are shorter than this, with their NUL. */
#define BOX_NAME_SIZE 64
/*
 * The longest cgroup parent path: <parent>/<context>/<box> must fit in
 * PATH_MAX, so that every path we keep or print is whole and can be opened.
 */
#define BOX_CGROUP_PARENT_MAX (PATH_MAX - 1 - BOX_CTX_NAME_MAX - 1 - BOX_NAME_SIZE)

struct box_ctx {
	enum box_rung rung;
	bool no_pin;
	bool force_freeze; /* NSRELOAD_HIDE_CGROUP_KILL: exercise the freeze loop */
	char why[2048];
	char dir[PATH_MAX]; /* <parent>/<name>, for messages only; "" on rungs without cgroups */
	char name[BOX_CTX_NAME_MAX + 1];
	/*
	 * Both valid, or dirfd -1. dirfd holds an flock for as long as we live:
	 * it marks the directory as ours. Everything is done through these fds;
	 * the name is removed only while it still is dirfd's directory.
	 */
	int parentfd;
	int dirfd;
	unsigned next_id;
	struct box *boxes; /* live boxes, so reaping never steals a main process */
};

struct box {
	struct box_ctx *ctx;
	struct box *next;
	enum box_rung rung;
	char name[BOX_NAME_SIZE];
	char token[96]; /* NSRELOAD_BOX value: finds unpinned pgroup escapees */
	char path[PATH_MAX + 64];
	int cg_fd;     /* cgroup directory, -1 */
	int events_fd; /* cgroup.events, -1 */
	pid_t pid;     /* main process; on pidns rungs our init. Signalled only while unreaped. */
	int pidfd;     /* of pid until it is reaped (pgroup: until it exits); every signal to pid uses it */
	int status_fd; /* pidns: init reports the target's wait status here */
	int timer_fd;  /* stop timeout */
	bool spawned;
	bool main_exited;
	bool hold_main;   /* pgroup: the leader stays a zombie until the box is empty (its pid is the pgid) */
	bool main_zombie; /* hold_main and the leader has exited: its status is known, it is not reaped */
	bool pid_reaped;
	bool empty;
	bool empty_reported;
	bool killed;
	bool stopping;
	bool stop_killed;
	int main_status;
	enum box_spawn_stage spawn_stage;
	unsigned pending; /* BOX_EV_* not yet returned by box_process() */
	uint64_t stop_start_ns;
	uint64_t stop_ns;
};

/* What runs in a fresh child between clone and exec. */
struct box_child {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int stdio[3];
	int tty_fd;
	bool pin;
	int err_fd;   /* CLOEXEC pipe: receives a struct box_child_err when exec is not reached */
	int procs_fd; /* >= 0: write ourselves into this cgroup.procs first */
};

struct box_child_err {
	int err;   /* errno */
	int stage; /* enum box_spawn_stage: SETUP, CGROUP or EXEC */
};

/* Never returns: execs or reports through err_fd and exits 127. */
void box_child_exec(const struct box_child *c) __attribute__((noreturn));

/*
 * clone3 with CLONE_PIDFD plus flags, into cgroup_fd when >= 0. Returns 0 in
 * the child, the pid in the parent, -errno on failure. Falls back to fork and
 * pidfd_open when clone3 is missing and no namespace flag is asked for.
 */
pid_t box_clone(uint64_t flags, int cgroup_fd, int *pidfd);

/*
 * Waits for the child's error report: 0 when the pipe closed on exec, or
 * -errno from the child, with its stage in *stage. Closes err_rd.
 */
int box_read_child_err(int err_rd, enum box_spawn_stage *stage);

/*
 * Starts sp in the box without a namespace: cloned into cgroup_fd when >= 0
 * (or moving itself there where clone3 cannot), pinned to its process group
 * when pin. Returns 0 once the command has exec'd, or -errno.
 */
int box_spawn_direct(struct box *b, const struct box_spawn *sp, int cgroup_fd, bool pin);

/*
 * Reaps the main process if it exited, recording its status. 1 if reaped, 0
 * if still running or, with hold_main, exited but held as a zombie: then
 * main_exited and main_zombie are set and the pidfd is closed (a zombie's
 * pidfd would keep the caller's level-triggered epoll awake).
 */
int box_try_reap_main(struct box *b);

/*
 * Reaps a held zombie leader: only once nothing else of its box is left, as
 * the group's number becomes free for anyone. Returns 0 or -errno.
 */
int box_reap_held_main(struct box *b);

/*
 * Sends sig to the main process (our init on the pidns rungs) through its
 * pidfd, with info (si_code SI_QUEUE and a value) when not NULL. -ESRCH once
 * the pidfd is gone, so a reaped and reused pid is never signalled.
 */
int box_pidfd_signal(struct box *b, int sig, const siginfo_t *info);

/* The environment for the box: envp (or environ) plus NSRELOAD_BOX=<token>. Free with free(). */
char **box_make_env(const struct box *b, char *const *envp);

/* Rung hooks. */
int cgroup2_box_create(struct box *b);
int cgroup2_box_spawn(struct box *b, const struct box_spawn *sp, bool pidns);
int cgroup2_box_signal_all(struct box *b, int sig);
int cgroup2_box_kill(struct box *b);
int cgroup2_box_update(struct box *b); /* sets b->empty */
int cgroup2_box_destroy(struct box *b);
int cgroup2_ctx_init(struct box_ctx *ctx, const char *parent, const struct box_ctx_opts *opts);
int cgroup2_ctx_fini(struct box_ctx *ctx); /* -errno when the directory stays */

int pidns_box_spawn(struct box *b, const struct box_spawn *sp, int cgroup_fd);
int pidns_box_signal_main(struct box *b, int sig);
int pidns_box_signal_all(struct box *b, int sig);
int pidns_box_update(struct box *b);
/* Takes the target's status from init's pipe, if init sent it; closes the pipe at EOF. */
void pidns_box_read_status(struct box *b);

int pgroup_box_spawn(struct box *b, const struct box_spawn *sp);
int pgroup_box_signal_all(struct box *b, int sig);
int pgroup_box_kill(struct box *b);
int pgroup_box_update(struct box *b);

#endif
