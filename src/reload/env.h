/*
 * env.h - the environment of a build step, a post_cmd and the app.
 *
 * Why apart: docs/run.md ("The environment of a build") makes it a contract
 * of its own: nsreload's environment, then the env_files read again every
 * time (so that a key removed from a file is gone), then what nsreload adds;
 * for a build, the changed paths, in the environment while they fit and in a
 * file of tmp_dir when they do not.
 */
#ifndef NSRELOAD_ENV_H
#define NSRELOAD_ENV_H

#include <stddef.h>

struct config;
struct log;
struct safefs_file;

/*
 * environ, then env_files (a file that cannot be read is logged and
 * skipped), then extra "KEY=VALUE" entries, which replace an inherited entry
 * of their key. Free *out with envp_free(). Returns 0 or -ENOMEM.
 */
int envp_make(const struct config *c, struct log *log, char *const *extra, size_t nextra, char ***out);
void envp_free(char **envp);

/*
 * "NSRELOAD_CHANGED_PATHS=a\nb" for the paths, or, past 64 KiB,
 * "NSRELOAD_CHANGED_FILE=PATH" of a file written into *file (once: a file
 * already there is reused by the next step of the same build). Free *entry.
 * Returns 0, or -errno when the file could not be written (logged).
 */
int changed_env_entry(const struct config *c, struct log *log, char *const *paths, size_t npaths,
		      struct safefs_file *file, char **entry);

#endif
