/* The environment of the commands nsreload run starts (env.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dotenv.h"
#include "env.h"
#include "files.h"
#include "log.h"
#include "safefs.h"
#include "util.h"

extern char **environ;

/* Larger change lists go through a file: the environment has a per-string limit of 128 KiB. */
#define CHANGED_ENV_MAX (64 * 1024)

/* Every env_file into d, read now; a missing or bad file is logged and skipped. */
static int load_env_files(const struct config *c, struct log *log, struct dotenv *d)
{
	for (size_t i = 0; i < c->env_files.n; i++) {
		char err[512] = "";
		char *p = path_under_root(c, c->env_files.v[i]);
		int r;

		if (!p)
			return -ENOMEM;
		r = dotenv_load_file(p, d, err, sizeof(err));
		if (r == -ENOENT)
			log_msg(log, LOG_MAIN, "env file %s does not exist; skipped", p);
		else if (r < 0)
			log_msg(log, LOG_MAIN, "env file %s: %s", p, err[0] ? err : strerror(-r));
		free(p);
	}
	return 0;
}

static bool replaced_by(const char *entry, char *const *extra, size_t nextra)
{
	for (size_t k = 0; k < nextra; k++) {
		size_t klen = strcspn(extra[k], "=") + 1;
		if (strncmp(entry, extra[k], klen) == 0)
			return true;
	}
	return false;
}

int envp_make(const struct config *c, struct log *log, char *const *extra, size_t nextra, char ***out)
{
	/* $VAR in a file looks in nsreload's environment, which the files' variables join. */
	struct dotenv d = { .env = environ };
	char **base = NULL, **envp;
	size_t nbase = 0, n = 0;
	int r;

	r = load_env_files(c, log, &d);
	if (r == 0)
		r = dotenv_envp(environ, &d, &base);
	dotenv_free(&d);
	if (r < 0)
		return r;
	while (base[nbase])
		nbase++;
	envp = calloc(nbase + nextra + 1, sizeof(*envp));
	if (!envp) {
		dotenv_envp_free(base);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nbase; i++) {
		if (replaced_by(base[i], extra, nextra)) {
			free(base[i]);
			continue;
		}
		envp[n++] = base[i];
	}
	for (size_t k = 0; k < nextra; k++) {
		if (!(envp[n] = strdup(extra[k]))) {
			free(base);
			dotenv_envp_free(envp);
			return -ENOMEM;
		}
		n++;
	}
	envp[n] = NULL;
	/* The strings now belong to envp; only base's array goes. */
	free(base);
	*out = envp;
	return 0;
}

void envp_free(char **envp)
{
	strv_free(envp);
}

/*
 * The paths joined by newlines, malloc'd; *total is the length of the list with a newline a path. The
 * watcher's paths are relative to root, and builds run where nsreload started (as in air): each relative path
 * gets root/ in front, unless root is ".".
 */
static char *paths_join(const struct config *c, char *const *paths, size_t npaths, size_t *total)
{
	bool dot = !c->root[0] || strcmp(c->root, ".") == 0;
	size_t plen = dot ? 0 : strlen(c->root);
	char *joined, *p;

	*total = 0;
	for (size_t i = 0; i < npaths; i++)
		*total += strlen(paths[i]) + 1 + (paths[i][0] != '/' && plen ? plen + 1 : 0);
	joined = malloc(*total + 1);
	if (!joined)
		return NULL;
	p = joined;
	for (size_t i = 0; i < npaths; i++) {
		size_t len = strlen(paths[i]);

		if (paths[i][0] != '/' && plen) {
			memcpy(p, c->root, plen);
			p += plen;
			if (c->root[plen - 1] != '/')
				*p++ = '/';
		}
		memcpy(p, paths[i], len);
		p += len;
		if (i + 1 < npaths)
			*p++ = '\n';
	}
	*p = '\0';
	return joined;
}

int changed_env_entry(const struct config *c, struct log *log, char *const *paths, size_t npaths,
		      struct safefs_file *file, char **entry)
{
	size_t total;
	char *joined = paths_join(c, paths, npaths, &total);
	int r = 0;

	if (!joined)
		return -ENOMEM;
	if (total <= CHANGED_ENV_MAX) {
		int n = asprintf(entry, "NSRELOAD_CHANGED_PATHS=%s", joined);
		free(joined);
		return n < 0 ? -ENOMEM : 0;
	}
	if (file->dirfd < 0)
		r = changed_file_write(c, log, joined, npaths, file);
	free(joined);
	if (r < 0)
		return r;
	return asprintf(entry, "NSRELOAD_CHANGED_FILE=%s", file->path) < 0 ? -ENOMEM : 0;
}
