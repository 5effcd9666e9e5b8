/*
 * Rung 2: a PID namespace whose PID 1 is our own small init. When init exits
 * the kernel kills everything else in the namespace, so even a SIGKILL of the
 * supervisor (init dies of PDEATHSIG) leaves no survivor. In cgroup2+pidns
 * these ops are the inner half: init is cloned into the box's cgroup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box-internal.h"

/* SI_QUEUE value that asks init to signal the whole namespace rather than the target. */
#define BOX_SIGQ_ALL 0x6e73626f

struct init_args {
	struct box_child child;
	int status_fd; /* init writes the target's wait status here */
	int sync_fd;   /* EOF once our uid/gid maps are written */
	int parent_pidfd;
	bool wait_all;
};

static void write_int(int fd, int v)
{
	ssize_t r;
	do
		r = write(fd, &v, sizeof(v));
	while (r < 0 && errno == EINTR);
}

/*
 * Gives the namespace a /proc of its own. With the host's, a pid seen inside
 * (the target is 2) names another process in /proc: debuggers such as dlv
 * and tools that read /proc/<pid> would act on a stranger. Our mount
 * namespace is a slave of the host's, so host mounts still appear and ours
 * never leaks out. Failure leaves the host's /proc, as before.
 */
static void mount_own_proc(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return;
	(void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Reports a failure before the target's exec to the supervisor and ends init. */
static __attribute__((noreturn)) void init_fail(const struct init_args *a, int stage, int err)
{
	struct box_child_err e = { .err = err, .stage = stage };
	(void)!write(a->child.err_fd, &e, sizeof(e));
	_exit(125);
}

static __attribute__((noreturn)) void run_init(const struct init_args *a)
{
	struct pollfd pfd = { .fd = a->parent_pidfd, .events = POLLIN };
	sigset_t all;
	pid_t target;
	bool target_done = false;
	char c;

	/*
	 * kill(-1) below must reach only a namespace of our own: we are its PID 1
	 * only if the clone really made one (proc_clone never falls back to a
	 * plain fork when CLONE_NEWPID is asked for; this makes sure of it).
	 */
	if (getpid() != 1)
		init_fail(a, BOX_SPAWN_SETUP, EPROTO);
	/* Our supervisor dying must take the namespace with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		init_fail(a, BOX_SPAWN_SETUP, errno);
	/*
	 * getppid() is 0 inside a new PID namespace, so the usual re-check after
	 * arming PDEATHSIG looks at a pidfd of the parent instead: it is readable
	 * once the parent has exited.
	 */
	if (poll(&pfd, 1, 0) != 0)
		_exit(125);
	close(a->parent_pidfd);
	if (a->sync_fd >= 0) {
		while (read(a->sync_fd, &c, 1) < 0 && errno == EINTR)
			;
		close(a->sync_fd);
	}
	if (a->child.procs_fd >= 0) {
		if (write(a->child.procs_fd, "0", 1) != 1)
			init_fail(a, BOX_SPAWN_CGROUP, errno);
		close(a->child.procs_fd);
	}
	/* Our init joins the limits' v1 directories (limits/limits.c) and the command inherits them. */
	if (box_limits_join(&a->child) < 0)
		init_fail(a, BOX_SPAWN_CGROUP, errno);
	mount_own_proc();
	/*
	 * A process group of our own: a job-control shell signals nsreload's
	 * group (fg's SIGCONT, a hangup), and what reaches the command must be
	 * what nsreload decides, sent through our pidfd, not a copy forwarded
	 * from the shell's (fg would continue the command before nsreload has
	 * given it the terminal). In the supervisor's group the terminal's
	 * Ctrl-C and Ctrl-Z would reach us too, and what we forward of them to
	 * the target alone would merge with the supervisor's own signal to the
	 * whole namespace (a standard signal pending once is not queued twice).
	 */
	if (setpgid(0, 0) < 0)
		init_fail(a, BOX_SPAWN_SETUP, errno);
	box_child_drop_pending();
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	(void)prctl(PR_SET_NAME, "nsreload-init", 0, 0, 0);

	target = fork();
	if (target < 0)
		init_fail(a, BOX_SPAWN_SETUP, errno);
	if (target == 0) {
		struct box_child target_child = a->child;
		target_child.procs_fd = -1;
		for (int i = 0; i < BOX_LIM_N; i++)
			target_child.join_fd[i] = -1;
		box_child_exec(&target_child);
	}
	/* The supervisor learns of exec by EOF on this pipe: our copy must not hold it open. */
	close(a->child.err_fd);

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			for (;;) {
				int st;
				/* The target's stops and continues go to nsreload too: it does the job
				 * control. */
				pid_t p = waitpid(-1, &st, WNOHANG | WUNTRACED | WCONTINUED);
				if (p < 0 && errno == ECHILD && target_done)
					_exit(0);
				if (p <= 0)
					break;
				if (WIFSTOPPED(st) || WIFCONTINUED(st)) {
					if (p == target && !target_done)
						write_int(a->status_fd, st);
					continue;
				}
				if (p == target) {
					target_done = true;
					write_int(a->status_fd, st);
					/* Exiting makes the kernel kill everything left in the namespace. */
					if (!a->wait_all)
						_exit(0);
				}
			}
			continue;
		}
		/* kill(-1) as PID 1 of our namespace (checked above) is every other process in it. */
		if (si.si_code == SI_QUEUE && si.si_value.sival_int == BOX_SIGQ_ALL)
			(void)kill(-1, sig);
		else if (!target_done)
			(void)kill(target, sig); /* our child, not reaped while !target_done */
	}
}

