/*
 * safefs in a mkdtemp scratch tree: the lexical placement of tmp_dir, the
 * no-follow walk, the clean-up's refusals and bounds, and the files of
 * tmp_dir. Mount points and bind mounts need namespaces: they are covered by
 * tests/integration/safety_fs.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "safefs.h"

struct fx {
	char base[PATH_MAX];
	char root[PATH_MAX]; /* base/proj */
	char *old_home;
};

static char *at(const struct fx *f, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	assert_true(snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->base, rel) < (int)sizeof(buf[i]));
	return buf[i];
}

static void mkdirs(const struct fx *f, const char *rel)
{
	char p[PATH_MAX];

	assert_true(snprintf(p, sizeof(p), "%s/%s", f->base, rel) < (int)sizeof(p));
	for (char *s = p + strlen(f->base) + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			(void)mkdir(p, 0755);
			*s = '/';
		}
	}
	(void)mkdir(p, 0755);
}

static void put(const struct fx *f, const char *rel, const char *text)
{
	FILE *o = fopen(at(f, rel), "w");

	assert_non_null(o);
	fputs(text, o);
	fclose(o);
}

static bool exists(const struct fx *f, const char *rel)
{
	struct stat sb;

	return lstat(at(f, rel), &sb) == 0;
}

static void assert_file(const struct fx *f, const char *rel, const char *text)
{
	char buf[256] = "";
	FILE *i = fopen(at(f, rel), "r");

	assert_non_null(i);
	buf[fread(buf, 1, sizeof(buf) - 1, i)] = '\0';
	fclose(i);
	assert_string_equal(buf, text);
}

static int rm_tree(const char *path)
{
	char cmd[PATH_MAX + 16];

	if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path) >= (int)sizeof(cmd))
		return -1;
	return system(cmd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/nsreload-safefs-XXXXXX";

	if (!f)
		return -1;
	if (!mkdtemp(tmpl) || !realpath(tmpl, f->base) ||
	    snprintf(f->root, sizeof(f->root), "%s/proj", f->base) >= (int)sizeof(f->root)) {
		free(f);
		return -1;
	}
	mkdirs(f, "proj");
	mkdirs(f, "outside");
	put(f, "outside/secret", "secret\n");
	f->old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	mkdirs(f, "home");
	setenv("HOME", at(f, "home"), 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->old_home)
		setenv("HOME", f->old_home, 1);
	else
		unsetenv("HOME");
	free(f->old_home);
	(void)rm_tree(f->base);
	free(f);
	return 0;
}

/* safefs_locate(root, path): the relative part beneath root, or NULL for outside. */
static void check_locate(const char *root, const char *path, const char *want_abs, const char *want_rel)
{
	char *abs;
	const char *rel;

	assert_int_equal(safefs_locate(root, path, &abs, &rel), 0);
	assert_string_equal(abs, want_abs);
	if (want_rel) {
		assert_non_null(rel);
		assert_string_equal(rel, want_rel);
	} else {
		assert_null(rel);
	}
	free(abs);
}

static void test_locate(void **state)
{
	(void)state;
	check_locate("/x/proj", "tmp", "/x/proj/tmp", "tmp");
	check_locate("/x/proj", "./tmp/", "/x/proj/tmp", "tmp");
	check_locate("/x/proj", "a/./b//c/../d", "/x/proj/a/b/d", "a/b/d");
	check_locate("/x/proj", ".", "/x/proj", "");
	check_locate("/x/proj", "/x/proj/tmp", "/x/proj/tmp", "tmp");
	/* The sibling whose name starts with root's, absolute or through "..". */
	check_locate("/x/proj", "../proj-other", "/x/proj-other", NULL);
	check_locate("/x/proj", "/x/proj.bak", "/x/proj.bak", NULL);
	check_locate("/x/proj", "tmp/../..", "/x", NULL);
	check_locate("/x/proj", "../../../..", "/", NULL);
	check_locate("/", "tmp", "/tmp", "tmp");
	check_locate("/", "/", "/", "");
}

static void test_dangerous(void **state)
{
	struct fx *f = *state;
	const char *what;

	assert_true(safefs_dangerous_dir("/", &what));
	assert_string_equal(what, "/");
	assert_true(safefs_dangerous_dir("/root", &what));
	assert_true(safefs_dangerous_dir(at(f, "home"), &what));
	assert_string_equal(what, "your home directory");
	assert_false(safefs_dangerous_dir(f->root, &what));
	assert_false(safefs_dangerous_dir("/rootfs", &what));
}

