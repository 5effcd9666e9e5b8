/* nsreload run's log: text with coloured prefixes, or JSON events (log.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "log.h"
#include "util.h"

struct log {
	FILE *out;
	enum log_format format;
	bool color;
	bool time;
	bool silent;
	bool main_only;
	bool clear_on_rebuild; /* [screen] clear_on_rebuild, only when the log is a terminal */
	bool keep_scroll;
	const char *sgr[5]; /* the SGR sequence of each source's colour, or "" */
};

static const char *const source_names[] = { "main", "watcher", "build", "runner", "proxy" };

/* air's colour names; anything else prints uncoloured rather than failing the run. */
static const char *sgr_of_color(const char *name)
{
	static const struct {
		const char *name, *sgr;
	} table[] = {
		{ "black", "\033[30m" },   { "red", "\033[31m" },       { "green", "\033[32m" },
		{ "yellow", "\033[33m" },  { "blue", "\033[34m" },      { "magenta", "\033[35m" },
		{ "cyan", "\033[36m" },    { "white", "\033[37m" },     { "hiblack", "\033[90m" },
		{ "hired", "\033[91m" },   { "higreen", "\033[92m" },   { "hiyellow", "\033[93m" },
		{ "hiblue", "\033[94m" },  { "himagenta", "\033[95m" }, { "hicyan", "\033[96m" },
		{ "hiwhite", "\033[97m" },
	};
	if (!name)
		return "";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(name, table[i].name) == 0)
			return table[i].sgr;
	return "";
}

static bool color_wanted(int mode, FILE *out)
{
	const char *no_color = getenv("NO_COLOR");

	if (mode == CONFIG_COLOR_ALWAYS)
		return true;
	if (mode == CONFIG_COLOR_NEVER)
		return false;
	if (no_color && no_color[0])
		return false;
	return isatty(fileno(out));
}

int log_new(struct log **out, const struct config *c, const struct log_opts *o)
{
	struct log *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->out = o->out ? o->out : stderr;
	l->format = o->format;
	l->color = o->format == LOG_FORMAT_TEXT && color_wanted(o->color_mode, l->out);
	l->time = c->log.time;
	l->silent = c->log.silent;
	l->main_only = c->log.main_only;
	l->clear_on_rebuild =
		c->screen.clear_on_rebuild && o->format == LOG_FORMAT_TEXT && isatty(fileno(l->out));
	l->keep_scroll = c->screen.keep_scroll;
	l->sgr[LOG_MAIN] = sgr_of_color(c->color.main);
	l->sgr[LOG_WATCHER] = sgr_of_color(c->color.watcher);
	l->sgr[LOG_BUILD] = sgr_of_color(c->color.build);
	l->sgr[LOG_RUNNER] = sgr_of_color(c->color.runner);
	l->sgr[LOG_PROXY] = l->sgr[LOG_MAIN];
	*out = l;
	return 0;
}

void log_free(struct log *l)
{
	free(l);
}

void log_banner(struct log *l, const char *text)
{
	if (l->format != LOG_FORMAT_TEXT || l->silent)
		return;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);

		if (line)
			fput_text(l->out, line);
		free(line);
		fputc('\n', l->out);
		p += len;
		if (*p == '\n')
			p++;
	}
	fflush(l->out);
}

static bool text_shown(const struct log *l, enum log_source src)
{
	if (l->format != LOG_FORMAT_TEXT || l->silent)
		return false;
	return !l->main_only || src == LOG_MAIN;
}

static void put_text_prefix(struct log *l, enum log_source src)
{
	if (l->time) {
		time_t now = time(NULL);
		struct tm tm;
		char hms[16];
		localtime_r(&now, &tm);
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
		fprintf(l->out, "%s ", hms);
	}
	if (l->color && l->sgr[src][0])
		fprintf(l->out, "%s[%s]\033[0m ", l->sgr[src], source_names[src]);
	else
		fprintf(l->out, "[%s] ", source_names[src]);
}

/* Opens a JSON event: {"time":..., "event":"NAME" — the caller adds fields and calls json_end. */
static void json_begin(struct log *l, const char *event)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	fprintf(l->out, "{\"time\":%lld.%03ld,\"event\":\"%s\"", (long long)tv.tv_sec,
		(long)(tv.tv_usec / 1000), event);
}

static void json_end(struct log *l)
{
	fputs("}\n", l->out);
	fflush(l->out);
}

static void json_string_field(struct log *l, const char *name, const char *value)
{
	fprintf(l->out, ",\"%s\":", name);
	fput_quoted(l->out, value);
}

