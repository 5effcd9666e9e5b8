/*
 * pin.h - the seccomp filter that pins a process tree to its session.
 *
 * After pin_install(), setsid(2) returns 0 and does nothing, for the calling
 * thread and everything it starts, in the native and the 32-bit x86 ABI.
 * setpgid(2) stays allowed: job control (a shell giving each job a group and
 * the terminal to it with tcsetpgrp) needs it, and the kernel lets it move a
 * process only between groups of its own session, which the pin keeps it in.
 * It sets no_new_privs, which the filter requires unprivileged. It works on
 * static binaries too, unlike LD_PRELOAD. Every call returns 0 or -errno.
 *
 * So that a user whose program needed setsid hears of it (rather than a
 * silent no-op), the filter can hand each setsid to a listener fd
 * (SECCOMP_RET_USER_NOTIF) that the supervisor answers with the same 0. The
 * listener is made in the child and must reach the supervisor before exec:
 * the box's program must never hold it (it could answer for itself).
 */
#ifndef NSRELOAD_PIN_H
#define NSRELOAD_PIN_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Installs the pin. With listener != NULL, *listener gets the filter's
 * listener fd (close-on-exec), or -1 where the kernel, libseccomp or an outer
 * listener filter does not allow one: then setsid returns 0 unheard.
 */
int pin_install(int *listener);

/* Passes the listener fd over a unix socket (SCM_RIGHTS), and back: -ENOENT when none was sent. */
int pin_send_listener(int sock, int fd);
int pin_recv_listener(int sock);

/*
 * Answers one pending setsid of the listener with 0 (nothing done), without
 * blocking. Returns 1 with the caller's pid in *pid and its name in comm
 * ("?" where /proc is not our PID namespace's), 0 when none was pending, or
 * -errno.
 */
int pin_answer(int listener, pid_t *pid, char *comm, size_t size);

#endif
