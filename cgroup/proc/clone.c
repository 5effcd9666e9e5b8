/* clone3 and its fallbacks: see clone.h. */
#define _GNU_SOURCE
#include "clone.h"

#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t proc_clone(uint64_t flags, int cgroup_fd, int *pidfd)
{
	struct clone_args args;
	long r;

	memset(&args, 0, sizeof(args));
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r >= 0)
		return (pid_t)r;
	if (errno != ENOSYS || cgroup_fd >= 0)
		return -errno;
	if (flags & (CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNS)) {
		/* clone3 refused with ENOSYS (Docker's seccomp profile): clone takes the same flags. */
		r = syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), NULL, pidfd, NULL,
			    0UL);
		return r < 0 ? -errno : (pid_t)r;
	}
	r = fork();
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	*pidfd = (int)syscall(SYS_pidfd_open, (pid_t)r, 0);
	if (*pidfd < 0) {
		int e = -errno;
		/* r is our child and not reaped until the waitpid below: its pid cannot be anyone else's. */
		kill((pid_t)r, SIGKILL);
		(void)waitpid((pid_t)r, NULL, 0);
		return e;
	}
	return (pid_t)r;
}
