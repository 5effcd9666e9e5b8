#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "ALRM", SIGALRM },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "WINCH", SIGWINCH },
	{ "PIPE", SIGPIPE }, { "ABRT", SIGABRT },
};

int sig_parse(const char *s, int *sig)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)*s)) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || *end || v <= 0 || v >= NSIG)
			return -EINVAL;
		*sig = (int)v;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(s, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sig_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return "?";
}

int duration_parse_ms(const char *s, unsigned long long *ms)
{
	static const struct {
		const char *unit;
		double factor;
	} units[] = { { "ms", 1 },      { "s", 1000 },   { "m", 60000 },
		      { "h", 3600000 }, { "us", 0.001 }, { "ns", 0.000001 } };
	char *end;
	double v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (*end == '\0') {
		/* A bare number is air's integer milliseconds; it must be whole. */
		if (strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E'))
			return -EINVAL;
		*ms = (unsigned long long)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			double r = v * units[i].factor;
			if (r > 1e15)
				return -EINVAL;
			*ms = (unsigned long long)(r + 0.5);
			return 0;
		}
	}
	return -EINVAL;
}
