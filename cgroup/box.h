/*
 * box.h - the containment contract of nsreload.
 *
 * A box holds one command and every process it ever starts. A stopped box is
 * empty: every one of its processes has exited and has been reaped, not only
 * the main one. Rungs implement the contract, each one file in cgroup/rungs/
 * (cgroup2.c, pidns.c, pgroup.c) behind one table of operations (rung.c); a
 * rung may be two of them together (cgroup2+pidns). box.c holds what they
 * share. How to add a rung: box-internal.h.
 *
 * Rules every caller can rely on:
 *  - Functions that return int return 0 (or a documented non-negative value)
 *    on success and -errno on failure. Nothing prints; messages are the
 *    caller's business, helped by the reasons box_ctx_new() leaves in
 *    box_ctx_opts.errbuf and box_ctx_why(), and by box_spawn_stage_what().
 *  - No threads and no signal handlers. The caller owns one epoll loop: it
 *    watches every fd returned by box_fds() for the events given, and on any
 *    readiness of those fds or on SIGCHLD it calls box_process() for each
 *    box (or box_ctx_reap() when it has none).
 *  - Nothing waits inside the loop's calls but for these bounds, each only
 *    in a host's or a process's failure (a process stuck in the kernel, a
 *    cgroup busy after it emptied, a kernel without cgroup.kill):
 *     - box_kill(), box_stop() and box_process() make one kill pass each and
 *       leave the next to the box's timer: on a kernel without cgroup.kill a
 *       pass is one freeze-and-kill round, waiting up to 200 ms for the
 *       freeze; on pgroup a pass is one walk of our descendants, waiting up
 *       to about 20 ms for each process whose environment reads empty (an
 *       execve under way, --no-pin only). The passes give up after 100
 *       rounds (about 21 s) or, on pgroup, 10 s, and box_process() returns
 *       that error.
 *     - box_spawn() waits for its process to exec (or to report why it could
 *       not) through a CLOEXEC pipe: the child's set-up and execve, nothing
 *       of the command's own running. One that fails after its process was
 *       created kills the box and waits for it to empty: usually
 *       milliseconds, at most 10 s.
 *     - box_free() of a box that is not empty kills it and waits up to 10 s;
 *       then, and box_ctx_free() too, removes the cgroup: up to 12 rmdir
 *       tries with sleeps doubling from 1 ms to 256 ms and a kill pass
 *       between them, about 4 s at worst.
 *     - box_ctx_new() probes the host, forking short-lived children (and on
 *       the cgroup rungs creating and removing a cgroup, up to 4 s as
 *       above); with a rung given it probes only what that rung needs. On
 *       the cgroup rungs it then sweeps stale contexts: for each, kill
 *       rounds (up to about 21 s without cgroup.kill), up to 2 s waiting
 *       for it to empty, and the removal (about 4 s).
 *    box_ctx_new() comes before the loop, where a wait is no surprise;
 *    box_free() normally gets a box that box_process() already found empty.
 *  - The supervising process calls box_supervisor_init() once, before any
 *    spawn: it becomes a child subreaper so that orphans of every rung come
 *    back to it and can be reaped.
 *  - A box never contains the calling process or its ancestors.
 */
#ifndef NSRELOAD_BOX_H
#define NSRELOAD_BOX_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum box_rung {
	BOX_RUNG_AUTO = 0,
	BOX_RUNG_CGROUP2,
	BOX_RUNG_CGROUP2_PIDNS,
	BOX_RUNG_CGROUP1, /* the cgroup v1 freezer, through libcgroup (cgv1.h) */
	BOX_RUNG_CGROUP1_PIDNS,
	BOX_RUNG_PIDNS,
	BOX_RUNG_PGROUP,
};

/* "auto", "cgroup2", "cgroup2+pidns", "cgroup1", "cgroup1+pidns", "pidns", "pgroup". */
const char *box_rung_name(enum box_rung rung);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int box_rung_parse(const char *name, enum box_rung *out);

/* What the host allows (probe.h): box_ctx_new() finds it, doctor prints it. */
struct box_probe;

/* Whether a rung works according to p; why (may be NULL) is filled when it does not. */
bool box_rung_works(const struct box_probe *p, enum box_rung rung, char *why, size_t size);

/*
 * Whether a SIGKILL of the supervisor ends every process of rung's boxes on
 * this host, by p (box_rung_works() first: this says nothing of whether the
 * rung works). how says how, or why not and what would. cgroup2: its guard
 * process (cgroup.kill, or the freeze-and-kill loop before 5.14); the pidns
 * rungs: init dies with the supervisor, and the namespace with init; pgroup
 * cannot.
 */
