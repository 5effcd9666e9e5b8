/*
 * The rung table: each rung's name and the operations it is made of, the
 * order auto tries them in, and what follows from the table: names, whether
 * a rung works by a probe, auto's pick, and a context's rung chosen and set
 * up. The only place that names a rung.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "box-internal.h"

/* One per file in cgroup/rungs/. */
extern const struct box_ops box_cgroup2_ops;
extern const struct box_ops box_cgroup1_ops;
extern const struct box_ops box_pidns_ops;
extern const struct box_ops box_pgroup_ops;

static const struct box_rung_def rungs[] = {
	[BOX_RUNG_AUTO] = { .name = "auto" },
	[BOX_RUNG_CGROUP2] = { .name = "cgroup2", .in_auto = true, .ops = { &box_cgroup2_ops } },
	/* Never picked by auto: it is asked for. A cgroup2 box holding a pidns box's processes. */
	[BOX_RUNG_CGROUP2_PIDNS] = { .name = "cgroup2+pidns", .ops = { &box_cgroup2_ops, &box_pidns_ops } },
	/* cgroup v1 hosts: the freezer, through libcgroup. After cgroup2, before pidns. */
	[BOX_RUNG_CGROUP1] = { .name = "cgroup1", .in_auto = true, .ops = { &box_cgroup1_ops } },
	/* Never picked by auto: it is asked for. A cgroup1 box holding a pidns box's processes. */
	[BOX_RUNG_CGROUP1_PIDNS] = { .name = "cgroup1+pidns", .ops = { &box_cgroup1_ops, &box_pidns_ops } },
	[BOX_RUNG_PIDNS] = { .name = "pidns", .in_auto = true, .ops = { &box_pidns_ops } },
	[BOX_RUNG_PGROUP] = { .name = "pgroup", .in_auto = true, .ops = { &box_pgroup_ops } },
};

#define RUNG_COUNT (sizeof(rungs) / sizeof(rungs[0]))

const struct box_rung_def *box_rung_def(enum box_rung rung)
{
	if ((unsigned)rung >= RUNG_COUNT || !rungs[rung].ops[0])
		return NULL;
	return &rungs[rung];
}

const char *box_rung_name(enum box_rung rung)
{
	if ((unsigned)rung >= RUNG_COUNT || !rungs[rung].name)
		return "?";
	return rungs[rung].name;
}

