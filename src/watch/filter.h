/*
 * filter.h - which paths count as source changes.
 *
 * A filter answers, for a path relative to the watch root, whether a change
 * to it should trigger a build, with air's meaning for every key:
 * include_ext ("*" for all), include_dir, include_file, exclude_dir (exact
 * relative paths; hidden directories always skipped), exclude_file (globs
 * with **), exclude_regex (Go RE2 syntax, on PCRE2: regex.h; matched as in
 * air against the file's absolute path, root made absolute against the cwd),
 * plus tmp_dir, testdata_dir and the
 * built binary, which never trigger. On top of air, .gitignore and .ignore
 * files (nested, negation, anchoring, directory-only patterns) are honoured
 * unless disabled, with exactly git check-ignore's result (ignore.h).
 * exclude_unchanged keeps a content hash per file (filter_content_changed).
 * With [[build.rules]] (rules.h, filter_opts.rules), a file a rule matches
 * counts before all of these, and a rule's include_dir is watched even when
 * exclude_dir lists it (filter.c, rule_dir_watched and rule_file_matched).
 *
 * The filter owns no fds and does no I/O except reading ignore files and, for
 * exclude_unchanged, the file being checked. Functions return 0 or -errno;
 * the predicates return bool.
 */
#ifndef NSRELOAD_FILTER_H
#define NSRELOAD_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct filter;

struct rules;

struct filter_opts {
	bool vcs_ignore;           /* honour .gitignore/.ignore (default true; --no-vcs-ignore) */
	const struct rules *rules; /* [[build.rules]] (rules.h): their files and directories count too */
	/* Optional: told once, at filter_new(), of an exclude_regex that matches root's own absolute path
	 * (it then excludes every file). msg names the regex and where it was set. */
	void (*warn)(void *data, const char *msg);
	void *warn_data;
};

/*
 * Compiles the filter from c (after config_finalize). A bad exclude_regex is
 * -EINVAL, reported in err as "FILE:LINE:COL: build.exclude_regex: "RE":
 * REASON at offset N" (the key's position; "flag --build.exclude_regex" for
 * a flag), which the caller treats as a configuration error.
 */
int filter_new(struct filter **out, const struct config *c, const struct filter_opts *o, char *err,
	       size_t errsize);
void filter_free(struct filter *f);

/* Whether the watcher should descend into (and watch) the directory rel ("" is the root). */
bool filter_watch_dir(struct filter *f, const char *rel);
/* Whether a change to the file rel triggers a build. */
bool filter_match_file(struct filter *f, const char *rel);
/*
 * exclude_unchanged: whether the content of rel (absolute path abs) differs
 * from the last time it was seen; always true when the key is off. A file
 * seen for the first time counts as changed.
 */
bool filter_content_changed(struct filter *f, const char *rel, const char *abs);
/* An ignore file (.gitignore/.ignore) changed or appeared: reload the rules under dir rel. */
int filter_reload_ignores(struct filter *f, const char *rel);
/*
 * Whether rel names an ignore file the filter reads (.gitignore or .ignore,
 * when vcs_ignore is on): a change to it calls for filter_reload_ignores()
 * on its directory, whether or not filter_match_file() admits it.
 */
bool filter_is_ignore_file(const struct filter *f, const char *rel);

/*
 * path (relative to root) lexically cleaned into a fresh string: no ".", no
 * empty components, ".." folded. Returns 0, -ENOMEM, or -EINVAL when it is
 * absolute or climbs out of root.
 */
int filter_path_clean(const char *path, char **out);

/*
 * root as air sees it (its expandPath): made absolute against the cwd and
 * lexically cleaned ("/src/app" for "app" in /src, "/" for "/"), in *out.
 * The exclude_regex of the build and of the rules are matched against
 * *out + "/" + the relative path. Returns 0 or -errno.
 */
int filter_root_abs(const char *root, char **out);

#endif