bool box_rung_dies_with_supervisor(const struct box_probe *p, enum box_rung rung, char *how, size_t size);

/*
 * Picks the best working rung: cgroup2, cgroup2+pidns is never picked by
 * auto (it is asked for explicitly), pidns, pgroup. why gets one line per
 * skipped rung. Returns 0, or -ENOTSUP if even pgroup does not work.
 */
int box_pick_rung(const struct box_probe *p, enum box_rung *out, char *why, size_t size);

/* Process-wide set-up of the supervisor: child subreaper. */
int box_supervisor_init(void);

/*
 * A box context is one supervisor's share of the host: what the probe found
 * (once per context, and a process makes one), the chosen rung and, on the
 * cgroup rungs, the directory <parent>/nsreload.<pid>.<random> that holds all
 * of its boxes. Creating one first removes stale nsreload.* directories whose
 * owner is gone (it held an flock on the directory while alive).
 */
struct box_ctx;
struct box_limits;

struct box_ctx_opts {
	enum box_rung rung;        /* AUTO: the whole probe and box_pick_rung() decide; else only its probe */
	const char *cgroup_parent; /* NULL: our own cgroup (cgroup rungs only) */
	bool no_pin;               /* pgroup: leave setsid alone */
	/*
	 * pgroup: hand each setsid the pin stops to us (BOX_EV_PIN_BLOCKED), for
	 * a caller that calls box_process() on every readiness of box_fds() at
	 * all times: until then such a setsid waits, and it waits while the
	 * caller is stopped. Without it setsid returns 0 unheard.
	 */
	bool pin_notice;
	/* Called once per stale box swept at start-up; may be NULL. */
	void (*on_stale)(const char *path, void *data);
	void *data;
	/*
	 * The most any box of the context will ask for (box_new_limited()), or
	 * NULL: none will. The context prepares each controller a non-zero field
	 * needs, once, before any box exists (limits/limits.c): on cgroup v2 it enables
	 * it down from the parent to the context directory; where the host binds
	 * it to a v1 hierarchy instead (hybrid hosts, v1-only hosts) it makes the
	 * context's directory below our own cgroup of that hierarchy.
	 */
	const struct box_limits *limits;
	/*
	 * Where a controller limits asks for cannot be had (not delegated to us,
	 * or cgroup v2's no-internal-processes rule with strangers in our
	 * cgroup), box_ctx_new() fails with -ENOTSUP and errbuf says why and how
	 * to fix it. With limits_optional it starts without that controller and
	 * box_ctx_limits_note() says why: never a half-limited box unasked.
	 */
	bool limits_optional;
	/*
	 * Set to whether a failure of box_ctx_new() was a limit's (the rung
	 * works, a controller could not be had), so that the caller can say so
	 * and name its way out; may be NULL.
	 */
	bool *limits_failed;
	/* On failure, why the rung cannot be used (or the limit, above); may be NULL. */
	char *errbuf;
	size_t errbuf_size;
};

int box_ctx_new(struct box_ctx **out, const struct box_ctx_opts *opts);
enum box_rung box_ctx_rung(const struct box_ctx *ctx);
/* Why the rungs above the chosen one were skipped (auto), or "" */
const char *box_ctx_why(const struct box_ctx *ctx);
/* The context directory on the cgroup rungs, else "". */
const char *box_ctx_cgroup_dir(const struct box_ctx *ctx);
/*
 * The systemd scope that directory is in, nsreload-<pid>.scope, when the
 * probe asked systemd for one (probe.h, systemd_scope), else "".
 */
const char *box_ctx_systemd_unit(const struct box_ctx *ctx);
/*
 * Frees every box left (box_free()) and removes the context directory.
 * Returns 0, or -EBUSY when that directory could not be removed (bounded
 * retries, see above).
 */
int box_ctx_free(struct box_ctx *ctx);

struct box;

