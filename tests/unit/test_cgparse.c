/* The pure cgroup parsers of cgfs.h, fed with text as the kernel writes it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cgfs.h"

/* The mountinfo of our Debian 12 VM: systemd's hybrid layout with cgroup2 at /sys/fs/cgroup/unified. */
static const char hybrid_mountinfo[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
	"24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334432k,nr_inodes=3083608,mode=755\n"
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A current systemd host: cgroup2 alone, with the optional propagation fields systemd mounts carry. */
static const char unified_mountinfo[] =
	"22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n"
	"23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n"
	"27 23 0:25 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw\n";

/* An old host (CentOS 7 style): v1 only, every hierarchy with an optional field. */
static const char legacy_mountinfo[] =
	"18 62 0:18 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw\n"
	"24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755\n"
	"25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup "
	"rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
	"28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup "
	"rw,memory\n";

static void test_mode_names(void **state)
{
	(void)state;
	assert_string_equal(cg_mode_name(CG_MODE_NONE), "none");
	assert_string_equal(cg_mode_name(CG_MODE_LEGACY), "legacy");
	assert_string_equal(cg_mode_name(CG_MODE_HYBRID), "hybrid");
	assert_string_equal(cg_mode_name(CG_MODE_UNIFIED), "unified");
	assert_string_equal(cg_mode_name((enum cg_mode)42), "?");
}

static void test_mountinfo_hybrid(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo(hybrid_mountinfo, &m), 0);
	assert_int_equal(m.mode, CG_MODE_HYBRID);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup/unified");
	assert_string_equal(m.v2_root, "/");
	assert_int_equal(m.v1_count, 9);
}

static void test_mountinfo_unified_with_optional_fields(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo(unified_mountinfo, &m), 0);
	assert_int_equal(m.mode, CG_MODE_UNIFIED);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup");
	assert_string_equal(m.v2_root, "/");
	assert_int_equal(m.v1_count, 0);
}

static void test_mountinfo_many_optional_fields(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo("90 80 0:24 / /sys/fs/cgroup rw,relatime shared:4 master:1 "
					    "propagate_from:2 unbindable - cgroup2 cgroup2 rw\n",
					    &m),
			 0);
	assert_int_equal(m.mode, CG_MODE_UNIFIED);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup");
}

static void test_mountinfo_legacy(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo(legacy_mountinfo, &m), 0);
	assert_int_equal(m.mode, CG_MODE_LEGACY);
	assert_string_equal(m.v2_path, "");
	assert_int_equal(m.v1_count, 3);
}

static void test_mountinfo_none(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo("22 27 0:21 / /proc rw,relatime - proc proc rw\n"
					    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n",
					    &m),
			 -ENOENT);
	assert_int_equal(m.mode, CG_MODE_NONE);
	assert_string_equal(m.v2_path, "");
	assert_int_equal(m.v1_count, 0);
	assert_int_equal(cg_parse_mountinfo("", &m), -ENOENT);
	assert_int_equal(m.mode, CG_MODE_NONE);
}

static void test_mountinfo_escaped_path(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(
		cg_parse_mountinfo(
			"50 1 0:40 /a\\040b /mnt/my\\040cgroup\\011tab\\134x rw - cgroup2 none rw\n", &m),
		0);
	assert_string_equal(m.v2_path, "/mnt/my cgroup\ttab\\x");
	assert_string_equal(m.v2_root, "/a b");
}

static void test_mountinfo_escapes_left_alone(void **state)
{
	struct cg_mounts m;

	(void)state;
	/* Not a three-digit octal escape (or \000): kept as written. */
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 / /mnt/a\\9b\\04\\000 rw - cgroup2 none rw\n", &m), 0);
	assert_string_equal(m.v2_path, "/mnt/a\\9b\\04\\000");
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 / /mnt/x\\04 rw - cgroup2 none rw\n", &m), 0);
	assert_string_equal(m.v2_path, "/mnt/x\\04");
}

static void test_mountinfo_dash_inside_escaped_path(void **state)
{
	struct cg_mounts m;

	(void)state;
	/* An escaped " - " in a path is part of the path, not the separator. */
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 / /mnt/a\\040-\\040b rw - cgroup2 none rw\n", &m), 0);
	assert_string_equal(m.v2_path, "/mnt/a - b");
}

