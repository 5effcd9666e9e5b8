/*
 * A delegated scope from systemd, through sd-bus (scope.h). The only file
 * that talks D-Bus.
 */
#define _GNU_SOURCE
#include "scope.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifdef NSRELOAD_HAVE_SDBUS
#include <systemd/sd-bus.h>
#endif

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

void sd_scope_unit_name(char *unit, size_t size)
{
	snprintf(unit, size, "nsreload-%d.scope", (int)getpid());
}

bool sd_scope_in_own_leaf(const char *own, size_t *scope_len)
{
	char tail[SD_SCOPE_UNIT_SIZE + sizeof(SD_SCOPE_LEAF) + 2];
	size_t own_len = strlen(own), tail_len;

	snprintf(tail, sizeof(tail), "/nsreload-%d.scope/%s", (int)getpid(), SD_SCOPE_LEAF);
	tail_len = strlen(tail);
	if (own_len < tail_len || strcmp(own + own_len - tail_len, tail) != 0)
		return false;
	*scope_len = own_len - sizeof(SD_SCOPE_LEAF);
	return true;
}

#ifdef NSRELOAD_HAVE_SDBUS

bool sd_scope_supported(void)
{
	return true;
}

/* The job of our StartTransientUnit call, and how it ended. */
struct job_wait {
	char path[256]; /* "" until the call returned it */
	char result[32];
	bool done;
};

/* JobRemoved(u id, o job, s unit, s result): ours is the one with our job's path. */
static int on_job_removed(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct job_wait *w = data;
	const char *path, *unit, *result;
	uint32_t id;

	(void)err;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->path[0] && strcmp(path, w->path) == 0) {
		snprintf(w->result, sizeof(w->result), "%s", result);
		w->done = true;
	}
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The bus, connected: the session bus finds its address in $DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus.
 */
static int open_bus(bool system, sd_bus **bus, char *why, size_t size)
{
	const char *addr = getenv(system ? "DBUS_SYSTEM_BUS_ADDRESS" : "DBUS_SESSION_BUS_ADDRESS");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char where[512];
	int r;

	if (!system && (!addr || !addr[0]) && (!rt || !rt[0])) {
		say(why, size, "%s",
		    "no session bus: neither $DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR is set");
		return -ENOMEDIUM;
	}
	if (addr && addr[0])
		snprintf(where, sizeof(where), "%s", addr);
	else if (system)
		snprintf(where, sizeof(where), "%s", "/run/dbus/system_bus_socket");
	else
		snprintf(where, sizeof(where), "%s/bus", rt);
	r = system ? sd_bus_open_system(bus) : sd_bus_open_user(bus);
	/* A bus that accepts and never answers holds each call (AddMatch too) this long, not sd-bus's 25 s.
	 */
	if (r >= 0) {
		r = sd_bus_set_method_call_timeout(*bus, (uint64_t)SD_SCOPE_TIMEOUT_MS * 1000u);
		if (r < 0)
			*bus = sd_bus_unref(*bus);
	}
	if (r < 0)
		say(why, size, "cannot connect to the %s bus (%s): %s", system ? "system" : "session", where,
		    strerror(-r));
	return r;
}

/* Calls StartTransientUnit for our scope; w->path gets the job. */
static int start_unit(sd_bus *bus, const char *unit, const char *description, struct job_wait *w, char *why,
		      size_t size)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	const char *job;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	/* PID 0 is the caller, as the manager sees it: right even from another PID namespace. */
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", description, "PIDs",
					  "au", 1, (uint32_t)0, "Delegate", "b", 1, "CollectMode", "s",
					  "inactive-or-failed");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		say(why, size, "cannot build the StartTransientUnit call: %s", strerror(-r));
		goto out;
	}
	r = sd_bus_call(bus, m, (uint64_t)SD_SCOPE_TIMEOUT_MS * 1000u, &error, &reply);
	if (r < 0) {
		if (sd_bus_error_has_name(&error, "org.freedesktop.DBus.Error.ServiceUnknown"))
			say(why, size, "the bus answers, but no systemd manager is on it (%s)",
			    error.message);
		else if (sd_bus_error_is_set(&error))
			say(why, size, "the manager refused the scope %s: %s: %s", unit, error.name,
			    error.message ? error.message : "");
		else
			say(why, size, "no answer from the manager to StartTransientUnit: %s", strerror(-r));
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &job);
	if (r < 0) {
		say(why, size, "the manager's answer to StartTransientUnit is not a job: %s", strerror(-r));
		goto out;
	}
	snprintf(w->path, sizeof(w->path), "%s", job);
out:
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

/* Waits for JobRemoved of our job, until deadline. */
static int wait_job(sd_bus *bus, struct job_wait *w, uint64_t deadline, char *why, size_t size)
{
	int r;

	while (!w->done) {
		uint64_t now = now_usec();

		r = sd_bus_process(bus, NULL);
		if (r > 0)
			continue;
		if (r == 0 && now < deadline)
			r = sd_bus_wait(bus, deadline - now);
		if (r == 0 && now >= deadline)
			r = -ETIMEDOUT;
		if (r < 0) {
			say(why, size, "waiting for the scope's job %s: %s", w->path, strerror(-r));
			return r;
		}
	}
	if (strcmp(w->result, "done") != 0) {
		say(why, size, "the scope's job ended '%s', not 'done'", w->result);
		return -EIO;
	}
	return 0;
}

/*
 * Waits, until deadline, for the connection to be up: authenticated, and
 * Hello answered. sd-bus would wait for that within the first call, for up to
 * its own authentication timeout (90 s), on a bus that accepts and never
 * answers.
 */
