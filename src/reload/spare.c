/* Spare boxes made while the loop waits, emptied boxes removed after the spawn (spare.h). */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "box.h"
#include "job.h"
#include "log.h"
#include "reload.h"
#include "spare.h"

static const char *const kind_names[SPARE_N] = { [SPARE_BUILD] = "build", [SPARE_RUN] = "run" };

static int box_make(struct reload *st, enum spare_kind k, struct box **out)
{
	struct box_limits lim;

	reload_box_limits(st->c, k == SPARE_RUN, &lim);
	return box_new_limited(st->ctx, kind_names[k], &lim, out);
}

int spare_take(struct reload *st, enum spare_kind k, struct box **out)
{
	if (st->spares.box[k]) {
		*out = st->spares.box[k];
		st->spares.box[k] = NULL;
		return 0;
	}
	/* A box made on the spot: the next spare may be tried again. */
	st->spares.failed[k] = false;
	return box_make(st, k, out);
}

/* Takes b's fds out of the epoll set: an emptied box's are quiet, but they are closed later. */
static void unwatch(struct reload *st, const struct box *b)
{
	struct pollfd fds[BOX_MAX_FDS];
	int n = box_fds(b, fds);

	for (int i = 0; i < n; i++)
		(void)epoll_ctl(st->ep, EPOLL_CTL_DEL, fds[i].fd, NULL);
}

void spare_retire(struct reload *st, struct box **bp)
{
	struct spares *sp = &st->spares;

	if (!*bp)
		return;
	if (!sp->on || !box_is_empty(*bp) || sp->nretired == SPARE_RETIRED_MAX) {
		reload_box_free(st, bp);
		return;
	}
	unwatch(st, *bp);
	sp->retired[sp->nretired++] = *bp;
	*bp = NULL;
}

static void free_retired(struct reload *st)
{
	while (st->spares.nretired > 0)
		reload_box_free(st, &st->spares.retired[--st->spares.nretired]);
}

void spare_idle(struct reload *st)
{
	struct spares *sp = &st->spares;

	free_retired(st);
	if (!sp->on || reload_quitting(st))
		return;
	for (int k = 0; k < SPARE_N; k++) {
		if (sp->box[k] || sp->failed[k])
			continue;
		/* A failure is told when a box of the kind is needed and cannot be made: not here. */
		if (box_make(st, (enum spare_kind)k, &sp->box[k]) < 0) {
			sp->box[k] = NULL;
			sp->failed[k] = true;
			continue;
		}
		log_box_spare(st->log, kind_names[k], box_name(sp->box[k]));
	}
}

void spare_free(struct reload *st)
{
	free_retired(st);
	for (int k = 0; k < SPARE_N; k++)
		reload_box_free(st, &st->spares.box[k]);
}
