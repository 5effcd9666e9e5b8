/*
 * The libcgroup glue (cgv1.h) on the real v1 freezer, below our own freezer
 * cgroup: create, attach by pid, join from the child, set and read a value,
 * the freeze-and-kill pass, and a delete that really removes the directory.
 * Skipped where there is no writable v1 freezer, unless NSRELOAD_TEST_REQUIRE
 * names cgroup1: then it fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgv1.h"

struct fixture {
	struct cgv1_cg own;
	struct cgv1_cg parent; /* the test's own parent below ours */
};

static bool required(void)
{
	const char *req = getenv("NSRELOAD_TEST_REQUIRE");
	char list[512];

	if (!req)
		return false;
	snprintf(list, sizeof(list), ",%s,", req);
	return strstr(list, ",cgroup1,") != NULL;
}

static int setup(void **state)
{
	static struct fixture f;
	char name[64];
	int r;

	r = cgv1_open_own("freezer", &f.own);
	if (r == 0) {
		snprintf(name, sizeof(name), "nsreload-test-cgv1.%d", (int)getpid());
		r = cgv1_create(&f.own, name, &f.parent);
		if (r < 0)
			cgv1_close(&f.own);
	}
	if (r < 0) {
		fprintf(stderr, "no writable v1 freezer below our own cgroup: %s\n", strerror(-r));
		/* cmocka has no skip from a group set-up: the tests see a NULL state and skip. */
		*state = NULL;
		return required() ? -1 : 0;
	}
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	/* What a failed test left running below our parent goes first. */
	assert_int_equal(cgv1_freeze_kill_all(f->parent.fd), 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	assert_int_equal(cgv1_delete(&f->own, &f->parent), 0);
	cgv1_close(&f->own);
	return 0;
}

#define FIXTURE_OR_SKIP(state)                                                                               \
	({                                                                                                   \
		struct fixture *f_ = *(state);                                                               \
		if (!f_)                                                                                     \
			skip();                                                                              \
		f_;                                                                                          \
	})

static bool dir_exists(const struct cgv1_cg *cg)
{
	struct stat st;
	return stat(cg->path, &st) == 0;
}

static pid_t sleeper(int join_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* Not the test's output: a sleeper left behind must never hold ctest's pipe. */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		(void)dup2(null, 1);
		(void)dup2(null, 2);
		if (join_fd >= 0 && write(join_fd, "0", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	return pid;
}

/* Whether the text of tasks names pid. */
static bool lists(const struct cgv1_cg *cg, pid_t pid)
{
	char buf[4096], want[32];
	char *p = buf;

	assert_true(cgv1_get(cg, "tasks", buf, sizeof(buf)) >= 0);
	snprintf(want, sizeof(want), "%d", (int)pid);
	for (char *save = NULL, *t = strtok_r(p, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
		if (strcmp(t, want) == 0)
			return true;
	return false;
}

static void test_create_is_below_own_and_refuses_a_taken_name(void **state)
{
	struct fixture *f = FIXTURE_OR_SKIP(state);
	struct cgv1_cg box, again;

	assert_int_equal(cgv1_create(&f->parent, "box", &box), 0);
	assert_true(dir_exists(&box));
	assert_int_equal(strncmp(box.path, f->own.path, strlen(f->own.path)), 0);
	assert_int_equal(cgv1_same(&f->parent, &box), 0);
	assert_int_equal(cgv1_create(&f->parent, "box", &again), -EEXIST);
	assert_int_equal(again.fd, -1);
	assert_int_equal(cgv1_create(&f->parent, "../x", &again), -EINVAL);
	assert_int_equal(cgv1_delete(&f->parent, &box), 0);
	assert_false(dir_exists(&box));
	assert_int_equal(box.fd, -1);
}

/*
 * Whether pidfd_open() exists here: the kill signals only through pidfds.
 * Every kernel nsreload runs on has it (5.3); valgrind 3.19, which runs the
 * unit tests once more, does not know the call and answers ENOSYS.
 */
static bool have_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOSYS;
}

static void test_attach_join_and_freeze_kill(void **state)
{
	struct fixture *f = FIXTURE_OR_SKIP(state);
	struct cgv1_cg box;
	pid_t by_pid, joined;
	int procs, status, r;

	if (!have_pidfd()) {
		print_message("skip: pidfd_open() is ENOSYS here (valgrind): the freezer kill needs it\n");
		skip();
	}
	assert_int_equal(cgv1_create(&f->parent, "kill", &box), 0);
	assert_int_equal(cgv1_populated(box.fd), 0);
	by_pid = sleeper(-1);
	assert_true(by_pid > 0);
	assert_int_equal(cgv1_attach_pid(&box, by_pid), 0);
	procs = cgv1_procs_fd(&box);
	assert_true(procs >= 0);
	joined = sleeper(procs);
	assert_true(joined > 0);
	close(procs);
	/* The joiner is listed once its write is done; a bounded wait for it. */
	for (int i = 0; i < 2000 && !lists(&box, joined); i++)
		usleep(1000);
	assert_true(lists(&box, by_pid));
	assert_true(lists(&box, joined));
	assert_int_equal(cgv1_populated(f->parent.fd), 1);
	/* Busy while tasks remain: the delete leaves it, and the fd with the caller. */
	assert_int_equal(cgv1_delete(&f->parent, &box), -EBUSY);
	assert_true(box.fd >= 0 && dir_exists(&box));

	r = cgv1_freeze_kill_pass(box.fd);
	assert_true(r == 0 || r == 1);
	assert_int_equal(waitpid(by_pid, &status, 0), by_pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(waitpid(joined, &status, 0), joined);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(cgv1_freeze_kill_all(box.fd), 0);
	assert_int_equal(cgv1_populated(box.fd), 0);
	assert_int_equal(cgv1_delete(&f->parent, &box), 0);
	assert_false(dir_exists(&box));
}

static void test_set_and_get_a_value(void **state)
{
	struct fixture *f = FIXTURE_OR_SKIP(state);
	struct cgv1_cg box;
	char buf[64];

	assert_int_equal(cgv1_create(&f->parent, "value", &box), 0);
	assert_int_equal(cgv1_set(&box, "freezer.state", "FROZEN"), 0);
	assert_true(cgv1_get(&box, "freezer.state", buf, sizeof(buf)) > 0);
	assert_true(strcmp(buf, "FROZEN") == 0 || strcmp(buf, "FREEZING") == 0);
	assert_int_equal(cgv1_set(&box, "freezer.state", "THAWED"), 0);
	assert_true(cgv1_get(&box, "freezer.state", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "THAWED");
	assert_int_equal(cgv1_get(&box, "../tasks", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cgv1_delete(&f->parent, &box), 0);
}

static void test_delete_removes_a_tree_and_leaves_a_stranger(void **state)
{
	struct fixture *f = FIXTURE_OR_SKIP(state);
	struct cgv1_cg box, inner, stale;

	assert_int_equal(cgv1_create(&f->parent, "tree", &box), 0);
	assert_int_equal(cgv1_create(&box, "inner", &inner), 0);
	cgv1_close(&inner);
	assert_int_equal(cgv1_open_below(&f->parent, "tree", &stale), 0);
	assert_int_equal(cgv1_delete(&f->parent, &box), 0);
	assert_false(dir_exists(&inner));
	assert_false(dir_exists(&box));
	/* The name taken again by another directory: a delete through the old fd leaves it alone. */
	assert_int_equal(cgv1_create(&f->parent, "tree", &box), 0);
	assert_int_equal(cgv1_same(&f->parent, &stale), -ESTALE);
	assert_int_equal(cgv1_set(&stale, "freezer.state", "FROZEN"), -ESTALE);
	assert_int_equal(cgv1_delete(&f->parent, &stale), 0);
	assert_true(dir_exists(&box));
	assert_int_equal(cgv1_delete(&f->parent, &box), 0);
}

static void test_list_finds_the_freezer(void **state)
{
	struct fixture *f = FIXTURE_OR_SKIP(state);
	struct cgv1_hier h[32];
	int n = cgv1_list(h, 32);
	bool found = false;

	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		if (strcmp(h[i].controllers, "freezer") == 0) {
			found = true;
			assert_string_equal(h[i].mount, f->own.mount);
		}
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_is_below_own_and_refuses_a_taken_name),
		cmocka_unit_test(test_attach_join_and_freeze_kill),
		cmocka_unit_test(test_set_and_get_a_value),
		cmocka_unit_test(test_delete_removes_a_tree_and_leaves_a_stranger),
		cmocka_unit_test(test_list_finds_the_freezer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
