#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

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

/*
 * The units of Go's time.Duration, in nanoseconds; micro is both U+00B5 and
 * U+03BC, as in Go. "ms" comes before "m", and a unit must not run on into a
 * letter ("1msec" is not 1 ms).
 */
static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },       { "us", 1000 },      { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
	{ "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000 },  { "h", 3600000000000 },
};

/* Digits at *p into *v; *overflow when they do not fit. Returns how many there were. */
static size_t parse_digits(const char **p, uint64_t *v, bool *overflow)
{
	size_t n = 0;

	*v = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
		unsigned d = (unsigned)(**p - '0');
		if (*v > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			*v = *v * 10 + d;
	}
	return n;
}

/*
 * One "1.5s" of a Go duration at *p, added to *ns; *nonzero when any digit
 * was not 0. Returns 0, or -EINVAL for bad syntax; a sum that does not fit
 * sets *overflow.
 */
static int parse_duration_part(const char **p, uint64_t *ns, bool *nonzero, bool *overflow)
{
	const char *start = *p;
	uint64_t whole, frac = 0, scale = 1, unit = 0, part, below;
	size_t i;

	if (parse_digits(p, &whole, overflow) == 0)
		return -EINVAL;
	if (**p == '.') {
		/* Digits past the 18th are below any unit's nanosecond; they count only as non-zero. */
		for ((*p)++; **p >= '0' && **p <= '9'; (*p)++) {
			if (scale < 1000000000000000000ull) {
				frac = frac * 10 + (uint64_t)(**p - '0');
				scale *= 10;
			}
		}
	}
	*nonzero |= strspn(start, "0.") < (size_t)(*p - start);
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		size_t ulen = strlen(duration_units[i].name);
		if (strncmp(*p, duration_units[i].name, ulen) == 0 && !isalpha((unsigned char)(*p)[ulen])) {
			unit = duration_units[i].ns;
			*p += ulen;
			break;
		}
	}
	if (!unit)
		return -EINVAL;
	/* As Go: the fraction through a double, exact for every realistic number of digits; below unit. */
	below = (uint64_t)((double)frac * ((double)unit / (double)scale));
	if (whole > (UINT64_MAX - below) / unit) {
		*overflow = true;
		return 0;
	}
	part = whole * unit + below;
	if (part > UINT64_MAX - *ns)
		*overflow = true;
	else
		*ns += part;
	return 0;
}

/* What DURATION_MAX_MS promises: a signed int of milliseconds holds any duration. */
_Static_assert(DURATION_MAX_MS <= INT_MAX, "DURATION_MAX_MS must fit an int of milliseconds");

int duration_parse_ms(const char *s, unsigned long long *ms)
{
	bool nonzero = false, overflow = false;
	uint64_t v, ns = 0;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	/* A bare number is air's integer milliseconds; it must be whole. */
	if (parse_digits(&p, &v, &overflow) && *p == '\0') {
		if (overflow || v > DURATION_MAX_MS)
			return -ERANGE;
		*ms = v;
		return 0;
	}
	/* Go's time.Duration form: one or more number+unit pairs, "1h2m3.5s". */
	for (p = s; *p;)
		if (parse_duration_part(&p, &ns, &nonzero, &overflow) < 0)
			return -EINVAL;
	if (overflow)
		return -ERANGE;
	v = ns / 1000000 + (ns % 1000000 >= 500000);
	if (v > DURATION_MAX_MS)
		return -ERANGE;
	if (v == 0 && nonzero)
		return -EDOM;
	*ms = v;
	return 0;
}

