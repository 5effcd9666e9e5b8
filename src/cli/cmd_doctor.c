/*
 * nsreload doctor: what this host allows, which rung each command would get
 * and why. It runs the same probe as the supervisor, so what it says is what
 * `nsreload exec` will meet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"
#include "cmds.h"
#include "config.h"
#include "probe.h"
#include "util.h"
#include "watch.h"

struct doctor_opts {
	bool json;
	const char *cgroup_parent;
};

/* Where the limit keys would go here (limits_where()): "memory_max on cgroup1; ...", and why not. */
struct doctor_limits {
	char how[512];
	char note[2048];
};

/* Which watcher backend a run here would use for the root, and why (doctor_watcher()). */
struct doctor_watcher {
	const char *backend; /* "inotify", "poll", or NULL when the root cannot be examined */
	const char *poll;    /* build.poll: "auto", "true" or "false" */
	const char *watcher; /* build.watcher: "auto", "inotify", "fanotify" or "poll" */
	bool fan_ok;         /* fanotify may be used for the root here */
	char fan_why[512];
	unsigned long long interval_ms;
	char root[256];
	char why[1024];
};

struct doctor_check {
	const char *key;   /* JSON key */
	const char *label; /* human label */
	size_t offset;     /* of the struct probe_item in struct box_probe */
};

static const struct doctor_check doctor_checks[] = {
	{ "cgroup2", "cgroup2 mount", offsetof(struct box_probe, cgroup2) },
	{ "cgroup_writable", "cgroup writable", offsetof(struct box_probe, cgroup_writable) },
	{ "cgroup_kill", "cgroup.kill", offsetof(struct box_probe, cgroup_kill) },
	{ "cgroup_freeze", "cgroup.freeze", offsetof(struct box_probe, cgroup_freeze) },
	{ "clone_into_cgroup", "clone3 into cgroup", offsetof(struct box_probe, clone_into_cgroup) },
	{ "systemd_scope", "systemd scope", offsetof(struct box_probe, systemd_scope) },
	{ "pidns", "PID namespace", offsetof(struct box_probe, pidns) },
	{ "userns", "user namespace", offsetof(struct box_probe, userns) },
	{ "seccomp", "seccomp pin", offsetof(struct box_probe, seccomp) },
	{ "subreaper", "subreaper", offsetof(struct box_probe, subreaper) },
	{ "pidfd", "pidfd", offsetof(struct box_probe, pidfd) },
	{ "cgroup1", "cgroup v1 freezer", offsetof(struct box_probe, cgroup1) },
};