int box_rung_parse(const char *name, enum box_rung *out)
{
	for (unsigned i = 0; i < RUNG_COUNT; i++) {
		if (rungs[i].name && strcmp(name, rungs[i].name) == 0) {
			*out = (enum box_rung)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum box_rung box_rung_next_auto(enum box_rung rung)
{
	for (unsigned i = (unsigned)rung + 1; i < RUNG_COUNT; i++)
		if (rungs[i].in_auto)
			return (enum box_rung)i;
	return BOX_RUNG_AUTO;
}

unsigned box_rung_probe_parts(enum box_rung rung)
{
	const struct box_rung_def *d = box_rung_def(rung);
	unsigned parts = 0;

	if (!d)
		return BOX_PROBE_ALL;
	for (unsigned i = 0; i < BOX_OPS_PER_RUNG && d->ops[i]; i++)
		parts |= d->ops[i]->probe_parts;
	return parts;
}

void box_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!why || size == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

bool box_rung_works(const struct box_probe *p, enum box_rung rung, char *why, size_t size)
{
	const struct box_rung_def *d = box_rung_def(rung);
	enum box_rung picked;

	box_why(why, size, "%s", "");
	if (rung == BOX_RUNG_AUTO)
		return box_pick_rung(p, &picked, why, size) == 0;
	if (!d) {
		box_why(why, size, "unknown rung %d", (int)rung);
		return false;
	}
	for (unsigned i = 0; i < BOX_OPS_PER_RUNG && d->ops[i]; i++)
		if (!d->ops[i]->works(p, why, size))
			return false;
	return true;
}

bool box_rung_dies_with_supervisor(const struct box_probe *p, enum box_rung rung, char *how, size_t size)
{
	switch (rung) {
	case BOX_RUNG_CGROUP2:
		if (p->cgroup_kill.ok)
			box_why(how, size, "%s", "a guard process kills the boxes' cgroups with cgroup.kill");
		else
			box_why(how, size, "%s",
				"a guard process kills the boxes' cgroups with the freeze-and-kill loop "
				"(no cgroup.kill: kernel before 5.14)");
		return true;
	case BOX_RUNG_CGROUP1:
		box_why(how, size, "%s",
			"a guard process kills the boxes' v1 freezer cgroups (freeze, SIGKILL every task, "
			"thaw, until none is left)");
		return true;
	case BOX_RUNG_CGROUP2_PIDNS:
	case BOX_RUNG_CGROUP1_PIDNS:
	case BOX_RUNG_PIDNS:
		box_why(how, size, "%s",
			"the box's init dies with nsreload, and the kernel ends its PID namespace");
		return true;
	case BOX_RUNG_PGROUP:
		box_why(how, size, "%s",
			"nothing kills a process group when its supervisor dies: the boxes keep running, "
			"and their ports stay held, until ended by hand; what would: a writable cgroup2 "
			"directory (root, or a delegated one: systemd-run --user --scope -p Delegate=yes "
			"nsreload ..., or --cgroup-parent), or PID namespaces (root, or user namespaces)");
		return false;
	default:
		box_why(how, size, "unknown rung %d", (int)rung);
		return false;
	}
}

int box_pick_rung(const struct box_probe *p, enum box_rung *out, char *why, size_t size)
{
	char reason[1024];
	size_t len = 0;

	box_why(why, size, "%s", "");
	for (enum box_rung r = box_rung_next_auto(BOX_RUNG_AUTO); r != BOX_RUNG_AUTO;
	     r = box_rung_next_auto(r)) {
		if (box_rung_works(p, r, reason, sizeof(reason))) {
			*out = r;
			return 0;
		}
		/* One line per skipped rung; a message cut short is fine. */
		if (why && len + 1 < size)
			len += (size_t)snprintf(why + len, size - len, "%s%s: skipped: %s", len ? "\n" : "",
						box_rung_name(r), reason);
	}
	return -ENOTSUP;
}

/* Undoes ctx_init of the ops before n, last first. Returns the first error. */
static int ctx_fini_ops(struct box_ctx *ctx, int n)
{
	int r = 0;

	for (int i = n - 1; i >= 0; i--) {
		const struct box_ops *op = ctx->def->ops[i];
		int rr = op->ctx_fini ? op->ctx_fini(ctx) : 0;
		if (rr < 0 && r == 0)
			r = rr;
	}
	return r;
}

/* Sets ctx up for rung: each op's ctx_init in order, undone on failure (ctx->why says why). */
static int ctx_init_ops(struct box_ctx *ctx, enum box_rung rung, const struct box_ctx_opts *opts)
{
	const struct box_ops *op;
	int r;

	ctx->rung = rung;
	ctx->def = box_rung_def(rung);
	for (int i = 0; i < BOX_OPS_PER_RUNG && (op = ctx->def->ops[i]); i++) {
		r = op->ctx_init ? op->ctx_init(ctx, opts) : 0;
		if (r < 0) {
			(void)ctx_fini_ops(ctx, i);
			ctx->def = NULL;
			return r;
		}
	}
	return 0;
}

/*
 * The probe found rung usable but the context could not be set up (ctx->why
 * says why): auto takes the next rung that works, keeping the reason in why.
 */
static int fall_back(struct box_ctx *ctx, enum box_rung rung, const struct box_ctx_opts *opts)
{
	char reason[sizeof(ctx->why)], skip[256];

	snprintf(reason, sizeof(reason), "%s", ctx->why);
	for (enum box_rung next = box_rung_next_auto(rung); next != BOX_RUNG_AUTO;
	     next = box_rung_next_auto(next)) {
		if (!box_rung_works(&ctx->probe, next, skip, sizeof(skip)) ||
		    ctx_init_ops(ctx, next, opts) < 0)
			continue;
		snprintf(ctx->why, sizeof(ctx->why), "%.1900s; took %s instead", reason, box_rung_name(next));
		return 0;
	}
	return -ENOTSUP;
}

/* Probes what the rung asked for needs (everything for auto), picks, and sets the context up. */
int box_rung_choose(struct box_ctx *ctx, const struct box_ctx_opts *opts)
{
	enum box_rung rung = opts->rung;
	int r;

	r = box_probe_parts(&ctx->probe, opts->cgroup_parent, box_rung_probe_parts(rung));
	if (r < 0)
		return r;
	if (rung == BOX_RUNG_AUTO)
		r = box_pick_rung(&ctx->probe, &rung, ctx->why, sizeof(ctx->why));
	else if (!box_rung_works(&ctx->probe, rung, ctx->why, sizeof(ctx->why)))
		r = -ENOTSUP;
	if (r < 0)
		return r;
	r = ctx_init_ops(ctx, rung, opts);
	if (r < 0 && opts->rung == BOX_RUNG_AUTO)
		r = fall_back(ctx, rung, opts);
	return r;
}

int box_rung_ctx_fini(struct box_ctx *ctx)
{
	int n = 0;

	while (n < BOX_OPS_PER_RUNG && ctx->def->ops[n])
		n++;
	return ctx_fini_ops(ctx, n);
}
