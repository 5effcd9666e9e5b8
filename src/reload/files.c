/* The files of 'nsreload run' under root (files.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "log.h"
#include "safefs.h"

char *path_under_root(const struct config *c, const char *rel)
{
	char *p = NULL;
	if (rel[0] == '/' || !c->root[0] || strcmp(c->root, ".") == 0)
		return strdup(rel);
	if (asprintf(&p, "%s/%s", c->root, rel) < 0)
		return NULL;
	return p;
}

const char *explain_errno(int err, char *buf, size_t size)
{
	struct rlimit rl = { 0 };

	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		snprintf(buf, size,
			 "%s: out of file descriptors (ulimit -n is %llu); raise it with 'ulimit -n 4096' "
			 "before starting nsreload",
			 strerror(err), (unsigned long long)rl.rlim_cur);
	else if (err == ENFILE)
		snprintf(buf, size, "%s: the whole system is out of file descriptors (fs.file-max)",
			 strerror(err));
	else if (err == ENOSPC || err == EDQUOT)
		snprintf(buf, size, "%s: its file system is full; free some space there", strerror(err));
	else
		snprintf(buf, size, "%s", strerror(err));
	return buf;
}

const char *fs_why(int r, char *why, size_t size)
{
	return why[0] ? why : explain_errno(-r, why, size);
}

/* The build log, opened for appending through an fd of tmp_dir; NULL after logging why. */
static FILE *build_log_open(const struct config *c, struct log *log, const char *dir)
{
	char why[512];
	struct safefs_tmp t;
	FILE *f = NULL;
	int r, fd;

	r = safefs_tmp_open(c->root, c->tmp_dir, &t, why, sizeof(why));
	if (r < 0) {
		log_msg(log, LOG_MAIN, "cannot use tmp_dir %s for the build log: %s", dir,
			fs_why(r, why, sizeof(why)));
		return NULL;
	}
	fd = safefs_open_append(t.fd, c->build.log, why, sizeof(why));
	safefs_tmp_close(&t);
	if (fd < 0 || !(f = fdopen(fd, "a"))) {
		r = fd < 0 ? fd : -errno;
		log_msg(log, LOG_MAIN, "cannot append to the build log %s/%s: %s", dir, c->build.log,
			fs_why(r, why, sizeof(why)));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

void build_log_append(const struct config *c, struct log *log, const char *cmd, int status,
		      const char *output, size_t output_len)
{
	char *dir = path_under_root(c, c->tmp_dir), how[64], when[32], why[512];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int r;

	if (!dir)
		return;
	f = build_log_open(c, log, dir);
	if (!f) {
		free(dir);
		return;
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	log_describe_status(status, how, sizeof(how));
	fprintf(f, "%s: %s: %s\n", when, cmd, how);
	if (output_len)
		fwrite(output, 1, output_len, f);
	/* A full disk shows at the flush: the error sticks to the stream until fclose. */
	r = ferror(f) ? (errno ? errno : EIO) : 0;
	if (fclose(f) != 0 && r == 0)
		r = errno;
	if (r)
		log_msg(log, LOG_MAIN,
			"cannot write the build log %s/%s: %s; the build output above is all there is", dir,
			c->build.log, explain_errno(r, why, sizeof(why)));
	free(dir);
}

/* Writes all of buf; -errno (with errno set) on failure, -ENOSPC for a write that stops short. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int changed_file_write(const struct config *c, struct log *log, const char *joined, size_t npaths,
		       struct safefs_file *f)
{
	char *dir = path_under_root(c, c->tmp_dir), prefix[64], why[512];
	struct safefs_tmp t;
	int fd, r;

	if (!dir)
		return -ENOMEM;
	r = safefs_tmp_open(c->root, c->tmp_dir, &t, why, sizeof(why));
	if (r < 0) {
		log_msg(log, LOG_MAIN, "cannot use tmp_dir %s for the list of changed paths: %s", dir,
			fs_why(r, why, sizeof(why)));
		free(dir);
		return r;
	}
	snprintf(prefix, sizeof(prefix), "nsreload-changed.%d.", (int)getpid());
	fd = safefs_create_unique(t.fd, t.path, prefix, f);
	r = fd < 0 ? fd : write_all(fd, joined, strlen(joined));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		log_msg(log, LOG_MAIN, "cannot write the list of %zu changed paths to %s/%s: %s", npaths, dir,
			fd >= 0 ? f->name : prefix, explain_errno(-r, why, sizeof(why)));
		safefs_file_remove(f);
	}
	safefs_tmp_close(&t);
	free(dir);
	return r;
}

void tmp_dir_clean(const struct config *c, struct log *log)
{
	char why[512];
	size_t kept = 0;
	int r = safefs_clean_tmp(c->root, c->tmp_dir, &kept, why, sizeof(why));

	if (r < 0)
		log_msg(log, LOG_MAIN, "misc.clean_on_exit: tmp_dir %s is not removed: %s", c->tmp_dir,
			fs_why(r, why, sizeof(why)));
	else if (kept)
		log_msg(log, LOG_MAIN,
			"misc.clean_on_exit: tmp_dir %s is kept with %zu entries nsreload does not remove "
			"(mount points, other file systems, /, /root or $HOME, or deeper than %d levels)",
			c->tmp_dir, kept, SAFEFS_MAX_DEPTH);
}
