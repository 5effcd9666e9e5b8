/*
 * box-internal.h - what box.c and the rung files share: the context and box
 * state, the operations table every rung fills, and the helpers spawn.c and
 * reap.c give the rungs. Nothing outside cgroup/ includes this.
 *
 * Headers depend downward only:
 *   box.h  <-  box-internal.h  <-  box.c, rung.c, spawn.c, reap.c, rungs/<rung>.c
 *   and below them all: probe.h  <-  proc/ (clone.h, pin.h, proctree.h)  <-  cgfs.h
 * (an arrow points from what is included to what includes it). The probe
 * knows nothing of rungs; the rungs know nothing of each other.
 *
 * Adding a rung (the cgroup v1 freezer next):
 *  1. cgroup/rungs/<name>.c defines `const struct box_ops box_<name>_ops`,
 *     the way rungs/cgroup2.c does: works() reads the probe, the rest acts
 *     on a struct box. Its state goes in struct box and struct box_ctx below
 *     (a cgroup directory fd goes in cg_fd: box.c treats a box holding one as
 *     killable without a pid).
 *  2. enum box_rung in box.h gets its value, and rung.c's table gets one
 *     entry: its name, whether auto may pick it (auto tries the table in
 *     order), and its ops, outermost first. A rung made of two (cgroup2+pidns
 *     is cgroup2's box holding pidns's processes) lists both; nothing else
 *     changes. CMake picks up every file in cgroup/rungs/.
 *  3. Should it need a host fact the probe does not find yet, that is a new
 *     part in probe.h (and an item doctor lists).
 */
#ifndef NSRELOAD_BOX_INTERNAL_H
#define NSRELOAD_BOX_INTERNAL_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "box.h"
#include "cgv1.h"
#include "probe.h"

/*
 * One rung's operations. A rung is one or two of these (struct
 * box_rung_def), and box.c combines them the same way for every rung:
 *  - works, probe_parts: every op must work; the probe runs the union.
 *  - ctx_init, create: each op's in order; ctx_fini, destroy in reverse.
 *  - spawn, signal_main, signal_all: the last op's (the one that starts the
 *    processes; the ones before it hold them). signal_main NULL: through the
 *    main process's pidfd (box_pidfd_signal).
 *  - kill: each op's in order, as one pass.
 *  - update: each op's; the box is empty when every op says so.
 * Any op but works, spawn, signal_all and kill may be NULL: nothing to do.
 */
struct box_ops {
	/* The probe's parts works() reads (BOX_PROBE_*). */
	unsigned probe_parts;
	/* Whether the host allows this op set, by the probe; why (may be NULL) says why not. */
	bool (*works)(const struct box_probe *p, char *why, size_t size);
	/* Context set-up and tear-down; fini returns -errno when something stays (a directory). */
	int (*ctx_init)(struct box_ctx *ctx, const struct box_ctx_opts *opts);
	int (*ctx_fini)(struct box_ctx *ctx);
	/* A new box, before its spawn; its undoing once it is empty (or given up on). */
	int (*create)(struct box *b);
	int (*destroy)(struct box *b);
	/* Starts sp: on success b->pid and b->pidfd are set. */
	int (*spawn)(struct box *b, const struct box_spawn *sp);
	int (*signal_main)(struct box *b, int sig);
	int (*signal_all)(struct box *b, int sig);
	/*
	 * One kill pass: 0 when nothing more is needed (what is killed leaves by
	 * itself and an fd or SIGCHLD says so, or the op set b->empty), a pause in
	 * microseconds after which box.c makes another pass from the box's timer,
	 * or -errno (giving up included). b->kill_passes counts the passes since
	 * box_kill(), b->kill_start_ns is when it was called.
	 */
	int (*kill)(struct box *b);
	/* 1 when this op finds the box empty, 0 when not yet, -errno. The main process is reaped first. */
	int (*update)(struct box *b);
};

/* The rungs and what makes each: rung.c's table. */
#define BOX_OPS_PER_RUNG 2

struct box_rung_def {
	const char *name;
	bool in_auto;                                /* auto may pick it; auto tries the table in order */
	const struct box_ops *ops[BOX_OPS_PER_RUNG]; /* outermost first; the rest NULL */
};

