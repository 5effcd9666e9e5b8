#define _GNU_SOURCE
#include "pin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgfs.h"
#include "proctree.h"

/* Loads the filter: setsid answered by a listener (action SCMP_ACT_NOTIFY) or returning 0 at once. */
static int load(uint32_t action, int *listener)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return -ENOMEM;
	/* Without the x86 ABI an int 0x80 setsid would hit the bad-arch action and kill the process. */
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r < 0 && r != -EEXIST)
		goto out;
	r = seccomp_rule_add(ctx, action, SCMP_SYS(setsid), 0);
	if (r < 0)
		goto out;
	r = seccomp_load(ctx);
	if (r == 0 && listener) {
		*listener = seccomp_notify_fd(ctx);
		if (*listener < 0)
			r = *listener;
	}
out:
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}

int pin_install(int *listener)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (listener) {
		*listener = -1;
		/*
		 * Refused before Linux 5.0 or libseccomp 2.5, and with EBUSY where a filter with a
		 * listener is already above us (nsreload in a box of nsreload): then silently.
		 */
		if (seccomp_api_get() >= 5 && load(SCMP_ACT_NOTIFY, listener) == 0)
			return 0;
		*listener = -1;
	}
	return load(SCMP_ACT_ERRNO(0), NULL);
}

int pin_send_listener(int sock, int fd)
{
	char data = 'L';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(&u, 0, sizeof(u));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int pin_recv_listener(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)
	};
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ENOENT : -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The caller's name while it waits in the call (so its pid is still its own), where /proc is ours. */
static void read_comm(int listener, const struct seccomp_notif *req, char *comm, size_t size)
{
	char path[64];
	ssize_t n = -1;

	snprintf(comm, size, "?");
	if (proc_self() != getpid())
		return;
	snprintf(path, sizeof(path), "/proc/%u/comm", (unsigned)req->pid);
	n = cg_read_file_at(AT_FDCWD, path, comm, size);
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	if (n <= 0 || seccomp_notify_id_valid(listener, req->id) < 0)
		snprintf(comm, size, "?");
}

int pin_answer(int listener, pid_t *pid, char *comm, size_t size)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct pollfd pfd = { .fd = listener, .events = POLLIN };
	int r;

	/* Only what is waiting: a receive with nothing pending would block the caller's loop. */
	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
		return 0;
	r = seccomp_notify_alloc(&req, &resp);
	if (r < 0)
		return r;
	r = seccomp_notify_receive(listener, req);
	if (r == 0) {
		/* The answer the filter without a listener gives: 0, and nothing done. */
		resp->id = req->id;
		resp->val = 0;
		resp->error = 0;
		resp->flags = 0;
		*pid = (pid_t)req->pid;
		read_comm(listener, req, comm, size);
		r = seccomp_notify_respond(listener, resp);
		/* -ENOENT: the caller was killed while it waited; it was still a call. */
		r = r == 0 || r == -ENOENT ? 1 : r;
	} else if (r == -ENOENT) {
		r = 0; /* the caller was killed before we took it */
	}
	seccomp_notify_free(req, resp);
	return r;
}
