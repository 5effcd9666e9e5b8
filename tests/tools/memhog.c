/*
 * memhog - an app that allocates past its box's memory_max, for the limits
 * test (tests/integration/limits.sh).
 *
 *   memhog MIB
 *       allocates and touches MIB MiB, one MiB at a time (every page written,
 *       so it is really charged), printing "memhog: N MiB" every 16 MiB, then
 *       prints "memhog: done" and sleeps. In a box whose memory_max is below
 *       MIB the OOM killer ends it first. Bounded by MIB (at most 4096), so
 *       outside a limit it is only a large allocation, never a runaway.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;

	if (mib <= 0 || mib > 4096) {
		fprintf(stderr, "usage: memhog MIB (1 to 4096)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 1; i <= mib; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("memhog: malloc failed at %ld MiB\n", i);
			break;
		}
		memset(p, (int)(i & 0xff) | 1, 1 << 20);
		if (i % 16 == 0)
			printf("memhog: %ld MiB\n", i);
	}
	printf("memhog: done\n");
	for (;;)
		pause();
}
