/*
 * replay_main - runs a fuzz target's LLVMFuzzerTestOneInput once on each
 * file named, or on each file in each directory named, without libFuzzer:
 * this is how a gcc build (CI's ASan+UBSan one) replays the regressions and
 * seeds. A failed check aborts, as under libFuzzer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { REPLAY_TIMEOUT_S = 10 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file, in a buffer of exactly its size so that overreads show. */
static int replay_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t n = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "replay: %s: %s\n", path, r < 0 ? strerror(errno) : "short read");
			free(buf);
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	/*
	 * A hang is a failure too: like libFuzzer's -timeout, SIGALRM's default
	 * action ends the run when one input takes far longer than any should.
	 */
	alarm(REPLAY_TIMEOUT_S);
	LLVMFuzzerTestOneInput(buf, n);
	alarm(0);
	free(buf);
	return 0;
}

static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), bad = 0;

	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *path;

		if (ents[i]->d_name[0] != '.' && asprintf(&path, "%s/%s", dir, ents[i]->d_name) >= 0) {
			if (replay_file(path) < 0)
				bad = -1;
			else
				(*count)++;
			free(path);
		}
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				bad = 1;
		} else if (replay_file(argv[i]) < 0) {
			bad = 1;
		} else {
			count++;
		}
	}
	printf("replay: %zu inputs\n", count);
	return bad;
}