void log_msg(struct log *l, enum log_source src, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	if (l->format == LOG_FORMAT_TEXT && !text_shown(l, src))
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "log");
		json_string_field(l, "source", source_names[src]);
		json_string_field(l, "msg", msg);
		json_end(l);
	} else {
		/* msg quotes paths, commands and values: one escaped line, so that none can forge a line. */
		put_text_prefix(l, src);
		fput_text(l->out, msg);
		fputc('\n', l->out);
		fflush(l->out);
	}
	free(msg);
}

void log_output(struct log *l, enum log_source src, const char *line, size_t len)
{
	if (l->format == LOG_FORMAT_JSON) {
		char *copy = strndup(line, len);
		if (!copy)
			return;
		json_begin(l, "output");
		json_string_field(l, "source", source_names[src]);
		json_string_field(l, "line", copy);
		json_end(l);
		free(copy);
		return;
	}
	if (!text_shown(l, src))
		return;
	/* The command's own output, as a terminal would show it without us: its colours stay. */
	put_text_prefix(l, src);
	fwrite(line, 1, len, l->out);
	fputc('\n', l->out);
	fflush(l->out);
}

void log_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), sig_name(WTERMSIG(status)));
	else
		snprintf(buf, size, "wait status %#x", (unsigned)status);
}

/* The JSON form of a wait status: the exit code, or 128+N for signal N, as shells report it. */
static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

void log_change(struct log *l, char *const *paths, size_t n, size_t count)
{
	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "change");
		fputs(",\"paths\":[", l->out);
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc(',', l->out);
			fput_quoted(l->out, paths[i]);
		}
		fprintf(l->out, "],\"count\":%zu", count);
		json_end(l);
		return;
	}
	if (count == 0)
		log_msg(l, LOG_WATCHER, "rebuild requested");
	else if (count == 1 && n == 1)
		log_msg(l, LOG_WATCHER, "%s has changed", paths[0]);
	else if (n >= 1)
		log_msg(l, LOG_WATCHER, "%s and %zu more have changed", paths[0], count - 1);
	else
		log_msg(l, LOG_WATCHER, "%zu files have changed", count);
}

void log_build_start(struct log *l, size_t changed_count)
{
	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "build_start");
		fprintf(l->out, ",\"changed\":%zu", changed_count);
		json_end(l);
		return;
	}
	/* As air: ESC[2J keeps the scrollback, ESC c (a full reset) drops it. */
	if (l->clear_on_rebuild && changed_count > 0)
		fputs(l->keep_scroll ? "\033[2J\033[H" : "\033c", l->out);
	log_msg(l, LOG_MAIN, "building...");
}

void log_build_end(struct log *l, uint64_t duration_ms, int status)
{
	char how[64];

	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "build_end");
		fprintf(l->out, ",\"duration_ms\":%llu,\"status\":%d", (unsigned long long)duration_ms,
			status_code(status));
		json_end(l);
		return;
	}
	if (status == 0) {
		log_msg(l, LOG_BUILD, "built in %llu ms", (unsigned long long)duration_ms);
		return;
	}
	log_describe_status(status, how, sizeof(how));
	/* A failed build is news even when only main is shown. */
	log_msg(l, LOG_MAIN, "build failed after %llu ms: %s", (unsigned long long)duration_ms, how);
}

void log_rule_start(struct log *l, const char *name, const char *cmd, char *const *paths, size_t npaths)
{
	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "rule_start");
		json_string_field(l, "rule", name);
		fputs(",\"paths\":[", l->out);
		for (size_t i = 0; i < npaths && i < 100; i++) {
			if (i)
				fputc(',', l->out);
			fput_quoted(l->out, paths[i]);
		}
		fprintf(l->out, "],\"changed\":%zu", npaths);
		json_end(l);
		return;
	}
	if (npaths > 1)
		log_msg(l, LOG_WATCHER, "rule %s: %s and %zu more have changed", name, paths[0], npaths - 1);
	else if (npaths == 1)
		log_msg(l, LOG_WATCHER, "rule %s: %s has changed", name, paths[0]);
	log_msg(l, LOG_BUILD, "rule %s: > %s", name, cmd);
}

void log_rule_end(struct log *l, const char *name, uint64_t duration_ms, int status)
{
	char how[64];

	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "rule_end");
		json_string_field(l, "rule", name);
		fprintf(l->out, ",\"duration_ms\":%llu,\"status\":%d", (unsigned long long)duration_ms,
			status_code(status));
		json_end(l);
		return;
	}
	if (status == 0) {
		log_msg(l, LOG_BUILD, "rule %s: done in %llu ms", name, (unsigned long long)duration_ms);
		return;
	}
	log_describe_status(status, how, sizeof(how));
	/* As a failed build: news even when only main is shown. */
	log_msg(l, LOG_MAIN, "rule %s failed after %llu ms: %s", name, (unsigned long long)duration_ms, how);
}

