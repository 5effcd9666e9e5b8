/*
 * pin.h - the seccomp filter that pins a process tree to its process group.
 *
 * After pin_install(), setsid(2) and setpgid(2) return 0 and do nothing, for
 * the calling thread and everything it starts, in the native and the 32-bit
 * x86 ABI. It sets no_new_privs, which the filter requires unprivileged.
 * Returns 0 or -errno. It works on static binaries too, unlike LD_PRELOAD.
 */
#ifndef NSRELOAD_PIN_H
#define NSRELOAD_PIN_H

int pin_install(void);

#endif