static void test_open_beneath(void **state)
{
	struct fx *f = *state;
	int rootfd = open(f->root, O_RDONLY | O_DIRECTORY), fd;

	assert_true(rootfd >= 0);
	assert_int_equal(safefs_open_beneath(rootfd, "a/b", 0), -ENOENT);
	fd = safefs_open_beneath(rootfd, "a//./b/c", SAFEFS_CREATE | SAFEFS_ONE_MOUNT);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists(f, "proj/a/b/c"));
	fd = safefs_open_beneath(rootfd, "", 0);
	assert_true(fd >= 0);
	close(fd);
	/* A symlink anywhere on the way is not followed, and nothing is created behind it. */
	assert_int_equal(symlink("../outside", at(f, "proj/ln")), 0);
	assert_int_equal(safefs_open_beneath(rootfd, "ln", 0), -ELOOP);
	assert_int_equal(safefs_open_beneath(rootfd, "ln/new", SAFEFS_CREATE), -ELOOP);
	assert_false(exists(f, "outside/new"));
	assert_int_equal(symlink("../outside/secret", at(f, "proj/lnf")), 0);
	assert_int_equal(safefs_open_beneath(rootfd, "lnf", 0), -ELOOP);
	put(f, "proj/file", "x");
	assert_int_equal(safefs_open_beneath(rootfd, "file/x", SAFEFS_CREATE), -ENOTDIR);
	assert_int_equal(safefs_open_beneath(rootfd, "a/../../outside", 0), -EINVAL);
	close(rootfd);
}

