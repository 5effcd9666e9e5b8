/*
 * The pure half of cgfs.h: parsers for /proc/self/mountinfo, /proc/<pid>/cgroup
 * and cgroup.events, and the join of a mount with our own cgroup path. No I/O
 * happens here, so unit tests drive every branch with text.
 */
#include "cgfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* v1 hierarchies beyond this many are still counted, just not de-duplicated. */
#define CG_MAX_V1_DEVS 64

struct span {
	const char *p;
	size_t len;
};

const char *cg_mode_name(enum cg_mode mode)
{
	switch (mode) {
	case CG_MODE_NONE:
		return "none";
	case CG_MODE_LEGACY:
		return "legacy";
	case CG_MODE_HYBRID:
		return "hybrid";
	case CG_MODE_UNIFIED:
		return "unified";
	}
	return "?";
}

/* Sets *line to the next line of text, without its '\n'. Returns where the next starts, NULL at the end. */
static const char *next_line(const char *s, struct span *line)
{
	const char *nl;

	if (*s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	line->p = s;
	line->len = nl ? (size_t)(nl - s) : strlen(s);
	return nl ? nl + 1 : s + line->len;
}

/* Sets *field to the next space-separated field at or after *pos; false when the line has none left. */
static bool next_field(const char **pos, const char *end, struct span *field)
{
	const char *s = *pos;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return false;
	field->p = s;
	while (s < end && *s != ' ')
		s++;
	field->len = (size_t)(s - field->p);
	*pos = s;
	return true;
}

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && memcmp(s.p, word, s.len) == 0;
}

static bool is_octal(char c, char max)
{
	return c >= '0' && c <= max;
}

/*
 * The kernel writes a space, tab, newline and backslash in mountinfo paths as
 * \040, \011, \012 and \134, so that fields stay space-separated. Anything
 * else after a backslash is kept as it is.
 */
