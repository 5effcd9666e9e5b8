/*
 * envmatrix_helper - the two pieces of scripts/envmatrix that util-linux has
 * no tool for (see the script's header for the environments):
 *
 *   envmatrix_helper seccomp deny-ns|allow-ns -- CMD [ARGS...]
 *       Loads a seccomp filter shaped like Docker's default profile for a
 *       container without CAP_SYS_ADMIN, then execs CMD: clone3 fails with
 *       ENOSYS (so libc falls back to clone), and with deny-ns clone and
 *       unshare with any namespace flag, and setns, fail with EPERM.
 *       Everything else is allowed. Like Docker it loads the filter while
 *       still privileged, without no_new_privs when it may.
 *
 *   envmatrix_helper userns UID -- CMD [ARGS...]
 *       Runs CMD as root of a new user namespace in which root and UID are
 *       mapped to themselves (the maps are written by this process, outside,
 *       as only a privileged writer may map two ids). CMD can then change
 *       sysctls of that namespace and drop to UID. Waits for CMD, forwards
 *       INT, TERM and HUP to it, and exits with its status.
 *
 * Exit status: CMD's, or 125 when the helper itself failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELPER_FAILED 125

/* Docker's mask of namespace flags that clone may not carry without CAP_SYS_ADMIN. */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static int usage(void)
{
	fputs("usage: envmatrix_helper seccomp deny-ns|allow-ns -- CMD [ARGS...]\n"
	      "       envmatrix_helper userns UID -- CMD [ARGS...]\n",
	      stderr);
	return 2;
}

static int exec_cmd(char **cmd)
{
	execvp(cmd[0], cmd);
	fprintf(stderr, "envmatrix_helper: exec %s: %s\n", cmd[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* One rule per flag: seccomp compares masked values for equality only, so "any of these bits" is an OR of
 * rules. */
static int deny_with_ns_flag(scmp_filter_ctx ctx, int syscall_nr)
{
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), syscall_nr, 1,
					 SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));

		if (r < 0)
			return r;
	}
	return 0;
}

static int load_filter(bool deny_ns)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r == -EEXIST)
		r = 0;
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0 && deny_ns)
		r = deny_with_ns_flag(ctx, SCMP_SYS(clone));
	if (r == 0 && deny_ns)
		r = deny_with_ns_flag(ctx, SCMP_SYS(unshare));
	if (r == 0 && deny_ns)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 0);
	if (r == 0) {
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
		if (r == 0)
			r = seccomp_load(ctx);
		/* Without CAP_SYS_ADMIN the kernel wants no_new_privs first (libseccomp hides the errno). */
		if (r < 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
			r = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	return r;
}

static int cmd_seccomp(int argc, char **argv)
{
	bool deny_ns;
	int r;

	if (argc < 4 || strcmp(argv[1], "--") != 0)
		return usage();
	if (strcmp(argv[0], "deny-ns") == 0)
		deny_ns = true;
	else if (strcmp(argv[0], "allow-ns") == 0)
		deny_ns = false;
	else
		return usage();
	r = load_filter(deny_ns);
	if (r < 0) {
		fprintf(stderr, "envmatrix_helper: loading the seccomp filter: %s\n", strerror(-r));
		return HELPER_FAILED;
	}
	return exec_cmd(argv + 2);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	err = n < 0 ? -errno : (size_t)n == strlen(text) ? 0 : -EIO;
	close(fd);
	return err;
}

static int write_maps(pid_t pid, unsigned id)
{
	char path[64], map[64];
	int r;

	snprintf(map, sizeof(map), "0 0 1\n%u %u 1\n", id, id);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	r = write_file(path, map);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	return write_file(path, map);
}

static int read_byte(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* Waits for the child, passing it INT/TERM/HUP, and returns an exit status that mirrors its own. */
static int wait_forwarding(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int status;
		pid_t got = waitpid(child, &status, WNOHANG);

		if (got == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (got < 0 && errno != EINTR) {
			perror("envmatrix_helper: waitpid");
			return HELPER_FAILED;
		}
		if (sigwaitinfo(set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD)
			kill(child, si.si_signo);
	}
}

static int cmd_userns(int argc, char **argv)
{
	int to_parent[2], to_child[2], r;
	sigset_t set, old;
	unsigned long id;
	char *end;
	pid_t child;

	if (argc < 3 || strcmp(argv[1], "--") != 0)
		return usage();
	errno = 0;
	id = strtoul(argv[0], &end, 10);
	if (errno || *end || end == argv[0] || id == 0 || id > 0xfffffffeUL)
		return usage();
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0 || pipe2(to_parent, O_CLOEXEC) < 0 ||
	    pipe2(to_child, O_CLOEXEC) < 0) {
		perror("envmatrix_helper");
		return HELPER_FAILED;
	}
	child = fork();
	if (child < 0) {
		perror("envmatrix_helper: fork");
		return HELPER_FAILED;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (unshare(CLONE_NEWUSER) < 0) {
			fprintf(stderr, "envmatrix_helper: unshare(CLONE_NEWUSER): %s\n", strerror(errno));
			_exit(HELPER_FAILED);
		}
		if (write(to_parent[1], "u", 1) != 1 || read_byte(to_child[0]) < 0)
			_exit(HELPER_FAILED);
		/* The ids were unmapped until now: take root of the namespace explicitly. */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			fprintf(stderr, "envmatrix_helper: becoming root of the namespace: %s\n",
				strerror(errno));
			_exit(HELPER_FAILED);
		}
		_exit(exec_cmd(argv + 2));
	}
	close(to_parent[1]);
	close(to_child[0]);
	r = read_byte(to_parent[0]) < 0 ? -EPROTO : write_maps(child, (unsigned)id);
	if (r < 0) {
		fprintf(stderr, "envmatrix_helper: mapping ids of the new user namespace: %s\n",
			strerror(-r));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return HELPER_FAILED;
	}
	if (write(to_child[1], "g", 1) != 1) {
		perror("envmatrix_helper: write");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return HELPER_FAILED;
	}
	close(to_child[1]);
	close(to_parent[0]);
	return wait_forwarding(child, &set);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "seccomp") == 0)
		return cmd_seccomp(argc - 2, argv + 2);
	if (strcmp(argv[1], "userns") == 0)
		return cmd_userns(argc - 2, argv + 2);
	return usage();
}
