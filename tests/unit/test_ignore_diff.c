/*
 * The differential test of ignore.c against the real git: a tree with a
 * corpus of .gitignore files, and for every file and directory in it our
 * answer must equal `git check-ignore`'s. A second corpus puts one generated
 * pattern in each of many directories to stress the glob matcher.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ignore.h"

struct tree {
	char dir[64];
	char **paths;
	bool *is_dir;
	size_t n;
};

static void write_file(const char *dir, const char *rel, const char *text, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void make_dirs(const char *dir, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
	if (mkdir(path, 0755) < 0)
		assert_int_equal(errno, EEXIST);
}

/* Creates a file unless something (a directory of the same name) is there. */
static void touch(const char *dir, const char *rel)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (lstat(path, &st) == 0)
		return;
	write_file(dir, rel, "x\n", 2);
}

/* nftw has no user pointer; the walk fills this one tree at a time. */
static struct tree *walking;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel = path + strlen(walking->dir) + 1;

	(void)st;
	if (ftw->level == 0)
		return 0;
	if (strcmp(rel, ".git") == 0 || strncmp(rel, ".git/", 5) == 0)
		return 0;
	walking->paths = realloc(walking->paths, (walking->n + 1) * sizeof(char *));
	walking->is_dir = realloc(walking->is_dir, (walking->n + 1) * sizeof(bool));
	assert_non_null(walking->paths);
	assert_non_null(walking->is_dir);
	walking->paths[walking->n] = strdup(rel);
	walking->is_dir[walking->n] = type == FTW_D;
	walking->n++;
	return 0;
}

static bool have_git(void)
{
	return system("git --version >/dev/null 2>&1") == 0;
}

static void tree_init(struct tree *t)
{
	char cmd[256];

	if (!have_git())
		skip();
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/nsreload-ignore-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(cmd, sizeof(cmd), "git -C %s init -q", t->dir);
	assert_int_equal(system(cmd), 0);
}