/* The table entry of rung, or NULL for auto and unknown values. */
const struct box_rung_def *box_rung_def(enum box_rung rung);
/* The probe parts a context for rung needs: the union of its ops', or every part for auto. */
unsigned box_rung_probe_parts(enum box_rung rung);
/* The next rung auto may pick after rung (BOX_RUNG_AUTO: the first), or BOX_RUNG_AUTO at the end. */
enum box_rung box_rung_next_auto(enum box_rung rung);
/*
 * Probes what ctx's rung needs (everything for auto: opts->rung), picks the
 * rung, and sets the context up with each op's ctx_init; auto falls back to
 * the next rung that works when that fails. ctx->why says why a rung was not
 * taken. Returns 0 with ctx->rung and ctx->def set, or -errno.
 */
int box_rung_choose(struct box_ctx *ctx, const struct box_ctx_opts *opts);
/* Each op's ctx_fini, last first. Returns the first error. */
int box_rung_ctx_fini(struct box_ctx *ctx);
/* Sets why (when not NULL and size > 0) like snprintf: a works() reports through it. */
void box_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct cgv1_cg;

/* limits/limits.c: the controllers a box can be limited by, and where a context has each. */
enum box_lim_ctl { BOX_LIM_MEMORY, BOX_LIM_PIDS, BOX_LIM_CPU, BOX_LIM_N };
enum box_lim_via { BOX_LIM_VIA_NONE, BOX_LIM_VIA_V2, BOX_LIM_VIA_V1 };

struct box_ctx {
	enum box_rung rung;
	const struct box_rung_def *def;
	bool no_pin;
	bool pin_notice; /* pgroup: setsid goes to a listener the box answers (box_ctx_opts) */
	/* The host, probed once by box_ctx_new(): the rungs read it, never the host again. */
	struct box_probe probe;
	char why[2048];
	/* cgroup2: */
	char dir[PATH_MAX]; /* <parent>/<name>, for messages only; "" on rungs without cgroups */
	char name[BOX_CTX_NAME_MAX + 1];
	/*
	 * Both valid, or dirfd -1. dirfd holds an flock for as long as we live:
	 * it marks the directory as ours. Everything is done through these fds;
	 * the name is removed only while it still is dirfd's directory.
	 */
	int parentfd;
	int dirfd;
	/*
	 * cgroup1: the v1 freezer cgroup the contexts go in, and ours below it,
	 * nsreload.<pid>.<rand>, flock'd as dirfd is (fds -1 on other rungs).
	 */
	struct cgv1_cg v1_parent;
	struct cgv1_cg v1_dir;
	/* The death guard (rungs/cgroup2_guard.h): kills dirfd's (cgroup1: v1_dir's) tree if we die.
	 * guard_pid 0: none. */
	pid_t guard_pid;
	int guard_pidfd;
	unsigned next_id;
	struct box *boxes; /* live boxes, so reaping never steals a main process */
	/* box_ctx_exempt(): our number for each (reaping), and /proc's (the pgroup sweep); pid 0: a free slot
	 */
	struct {
		pid_t pid, proc_pid;
	} exempt[BOX_CTX_EXEMPT_MAX];
	bool pin_told; /* a BOX_EV_PIN_BLOCKED was given: the user hears it once */
	/* limits/limits.c: where each controller is (V2: enabled in dirfd's subtree_control). */
	enum box_lim_via lim_via[BOX_LIM_N];
	struct cgv1_cg
		*lim_v1_own[BOX_LIM_N];    /* VIA_V1: our own cgroup of that hierarchy (cgv1.h), else NULL */
	struct cgv1_cg *lim_v1[BOX_LIM_N]; /* VIA_V1: the context's directory below it, else NULL */
	char lim_note[1024];               /* limits_optional: why a controller was left out */
	char lim_how[128];                 /* where each limit goes: "memory_max on cgroup1; ..." */
};

