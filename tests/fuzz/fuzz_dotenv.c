/*
 * libFuzzer target for dotenv_parse(): any input either parses into
 * well-formed variables or fails with a located message, and never leaks,
 * overruns or leaves a half-merged result.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"

static int is_key(const char *k)
{
	if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
		return 0;
	for (k++; *k; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
		      *k == '_' || *k == '.'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *base[] = { "PATH=/bin", "HOME=/", NULL };
	struct dotenv d = { .env = base }; /* $VAR expansion consults it */
	char err[256] = "", **envp;
	size_t n;
	int r;

	r = dotenv_parse((const char *)data, size, "f", &d, err, sizeof(err));
	if (r < 0) {
		if (r != -EINVAL && r != -ENOMEM)
			abort();
		/* A failed parse keeps nothing and says where. */
		if (d.n != 0 || (r == -EINVAL && strncmp(err, "f:", 2) != 0))
			abort();
		return 0;
	}
	for (size_t i = 0; i < d.n; i++) {
		if (!d.v[i].key || !d.v[i].value || !is_key(d.v[i].key) || d.v[i].line < 1)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(d.v[i].key, d.v[j].key) == 0)
				abort();
	}
	/* Parsing the same text again adds nothing: the earlier values win. */
	n = d.n;
	if (dotenv_parse((const char *)data, size, "f", &d, err, sizeof(err)) != 0 || d.n != n)
		abort();
	if (dotenv_envp(base, &d, &envp) == 0) {
		size_t count = 0;
		while (envp[count])
			count++;
		if (count < 2 || count > 2 + d.n)
			abort();
		dotenv_envp_free(envp);
	}
	dotenv_free(&d);
	return 0;
}