void log_run_start(struct log *l, pid_t pid, const char *rung)
{
	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "run_start");
		fprintf(l->out, ",\"pid\":%d", (int)pid);
		json_string_field(l, "rung", rung);
		json_end(l);
		return;
	}
	log_msg(l, LOG_RUNNER, "running (pid %d, box %s)", (int)pid, rung);
}

void log_box_spare(struct log *l, const char *kind, const char *box)
{
	/* Once per cycle and kind: the text log would only repeat it. */
	if (l->format != LOG_FORMAT_JSON)
		return;
	json_begin(l, "box_spare");
	json_string_field(l, "kind", kind);
	json_string_field(l, "box", box);
	json_end(l);
}

void log_run_exit(struct log *l, pid_t pid, int status)
{
	char how[64];

	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "run_exit");
		fprintf(l->out, ",\"pid\":%d,\"status\":%d", (int)pid, status_code(status));
		json_end(l);
		return;
	}
	log_describe_status(status, how, sizeof(how));
	log_msg(l, LOG_RUNNER, "app (pid %d) ended: %s", (int)pid, how);
}

void log_run_stop(struct log *l, pid_t pid, const char *rung, uint64_t stop_ms, bool killed)
{
	if (l->format == LOG_FORMAT_JSON) {
		json_begin(l, "run_stop");
		fprintf(l->out, ",\"pid\":%d", (int)pid);
		json_string_field(l, "rung", rung);
		fprintf(l->out, ",\"stop_ms\":%llu,\"killed\":%s", (unsigned long long)stop_ms,
			killed ? "true" : "false");
		json_end(l);
		return;
	}
	log_msg(l, LOG_RUNNER, "stopped pid %d in %llu ms%s; its box is empty", (int)pid,
		(unsigned long long)stop_ms,
		killed ? " (killed: the stop timeout ran out, or a second quit request came)" : "");
}

void log_size(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGT";
	int unit = -1;

	while (bytes && unit < 3 && bytes % 1024 == 0) {
		bytes /= 1024;
		unit++;
	}
	if (unit < 0)
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%llu%c", (unsigned long long)bytes, units[unit]);
}

void log_limit_text(char *buf, size_t size, const char *who, unsigned ev, const struct box_limit_report *rep)
{
	char max[32], peak[32];

	if (ev & BOX_EV_OOM) {
		log_size(max, sizeof(max), rep->applied.memory_max);
		log_size(peak, sizeof(peak), rep->memory_peak);
		snprintf(buf, size, "%s killed by the OOM killer: memory_max %s, peak %s%s", who, max,
			 rep->memory_peak ? peak : "unknown",
			 rep->oom_kills > 1 ? " (more than one process of its box was killed)" : "");
	} else {
		snprintf(buf, size, "%s hit pids_max %llu: %llu fork%s refused", who,
			 (unsigned long long)rep->applied.pids_max, (unsigned long long)rep->pids_max_hits,
			 rep->pids_max_hits == 1 ? "" : "s");
	}
}

void log_limit(struct log *l, const char *who, pid_t pid, unsigned ev, const struct box_limit_report *rep)
{
	char text[256];

	for (unsigned bit = BOX_EV_OOM; bit <= BOX_EV_PIDS_MAX; bit <<= 1) {
		if (!(ev & bit))
			continue;
		if (l->format == LOG_FORMAT_JSON) {
			json_begin(l, bit == BOX_EV_OOM ? "oom" : "pids_max");
			json_string_field(l, "who", who);
			fprintf(l->out, ",\"pid\":%d", (int)pid);
			if (bit == BOX_EV_OOM)
				fprintf(l->out,
					",\"memory_max\":%llu,\"memory_peak\":%llu,\"oom_kills\":%llu",
					(unsigned long long)rep->applied.memory_max,
					(unsigned long long)rep->memory_peak,
					(unsigned long long)rep->oom_kills);
			else
				fprintf(l->out, ",\"pids_max\":%llu,\"refused\":%llu",
					(unsigned long long)rep->applied.pids_max,
					(unsigned long long)rep->pids_max_hits);
			json_string_field(l, "via",
					  (bit == BOX_EV_OOM ? rep->memory_via : rep->pids_via) ?: "");
			json_end(l);
			continue;
		}
		log_limit_text(text, sizeof(text), who, bit, rep);
		log_msg(l, LOG_RUNNER, "%s", text);
	}
}