struct box_spawn {
	char *const *argv; /* argv[0] is looked up in PATH */
	char *const *envp; /* NULL: the caller's environment */
	const char *cwd;   /* NULL: unchanged */
	int stdin_fd;      /* -1: inherit */
	int stdout_fd;     /* -1: inherit */
	int stderr_fd;     /* -1: inherit */
	int tty_fd;        /* >= 0: make the box's process group the foreground of this terminal */
	bool wait_all;     /* the main process ending does not end the box (pidns init keeps reaping) */
	/*
	 * Sockets handed to the command as systemd's socket activation does
	 * (sd_listen_fds(3)): pass_fds[i] becomes fd 3+i of the process that
	 * execs argv, without FD_CLOEXEC, and its environment gets
	 * LISTEN_FDS=n_pass_fds, LISTEN_FDNAMES (fd_names joined by ':', each
	 * without ':') and LISTEN_PID=<its own pid>, written by the child itself
	 * just before exec (on the pidns rungs that is the pid inside the
	 * namespace, which is what the command's getpid() says). Any LISTEN_*
	 * already in envp is replaced. The caller's fds stay its own (they should
	 * be CLOEXEC there, so that no other box inherits them). Why in the box
	 * layer: only the child knows its pid, and the fds must land after every
	 * other fd of the set-up is placed. n_pass_fds 0: nothing is passed and
	 * the environment is left alone. At most BOX_PASS_FDS_MAX (-E2BIG).
	 */
	const int *pass_fds;
	size_t n_pass_fds;
	const char *const *fd_names; /* n_pass_fds names; NULL: each "nsreload" */
};

#define BOX_PASS_FDS_MAX 64

/*
 * Creates an empty box; kind ("run", "build", "exec") names its cgroup
 * <kind>.<n>.
 */
int box_new(struct box_ctx *ctx, const char *kind, struct box **out);

/*
 * Per-box resource limits; a field 0 is no limit. Given when the box is
 * made (box_new_limited()), not at spawn and not later: the values are
 * written into the box's cgroups before its first process exists, so that
 * no process of a limited box ever runs unlimited, not even between clone
 * and exec. memory_max also refuses swap (memory.swap.max 0 where the file
 * exists) so that going past it is an OOM kill, as in production, and not a
 * slow swap.
 */
struct box_limits {
	uint64_t memory_max;    /* bytes: memory.max, v1 memory.limit_in_bytes */
	uint64_t pids_max;      /* pids.max */
	uint64_t cpu_quota_us;  /* run time per period: cpu.max, v1 cpu.cfs_quota_us */
	uint64_t cpu_period_us; /* 0: the kernel's 100000 */
};

/* Whether any field of l asks for a limit (l may be NULL). */
bool box_limits_any(const struct box_limits *l);

/*
 * box_new() with limits (NULL or all 0: the same as box_new()). Each
 * controller goes where the context found it (box_ctx_opts.limits): the
 * box's cgroup2 directory, or a directory of the box's own in that v1
 * hierarchy, below the context's, which its first process joins before
 * exec. A limit whose controller the context does not have (allowed only
 * with limits_optional) is left out: box_limit_report() says which were
 * applied. -ENOTSUP when a limit needs a controller the context was not
 * prepared for.
 */
int box_new_limited(struct box_ctx *ctx, const char *kind, const struct box_limits *lim, struct box **out);

/*
 * Where a failed box_spawn() stopped. Only BOX_SPAWN_EXEC means that the
 * command itself could not be run: -ENOENT is "not found" (a shell's 127),
 * any other errno "cannot execute" (126). Every other stage is the box
 * failing to start, before the command was looked at (a clone3 refused with
 * EPERM, a missing cwd): callers report that as their own failure (125) and
 * must not blame the command.
 */
enum box_spawn_stage {
	BOX_SPAWN_NONE = 0, /* box_spawn() has not failed */
	BOX_SPAWN_START,    /* the box's first process was not created: clone, pipes, memory */
	BOX_SPAWN_CGROUP,   /* the child could not join the box's cgroup */
	BOX_SPAWN_SETUP,    /* the child's set-up before exec: namespace, group, stdio, cwd, pin */
	BOX_SPAWN_EXEC,     /* execvpe() of argv[0] failed */
};

/*
 * Starts argv in the box. On failure returns -errno, box_spawn_stage() says
 * which step failed, and the box is left empty. A box holds one spawn in its
 * life.
 */
int box_spawn(struct box *b, const struct box_spawn *sp);
/* The stage of the last box_spawn() failure, or BOX_SPAWN_NONE. */
enum box_spawn_stage box_spawn_stage(const struct box *b);
/* What a stage failed to do, for "could not %s": "create its first process", ... */
const char *box_spawn_stage_what(enum box_spawn_stage stage);

/*
 * The box's name, <kind>.<n> (box_new()): the name of its cgroup on the
 * cgroup rungs, and the end of the NSRELOAD_BOX token its processes get.
 */
