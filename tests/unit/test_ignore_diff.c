/*
 * The differential test of ignore.c against the real git: a tree with a
 * corpus of .gitignore files, and for every file and directory in it our
 * answer must equal `git check-ignore`'s. A second corpus puts one generated
 * pattern in each of many directories to stress the glob matcher. The last
 * ones add git's repository-wide lists: .git/info/exclude and
 * core.excludesFile (its default under $XDG_CONFIG_HOME, ~/.gitconfig,
 * ~/.config/git/config and the repository's config, "~/" expansion), also
 * seen from a subdirectory root. HOME and XDG_CONFIG_HOME point into a
 * temporary directory for git and for us: the real ones are never read.
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

#include "gitexcl.h"
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
	/* HOME, XDG_CONFIG_HOME and GIT_CONFIG_NOSYSTEM come from main(), the same for git as for us. */
	snprintf(cmd, sizeof(cmd), "cd %s && git check-ignore --no-index -v -n -z --stdin <%s >%s", t->dir,
		 list, out);
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

/*
 * Walks t, asks git and ignore.c about every path; returns the mismatches
 * (each printed). With sub, ignore.c's root is t's directory sub, and only
 * the paths below it are compared.
 */
static size_t compare_in(struct tree *t, const char *name, const char *sub)
{
	struct ignore *ig;
	bool *want;
	size_t bad = 0, nign = 0, ncmp = 0, slen = sub ? strlen(sub) : 0;
	char root[256];

	/* A tree may be compared more than once: walk it afresh. */
	for (size_t i = 0; i < t->n; i++)
		free(t->paths[i]);
	free(t->paths);
	free(t->is_dir);
	t->paths = NULL;
	t->is_dir = NULL;
	t->n = 0;
	walking = t;
	assert_int_equal(nftw(t->dir, collect, 32, FTW_PHYS), 0);
	walking = NULL;
	want = calloc(t->n, sizeof(bool));
	assert_non_null(want);
	git_verdicts(t, want);
	snprintf(root, sizeof(root), "%s%s%s", t->dir, sub ? "/" : "", sub ? sub : "");
	assert_int_equal(ignore_new(&ig, root, IGNORE_GITIGNORE), 0);
	for (size_t i = 0; i < t->n; i++) {
		const char *rel = t->paths[i];
		bool got;

		if (sub && (strncmp(rel, sub, slen) != 0 || rel[slen] != '/'))
			continue;
		rel += slen + (sub ? 1 : 0);
		assert_int_equal(ignore_check(ig, rel, t->is_dir[i], &got), 0);
		nign += want[i];
		ncmp++;
		if (got != want[i]) {
			fprintf(stderr, "MISMATCH %s%s: git says %s, we say %s\n", t->paths[i],
				t->is_dir[i] ? "/" : "", want[i] ? "ignored" : "kept",
				got ? "ignored" : "kept");
			bad++;
		}
	}
	printf("%s: %zu paths compared with git check-ignore (%zu ignored), %zu mismatches\n", name, ncmp,
	       nign, bad);
	ignore_free(ig);
	free(want);
	return bad;
}

static size_t compare(struct tree *t, const char *name)
{
	return compare_in(t, name, NULL);
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

/* The temporary home of main(): HOME for git and for us. */
static char home[64];

static void write_home(const char *rel, const char *text)
{
	char parent[256], *slash;

	snprintf(parent, sizeof(parent), "%s", rel);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		make_dirs(home, parent);
	}
	write_file(home, rel, text, strlen(text));
}

static void clear_home(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/.config %s/.gitconfig %s/xdg %s/global-ignore", home, home,
		 home, home);
	assert_int_equal(system(cmd), 0);
	unsetenv("XDG_CONFIG_HOME");
}

/* A tree for the repository-wide lists: the names below in the root, in sub/ and in sub/deep/. */
static void git_lists_tree(struct tree *t)
{
	static const char *const dirs2[] = { "sub/deep", "sub/only", "d1", "sub/d1" };
	static const char *const files[] = { "a.info",   "b.global",   "keep.global", "both.x",   "top.anch",
					     "sub.anch", "reinc.info", "x.txt",       "d1/f.txt", "only/f" };
	static const char *const where[] = { "", "sub/", "sub/deep/" };
	const char *info;

	tree_init(t);
	for (size_t i = 0; i < sizeof(dirs2) / sizeof(dirs2[0]); i++)
		make_dirs(t->dir, dirs2[i]);
	make_dirs(t->dir, "sub/deep/d1");
	make_dirs(t->dir, "only");
	make_dirs(t->dir, "sub/deep/only");
	for (size_t w = 0; w < 3; w++)
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char rel[256];

			snprintf(rel, sizeof(rel), "%s%s", where[w], files[i]);
			touch(t->dir, rel);
		}
	info = "# info/exclude\n*.info\n!reinc.info\nboth.x\n/top.anch\nsub/sub.anch\nd1/\n";
	write_file(t->dir, ".git/info/exclude", info, strlen(info));
	/* A .gitignore below the root wins over both lists: it re-includes what info/exclude ignores. */
	write_file(t->dir, "sub/deep/.gitignore", "!a.info\n", 8);
}

