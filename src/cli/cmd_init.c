/* nsreload init: writes a commented .nsreload.toml, optionally carrying an .air.toml's values. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "config.h"
#include "safefs.h"
#include "util.h"

#define INIT_FILE ".nsreload.toml"

static void init_usage(FILE *f)
{
	fputs("usage: nsreload init [--from-air [FILE]]\n"
	      "\n"
	      "Writes " INIT_FILE " in the current directory with every key, its default\n"
	      "and a line on what it does. It never overwrites an existing file.\n"
	      "\n"
	      "  --from-air [FILE]   carry over the values of an air configuration\n"
	      "                      (default .air.toml); each says where it came from\n",
	      f);
}

/*
 * Creates path only if it does not exist yet (O_EXCL: not through a symlink either), and writes c into
 * it. On failure the half-written file is removed only while path still names it.
 */
static int write_new_file(const char *path, const struct config *c)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644), r = 0;
	struct stat sb;
	FILE *f;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	f = fdopen(fd, "w");
	if (f) {
		config_write_toml(f, c);
		if (ferror(f))
			r = -EIO;
		if (fclose(f) != 0 && r == 0)
			r = -errno;
	} else {
		r = -errno;
		close(fd);
	}
	if (r < 0)
		(void)safefs_unlink_if(AT_FDCWD, path, sb.st_dev, sb.st_ino);
	return r;
}

int cmd_init(int argc, char **argv)
{
	const char *air = NULL;
	struct config c;
	char esc[1024];
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			init_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--from-air") == 0) {
			air = i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : ".air.toml";
		} else if (strncmp(argv[i], "--from-air=", 11) == 0) {
			air = argv[i] + 11;
		} else {
			fprintf(stderr, "nsreload init: unknown argument '%s'\n",
				text_escape(esc, sizeof(esc), argv[i]));
			init_usage(stderr);
			return 2;
		}
	}
	if (access(INIT_FILE, F_OK) == 0) {
		fprintf(stderr, "nsreload init: %s already exists; not overwriting it\n", INIT_FILE);
		return 1;
	}
	r = config_init(&c);
	if (r == 0 && air)
		r = config_load(&c, air, NULL);
	if (r == 0)
		r = config_finalize(&c);
	if (r < 0) {
		config_free(&c);
		if (r == -ENOMEM)
			fprintf(stderr, "nsreload init: %s\n", strerror(-r));
		return r == -ENOMEM ? 1 : 2;
	}
	r = write_new_file(INIT_FILE, &c);
	config_free(&c);
	if (r == -EEXIST) {
		fprintf(stderr, "nsreload init: %s already exists; not overwriting it\n", INIT_FILE);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "nsreload init: cannot write %s: %s\n", INIT_FILE, strerror(-r));
		return 1;
	}
	if (air)
		printf("wrote %s with the values of %s\n", INIT_FILE, text_escape(esc, sizeof(esc), air));
	else
		printf("wrote %s\n", INIT_FILE);
	return 0;
}
