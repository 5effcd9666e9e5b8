/*
 * soak_test - restart cycles of `nsreload run`: for each rung x fixture, one
 * nsreload run (real config file, real inotify, JSON log) restarts the app N
 * times on writes to a watched file. After each restart no process of an
 * earlier generation may be alive; at the end, after SIGTERM, no process of
 * the case, no cgroup of it, no fd more than after the warm-up, and less than
 * 1% more RSS.
 *
 * Usage: soak_test <path-to-nsreload> <fixtures-dir>
 *
 * Generations are told apart by NSRELOAD_SOAK_GEN=<case>-<n> in the app's
 * environment: the app is a shell line that reads n from a file the driver
 * writes before each restart, exports it, says "NSRSOAK GEN n" and execs the
 * fixture, whose "READY" then says that generation's tree is complete. The
 * whole case carries NSRELOAD_TEST_TOKEN=<case> in nsreload's environment.
 *
 * The "dlv" case runs a Go HTTP server, built once, under `dlv exec
 * --headless --continue`: a generation is ready when the server answers on
 * its port with its own generation (air #216: the old debuggee must not keep
 * the port).
 *
 * Sanitizer builds: ASan keeps freed memory in a quarantine (256 MB by
 * default) so that a use after free is caught, and nsreload's RSS then grows
 * with every allocation, whatever is leaked: 50 cycles of pgroup x zombies
 * went from 50 to 148 MB, and with quarantine_size_mb=0 stayed flat to the
 * KB. So when nsreload carries a sanitizer runtime, RSS is reported and not
 * enforced, unless ASAN_OPTIONS turns the quarantine off; leaks are then
 * LeakSanitizer's job at nsreload's exit, and any sanitizer report fails
 * the case. Survivors, cgroups and fds are enforced in every build.
 *
 * Environment:
 *   NSRELOAD_SOAK_CYCLES        restarts per rung x fixture (default 50)
 *   NSRELOAD_TEST_RUNGS         cgroup2,pidns,cgroup2+pidns,pgroup,cgroup1,auto (default: all but auto)
 *   NSRELOAD_TEST_FIXTURES      fixture names, and dlv (default: every fixture, and dlv if installed)
 *   NSRELOAD_TEST_REQUIRE       rungs that must be available (missing = failure)
 *   NSRELOAD_CGROUP_PARENT      an existing cgroup to use as the parent instead of a fresh one
 *   NSRELOAD_CGROUP1_PARENT     likewise for cgroup1: a v1 freezer directory below our own freezer cgroup
 *   NSRELOAD_SOAK_STOP_TIMEOUT  box.stop_timeout of the runs (default 100ms: ignorer waits it out each cycle)
 *   TMPDIR                      where the work directory goes (default /tmp)
 *   NSRELOAD_TEST_VERBOSE       1: show the tail of nsreload's output of every case, keep the work dir
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/proctoken.h"

#define PROG             "soak_test"
#define TOKEN_VAR        "NSRELOAD_TEST_TOKEN"
#define GEN_VAR          "NSRELOAD_SOAK_GEN"
#define READY_TIMEOUT_MS 20000
#define DLV_TIMEOUT_MS   60000 /* dlv starts a debuggee: slower, and much slower under load */
#define EXIT_TIMEOUT_MS  30000
#define BUILD_TIMEOUT_MS 600000
#define LATE_CHECK_MS    1000
#define RSS_LIMIT_PCT    1.0
#define MAX_CASES        64
#define MAX_FIXTURES     32
#define MAX_SNAPSHOT     256
#define MAX_SHOWN        10

static const char *nsreload_path;
static const char *fixtures_dir;
static struct pt_buf pbuf;
static struct pt_cgroup cg;
/* The v1 freezer parent (NSRELOAD_CGROUP1_PARENT for every nsreload), and the parent of the case running. */
static struct pt_cgroup cg1;
static struct pt_cgroup *case_cg = &cg;
static bool verbose;
static bool sanitizer_build;
static bool rss_enforced;
static const char *stop_timeout = "100ms";
static char work_root[PATH_MAX];
static volatile sig_atomic_t interrupted;

struct rung {
	const char *name;
	const char *box; /* the --box value, NULL for auto */
	bool cgroup;
	bool v1; /* its boxes go below the v1 freezer parent (cg1), not the cgroup2 one */
	bool selected, available;
	char why[256];
};

static struct rung rungs[] = {
	{ "cgroup2", "cgroup2", true },
	{ "pidns", "pidns", false },
	{ "cgroup2+pidns", "cgroup2+pidns", true },
	{ "pgroup", "pgroup", false },
	{ "cgroup1", "cgroup1", false, true },
	{ "auto", NULL, true },
};
#define NRUNGS (sizeof(rungs) / sizeof(rungs[0]))

static char fixtures[MAX_FIXTURES][64];
static int nfixtures;

/* The Go server of the dlv case, built once. */
static struct {
	bool wanted, installed, available;
	char dlv[PATH_MAX], bin[PATH_MAX];
	char why[256];
} dlv;

