/*
 * watch_poll.h - what the poll backend's files share (inside src/watch/
 * only): watch_poll.c the backend and its scans, watch_polldir.c the polled
 * directories and their listings, watch_pollfs.c which file systems are
 * polled. See watch_poll.c for how a scan works.
 */
#ifndef NSRELOAD_WATCH_POLL_H
#define NSRELOAD_WATCH_POLL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "watch_backend.h"

/* Ids of polled directories: POLL_ID_BASE + slot, apart from inotify's wds. */
#define POLL_ID_BASE (1 << 30)
/* A listing is racy while its directory's mtime is this close to when it was read. */
#define RACY_NS (2LL * 1000 * 1000 * 1000)

enum { PE_FILE, PE_DIR };

struct pent {
	uint32_t name; /* offset into the directory's names */
	uint8_t type;
	uint64_t ino;
	int64_t size, mtime, ctime;
};

struct pdir {
	bool used, parent_only, link, racy;
	uint32_t next_free;
	dev_t dev;
	ino_t ino;
	int64_t mtime, ctime;
	struct pent *ents;
	uint32_t nents;
	char *names;
};

struct later {
	int id;
	char *name;
	bool dir;
};

struct polldev {
	dev_t dev;
	bool poll;
};

struct poll_state {
	int ep, tfd;
	bool armed, parent_polled;
	struct pdir *dirs;
	uint32_t ndirs, free_head, npolled;
	size_t capdirs;
	uint32_t *slots; /* (dev, ino) -> slot, open addressing */
	uint32_t nslots;
	struct later *later;
	size_t nlater, caplater;
	struct polldev *devs;
	size_t ndevs, capdevs;
	uint32_t examined;  /* the entries of the held batch already looked at */
	int64_t hold_since; /* CLOCK_MONOTONIC ns: since when the batch is held (w->hold) */
};

/* ---- watch_polldir.c ---- */

int64_t poll_ts_ns(const struct timespec *t);
/* CLOCK_REALTIME, in nanoseconds. */
int64_t poll_now_ns(void);
/* The slot polling (dev, ino), or WATCH_NONE. */
uint32_t poll_dir_find(const struct poll_state *ps, dev_t dev, ino_t ino);
/* A new slot for st's (dev, ino), in the index; WATCH_NONE without memory. */
uint32_t poll_dir_new(struct poll_state *ps, const struct stat *st);
void poll_dir_free(struct poll_state *ps, uint32_t s);
void poll_dir_clear(struct pdir *d);
/* The directory of a poll id, or NULL. */
struct pdir *poll_dir_of(struct poll_state *ps, int id);
/* Reads the directory fd into a listing sorted by name (temp names left out); 0 or -errno. */
int poll_list_dir(int fd, struct pent **ents, uint32_t *nents, char **names);
/* Makes ents (names) d's listing, taken when the directory's stat was st. */
void poll_dir_keep(struct pdir *d, struct pent *ents, uint32_t n, char *names, const struct stat *st);
/* Lists the directory fd (whose stat is st) as d's listing from now on. */
int poll_dir_relist(struct pdir *d, int fd, const struct stat *st);

/* ---- watch_pollfs.c ---- */

/* Whether the directory (dev, at path) is polled: 1, 0 or -errno; said once per device polled in auto. */
int poll_dev_polled(struct watch *w, dev_t dev, const char *path);

#endif
