/*
 * ignore.h - .gitignore and .ignore files, with git's semantics.
 *
 * One ignore_list holds the rules of one directory's files. A rule is a
 * line: blank lines and lines starting with '#' are skipped; trailing
 * spaces are trimmed unless escaped with '\'; a leading '!' negates (use
 * "\!" and "\#" for a literal first character); a trailing '/' makes the rule
 * match directories only; a rule with a '/' at its start or in its middle is
 * anchored to the list's directory and matched against the whole relative
 * path, any other rule against the last component at any depth. Patterns
 * are globs (glob.h, with "**"). Within a list the last matching rule wins.
 *
 * An ignore tree answers for a whole source tree, loading each directory's
 * files on first use: the deepest list that has a matching rule decides,
 * and a path below an ignored directory is ignored whatever its own rules
 * say (git neither reads ignore files there nor lets "!" re-include). In a
 * directory, .ignore's rules come after .gitignore's, so they win. With
 * IGNORE_GITIGNORE, inside a git work tree, $GIT_DIR/info/exclude and then
 * core.excludesFile come after every directory's files, as in git
 * (gitexcl.h); they are read once, by ignore_new().
 *
 * Paths are relative to the root, without "./", doubled or trailing '/'
 * ("" is the root). Functions return 0 or -errno.
 */
#ifndef NSRELOAD_IGNORE_H
#define NSRELOAD_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct ignore_list;

enum ignore_verdict {
	IGNORE_NONE,    /* no rule matches */
	IGNORE_EXCLUDE, /* the last matching rule ignores the path */
	IGNORE_INCLUDE, /* the last matching rule is a "!" rule */
};

/* Appends the rules in buf (the text of one ignore file) to *l, creating it when *l is NULL. */
int ignore_list_parse(struct ignore_list **l, const char *buf, size_t len);
void ignore_list_free(struct ignore_list *l);
size_t ignore_list_count(const struct ignore_list *l);
/* rel is relative to the list's directory. l may be NULL (no rules). */
enum ignore_verdict ignore_list_match(const struct ignore_list *l, const char *rel, bool is_dir);

struct ignore;

enum {
	IGNORE_GITIGNORE = 1 << 0, /* read .gitignore files */
	IGNORE_DOTIGNORE = 1 << 1, /* read .ignore files */
};

/* root is copied; which is a mask of IGNORE_GITIGNORE and IGNORE_DOTIGNORE. */
int ignore_new(struct ignore **out, const char *root, unsigned which);
void ignore_free(struct ignore *ig);
/*
 * Whether rel, a directory when is_dir, is ignored. Loads ignore files as
 * needed; an unreadable one counts as empty. Returns 0 or -ENOMEM.
 */
int ignore_check(struct ignore *ig, const char *rel, bool is_dir, bool *ignored);
/* ignore_check, where running out of memory means "not ignored". */
bool ignore_path(struct ignore *ig, const char *rel, bool is_dir);
/* An ignore file in directory rel changed: forget what was read (it is read again when needed). */
int ignore_reload(struct ignore *ig, const char *rel);
/* Whether the last component of rel names an ignore file that ig reads. */
bool ignore_is_rules_file(const struct ignore *ig, const char *rel);

#endif
