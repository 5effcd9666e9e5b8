/*
 * cpuburn - an app that spins on one CPU, for the limits test
 * (tests/integration/limits.sh): under cpu_max its usage stays near the quota.
 *
 *   cpuburn SECONDS
 *       spins for SECONDS of wall time (1 to 60), then prints
 *       "cpuburn: cpu_ms=C wall_ms=W" (its own CPU time from getrusage) and
 *       sleeps. Bounded by SECONDS.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	long secs = argc > 1 ? strtol(argv[1], NULL, 10) : 3;
	long long start = now_ms(), wall;
	volatile unsigned long spin = 0;
	struct rusage ru;

	if (secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: cpuburn SECONDS (1 to 60)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((wall = now_ms() - start) < secs * 1000)
		for (int i = 0; i < 100000; i++)
			spin++;
	getrusage(RUSAGE_SELF, &ru);
	printf("cpuburn: cpu_ms=%lld wall_ms=%lld\n",
	       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000,
	       wall);
	for (;;)
		pause();
}
