/* git's info/exclude and core.excludesFile (gitexcl.h). */
#define _GNU_SOURCE
#include "gitexcl.h"

#include "ignore.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the config parser: just enough of git-config(1)'s syntax to find [core] excludesFile ---- */

struct gcur {
	const char *p, *end;
};

static bool g_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool g_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static void skip_space(struct gcur *c)
{
	while (c->p < c->end && g_space(*c->p))
		c->p++;
}

static void skip_to_eol(struct gcur *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
}

/* "[name]" or "[name "sub"]": *is_core when the section is core itself (case does not count). */
static int section_header(struct gcur *c, bool *is_core)
{
	const char *name = ++c->p;

	while (c->p < c->end && (g_alnum(*c->p) || *c->p == '-' || *c->p == '.'))
		c->p++;
	*is_core = c->p - name == 4 && strncasecmp(name, "core", 4) == 0;
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return 0;
	}
	/* A subsection: [core "x"] is another section. */
	*is_core = false;
	skip_space(c);
	if (c->p >= c->end || *c->p != '"')
		return -EINVAL;
	for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
		if (*c->p == '\n')
			return -EINVAL;
		if (*c->p == '\\' && c->p + 1 < c->end)
			c->p++;
	}
	if (c->end - c->p < 2 || c->p[1] != ']')
		return -EINVAL;
	c->p += 2;
	return 0;
}

/* A value after '=', to the end of its (possibly continued) line, into *out (malloc'd). */
static int parse_value(struct gcur *c, char **out)
{
	size_t cap = (size_t)(c->end - c->p) + 1, n = 0, spaces = 0;
	bool quoted = false;
	char *v = malloc(cap);

	if (!v)
		return -ENOMEM;
	skip_space(c);
	while (c->p < c->end && *c->p != '\n') {
		char ch = *c->p++;

		if (!quoted && (ch == '#' || ch == ';')) {
			skip_to_eol(c);
			break;
		}
		if (!quoted && g_space(ch)) {
			spaces += n > 0;
			continue;
		}
		for (; spaces; spaces--)
			v[n++] = ' ';
		if (ch == '"') {
			quoted = !quoted;
			continue;
		}
		if (ch == '\\') {
			char e = c->p < c->end ? *c->p++ : '\0';

			/* A backslash at the end of a line continues the value on the next. */
			if (e == '\n')
				continue;
			if (e == '\r' && c->p < c->end && *c->p == '\n') {
				c->p++;
				continue;
			}
			ch = e == 'n'                ? '\n'
			     : e == 't'              ? '\t'
			     : e == 'b'              ? '\b'
			     : e == '"' || e == '\\' ? e
						     : 0;
			if (!ch) {
				free(v);
				return -EINVAL;
			}
		}
		v[n++] = ch;
	}
	if (quoted) {
		free(v);
		return -EINVAL;
	}
	v[n] = '\0';
	*out = v;
	return 0;
}

/* One "name = value" line; a value of core.excludesfile goes into *value. */
static int variable(struct gcur *c, bool in_core, char **value)
{
	const char *name = c->p;
	size_t len;
	char *v;
	int r;

	while (c->p < c->end && (g_alnum(*c->p) || *c->p == '-'))
		c->p++;
	len = (size_t)(c->p - name);
	skip_space(c);
	if (c->p >= c->end || *c->p != '=') {
		/* "name" alone is a boolean true; git refuses it for a path, as it refuses the file. */
		if (c->p < c->end && *c->p != '\n' && *c->p != '#' && *c->p != ';')
			return -EINVAL;
		skip_to_eol(c);
		return in_core && len == 12 && strncasecmp(name, "excludesfile", 12) == 0 ? -EINVAL : 0;
	}
	c->p++;
	r = parse_value(c, &v);
	if (r < 0)
		return r;
	if (in_core && len == 12 && strncasecmp(name, "excludesfile", 12) == 0) {
		free(*value);
		*value = v;
		return 1;
	}
	free(v);
	return 0;
}

