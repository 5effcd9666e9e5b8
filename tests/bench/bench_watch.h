/*
 * bench_watch.h - what bench_watch.c (inotify against its floor) and
 * bench_watch_fan.c (fanotify next to inotify) share.
 */
#ifndef NSRELOAD_BENCH_WATCH_H
#define NSRELOAD_BENCH_WATCH_H

#include <ftw.h>
#include <stddef.h>
#include <sys/stat.h>

double now_ms(void);
int cmp_double(const void *a, const void *b);
/* A field of /proc/self/status, in its unit (kB for VmRSS). */
long status_field(const char *key);
/* Two levels: top directories of 50 subdirectories each, files spread evenly. */
int make_tree(const char *root, int dirs, int files);
/* One setup: 0 the bare inotify floor, 1 nsreload with inotify, 2 with fanotify, 3 auto; ms, or -1. */
double setup_once(const char *root, int nsreload, size_t *count, long *rss_kb);
/* RSS added by one setup of that kind, in a fresh process (this program with --rss). */
long rss_fresh(const char *self, const char *root, int nsreload);
int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw);
/* bench_watch_fan.c: the fanotify tables; 0, or 77 when this is not root. */
int bench_fanotify(const char *self);

#endif