struct result {
	const char *rung;
	char fixture[64];
	int cycles;    /* restarts done */
	int survivors; /* processes of earlier generations seen after a restart, or of the case after exit */
	int leaked_cg; /* cgroups grown during the cycles, or left after exit */
	int fds_before, fds_after;
	long rss_before, rss_after;
	int extra_starts; /* restarts nobody asked for */
	int killed_stops; /* stops that needed the kill after the stop timeout */
	double seconds;
	bool ok;
	char why[160]; /* the first failure */
};
static struct result results[MAX_CASES];
static int nresults;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* snprintf for paths and command lines: -ENAMETOOLONG instead of a silently cut result. */
static int fmt_to(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void fail(struct result *res, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("    FAIL [%s %s]: %s\n", res->rung, res->fixture, msg);
	if (res->ok)
		fmt_to(res->why, sizeof(res->why), "%s", msg);
	res->ok = false;
}

static int write_file(const char *path, const char *fmt, ...)
{
	char tmp[PATH_MAX + 8];
	va_list ap;
	FILE *f;
	int err = 0;

	/* Renamed into place: a reader never sees a half-written file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	va_start(ap, fmt);
	if (vfprintf(f, fmt, ap) < 0)
		err = -EIO;
	va_end(ap);
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	return err;
}

/* ---- nsreload under test --------------------------------------------------------------------- */

struct lines {
	char buf[8192];
	size_t len;
};

struct nsr {
	pid_t pid;
	int pidfd, out, err, log; /* log: everything read, for the tail on failure */
	int status;
	struct lines olines, elines;
	int gen_line;  /* the last "NSRSOAK GEN n" on stdout */
	int ready_gen; /* the generation whose READY came last */
	int run_starts, run_stops, killed_stops;
	bool addr_in_use, sanitizer, wrong_rung;
	char rung_seen[32];
	const char *want_rung; /* NULL for auto */
};

static void nsr_line(struct nsr *n, bool is_err, char *line)
{
	if (strcasestr(line, "address already in use"))
		n->addr_in_use = true;
	if (strstr(line, "Sanitizer") || strstr(line, "runtime error:"))
		n->sanitizer = true;
	if (!is_err) {
		if (strncmp(line, "NSRSOAK GEN ", 12) == 0)
			n->gen_line = atoi(line + 12);
		else if (strcmp(line, "READY") == 0)
			n->ready_gen = n->gen_line;
		return;
	}
	if (strstr(line, "\"event\":\"run_start\"")) {
		char *r = strstr(line, "\"rung\":\"");

		n->run_starts++;
		if (r) {
			r += 8;
			snprintf(n->rung_seen, sizeof(n->rung_seen), "%.*s", (int)strcspn(r, "\""), r);
			if (n->want_rung && strcmp(n->rung_seen, n->want_rung) != 0)
				n->wrong_rung = true;
		}
	} else if (strstr(line, "\"event\":\"run_stop\"")) {
		n->run_stops++;
		if (strstr(line, "\"killed\":true"))
			n->killed_stops++;
	}
}

/* Reads what fd has, splits it into lines; false at EOF or error. */
static bool nsr_read(struct nsr *n, int fd, struct lines *l, bool is_err)
{
	ssize_t got = read(fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
	char *start, *nl;

	if (got < 0)
		return errno == EINTR || errno == EAGAIN;
	if (got == 0)
		return false;
	if (n->log >= 0 && write(n->log, l->buf + l->len, (size_t)got) < 0) {
		close(n->log);
		n->log = -1;
	}
	l->len += (size_t)got;
	l->buf[l->len] = '\0';
	start = l->buf;
	while ((nl = strchr(start, '\n'))) {
		*nl = '\0';
		nsr_line(n, is_err, start);
		start = nl + 1;
	}
	l->len -= (size_t)(start - l->buf);
	memmove(l->buf, start, l->len);
	/* A line longer than the buffer is cut: it can be nothing we look for. */
	if (l->len == sizeof(l->buf) - 1)
		l->len = 0;
	return true;
}

/* Waits up to ms for output or nsreload's exit and handles it; reaps nsreload when it has exited. */
static void nsr_pump(struct nsr *n, int ms)
{
	struct pollfd pfd[3] = {
		{ .fd = n->out, .events = POLLIN },
		{ .fd = n->err, .events = POLLIN },
		{ .fd = n->pidfd, .events = POLLIN },
	};

	if (poll(pfd, 3, ms) > 0) {
		if (pfd[0].revents && !nsr_read(n, n->out, &n->olines, false)) {
			close(n->out);
			n->out = -1;
		}
		if (pfd[1].revents && !nsr_read(n, n->err, &n->elines, true)) {
			close(n->err);
			n->err = -1;
		}
	}
	if (n->status < 0) {
		int st;

		if (waitpid(n->pid, &st, WNOHANG) == n->pid)
			n->status = st;
	}
}

static void show_tail(const char *path)
{
	char cmd[PATH_MAX + 64];

	printf("      ---- last lines of nsreload's output (%s):\n", path);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "tail -n 25 '%s' | sed 's/^/      | /'", path);
	if (system(cmd) != 0)
		printf("      (could not show it)\n");
}

static int nsr_start(struct nsr *n, const struct rung *rg, const char *dir, const char *token, char *log_path)
{
	int outp[2], errp[2];
	char tok[256], par[PATH_MAX + 32];
	char *add[3] = { tok, NULL, NULL };
	char *argv[8];
	int a = 0;
	char box[64];
	char **envp;

	memset(n, 0, sizeof(*n));
	n->pid = -1;
	n->pidfd = n->out = n->err = -1;
	n->status = -1;
	n->gen_line = n->ready_gen = -1;
	n->want_rung = rg->box;
	n->log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	snprintf(tok, sizeof(tok), "%s=%s", TOKEN_VAR, token);
	/* Only where a cgroup may be made: the other rungs need no parent. */
	if (rg->cgroup && cg.parent[0]) {
		snprintf(par, sizeof(par), "NSRELOAD_CGROUP_PARENT=%s", cg.parent);
		add[1] = par;
	}
	argv[a++] = (char *)nsreload_path;
	argv[a++] = "run";
	argv[a++] = "--log-format=json";
	argv[a++] = "--color=never";
	if (rg->box) {
		snprintf(box, sizeof(box), "--box=%s", rg->box);
		argv[a++] = box;
	}
	argv[a] = NULL;
	if (pipe2(outp, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(outp[0]);
		close(outp[1]);
		return -errno;
	}
	envp = pt_envp_new(add);
	n->pid = envp ? fork() : -1;
	if (n->pid == 0) {
		pt_child_prepare();
		if (chdir(dir) < 0)
			_exit(126);
		dup2(outp[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		execve(argv[0], argv, envp);
		dprintf(STDERR_FILENO, PROG ": exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	pt_envp_free(envp);
	close(outp[1]);
	close(errp[1]);
	n->out = outp[0];
	n->err = errp[0];
	if (n->pid < 0) {
		close(n->out);
		close(n->err);
		n->out = n->err = -1;
		return -ENOMEM;
	}
	n->pidfd = pt_pidfd_open(n->pid);
	return 0;
}

/* Stops nsreload with sig and reaps it; false if it did not exit within ms. */
static bool nsr_stop(struct nsr *n, int sig, int ms)
{
	long long deadline = pt_now_ms() + ms;

	if (n->status < 0)
		kill(n->pid, sig);
	while (n->status < 0 && pt_now_ms() < deadline)
		nsr_pump(n, 50);
	/* Drain what is left, for the sanitizer and "address in use" checks. */
	for (int i = 0; i < 100 && (n->out >= 0 || n->err >= 0); i++)
		nsr_pump(n, 10);
	return n->status >= 0;
}

static void nsr_close(struct nsr *n)
{
	if (n->status < 0 && n->pid > 0) {
		kill(n->pid, SIGKILL);
		nsr_stop(n, SIGKILL, 5000);
	}
	if (n->out >= 0)
		close(n->out);
	if (n->err >= 0)
		close(n->err);
	if (n->pidfd >= 0)
		close(n->pidfd);
	if (n->log >= 0)
		close(n->log);
	n->out = n->err = n->pidfd = n->log = -1;
}

/* ---- what is measured -------------------------------------------------------------------------- */

static int count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static long rss_kb(pid_t pid)
{
	char path[64];
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pt_read_file(&pbuf, path) <= 0)
		return -1;
	p = strstr(pbuf.data, "VmRSS:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/* Directories below dir, recursively. */
static int count_cgroups(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		n += 1 + count_cgroups(sub);
	}
	closedir(d);
	return n;
}

/* The names directly under our parent, to tell what a case added from what was there. */
struct snapshot {
	char names[MAX_SNAPSHOT][64];
	int n;
};

static void snapshot_take(struct snapshot *s)
{
	DIR *d = case_cg->parent[0] ? opendir(case_cg->parent) : NULL;
	struct dirent *de;

	s->n = 0;
	if (!d)
		return;
	while ((de = readdir(d)) && s->n < MAX_SNAPSHOT) {
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			fmt_to(s->names[s->n++], sizeof(s->names[0]), "%s", de->d_name);
	}
	closedir(d);
}

static bool snapshot_has(const struct snapshot *s, const char *name)
{
	for (int i = 0; i < s->n; i++) {
		if (strcmp(s->names[i], name) == 0)
			return true;
	}
	return false;
}

/* Cgroups under our parent that were not in before, counted recursively; with remove, reported and removed.
 */
static int new_cgroups(const struct snapshot *before, bool remove)
{
	static struct snapshot now;
	int n = 0;

	snapshot_take(&now);
	for (int i = 0; i < now.n; i++) {
		char sub[PATH_MAX];

		if (snapshot_has(before, now.names[i]) ||
		    fmt_to(sub, sizeof(sub), "%s/%s", case_cg->parent, now.names[i]) < 0)
			continue;
		n += 1 + count_cgroups(sub);
		if (remove) {
			printf("      leaked cgroup %s (populated %d)\n", sub,
			       pt_cgroup_populated(&pbuf, sub));
			pt_cgroup_remove_tree(&pbuf, case_cg, sub);
		}
	}
	return n;
}

/* Accepts a generation number below the one in arg. */
static bool gen_is_older(const char *rest, size_t len, void *arg)
{
	char *end;
	long g = strtol(rest, &end, 10);

	return len > 0 && end == rest + len && g < *(int *)arg;
}

/* Processes of generations before gen: reported, watched for a moment, then killed. */
static int old_generations(const char *token, int gen)
{
	static pid_t pids[4096];
	struct pt_match m = { .accept = gen_is_older, .arg = &gen };
	int n;

	m.plen = (size_t)snprintf(m.prefix, sizeof(m.prefix), "%s=%s-", GEN_VAR, token);
	n = pt_find(&pbuf, &m, pids, 4096);
	if (n == 0)
		return 0;
	printf("      %d process(es) of generations before %d alive after its start:\n", n, gen);
	for (int i = 0; i < n && i < MAX_SHOWN; i++)
		pt_print_process(&pbuf, pids[i]);
	pt_kill_all(&pbuf, &m);
	return n;
}

/* Processes with the case's token after nsreload has exited: late ones are told from stuck ones. */
static int case_survivors(const char *token)
{
	static pid_t pids[4096];
	struct pt_match m;
	long long deadline;
	int n;

	pt_match_exact(&m, TOKEN_VAR, token);
	n = pt_find(&pbuf, &m, pids, 4096);
	if (n == 0)
		return 0;
	printf("      %d survivor(s) with token %s:\n", n, token);
	for (int i = 0; i < n && i < MAX_SHOWN; i++)
		pt_print_process(&pbuf, pids[i]);
	deadline = pt_now_ms() + LATE_CHECK_MS;
	while (pt_find(&pbuf, &m, pids, 1) > 0 && pt_now_ms() < deadline)
		pt_sleep_ms(5);
	printf("      (%s)\n", pt_find(&pbuf, &m, pids, 1) == 0 ? "they were only late: gone within a second"
								: "still there after a second: killing them");
	pt_kill_all(&pbuf, &m);
	return n;
}

/* ---- the dlv case ------------------------------------------------------------------------------ */

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* The body of GET / on 127.0.0.1:port into body; false when nothing answers. */
static bool http_get(int port, char *body, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 1 };
	static const char req[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	char resp[1024];
	size_t len = 0;
	char *hdr_end;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || write(fd, req, sizeof(req) - 1) < 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, resp + len, sizeof(resp) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(resp) - 1)
			break;
	}
	resp[len] = '\0';
	hdr_end = strstr(resp, "\r\n\r\n");
	if (hdr_end && strncmp(resp, "HTTP/1.", 7) == 0) {
		snprintf(body, size, "%s", hdr_end + 4);
		ok = true;
	}
out:
	close(fd);
	return ok;
}

static const char go_server[] =
	"package main\n"
	"\n"
	"import (\n"
	"\t\"fmt\"\n"
	"\t\"net/http\"\n"
	"\t\"os\"\n"
	")\n"
	"\n"
	"func main() {\n"
	"\tgen := os.Getenv(\"" GEN_VAR "\")\n"
	"\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) { "
	"fmt.Fprint(w, gen) })\n"
	"\tif err := http.ListenAndServe(\"127.0.0.1:\"+os.Getenv(\"APP_PORT\"), nil); err != "
	"nil {\n"
	"\t\tfmt.Println(\"listen:\", err)\n"
	"\t\tos.Exit(1)\n"
	"\t}\n"
	"}\n";

/* Builds the Go server once, with the flags a dlv user builds with. */
static void dlv_prepare(void)
{
	char go[PATH_MAX], dir[PATH_MAX + 16], path[PATH_MAX + 32], gocache[PATH_MAX + 32];
	char gopath[PATH_MAX + 32], log_path[PATH_MAX + 32];
	const char *cache = getenv("GOCACHE");
	long long t0 = pt_now_ms();
	int status = -1;
	pid_t pid;

	if (!pt_find_in_path("go", go, sizeof(go)) || !pt_find_in_path("dlv", dlv.dlv, sizeof(dlv.dlv))) {
		snprintf(dlv.why, sizeof(dlv.why), "go and dlv are not both installed");
		return;
	}
	dlv.installed = true;
	if (fmt_to(dir, sizeof(dir), "%s/goserver", work_root) < 0 ||
	    fmt_to(dlv.bin, sizeof(dlv.bin), "%s/server", dir) < 0 ||
	    fmt_to(log_path, sizeof(log_path), "%s/build.log", dir) < 0 ||
	    /* No network and maybe no HOME in CI; a cache shared between runs keeps the one build short. */
	    fmt_to(gocache, sizeof(gocache), "GOCACHE=%s",
		   cache && *cache ? cache : "/tmp/nsreload-soak-gocache") < 0 ||
	    fmt_to(gopath, sizeof(gopath), "GOPATH=%s/gopath", work_root) < 0) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(dir, 0755) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/go.mod", dir);
	if (write_file(path, "module example.com/soak\n\ngo 1.19\n") < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/main.go", dir);
	if (write_file(path, "%s", go_server) < 0)
		goto fail;
	printf("building the Go server for the dlv case...\n");
	pid = fork();
	if (pid == 0) {
		/* go wants a HOME; CI may have none. */
		char *add[] = { gocache,
				gopath,
				"GOFLAGS=-mod=mod",
				"GOPROXY=off",
				"GOTOOLCHAIN=local",
				getenv("HOME") ? NULL : "HOME=/tmp",
				NULL };
		char **envp = pt_envp_new(add);
		char *argv[] = { go, "build", "-gcflags=all=-N -l", "-o", dlv.bin, ".", NULL };
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (chdir(dir) < 0 || fd < 0 || !envp)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execve(go, argv, envp);
		_exit(127);
	}
	if (pid < 0)
		goto fail;
	for (long long deadline = pt_now_ms() + BUILD_TIMEOUT_MS; status < 0 && !interrupted;) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			status = st;
		else if (pt_now_ms() > deadline)
			break;
		else
			pt_sleep_ms(20);
	}
	if (status < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (status != 0) {
		char st[64];

		pt_describe_status(status, st, sizeof(st));
		fmt_to(dlv.why, sizeof(dlv.why), "go build failed (%s), see %s", st, log_path);
		return;
	}
	printf("built %s in %.1f s\n", dlv.bin, (pt_now_ms() - t0) / 1000.0);
	dlv.available = true;
	return;
fail:
	fmt_to(dlv.why, sizeof(dlv.why), "preparing %s: %s", dir, strerror(errno));
}

/* ---- one case ---------------------------------------------------------------------------------- */

struct case_dirs {
	char base[PATH_MAX], proj[PATH_MAX], ctl[PATH_MAX];
	char gen[PATH_MAX], trigger[PATH_MAX], log[PATH_MAX];
};

static int case_setup(struct case_dirs *d, const struct rung *rg, const char *fixture, const char *token,
		      int app_port, int dlv_port)
{
	char app[PATH_MAX * 3], cfg[PATH_MAX];
	int r;

	if (fmt_to(d->base, sizeof(d->base), "%s/%s-%s", work_root, rg->name, fixture) < 0 ||
	    fmt_to(d->proj, sizeof(d->proj), "%s/proj", d->base) < 0 ||
	    fmt_to(d->ctl, sizeof(d->ctl), "%s/ctl", d->base) < 0 ||
	    fmt_to(d->gen, sizeof(d->gen), "%s/gen", d->ctl) < 0 ||
	    fmt_to(d->trigger, sizeof(d->trigger), "%s/trigger.txt", d->proj) < 0 ||
	    fmt_to(d->log, sizeof(d->log), "%s/nsreload.log", d->base) < 0 ||
	    fmt_to(cfg, sizeof(cfg), "%s/.nsreload.toml", d->proj) < 0)
		return -ENAMETOOLONG;
	if (mkdir(d->base, 0755) < 0 || mkdir(d->proj, 0755) < 0 || mkdir(d->ctl, 0755) < 0)
		return -errno;
	if (strcmp(fixture, "dlv") == 0)
		r = fmt_to(app, sizeof(app),
			   "g=$(cat %s); export " GEN_VAR "=%s-$g APP_PORT=%d; echo \"NSRSOAK GEN $g\"; "
			   "exec %s exec --headless --continue --accept-multiclient --api-version=2 "
			   "--listen=127.0.0.1:%d %s",
			   d->gen, token, app_port, dlv.dlv, dlv_port, dlv.bin);
	else
		r = fmt_to(app, sizeof(app),
			   "g=$(cat %s); export " GEN_VAR "=%s-$g; echo \"NSRSOAK GEN $g\"; exec %s/%s",
			   d->gen, token, fixtures_dir, fixture);
	if (r < 0)
		return r;
	/* A real config file: the build is a no-op in a box of its own, the trigger the only watched file. */
	return write_file(cfg,
			  "# soak_test: %s x %s\n"
			  "[build]\n"
			  "cmd = \"true\"\n"
			  "full_bin = '''%s'''\n"
			  "include_ext = [\"txt\"]\n"
			  "delay = 0\n"
			  "\n"
			  "[box]\n"
			  "stop_timeout = \"%s\"\n",
			  rg->name, fixture, app, stop_timeout);
}

/* Waits until generation gen runs and is ready; false on timeout, nsreload's exit or interruption. */
static bool wait_generation(struct nsr *n, bool is_dlv, int gen, int app_port, const char *token)
{
	long long deadline = pt_now_ms() + (is_dlv ? DLV_TIMEOUT_MS : READY_TIMEOUT_MS);
	char want[256];

	snprintf(want, sizeof(want), "%s-%d", token, gen);
	while (!interrupted && n->status < 0 && pt_now_ms() < deadline) {
		if (n->run_starts >= gen + 1) {
			if (!is_dlv && n->ready_gen == gen)
				return true;
			if (is_dlv) {
				char body[256];

				if (http_get(app_port, body, sizeof(body)) && strcmp(body, want) == 0)
					return true;
			}
		}
		nsr_pump(n, is_dlv ? 20 : 100);
	}
	return false;
}

static void measure(struct nsr *n, int *fds, long *rss)
{
	*fds = count_fds(n->pid);
	*rss = rss_kb(n->pid);
}

static void run_case(const struct rung *rg, const char *fixture, int cycles)
{
	struct result *res = &results[nresults++];
	bool is_dlv = strcmp(fixture, "dlv") == 0;
	/* Long enough for the heap and the touched code pages to settle; at most half of the cycles. */
	int warmup = cycles / 10 > 10 ? cycles / 10 : (cycles < 20 ? cycles / 2 : 10);
	int app_port = is_dlv ? free_port() : 0, dlv_port = app_port;
	struct case_dirs d;
	struct snapshot snap;
	struct nsr n;
	char token[160];
	uint32_t rnd = 0;
	long long t0 = pt_now_ms();
	int cg_at_warmup = 0, r;

	/* Two different ports; a port from the kernel's pool is free right now, which is all we need. */
	for (int i = 0; is_dlv && dlv_port == app_port && i < 10; i++)
		dlv_port = free_port();
	memset(res, 0, sizeof(*res));
	/* Where this case's boxes go: the leak checks look there. */
	case_cg = rg->v1 ? &cg1 : &cg;
	res->rung = rg->name;
	res->ok = true;
	res->fds_before = res->fds_after = -1;
	res->rss_before = res->rss_after = -1;
	snprintf(res->fixture, sizeof(res->fixture), "%s", fixture);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)pt_now_ms();
	snprintf(token, sizeof(token), "soak%d-%s-%s-%08x", (int)getpid(), rg->name, fixture, rnd);
	r = case_setup(&d, rg, fixture, token, app_port, dlv_port);
	if (r == 0)
		r = write_file(d.gen, "0\n");
	if (r < 0) {
		fail(res, "setting up %s: %s", d.base, strerror(-r));
		return;
	}
	snapshot_take(&snap);
	r = nsr_start(&n, rg, d.proj, token, d.log);
	if (r < 0) {
		fail(res, "cannot start nsreload: %s", strerror(-r));
		nsr_close(&n);
		return;
	}

	if (!wait_generation(&n, is_dlv, 0, app_port, token)) {
		fail(res, "the first run never got ready (run_start events %d)", n.run_starts);
		goto stop;
	}
	if (warmup == 0)
		measure(&n, &res->fds_before, &res->rss_before);
	for (int gen = 1; gen <= cycles && !interrupted; gen++) {
		int old;

		if ((r = write_file(d.gen, "%d\n", gen)) < 0 ||
		    (r = write_file(d.trigger, "%d\n", gen)) < 0) {
			fail(res, "cycle %d: writing the trigger: %s", gen, strerror(-r));
			break;
		}
		if (!wait_generation(&n, is_dlv, gen, app_port, token)) {
			if (!interrupted)
				fail(res, "cycle %d: generation %d never got ready (%s; run_start events %d)",
				     gen, gen, n.status >= 0 ? "nsreload exited" : "timed out", n.run_starts);
			break;
		}
		res->cycles = gen;
		old = old_generations(token, gen);
		if (old > 0) {
			res->survivors += old;
			fail(res, "cycle %d: %d process(es) of earlier generations alive", gen, old);
		}
		if (gen == warmup) {
			measure(&n, &res->fds_before, &res->rss_before);
			cg_at_warmup = new_cgroups(&snap, false);
		}
	}
	if (interrupted)
		fail(res, "interrupted after %d of %d cycles", res->cycles, cycles);
	if (res->cycles == cycles && !interrupted) {
		int cg_now = new_cgroups(&snap, false);

		measure(&n, &res->fds_after, &res->rss_after);
		if (cg_now > cg_at_warmup) {
			res->leaked_cg += cg_now - cg_at_warmup;
			fail(res, "%d cgroup(s) under %s after the warm-up, %d after %d cycles", cg_at_warmup,
			     case_cg->parent, cg_now, cycles);
		}
		if (res->fds_after > res->fds_before)
			fail(res, "nsreload's fds grew from %d to %d", res->fds_before, res->fds_after);
		if (res->rss_before > 0 &&
		    (res->rss_after - res->rss_before) * 100.0 / res->rss_before >= RSS_LIMIT_PCT) {
			if (!rss_enforced)
				printf("    note [%s %s]: RSS grew from %ld to %ld KB: not enforced in a "
				       "sanitizer build\n",
				       rg->name, fixture, res->rss_before, res->rss_after);
			else
				fail(res, "nsreload's RSS grew from %ld to %ld KB", res->rss_before,
				     res->rss_after);
		}
	}

stop:
	if (!nsr_stop(&n, SIGTERM, EXIT_TIMEOUT_MS)) {
		fail(res, "nsreload did not exit within %d s of SIGTERM", EXIT_TIMEOUT_MS / 1000);
	} else if (!WIFEXITED(n.status) || WEXITSTATUS(n.status) != 0) {
		char st[64];

		pt_describe_status(n.status, st, sizeof(st));
		fail(res, "nsreload ended with %s after SIGTERM", st);
	}
	nsr_close(&n);
	r = case_survivors(token);
	if (r > 0) {
		res->survivors += r;
		fail(res, "%d process(es) of the case alive after nsreload exited", r);
	}
	r = new_cgroups(&snap, true);
	if (r > 0) {
		res->leaked_cg += r;
		fail(res, "%d cgroup(s) left under %s", r, case_cg->parent);
	}
	if (n.wrong_rung)
		fail(res, "run_start says rung %s, not %s", n.rung_seen, rg->box);
	if (n.addr_in_use)
		fail(res, "\"address already in use\" in the output");
	if (n.sanitizer)
		fail(res, "sanitizer report in nsreload's output");
	res->extra_starts = n.run_starts - 1 - res->cycles;
	res->killed_stops = n.killed_stops;
	res->seconds = (pt_now_ms() - t0) / 1000.0;
	if (res->extra_starts > 0)
		printf("    note [%s %s]: %d restart(s) more than triggered\n", rg->name, fixture,
		       res->extra_starts);
	if (!res->ok || verbose)
		show_tail(d.log);
	printf("  %s x %s: %d cycles in %.1f s (%.0f ms/cycle), %s\n", rg->name, fixture, res->cycles,
	       res->seconds, res->cycles ? res->seconds * 1000 / res->cycles : 0.0,
	       res->ok ? "ok" : "FAILED");
}

/* ---- set-up and the table ---------------------------------------------------------------------- */

/* A rung is available if `nsreload exec --box=R -- true` exits 0 on it. */
static void probe_rung(struct rung *rg)
{
	char box[64], par[PATH_MAX + 32];
	char *argv[8] = { (char *)nsreload_path, "exec", NULL };
	int a = 2, status = -1, errfd;
	pid_t pid;

	if (rg->cgroup && rg->box && !cg.parent[0]) {
		snprintf(rg->why, sizeof(rg->why), "no writable cgroup2 directory");
		return;
	}
	if (rg->v1 && !cg1.parent[0]) {
		snprintf(rg->why, sizeof(rg->why), "no writable v1 freezer directory");
		return;
	}
	if (rg->box) {
		snprintf(box, sizeof(box), "--box=%s", rg->box);
		argv[a++] = box;
	}
	if (rg->cgroup && cg.parent[0]) {
		snprintf(par, sizeof(par), "--cgroup-parent=%s", cg.parent);
		argv[a++] = par;
	}
	argv[a++] = "--";
	argv[a++] = "true";
	argv[a] = NULL;
	errfd = memfd_create("soak-probe", MFD_CLOEXEC);
	pid = fork();
	if (pid == 0) {
		if (errfd >= 0)
			dup2(errfd, STDERR_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, PROG ": exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (status == 0) {
		rg->available = true;
	} else {
		char st[64], line[160] = "";
		ssize_t n = errfd >= 0 ? pread(errfd, line, sizeof(line) - 1, 0) : -1;

		if (n > 0)
			line[strcspn(line, "\n")] = '\0';
		pt_describe_status(status, st, sizeof(st));
		snprintf(rg->why, sizeof(rg->why), "%s: %.150s", st, line);
	}
	if (errfd >= 0)
		close(errfd);
}

/* Whether nsreload carries a sanitizer runtime: its RSS then measures ASan's quarantine, not us. */
static bool binary_is_sanitized(const char *path)
{
	struct pt_buf b = { 0 };
	ssize_t n = pt_read_file(&b, path);
	bool found = n > 0 && (memmem(b.data, (size_t)n, "__asan_init", 11) ||
			       memmem(b.data, (size_t)n, "__ubsan_handle", 14));

	pt_buf_free(&b);
	return found;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void list_fixtures(const char *only)
{
	DIR *d = opendir(fixtures_dir);
	struct dirent *de;

	while (d && (de = readdir(d)) && nfixtures < MAX_FIXTURES - 1) {
		char path[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.' || fmt_to(path, sizeof(path), "%s/%s", fixtures_dir, de->d_name) < 0)
			continue;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0)
			continue;
		if ((!only || pt_in_list(only, de->d_name)) &&
		    fmt_to(fixtures[nfixtures], sizeof(fixtures[0]), "%s", de->d_name) == 0)
			nfixtures++;
	}
	if (d)
		closedir(d);
	qsort(fixtures, (size_t)nfixtures, sizeof(fixtures[0]), cmp_names);
}

static void print_table(void)
{
	printf("\n%-14s %-13s %6s %9s %8s %11s %24s %7s %8s\n", "rung", "fixture", "cycles", "survivors",
	       "leak-cg", "fds", "RSS KB (+%)", "verdict", "time s");
	for (int i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		char fds[32], rss[64];

		if (r->fds_before < 0)
			snprintf(fds, sizeof(fds), "-");
		else if (r->fds_after < 0)
			snprintf(fds, sizeof(fds), "%d/-", r->fds_before);
		else
			snprintf(fds, sizeof(fds), "%d/%d", r->fds_before, r->fds_after);
		if (r->rss_before > 0 && r->rss_after > 0)
			snprintf(rss, sizeof(rss), "%ld/%ld (%+.2f%%)%s", r->rss_before, r->rss_after,
				 (r->rss_after - r->rss_before) * 100.0 / r->rss_before,
				 rss_enforced ? "" : "*");
		else
			snprintf(rss, sizeof(rss), "-");
		printf("%-14s %-13s %6d %9d %8d %11s %24s %7s %8.1f\n", r->rung, r->fixture, r->cycles,
		       r->survivors, r->leaked_cg, fds, rss, r->ok ? "ok" : "FAIL", r->seconds);
	}
	printf("(fds and RSS: nsreload after the warm-up / after the last cycle%s)\n",
	       rss_enforced ? "" : "; * sanitizer build: RSS measures ASan's quarantine and is not enforced");
}

int main(int argc, char **argv)
{
	const char *require = getenv("NSRELOAD_TEST_REQUIRE");
	const char *only_rungs = getenv("NSRELOAD_TEST_RUNGS");
	const char *only_fixtures = getenv("NSRELOAD_TEST_FIXTURES");
	const char *st_env = getenv("NSRELOAD_SOAK_STOP_TIMEOUT");
	const char *asan_opts, *tmpdir;
	int cycles = pt_env_int(PROG, "NSRELOAD_SOAK_CYCLES", 50);
	char nsr_abs[PATH_MAX], fix_abs[PATH_MAX];
	long long t0 = pt_now_ms();
	int nfail = 0, r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s <path-to-nsreload> <fixtures-dir>\n", argv[0]);
		return 2;
	}
	/* The runs cd into their project: relative paths would break. */
	if (!realpath(argv[1], nsr_abs) || !realpath(argv[2], fix_abs)) {
		fprintf(stderr, PROG ": %s or %s: %s\n", argv[1], argv[2], strerror(errno));
		return 2;
	}
	nsreload_path = nsr_abs;
	fixtures_dir = fix_abs;
	verbose = pt_env_int(PROG, "NSRELOAD_TEST_VERBOSE", 0) > 0;
	if (st_env && *st_env)
		stop_timeout = st_env;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pt_catch_stop_signals(on_signal);

	sanitizer_build = binary_is_sanitized(nsreload_path);
	asan_opts = getenv("ASAN_OPTIONS");
	rss_enforced = !sanitizer_build || (asan_opts && strstr(asan_opts, "quarantine_size_mb=0"));
	tmpdir = getenv("TMPDIR");
	if (fmt_to(work_root, sizeof(work_root), "%s/nsreload-soak.XXXXXX",
		   tmpdir && *tmpdir ? tmpdir : "/tmp") < 0 ||
	    !mkdtemp(work_root)) {
		perror(PROG ": mkdtemp");
		return 2;
	}
	printf(PROG ": nsreload %s%s, fixtures %s, %d cycles, stop timeout %s, work dir %s\n", nsreload_path,
	       !sanitizer_build ? ""
	       : rss_enforced   ? " (sanitizer build, no quarantine)"
				: " (sanitizer build)",
	       fixtures_dir, cycles, stop_timeout, work_root);

	r = pt_cgroup_setup(&cg, "nsreload-test-soak", getenv("NSRELOAD_CGROUP_PARENT"));
	if (r < 0)
		printf("no usable cgroup2 parent (%s): cgroup rungs unavailable\n", strerror(-r));
	else
		printf("cgroup parent %s%s\n", cg.parent, cg.made ? "" : " (from NSRELOAD_CGROUP_PARENT)");

	r = pt_cgroup1_setup(&cg1, "nsreload-test-soak", getenv("NSRELOAD_CGROUP1_PARENT"));
	if (r < 0) {
		printf("no usable v1 freezer parent (%s): the cgroup1 rung is unavailable\n", strerror(-r));
	} else {
		printf("cgroup v1 parent %s%s\n", cg1.parent,
		       cg1.made ? "" : " (from NSRELOAD_CGROUP1_PARENT)");
		/* Every nsreload of ours puts its cgroup1 boxes there; the other rungs do not read it. */
		setenv("NSRELOAD_CGROUP1_PARENT", cg1.rel, 1);
	}

	list_fixtures(only_fixtures);
	dlv.wanted = !only_fixtures || pt_in_list(only_fixtures, "dlv");
	if (dlv.wanted) {
		dlv_prepare();
		if (!dlv.available && dlv.installed) {
			printf("FAIL: the dlv case: %s\n", dlv.why);
			nfail++;
		} else if (!dlv.available) {
			printf("SKIP: the dlv case: %s\n", dlv.why);
		}
	}
	for (const char *p = only_fixtures; p && *p;) {
		const char *end = strchr(p, ',');
		int len = end ? (int)(end - p) : (int)strlen(p);
		bool known = len == 3 && strncmp(p, "dlv", 3) == 0;

		for (int f = 0; f < nfixtures && !known; f++)
			known = (int)strlen(fixtures[f]) == len && strncmp(fixtures[f], p, (size_t)len) == 0;
		if (!known && len > 0) {
			printf("FAIL: fixture %.*s not found in %s\n", len, p, fixtures_dir);
			nfail++;
		}
		p = end ? end + 1 : NULL;
	}
	if (nfixtures == 0 && !dlv.available) {
		printf("FAIL: no fixture to run in %s\n", fixtures_dir);
		nfail++;
	}

	for (size_t i = 0; i < NRUNGS && !interrupted; i++) {
		struct rung *rg = &rungs[i];

		/* auto only when asked for: it is one of the others. */
		rg->selected = only_rungs ? pt_in_list(only_rungs, rg->name) : rg->box != NULL;
		if (!rg->selected)
			continue;
		probe_rung(rg);
		if (rg->available) {
			printf("rung %s: available\n", rg->name);
		} else if (require && pt_in_list(require, rg->name)) {
			printf("FAIL: rung %s is required (NSRELOAD_TEST_REQUIRE) but unavailable: %s\n",
			       rg->name, rg->why);
			nfail++;
		} else {
			printf("SKIP: rung %s unavailable: %s\n", rg->name, rg->why);
		}
	}

	for (size_t i = 0; i < NRUNGS && !interrupted; i++) {
		if (!rungs[i].selected || !rungs[i].available)
			continue;
		printf("\n== rung %s ==\n", rungs[i].name);
		for (int f = 0; f < nfixtures && !interrupted && nresults < MAX_CASES; f++)
			run_case(&rungs[i], fixtures[f], cycles);
		if (dlv.available && !interrupted && nresults < MAX_CASES)
			run_case(&rungs[i], "dlv", cycles);
	}
	if (interrupted) {
		printf("FAIL: interrupted by a signal\n");
		nfail++;
	}
	pt_cgroup_done(&cg);
	pt_cgroup_done(&cg1);

	print_table();
	for (int i = 0; i < nresults; i++)
		nfail += !results[i].ok;
	if (nfail == 0 || !verbose) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_root);
		if (nfail == 0 && system(cmd) != 0)
			printf("warning: could not remove %s\n", work_root);
		else if (nfail)
			printf("the logs stay in %s\n", work_root);
	}
	printf("\ntotal time %.1f s; %d case(s), %d failure(s)%s\n", (pt_now_ms() - t0) / 1000.0, nresults,
	       nfail, dlv.wanted && !dlv.available ? "; the dlv case was skipped" : "");
	pt_buf_free(&pbuf);
	return nfail > 0 ? 1 : 0;
}
