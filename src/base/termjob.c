/* The terminal of a job and its supervisor (termjob.h). */
#include <string.h>
#include <unistd.h>

#include "termjob.h"

static bool same_modes(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0 &&
	       cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b);
}

/* Only when they differ: TCSADRAIN waits for the output to drain, and a no-op need not. */
static void set_modes(const struct termjob *t, const struct termios *m)
{
	struct termios now;

	if (tcgetattr(t->fd, &now) == 0 && !same_modes(&now, m))
		(void)tcsetattr(t->fd, TCSADRAIN, m);
}

void termjob_init(struct termjob *t, int fd)
{
	*t = (struct termjob){ .fd = -1 };
	/* Only our session's own terminal: another's foreground is not ours to give. */
	if (!isatty(fd) || tcgetsid(fd) != getsid(0) || tcgetattr(fd, &t->own) < 0)
		return;
	t->fd = fd;
}

bool termjob_foreground(const struct termjob *t)
{
	return t->fd >= 0 && tcgetpgrp(t->fd) == getpgrp();
}

void termjob_given(struct termjob *t)
{
	if (t->fd >= 0)
		t->job_has_it = true;
}

void termjob_take(struct termjob *t)
{
	pid_t fg;

	if (t->fd < 0 || !t->job_has_it)
		return;
	t->job_has_it = false;
	/* The group in front may be one of the job's own (a shell's job): fg gives it back to that one. */
	fg = tcgetpgrp(t->fd);
	if (fg > 0 && fg != getpgrp())
		t->job_pgrp = fg;
	t->have_job_modes = tcgetattr(t->fd, &t->job) == 0;
	(void)tcsetpgrp(t->fd, getpgrp());
	set_modes(t, &t->own);
}

bool termjob_give_back(struct termjob *t, pid_t fallback_pgrp)
{
	if (!termjob_foreground(t))
		return false;
	/* Whatever our shell left us with (it restores the modes it saved when we stopped) is ours now. */
	(void)tcgetattr(t->fd, &t->own);
	if (t->have_job_modes)
		set_modes(t, &t->job);
	/* The group may have gone meanwhile (a job of a shell in the job): then the job's main group. */
	if ((t->job_pgrp <= 0 || tcsetpgrp(t->fd, t->job_pgrp) < 0) &&
	    (fallback_pgrp <= 0 || tcsetpgrp(t->fd, fallback_pgrp) < 0)) {
		set_modes(t, &t->own);
		return false;
	}
	t->job_has_it = true;
	return true;
}

void termjob_end(struct termjob *t, bool restore_modes)
{
	if (t->fd < 0)
		return;
	/* What was saved of this job means nothing to the next. */
	t->have_job_modes = false;
	t->job_pgrp = 0;
	if (t->job_has_it)
		(void)tcsetpgrp(t->fd, getpgrp());
	else if (!termjob_foreground(t))
		return;
	t->job_has_it = false;
	if (restore_modes)
		set_modes(t, &t->own);
}