static int unescape_mountinfo_path(struct span s, char *out, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c == '\\' && s.len - i >= 4 && is_octal(s.p[i + 1], '3') && is_octal(s.p[i + 2], '7') &&
		    is_octal(s.p[i + 3], '7')) {
			int v = (s.p[i + 1] - '0') * 64 + (s.p[i + 2] - '0') * 8 + (s.p[i + 3] - '0');

			/* A NUL would cut the path short; the kernel never writes \000. */
			if (v != 0) {
				c = (char)v;
				i += 3;
			}
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

struct mountinfo_line {
	struct span dev;
	struct span root;
	struct span mountpoint;
	struct span fstype;
};

/*
 * Splits "id parent major:minor root mountpoint options [optional...] - fstype
 * source superoptions". -EINVAL for a line that stops early, which is what a
 * truncated read leaves at the end.
 */
static int split_mountinfo_line(struct span line, struct mountinfo_line *out)
{
	const char *pos = line.p, *end = line.p + line.len;
	struct span f[6], source, superopts, sep;

	for (size_t i = 0; i < 6; i++)
		if (!next_field(&pos, end, &f[i]))
			return -EINVAL;
	do {
		if (!next_field(&pos, end, &sep))
			return -EINVAL;
	} while (!span_is(sep, "-"));
	if (!next_field(&pos, end, &out->fstype) || !next_field(&pos, end, &source) ||
	    !next_field(&pos, end, &superopts))
		return -EINVAL;
	out->dev = f[2];
	out->root = f[3];
	out->mountpoint = f[4];
	return 0;
}

/* Lower is better: the standard places first, then whatever came first. */
static int v2_mount_rank(const char *mountpoint)
{
	if (strcmp(mountpoint, "/sys/fs/cgroup") == 0)
		return 0;
	if (strcmp(mountpoint, "/sys/fs/cgroup/unified") == 0)
		return 1;
	return 2;
}

/* Whether dev was seen before; remembers it if there is room. Bind mounts of one hierarchy share a dev. */
static bool v1_dev_seen(struct span dev, char devs[][32], int *ndevs)
{
	for (int i = 0; i < *ndevs; i++)
		if (span_is(dev, devs[i]))
			return true;
	if (*ndevs < CG_MAX_V1_DEVS && dev.len < sizeof(devs[0])) {
		memcpy(devs[*ndevs], dev.p, dev.len);
		devs[*ndevs][dev.len] = '\0';
		(*ndevs)++;
	}
	return false;
}

int cg_parse_mountinfo(const char *text, struct cg_mounts *out)
{
	char v1_devs[CG_MAX_V1_DEVS][32];
	char mountpoint[sizeof(out->v2_path)], root[sizeof(out->v2_root)];
	int n_v1_devs = 0, v1_count = 0, best_rank = 3;
	struct span line;
	const char *s = text;
	int r;

	out->mode = CG_MODE_NONE;
	out->v2_path[0] = '\0';
	out->v2_root[0] = '\0';
	out->v1_count = 0;

	while ((s = next_line(s, &line))) {
		struct mountinfo_line m;
		int rank;

		/* Skipping a malformed line keeps one cut-off line from hiding every mount before it. */
		if (split_mountinfo_line(line, &m) < 0)
			continue;
		if (span_is(m.fstype, "cgroup")) {
			if (!v1_dev_seen(m.dev, v1_devs, &n_v1_devs))
				v1_count++;
			continue;
		}
		if (!span_is(m.fstype, "cgroup2"))
			continue;
		r = unescape_mountinfo_path(m.mountpoint, mountpoint, sizeof(mountpoint));
		if (r == 0)
			r = unescape_mountinfo_path(m.root, root, sizeof(root));
		if (r < 0) {
			out->v2_path[0] = '\0';
			out->v2_root[0] = '\0';
			return r;
		}
		rank = v2_mount_rank(mountpoint);
		if (rank < best_rank) {
			best_rank = rank;
			memcpy(out->v2_path, mountpoint, sizeof(mountpoint));
			memcpy(out->v2_root, root, sizeof(root));
		}
	}

	out->v1_count = v1_count;
	if (out->v2_path[0] != '\0')
		out->mode = v1_count > 0 ? CG_MODE_HYBRID : CG_MODE_UNIFIED;
	else if (v1_count > 0)
		out->mode = CG_MODE_LEGACY;
	else
		return -ENOENT;
	return 0;
}

int cg_parse_proc_cgroup(const char *text, char *path, size_t size)
{
	struct span line;
	const char *s = text;

	while ((s = next_line(s, &line))) {
		size_t len;

		/* The unified hierarchy is always id 0 with no controller list; v1 ids start at 1. */
		if (line.len < 3 || memcmp(line.p, "0::", 3) != 0)
			continue;
		len = line.len - 3;
		if (len == 0)
			return -EINVAL;
		if (len + 1 > size)
			return -ENAMETOOLONG;
		/* Not escaped: a cgroup name may hold spaces but never a newline. */
		memcpy(path, line.p + 3, len);
		path[len] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* A small non-negative decimal, as cgroup.events holds; -EINVAL for anything else. */
static int parse_small_uint(struct span s, int *out)
{
	int v = 0;

	if (s.len == 0 || s.len > 9)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
		v = v * 10 + (s.p[i] - '0');
	}
	*out = v;
	return 0;
}

int cg_parse_events(const char *text, struct cg_events *out)
{
	struct cg_events ev = { .populated = -1, .frozen = -1 };
	bool any = false;
	struct span line;
	const char *s = text;

	while ((s = next_line(s, &line))) {
		const char *space = memchr(line.p, ' ', line.len);
		struct span key, value;
		int v;

		if (line.len == 0)
			continue;
		if (!space || space == line.p)
			return -EINVAL;
		key = (struct span){ line.p, (size_t)(space - line.p) };
		value = (struct span){ space + 1, line.len - key.len - 1 };
		if (parse_small_uint(value, &v) < 0)
			return -EINVAL;
		/* Other keys may come with newer kernels; only these two have a meaning we rely on. */
		if (span_is(key, "populated") || span_is(key, "frozen")) {
			if (v > 1)
				return -EINVAL;
			if (span_is(key, "populated"))
				ev.populated = v;
			else
				ev.frozen = v;
		}
		any = true;
	}
	/* An empty file is not what the kernel writes there, so it is no answer. */
	if (!any)
		return -EINVAL;
	*out = ev;
	return 0;
}

/* A cgroup namespace shows cgroups outside itself as "/../x"; those cannot be reached through the mount. */
static bool path_has_dotdot(const char *path)
{
	const char *s = path;

	while (*s) {
		size_t len;

		while (*s == '/')
			s++;
		len = strcspn(s, "/");
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return true;
		s += len;
	}
	return false;
}

int cg_join_own_dir(const struct cg_mounts *m, const char *own, char *out, size_t size)
{
	size_t rootlen = strlen(m->v2_root), mountlen = strlen(m->v2_path);
	const char *rel;
	int n;

	if (mountlen == 0)
		return -ENOENT;
	if (own[0] != '/')
		return -EINVAL;
	if (path_has_dotdot(own))
		return -EXDEV;
	while (rootlen > 0 && m->v2_root[rootlen - 1] == '/')
		rootlen--;
	if (strncmp(own, m->v2_root, rootlen) != 0 || (own[rootlen] != '\0' && own[rootlen] != '/'))
		return -EXDEV;
	rel = own + rootlen;
	while (rel[0] == '/' && rel[1] == '/')
		rel++;
	/* The root of the mount is the mount point itself, without a trailing slash. */
	if (strcmp(rel, "/") == 0)
		rel = "";
	/* A cgroup2 mount at "/" would otherwise give "//x". */
	if (rel[0] != '\0' && mountlen > 0 && m->v2_path[mountlen - 1] == '/')
		mountlen--;
	n = snprintf(out, size, "%.*s%s", (int)mountlen, m->v2_path, rel);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

size_t cg_common_ancestor_len(const char *a, const char *b)
{
	size_t i = 0, cut = 0;

	while (a[i] && a[i] == b[i]) {
		i++;
		if ((a[i] == '/' || !a[i]) && (b[i] == '/' || !b[i]))
			cut = i;
	}
	return cut;
}