const char *box_name(const struct box *b);

/* The main process as seen from the caller, or -1. */
pid_t box_main_pid(const struct box *b);

/*
 * Signals the main process only, through its pidfd: once it has been reaped
 * (or, on the pgroup rung, has exited) this is -ESRCH and signals nobody.
 */
int box_signal_main(struct box *b, int sig);
/*
 * Signals every process of the box. Like every kill of this library it
 * reaches only what is proven to be the box's: a cgroup held by fd, our
 * namespace's init through its pidfd, or a process group whose number is
 * held by the box's unreaped leader (see box_ctx_reap()).
 */
int box_signal_all(struct box *b, int sig);

/*
 * Graceful stop: sends sig to the main process, and kills the whole box
 * timeout_ms later unless it is empty by then. timeout_ms 0 kills at once.
 * During a kill it does nothing.
 */
int box_stop(struct box *b, int sig, unsigned timeout_ms);
/*
 * The same, but sig goes to every process of the box (box_signal_all()), as
 * systemd's default KillMode: an app started by a shell that forks gets it
 * too. The main process exiting first does not kill the rest: they get until
 * the timeout, which the caller leaves running (the box's timer kills them).
 */
int box_stop_all(struct box *b, int sig, unsigned timeout_ms);
/*
 * Kills every process of the box now, in one pass where the kernel allows
 * (cgroup.kill, a namespace's init, a pinned group); the passes that follow,
 * if any, come from the box's timer in box_process(). Emptiness is reported
 * by box_process().
 */
int box_kill(struct box *b);

/*
 * Up to BOX_MAX_FDS fds to watch, each with the poll events it wants (POLLIN,
 * or POLLPRI for cgroup.events, which is always readable and must not be
 * watched for POLLIN). The values are valid epoll events too. Returns the
 * count. An fd the box closes leaves the caller's epoll set by itself; new
 * fds can appear after box_spawn() only.
 */
#define BOX_MAX_FDS 7

int box_fds(const struct box *b, struct pollfd fds[BOX_MAX_FDS]);

/*
 * Adds every fd of box_fds() to the epoll set ep with its events and
 * data.u64 = tag; fds already there are left alone. Call it after
 * box_spawn(). Returns 0 or -errno.
 */
int box_epoll_add(const struct box *b, int ep, uint64_t tag);

enum {
	BOX_EV_MAIN_EXITED = 1 << 0,    /* the main process has ended (once) */
	BOX_EV_EMPTY = 1 << 1,          /* the box is empty (once) */
	BOX_EV_KILLED = 1 << 2,         /* the stop timeout ran out and the box was killed (once) */
	BOX_EV_MAIN_STOPPED = 1 << 3,   /* the main process was stopped (SIGTSTP, SIGTTIN, ...) */
	BOX_EV_MAIN_CONTINUED = 1 << 4, /* ... and continued (SIGCONT) */
	/* pgroup: the pin made a call do nothing (setsid): box_pin_note() says which; once per context */
	BOX_EV_PIN_BLOCKED = 1 << 5,
	/* box_new_limited(): the OOM killer killed a process of the box (box_limit_report() says more) */
	BOX_EV_OOM = 1 << 6,
	/* box_new_limited(): forks or clones were refused at pids_max (the first, then at most every 5 s) */
	BOX_EV_PIDS_MAX = 1 << 7,
};

/*
 * Brings the box up to date after readiness of one of its fds or SIGCHLD:
 * reaps, makes the kill pass the box's timer asks for (or the kill of a stop
 * whose timeout ran out), and looks for emptiness. Returns the BOX_EV_*
 * events that happened since the last call, or -errno (-EBUSY or -ETIMEDOUT
 * when the kill passes gave up, see above).
 */
int box_process(struct box *b);

bool box_main_exited(const struct box *b);
/*
 * Job control: whether the main process is stopped now, and by which signal
 * (0 when it is not). The main process is the command: on the pidns rungs
 * our init reports its child's stops and continues (init itself is never
 * stopped); elsewhere it is our own child, seen with waitid(WSTOPPED |
 * WCONTINUED), which reaping (WEXITED only) never consumes. The events
 * BOX_EV_MAIN_STOPPED (each new stop, even by the same signal: a continue
 * between two stops may go unseen) and BOX_EV_MAIN_CONTINUED say that it
 * changed since the last box_process(); both may come at once: these say
 * where it is now.
 */
