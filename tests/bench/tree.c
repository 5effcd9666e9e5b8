/*
 * tree N [lifetime_s] - the process tree that bench_kill stops.
 *
 * Builds N live processes in total, writes "READY\n" on stdout once all of
 * them are up, and sleeps. From N >= 100 the tree also holds what makes a kill
 * hard: about 10% setsid() escapees (half of them double-forked, so that they
 * are orphans of whoever reaps for the box) and fork-storm drivers, each
 * keeping a few short-lived children in flight, so that forks are still under
 * way when the kill comes. The rest is a plain tree with fan-out FANOUT.
 *
 * Every process counts itself in a MAP_SHARED counter (storm children also
 * count themselves out), which is how the root knows when N are alive.
 *
 * Bounds: storm children live 10-30 ms and their driver blocks in waitpid(),
 * so a driver forks about 200 times a second (a 1,000-process tree costs some
 * 13% of a 2-CPU VM while it waits) and cannot spin; every process arms
 * alarm(lifetime_s) for itself, so a tree that a bug lets escape still dies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FANOUT             8
#define STORM_INFLIGHT     4   /* short-lived children each driver keeps going */
#define STORM_PROCS_PER    500 /* one more driver per this many processes */
#define STORM_MIN_US       10000
#define STORM_SPREAD_US    20000
#define READY_TIMEOUT_S    60
#define DEFAULT_LIFETIME_S 300

struct shared {
	atomic_int alive;
	atomic_int failed; /* errno of a fork that never succeeded */
};

static struct shared *sh;
static unsigned lifetime_s = DEFAULT_LIFETIME_S;
static int devnull = -1;

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static __attribute__((noreturn)) void sleep_forever(void)
{
	for (;;)
		pause();
}

/*
 * fork() that rides out a transient EAGAIN (a thousand processes forking at
 * once can hit it) and sets up every child alike: its own alarm, and stdout
 * away from the READY pipe, so that the bench sees EOF as soon as the root
 * is gone.
 */
static pid_t xfork(void)
{
	pid_t pid = -1;

	for (int i = 0; i < 100; i++) {
		pid = fork();
		if (pid >= 0 || errno != EAGAIN)
			break;
		sleep_us(10000);
	}
	if (pid < 0) {
		atomic_store(&sh->failed, errno);
		return -1;
	}
	if (pid == 0) {
		alarm(lifetime_s);
		(void)dup2(devnull, STDOUT_FILENO);
	}
	return pid;
}

static void count_in(void)
{
	atomic_fetch_add(&sh->alive, 1);
}

static __attribute__((noreturn)) void storm_child(unsigned seed)
{
	count_in();
	sleep_us(STORM_MIN_US + (long)(rand_r(&seed) % STORM_SPREAD_US));
	/* Out before the exit itself, so that the root never counts one that is already going. */
	atomic_fetch_sub(&sh->alive, 1);
	_exit(0);
}

static __attribute__((noreturn)) void storm_driver(void)
{
	unsigned seed = (unsigned)getpid();
	int inflight = 0;

	count_in();
	for (;;) {
		while (inflight < STORM_INFLIGHT) {
			pid_t pid = xfork();
			if (pid == 0)
				storm_child(rand_r(&seed));
			if (pid < 0)
				break;
			inflight++;
		}
		/* Blocking here is what keeps the storm from spinning: one fork per child death. */
		if (waitpid(-1, NULL, 0) > 0)
			inflight--;
		else if (errno == ECHILD)
			inflight = 0;
		if (inflight == 0)
			sleep_us(STORM_MIN_US);
	}
}

static void spawn_escapee(unsigned i)
{
	pid_t pid = xfork();

	if (pid != 0) {
		/* The double-fork middle exits at once: reap it, so that it does not linger as our zombie. */
		if (pid > 0 && i % 2)
			(void)waitpid(pid, NULL, 0);
		return;
	}
	(void)setsid();
	if (i % 2) {
		/* The daemon pattern: the grandchild is orphaned and goes to the nearest subreaper. */
		pid = xfork();
		if (pid != 0)
			_exit(0);
	}
	count_in();
	sleep_forever();
}

static __attribute__((noreturn)) void node(unsigned stable, unsigned esc);

/* Forks `rest` more plain processes below the caller, FANOUT at most per level, and `esc` escapees. */
static void spawn_children(unsigned rest, unsigned esc)
{
	unsigned kids = rest < FANOUT ? rest : FANOUT;

	if (kids == 0) {
		for (unsigned i = 0; i < esc; i++)
			spawn_escapee(i);
		return;
	}
	for (unsigned i = 0; i < kids; i++) {
		unsigned s = rest / kids + (i < rest % kids);
		unsigned e = esc / kids + (i < esc % kids);
		if (xfork() == 0)
			node(s, e);
	}
}

/* One plain process heading a sub-tree of `stable` plain processes (itself included). */
static __attribute__((noreturn)) void node(unsigned stable, unsigned esc)
{
	count_in();
	spawn_children(stable - 1, esc);
	sleep_forever();
}

int main(int argc, char **argv)
{
	unsigned n, esc = 0, drivers = 0, storm = 0;
	char *end;
	long v;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s N [lifetime_s]\n", argv[0]);
		return 2;
	}
	v = strtol(argv[1], &end, 10);
	if (*end || v < 1 || v > 100000) {
		fprintf(stderr, "tree: N must be 1..100000\n");
		return 2;
	}
	n = (unsigned)v;
	if (argc == 3) {
		v = strtol(argv[2], &end, 10);
		if (*end || v < 1 || v > 86400) {
			fprintf(stderr, "tree: lifetime_s must be 1..86400\n");
			return 2;
		}
		lifetime_s = (unsigned)v;
	}
	alarm(lifetime_s);
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0) {
		perror("tree: /dev/null");
		return 1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("tree: mmap");
		return 1;
	}
	if (n >= 100) {
		esc = n / 10;
		drivers = 1 + n / STORM_PROCS_PER;
		storm = drivers * (1 + STORM_INFLIGHT);
	}

	count_in();
	for (unsigned i = 0; i < drivers; i++)
		if (xfork() == 0)
			storm_driver();
	spawn_children(n - 1 - esc - storm, esc);

	for (unsigned waited_ms = 0; atomic_load(&sh->alive) < (int)n; waited_ms++) {
		int err = atomic_load(&sh->failed);
		if (err || waited_ms >= READY_TIMEOUT_S * 1000u) {
			fprintf(stderr, "tree: only %d of %u processes came up: %s\n",
				atomic_load(&sh->alive), n, err ? strerror(err) : "timed out");
			return 1;
		}
		sleep_us(1000);
	}
	if (printf("READY\n") < 0 || fflush(stdout) != 0)
		return 1;
	sleep_forever();
}