const char *duration_strerror(int r)
{
	if (r == -ERANGE)
		return "out of range: at most 24 days (\"576h\", 2073600000 ms)";
	if (r == -EDOM)
		return "under half a millisecond, which would round to 0 (none): write 0, or 1ms or more";
	return NULL;
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

/* The one-letter escape of c: JSON and TOML share these; text (not json) needs only tab, newline and CR. */
static char short_escape(unsigned char c, bool json)
{
	switch (c) {
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '"':
		return json ? '"' : 0;
	case '\\':
		return json ? '\\' : 0;
	case '\b':
		return json ? 'b' : 0;
	case '\f':
		return json ? 'f' : 0;
	default:
		return 0;
	}
}

/* The code point of the valid UTF-8 sequence of len bytes at s. */
static uint32_t utf8_code_point(const unsigned char *s, size_t len)
{
	static const unsigned char lead_bits[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead_bits[len];

	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

/*
 * Characters that change what a reader sees without being seen: C1 controls
 * (a terminal may take U+009B as CSI), the line and paragraph separators, and
 * the bidi marks and overrides that reorder a line.
 */
static bool is_hidden_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The character at s as JSON/TOML (json) or fput_text() writes it: its form
 * goes to out (at most 8 bytes, not terminated) and its length to *outlen.
 * Returns how many bytes of s it took.
 */
static size_t escape_char(const unsigned char *s, bool json, char *out, size_t *outlen)
{
	size_t len = utf8_sequence_length(s);
	char letter = short_escape(s[0], json);
	uint32_t cp;

	if (letter) {
		out[0] = '\\';
		out[1] = letter;
		*outlen = 2;
		return 1;
	}
	if (s[0] < 0x20 || s[0] == 0x7f || len == 0) {
		/* JSON has no byte escapes: a byte that is not UTF-8 becomes U+FFFD there. */
		if (json)
			*outlen = (size_t)sprintf(out, "\\u%04x", len ? s[0] : 0xfffdu);
		else
			*outlen = (size_t)sprintf(out, "\\x%02x", s[0]);
		return 1;
	}
	if (len > 1 && is_hidden_control(cp = utf8_code_point(s, len))) {
		*outlen = (size_t)sprintf(out, "\\u%04x", (unsigned)cp);
		return len;
	}
	memcpy(out, s, len);
	*outlen = len;
	return len;
}

static void fput_escaped(FILE *f, const char *str, bool json)
{
	const unsigned char *s = (const unsigned char *)str;
	char out[8];
	size_t outlen;

	while (*s) {
		s += escape_char(s, json, out, &outlen);
		fwrite(out, 1, outlen, f);
	}
}

void fput_quoted(FILE *f, const char *str)
{
	fputc('"', f);
	fput_escaped(f, str, true);
	fputc('"', f);
}

void fput_text(FILE *f, const char *s)
{
	fput_escaped(f, s, false);
}

const char *text_escape(char *buf, size_t size, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t used = 0, outlen, took;
	char out[8];

	if (size == 0)
		return buf;
	while (*s) {
		took = escape_char(s, false, out, &outlen);
		if (used + outlen >= size)
			break;
		memcpy(buf + used, out, outlen);
		used += outlen;
		s += took;
	}
	buf[used] = '\0';
	return buf;
}

void *array_grow(void *v, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 4;
	void *grown;

	if (*cap > SIZE_MAX / 2 / size)
		return NULL;
	grown = realloc(v, ncap * size);
	if (grown)
		*cap = ncap;
	return grown;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Bytes a plain shell word may hold: none of them means anything to sh outside quotes. */
static bool plain_byte(unsigned char c)
{
	return isascii(c) && (isalnum(c) || strchr("_./=:,+@%-", c));
}

/* Words that sh runs itself rather than looking them up in PATH: POSIX's reserved words and dash's builtins.
 */
static bool shell_own_word(const char *w, size_t len)
{
	static const char *const own[] = {
		".",        ":",      "alias",   "bg",    "break", "case",   "cd",    "chdir",   "command",
		"continue", "do",     "done",    "echo",  "elif",  "else",   "esac",  "eval",    "exec",
		"exit",     "export", "false",   "fc",    "fg",    "fi",     "for",   "getopts", "hash",
		"if",       "in",     "jobs",    "kill",  "local", "printf", "pwd",   "read",    "readonly",
		"return",   "set",    "shift",   "test",  "then",  "times",  "trap",  "true",    "type",
		"ulimit",   "umask",  "unalias", "unset", "until", "wait",   "while",
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strlen(own[i]) == len && memcmp(own[i], w, len) == 0)
			return true;
	return false;
}

bool shell_line_is_plain(const char *line)
{
	const char *first = line + strspn(line, " ");
	size_t first_len = strcspn(first, " ");

	if (first_len == 0 || memchr(first, '=', first_len) || shell_own_word(first, first_len))
		return false;
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		if (*p != ' ' && !plain_byte(*p))
			return false;
	return true;
}

char **shell_line_words(const char *line)
{
	size_t n = 0, cap = 0;
	char **v = NULL;

	for (const char *p = line;; n++) {
		size_t len;
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (n + 1 >= cap) {
			char **nv = array_grow(v, &cap, sizeof(*v));
			if (!nv)
				goto fail;
			v = nv;
		}
		v[n] = NULL;
		if (len == 0)
			return v;
		v[n] = strndup(p, len);
		if (!v[n])
			goto fail;
		p += len;
	}
fail:
	if (v)
		v[n] = NULL;
	strv_free(v);
	return NULL;
}

uint64_t hash_fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

int read_file(const char *path, int oflags, size_t max, char **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | oflags), r = 0;
	size_t len = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return -errno;
	if (!(buf = malloc(cap))) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t got;

		/* Keeps one byte for the terminator. */
		if (len + 1 == cap) {
			char *bigger = array_grow(buf, &cap, 1);
			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			buf = bigger;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 0;
			break;
		}
		len += (size_t)got;
		if (len > max) {
			r = -EFBIG;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

const char *nofile_advice(char *buf, size_t size, const char *what)
{
	struct rlimit rl;
	int n = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = snprintf(buf, size, "out of file descriptors (ulimit -n is %llu)",
			     (unsigned long long)rl.rlim_cur);
	else
		n = snprintf(buf, size, "out of file descriptors");
	if (n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n,
			 "%s; raise it with 'ulimit -n 4096' before starting nsreload", what);
	return buf;
}