int gitconfig_excludes_file(const char *buf, size_t len, char **value)
{
	struct gcur c = { buf, buf + len };
	bool in_core = false, set = false;
	int r = 0;

	*value = NULL;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		c.p += 3;
	while (c.p < c.end && r >= 0) {
		skip_space(&c);
		if (c.p >= c.end)
			break;
		if (*c.p == '\n') {
			c.p++;
		} else if (*c.p == '#' || *c.p == ';') {
			skip_to_eol(&c);
		} else if (*c.p == '[') {
			/* A header may have a variable after it on the same line. */
			r = section_header(&c, &in_core);
		} else if ((*c.p >= 'a' && *c.p <= 'z') || (*c.p >= 'A' && *c.p <= 'Z')) {
			r = variable(&c, in_core, value);
			set |= r == 1;
		} else {
			r = -EINVAL;
		}
	}
	if (r < 0) {
		free(*value);
		*value = NULL;
		return r;
	}
	return set;
}

/* ---- finding the files ---- */

static bool git_env_true(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcasecmp(v, "0") != 0 && strcasecmp(v, "false") != 0 &&
	       strcasecmp(v, "no") != 0 && strcasecmp(v, "off") != 0;
}

/*
 * Reads path (capped) into *buf: 1, or 0 when there is no path or it cannot be read (git takes that as
 * "absent"), or -ENOMEM.
 */
static int read_optional(const char *path, char **buf, size_t *len)
{
	int r = path ? read_file(path, 0, GITEXCL_MAX_FILE, buf, len) : -ENOENT;

	if (r == -ENOMEM)
		return r;
	return r < 0 ? 0 : 1;
}

/* The last core.excludesFile of path into *value (kept when path does not set it). -ENOMEM only. */
static int config_file(const char *path, char **value)
{
	char *buf, *v;
	size_t len;
	int r;

	r = read_optional(path, &buf, &len);
	if (r <= 0)
		return r;
	r = gitconfig_excludes_file(buf, len, &v);
	free(buf);
	if (r == -ENOMEM)
		return r;
	if (r == 1) {
		free(*value);
		*value = v;
	}
	return 0;
}

/* $XDG_CONFIG_HOME/git/name, or ~/.config/git/name; NULL without either (or without memory). */
static char *xdg_git_path(const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (xdg && *xdg) {
		if (asprintf(&p, "%s/git/%s", xdg, name) < 0)
			p = NULL;
	} else if (home && *home) {
		if (asprintf(&p, "%s/.config/git/%s", home, name) < 0)
			p = NULL;
	}
	return p;
}

/* The configured value, in git's order of reading: the last one set wins. */
static int excludes_file_setting(const char *common, char **value)
{
	const char *sys = getenv("GIT_CONFIG_SYSTEM"), *global = getenv("GIT_CONFIG_GLOBAL");
	const char *home = getenv("HOME");
	char *p;
	int r = 0;

	if (!git_env_true("GIT_CONFIG_NOSYSTEM"))
		r = config_file(sys ? sys : "/etc/gitconfig", value);
	if (r == 0 && global) {
		r = config_file(global, value);
	} else if (r == 0) {
		p = xdg_git_path("config");
		r = config_file(p, value);
		free(p);
		if (r == 0 && home && *home) {
			if (asprintf(&p, "%s/.gitconfig", home) < 0)
				return -ENOMEM;
			r = config_file(p, value);
			free(p);
		}
	}
	if (r == 0) {
		if (asprintf(&p, "%s/config", common) < 0)
			return -ENOMEM;
		r = config_file(p, value);
		free(p);
	}
	return r;
}

/* git's interpolation of a path value: "~/x" and "~user/x"; relative ones from top. NULL: none. */
static int expand_path(const char *v, const char *top, char **out)
{
	*out = NULL;
	if (v[0] == '~') {
		const char *slash = strchrnul(v, '/'), *home = NULL;
		struct passwd *pw = NULL;

		if (slash == v + 1) {
			home = getenv("HOME");
		} else {
			char *user = strndup(v + 1, (size_t)(slash - v - 1));

			if (!user)
				return -ENOMEM;
			pw = getpwnam(user);
			free(user);
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return 0;
		return asprintf(out, "%s%s", home, slash) < 0 ? -ENOMEM : 0;
	}
	if (v[0] == '/')
		return (*out = strdup(v)) ? 0 : -ENOMEM;
	return asprintf(out, "%s/%s", top, v) < 0 ? -ENOMEM : 0;
}

/* Appends the rules of path (absent or unreadable: none) to *l. */
static int load_list(struct ignore_list **l, const char *path)
{
	char *buf;
	size_t len;
	int r;

	r = read_optional(path, &buf, &len);
	if (r <= 0)
		return r;
	r = ignore_list_parse(l, buf, len);
	free(buf);
	return r;
}

/* "gitdir: PATH" of a .git file, relative to dir; NULL when it is not one. */
static char *gitdir_from_file(const char *dir, const char *file)
{
	char *buf, *gd = NULL;
	size_t len;

	if (read_file(file, 0, PATH_MAX + 16, &buf, &len) < 0)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strncmp(buf, "gitdir: ", 8) == 0 && buf[8]) {
		if (buf[8] == '/')
			gd = strdup(buf + 8);
		else if (asprintf(&gd, "%s/%s", dir, buf + 8) < 0)
			gd = NULL;
	}
	free(buf);
	return gd;
}