struct box {
	struct box_ctx *ctx;
	struct box *next;
	enum box_rung rung;
	const struct box_rung_def *def;
	char name[BOX_NAME_SIZE];
	char token[96]; /* NSRELOAD_BOX value: finds unpinned pgroup escapees */
	char path[PATH_MAX + 64];
	int cg_fd;         /* cgroup directory, -1 */
	struct cgv1_cg v1; /* cgroup1: the box's v1 freezer cgroup; v1.fd is cg_fd then, else -1 */
	int events_fd;     /* cgroup.events, -1 */
	pid_t pid;         /* main process; on pidns rungs our init. Signalled only while unreaped. */
	pid_t proc_pid;    /* pgroup: pid as /proc numbers it (proctree.h), for the sweep's comparisons */
	int pidfd;     /* of pid until it is reaped (pgroup: until it exits); every signal to pid uses it */
	int status_fd; /* an init of ours reports the main process's wait statuses here (stops too), or -1 */
	int timer_fd;  /* the stop timeout, then the pause between kill passes */
	int pin_fd;    /* pgroup: the pin's listener, which hears each setsid of the box, or -1 */
	char pin_note[160]; /* what the pin stopped, told once per context (BOX_EV_PIN_BLOCKED) */
	bool spawned;
	bool main_exited;
	int main_stop_sig; /* the signal that stopped the main process, 0 while it runs */
	bool hold_main;   /* pgroup: the leader stays a zombie until the box is empty (its pid is the pgid) */
	bool main_zombie; /* hold_main and the leader has exited: its status is known, it is not reaped */
	bool pid_reaped;
	bool empty;
	bool empty_reported;
	bool stopping;
	bool stop_killed;
	bool kill_retry; /* a kill pass asked for another: timer_fd times it */
	unsigned kill_passes;
	int main_status;
	enum box_spawn_stage spawn_stage;
	unsigned pending; /* BOX_EV_* not yet returned by box_process() */
	uint64_t stop_start_ns;
	uint64_t stop_ns;
	uint64_t kill_start_ns;
	/* limits/limits.c: a box made by box_new_limited(). */
	bool limited;
	struct box_limits lim;             /* as applied: a field whose controller the context lacks is 0 */
	struct cgv1_cg *lim_v1[BOX_LIM_N]; /* the box's own directory in each v1 hierarchy used, else NULL */
	int lim_join_fd[BOX_LIM_N]; /* its cgroup.procs: the first process writes itself in before exec */
	uint64_t lim_oom_seen;      /* counters already turned into events */
	uint64_t lim_pids_seen;
	uint64_t lim_pids_told_ns; /* when the last BOX_EV_PIDS_MAX was given */
	int lim_pids_fd;     /* v2: pids.events (POLLPRI); v1 (no notification): a 1 s timerfd (POLLIN); -1 */
	bool lim_pids_timer; /* lim_pids_fd is v1's timerfd */
	int lim_oom_fd; /* v2: memory.events (POLLPRI); v1: an eventfd on memory.oom_control (POLLIN); -1 */
	bool lim_oom_eventfd; /* lim_oom_fd is v1's eventfd */
};

/* spawn.c: starting a box's first process. */

/* What runs in a fresh child between clone and exec. */
struct box_child {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int stdio[3];
	int tty_fd;
	bool pin;
	int pin_sock; /* >= 0 with pin: the filter's listener goes to the supervisor here */
	int err_fd;   /* CLOEXEC pipe: receives a struct box_child_err when exec is not reached */
	int procs_fd; /* >= 0: write ourselves into this cgroup.procs first */
	/* box_spawn.pass_fds: moved to 3.. just before exec; listen_pid is the digits of LISTEN_PID in envp
	 */
	const int *pass_fds;
	size_t n_pass_fds;
	char *listen_pid; /* LISTEN_PID_DIGITS bytes and a NUL to overwrite with getpid(), or NULL */
	/* limits/limits.c: cgroup.procs files of the box's v1 directories, joined next (fds < 0 are skipped)
	 */
	int join_fd[BOX_LIM_N];
};

struct box_child_err {
	int err;   /* errno */
	int stage; /* enum box_spawn_stage: SETUP, CGROUP or EXEC */
};

/* Never returns: execs or reports through err_fd and exits 127. */
void box_child_exec(const struct box_child *c) __attribute__((noreturn));
/*
 * For a new box process right after its setpgid(0, 0), signals still blocked:
 * drops what is pending. Until that call it sat in the supervisor's process
 * group, so a signal pending now was sent to that group (a closed terminal's
 * hang-up that bash passes on to its jobs, a Ctrl-C): it was meant for the
 * supervisor, which has its own copy. Nothing of ours can be among them, as
 * box_spawn() has not returned yet. Without this, a post_cmd spawned as the
 * terminal closes could die of the shell's SIGHUP.
 */
void box_child_drop_pending(void);

/*
 * Waits for the child's error report: 0 when the pipe closed on exec, or
 * -errno from the child, with its stage in *stage. Closes err_rd.
 */
int box_read_child_err(int err_rd, enum box_spawn_stage *stage);