static void tree_free(struct tree *t)
{
	char cmd[256];

	for (size_t i = 0; i < t->n; i++)
		free(t->paths[i]);
	free(t->paths);
	free(t->is_dir);
	snprintf(cmd, sizeof(cmd), "%s%s", getenv("KEEP_TREE") ? "echo kept " : "rm -rf ", t->dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Asks git about every path of t; ignored[i] is set when a non-negated
 * pattern decided path i. The user's and the system's git config must not
 * bring in their own excludes, hence the bare HOME.
 */
static void git_verdicts(struct tree *t, bool *ignored)
{
	char list[128], out[128], cmd[1024];
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, i = 0;
	ssize_t n;
	char *field[4];
	int nf = 0;

	snprintf(list, sizeof(list), "%s.list", t->dir);
	snprintf(out, sizeof(out), "%s.out", t->dir);
	f = fopen(list, "wb");
	assert_non_null(f);
	for (size_t k = 0; k < t->n; k++)
		fwrite(t->paths[k], 1, strlen(t->paths[k]) + 1, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && HOME=%s XDG_CONFIG_HOME=%s GIT_CONFIG_NOSYSTEM=1 "
		 "git check-ignore --no-index -v -n -z --stdin <%s >%s",
		 t->dir, t->dir, t->dir, list, out);
	assert_int_equal(system(cmd), 0);
	f = fopen(out, "rb");
	assert_non_null(f);
	/* Four NUL-terminated fields per path: source, line, pattern, path. */
	while ((n = getdelim(&buf, &cap, '\0', f)) > 0) {
		field[nf] = strdup(buf);
		if (++nf < 4)
			continue;
		nf = 0;
		assert_true(i < t->n);
		assert_string_equal(field[3], t->paths[i]);
		ignored[i] = field[0][0] != '\0' && field[2][0] != '!';
		i++;
		for (int k = 0; k < 4; k++)
			free(field[k]);
	}
	free(buf);
	fclose(f);
	assert_int_equal(i, t->n);
	unlink(list);
	unlink(out);
}

/* Walks t, asks git and ignore.c about every path; returns the mismatches (each printed). */
static size_t compare(struct tree *t, const char *name)
{
	struct ignore *ig;
	bool *want;
	size_t bad = 0, nign = 0;

	walking = t;
	assert_int_equal(nftw(t->dir, collect, 32, FTW_PHYS), 0);
	walking = NULL;
	want = calloc(t->n, sizeof(bool));
	assert_non_null(want);
	git_verdicts(t, want);
	assert_int_equal(ignore_new(&ig, t->dir, IGNORE_GITIGNORE), 0);
	for (size_t i = 0; i < t->n; i++) {
		bool got;

		assert_int_equal(ignore_check(ig, t->paths[i], t->is_dir[i], &got), 0);
		nign += want[i];
		if (got != want[i]) {
			fprintf(stderr, "MISMATCH %s%s: git says %s, we say %s\n", t->paths[i],
				t->is_dir[i] ? "/" : "", want[i] ? "ignored" : "kept",
				got ? "ignored" : "kept");
			bad++;
		}
	}
	printf("%s: %zu paths compared with git check-ignore (%zu ignored), %zu mismatches\n", name, t->n,
	       nign, bad);
	ignore_free(ig);
	free(want);
	return bad;
}

static const struct {
	const char *path;
	const char *text;
} corpus[] = {
	{ ".gitignore", "# a comment line\n"
			"\\#hash.txt\n"
			"\\!bang.txt\n"
			"*.log\n"
			"!keep.log\n"
			"/rootonly.txt\n"
			"build/\n"
			"!build/keep.txt\n"
			"logs/*\n"
			"!logs/important/\n"
			"docs/**/*.tmp\n"
			"**/cache\n"
			"**/gen/*.go\n"
			"out/**\n"
			"!out/**/\n"
			"\n"
			"   \n"
			"tsp\\ \n"
			"trailing.txt   \n"
			"*.[oa]\n"
			"file[0-9].dat\n"
			"file[!0-9].bin\n"
			"na[^x]y\n"
			"[[:upper:]]*.up\n"
			"q?.txt\n"
			"a/**/b\n"
			"foo/bar\n"
			"/anchored/dir/\n"
			"secret*\n"
			"!secret-public*\n"
			"nodir/\n"
			"*.swp\n"
			"~*\n"
			"tmp\n"
			"with space.txt\n"
			"**/deep/**/x.c\n"
			"abc/**\n"
			"*.c\n"
			"!main.c\n"
			"[a-c]-[x-z].r\n"
			"star*middle*end\n"
			"\\*literal\n"
			"\\?q\n"
			"back\\\\slash\n"
			"lone\\\n"
			"[]]br\n"
			"[!]]nb\n"
			"[a-]dash\n"
			"[[:digit:][:lower:]]cls\n"
			"[[:bogus:]]never\n"
			"[unclosed\n"
			"x**y\n"
			"!/notes/\n"
			"//twoslash\n"
			"mid/**/\n"
			"*/onedeep.txt\n"
			"tab\t\n"
			"\\ lead.txt\n" },
	{ "sub/.gitignore", "!*.log\n"
			    "/local.txt\n"
			    "inner/\n"
			    "!keep.c\n"
			    "x/y\n"
			    "*.keep\n"
			    "!important.txt\n" },
	{ "sub/deeper/.gitignore", "*\n!*.go\n!*/\n" },
	{ "logs/important/.gitignore", "debug.txt\n" },
	{ "build/.gitignore", "!*\n" },
	{ "crlf/.gitignore", "a.txt\r\nb.txt  \r\n" },
	{ "bom/.gitignore", "\xef\xbb\xbf"
			    "bomfirst\n" },
	{ "neg/.gitignore", "*.txt\n!keep*.txt\nkeep2.txt\n" },
	{ "x/.gitignore", "/gen/\n!foo\n" },
	{ "all/.gitignore", "**\n!**/\n!*.keep\n!b*\n" },
};

static const char *const dirs[] = {
	"sub/deeper/more",
	"sub/inner/z",
	"sub/x/y",
	"logs/important",
	"logs/other",
	"build/sub",
	"docs/a/b",
	"docs/c",
	"cache",
	"x/cache/k",
	"gen",
	"x/gen",
	"x/y/gen",
	"out/o1/o2",
	"a/b",
	"a/x/b",
	"a/x/y/b",
	"anchored/dir",
	"x/anchored/dir",
	"nodir",
	"x/nodir",
	"deep/m/n",
	"deep/x.c",
	"tmp/t",
	"x/tmp",
	"abc/d",
	"foo",
	"x/foo",
	"crlf",
	"bom",
	"neg",
	"notes",
	"mid/k/l",
	"with space",
	"B",
	"q1",
	"src/Main",
	"all/s/t",
};

static const char *const names[] = {
	"a.log",
	"keep.log",
	"rootonly.txt",
	"keep.txt",
	"important.txt",
	"debug.txt",
	"a.tmp",
	"x.go",
	"main.c",
	"util.c",
	"keep.c",
	"x.c",
	"a.o",
	"lib.a",
	"file1.dat",
	"filex.dat",
	"file1.bin",
	"filex.bin",
	"nazy",
	"naxy",
	"Big.up",
	"small.up",
	"q1.txt",
	"qq.txt",
	"bar",
	"b",
	"secret.txt",
	"secret-public.txt",
	"x.swp",
	"~backup",
	"tmp",
	"nodir",
	"tsp ",
	"tsp",
	"trailing.txt",
	"with space.txt",
	"local.txt",
	"#hash.txt",
	"!bang.txt",
	"*literal",
	"xliteral",
	"?q",
	"aq",
	"back\\slash",
	"backslash",
	"starXmiddleYend",
	"starmiddleend",
	"a.txt",
	"b.txt",
	"bomfirst",
	"a-y.r",
	"d-y.r",
	"y",
	"]br",
	"xnb",
	"]nb",
	"adash",
	"-dash",
	"5cls",
	"xcls",
	"Xcls",
	"never",
	"[unclosed",
	"xy",
	"xaby",
	"x/y",
	"z.keep",
	"keep1.txt",
	"keep2.txt",
	"other.txt",
	"twoslash",
	"onedeep.txt",
	"tab\t",
	"tab",
	" lead.txt",
	"lead.txt",
	"lone\\",
	"lone",
	"cache",
	"gen",
	"foo",
};

static void test_git_corpus(void **state)
{
	struct tree t;
	size_t forms = 0;

	(void)state;
	tree_init(&t);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		make_dirs(t.dir, dirs[i]);
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		char parent[256];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", corpus[i].path);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			make_dirs(t.dir, parent);
		}
		write_file(t.dir, corpus[i].path, corpus[i].text, strlen(corpus[i].text));
		for (const char *p = corpus[i].text; *p; p++)
			forms += *p == '\n';
	}
	/* Every name in the root and in every directory of the corpus, below the ignored ones too. */
	for (size_t d = 0; d <= sizeof(dirs) / sizeof(dirs[0]); d++) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char rel[512], sub[512];
			const char *slash = strrchr(names[i], '/');

			if (d == sizeof(dirs) / sizeof(dirs[0]))
				snprintf(rel, sizeof(rel), "%s", names[i]);
			else
				snprintf(rel, sizeof(rel), "%s/%s", dirs[d], names[i]);
			if (slash) {
				snprintf(sub, sizeof(sub), "%.*s", (int)(strrchr(rel, '/') - rel), rel);
				make_dirs(t.dir, sub);
			}
			touch(t.dir, rel);
		}
	}
	printf("git corpus: %zu ignore-file lines in %zu files\n", forms, sizeof(corpus) / sizeof(corpus[0]));
	assert_int_equal(compare(&t, "git corpus"), 0);
	tree_free(&t);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_generated_patterns(void **state)
{
	static const char *const pieces[] = { "*", "**",   "?",    "a",     "b",    "c",   "/",
					      "/", "[ab]", "[!a]", "[a-c]", "[^b]", "\\*", "\\a",
					      ".", "x",    "**/",  "/**",   "/**/", "!" };
	static const char *const paths[] = { "a",       "b",       "ab",    "ba",    "abc",   "a/b",
					     "a/c",     "b/a",     "a/b/c", "a/a/a", "c/b/a", "x.a",
					     "a.x",     "ax/b",    "a/xb",  "*",     "a*",    "c/c",
					     "abc/abc", "b/b/b/b", "ca/cb", "!a",    "a.b/c" };
	uint32_t seed = 0x5eed1e55;
	struct tree t;
	size_t npat = 300;

	(void)state;
	tree_init(&t);
	for (size_t k = 0; k < npat; k++) {
		char dir[32], pat[128] = "", rel[256];
		size_t np = 1 + next_random(&seed) % 5;

		snprintf(dir, sizeof(dir), "p%03zu", k);
		make_dirs(t.dir, dir);
		for (size_t i = 0; i < np; i++) {
			const char *piece = pieces[next_random(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];

			/* "!" only means something in front. */
			if (strcmp(piece, "!") == 0 && i != 0)
				continue;
			strcat(pat, piece);
		}
		strcat(pat, "\n");
		snprintf(rel, sizeof(rel), "%s/.gitignore", dir);
		write_file(t.dir, rel, pat, strlen(pat));
		/* Directories first, so that "a" is the directory that "a/b" needs. */
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			const char *slash = strrchr(paths[i], '/');

			if (slash) {
				snprintf(rel, sizeof(rel), "%s/%.*s", dir, (int)(slash - paths[i]), paths[i]);
				make_dirs(t.dir, rel);
			}
		}
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			snprintf(rel, sizeof(rel), "%s/%s", dir, paths[i]);
			touch(t.dir, rel);
		}
	}
	assert_int_equal(compare(&t, "generated patterns"), 0);
	tree_free(&t);
}

/*
 * Git reads each line of an ignore file as a C string: a NUL ends the rule
 * there, so "x\0/y" is the unanchored "x" (found writing fuzz_ignore).
 */
static void test_nul_ends_rule(void **state)
{
	static const char text[] = "x\0/y\n/d/w \0 trailing\nz\0\r\n";
	static const char *const files[] = { "x", "d/x", "e/f/x", "d/w", "y", "d/y", "z", "e/z" };
	struct tree t;

	(void)state;
	tree_init(&t);
	make_dirs(t.dir, "d");
	make_dirs(t.dir, "e/f");
	write_file(t.dir, ".gitignore", text, sizeof(text) - 1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(t.dir, files[i]);
	assert_int_equal(compare(&t, "NUL in a rule"), 0);
	tree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_corpus),
		cmocka_unit_test(test_generated_patterns),
		cmocka_unit_test(test_nul_ends_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
