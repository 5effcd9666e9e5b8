/*
 * watch_polldir.c - the poll backend's directories (watch_poll.h): slots
 * found by (st_dev, st_ino) through an open-addressing index, and listings.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "watch_poll.h"

int64_t poll_ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static uint32_t di_hash(dev_t dev, ino_t ino, uint32_t mask)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32) ^ (uint64_t)dev) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & mask;
}

uint32_t poll_dir_find(const struct poll_state *ps, dev_t dev, ino_t ino)
{
	uint32_t mask, i;

	if (!ps->nslots)
		return WATCH_NONE;
	mask = ps->nslots - 1;
	for (i = di_hash(dev, ino, mask); ps->slots[i] != WATCH_NONE; i = (i + 1) & mask) {
		const struct pdir *d = &ps->dirs[ps->slots[i]];

		if (d->dev == dev && d->ino == ino)
			return ps->slots[i];
	}
	return WATCH_NONE;
}

static void di_put(struct poll_state *ps, uint32_t s)
{
	uint32_t mask = ps->nslots - 1, i;

	for (i = di_hash(ps->dirs[s].dev, ps->dirs[s].ino, mask); ps->slots[i] != WATCH_NONE;
	     i = (i + 1) & mask)
		;
	ps->slots[i] = s;
}

/* Grows the index and puts the live slots back in. */
static int di_grow(struct poll_state *ps)
{
	if (watch_slots_regrow(&ps->slots, &ps->nslots) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < ps->ndirs; i++)
		if (ps->dirs[i].used)
			di_put(ps, i);
	return 0;
}

/* Takes slot s out of the index: linear probing without tombstones, as id_remove() in watch_tree.c. */
static void di_remove(struct poll_state *ps, uint32_t s)
{
	uint32_t mask = ps->nslots - 1, i, j;

	for (i = di_hash(ps->dirs[s].dev, ps->dirs[s].ino, mask); ps->slots[i] != s; i = (i + 1) & mask)
		if (ps->slots[i] == WATCH_NONE)
			return;
	ps->slots[i] = WATCH_NONE;
	for (j = (i + 1) & mask; ps->slots[j] != WATCH_NONE; j = (j + 1) & mask) {
		const struct pdir *d = &ps->dirs[ps->slots[j]];
		uint32_t k = di_hash(d->dev, d->ino, mask);
		bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);

		if (!stays) {
			ps->slots[i] = ps->slots[j];
			ps->slots[j] = WATCH_NONE;
			i = j;
		}
	}
}

void poll_dir_clear(struct pdir *d)
{
	free(d->ents);
	free(d->names);
	d->ents = NULL;
	d->names = NULL;
	d->nents = 0;
}

/* A new slot for (dev, ino), in the index; WATCH_NONE without memory. */
uint32_t poll_dir_new(struct poll_state *ps, const struct stat *st)
{
	uint32_t s;

	if ((uint64_t)(ps->npolled + 1) * 2 > ps->nslots && di_grow(ps) < 0)
		return WATCH_NONE;
	if (ps->free_head != WATCH_NONE) {
		s = ps->free_head;
		ps->free_head = ps->dirs[s].next_free;
	} else {
		if (ps->ndirs == ps->capdirs) {
			struct pdir *v = array_grow(ps->dirs, &ps->capdirs, sizeof(*v));

			if (!v)
				return WATCH_NONE;
			ps->dirs = v;
		}
		s = ps->ndirs++;
	}
	ps->dirs[s] = (struct pdir){ .used = true, .dev = st->st_dev, .ino = st->st_ino };
	di_put(ps, s);
	ps->npolled++;
	return s;
}

void poll_dir_free(struct poll_state *ps, uint32_t s)
{
	struct pdir *d = &ps->dirs[s];

	di_remove(ps, s);
	poll_dir_clear(d);
	d->used = false;
	d->next_free = ps->free_head;
	ps->free_head = s;
	ps->npolled--;
}

/* ---- listings ---- */

static int pent_cmp(const void *a, const void *b, void *names)
{
	const struct pent *x = a, *y = b;

	return strcmp((const char *)names + x->name, (const char *)names + y->name);
}

/* Reads the directory fd into a sorted listing (entries and names); 0 or -errno. */
int poll_list_dir(int fd, struct pent **ents, uint32_t *nents, char **names)
{
	size_t cap = 0, ncap = 0, nlen = 0, n = 0;
	struct pent *v = NULL;
	char *nm = NULL;
	struct dirent *de;
	int dfd = dup(fd);
	DIR *d;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	(void)lseek(dfd, 0, SEEK_SET);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name) + 1;
		struct stat st;
		uint8_t type = de->d_type == DT_DIR ? PE_DIR : PE_FILE;

		if ((de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) ||
		    watch_is_temp_name(de->d_name))
			continue;
		if (de->d_type == DT_UNKNOWN || type == PE_FILE) {
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue; /* gone meanwhile */
			type = S_ISDIR(st.st_mode) ? PE_DIR : PE_FILE;
		}
		if (n == cap) {
			struct pent *g = array_grow(v, &cap, sizeof(*g));

			if (!g)
				goto nomem;
			v = g;
		}
		while (nlen + len > ncap) {
			char *g = array_grow(nm, &ncap, 1);

			if (!g)
				goto nomem;
			nm = g;
		}
		memcpy(nm + nlen, de->d_name, len);
		v[n] = (struct pent){ .name = (uint32_t)nlen, .type = type, .ino = de->d_ino };
		if (type == PE_FILE)
			v[n] = (struct pent){ .name = (uint32_t)nlen,
					      .type = type,
					      .ino = st.st_ino,
					      .size = st.st_size,
					      .mtime = poll_ts_ns(&st.st_mtim),
					      .ctime = poll_ts_ns(&st.st_ctim) };
		nlen += len;
		n++;
	}
	closedir(d);
	if (n)
		qsort_r(v, n, sizeof(*v), pent_cmp, nm);
	*ents = v;
	*nents = (uint32_t)n;
	*names = nm;
	return 0;
nomem:
	closedir(d);
	free(v);
	free(nm);
	return -ENOMEM;
}

int64_t poll_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return poll_ts_ns(&t);
}

void poll_dir_keep(struct pdir *d, struct pent *ents, uint32_t n, char *names, const struct stat *st)
{
	poll_dir_clear(d);
	d->ents = ents;
	d->nents = n;
	d->names = names;
	d->mtime = poll_ts_ns(&st->st_mtim);
	d->ctime = poll_ts_ns(&st->st_ctim);
	d->racy = d->mtime >= poll_now_ns() - RACY_NS;
}

int poll_dir_relist(struct pdir *d, int fd, const struct stat *st)
{
	struct pent *ents;
	uint32_t n;
	char *names;
	int r = poll_list_dir(fd, &ents, &n, &names);

	if (r == 0)
		poll_dir_keep(d, ents, n, names, st);
	return r;
}

struct pdir *poll_dir_of(struct poll_state *ps, int id)
{
	uint32_t s = (uint32_t)(id - POLL_ID_BASE);

	return s < ps->ndirs && ps->dirs[s].used ? &ps->dirs[s] : NULL;
}
