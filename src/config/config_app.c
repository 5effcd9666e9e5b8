/*
 * The app's command line (config_app_argv, config.h), with air's meaning of
 * bin, entrypoint, full_bin and args_bin, read from air v1.67.2:
 *  - bin is made absolute against the working directory (filepath.Abs in
 *    runner/config.go, preprocess), never against root: bin = "app" runs
 *    ./app, not an app in PATH;
 *  - entrypoint's first word is looked up in PATH when it is a bare name
 *    found there, else joined to root and made absolute (preprocess:
 *    resolveCommandPath, joinPath(c.Root, entry));
 *  - an absolute path holding a space is quoted (formatPath, runner/util.go);
 *  - the program, entrypoint's other words and args_bin are joined with
 *    spaces into one line (engine.go, runBin) that /bin/sh -c runs
 *    (util_linux.go, startCmd), so $HOME and quotes there are the shell's.
 * One difference: a line without shell syntax (shell_line_is_plain, util.h)
 * is split into its words and run without the shell, so that the stop
 * signal reaches the app itself. nsreload never changes directory, as air
 * does not: the app runs where nsreload was started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/*
 * path made absolute against dir (the working directory) and cleaned
 * lexically as Go's filepath.Abs does: "." and empty parts dropped, ".."
 * taking the part before it. NULL when out of memory.
 */
static char *path_abs(const char *dir, const char *path)
{
	size_t cap = strlen(dir) + strlen(path) + 3, o = 0;
	char *joined = malloc(cap), *out = malloc(cap), *save = NULL;

	if (!joined || !out) {
		free(joined);
		free(out);
		return NULL;
	}
	snprintf(joined, cap, "%s/%s", path[0] == '/' ? "" : dir, path);
	for (char *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		o += (size_t)sprintf(out + o, "/%s", part);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(joined);
	return out;
}

/* Whether name (no slash in it) is an executable file in $PATH, as Go's exec.LookPath finds it. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	struct stat sb;

	if (!path)
		return false;
	for (const char *p = path;;) {
		size_t len = strcspn(p, ":");
		char *file = NULL;
		bool found;

		if (asprintf(&file, "%.*s/%s", (int)len, len ? p : ".", name) < 0)
			return false;
		found = stat(file, &sb) == 0 && S_ISREG(sb.st_mode) && access(file, X_OK) == 0;
		free(file);
		if (found)
			return true;
		if (!p[len])
			break;
		p += len + 1;
	}
	return false;
}

/*
 * Writes the program as one shell word: as it is when every byte is plain,
 * else in single quotes. air (>= 1.62) double-quotes an absolute path with a
 * space; single quotes do the same for it and also keep $, ` and \ literal.
 */
static void put_program(FILE *m, const char *prog)
{
	/* A bare builtin's name ("true", from PATH) quoted is still that builtin: only plainness matters. */
	if (!strchr(prog, ' ') && shell_line_is_plain(prog)) {
		fputs(prog, m);
		return;
	}
	fputc('\'', m);
	for (const char *p = prog; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", m);
		else
			fputc(*p, m);
	}
	fputc('\'', m);
}

/* The program of entrypoint's first word or of bin, as air resolves it; NULL when out of memory. */
static char *program(const struct config *c, const char *cwd)
{
	const struct config_build *b = &c->build;
	const char *entry = b->entrypoint.n ? b->entrypoint.v[0] : NULL;
	char *joined = NULL, *abs;

	if (!entry)
		return path_abs(cwd, b->bin);
	if (!strchr(entry, '/') && in_path(entry))
		return strdup(entry);
	if (entry[0] != '/' && asprintf(&joined, "%s/%s", c->root[0] ? c->root : ".", entry) < 0)
		return NULL;
	abs = path_abs(cwd, joined ? joined : entry);
	free(joined);
	return abs;
}

/* The shell line of the app: full_bin, or the program and entrypoint's words, then args_bin. */
static char *app_line(const struct config *c)
{
	const struct config_build *b = &c->build;
	char *line = NULL, *cwd = NULL, *prog = NULL;
	size_t len = 0;
	FILE *m;

	if (!b->full_bin[0]) {
		cwd = getcwd(NULL, 0);
		prog = cwd ? program(c, cwd) : NULL;
		free(cwd);
		if (!prog)
			return NULL;
	}
	m = open_memstream(&line, &len);
	if (!m) {
		free(prog);
		return NULL;
	}
	if (prog)
		put_program(m, prog);
	else
		fputs(b->full_bin, m);
	for (size_t i = 1; prog && i < b->entrypoint.n; i++)
		fprintf(m, " %s", b->entrypoint.v[i]);
	for (size_t i = 0; i < b->args_bin.n; i++)
		fprintf(m, " %s", b->args_bin.v[i]);
	free(prog);
	if (fclose(m) != 0) {
		free(line);
		return NULL;
	}
	return line;
}

/* entrypoint and args_bin word for word (nsreload run BIN [ARGS...]); NULL when out of memory. */
static char **exact_argv(const struct config_build *b)
{
	size_t n = 0;
	char **argv = calloc(b->entrypoint.n + b->args_bin.n + 1, sizeof(*argv));

	if (!argv)
		return NULL;
	for (size_t i = 0; i < b->entrypoint.n + b->args_bin.n; i++) {
		const char *w = i < b->entrypoint.n ? b->entrypoint.v[i] : b->args_bin.v[i - b->entrypoint.n];
		if (!(argv[n++] = strdup(w))) {
			strv_free(argv);
			return NULL;
		}
	}
	return argv;
}

/* {"/bin/sh", "-c", line}, taking line; NULL when out of memory (line freed). */
static char **shell_argv(char *line)
{
	char **argv = calloc(4, sizeof(*argv));

	if (argv && (argv[0] = strdup("/bin/sh")) && (argv[1] = strdup("-c"))) {
		argv[2] = line;
		return argv;
	}
	strv_free(argv);
	free(line);
	return NULL;
}

int config_app_argv(const struct config *c, char ***out)
{
	const struct config_build *b = &c->build;
	char **argv, *line;

	if (!b->full_bin[0] && !b->entrypoint.n && !b->bin[0])
		return -ENOENT;
	if (c->argv_exact && !b->full_bin[0] && b->entrypoint.n) {
		argv = exact_argv(b);
	} else {
		line = app_line(c);
		if (!line)
			return -ENOMEM;
		if (shell_line_is_plain(line)) {
			argv = shell_line_words(line);
			free(line);
		} else {
			argv = shell_argv(line);
		}
	}
	if (!argv)
		return -ENOMEM;
	*out = argv;
	return 0;
}

void config_argv_free(char **argv)
{
	strv_free(argv);
}