bool box_main_stopped(const struct box *b);
int box_main_stop_signal(const struct box *b);
/* The main process's wait status (as from waitpid), valid once it exited. */
int box_main_status(const struct box *b);
bool box_is_empty(const struct box *b);
/*
 * Whether the last stop needed a kill (its timeout ran out, or box_kill() came
 * while the main process still ran), and how long stop -> empty took.
 */
bool box_stop_needed_kill(const struct box *b);
uint64_t box_stop_duration_ns(const struct box *b);
enum box_rung box_rung_of(const struct box *b);
/* The cgroup directory of the box, or NULL on the pgroup and pidns rungs. */
const char *box_cgroup_path(const struct box *b);
/*
 * What a limited box's counters say, read from the kernel on each call:
 * memory.events oom_kill and memory.peak (v1: memory.oom_control oom_kill,
 * memory.max_usage_in_bytes), pids.events max, cpu.stat's throttling. The
 * events BOX_EV_OOM and BOX_EV_PIDS_MAX come from box_process() when a count
 * grew since its last call: it reads them on every call (each SIGCHLD, each
 * readiness of the box's fds, among which the kernel's notifications of
 * pids.events and of an OOM: memory.events on v2, an eventfd on v1's
 * memory.oom_control) and once more when the box empties, so a killed main
 * process is always followed by its report. A fork bomb held at pids_max
 * refuses forks all the time: BOX_EV_PIDS_MAX comes at the first refusal and
 * then at most every 5 s while more follow. Counters a kernel lacks
 * (memory.peak before 5.19) read 0.
 */
struct box_limit_report {
	struct box_limits applied; /* the limits the box has: those asked for that the context could give */
	const char *memory_via;    /* "cgroup2", "cgroup1", or NULL: no memory limit */
	const char *pids_via;      /* the same for pids_max */
	const char *cpu_via;       /* the same for the cpu quota */
	uint64_t oom_kills;        /* processes of the box the OOM killer killed */
	uint64_t memory_peak;      /* bytes; 0: unknown */
	uint64_t pids_max_hits;    /* forks refused at pids_max */
	uint64_t cpu_throttled;    /* periods in which the box ran out of quota */
	uint64_t cpu_throttled_us; /* time it was held back */
};

/* Fills out; -ENODATA for a box without limits. Reading a counter that fails leaves it 0. */
int box_limit_report(struct box *b, struct box_limit_report *out);

/* Why a limit was left out of every box (limits_optional), or "". */
const char *box_ctx_limits_note(const struct box_ctx *ctx);
/* Where the context puts each limit: "memory_max on cgroup1; pids_max on cgroup1", or "". */
const char *box_ctx_limits_how(const struct box_ctx *ctx);

/* After BOX_EV_PIN_BLOCKED: one line for the user naming the call, its process and --no-pin ("" before). */
const char *box_pin_note(const struct box *b);

/*
 * Reaps every exited child of the caller. A box's main process is reaped into
 * its box, which keeps the status; orphans reparented to the subreaper are
 * reaped and forgotten. The exception is the leader of a pgroup box: it stays
 * a zombie (its status taken with WNOWAIT) until its box is empty, so that
 * its pid, which is the group's id, cannot be given to another process while
 * the box may still signal the group. box_process() calls it too; a PID 1
 * supervisor calls it on every SIGCHLD. Returns the number reaped.
 */
int box_ctx_reap(struct box_ctx *ctx);

/*
 * pid (pidfd pins it), a child the caller forked that is no box's: a helper
 * such as nsreload's terminal sentinel (src/reload/tty.h), which joins an
 * app's process group and leaves it when the app ends. The pgroup rung
 * counts and kills every child of ours that no box claims (an orphan that
 * left its group and lost its token); while this one is outside every box's
 * group it is left alone: no box counts it, no kill pass signals it. In a
 * box's group it is that box's, as the kernel's kill of the group sees it.
 * The mark goes when box_ctx_reap() reaps it. Returns 0, or -ENOSPC when
 * BOX_CTX_EXEMPT_MAX children are marked already.
 */
#define BOX_CTX_EXEMPT_MAX 8
int box_ctx_exempt(struct box_ctx *ctx, pid_t pid, int pidfd);

/*
 * Kills what is left, waits (up to 10 s) until the box is empty, removes its
 * cgroup (see above) and frees it. Returns 0, or -EBUSY when the box did not
 * empty or the cgroup could not be removed.
 */
int box_free(struct box *b);

/* Current monotonic time in ns: shared by the rungs and the callers' logs. */
uint64_t box_now_ns(void);

#endif