static void test_clean_refuses_outside(void **state)
{
	struct fx *f = *state;
	char why[512];
	size_t kept;

	mkdirs(f, "proj-other");
	put(f, "proj-other/keep", "k");
	mkdirs(f, "proj.bak");
	put(f, "proj.bak/keep", "k");
	mkdirs(f, "proj2/tmp");
	put(f, "proj2/keep", "k");
	put(f, "proj2/tmp/keep", "k");

	assert_int_equal(safefs_clean_tmp(f->root, "../proj-other", &kept, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "outside root"));
	assert_int_equal(safefs_clean_tmp(f->root, at(f, "proj.bak"), &kept, why, sizeof(why)), -EPERM);
	assert_int_equal(safefs_clean_tmp(f->root, ".", &kept, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "root"));
	assert_int_equal(safefs_clean_tmp(f->root, "tmp/..", &kept, why, sizeof(why)), -EPERM);
	/* tmp -> ../proj2, and a symlink earlier on the way. */
	assert_int_equal(symlink("../proj2", at(f, "proj/tmp")), 0);
	assert_int_equal(safefs_clean_tmp(f->root, "tmp", &kept, why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(safefs_clean_tmp(f->root, "tmp/tmp", &kept, why, sizeof(why)), -ELOOP);
	assert_true(exists(f, "proj-other/keep"));
	assert_true(exists(f, "proj.bak/keep"));
	assert_true(exists(f, "proj2/keep"));
	assert_true(exists(f, "proj2/tmp/keep"));
	assert_true(exists(f, "proj/tmp"));
}

static void test_clean_removes_inside_only(void **state)
{
	struct fx *f = *state;
	char why[512];
	size_t kept = 99;

	assert_int_equal(safefs_clean_tmp(f->root, "tmp", &kept, why, sizeof(why)), 0); /* not there */
	assert_int_equal(kept, 0);
	mkdirs(f, "proj/tmp/a/b");
	put(f, "proj/tmp/a/b/f", "x");
	put(f, "proj/tmp/f", "x");
	assert_int_equal(symlink("../../outside", at(f, "proj/tmp/dirlink")), 0);
	assert_int_equal(symlink("../../outside/secret", at(f, "proj/tmp/a/filelink")), 0);
	put(f, "proj/src", "source");
	assert_int_equal(safefs_clean_tmp(f->root, "./tmp/", &kept, why, sizeof(why)), 0);
	assert_int_equal(kept, 0);
	assert_false(exists(f, "proj/tmp"));
	assert_true(exists(f, "proj/src"));
	assert_file(f, "outside/secret", "secret\n");
	/* An absolute tmp_dir inside root is the same directory. */
	mkdirs(f, "proj/out/deep");
	assert_int_equal(safefs_clean_tmp(f->root, at(f, "proj/out/deep"), &kept, why, sizeof(why)), 0);
	assert_false(exists(f, "proj/out/deep"));
	assert_true(exists(f, "proj/out"));
}

static void test_clean_keeps_home_and_depth(void **state)
{
	struct fx *f = *state;
	char rel[PATH_MAX] = "proj/tmp/deep", why[512];
	size_t kept;

	mkdirs(f, "proj/tmp/home");
	put(f, "proj/tmp/home/mine", "m");
	put(f, "proj/tmp/junk", "j");
	setenv("HOME", at(f, "proj/tmp/home"), 1);
	assert_int_equal(safefs_clean_tmp(f->root, "tmp/home", &kept, why, sizeof(why)), -EPERM);
	assert_int_equal(safefs_clean_tmp(f->root, "tmp", &kept, why, sizeof(why)), 0);
	assert_int_equal(kept, 1);
	assert_true(exists(f, "proj/tmp/home/mine"));
	assert_false(exists(f, "proj/tmp/junk"));
	setenv("HOME", at(f, "home"), 1);
	assert_int_equal(safefs_clean_tmp(f->root, "tmp", &kept, why, sizeof(why)), 0);
	assert_int_equal(kept, 0);
	assert_false(exists(f, "proj/tmp"));

	/* Deeper than SAFEFS_MAX_DEPTH: the deepest level stays, and so does tmp_dir. */
	for (int i = 0; i < SAFEFS_MAX_DEPTH + 2; i++)
		strcat(rel, "/d");
	mkdirs(f, rel);
	put(f, "proj/tmp/top", "t");
	assert_int_equal(safefs_clean_tmp(f->root, "tmp", &kept, why, sizeof(why)), 0);
	assert_int_equal(kept, 1);
	assert_true(exists(f, "proj/tmp/deep"));
	assert_false(exists(f, "proj/tmp/top"));
}

static void test_append(void **state)
{
	struct fx *f = *state;
	char why[512];
	int dirfd, fd;

	mkdirs(f, "proj/tmp");
	dirfd = open(at(f, "proj/tmp"), O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	fd = safefs_open_append(dirfd, "build-errors.log", why, sizeof(why));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "one\n", 4), 4);
	close(fd);
	fd = safefs_open_append(dirfd, "build-errors.log", why, sizeof(why));
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(write(fd, "two\n", 4), 4);
	close(fd);
	assert_file(f, "proj/tmp/build-errors.log", "one\ntwo\n");

	/* Planted: a symlink (also dangling), a hard link, a FIFO; names that are not names. */
	assert_int_equal(symlink("../../outside/secret", at(f, "proj/tmp/evil")), 0);
	assert_int_equal(safefs_open_append(dirfd, "evil", why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(symlink("../../outside/new", at(f, "proj/tmp/dangling")), 0);
	assert_int_equal(safefs_open_append(dirfd, "dangling", why, sizeof(why)), -ELOOP);
	assert_false(exists(f, "outside/new"));
	assert_int_equal(link(at(f, "outside/secret"), at(f, "proj/tmp/hard")), 0);
	assert_int_equal(safefs_open_append(dirfd, "hard", why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "hard links"));
	assert_int_equal(mkfifo(at(f, "proj/tmp/fifo"), 0644), 0);
	assert_int_equal(safefs_open_append(dirfd, "fifo", why, sizeof(why)), -ENXIO);
	assert_int_equal(safefs_open_append(dirfd, "../x", why, sizeof(why)), -EINVAL);
	assert_int_equal(safefs_open_append(dirfd, "..", why, sizeof(why)), -EINVAL);
	if (geteuid() == 0) {
		put(f, "proj/tmp/theirs", "t");
		assert_int_equal(chown(at(f, "proj/tmp/theirs"), 65534, 65534), 0);
		assert_int_equal(safefs_open_append(dirfd, "theirs", why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "belongs to uid 65534"));
		assert_file(f, "proj/tmp/theirs", "t");
	}
	assert_file(f, "outside/secret", "secret\n");
	close(dirfd);
}

static void test_create_unique(void **state)
{
	struct fx *f = *state;
	struct safefs_file a, b;
	char want[PATH_MAX];
	int dirfd, fa, fb;

	mkdirs(f, "proj/tmp");
	dirfd = open(at(f, "proj/tmp"), O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	fa = safefs_create_unique(dirfd, at(f, "proj/tmp"), "nsreload-changed.1.", &a);
	fb = safefs_create_unique(dirfd, at(f, "proj/tmp"), "nsreload-changed.1.", &b);
	assert_true(fa >= 0 && fb >= 0);
	assert_string_not_equal(a.name, b.name);
	assert_int_equal(strncmp(a.name, "nsreload-changed.1.", 19), 0);
	assert_int_equal(strlen(a.name), 19 + 8);
	snprintf(want, sizeof(want), "%s/%s", at(f, "proj/tmp"), a.name);
	assert_string_equal(a.path, want);
	close(fa);
	close(fb);
	/* a is removed; b's name now holds another file, which stays. */
	safefs_file_remove(&a);
	assert_int_equal(a.dirfd, -1);
	safefs_file_remove(&a);
	snprintf(want, sizeof(want), "proj/tmp/%s", a.name);
	assert_false(exists(f, want));
	put(f, "proj/tmp/other", "o");
	snprintf(want, sizeof(want), "%s/%s", at(f, "proj/tmp"), b.name);
	assert_int_equal(rename(at(f, "proj/tmp/other"), want), 0);
	safefs_file_remove(&b);
	snprintf(want, sizeof(want), "proj/tmp/%s", b.name);
	assert_file(f, want, "o");
	assert_int_equal(safefs_create_unique(dirfd, "x", "a/b", &a), -EINVAL);
	/* safefs_unlink_if by path: only the file it was given. */
	put(f, "proj/tmp/by-path", "p");
	{
		struct stat sb;
		assert_int_equal(stat(at(f, "proj/tmp/by-path"), &sb), 0);
		assert_int_equal(
			safefs_unlink_if(AT_FDCWD, at(f, "proj/tmp/by-path"), sb.st_dev, sb.st_ino + 1),
			-ESTALE);
		assert_true(exists(f, "proj/tmp/by-path"));
		assert_int_equal(safefs_unlink_if(AT_FDCWD, at(f, "proj/tmp/by-path"), sb.st_dev, sb.st_ino),
				 0);
		assert_false(exists(f, "proj/tmp/by-path"));
	}
	close(dirfd);
}

static void test_tmp_open(void **state)
{
	struct fx *f = *state;
	struct safefs_tmp t;
	char why[512];

	assert_int_equal(safefs_tmp_open(f->root, "tmp/x", &t, why, sizeof(why)), 0);
	assert_true(t.fd >= 0);
	assert_string_equal(t.path, at(f, "proj/tmp/x"));
	safefs_tmp_close(&t);
	assert_int_equal(t.fd, -1);
	/* Outside root: reached from /, still without symlinks. */
	assert_int_equal(safefs_tmp_open(f->root, "../outside/t", &t, why, sizeof(why)), 0);
	assert_string_equal(t.path, at(f, "outside/t"));
	safefs_tmp_close(&t);
	assert_int_equal(symlink("../outside", at(f, "proj/ln")), 0);
	assert_int_equal(safefs_tmp_open(f->root, "ln/t", &t, why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(t.fd, -1);

	assert_int_equal(chmod(at(f, "proj/tmp/x"), 0777), 0);
	assert_int_equal(safefs_tmp_open(f->root, "tmp/x", &t, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "no sticky bit"));
	assert_int_equal(chmod(at(f, "proj/tmp/x"), 01777), 0);
	assert_int_equal(safefs_tmp_open(f->root, "tmp/x", &t, why, sizeof(why)), 0);
	safefs_tmp_close(&t);
	if (geteuid() == 0) {
		assert_int_equal(chown(at(f, "proj/tmp/x"), 65534, 65534), 0);
		assert_int_equal(safefs_tmp_open(f->root, "tmp/x", &t, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "belongs to uid 65534"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locate),
		cmocka_unit_test_setup_teardown(test_dangerous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_refuses_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_removes_inside_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_keeps_home_and_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_unique, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
