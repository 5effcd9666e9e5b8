/*
 * cgv1.c - the libcgroup glue for the cgroup v1 hierarchies (cgv1.h).
 *
 * libcgroup does what it is good at: finding a controller's mount and our
 * place in it, creating, attaching, setting values and deleting, all by
 * name. What it cannot do is done on cgroupfs through the fd we hold: tell a
 * taken name from a fresh one (its mkdir takes EEXIST as made), check that a
 * name still is the directory we made, read a value without reading the
 * whole cgroup, let a forked child join (it allocates), kill (it has no
 * freezer loop), and remove a directory its delete left behind.
 */
#define _GNU_SOURCE
#include "cgv1.h"

#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgfs.h"

/* A cgroup tree deeper than this below one of ours is not one of ours. */
#define CGV1_MAX_DEPTH 16
/* One pass waits this long at most for freezer.state to say FROZEN. */
#define CGV1_FREEZE_WAIT_MS 200
/* Removal tries while the kernel still counts exiting tasks (EBUSY), sleeps doubling from 1 ms. */
#define CGV1_RMDIR_TRIES 10

/* A libcgroup return value as 0 or -errno (cgv1.h). */
static int cg_errno(int ret)
{
	int e;

	switch (ret) {
	case 0:
		return 0;
	case ECGOTHER:
		e = cgroup_get_last_errno();
		return e > 0 ? -e : -EIO;
	case ECGNONEMPTY:
		return -EBUSY;
	case ECGROUPNOTMOUNTED:
	case ECGROUPSUBSYSNOTMOUNTED:
	case ECGROUPNOTEXIST:
		return -ENOENT;
	case ECGROUPNOTALLOWED:
	case ECGROUPNOTOWNER:
		return -EPERM;
	default:
		return -EIO;
	}
}

/* libcgroup's init, once per process (it reads the mount table). */
static int lib_init(void)
{
	static bool done;
	int r;

	if (done)
		return 0;
	r = cg_errno(cgroup_init());
	if (r == 0)
		done = true;
	return r;
}

/* 0 when fd is a directory of a cgroup v1 file system. */
static int check_v1_dir(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	return sfs.f_type == CGROUP_SUPER_MAGIC ? 0 : -EMEDIUMTYPE;
}

/* Fills out's names from a parent's and a relative path below it. */
static int set_names(struct cgv1_cg *out, const struct cgv1_cg *parent, const char *rel)
{
	const char *sep = strcmp(parent->name, "/") == 0 ? "" : "/";
	int n;

	if (strstr(rel, "..") || rel[0] == '/' || rel[0] == '\0')
		return -EINVAL;
	snprintf(out->controller, sizeof(out->controller), "%s", parent->controller);
	snprintf(out->mount, sizeof(out->mount), "%s", parent->mount);
	n = snprintf(out->name, sizeof(out->name), "%s%s%s", parent->name, sep, rel);
	if (n < 0 || (size_t)n >= sizeof(out->name))
		return -ENAMETOOLONG;
	n = snprintf(out->path, sizeof(out->path), "%s%s", out->mount, out->name);
	if (n < 0 || (size_t)n >= sizeof(out->path))
		return -ENAMETOOLONG;
	return 0;
}

/* A libcgroup struct cgroup naming cg in its controller's hierarchy, or NULL. Free with cgroup_free. */
static struct cgroup *lib_cgroup(const struct cgv1_cg *cg, struct cgroup_controller **ctrl)
{
	struct cgroup *c = cgroup_new_cgroup(cg->name);
	struct cgroup_controller *ct;

	if (!c)
		return NULL;
	ct = cgroup_add_controller(c, cg->controller);
	if (!ct) {
		cgroup_free(&c);
		return NULL;
	}
	if (ctrl)
		*ctrl = ct;
	return c;
}

