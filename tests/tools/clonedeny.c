/*
 * clonedeny - runs a command under a seccomp filter that refuses some
 * clones with EPERM, as container profiles do, so that a box can pass the
 * probe and still fail to spawn.
 *
 *   clonedeny clone3 -- CMD [ARGS...]
 *       clone3 fails with EPERM, as under Docker profiles before 20.10
 *       (unknown syscalls got EPERM; fork, which is clone, still works).
 *   clonedeny newns -- CMD [ARGS...]
 *       clone3 fails with ENOSYS (libc and nsreload fall back to clone) and
 *       clone with CLONE_NEWNS fails with EPERM: PID namespaces can be made
 *       (the probe's clone(CLONE_NEWPID) works), mount namespaces cannot.
 * Exits 2 when the filter cannot be loaded, else as exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int load(bool newns)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(newns ? ENOSYS : EPERM), SCMP_SYS(clone3), 0);
	if (r == 0 && newns)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNS, CLONE_NEWNS));
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 4 || strcmp(argv[2], "--") != 0 ||
	    (strcmp(argv[1], "clone3") && strcmp(argv[1], "newns"))) {
		fputs("usage: clonedeny clone3|newns -- CMD [ARGS...]\n", stderr);
		return 2;
	}
	r = load(strcmp(argv[1], "newns") == 0);
	if (r < 0) {
		fprintf(stderr, "clonedeny: loading the seccomp filter: %s\n", strerror(-r));
		return 2;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "clonedeny: exec %s: %s\n", argv[3], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
