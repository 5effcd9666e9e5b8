/* The ordered set of changed paths (pathset.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pathset.h"
#include "util.h"

static size_t hash_path(const char *s)
{
	return (size_t)hash_fnv1a(HASH_FNV_INIT, s, strlen(s));
}

static int pathset_grow_slots(struct pathset *ps)
{
	size_t nslots = ps->nslots ? ps->nslots * 2 : 64;
	size_t *slot = calloc(nslots, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < ps->n; i++) {
		size_t j = hash_path(ps->v[i]) & (nslots - 1);
		while (slot[j])
			j = (j + 1) & (nslots - 1);
		slot[j] = i + 1;
	}
	free(ps->slot);
	ps->slot = slot;
	ps->nslots = nslots;
	return 0;
}

int pathset_add(struct pathset *ps, const char *path)
{
	size_t j;
	int r;

	if ((ps->n + 1) * 2 > ps->nslots && (r = pathset_grow_slots(ps)) < 0)
		return r;
	j = hash_path(path) & (ps->nslots - 1);
	for (; ps->slot[j]; j = (j + 1) & (ps->nslots - 1))
		if (strcmp(ps->v[ps->slot[j] - 1], path) == 0)
			return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		char **v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	if (!(ps->v[ps->n] = strdup(path)))
		return -ENOMEM;
	ps->slot[j] = ++ps->n;
	return 0;
}

char **pathset_take(struct pathset *ps, size_t *n)
{
	char **v = ps->v;

	*n = ps->n;
	free(ps->slot);
	*ps = (struct pathset){ 0 };
	return v;
}

void paths_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void pathset_clear(struct pathset *ps)
{
	paths_free(ps->v, ps->n);
	free(ps->slot);
	*ps = (struct pathset){ 0 };
}
