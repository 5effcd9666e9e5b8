/* Socket hand-off: the listening sockets nsreload binds once for every run (handoff.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "handoff.h"
#include "log.h"
#include "util.h"

/* 1..65535, digits only; -1 otherwise. */
static int parse_port(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return -1;
	}
	return v >= 1 ? (int)v : -1;
}

int handoff_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *why,
		       size_t why_size)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':'), *port_text = colon ? colon + 1 : text;
	size_t hlen = colon ? (size_t)(colon - text) : 0;
	int port = parse_port(port_text);

	memset(ss, 0, sizeof(*ss));
	if (port < 0) {
		snprintf(why, why_size, "the port must be a number from 1 to 65535");
		return -EINVAL;
	}
	if (hlen >= sizeof(host)) {
		snprintf(why, why_size, "the host is not an IP address");
		return -EINVAL;
	}
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
			snprintf(why, why_size, "not an IPv6 address between [ and ]");
			return -EINVAL;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		const char *ip = !colon || strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;

		if (inet_pton(AF_INET, ip, &a4->sin_addr) != 1) {
			snprintf(why, why_size, "the host must be an IPv4 address, localhost or [IPv6]");
			return -EINVAL;
		}
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	}
	return 0;
}

/* One listening socket on ss, CLOEXEC: no box gets it but through pass_fds. Returns the fd or -errno. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, HANDOFF_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int handoff_listen_local(int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return listen_on(&ss, sizeof(*a));
}

int handoff_open(struct handoff *h, const struct config *c, struct log *log)
{
	h->n = 0;
	if (c->socket.mode != CONFIG_SOCKET_FDS)
		return 0;
	return handoff_bind(h, c, log);
}

int handoff_bind(struct handoff *h, const struct config *c, struct log *log)
{
	const struct config_strlist *l = &c->socket.listen;
	char where[256], why[256], esc[256];
	int r = 0;

	h->n = 0;
	if (l->n == 0)
		return 0;
	config_origin_text(c, config_key_index(config_key_find("socket.listen")), where, sizeof(where));
	if (l->n > HANDOFF_MAX) {
		log_msg(log, LOG_MAIN, "socket.listen (%s): %zu addresses; at most %d", where, l->n,
			HANDOFF_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct sockaddr_storage ss;
		socklen_t len;

		text_escape(esc, sizeof(esc), l->v[i]);
		r = handoff_parse_addr(l->v[i], &ss, &len, why, sizeof(why));
		if (r < 0) {
			log_msg(log, LOG_MAIN, "socket.listen (%s): \"%s\": %s", where, esc, why);
			break;
		}
		r = listen_on(&ss, len);
		if (r < 0) {
			log_msg(log, LOG_MAIN, "cannot listen on %s (socket.listen, %s): %s", esc, where,
				explain_errno(-r, why, sizeof(why)));
			break;
		}
		h->fds[h->n++] = r;
		r = 0;
	}
	if (r < 0)
		handoff_close(h);
	return r;
}

void handoff_check_argv(struct handoff *h, char *const *argv, struct log *log)
{
	if (h->n == 0 || h->shell_told || strcmp(argv[0], "/bin/sh") != 0 || !argv[1] ||
	    strcmp(argv[1], "-c") != 0 || !argv[2] || strstr(argv[2], "exec "))
		return;
	h->shell_told = true;
	log_msg(log, LOG_MAIN,
		"warning: /bin/sh -c runs the app, so LISTEN_PID is the shell's pid and the app may ignore "
		"the sockets; start the app with exec in the line ('exec ./tmp/main') or without shell "
		"syntax (docs/run.md, \"Socket hand-off\")");
}

void handoff_close(struct handoff *h)
{
	for (size_t i = 0; i < h->n; i++)
		close(h->fds[i]);
	h->n = 0;
}