static void test_mountinfo_container_root(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(
		cg_parse_mountinfo(
			"1290 1280 0:30 /docker/abc /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - "
			"cgroup2 cgroup rw,nsdelegate\n",
			&m),
		0);
	assert_int_equal(m.mode, CG_MODE_UNIFIED);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup");
	assert_string_equal(m.v2_root, "/docker/abc");
}

static void test_mountinfo_prefers_standard_places(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 / /mnt/first rw - cgroup2 none rw\n"
					    "51 1 0:40 / /mnt/second rw - cgroup2 none rw\n",
					    &m),
			 0);
	assert_string_equal(m.v2_path, "/mnt/first");
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 /x /mnt/first rw - cgroup2 none rw\n"
					    "51 1 0:40 / /sys/fs/cgroup/unified rw - cgroup2 none rw\n"
					    "52 1 0:40 / /mnt/third rw - cgroup2 none rw\n",
					    &m),
			 0);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup/unified");
	assert_string_equal(m.v2_root, "/");
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 / /sys/fs/cgroup/unified rw - cgroup2 none rw\n"
					    "51 1 0:40 /y /sys/fs/cgroup rw - cgroup2 none rw\n"
					    "52 1 0:40 / /mnt/third rw - cgroup2 none rw\n",
					    &m),
			 0);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup");
	assert_string_equal(m.v2_root, "/y");
}

static void test_mountinfo_v1_bind_mounts_count_once(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(
		cg_parse_mountinfo("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
				   "33 31 0:29 / /mnt/cpu-again rw - cgroup cgroup rw,cpu\n"
				   "34 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
				   &m),
		0);
	assert_int_equal(m.mode, CG_MODE_LEGACY);
	assert_int_equal(m.v1_count, 2);
}

static void test_mountinfo_fstype_not_source(void **state)
{
	struct cg_mounts m;

	(void)state;
	/* "cgroup2" as the source or in the options is no cgroup2 mount. */
	assert_int_equal(cg_parse_mountinfo("50 1 0:40 / /mnt/x rw - tmpfs cgroup2 rw\n"
					    "51 1 0:41 / /mnt/cgroup2 rw shared:1 - tmpfs tmpfs cgroup2\n",
					    &m),
			 -ENOENT);
	assert_int_equal(m.mode, CG_MODE_NONE);
}

static void test_mountinfo_truncated(void **state)
{
	static const char *const cut[] = {
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2",
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2",
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime -",
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime",
		"41 31 0:38 / /sys/fs/cg",
		"41 31",
	};
	char text[1024];
	struct cg_mounts m;

	(void)state;
	/* What a short read leaves: the lines before still count, the cut one does not. */
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		snprintf(text, sizeof(text), "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n%s",
			 cut[i]);
		assert_int_equal(cg_parse_mountinfo(text, &m), 0);
		assert_int_equal(m.mode, CG_MODE_LEGACY);
		assert_int_equal(m.v1_count, 1);
		assert_string_equal(m.v2_path, "");
	}
	/* Cut inside the superoptions: every field is there, so the mount is real. */
	assert_int_equal(cg_parse_mountinfo("41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 r", &m),
			 0);
	assert_int_equal(m.mode, CG_MODE_UNIFIED);
}

static void test_mountinfo_blank_and_odd_lines(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(cg_parse_mountinfo("\n\ngarbage\n- - -\n"
					    "26 23 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n\n",
					    &m),
			 0);
	assert_int_equal(m.mode, CG_MODE_UNIFIED);
	assert_string_equal(m.v2_path, "/sys/fs/cgroup");
}

static void test_mountinfo_too_long(void **state)
{
	struct cg_mounts m;
	size_t len = sizeof(m.v2_path) + 10;
	char *text = malloc(len + 100);
	char *s = text;

	(void)state;
	assert_non_null(text);
	s += sprintf(s, "50 1 0:40 / /");
	memset(s, 'a', len);
	s += len;
	strcpy(s, " rw - cgroup2 none rw\n");
	assert_int_equal(cg_parse_mountinfo(text, &m), -ENAMETOOLONG);
	free(text);
}

static void test_mountinfo_exactly_fits(void **state)
{
	struct cg_mounts m;
	size_t len = sizeof(m.v2_path) - 1;
	char *text = malloc(len + 100);
	char *s = text;

	(void)state;
	assert_non_null(text);
	s += sprintf(s, "50 1 0:40 / /");
	memset(s, 'a', len - 1);
	s += len - 1;
	strcpy(s, " rw - cgroup2 none rw\n");
	assert_int_equal(cg_parse_mountinfo(text, &m), 0);
	assert_int_equal(strlen(m.v2_path), len);
	free(text);
}