static int wait_ready(sd_bus *bus, bool system, uint64_t deadline, char *why, size_t size)
{
	int r;

	while ((r = sd_bus_is_ready(bus)) == 0) {
		uint64_t now = now_usec();

		r = sd_bus_process(bus, NULL);
		if (r > 0)
			continue;
		if (r == 0 && now >= deadline)
			r = -ETIMEDOUT;
		if (r == 0)
			r = sd_bus_wait(bus, deadline - now);
		if (r < 0)
			break;
	}
	if (r < 0)
		say(why, size, "the %s bus did not let us in within %d ms: %s", system ? "system" : "session",
		    SD_SCOPE_TIMEOUT_MS, strerror(-r));
	return r < 0 ? r : 0;
}

/* Asks the manager on the bus for the scope, and waits until it holds us. */
static int ask_manager(bool system, const char *unit, const char *description, char *why, size_t size)
{
	struct job_wait w = { .done = false };
	uint64_t deadline = now_usec() + (uint64_t)SD_SCOPE_TIMEOUT_MS * 1000u;
	sd_bus_slot *slot = NULL;
	sd_bus *bus = NULL;
	int r;

	r = open_bus(system, &bus, why, size);
	if (r < 0)
		return r;
	r = wait_ready(bus, system, deadline, why, size);
	if (r < 0) {
		sd_bus_close_unref(bus);
		return r;
	}
	/* Before the call: the job may end before its reply is read. */
	r = sd_bus_match_signal(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				"org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w);
	if (r < 0)
		say(why, size, "cannot reach the %s bus's manager (AddMatch): %s",
		    system ? "system" : "session", strerror(-r));
	if (r >= 0)
		r = start_unit(bus, unit, description, &w, why, size);
	if (r >= 0)
		r = wait_job(bus, &w, deadline, why, size);
	sd_bus_slot_unref(slot);
	/* Not sd_bus_flush_close_unref(): a flush waits out sd-bus's 90 s for a bus that never answered. */
	sd_bus_close_unref(bus);
	return r;
}

/* Our own cgroup, which must now be the scope's directory; dir gets its path under the mount. */
static int find_scope_dir(const struct cg_mounts *m, const char *unit, char *dir, size_t size, char *why,
			  size_t why_size)
{
	char own[4096], text[8192];
	const char *base;
	ssize_t n;
	int r;

	n = cg_read_file_at(AT_FDCWD, "/proc/self/cgroup", text, sizeof(text));
	r = n < 0 ? (int)n : cg_parse_proc_cgroup(text, own, sizeof(own));
	if (r < 0) {
		say(why, why_size, "the scope started, but /proc/self/cgroup gives no cgroup2 path: %s",
		    strerror(-r));
		return r;
	}
	base = strrchr(own, '/');
	if (!base || strcmp(base + 1, unit) != 0) {
		say(why, why_size, "the scope %s started, but nsreload is in %s, not in it", unit, own);
		return -ESRCH;
	}
	r = cg_join_own_dir(m, own, dir, size);
	if (r < 0)
		say(why, why_size, "the scope's cgroup %s is not under the cgroup2 mount at %s: %s", own,
		    m->v2_path, strerror(-r));
	return r;
}

/* Makes the scope's leaf and moves this whole process into it. */
static int move_to_leaf(const char *dir, char *why, size_t size)
{
	struct statfs sfs;
	int fd, leaf, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		say(why, size, "cannot open the scope's cgroup %s: %s", dir, strerror(-r));
		return r;
	}
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		say(why, size, "the scope's cgroup %s is not on a cgroup2 file system", dir);
		close(fd);
		return -EMEDIUMTYPE;
	}
	r = mkdirat(fd, SD_SCOPE_LEAF, 0755) < 0 ? -errno : 0;
	leaf = r < 0 ? r : cg_open_child(fd, SD_SCOPE_LEAF);
	if (leaf >= 0) {
		r = cg_write_file_at(leaf, "cgroup.procs", "0");
		close(leaf);
	} else {
		r = leaf;
	}
	close(fd);
	if (r < 0)
		say(why, size, "cannot move nsreload into %s/%s (Delegate=true not honoured?): %s", dir,
		    SD_SCOPE_LEAF, strerror(-r));
	return r;
}

int sd_scope_join(const struct cg_mounts *m, bool system, const char *description, char *unit,
		  size_t unit_size, char *dir, size_t dir_size, char *why, size_t why_size)
{
	int r;

	sd_scope_unit_name(unit, unit_size);
	r = ask_manager(system, unit, description, why, why_size);
	if (r == 0)
		r = find_scope_dir(m, unit, dir, dir_size, why, why_size);
	if (r == 0)
		r = move_to_leaf(dir, why, why_size);
	if (r == 0)
		say(why, why_size, "%s from the %s manager (%s bus), delegated: %s", unit,
		    system ? "system" : "user", system ? "system" : "session", dir);
	return r;
}

#else /* !NSRELOAD_HAVE_SDBUS */

bool sd_scope_supported(void)
{
	return false;
}

int sd_scope_join(const struct cg_mounts *m, bool system, const char *description, char *unit,
		  size_t unit_size, char *dir, size_t dir_size, char *why, size_t why_size)
{
	(void)m;
	(void)system;
	(void)description;
	(void)dir;
	(void)dir_size;
	sd_scope_unit_name(unit, unit_size);
	say(why, why_size,
	    "this nsreload was built without sd-bus (libsystemd-dev), so it cannot ask systemd "
	    "for a scope");
	return -ENOTSUP;
}

#endif
