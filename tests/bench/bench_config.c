/*
 * Times the configuration path a start-up takes: TOML parsing alone, and the
 * whole config_init + load + finalize, on the given .air.toml files. Prints
 * the median and p95 per file in microseconds (of 2000 runs, or 5 for a file
 * over 1 MiB). Used by scripts/bench-config.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "toml.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void quiet(void *data, enum config_diag_level level, const char *msg)
{
	(void)data;
	(void)level;
	(void)msg;
}

int main(int argc, char **argv)
{
	const struct config_diag diag = { quiet, NULL };

	if (argc < 2) {
		fprintf(stderr, "usage: bench_config FILE...\n");
		return 2;
	}
	printf("%-28s %6s %12s %10s %12s %10s\n", "file", "lines", "toml_med_us", "toml_p95", "config_med_us",
	       "config_p95");
	for (int a = 1; a < argc; a++) {
		size_t len = 0, lines = 0;
		char *buf = read_file(argv[a], &len);
		const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
		/* A generated file of 300,000 list elements takes a while each time: fewer runs. */
		int runs = len > (1u << 20) ? 5 : 2000;
		double *tp = calloc((size_t)runs, sizeof(double)), *cp = calloc((size_t)runs, sizeof(double));

		if (!buf || !tp || !cp) {
			fprintf(stderr, "bench_config: cannot read %s\n", argv[a]);
			return 1;
		}
		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		for (int i = 0; i < runs; i++) {
			struct toml_table *t;
			struct config c;
			double t0 = now_us();

			if (toml_parse(buf, len, &t, NULL) == 0)
				toml_free(t);
			tp[i] = now_us() - t0;
			t0 = now_us();
			if (config_init(&c) == 0) {
				(void)config_load_buffer(&c, name, buf, len, &diag);
				(void)config_finalize(&c);
				config_free(&c);
			}
			cp[i] = now_us() - t0;
		}
		qsort(tp, (size_t)runs, sizeof(double), cmp_double);
		qsort(cp, (size_t)runs, sizeof(double), cmp_double);
		printf("%-28s %6zu %12.1f %10.1f %12.1f %10.1f\n", name, lines, tp[runs / 2],
		       tp[runs * 95 / 100], cp[runs / 2], cp[runs * 95 / 100]);
		free(tp);
		free(cp);
		free(buf);
	}
	printf("target: well under 1000 us for air's example configuration (full.air.toml), and\n"
	       "well under a second for the 300,000-element list (list-300k.toml; under ASan too)\n");
	return 0;
}