static void test_mountinfo_escaped_root_too_long(void **state)
{
	struct cg_mounts m;
	size_t len = sizeof(m.v2_root);
	char *text = malloc(len * 4 + 100);
	char *s = text;

	(void)state;
	assert_non_null(text);
	/* Escapes shrink when decoded: 4096 "\040" are 4096 bytes, one too many. */
	s += sprintf(s, "50 1 0:40 /");
	for (size_t i = 0; i < len - 1; i++)
		s += sprintf(s, "\\040");
	strcpy(s, " /sys/fs/cgroup rw - cgroup2 none rw\n");
	assert_int_equal(cg_parse_mountinfo(text, &m), -ENAMETOOLONG);
	assert_string_equal(m.v2_path, "");
	free(text);
}

static void test_proc_cgroup_hybrid(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(cg_parse_proc_cgroup("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/84853\n"
					      "1:cpu:/\n0::/\n",
					      path, sizeof(path)),
			 0);
	assert_string_equal(path, "/");
}

static void test_proc_cgroup_unified(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(
		cg_parse_proc_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n", path, sizeof(path)),
		0);
	assert_string_equal(path, "/user.slice/user-1000.slice/session-2.scope");
	/* No final newline. */
	assert_int_equal(cg_parse_proc_cgroup("0::/a/b", path, sizeof(path)), 0);
	assert_string_equal(path, "/a/b");
}

static void test_proc_cgroup_v2_line_not_last(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(cg_parse_proc_cgroup("0::/x.scope\n1:name=systemd:/y\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/x.scope");
}

static void test_proc_cgroup_missing(void **state)
{
	char path[256] = "untouched";

	(void)state;
	assert_int_equal(cg_parse_proc_cgroup("9:name=systemd:/\n8:pids:/\n", path, sizeof(path)), -ENOENT);
	assert_int_equal(cg_parse_proc_cgroup("", path, sizeof(path)), -ENOENT);
	/* v1 ids 10, 20... must not be taken for the 0:: line. */
	assert_int_equal(cg_parse_proc_cgroup("10::/x\n20:cpu:/y\n", path, sizeof(path)), -ENOENT);
	/* A v1 hierarchy named with controllers is not the unified one either. */
	assert_int_equal(cg_parse_proc_cgroup("0:cpu:/z\n", path, sizeof(path)), -ENOENT);
	assert_string_equal(path, "untouched");
}

static void test_proc_cgroup_spaces(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(
		cg_parse_proc_cgroup("1:name=systemd:/\n0::/my group/with  spaces \n", path, sizeof(path)),
		0);
	assert_string_equal(path, "/my group/with  spaces ");
}

static void test_proc_cgroup_bounds(void **state)
{
	char path[5];

	(void)state;
	assert_int_equal(cg_parse_proc_cgroup("0::/abc\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/abc");
	assert_int_equal(cg_parse_proc_cgroup("0::/abcd\n", path, sizeof(path)), -ENAMETOOLONG);
	assert_int_equal(cg_parse_proc_cgroup("0::/abcd\n", path, 0), -ENAMETOOLONG);
	assert_int_equal(cg_parse_proc_cgroup("0::\n", path, sizeof(path)), -EINVAL);
}

static void test_events_unpopulated(void **state)
{
	struct cg_events ev;

	(void)state;
	assert_int_equal(cg_parse_events("populated 0\nfrozen 0\n", &ev), 0);
	assert_int_equal(ev.populated, 0);
	assert_int_equal(ev.frozen, 0);
}

static void test_events_populated_frozen(void **state)
{
	struct cg_events ev;

	(void)state;
	assert_int_equal(cg_parse_events("populated 1\nfrozen 1\n", &ev), 0);
	assert_int_equal(ev.populated, 1);
	assert_int_equal(ev.frozen, 1);
	assert_int_equal(cg_parse_events("frozen 0\npopulated 1", &ev), 0);
	assert_int_equal(ev.populated, 1);
	assert_int_equal(ev.frozen, 0);
}

static void test_events_no_frozen(void **state)
{
	struct cg_events ev;

	(void)state;
	/* Kernels before 5.2 have no freezer. */
	assert_int_equal(cg_parse_events("populated 1\n", &ev), 0);
	assert_int_equal(ev.populated, 1);
	assert_int_equal(ev.frozen, -1);
}

static void test_events_unknown_keys(void **state)
{
	struct cg_events ev;

	(void)state;
	assert_int_equal(cg_parse_events("populated 0\nfrozen 1\nsomething_new 7\n", &ev), 0);
	assert_int_equal(ev.populated, 0);
	assert_int_equal(ev.frozen, 1);
	assert_int_equal(cg_parse_events("something_new 7\n", &ev), 0);
	assert_int_equal(ev.populated, -1);
	assert_int_equal(ev.frozen, -1);
}

static void test_events_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"garbage",
		"populated\n",
		"populated \n",
		"populated x\n",
		"populated 1x\n",
		"populated -1\n",
		"populated 2\n",
		"frozen 3\n",
		" populated 1\n",
		"populated 0\nfrozen\n",
		"populated 12345678901\n",
	};
	struct cg_events ev = { .populated = 42, .frozen = 42 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cg_parse_events(bad[i], &ev), -EINVAL);
		/* A failed parse leaves the caller's struct alone. */
		assert_int_equal(ev.populated, 42);
	}
}

