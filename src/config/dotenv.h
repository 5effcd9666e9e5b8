/*
 * dotenv.h - env_files: dotenv files parsed and merged into an environment.
 *
 * The format, as air's users write it:
 *   KEY=VALUE             spaces around '=' and around an unquoted value are dropped
 *   export KEY=VALUE      the "export " prefix is allowed and ignored
 *   KEY='a literal'       single quotes: taken as is, may span lines
 *   KEY="a\nb \"q\" \\"   double quotes: \n \r \t \" \\ escapes, may span lines
 *   KEY=v # comment       '#' after a space ends an unquoted value
 *   # comment             full-line comments and blank lines are skipped
 * KEY is [A-Za-z_][A-Za-z0-9_.]*. Unquoted and double-quoted values expand
 * $NAME and ${NAME} as godotenv (air's library, v1.5) does: NAME is
 * [A-Z0-9_]+, looked up among the file's earlier lines, then in
 * dotenv.env (the environment), then in earlier files; unknown is "";
 * "\$NAME" is a literal "$NAME"; single-quoted values are never expanded
 * (dotenv.c, expand(), has the details). Within one file the
 * last definition of a key wins; across files, the first file that defines
 * it (as godotenv's Load, which air uses); and a variable already in the
 * environment wins over every file.
 *
 * dotenv_parse() is pure (no I/O, no environment) so that tests and the
 * fuzzer can drive it. dotenv_envp() builds a new environment for
 * box_spawn() instead of changing the process's own: a key that disappears
 * from a file between two runs is then simply absent from the next one.
 *
 * Functions return 0 or -errno; -EINVAL comes with "NAME:LINE: reason" in
 * err (NAME is the name given to the parser).
 */
#ifndef NSRELOAD_DOTENV_H
#define NSRELOAD_DOTENV_H

#include <stddef.h>

struct dotenv_var {
	char *key;
	char *value;
	int line;
};

struct dotenv {
	struct dotenv_var *v;
	size_t n, cap;
	/* in: the environment that $VAR expansion consults after the file's own lines (the one the
	 * variables will be added to); NULL: none. Not freed by dotenv_free(). */
	char *const *env;
};

/* An expanded value longer than this is an error: execve() refuses a longer environment string. */
#define DOTENV_MAX_VALUE (128u * 1024 - 1)

/*
 * Parses len bytes of buf and adds the variables to out (a key already in out
 * from this same call is replaced; one from an earlier call is kept, see
 * above). On error out is unchanged from before the call.
 */
int dotenv_parse(const char *buf, size_t len, const char *name, struct dotenv *out, char *err,
		 size_t err_size);

/* Reads the file at path and parses it the same way. */
int dotenv_load_file(const char *path, struct dotenv *out, char *err, size_t err_size);

/* The value of key in d, or NULL. */
const char *dotenv_get(const struct dotenv *d, const char *key);

void dotenv_free(struct dotenv *d);

/*
 * A new NULL-terminated environment: every entry of base, then "KEY=VALUE"
 * for each variable of d whose key base lacks. Free it with dotenv_envp_free().
 */
int dotenv_envp(char *const *base, const struct dotenv *d, char ***out);
void dotenv_envp_free(char **envp);

#endif
