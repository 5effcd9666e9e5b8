/*
 * gitexcl.h - the ignore files git reads besides .gitignore:
 * $GIT_DIR/info/exclude and core.excludesFile (gitignore(5)).
 *
 * Both apply only inside a git work tree, found by looking for ".git" (a
 * directory, or a file "gitdir: PATH" as in linked worktrees and
 * submodules) in root and its parents; a linked worktree's "commondir"
 * leads to the shared info/exclude and config. Their patterns are relative
 * to the top of the work tree, so the loader also gives root's place below
 * it (prefix). In git's order of precedence they come after every
 * .gitignore: info/exclude, then core.excludesFile.
 *
 * core.excludesFile is the last value in git's config files in the order
 * git reads them: the system file (/etc/gitconfig, or $GIT_CONFIG_SYSTEM;
 * none with GIT_CONFIG_NOSYSTEM), the global ones ($GIT_CONFIG_GLOBAL, else
 * $XDG_CONFIG_HOME/git/config or ~/.config/git/config, then ~/.gitconfig)
 * and the repository's config. Unset, it is $XDG_CONFIG_HOME/git/ignore, or
 * ~/.config/git/ignore when XDG_CONFIG_HOME is unset or empty; set to "",
 * there is none. "~/" and "~user/" are expanded as git does; a relative
 * path is taken from the top of the work tree, where git runs. Not read:
 * [include]/[includeIf] (so a value set only in an included file is
 * missed), config.worktree, $GIT_DIR, "%(prefix)/". Every file read is
 * capped (GITEXCL_MAX_FILE); a file that cannot be read, is too big or does
 * not parse counts as absent, never as an error.
 */
#ifndef NSRELOAD_GITEXCL_H
#define NSRELOAD_GITEXCL_H

#include <stddef.h>

#define GITEXCL_MAX_FILE (4u << 20)

struct ignore_list;

struct git_excludes {
	char *prefix;                 /* root relative to the work tree's top: "" or "a/b/" */
	struct ignore_list *info;     /* $GIT_DIR/info/exclude; NULL: none */
	struct ignore_list *excludes; /* core.excludesFile; NULL: none */
};

/*
 * Fills g for the work tree that holds root (relative to the cwd, or
 * absolute). Not in a work tree: all NULL, and 0. Returns 0 or -ENOMEM.
 */
int git_excludes_load(struct git_excludes *g, const char *root);
void git_excludes_free(struct git_excludes *g);

/*
 * From the text of one git config file: the last core.excludesFile in it,
 * in *value (malloc'd, as written: no path expansion). Returns 1 when set,
 * 0 when not, -EINVAL when the file does not parse (git refuses it too), or
 * -ENOMEM. Pure: for the tests and the loader.
 */
int gitconfig_excludes_file(const char *buf, size_t len, char **value);

#endif
