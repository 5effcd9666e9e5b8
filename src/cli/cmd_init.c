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

enum { INIT_FROM_AIR = 1 };

static const struct opt init_opts_table[] = {
	{ "--from-air", 0, NULL, OPT_OPTIONAL, "FILE",
	  "carry over the values of an air configuration\n(default .air.toml); each says where it came from",
	  INIT_FROM_AIR, .complete = OPT_COMPLETE_FILE },
	{ NULL },
};

const struct opts_cmd cmd_init_spec = {
	.name = "init",
	.synopsis = "[--from-air [FILE]]",
	.summary = "write a commented " INIT_FILE,
	.about = "Writes " INIT_FILE " in the current directory with every key, its default\n"
		 "and a line on what it does. It never overwrites an existing file.",
	.tables = { init_opts_table },
	.epilogue = "Exit status: 0 written, 1 the file exists or cannot be written, 2 usage or\n"
		    "configuration error.",
};

static int take_init_option(void *data, const struct opt *o, const char *value, const char *written)
{
	(void)o;
	(void)written;
	*(const char **)data = value ? value : ".air.toml";
	return 0;
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
	int first, r;

	r = cli_parse(&cmd_init_spec, argc, argv, take_init_option, &air, &first);
	if (r == 0 && first < argc)
		r = cli_unexpected(&cmd_init_spec, argv[first]);
	if (r != 0)
		return r > 0 ? 0 : 2;
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
