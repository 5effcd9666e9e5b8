/*
 * frontctl.h - nsreload's side of the front (src/proxy/front.h): the process
 * that runs the HTTP proxy (proxy.enabled) and the TCP front door
 * (socket.mode = "tcp"), forked at start with its listeners bound, told what
 * the machine does over a SOCK_SEQPACKET socketpair, and reaped at exit.
 *
 * Why a process: it parses untrusted network input and holds a buffer per
 * connection; apart, the supervisor's loop stays small and a crash there
 * cannot take the supervisor (and its power over the boxes) down. If it dies,
 * nsreload says so once and goes on without it.
 */
#ifndef NSRELOAD_FRONTCTL_H
#define NSRELOAD_FRONTCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct box_ctx;
struct config;
struct log;

/* The last this many bytes of a failed build's output go to the front ('F'). */
#define FRONTCTL_OUTPUT_MAX (64 * 1024)

struct frontctl {
	pid_t pid; /* 0: no front */
	int pidfd; /* pins pid, for box_ctx_exempt */
	int fd;    /* the control socket, or -1 */
	bool gone; /* the front died: said once, nothing more is sent */
};

/*
 * Starts the front when c asks for one (proxy.enabled, or socket.mode = "tcp"
 * with socket.listen): binds its listeners first, so that an address in use
 * stops the start with a message. Returns 0 (fc->fd is -1 when no front is
 * needed), 2 for a configuration error (a port missing, an address that does
 * not parse), 1 when a listener or the process cannot be set up; each after
 * a log line.
 */
int frontctl_start(struct frontctl *fc, const struct config *c, struct log *log);
/* Marks the front as no box's in ctx (box.h: the pgroup rung kills unclaimed children). 0 or -errno. */
int frontctl_exempt(struct frontctl *fc, struct box_ctx *ctx);
/* Tells the front kind ('B', 'F', 'O', 'S', 'R', 'D'; front.h) with data (for 'F': the last
 * FRONTCTL_OUTPUT_MAX bytes of it). Nothing without a front. */
void frontctl_send(struct frontctl *fc, char kind, const char *data, size_t n);
/* The control socket is readable: the front's log lines, or its end (logged once). */
void frontctl_readable(struct frontctl *fc, struct log *log);
/* Closes the control socket (the front ends on its EOF) and reaps the front. */
void frontctl_stop(struct frontctl *fc);

#endif
