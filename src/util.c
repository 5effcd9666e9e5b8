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
	} units[] = { { "ms", 1 },   { "us", 0.001 }, { "µs", 0.001 }, { "ns", 0.000001 },
		      { "s", 1000 }, { "m", 60000 },  { "h", 3600000 } };
	double total = 0;
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
		if (strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E') || v > 1e15)
			return -EINVAL;
		*ms = (unsigned long long)v;
		return 0;
	}
	/* Go's time.Duration form: one or more number+unit pairs, "1h2m3.5s". */
	for (;;) {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ulen = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, ulen) == 0 && !isalpha((unsigned char)end[ulen])) {
				total += v * units[i].factor;
				end += ulen;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]) || total > 1e15)
			return -EINVAL;
		if (*end == '\0')
			break;
		if (!isdigit((unsigned char)*end))
			return -EINVAL;
		s = end;
		v = strtod(s, &end);
		if (end == s)
			return -EINVAL;
	}
	*ms = (unsigned long long)(total + 0.5);
	return 0;
}

size_t utf8_sequence_length(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		/* Overlong forms and UTF-16 surrogates are not valid UTF-8. */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		/* Nothing below U+10000 in four bytes, nothing above U+10FFFF. */
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* The one-letter escape of c shared by JSON and TOML, or 0. */
static char short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\f':
		return 'f';
	case '\r':
		return 'r';
	default:
		return 0;
	}
}

void fput_quoted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		char esc = short_escape(*s);
		size_t len;

		if (esc) {
			fputc('\\', f);
			fputc(esc, f);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
			s++;
		} else if ((len = utf8_sequence_length(s)) == 0) {
			fputs("\\ufffd", f);
			s++;
		} else {
			fwrite(s, 1, len, f);
			s += len;
		}
	}
	fputc('"', f);
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

uint64_t hash_fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}
