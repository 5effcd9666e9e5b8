/*
 * forkbomb - a bounded fork bomb for the limits test
 * (tests/integration/limits.sh): held at its box's pids_max, it must be
 * reported (pids.events max) and leave nothing behind.
 *
 *   forkbomb [FANOUT]
 *       the main process forks FANOUT children (default 16) and each child
 *       forks FANOUT grandchildren: at most FANOUT * (FANOUT + 1) processes
 *       besides the main one, which all sleep. A fork that fails (EAGAIN at
 *       pids_max) is retried every 20 ms, for ever, so a held bomb keeps
 *       knocking; the first refusal prints "forkbomb: fork refused".
 *       Bounded on purpose: outside a limit it is a few hundred sleepers,
 *       never a runaway on a shared machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * Forks fanout children, each of which does the same one level down (levels
 * 2 and 1), retrying refused forks; then sleeps. A loop, not recursion: a
 * child starts over with its own count.
 */
static void bomb(int fanout)
{
	int level = 2;
	bool told = false;

restart:
	for (int i = 0; i < fanout;) {
		pid_t pid = fork();
		if (pid == 0) {
			if (level > 1) {
				level--;
				told = true; /* only the main process says it */
				goto restart;
			}
			break;
		}
		if (pid > 0) {
			i++;
			continue;
		}
		if (!told) {
			printf("forkbomb: fork refused: %s\n", errno == EAGAIN ? "EAGAIN" : "other");
			told = true;
		}
		nap_ms(20);
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int fanout = argc > 1 ? atoi(argv[1]) : 16;

	if (fanout <= 0 || fanout > 32) {
		fprintf(stderr, "usage: forkbomb [FANOUT] (1 to 32)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Children that die are reaped by the kernel: no zombie holds a pid. */
	signal(SIGCHLD, SIG_IGN);
	bomb(fanout);
	return 0;
}