static void mounts_at(struct cg_mounts *m, const char *path, const char *root)
{
	memset(m, 0, sizeof(*m));
	m->mode = CG_MODE_UNIFIED;
	strcpy(m->v2_path, path);
	strcpy(m->v2_root, root);
}

static void test_join_root(void **state)
{
	struct cg_mounts m;
	char out[256];

	(void)state;
	mounts_at(&m, "/sys/fs/cgroup/unified", "/");
	assert_int_equal(cg_join_own_dir(&m, "/", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(cg_join_own_dir(&m, "/user.slice/x.scope", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified/user.slice/x.scope");
	assert_int_equal(cg_join_own_dir(&m, "/with space", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified/with space");
}

static void test_join_nested_root(void **state)
{
	struct cg_mounts m;
	char out[256];

	(void)state;
	mounts_at(&m, "/sys/fs/cgroup", "/docker/abc");
	assert_int_equal(cg_join_own_dir(&m, "/docker/abc", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	assert_int_equal(cg_join_own_dir(&m, "/docker/abc/", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	assert_int_equal(cg_join_own_dir(&m, "/docker/abc/sub/leaf", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/sub/leaf");
	/* The example of cgfs.h. */
	mounts_at(&m, "/sys/fs/cgroup", "/a");
	assert_int_equal(cg_join_own_dir(&m, "/a/b", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/b");
	/* A root written with a trailing slash means the same. */
	mounts_at(&m, "/sys/fs/cgroup", "/a/");
	assert_int_equal(cg_join_own_dir(&m, "/a/b", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/b");
}

static void test_join_outside_root(void **state)
{
	struct cg_mounts m;
	char out[256];

	(void)state;
	mounts_at(&m, "/sys/fs/cgroup", "/docker/abc");
	assert_int_equal(cg_join_own_dir(&m, "/", out, sizeof(out)), -EXDEV);
	assert_int_equal(cg_join_own_dir(&m, "/docker", out, sizeof(out)), -EXDEV);
	assert_int_equal(cg_join_own_dir(&m, "/docker/abcd", out, sizeof(out)), -EXDEV);
	assert_int_equal(cg_join_own_dir(&m, "/other/x", out, sizeof(out)), -EXDEV);
	/* How a cgroup namespace shows a cgroup above its root. */
	mounts_at(&m, "/sys/fs/cgroup", "/");
	assert_int_equal(cg_join_own_dir(&m, "/../../init.scope", out, sizeof(out)), -EXDEV);
	assert_int_equal(cg_join_own_dir(&m, "/a/../b", out, sizeof(out)), -EXDEV);
	/* Dots that are only part of a name are fine. */
	assert_int_equal(cg_join_own_dir(&m, "/a..b/..c", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/a..b/..c");
}

static void test_join_errors(void **state)
{
	struct cg_mounts m;
	char out[24];

	(void)state;
	mounts_at(&m, "", "");
	assert_int_equal(cg_join_own_dir(&m, "/", out, sizeof(out)), -ENOENT);
	mounts_at(&m, "/sys/fs/cgroup", "/");
	assert_int_equal(cg_join_own_dir(&m, "relative", out, sizeof(out)), -EINVAL);
	/* "/sys/fs/cgroup/abcdefgh" is 23 bytes: fits in 24 with its NUL, one more does not. */
	assert_int_equal(cg_join_own_dir(&m, "/abcdefgh", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/abcdefgh");
	assert_int_equal(cg_join_own_dir(&m, "/abcdefghi", out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(cg_join_own_dir(&m, "/", out, 0), -ENAMETOOLONG);
}

static void test_join_mount_at_slash(void **state)
{
	struct cg_mounts m;
	char out[64];

	(void)state;
	mounts_at(&m, "/", "/");
	assert_int_equal(cg_join_own_dir(&m, "/x", out, sizeof(out)), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(cg_join_own_dir(&m, "/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
}

static void test_mountinfo_then_join(void **state)
{
	struct cg_mounts m;
	char own[256], out[256];

	(void)state;
	/* The whole path the prober takes, on the texts of this VM. */
	assert_int_equal(cg_parse_mountinfo(hybrid_mountinfo, &m), 0);
	assert_int_equal(cg_parse_proc_cgroup("1:cpu:/\n0::/\n", own, sizeof(own)), 0);
	assert_int_equal(cg_join_own_dir(&m, own, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
}

/* The common ancestor must end at a component: /a/b and /a/bc share /a, not /a/b. */
static void test_common_ancestor(void **state)
{
	(void)state;
	assert_int_equal(cg_common_ancestor_len("/sys/fs/cgroup/a/b", "/sys/fs/cgroup/a/bc"),
			 strlen("/sys/fs/cgroup/a"));
	assert_int_equal(cg_common_ancestor_len("/sys/fs/cgroup/a", "/sys/fs/cgroup/a/box"),
			 strlen("/sys/fs/cgroup/a"));
	assert_int_equal(cg_common_ancestor_len("/sys/fs/cgroup/a/box", "/sys/fs/cgroup/a"),
			 strlen("/sys/fs/cgroup/a"));
	assert_int_equal(cg_common_ancestor_len("/x/y", "/x/y"), strlen("/x/y"));
	assert_int_equal(cg_common_ancestor_len("/x", "/y"), 0);
	assert_int_equal(cg_common_ancestor_len("", "/y"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_mountinfo_hybrid),
		cmocka_unit_test(test_mountinfo_unified_with_optional_fields),
		cmocka_unit_test(test_mountinfo_many_optional_fields),
		cmocka_unit_test(test_mountinfo_legacy),
		cmocka_unit_test(test_mountinfo_none),
		cmocka_unit_test(test_mountinfo_escaped_path),
		cmocka_unit_test(test_mountinfo_escapes_left_alone),
		cmocka_unit_test(test_mountinfo_dash_inside_escaped_path),
		cmocka_unit_test(test_mountinfo_container_root),
		cmocka_unit_test(test_mountinfo_prefers_standard_places),
		cmocka_unit_test(test_mountinfo_v1_bind_mounts_count_once),
		cmocka_unit_test(test_mountinfo_fstype_not_source),
		cmocka_unit_test(test_mountinfo_truncated),
		cmocka_unit_test(test_mountinfo_blank_and_odd_lines),
		cmocka_unit_test(test_mountinfo_too_long),
		cmocka_unit_test(test_mountinfo_exactly_fits),
		cmocka_unit_test(test_mountinfo_escaped_root_too_long),
		cmocka_unit_test(test_proc_cgroup_hybrid),
		cmocka_unit_test(test_proc_cgroup_unified),
		cmocka_unit_test(test_proc_cgroup_v2_line_not_last),
		cmocka_unit_test(test_proc_cgroup_missing),
		cmocka_unit_test(test_proc_cgroup_spaces),
		cmocka_unit_test(test_proc_cgroup_bounds),
		cmocka_unit_test(test_events_unpopulated),
		cmocka_unit_test(test_events_populated_frozen),
		cmocka_unit_test(test_events_no_frozen),
		cmocka_unit_test(test_events_unknown_keys),
		cmocka_unit_test(test_events_garbage),
		cmocka_unit_test(test_join_root),
		cmocka_unit_test(test_join_nested_root),
		cmocka_unit_test(test_join_outside_root),
		cmocka_unit_test(test_join_errors),
		cmocka_unit_test(test_join_mount_at_slash),
		cmocka_unit_test(test_mountinfo_then_join),
		cmocka_unit_test(test_common_ancestor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