int cgv1_open_own(const char *controller, struct cgv1_cg *own)
{
	char *mount = NULL, *path = NULL;
	int r, n;

	*own = (struct cgv1_cg){ .fd = -1 };
	r = lib_init();
	if (r < 0)
		return r;
	r = cg_errno(cgroup_get_subsys_mount_point(controller, &mount));
	if (r == 0)
		r = cg_errno(cgroup_get_current_controller_path(getpid(), controller, &path));
	if (r == 0 && (!mount || !path))
		r = -ENOENT;
	if (r == 0) {
		snprintf(own->controller, sizeof(own->controller), "%s", controller);
		snprintf(own->mount, sizeof(own->mount), "%s", mount);
		snprintf(own->name, sizeof(own->name), "%s", path[0] ? path : "/");
		n = snprintf(own->path, sizeof(own->path), "%s%s", mount,
			     strcmp(own->name, "/") ? own->name : "");
		if (n < 0 || (size_t)n >= sizeof(own->path))
			r = -ENAMETOOLONG;
	}
	free(mount);
	free(path);
	if (r < 0)
		return r;
	own->fd = open(own->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (own->fd < 0)
		return -errno;
	/* libcgroup also names a cgroup2 mount for a controller bound there: not a v1 hierarchy. */
	r = check_v1_dir(own->fd);
	if (r < 0)
		cgv1_close(own);
	return r == -EMEDIUMTYPE ? -ENOENT : r;
}

int cgv1_open_below(const struct cgv1_cg *parent, const char *rel, struct cgv1_cg *out)
{
	int r;

	*out = (struct cgv1_cg){ .fd = -1 };
	r = set_names(out, parent, rel);
	if (r < 0)
		return r;
	out->fd = openat(parent->fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (out->fd < 0)
		return -errno;
	r = check_v1_dir(out->fd);
	if (r < 0)
		cgv1_close(out);
	return r;
}

int cgv1_create(const struct cgv1_cg *parent, const char *name, struct cgv1_cg *out)
{
	struct cgroup *c;
	struct stat st;
	int r;

	*out = (struct cgv1_cg){ .fd = -1 };
	if (strchr(name, '/'))
		return -EINVAL;
	r = set_names(out, parent, name);
	if (r < 0)
		return r;
	/* libcgroup's mkdir takes an existing directory as made: a taken name is told here. */
	if (fstatat(parent->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	r = lib_init();
	if (r < 0)
		return r;
	c = lib_cgroup(out, NULL);
	if (!c)
		return -ENOMEM;
	/* ignore_ownership: no chown, the directory stays the creator's. */
	r = cg_errno(cgroup_create_cgroup(c, 1));
	cgroup_free(&c);
	if (r < 0)
		return r;
	out->fd = cg_open_child(parent->fd, name);
	if (out->fd < 0) {
		r = out->fd;
		out->fd = -1;
		return r;
	}
	return 0;
}

int cgv1_same(const struct cgv1_cg *parent, const struct cgv1_cg *cg)
{
	const char *base = strrchr(cg->name, '/');
	struct stat want, got;

	base = base ? base + 1 : cg->name;
	if (cg->fd < 0 || fstat(cg->fd, &want) < 0)
		return -EBADF;
	if (fstatat(parent->fd, base, &got, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return got.st_dev == want.st_dev && got.st_ino == want.st_ino ? 0 : -ESTALE;
}

/*
 * 0 when cg's name (from its mount) still is cg's directory: every libcgroup
 * call goes by name, so each is checked first.
 */
static int check_named(const struct cgv1_cg *cg)
{
	struct stat want, got;

	if (cg->fd < 0 || fstat(cg->fd, &want) < 0)
		return -EBADF;
	if (stat(cg->path, &got) < 0)
		return -errno;
	return got.st_dev == want.st_dev && got.st_ino == want.st_ino ? 0 : -ESTALE;
}

int cgv1_attach_pid(const struct cgv1_cg *cg, pid_t pid)
{
	struct cgroup *c;
	int r = check_named(cg);

	if (r < 0)
		return r;
	c = lib_cgroup(cg, NULL);
	if (!c)
		return -ENOMEM;
	r = cg_errno(cgroup_attach_task_pid(c, pid));
	cgroup_free(&c);
	return r;
}

int cgv1_procs_fd(const struct cgv1_cg *cg)
{
	int fd = openat(cg->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int cgv1_set(const struct cgv1_cg *cg, const char *key, const char *value)
{
	struct cgroup_controller *ct;
	struct cgroup *c;
	int r = check_named(cg);

	if (r < 0)
		return r;
	c = lib_cgroup(cg, &ct);
	if (!c)
		return -ENOMEM;
	r = cg_errno(cgroup_add_value_string(ct, key, value));
	if (r == 0)
		r = cg_errno(cgroup_modify_cgroup(c));
	cgroup_free(&c);
	return r;
}

ssize_t cgv1_get(const struct cgv1_cg *cg, const char *key, char *buf, size_t size)
{
	ssize_t n;

	if (strchr(key, '/'))
		return -EINVAL;
	n = cg_read_file_at(cg->fd, key, buf, size);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

struct populated_walk {
	int depth;
	bool found;
};

static int populated_at(int fd, struct populated_walk *w);

static int populated_child(int parentfd, int subfd, const char *name, void *data)
{
	struct populated_walk *w = data, sub = { .depth = w->depth + 1 };
	int r;

	(void)parentfd;
	(void)name;
	if (w->found)
		return 0;
	r = populated_at(subfd, &sub);
	w->found = w->found || r > 0;
	return r < 0 ? r : 0;
}

/* 1 when fd's tasks (or a descendant's) is not empty. */
static int populated_at(int fd, struct populated_walk *w)
{
	char buf[64];
	ssize_t n;
	int r;

	if (w->depth > CGV1_MAX_DEPTH)
		return -ELOOP;
	/* One task is enough to know: the first bytes tell. */
	n = cg_read_file_at(fd, "tasks", buf, sizeof(buf));
	if (n != 0)
		return n < 0 ? (int)n : 1;
	r = cg_for_each_child(fd, populated_child, w);
	return r < 0 ? r : w->found;
}

int cgv1_populated(int fd)
{
	return populated_at(fd, &(struct populated_walk){ 0 });
}

/* libcgroup's delete of an empty cgroup; then by fd if the directory is still there. */
static int delete_one(const struct cgv1_cg *parent, const struct cgv1_cg *cg)
{
	const char *base = strrchr(cg->name, '/');
	struct cgroup *c;
	int r = cgv1_same(parent, cg);

	base = base ? base + 1 : cg->name;
	/* Gone, or the name is another's now: nothing of ours is left to remove. */
	if (r == -ENOENT || r == -ESTALE)
		return 0;
	if (r < 0)
		return r;
	c = lib_cgroup(cg, NULL);
	if (!c)
		return -ENOMEM;
	r = cg_errno(cgroup_delete_cgroup_ext(c, CGFLAG_DELETE_EMPTY_ONLY));
	cgroup_free(&c);
	if (r == -ENOENT)
		r = 0;
	/* Whatever libcgroup said: still there is not removed. */
	if (cgv1_same(parent, cg) == 0)
		r = cg_rmdir_same(parent->fd, base, cg->fd);
	return r == -ESTALE ? 0 : r;
}

struct delete_walk {
	const struct cgv1_cg *parent;
	int depth;
};

static int delete_tree(const struct cgv1_cg *parent, const struct cgv1_cg *cg, int depth);

static int delete_child(int parentfd, int subfd, const char *name, void *data)
{
	const struct delete_walk *w = data;
	struct cgv1_cg child;
	int r;

	(void)parentfd;
	r = set_names(&child, w->parent, name);
	if (r < 0)
		return r;
	child.fd = subfd;
	return delete_tree(w->parent, &child, w->depth + 1);
}

/* Removes cg's children, deepest first, then cg. */
static int delete_tree(const struct cgv1_cg *parent, const struct cgv1_cg *cg, int depth)
{
	int r;

	if (depth > CGV1_MAX_DEPTH)
		return -ELOOP;
	r = cg_for_each_child(cg->fd, delete_child, &(struct delete_walk){ cg, depth });
	return r < 0 ? r : delete_one(parent, cg);
}

int cgv1_delete(const struct cgv1_cg *parent, struct cgv1_cg *cg)
{
	unsigned delay = 1;
	int r = 0;

	if (cg->fd < 0)
		return 0;
	/* rmdir right after the last task left can still meet EBUSY while the kernel lets it go. */
	for (int i = 0; i < CGV1_RMDIR_TRIES; i++) {
		r = delete_tree(parent, cg, 0);
		if (r != -EBUSY)
			break;
		cg_sleep_ms(delay);
		delay *= 2;
	}
	if (r == 0)
		cgv1_close(cg);
	return r;
}

void cgv1_close(struct cgv1_cg *cg)
{
	if (cg->fd >= 0)
		close(cg->fd);
	cg->fd = -1;
}

/* Waits, bounded, for freezer.state to say FROZEN: 0, -ETIMEDOUT, -errno. */
static int wait_frozen(int fd)
{
	char buf[32];

	for (int waited = 0;; waited++) {
		ssize_t n = cg_read_file_at(fd, "freezer.state", buf, sizeof(buf));

		if (n < 0)
			return (int)n;
		/* Reading is what moves the kernel's FREEZING on to FROZEN once every task is. */
		if (strncmp(buf, "FROZEN", 6) == 0)
			return 0;
		if (waited >= CGV1_FREEZE_WAIT_MS)
			return -ETIMEDOUT;
		cg_sleep_ms(1);
	}
}

int cgv1_freeze_kill_pass(int fd)
{
	int pop = cgv1_populated(fd), r;

	if (pop <= 0)
		return pop;
	r = cg_write_file_at(fd, "freezer.state", "FROZEN");
	/* Not frozen (yet): the kills still go out, the pass is only less sure to reach all. */
	if (r == 0)
		(void)wait_frozen(fd);
	r = cg_signal_all(fd, SIGKILL);
	(void)cg_write_file_at(fd, "freezer.state", "THAWED");
	if (r < 0 && r != -ESRCH)
		return r;
	pop = cgv1_populated(fd);
	return pop;
}

int cgv1_freeze_kill_all(int fd)
{
	for (int pass = 0; pass < CG_KILL_PASSES; pass++) {
		int r = cgv1_freeze_kill_pass(fd);
		if (r <= 0)
			return r;
		cg_sleep_ms((unsigned)cg_kill_pass_pause_ms(pass));
	}
	return -EBUSY;
}

/* True when every controller of the comma list ctrls is among the mount's super options opts. */
static bool opts_have(const char *opts, const char *ctrls)
{
	char list[256];
	char *save = NULL;

	snprintf(list, sizeof(list), "%s", ctrls);
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(c);
		const char *p = opts;
		bool found = false;

		while (!found && (p = strstr(p, c))) {
			found = (p == opts || p[-1] == ',') && (p[len] == ',' || p[len] == '\0');
			p += len;
		}
		if (!found)
			return false;
	}
	return true;
}

/* The mount point of the v1 hierarchy holding ctrls, from mountinfo text, or "" (octal escapes kept). */
static void find_mount(const char *mountinfo, const char *ctrls, char *out, size_t size)
{
	const char *line = mountinfo;

	out[0] = '\0';
	while (line && *line) {
		const char *end = strchr(line, '\n');
		char buf[4096], mnt[PATH_MAX], fstype[64], opts[512];
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *dash;

		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), line);
		line = end ? end + 1 : NULL;
		dash = strstr(buf, " - ");
		if (!dash || sscanf(buf, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup") == 0 && opts_have(opts, ctrls)) {
			snprintf(out, size, "%s", mnt);
			return;
		}
	}
}

int cgv1_list(struct cgv1_hier *out, int max)
{
	char *cgroups = NULL, *mounts = NULL, *save = NULL;
	ssize_t n;
	int count = 0;

	n = cg_read_alloc_at(AT_FDCWD, "/proc/self/cgroup", &cgroups, 1 << 20);
	if (n < 0)
		return (int)n;
	n = cg_read_alloc_at(AT_FDCWD, "/proc/self/mountinfo", &mounts, 1 << 24);
	if (n < 0) {
		free(cgroups);
		return (int)n;
	}
	for (char *l = strtok_r(cgroups, "\n", &save); l && count < max; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		/* "0::/path" is cgroup2's line; v1 lines name their controllers. */
		if (!c2 || c2 == c1 + 1)
			continue;
		*c2 = '\0';
		snprintf(out[count].controllers, sizeof(out[count].controllers), "%s", c1 + 1);
		snprintf(out[count].own, sizeof(out[count].own), "%s", c2 + 1);
		find_mount(mounts, c1 + 1, out[count].mount, sizeof(out[count].mount));
		count++;
	}
	free(cgroups);
	free(mounts);
	return count;
}