/*
 * Clones the box's first process (proc_clone() with flags) into b->cg_fd when
 * the box has one. Where clone3 cannot place it there, it is cloned outside
 * with *procs_fd open on that cgroup's cgroup.procs (else -1): the child must
 * write itself in before anything else, and fail rather than exec outside.
 * Returns 0 in the child, the pid in the parent, or -errno.
 */
pid_t box_clone_into(const struct box *b, uint64_t flags, int *pidfd, int *procs_fd);

/*
 * Starts sp in the box without a namespace: cloned into b->cg_fd when >= 0
 * (or moving itself there where clone3 cannot), pinned to its process group
 * when pin. Returns 0 once the command has exec'd, or -errno.
 */
int box_spawn_direct(struct box *b, const struct box_spawn *sp, bool pin);

/* Room for a pid in decimal: the kernel's pid_max is at most 2^22. */
#define LISTEN_PID_DIGITS 10

/*
 * The environment for the box: envp (or environ) plus NSRELOAD_BOX=<token>
 * and, when sp passes fds, LISTEN_FDS, LISTEN_FDNAMES and a LISTEN_PID whose
 * LISTEN_PID_DIGITS digits *listen_pid points at, for the child to write its
 * own pid in place (no allocation after clone). Free with free(); NULL when
 * out of memory.
 */
char **box_make_env(const struct box *b, const struct box_spawn *sp, char **listen_pid);
/* Checks sp's pass_fds: -E2BIG above BOX_PASS_FDS_MAX, -EINVAL for a name with ':' or a negative fd. */
int box_check_pass_fds(const struct box_spawn *sp);

/* limits/limits.c: the limits of box_new_limited() (box.h), on cgroup v2 or the v1 hierarchies. */

/* After the rung's ctx_init: prepares the controllers opts->limits needs. -ENOTSUP (ctx->why says why). */
int box_limits_ctx_init(struct box_ctx *ctx, const struct box_ctx_opts *opts);
/* Before the rung's ctx_fini: removes the context's v1 directories. Returns 0 or -EBUSY. */
int box_limits_ctx_fini(struct box_ctx *ctx);
/* After the rung's create: writes lim into the box's cgroups. -errno, nothing left behind. */
int box_limits_create(struct box *b, const struct box_limits *lim);
/* Once the box is empty: removes its v1 directories. Returns 0 or -EBUSY. */
int box_limits_destroy(struct box *b);
/* The BOX_EV_OOM and BOX_EV_PIDS_MAX that the counters owe since the last call. */
unsigned box_limits_events(struct box *b);
/* Fills c->join_fd from the box (every -1 without v1 directories). */
void box_limits_child(const struct box *b, struct box_child *c);
/* In the child before exec: joins each v1 directory. 0 or -errno. Async-signal-safe. */
int box_limits_join(const struct box_child *c);

/* limits/v1.c: the v1 hierarchies' side of limits/limits.c, through cgv1.h. */

/* The context's directory in ctl's hierarchy (controller, for key's messages). -ENOENT: no such hierarchy. */
int box_lim_v1_ctx_init(struct box_ctx *ctx, enum box_lim_ctl ctl, const char *controller, const char *key);
void box_lim_v1_ctx_fini(struct box_ctx *ctx, enum box_lim_ctl ctl);
/* The box's directory in ctl's hierarchy with lim's value, and its cgroup.procs in b->lim_join_fd. */
int box_lim_v1_create(struct box *b, enum box_lim_ctl ctl, const struct box_limits *lim);
int box_lim_v1_destroy(struct box *b, enum box_lim_ctl ctl);
/* An eventfd the kernel signals on an OOM in the memory cgroup dirfd, or -errno. */
int box_lim_v1_oom_eventfd(int dirfd);
/* A 1 s periodic timerfd: v1's pids.events notifies nothing. -errno. */
int box_lim_v1_pids_timer(void);

/* reap.c: the main process. */

/*
 * Takes what an init of ours sent through status_fd: the command's stops and
 * continues, then its end. Closes the pipe at EOF.
 */
void box_read_main_status(struct box *b);

/*
 * Where the main process is our own child (no init of ours in between):
 * takes its stops and continues, with waitid(WSTOPPED | WCONTINUED), never
 * its exit. Returns 0 or -errno.
 */
int box_poll_main_stop(struct box *b);

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

/* reap.c: box_ctx_exempt()'s marks. Whether /proc's proc_pid is a marked child (no box's). */
bool box_ctx_exempted(const struct box_ctx *ctx, pid_t proc_pid);

#endif