/* The default core.excludesFile: $XDG_CONFIG_HOME/git/ignore, then ~/.config/git/ignore. */
static void test_info_exclude_and_default_excludes(void **state)
{
	static const char global[] = "*.global\n!keep.global\n!both.x\nreinc.info\nonly\n";
	struct tree t;
	char xdg[128];

	(void)state;
	clear_home();
	git_lists_tree(&t);
	/* ~/.config/git/ignore, XDG_CONFIG_HOME unset. */
	write_home(".config/git/ignore", global);
	assert_int_equal(compare(&t, "info/exclude + ~/.config/git/ignore"), 0);
	assert_int_equal(compare_in(&t, "the same from root sub/", "sub"), 0);
	/* $XDG_CONFIG_HOME/git/ignore instead (~/.config's is then not read). */
	snprintf(xdg, sizeof(xdg), "%s/xdg", home);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	write_home("xdg/git/ignore", "x.txt\n");
	assert_int_equal(compare(&t, "info/exclude + $XDG_CONFIG_HOME/git/ignore"), 0);
	tree_free(&t);
	clear_home();
}

/* core.excludesFile set: in ~/.gitconfig with "~/", overridden by the repository's config. */
static void test_core_excludes_file(void **state)
{
	struct tree t;

	(void)state;
	clear_home();
	git_lists_tree(&t);
	/* Present but not used: the setting wins over the default. */
	write_home(".config/git/ignore", "x.txt\n");
	write_home("global-ignore", "*.global\n!keep.global\n");
	write_home(".gitconfig", "# user\n[user]\n\tname = x\n[core \"sub\"]\n\texcludesFile = nothing\n"
				 "[Core]\n\tExcludesFile = \"~/global-ignore\" ; a comment\n");
	assert_int_equal(compare(&t, "core.excludesFile in ~/.gitconfig"), 0);
	assert_int_equal(compare_in(&t, "the same from root sub/", "sub"), 0);
	/* The repository's config comes last: a path relative to the top of the work tree. */
	write_file(t.dir, "repo-ignore", "x.txt\nkeep.*\n", strlen("x.txt\nkeep.*\n"));
	{
		char cmd[512];

		/* A header with its variable on the same line, as git allows. */
		snprintf(cmd, sizeof(cmd), "printf '[core] excludesfile = repo-ignore\\n' >>%s/.git/config",
			 t.dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(compare(&t, "core.excludesFile in .git/config"), 0);
	/* Set to "" there: no excludes file at all, not even the default. */
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "git -C %s config core.excludesFile ''", t.dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(compare(&t, "core.excludesFile = \"\""), 0);
	tree_free(&t);
	clear_home();
}

/* git-config(1)'s syntax, as far as core.excludesFile needs it; each value is what `git config -f` read
 * (git 2.39); the -EINVAL ones git refuses ("bad config line", "missing value"), and so does every git
 * command there. */
static void test_gitconfig_parser(void **state)
{
	static const struct {
		const char *text;
		int r;
		const char *value;
	} cases[] = {
		{ "[core]\n\texcludesFile = ~/.gitignore\n", 1, "~/.gitignore" },
		{ "[CORE]\nEXCLUDESFILE=a\n", 1, "a" },
		{ "[core] excludesfile = a\n", 1, "a" },
		{ "[core]\nexcludesfile = a\nexcludesfile = b\n", 1, "b" },
		{ "[core]\nexcludesfile = \"a b\" ; comment\n", 1, "a b" },
		{ "[core]\nexcludesfile = a   b  # comment\n", 1, "a   b" },
		{ "[core]\nexcludesfile = \"a#b;c\"\n", 1, "a#b;c" },
		{ "[core]\nexcludesfile = a\\\n  b\n", 1, "a  b" },
		{ "[core]\nexcludesfile = \"a\\\\b\\\"c\\td\"\n", 1, "a\\b\"c\td" },
		{ "[core \"x\"]\nexcludesfile = a\n", 0, NULL },
		{ "[core.x]\nexcludesfile = a\n", 0, NULL },
		{ "[user]\nexcludesfile = a\n[core]\nbare\n", 0, NULL },
		{ "[core]\nexcludesfile =\n", 1, "" },
		{ "\xef\xbb\xbf[core]\r\nexcludesfile = a\r\n", 1, "a" },
		/* git refuses these files outright. */
		{ "[core]\nexcludesfile = a\\qb\n", -EINVAL, NULL },
		{ "[core]\nexcludesfile\n", -EINVAL, NULL },
		{ "[core]\nexcludesfile = \"a\n", -EINVAL, NULL },
		{ "[core\nexcludesfile = a\n", -EINVAL, NULL },
		{ "[core]\n=a\n", -EINVAL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *v = (char *)"unset";
		int r = gitconfig_excludes_file(cases[i].text, strlen(cases[i].text), &v);

		if (r != cases[i].r || (cases[i].value ? !v || strcmp(v, cases[i].value) != 0 : v != NULL))
			fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, r, v ? v : "(null)", cases[i].r,
				 cases[i].value ? cases[i].value : "(null)");
		free(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_corpus),
		cmocka_unit_test(test_generated_patterns),
		cmocka_unit_test(test_nul_ends_rule),
		cmocka_unit_test(test_info_exclude_and_default_excludes),
		cmocka_unit_test(test_core_excludes_file),
		cmocka_unit_test(test_gitconfig_parser),
	};
	char cmd[128];
	int failed;

	/* git and ignore.c read the same home, a temporary one: never the real one, nor /etc/gitconfig. */
	snprintf(home, sizeof(home), "/tmp/nsreload-ignore-home-XXXXXX");
	if (!mkdtemp(home))
		return 1;
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GIT_CONFIG_GLOBAL");
	unsetenv("GIT_CONFIG_SYSTEM");
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	return system(cmd) == 0 ? failed : 1;
}