/* A git directory has a HEAD; a stray ".git" without one is not a repository. */
static bool is_git_dir(const char *gd)
{
	char head[PATH_MAX];
	struct stat st;

	return snprintf(head, sizeof(head), "%s/HEAD", gd) < (int)sizeof(head) && stat(head, &st) == 0;
}

/* Looks for the work tree holding real (an absolute real path): its top and git dir, or 0 for none. */
static int find_repo(char *real, char **top, char **gitdir)
{
	for (;;) {
		char *dotgit, *gd = NULL;
		struct stat st;

		if (asprintf(&dotgit, "%s/.git", strcmp(real, "/") ? real : "") < 0)
			return -ENOMEM;
		if (lstat(dotgit, &st) == 0 && S_ISDIR(st.st_mode))
			gd = strdup(dotgit);
		else if (lstat(dotgit, &st) == 0 && S_ISREG(st.st_mode))
			gd = gitdir_from_file(real, dotgit);
		free(dotgit);
		if (gd && is_git_dir(gd)) {
			*top = strdup(real);
			*gitdir = gd;
			return *top ? 1 : -ENOMEM;
		}
		free(gd);
		if (strcmp(real, "/") == 0)
			return 0;
		*(strrchr(real, '/') == real ? real + 1 : strrchr(real, '/')) = '\0';
	}
}

/* A linked worktree shares info/ and config with the main repository: its "commondir" says where. */
static char *common_dir(const char *gitdir)
{
	char *file, *buf, *cd = NULL;
	size_t len;

	if (asprintf(&file, "%s/commondir", gitdir) < 0)
		return NULL;
	if (read_file(file, 0, PATH_MAX, &buf, &len) == 0) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '/')
			cd = strdup(buf);
		else if (buf[0] && asprintf(&cd, "%s/%s", gitdir, buf) < 0)
			cd = NULL;
		free(buf);
	}
	free(file);
	return cd ? cd : strdup(gitdir);
}

static int load_in_repo(struct git_excludes *g, const char *top, const char *common)
{
	char *path, *value = NULL, *expanded = NULL;
	int r;

	if (asprintf(&path, "%s/info/exclude", common) < 0)
		return -ENOMEM;
	r = load_list(&g->info, path);
	free(path);
	if (r < 0)
		return r;
	r = excludes_file_setting(common, &value);
	if (r < 0)
		return r;
	if (!value)
		expanded = xdg_git_path("ignore");
	else if (*value)
		r = expand_path(value, top, &expanded);
	free(value);
	if (r == 0)
		r = load_list(&g->excludes, expanded);
	free(expanded);
	return r;
}

int git_excludes_load(struct git_excludes *g, const char *root)
{
	char *real = realpath(root, NULL), *top = NULL, *gitdir = NULL, *common = NULL;
	size_t tlen;
	int r;

	*g = (struct git_excludes){ 0 };
	if (!real)
		return errno == ENOMEM ? -ENOMEM : 0;
	r = find_repo(real, &top, &gitdir);
	free(real);
	if (r <= 0)
		return r;
	/* find_repo cut real down to top: the prefix comes from root's real path again. */
	real = realpath(root, NULL);
	common = common_dir(gitdir);
	r = -ENOMEM;
	if (!real || !common)
		goto out;
	tlen = strcmp(top, "/") ? strlen(top) : 0;
	if (asprintf(&g->prefix, "%s%s", real[tlen] ? real + tlen + 1 : "", real[tlen] ? "/" : "") < 0) {
		g->prefix = NULL;
		goto out;
	}
	r = load_in_repo(g, top, common);
out:
	free(real);
	free(top);
	free(gitdir);
	free(common);
	if (r < 0)
		git_excludes_free(g);
	return r;
}

void git_excludes_free(struct git_excludes *g)
{
	free(g->prefix);
	ignore_list_free(g->info);
	ignore_list_free(g->excludes);
	*g = (struct git_excludes){ 0 };
}
