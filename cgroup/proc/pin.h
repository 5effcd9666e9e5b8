/*
 * pin.h - the seccomp filter that pins a process tree to its session.
 *
 * After pin_install(), setsid(2) returns 0 and does nothing, for the calling
 * thread and everything it starts, in the native and the 32-bit x86 ABI.
 * setpgid(2) stays allowed: job control (a shell giving each job a group and
 * the terminal to it with tcsetpgrp) needs it, and the kernel lets it move a
 * process only between groups of its own session, which the pin keeps it in. It sets no_new_privs, which the
 * filter requires unprivileged. Returns 0 or -errno. It works on static binaries too, unlike LD_PRELOAD.
 */
#ifndef NSRELOAD_PIN_H
#define NSRELOAD_PIN_H

int pin_install(void);

#endif
