/*
 * rules.h - which [[build.rules]] entry a changed file belongs to.
 *
 * air (HEAD, runner/rule.go) checks the rules before the build's filters,
 * in the order of the file, and the first that matches takes the change: it
 * runs that rule's cmd and never a rebuild. A rule matches a path when:
 *  - include_dir is empty, or the path is at or below one of its entries
 *    (relative to root, cleaned; entries outside root match nothing);
 *  - no exclude_regex entry matches the ABSOLUTE path (air: re.MatchString
 *    on the event's absolute path);
 *  - include_ext and include_file are both empty (include_dir alone), or the
 *    extension after the last '.' of the file name is in include_ext ("*"
 *    for any; written without the dot as in air, a leading dot is dropped
 *    as for build.include_ext), or the path relative to root is exactly an
 *    include_file entry (cleaned).
 * A rule with cmd empty, or with none of include_dir, include_ext and
 * include_file, is refused when the file is loaded (config_load.c), as air
 * refuses it.
 *
 * Which directories a rule makes the watcher enter is the filter's business
 * (filter.c asks rules_dir_span()); what runs, and when, the state machine's
 * (src/reload/rulejob.c).
 *
 * Regexes: RE2 syntax on PCRE2 through regex.h, as build.exclude_regex's.
 */
#ifndef NSRELOAD_RULES_H
#define NSRELOAD_RULES_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct rules;

/*
 * Compiles c's [[build.rules]] (after config_finalize; the cwd is the one
 * root is relative to). *out is NULL when there are none. Returns 0, -ENOMEM,
 * or -EINVAL with a bad regex named in err ("build.rules[1] (css):
 * exclude_regex: ...").
 */
int rules_new(struct rules **out, const struct config *c, char *err, size_t errsize);
void rules_free(struct rules *r);

/*
 * The index (into c->build.rules) of the first rule matching rel, a clean
 * path relative to root; -1 when none does (or r is NULL). *by_name (may be
 * NULL) is set when the rule named the file in include_file.
 */
int rules_match(const struct rules *r, const char *rel, bool *by_name);

/*
 * For the filter: when the directory rel is a rule's include_dir or on the
 * way to one, strlen(rel); when it lies below one, the length of the longest
 * such include_dir; else 0. exclude_dir entries within that span do not
 * apply (air's README: "Rule directories are watched even when listed in
 * exclude_dir").
 */
size_t rules_dir_span(const struct rules *r, const char *rel);

#endif