static int write_map(pid_t pid, const char *file, const char *text)
{
	char path[64];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Maps the caller's own uid and gid into the new user namespace, so files keep their owner. */
static int write_id_maps(pid_t pid)
{
	char map[64];
	int r;

	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
	r = write_map(pid, "uid_map", map);
	if (r == 0)
		r = write_map(pid, "setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
	if (r == 0)
		r = write_map(pid, "gid_map", map);
	return r;
}

/* Starts init in a new PID namespace, inside b->cg_fd when the box has a cgroup (cgroup2+pidns). */
static int pidns_spawn(struct box *b, const struct box_spawn *sp)
{
	struct init_args a;
	int errp[2] = { -1, -1 }, statusp[2] = { -1, -1 }, syncp[2] = { -1, -1 };
	int parent_pidfd = -1, pidfd = -1, procs_fd = -1, r = 0;
	bool userns = box_probe_wants_userns(&b->ctx->probe);
	uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | (userns ? CLONE_NEWUSER : 0);
	char **env, *listen_pid;
	pid_t pid;

	r = box_check_pass_fds(sp);
	if (r < 0)
		return r;
	env = box_make_env(b, sp, &listen_pid);
	if (!env)
		return -ENOMEM;
	parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (parent_pidfd < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(statusp, O_CLOEXEC) < 0 ||
	    (userns && pipe2(syncp, O_CLOEXEC) < 0)) {
		r = -errno;
		goto out;
	}
	pid = box_clone_into(b, flags, &pidfd, &procs_fd);
	if (pid == 0) {
		close(errp[0]);
		close(statusp[0]);
		if (syncp[1] >= 0)
			close(syncp[1]);
		a = (struct init_args){
			.child = { .argv = sp->argv,
				   .envp = env,
				   .cwd = sp->cwd,
				   .stdio = { sp->stdin_fd, sp->stdout_fd, sp->stderr_fd },
				   .tty_fd = sp->tty_fd,
				   .pin = false,
				   .err_fd = errp[1],
				   .procs_fd = procs_fd,
				   /* Init keeps its copies (CLOEXEC, never exec'd) while the target gets
				    * them at 3..: they are the supervisor's sockets anyway, open for its
				    * whole life. */
				   .pass_fds = sp->pass_fds,
				   .n_pass_fds = sp->n_pass_fds,
				   .listen_pid = listen_pid },
			.status_fd = statusp[1],
			.sync_fd = syncp[0],
			.parent_pidfd = parent_pidfd,
			.wait_all = sp->wait_all,
		};
		box_limits_child(b, &a.child);
		run_init(&a);
	}
	if (pid < 0) {
		r = pid;
		goto out;
	}
	b->pid = pid;
	b->pidfd = pidfd;
	if (userns) {
		r = write_id_maps(pid);
		close(syncp[1]);
		syncp[1] = -1;
		if (r < 0) {
			b->spawn_stage = BOX_SPAWN_SETUP;
			(void)box_pidfd_signal(b, SIGKILL, NULL);
			goto out;
		}
	}
	close(errp[1]);
	errp[1] = -1;
	close(statusp[1]);
	statusp[1] = -1;
	b->status_fd = statusp[0];
	statusp[0] = -1;
	(void)fcntl(b->status_fd, F_SETFL, O_NONBLOCK);
	r = box_read_child_err(errp[0], &b->spawn_stage);
	errp[0] = -1;
out:
	for (int *fd = errp; fd < errp + 2; fd++)
		if (*fd >= 0)
			close(*fd);
	int rest[] = { statusp[0], statusp[1], syncp[0], syncp[1], parent_pidfd, procs_fd };
	for (unsigned i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
		if (rest[i] >= 0)
			close(rest[i]);
	free(env);
	return r;
}

/*
 * Both go to init through its pidfd, never to b->pid: init may have been
 * reaped already (box_ctx_reap() for another box) without this box having
 * noticed, and its pid may be anyone's by now. Signalling the main process is
 * box.c's default (the pidfd): init forwards what it gets to the target; only
 * SIGKILL/SIGSTOP would hit init itself.
 */
static int pidns_signal_all(struct box *b, int sig)
{
	siginfo_t si;

	if (sig == SIGKILL)
		return box_kill(b);
	/* What sigqueue(b->pid, sig, BOX_SIGQ_ALL) would send, through the pidfd. */
	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = BOX_SIGQ_ALL;
	return box_pidfd_signal(b, sig, &si);
}

/*
 * PID 1 of the namespace going takes every other process with it. Through the
 * pidfd: once init is reaped (maybe by box_ctx_reap() for another box) its pid
 * may be anyone's.
 */
static int pidns_kill(struct box *b)
{
	int r = box_pidfd_signal(b, SIGKILL, NULL);

	return r == -ESRCH ? 0 : r;
}

/* init is reaped only after the kernel has torn the whole namespace down. */
static int pidns_update(struct box *b)
{
	return b->pid_reaped;
}

static bool pidns_works(const struct box_probe *p, char *why, size_t size)
{
	bool via_userns = box_probe_wants_userns(p);

	if (!via_userns && !p->pidns.ok)
		box_why(why, size, "%s", p->pidns.detail);
	else if (via_userns && !p->userns.ok)
		box_why(why, size, "%s, and %s", p->is_root ? "no CAP_SYS_ADMIN" : "not root",
			p->userns.detail);
	else if (!p->pidfd.ok)
		box_why(why, size, "%s", p->pidfd.detail);
	else
		return true;
	return false;
}

const struct box_ops box_pidns_ops = {
	.probe_parts = BOX_PROBE_NS_USED | BOX_PROBE_PIDFD,
	.works = pidns_works,
	.spawn = pidns_spawn,
	.signal_all = pidns_signal_all,
	.kill = pidns_kill,
	.update = pidns_update,
};
