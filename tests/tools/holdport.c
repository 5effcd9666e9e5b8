/*
 * holdport - an app that holds a 127.0.0.1 port the way a server and its
 * daemon do, for the supervisor-death test (tests/integration/supervisor_death.sh).
 *
 *   holdport serve PORTFILE
 *       listens on 127.0.0.1:<a free port>, forks a setsid daemon that keeps
 *       the listening socket too, writes the port into PORTFILE once both
 *       hold it, and waits forever: the port is free only when both are gone.
 *   holdport free PORT
 *       exits 0 when 127.0.0.1:PORT can be listened on (nothing holds it), 1
 *       when it cannot, 2 on other errors.
 * Both set SO_REUSEADDR, as Go's net/http does: only a listener holds the port.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port, int *got)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*got = ntohs(sa.sin_port);
	return fd;
}

static int serve(const char *portfile)
{
	int port = 0, fd = listen_on(0, &port), p[2];
	char c;
	FILE *f;

	if (fd < 0 || pipe(p) < 0) {
		perror("holdport: listen");
		return 2;
	}
	switch (fork()) {
	case -1:
		perror("holdport: fork");
		return 2;
	case 0:
		/* The daemon: its own session, the socket kept, nothing else. */
		close(p[0]);
		if (setsid() < 0)
			_exit(2);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	/* The daemon has left our session once the pipe closes. */
	while (read(p[0], &c, 1) > 0)
		;
	close(p[0]);
	f = fopen(portfile, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0) {
		perror(portfile);
		return 2;
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int port = 0, fd;

	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if (argc != 3 || strcmp(argv[1], "free") != 0) {
		fprintf(stderr, "usage: holdport serve PORTFILE | holdport free PORT\n");
		return 2;
	}
	fd = listen_on(atoi(argv[2]), &port);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd == -EADDRINUSE ? 1 : 2;
}
