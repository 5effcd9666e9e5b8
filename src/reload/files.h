/*
 * files.h - the files 'nsreload run' writes under root: the build log and the
 * changed-paths file in tmp_dir, and tmp_dir's removal at exit
 * (misc.clean_on_exit); and how it words a failed file operation.
 *
 * Why apart: these are the only places the run loop touches the file system
 * on the user's behalf, and it runs as root in CI. Every one goes through
 * safefs (src/base/safefs.h) under the rules of docs/run.md ("tmp_dir"), and
 * every failure is reported and survived: a full disk or a planted symlink
 * costs a log line, never the loop. None of these blocks for long.
 */
#ifndef NSRELOAD_FILES_H
#define NSRELOAD_FILES_H

#include <stddef.h>

struct config;
struct log;
struct safefs_file;

/* rel under root (rel itself when absolute or root is "."), malloc'd; NULL when out of memory. */
char *path_under_root(const struct config *c, const char *rel);

/*
 * strerror(err) plus what to do about the errors a user can fix: out of file
 * descriptors, a full disk. Returns buf.
 */
const char *explain_errno(int err, char *buf, size_t size);
/* The reason of a safefs refusal (already in why), or else the errno r (< 0) explained. */
const char *fs_why(int r, char *why, size_t size);

/*
 * Appends "DATE: cmd: exit status S" and the step's output to tmp_dir/build.log.
 * A failure is logged, never returned.
 */
void build_log_append(const struct config *c, struct log *log, const char *cmd, int status,
		      const char *output, size_t output_len);

/*
 * Writes joined (npaths paths, one a line) to a new file
 * tmp_dir/nsreload-changed.PID.RANDOM, created with O_EXCL: *f, which the
 * caller removes with safefs_file_remove(). Returns 0, or -errno after logging
 * why (and leaving no file).
 */
int changed_file_write(const struct config *c, struct log *log, const char *joined, size_t npaths,
		       struct safefs_file *f);

/* misc.clean_on_exit: removes tmp_dir where safefs_clean_tmp() allows it, and logs what it kept. */
void tmp_dir_clean(const struct config *c, struct log *log);

#endif