/* The rungs in the order the user reads them: best first, the explicit-only one after its parts. */
static const enum box_rung doctor_rungs[] = {
	BOX_RUNG_CGROUP2, BOX_RUNG_PIDNS,         BOX_RUNG_CGROUP2_PIDNS,
	BOX_RUNG_CGROUP1, BOX_RUNG_CGROUP1_PIDNS, BOX_RUNG_PGROUP,
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const char *seccomp_mode_name(int mode)
{
	return mode == 0 ? "none" : mode == 1 ? "strict" : "filter";
}

static const struct probe_item *probe_item_at(const struct box_probe *p, size_t offset)
{
	return (const struct probe_item *)((const char *)p + offset);
}

enum { DOCTOR_JSON = 1, DOCTOR_CGROUP_PARENT };

static const struct opt doctor_opts_table[] = {
	{ "--json", 0, NULL, OPT_NONE, NULL, "print one JSON object instead of text", DOCTOR_JSON },
	{ "--cgroup-parent", 0, NULL, OPT_VALUE, "DIR",
	  "try creating cgroups under DIR instead of our own cgroup\n(default $NSRELOAD_CGROUP_PARENT)",
	  DOCTOR_CGROUP_PARENT, .complete = OPT_COMPLETE_DIR },
	{ NULL },
};

const struct opts_cmd cmd_doctor_spec = {
	.name = "doctor",
	.synopsis = "[--json] [--cgroup-parent=DIR]",
	.summary = "which containment rungs work here, and why",
	.about = "Tries what this host allows (cgroups, namespaces, seccomp, pidfds) and\n"
		 "reports which containment rung works, which one auto picks, and why.",
	.tables = { doctor_opts_table },
	.epilogue = "Exit status: 0 when some rung works, 1 when none does, 2 on a usage error.",
};

static int take_doctor_option(void *data, const struct opt *opt, const char *value, const char *written)
{
	struct doctor_opts *o = data;

	if (opt->id == DOCTOR_JSON) {
		o->json = true;
		return 0;
	}
	if (!value[0]) {
		fprintf(stderr, "nsreload doctor: %s needs a directory\n", written);
		return -EINVAL;
	}
	o->cgroup_parent = value;
	return 0;
}

/* Returns 0, 1 after --help, or -EINVAL after telling the user what was wrong. */
static int parse_doctor_args(int argc, char **argv, struct doctor_opts *o)
{
	const char *env = getenv("NSRELOAD_CGROUP_PARENT");
	int first, r;

	*o = (struct doctor_opts){ .cgroup_parent = env && env[0] ? env : NULL };
	r = cli_parse(&cmd_doctor_spec, argc, argv, take_doctor_option, o, &first);
	if (r == 0 && first < argc)
		r = cli_unexpected(&cmd_doctor_spec, argv[first]);
	return r;
}

/* The one step that would give a better rung than auto's, and that rung; "" when auto's is the best. */
struct doctor_better {
	enum box_rung rung;
	char command[256];
	char why[640];
	/* box_probe_userns_policy(), read once for the hint and both reports. */
	bool userns_allowed;
	char userns_why[512];
	char userns_fix[128];
};

/* The user's session bus socket, where systemd's user manager would put it. */
static bool user_bus_socket_exists(char *path, size_t size)
{
	struct stat st;

	snprintf(path, size, "/run/user/%u/bus", (unsigned)geteuid());
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* A scope was asked for and not had: the user's manager is the way to cgroup2. */
static bool scope_refused(const struct box_probe *p)
{
	return !p->is_root && p->systemd_asked && !p->systemd_scope.ok;
}

static void find_better(const struct box_probe *p, int pick_r, enum box_rung picked, struct doctor_better *b)
{
	char bus[64];

	*b = (struct doctor_better){ .rung = BOX_RUNG_AUTO };
	b->userns_allowed = box_probe_userns_policy(b->userns_why, sizeof(b->userns_why), b->userns_fix,
						    sizeof(b->userns_fix));
	if (pick_r == 0 && picked == BOX_RUNG_CGROUP2)
		return;
	if (scope_refused(p) && user_bus_socket_exists(bus, sizeof(bus)) &&
	    !getenv("DBUS_SESSION_BUS_ADDRESS") && !getenv("XDG_RUNTIME_DIR")) {
		b->rung = BOX_RUNG_CGROUP2;
		snprintf(b->command, sizeof(b->command), "export XDG_RUNTIME_DIR=/run/user/%u",
			 (unsigned)geteuid());
		snprintf(b->why, sizeof(b->why),
			 "your user manager's bus is at %s, but this shell does not say so (su and sudo -u "
			 "drop XDG_RUNTIME_DIR): with it nsreload gets a delegated scope",
			 bus);
	} else if (scope_refused(p) && access("/run/systemd/system", F_OK) == 0 &&
		   !user_bus_socket_exists(bus, sizeof(bus))) {
		b->rung = BOX_RUNG_CGROUP2;
		snprintf(b->command, sizeof(b->command), "%s", "sudo loginctl enable-linger $USER");
		snprintf(b->why, sizeof(b->why), "%s",
			 "systemd runs this host, but no user manager runs for you (no login session): with "
			 "one, nsreload gets a delegated scope from it");
	} else if (!p->is_root && picked == BOX_RUNG_PGROUP && !b->userns_allowed && b->userns_fix[0]) {
		b->rung = BOX_RUNG_PIDNS;
		snprintf(b->command, sizeof(b->command), "%s", b->userns_fix);
		snprintf(b->why, sizeof(b->why), "unprivileged user namespaces: %s", b->userns_why);
	} else if (!p->is_root && p->cgroup2.ok) {
		b->rung = BOX_RUNG_CGROUP2;
		snprintf(b->command, sizeof(b->command), "%s", "sudo nsreload run");
		snprintf(b->why, sizeof(b->why), "%s",
			 "no systemd user manager to delegate a cgroup to you here: only root can make "
			 "cgroups (and would build as root in your tree)");
	}
}

static void json_put_key(FILE *f, const char *key, bool first)
{
	if (!first)
		fputc(',', f);
	fput_quoted(f, key);
	fputc(':', f);
}

static void print_json(FILE *f, const struct box_probe *p, const struct doctor_limits *lim, int pick_r,
		       enum box_rung picked, const char *pick_why, const struct doctor_better *better,
		       const struct doctor_watcher *wat)
{
	char why[2048];

	fputc('{', f);
	json_put_key(f, "kernel", true);
	fput_quoted(f, p->kernel);
	json_put_key(f, "root", false);
	fputs(p->is_root ? "true" : "false", f);
	json_put_key(f, "cap_sys_admin", false);
	fputs(p->cap_sys_admin ? "true" : "false", f);
	json_put_key(f, "seccomp", false);
	fput_quoted(f, seccomp_mode_name(p->seccomp_mode));

	json_put_key(f, "cgroup", false);
	fputc('{', f);
	json_put_key(f, "mode", true);
	fput_quoted(f, cg_mode_name(p->mounts.mode));
	json_put_key(f, "mount", false);
	fput_quoted(f, p->mounts.v2_path);
	json_put_key(f, "own", false);
	fput_quoted(f, p->own_cgroup);
	json_put_key(f, "dir", false);
	fput_quoted(f, p->cgroup_dir);
	json_put_key(f, "systemd_unit", false);
	fput_quoted(f, p->systemd_unit);
	fputc('}', f);
	json_put_key(f, "unprivileged_userns", false);
	fputc('{', f);
	json_put_key(f, "allowed", true);
	fputs(better->userns_allowed ? "true" : "false", f);
	json_put_key(f, "detail", false);
	fput_quoted(f, better->userns_why);
	json_put_key(f, "fix", false);
	fput_quoted(f, better->userns_fix);
	fputc('}', f);

	json_put_key(f, "checks", false);
	fputc('{', f);
	for (size_t i = 0; i < N_ELEMENTS(doctor_checks); i++) {
		const struct probe_item *it = probe_item_at(p, doctor_checks[i].offset);

		json_put_key(f, doctor_checks[i].key, i == 0);
		fputc('{', f);
		json_put_key(f, "ok", true);
		fputs(it->ok ? "true" : "false", f);
		json_put_key(f, "detail", false);
		fput_quoted(f, it->detail);
		fputc('}', f);
	}
	fputc('}', f);

	/* The cgroup v1 hierarchies we are in, and whether a cgroup can be made in each. */
	json_put_key(f, "cgroup_v1", false);
	fputc('[', f);
	for (int i = 0; i < p->v1_count; i++) {
		if (i)
			fputc(',', f);
		fputc('{', f);
		json_put_key(f, "controllers", true);
		fput_quoted(f, p->v1[i].controllers);
		json_put_key(f, "path", false);
		fput_quoted(f, p->v1[i].path);
		json_put_key(f, "ok", false);
		fputs(p->v1[i].works.ok ? "true" : "false", f);
		json_put_key(f, "detail", false);
		fput_quoted(f, p->v1[i].works.detail);
		fputc('}', f);
	}
	fputc(']', f);

	json_put_key(f, "rungs", false);
	fputc('{', f);
	for (size_t i = 0; i < N_ELEMENTS(doctor_rungs); i++) {
		bool works = box_rung_works(p, doctor_rungs[i], why, sizeof(why));

		json_put_key(f, box_rung_name(doctor_rungs[i]), i == 0);
		fputc('{', f);
		json_put_key(f, "works", true);
		fputs(works ? "true" : "false", f);
		json_put_key(f, "why", false);
		fput_quoted(f, works ? "" : why);
		json_put_key(f, "dies_with_supervisor", false);
		fputs(box_rung_dies_with_supervisor(p, doctor_rungs[i], why, sizeof(why)) ? "true" : "false",
		      f);
		fputc('}', f);
	}
	fputc('}', f);

	json_put_key(f, "auto", false);
	if (pick_r == 0)
		fput_quoted(f, box_rung_name(picked));
	else
		fputs("null", f);
	json_put_key(f, "auto_why", false);
	fput_quoted(f, pick_why);
	json_put_key(f, "better", false);
	if (better->command[0]) {
		fputc('{', f);
		json_put_key(f, "rung", true);
		fput_quoted(f, box_rung_name(better->rung));
		json_put_key(f, "command", false);
		fput_quoted(f, better->command);
		json_put_key(f, "why", false);
		fput_quoted(f, better->why);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	/* The promise of issue 13: nothing of the boxes survives a SIGKILL of nsreload, by default. */
	json_put_key(f, "supervisor_death", false);
	fputc('{', f);
	json_put_key(f, "kept", true);
	fputs(pick_r == 0 && box_rung_dies_with_supervisor(p, picked, why, sizeof(why)) ? "true" : "false",
	      f);
	json_put_key(f, "detail", false);
	fput_quoted(f, pick_r == 0 ? why : "no rung works here");
	fputc('}', f);
	/* box.memory_max, pids_max, cpu_max: where each goes ("" none), and why one cannot. */
	json_put_key(f, "limits", false);
	fputc('{', f);
	json_put_key(f, "how", true);
	fput_quoted(f, lim->how);
	json_put_key(f, "note", false);
	fput_quoted(f, lim->note);
	fputc('}', f);
	json_put_key(f, "watcher", false);
	fputc('{', f);
	json_put_key(f, "root", true);
	fput_quoted(f, wat->root);
	json_put_key(f, "backend", false);
	if (wat->backend)
		fput_quoted(f, wat->backend);
	else
		fputs("null", f);
	json_put_key(f, "poll", false);
	fput_quoted(f, wat->poll);
	json_put_key(f, "poll_interval_ms", false);
	fprintf(f, "%llu", wat->interval_ms);
	json_put_key(f, "why", false);
	fput_quoted(f, wat->why);
	json_put_key(f, "build_watcher", false);
	fput_quoted(f, wat->watcher);
	json_put_key(f, "fanotify", false);
	fputs(wat->fan_ok ? "true" : "false", f);
	json_put_key(f, "fanotify_why", false);
	fput_quoted(f, wat->fan_why);
	fputc('}', f);
	fputs("}\n", f);
}

/*
 * Where box.memory_max, pids_max and cpu_max would go, found the way a run
 * finds it: a context of rung made with every limit asked for (optional, so
 * that each one missing says why), then removed. On cgroup v2 that enables
 * the controllers down to the context, and where nsreload is alone in its
 * cgroup moves it into its leaf, as a run would.
 */
static void limits_where(const struct doctor_opts *o, enum box_rung rung, struct doctor_limits *out)
{
	static const struct box_limits every = { .memory_max = 1ull << 30,
						 .pids_max = 4096,
						 .cpu_quota_us = 100000 };
	struct box_ctx *ctx = NULL;
	char err[2048] = "";
	int r = box_ctx_new(&ctx, &(struct box_ctx_opts){ .rung = rung,
							  .cgroup_parent = o->cgroup_parent,
							  .limits = &every,
							  .limits_optional = true,
							  .errbuf = err,
							  .errbuf_size = sizeof(err) });

	out->how[0] = '\0';
	if (r < 0) {
		snprintf(out->note, sizeof(out->note), "%s", err[0] ? err : strerror(-r));
		return;
	}
	snprintf(out->how, sizeof(out->how), "%s", box_ctx_limits_how(ctx));
	snprintf(out->note, sizeof(out->note), "%s", box_ctx_limits_note(ctx));
	(void)box_ctx_free(ctx);
}

/* Prints a multi-line message with every line indented, so that it stays under its heading. */
static void print_indented(FILE *f, const char *indent, const char *text)
{
	while (*text) {
		size_t len = strcspn(text, "\n");

		fprintf(f, "%s%.*s\n", indent, (int)len, text);
		text += len;
		if (*text == '\n')
			text++;
	}
}

static void print_text(FILE *f, const struct box_probe *p, const struct doctor_limits *lim, int pick_r,
		       enum box_rung picked, const char *pick_why, const struct doctor_better *better,
		       const struct doctor_watcher *wat)
{
	char why[2048];

	fputs("Rungs:\n", f);
	for (size_t i = 0; i < N_ELEMENTS(doctor_rungs); i++) {
		bool works = box_rung_works(p, doctor_rungs[i], why, sizeof(why));

		if (works)
			fprintf(f, "  %-14s works\n", box_rung_name(doctor_rungs[i]));
		else
			fprintf(f, "  %-14s does not work: %s\n", box_rung_name(doctor_rungs[i]), why);
	}
	if (pick_r == 0)
		fprintf(f, "auto picks: %s\n", box_rung_name(picked));
	else
		fputs("auto picks: nothing, no rung works here\n", f);
	print_indented(f, "  ", pick_why);
	if (p->systemd_scope.ok)
		fprintf(f, "  in %s, delegated by systemd\n", p->systemd_unit);
	if (better->command[0])
		fprintf(f, "for %s instead: %s\n  %s\n", box_rung_name(better->rung), better->command,
			better->why);
	if (pick_r == 0) {
		bool kept = box_rung_dies_with_supervisor(p, picked, why, sizeof(why));

		fprintf(f, "if nsreload is SIGKILLed: %s\n  %s\n",
			kept ? "nothing of the boxes survives" : "the boxes survive", why);
		fprintf(f, "limits (box.memory_max, pids_max, cpu_max): %s\n",
			lim->how[0] ? lim->how : "none");
		print_indented(f, "  ", lim->note);
	}

	fprintf(f, "watcher for %s: %s (build.watcher = %s, build.poll %s%s", wat->root,
		wat->backend ? wat->backend : "unknown", wat->watcher,
		strcmp(wat->poll, "auto") == 0 ? "unset: auto" : "= ",
		strcmp(wat->poll, "auto") ? wat->poll : "");
	if (wat->backend && strcmp(wat->backend, "poll") == 0)
		fprintf(f, ", every %llu ms", wat->interval_ms);
	fputs(")\n", f);
	print_indented(f, "  ", wat->why);
	if (!wat->backend || strcmp(wat->backend, "fanotify") != 0)
		fprintf(f, "  fanotify: %s\n", wat->fan_why);

	fputs("\nFindings:\n", f);
	fprintf(f, "  %-19s %s (%s%s)\n", "kernel", p->kernel, p->is_root ? "running as root" : "not root",
		p->is_pid1 ? ", as PID 1" : "");
	fprintf(f, "  %-19s CAP_SYS_ADMIN %s, seccomp %s\n", "privileges", p->cap_sys_admin ? "yes" : "no",
		seccomp_mode_name(p->seccomp_mode));
	fprintf(f, "  %-19s %s", "cgroup mode", cg_mode_name(p->mounts.mode));
	if (p->mounts.v2_path[0])
		fprintf(f, ", cgroup2 at %s", p->mounts.v2_path);
	fputc('\n', f);
	fprintf(f, "  %-19s %s\n", "own cgroup", p->own_cgroup[0] ? p->own_cgroup : "(none in cgroup2)");
	fprintf(f, "  %-19s %s\n", "boxes would go in", p->cgroup_dir[0] ? p->cgroup_dir : "(nowhere)");
	for (size_t i = 0; i < N_ELEMENTS(doctor_checks); i++) {
		const struct probe_item *it = probe_item_at(p, doctor_checks[i].offset);

		fprintf(f, "  %-19s %-4s %s\n", doctor_checks[i].label, it->ok ? "ok" : "no", it->detail);
	}
	fprintf(f, "  %-19s %-4s %s%s%s\n", "userns for users", better->userns_allowed ? "ok" : "no",
		better->userns_why, better->userns_fix[0] ? "; to allow them: " : "", better->userns_fix);
	fprintf(f, "\ncgroup v1 hierarchies:%s\n", p->v1_count ? "" : " none");
	for (int i = 0; i < p->v1_count; i++)
		fprintf(f, "  %-19s %-4s %s%s%s\n", p->v1[i].controllers, p->v1[i].works.ok ? "ok" : "no",
			/* A success names the directory already. */
			p->v1[i].works.ok ? "" : p->v1[i].path, p->v1[i].works.ok ? "" : ": ",
			p->v1[i].works.detail);
}

static void diag_quiet(void *data, enum config_diag_level level, const char *msg)
{
	(void)data;
	(void)level;
	(void)msg;
}

/*
 * build.watcher's say on top of build.poll's (out->backend and out->why from
 * watch_backend_probe()): fanotify where it is asked for, or where auto would
 * take it (counting directories up to its threshold), as watch_new() decides.
 */
static void doctor_fanotify(struct doctor_watcher *out, enum watch_watcher watcher, bool follow)
{
	static const char *const names[] = { "auto", "inotify", "fanotify", "poll" };
	char why[sizeof(out->why)];
	int dirs;

	out->watcher = names[watcher <= WATCH_POLL ? watcher : WATCH_AUTO];
	out->fan_ok = watch_fanotify_usable(out->root, out->fan_why, sizeof(out->fan_why)) == 0;
	if (!out->backend || strcmp(out->backend, "poll") == 0 || watcher == WATCH_INOTIFY)
		return;
	snprintf(why, sizeof(why), "%s", out->why);
	if (watcher == WATCH_FANOTIFY) {
		if (out->fan_ok && !follow) {
			out->backend = "fanotify";
			snprintf(out->why, sizeof(out->why), "build.watcher = \"fanotify\": %s",
				 out->fan_why);
		} else {
			snprintf(out->why, sizeof(out->why),
				 "build.watcher = \"fanotify\" is not possible here (%.400s), so: %.500s",
				 follow ? "build.follow_symlink needs a watch per directory" : out->fan_why,
				 why);
		}
		return;
	}
	if (follow || watch_fanotify_auto(out->root, out->fan_why, sizeof(out->fan_why)) < 0) {
		out->fan_ok = false;
		return;
	}
	dirs = watch_count_dirs(out->root, NULL, WATCH_FAN_AUTO_DIRS);
	if (dirs > WATCH_FAN_AUTO_DIRS) {
		out->backend = "fanotify";
		snprintf(out->why, sizeof(out->why),
			 "auto: more than %d directories, where fanotify's set-up (one mark, no walk) wins; "
			 "%s",
			 WATCH_FAN_AUTO_DIRS, out->fan_why);
	} else {
		snprintf(out->why, sizeof(out->why),
			 "auto: %d directories, not more than %d, where inotify's walk is cheap: %.900s",
			 dirs, WATCH_FAN_AUTO_DIRS, why);
	}
}

/*
 * The watcher a run started here would use for its root: the configuration
 * file of the current directory is read for root, build.poll and
 * poll_interval (quietly: 'nsreload config' reports its problems), and the
 * root's file system is read as the watcher reads it.
 */
static void doctor_watcher(struct doctor_watcher *out)
{
	struct config_diag quiet = { .report = diag_quiet };
	enum watch_poll mode = WATCH_POLL_AUTO;
	enum watch_watcher watcher = WATCH_AUTO;
	bool follow = false;
	struct config c;
	const char *root = ".";

	out->poll = "auto";
	out->interval_ms = WATCH_POLL_INTERVAL_MS;
	if (config_init(&c) == 0 && config_load(&c, NULL, &quiet) == 0 && config_finalize(&c) == 0) {
		watcher = (enum watch_watcher)c.build.watcher;
		follow = c.build.follow_symlink;
		if (watcher == WATCH_POLL)
			mode = WATCH_POLL_ALWAYS;
		if (config_key_set(&c, "build.poll")) {
			mode = c.build.poll ? WATCH_POLL_ALWAYS : WATCH_POLL_NEVER;
			out->poll = c.build.poll ? "true" : "false";
		}
		out->interval_ms = c.build.poll_interval_ms;
		root = c.root && c.root[0] ? c.root : ".";
	}
	snprintf(out->root, sizeof(out->root), "%s", root);
	out->backend = watch_backend_probe(out->root, mode, out->why, sizeof(out->why));
	doctor_fanotify(out, watcher, follow);
	config_free(&c);
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor_opts opts;
	struct box_probe *p;
	struct doctor_limits lim = { "", "" };
	struct doctor_better better;
	struct doctor_watcher wat = { 0 };
	enum box_rung picked = BOX_RUNG_AUTO;
	char pick_why[2048];
	int r, pick_r;

	r = parse_doctor_args(argc, argv, &opts);
	if (r != 0)
		return r > 0 ? 0 : 2;

	/* Several pages of paths: too big for a comfortable stack frame. */
	p = calloc(1, sizeof(*p));
	if (!p) {
		fprintf(stderr, "nsreload doctor: out of memory\n");
		return 1;
	}
	/* Every part, and each v1 hierarchy tried: more than a start needs. */
	r = box_probe_parts(p, opts.cgroup_parent, BOX_PROBE_ALL | BOX_PROBE_CGROUP1_EACH);
	if (r < 0) {
		fprintf(stderr, "nsreload doctor: probing failed: %s\n", strerror(-r));
		free(p);
		return 1;
	}
	pick_r = box_pick_rung(p, &picked, pick_why, sizeof(pick_why));
	if (pick_r == 0)
		limits_where(&opts, picked, &lim);
	find_better(p, pick_r, picked, &better);
	doctor_watcher(&wat);
	if (opts.json)
		print_json(stdout, p, &lim, pick_r, picked, pick_why, &better, &wat);
	else
		print_text(stdout, p, &lim, pick_r, picked, pick_why, &better, &wat);
	free(p);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "nsreload doctor: cannot write the report\n");
		return 1;
	}
	return pick_r == 0 ? 0 : 1;
}
