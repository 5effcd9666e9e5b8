/*
 * watch_pollfs.c - which file systems the poll backend polls: those where
 * inotify misses changes made by another machine or the host, by statfs()
 * f_type (watch_poll.h), and doctor's account of it (watch.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#include "util.h"
#include "watch_poll.h"

static const struct {
	unsigned long magic;
	const char *name;
} remote_fs[] = {
	{ 0x6969, "NFS" },         { 0xff534d42, "CIFS" },   { 0xfe534d42, "SMB2" },   { 0x517b, "SMB" },
	{ 0x01021997, "9p" },      { 0x65735546, "FUSE" }, /* virtiofs, Docker Desktop's grpcfuse, sshfs,
							      bindfs, ... */
	{ 0x786f4256, "vboxsf" },  { 0x7c7c6673, "prl_fs" }, { 0x73757245, "Coda" },   { 0x6b414653, "AFS" },
	{ 0x5346414f, "OpenAFS" }, { 0x00c36400, "Ceph" },   { 0x0bd00bd0, "Lustre" }, { 0x01161970, "GFS2" },
	{ 0x7461636f, "OCFS2" },   { 0x564c, "NCP" },        { 0x47504653, "GPFS" },
};

/* The name of a file system that inotify cannot see through, or NULL. */
static const char *remote_name(unsigned long magic)
{
	for (size_t i = 0; i < sizeof(remote_fs) / sizeof(remote_fs[0]); i++)
		if (remote_fs[i].magic == magic)
			return remote_fs[i].name;
	return NULL;
}

const char *watch_backend_probe(const char *path, enum watch_poll mode, char *why, size_t size)
{
	struct statfs sf;
	const char *fs;

	if (mode == WATCH_POLL_ALWAYS) {
		snprintf(why, size, "build.poll = true: every directory is polled");
		return "poll";
	}
	if (statfs(path, &sf) < 0) {
		snprintf(why, size, "cannot read the file system of %s: %s", path, strerror(errno));
		return NULL;
	}
	fs = remote_name((unsigned long)sf.f_type);
	if (!fs) {
		snprintf(why, size, "%s is on a local file system (f_type 0x%lx): inotify sees its changes",
			 path, (unsigned long)sf.f_type);
		return "inotify";
	}
	if (mode == WATCH_POLL_NEVER) {
		snprintf(why, size,
			 "%s is on %s (f_type 0x%lx), where inotify does not see changes made elsewhere, "
			 "but build.poll = false forbids polling: such changes are missed",
			 path, fs, (unsigned long)sf.f_type);
		return "inotify";
	}
	snprintf(why, size,
		 "%s is on %s (f_type 0x%lx), where inotify does not see changes made by another machine "
		 "or the host: polled (build.poll = false forbids it)",
		 path, fs, (unsigned long)sf.f_type);
	return "poll";
}

/* Whether the directory (dev, at path) is polled; said once for each device polled in auto mode. */
int poll_dev_polled(struct watch *w, dev_t dev, const char *path)
{
	struct poll_state *ps = w->poll;
	struct statfs sf;
	const char *fs;

	if (w->poll_mode == WATCH_POLL_ALWAYS)
		return 1;
	for (size_t i = 0; i < ps->ndevs; i++)
		if (ps->devs[i].dev == dev)
			return ps->devs[i].poll;
	if (statfs(path, &sf) < 0)
		return -errno;
	if (ps->ndevs == ps->capdevs) {
		struct polldev *v = array_grow(ps->devs, &ps->capdevs, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->devs = v;
	}
	fs = remote_name((unsigned long)sf.f_type);
	ps->devs[ps->ndevs++] = (struct polldev){ .dev = dev, .poll = fs != NULL };
	if (fs)
		watch_warnf(w,
			    "%s is on %s, where inotify does not see changes made by another machine or the "
			    "host: polling it every %u ms (build.poll = false forbids it)",
			    path, fs, w->poll_interval_ms);
	return fs != NULL;
}
