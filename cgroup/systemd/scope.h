/*
 * scope.h - a cgroup v2 subtree from systemd, for a supervisor that cannot
 * make cgroups where it is (a normal user), or that should not make them
 * behind systemd's back (root on a systemd host).
 *
 * systemd owns the cgroup tree it runs: a process may only make cgroups in
 * a unit that is delegated to it. So nsreload asks the manager it belongs
 * to (the user manager on the session bus, or, as root, the system manager)
 * for a transient scope, nsreload-<pid>.scope, holding its own pid, with
 * Delegate=true, waits for the job, and moves itself into a leaf of the
 * scope (SD_SCOPE_LEAF), since a delegated cgroup with processes in it may
 * not have children with controllers. The boxes' context directory goes in
 * the scope, beside that leaf. When nsreload exits the scope is empty, and
 * systemd stops it and removes its cgroup with everything below it: nothing
 * is left behind, whether nsreload exits or is SIGKILLed (its death guard
 * empties the context first).
 *
 * Talks to systemd through sd-bus (libsystemd). Built without it
 * (NSRELOAD_HAVE_SDBUS undefined), sd_scope_join() fails with -ENOTSUP and
 * says so.
 */
#ifndef NSRELOAD_SD_SCOPE_H
#define NSRELOAD_SD_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "cgfs.h"

/* The leaf of the scope nsreload (and its death guard) moves into. */
#define SD_SCOPE_LEAF "supervisor"
/* "nsreload-<pid>.scope" with its NUL fits. */
#define SD_SCOPE_UNIT_SIZE 40

/* How long the manager may take to start the scope, bus connection included. */
#define SD_SCOPE_TIMEOUT_MS 5000

/* Whether this binary was built with sd-bus. */
bool sd_scope_supported(void);

/* The unit name for this process: nsreload-<pid>.scope. */
void sd_scope_unit_name(char *unit, size_t size);

/*
 * True when own (our 0:: cgroup path) is the leaf of the scope this very
 * process asked for earlier: <...>/nsreload-<our pid>.scope/SD_SCOPE_LEAF.
 * A second probe in the same process then uses that scope again. scope_len
 * gets the length of own up to the scope's end.
 */
bool sd_scope_in_own_leaf(const char *own, size_t *scope_len);

/*
 * Asks the manager for the scope (the system bus when system is true, else
 * the session bus), with description saying what it is for, waits for the
 * job, and moves this process into the scope's leaf. On success dir gets
 * the scope's directory below the cgroup2 mount m and unit its name.
 * Returns 0 or -errno, with why (always filled) saying what happened in
 * one line: which bus, what the manager answered.
 */
int sd_scope_join(const struct cg_mounts *m, bool system, const char *description, char *unit,
		  size_t unit_size, char *dir, size_t dir_size, char *why, size_t why_size);

#endif
