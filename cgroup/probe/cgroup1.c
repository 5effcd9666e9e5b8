/*
 * The cgroup v1 part of the probe: which v1 hierarchies this process is in,
 * and whether the cgroup1 rung's freezer works where its boxes would go
 * (below our own freezer cgroup, or $NSRELOAD_CGROUP1_PARENT below it): a
 * child made with libcgroup, frozen, thawed and removed. For doctor, each
 * other hierarchy is tried the same way (a child made and removed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgv1.h"
#include "probe-internal.h"

/* Probe cgroup names tried before giving up, as cgroup.c does. */
#define PROBE_V1_NAME_TRIES 8

/* Opens where children go in controller's hierarchy: our own cgroup, or the parent below it. */
static int open_parent(const struct box_probe *p, const char *controller, struct cgv1_cg *own,
		       struct cgv1_cg *parent)
{
	int r = cgv1_open_own(controller, own);

	if (r < 0)
		return r;
	if (!p->cgroup1_parent[0]) {
		*parent = *own;
		own->fd = -1;
		return 0;
	}
	r = cgv1_open_below(own, p->cgroup1_parent, parent);
	cgv1_close(own);
	return r;
}

/* A child made and removed below parent; with freeze, frozen and thawed in between. */
static void try_child(struct cgv1_cg *parent, bool freeze, struct probe_item *it)
{
	struct cgv1_cg child;
	char name[64], state[32];
	int r;

	/* A taken name (a crashed prober's, a twin's in another PID namespace) is not ours: another is tried.
	 */
	r = -EEXIST;
	for (int i = 0; i < PROBE_V1_NAME_TRIES && r == -EEXIST; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "nsreload-probe.%d", (int)getpid());
		else
			snprintf(name, sizeof(name), "nsreload-probe.%d.%d", (int)getpid(), i);
		r = cgv1_create(parent, name, &child);
	}
	if (r < 0) {
		probe_item_set(it, false, -r, "cannot create a cgroup in %s: %s", parent->path, strerror(-r));
		return;
	}
	if (freeze) {
		r = cgv1_set(&child, "freezer.state", "FROZEN");
		if (r == 0 && cgv1_get(&child, "freezer.state", state, sizeof(state)) > 0 &&
		    strcmp(state, "FROZEN") != 0)
			r = -EIO;
		if (r == 0)
			r = cgv1_set(&child, "freezer.state", "THAWED");
	}
	if (r < 0) {
		probe_item_set(it, false, -r, "%s: freezer.state cannot be frozen and thawed: %s", child.path,
			       strerror(-r));
		(void)cgv1_delete(parent, &child);
		cgv1_close(&child);
		return;
	}
	r = cgv1_delete(parent, &child);
	if (r < 0) {
		probe_item_set(it, false, -r, "cannot remove %s: %s", child.path, strerror(-r));
		cgv1_close(&child);
		return;
	}
	probe_item_set(it, true, 0, "%s: a cgroup made%s and removed there", parent->path,
		       freeze ? ", frozen, thawed" : "");
}

/* Tries controller's hierarchy; the first of a list ("cpu,cpuacct") names it to libcgroup. */
static void try_hierarchy(const struct box_probe *p, const char *controllers, bool freeze,
			  struct probe_item *it, char *dir, size_t size)
{
	struct cgv1_cg own, parent;
	char ctrl[CGV1_CONTROLLER_MAX];
	int r;

	snprintf(ctrl, sizeof(ctrl), "%.*s", (int)strcspn(controllers, ","), controllers);
	r = open_parent(p, ctrl, &own, &parent);
	if (r < 0) {
		probe_item_set(it, false, -r, "no v1 %s cgroup of ours%s%s to make boxes in: %s", ctrl,
			       p->cgroup1_parent[0] ? " with the parent " : "", p->cgroup1_parent,
			       r == -ENOENT ? "not mounted as a v1 hierarchy (or the parent is missing)"
					    : strerror(-r));
		return;
	}
	if (dir)
		snprintf(dir, size, "%s", parent.path);
	try_child(&parent, freeze, it);
	cgv1_close(&parent);
}

/* True when the comma list controllers names ctrl. */
static bool has_controller(const char *controllers, const char *ctrl)
{
	size_t len = strlen(ctrl);

	for (const char *c = controllers; c; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL)
		if (strncmp(c, ctrl, len) == 0 && (c[len] == ',' || c[len] == '\0'))
			return true;
	return false;
}

/* $NSRELOAD_CGROUP1_PARENT, when it is a plain relative path. */
static void read_parent(struct box_probe *p)
{
	const char *v = getenv("NSRELOAD_CGROUP1_PARENT");

	p->cgroup1_parent[0] = '\0';
	if (!v || !v[0])
		return;
	if (v[0] == '/' || strstr(v, "..") || strlen(v) >= sizeof(p->cgroup1_parent)) {
		probe_item_set(&p->cgroup1, false, EINVAL,
			       "$NSRELOAD_CGROUP1_PARENT must be a relative path below our own cgroup of "
			       "each v1 hierarchy, without \"..\", shorter than %zu bytes",
			       sizeof(p->cgroup1_parent));
		return;
	}
	snprintf(p->cgroup1_parent, sizeof(p->cgroup1_parent), "%s", v);
}

void probe_cgroup1(struct box_probe *p, bool each)
{
	struct cgv1_hier h[BOX_PROBE_V1_MAX];
	int n;

	probe_item_set(&p->cgroup1, false, ENOENT, "no v1 freezer hierarchy of ours is mounted");
	read_parent(p);
	if (p->cgroup1.err == EINVAL)
		return;
	n = cgv1_list(h, BOX_PROBE_V1_MAX);
	p->v1_count = n > 0 ? n : 0;
	for (int i = 0; i < p->v1_count; i++) {
		struct probe_v1 *v = &p->v1[i];
		int len;

		snprintf(v->controllers, sizeof(v->controllers), "%s", h[i].controllers);
		len = snprintf(v->path, sizeof(v->path), "%s%s", h[i].mount,
			       strcmp(h[i].own, "/") ? h[i].own : "");
		/* Only shown (doctor): one too long to show is shown cut, and says so. */
		if (len < 0 || (size_t)len >= sizeof(v->path))
			memcpy(v->path + sizeof(v->path) - 4, "...", 4);
		if (!h[i].mount[0])
			probe_item_set(&v->works, false, ENOENT, "not mounted here");
		else if (strncmp(h[i].controllers, "name=", 5) == 0)
			probe_item_set(&v->works, false, ENOTSUP,
				       "a named hierarchy (no controller): not used");
		else if (each)
			try_hierarchy(p, h[i].controllers, false, &v->works, NULL, 0);
		else
			probe_item_set(&v->works, false, ENOENT, "not checked");
	}
	for (int i = 0; i < p->v1_count; i++)
		if (has_controller(h[i].controllers, "freezer") && h[i].mount[0])
			try_hierarchy(p, "freezer", true, &p->cgroup1, p->cgroup1_dir,
				      sizeof(p->cgroup1_dir));
}
