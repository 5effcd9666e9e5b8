/*
 * reload_app FIFO - the app scripts/bench-reload restarts.
 *
 * The first thing it does after exec is read CLOCK_MONOTONIC (system-wide,
 * so comparable with bench_reload's clock across any box), then writes
 * "<pid> <ns>\n" to FIFO in one write (atomic: shorter than PIPE_BUF) and
 * waits for a signal. The default dispositions are left alone, so the stop
 * signal ends it at once.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc != 2)
		return 2;
	fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = snprintf(line, sizeof(line), "%d %lld\n", (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(fd, line, (size_t)n) != n)
		return 1;
	close(fd);
	for (;;)
		pause();
}
