/*
 * The cgroup2 rung's death guard (cgroup2_guard.h).
 *
 * Why a process: nothing in the kernel kills a cgroup when the process that
 * made it dies, and a SIGKILL leaves no chance to clean up. The pidns rungs
 * get this from the kernel (their init dies with us, and the namespace with
 * it); here a fork of ours that never execs waits for our death with
 * PR_SET_PDEATHSIG and then kills the context directory's tree.
 *
 * Why it is safe (docs/design.md, "What nsreload owns"):
 *  - It acts only through an fd on our context directory that we opened
 *    before the fork: never a path, so never a stranger's cgroup, and never
 *    the cgroup holding our shell (the context directory holds only boxes).
 *  - It acts only once its parent is gone: every wake-up checks getppid()
 *    against our pid, and a signal from anyone else changes nothing.
 *  - It is in no box: it stays in the cgroup we were started in, has left
 *    our session (setsid: no terminal signal, no hang-up reaches it) and
 *    keeps no fd of ours but that one (not our terminal, pipes or flock).
 * PR_SET_PDEATHSIG fires when the *thread* that forked the guard exits;
 * nsreload is single-threaded (no thread is ever created), so that is the
 * process's death. The death may come before the guard armed it: getppid()
 * is checked after prctl(), and a parent already gone is handled at once.
 * An orderly exit ends the guard first (cg_guard_stop, from ctx_fini).
 * The cgroup1 rung has the same guard over its v1 freezer context directory:
 * it kills with the freezer loop (cgv1_freeze_kill_all), on cgroupfs only,
 * as libcgroup has no place in a fork that never execs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgfs.h"
#include "cgroup2_guard.h"
#include "cgv1.h"
#include "clone.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Closes every fd but keep: close_range where it exists (5.9), else one by one. */
static void close_all_but(int keep)
{
	if (keep > 0 && syscall(SYS_close_range, 0U, (unsigned)keep - 1, 0U) < 0)
		for (int fd = 0; fd < keep; fd++)
			close(fd);
	if (syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U) < 0)
		for (int fd = keep + 1; fd < 4096; fd++)
			close(fd);
}

/* How the guard kills: cgroup.kill, the cgroup2 freeze loop, or the v1 freezer's (cgroup1 rung). */
enum guard_kill { GUARD_V2, GUARD_V2_FREEZE_LOOP, GUARD_V1_FREEZER };

static __attribute__((noreturn)) void guard_main(int cgfd, pid_t parent, enum guard_kill how)
{
	/* Where PR_SET_PDEATHSIG cannot be armed (it always can), getppid() is polled this often. */
	const struct timespec poll = { .tv_nsec = 50 * 1000 * 1000 };
	sigset_t all;
	siginfo_t si;
	bool armed;

	/* Every signal waits in the mask: PDEATHSIG stays pending until sigwaitinfo takes it. */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	armed = prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == 0;
	close_all_but(cgfd);
	(void)setsid();
	(void)prctl(PR_SET_NAME, "nsreload-guard", 0, 0, 0);
	/* Checked after prctl(): a parent that died before it was armed is caught here. */
	while (getppid() == parent)
		(void)sigtimedwait(&all, &si, armed ? NULL : &poll);
	if (how == GUARD_V1_FREEZER)
		(void)cgv1_freeze_kill_all(cgfd);
	else
		(void)cg_kill_all(cgfd, how == GUARD_V2_FREEZE_LOOP);
	_exit(0);
}

static int guard_start(int ctx_dirfd, enum guard_kill how, pid_t *pid, int *pidfd)
{
	pid_t parent = getpid(), child;
	int cgfd;

	/* A fresh open file description: the guard must never hold our flock past our death. */
	cgfd = cg_open_child(ctx_dirfd, ".");
	if (cgfd < 0)
		return cgfd;
	/*
	 * No waiting for the guard to arm: whenever it does, either we still live (and PDEATHSIG will
	 * come) or getppid() already says we are gone. From the fork on, our death is covered.
	 */
	child = proc_clone(0, -1, pidfd);
	if (child == 0)
		guard_main(cgfd, parent, how);
	close(cgfd);
	if (child < 0)
		return (int)child;
	*pid = child;
	return 0;
}

int cg_guard_start(int ctx_dirfd, bool force_freeze_loop, pid_t *pid, int *pidfd)
{
	return guard_start(ctx_dirfd, force_freeze_loop ? GUARD_V2_FREEZE_LOOP : GUARD_V2, pid, pidfd);
}

int cg_guard_start_v1(int ctx_dirfd, pid_t *pid, int *pidfd)
{
	return guard_start(ctx_dirfd, GUARD_V1_FREEZER, pid, pidfd);
}

void cg_guard_stop(pid_t pid, int pidfd)
{
	siginfo_t si;

	if (pid <= 0 || pidfd < 0)
		return;
	/* Through the pidfd: the subreaper's reaping may have taken an exited guard already. */
	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	(void)waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
	close(pidfd);
}
