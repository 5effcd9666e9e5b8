/*
 * Socket hand-off (src/reload/handoff.h): socket.listen's addresses parsed,
 * bound once with a clear message naming the address when that fails, and the
 * environment box_spawn gives the app (cgroup/spawn.c, box_make_env): our
 * LISTEN_* replace inherited ones, with a slot for the child's pid. The fds
 * reaching a real app on every rung: tests/integration/socket_handoff.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "box-internal.h"
#include "config.h"
#include "handoff.h"
#include "log.h"

static void test_parse_addr(void **state)
{
	static const struct {
		const char *text;
		int r;
		int family;
		const char *ip;
		int port;
	} cases[] = {
		{ "8080", 0, AF_INET, "127.0.0.1", 8080 },
		{ "127.0.0.1:1", 0, AF_INET, "127.0.0.1", 1 },
		{ "0.0.0.0:65535", 0, AF_INET, "0.0.0.0", 65535 },
		{ "localhost:9000", 0, AF_INET, "127.0.0.1", 9000 },
		{ "[::1]:8081", 0, AF_INET6, "::1", 8081 },
		{ "", -EINVAL, 0, NULL, 0 },
		{ "0", -EINVAL, 0, NULL, 0 },
		{ "65536", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:80x", -EINVAL, 0, NULL, 0 },
		{ "example.com:80", -EINVAL, 0, NULL, 0 },
		{ "::1:80", -EINVAL, 0, NULL, 0 },
		{ "[127.0.0.1]:80", -EINVAL, 0, NULL, 0 },
		{ "[::1]", -EINVAL, 0, NULL, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char why[128] = "", ip[INET6_ADDRSTRLEN];
		int r = handoff_parse_addr(cases[i].text, &ss, &len, why, sizeof(why));

		if (r != cases[i].r)
			fprintf(stderr, "\"%s\": %d, want %d\n", cases[i].text, r, cases[i].r);
		assert_int_equal(r, cases[i].r);
		if (r < 0) {
			assert_true(why[0] != '\0');
			continue;
		}
		assert_int_equal(ss.ss_family, cases[i].family);
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
			assert_int_equal(len, sizeof(*a));
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
			assert_int_equal(ntohs(a->sin_port), cases[i].port);
		} else {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
			assert_int_equal(len, sizeof(*a));
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
			assert_int_equal(ntohs(a->sin6_port), cases[i].port);
		}
		assert_string_equal(ip, cases[i].ip);
	}
}

/* A port above 20000 that is free now (machine safety: tests never take a well-known one). */
static int free_port(void)
{
	for (int port = 20000 + (int)(getpid() % 20000);; port++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		assert_true(fd >= 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return port;
	}
}

struct run {
	struct config c;
	struct log *log;
	char *out;
	size_t out_len;
	FILE *m;
};

/* A configuration from these flags, and a log into memory. */
static void run_open(struct run *r, char **argv, int argc)
{
	struct config_args a = { 0 };

	memset(r, 0, sizeof(*r));
	assert_int_equal(config_init(&r->c), 0);
	assert_int_equal(config_parse_args(&r->c, argc, argv, &a, NULL), 0);
	r->m = open_memstream(&r->out, &r->out_len);
	assert_non_null(r->m);
	assert_int_equal(log_new(&r->log, &r->c, &(struct log_opts){ .out = r->m }), 0);
}

static void run_close(struct run *r)
{
	log_free(r->log);
	fclose(r->m);
	free(r->out);
	config_free(&r->c);
}

static void test_open_binds_once(void **state)
{
	char a1[32], a2[32];
	int p1 = free_port(), p2;
	struct run r;
	struct handoff h = { 0 }, again = { 0 };

	(void)state;
	snprintf(a1, sizeof(a1), "%d", p1);
	p2 = free_port();
	if (p2 == p1)
		p2 = p1 + 1;
	snprintf(a2, sizeof(a2), "127.0.0.1:%d", p2);
	char *argv[] = { "run", "--listen", a1, "--listen", a2 };
	run_open(&r, argv, 5);
	assert_int_equal(handoff_open(&h, &r.c, r.log), 0);
	assert_int_equal(h.n, 2);
	for (size_t i = 0; i < h.n; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		int on = 0;
		socklen_t olen = sizeof(on);

		/* CLOEXEC: no build, rule or other box inherits them; only pass_fds hands them on. */
		assert_true(fcntl(h.fds[i], F_GETFD) & FD_CLOEXEC);
		assert_int_equal(getsockopt(h.fds[i], SOL_SOCKET, SO_ACCEPTCONN, &on, &olen), 0);
		assert_int_equal(on, 1);
		assert_int_equal(getsockname(h.fds[i], (struct sockaddr *)&a, &len), 0);
		assert_int_equal(ntohs(a.sin_port), i == 0 ? p1 : p2);
		assert_int_equal(ntohl(a.sin_addr.s_addr), INADDR_LOOPBACK);
	}
	/* The port is taken now: a second start says which address and why, and holds nothing. */
	assert_int_equal(handoff_open(&again, &r.c, r.log), -EADDRINUSE);
	assert_int_equal(again.n, 0);
	fflush(r.m);
	assert_non_null(strstr(r.out, "cannot listen on "));
	assert_non_null(strstr(r.out, a1));
	assert_non_null(strstr(r.out, "flag --listen"));
	handoff_close(&h);
	assert_int_equal(h.n, 0);
	run_close(&r);
}

static void test_open_bad_address(void **state)
{
	char *argv[] = { "run", "--listen", "8080", "--listen", "nohost:80" };
	struct handoff h = { 0 };
	struct run r;

	(void)state;
	run_open(&r, argv, 5);
	assert_int_equal(handoff_open(&h, &r.c, r.log), -EINVAL);
	assert_int_equal(h.n, 0);
	fflush(r.m);
	assert_non_null(strstr(r.out, "socket.listen (flag --listen): \"nohost:80\": "));
	run_close(&r);
}

/* mode = "tcp" is the front's (src/proxy): nothing is bound here. */
static void test_open_tcp_mode_binds_nothing(void **state)
{
	char *argv[] = { "run", "--listen", "8080", "--socket.mode=tcp" };
	struct handoff h = { 0 };
	struct run r;

	(void)state;
	run_open(&r, argv, 4);
	assert_int_equal(handoff_open(&h, &r.c, r.log), 0);
	assert_int_equal(h.n, 0);
	run_close(&r);
}

static const char *env_get(char **env, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return env[i] + len + 1;
	return NULL;
}

static size_t env_count(char **env, const char *name)
{
	size_t n = 0, len = strlen(name);

	for (size_t i = 0; env[i]; i++)
		n += strncmp(env[i], name, len) == 0 && env[i][len] == '=';
	return n;
}

static void test_env_listen(void **state)
{
	static char *const inherited[] = { "PATH=/bin",        "LISTEN_FDS=9",     "LISTEN_PID=1",
					   "LISTEN_FDNAMES=x", "NSRELOAD_BOX=old", NULL };
	static const int fds[] = { 7, 8 };
	static const char *const names[] = { "web", "admin" };
	struct box b = { .token = "tok" };
	char **env, *slot;

	(void)state;
	/* No fds: inherited LISTEN_* stay (they are not ours to judge), only our box token is replaced. */
	env = box_make_env(&b, &(struct box_spawn){ .envp = inherited }, &slot);
	assert_non_null(env);
	assert_null(slot);
	assert_string_equal(env_get(env, "LISTEN_FDS"), "9");
	assert_string_equal(env_get(env, "NSRELOAD_BOX"), "tok");
	assert_int_equal(env_count(env, "NSRELOAD_BOX"), 1);
	free(env);

	env = box_make_env(
		&b,
		&(struct box_spawn){ .envp = inherited, .pass_fds = fds, .n_pass_fds = 2, .fd_names = names },
		&slot);
	assert_non_null(env);
	assert_string_equal(env_get(env, "PATH"), "/bin");
	assert_string_equal(env_get(env, "LISTEN_FDS"), "2");
	assert_string_equal(env_get(env, "LISTEN_FDNAMES"), "web:admin");
	assert_int_equal(env_count(env, "LISTEN_FDS"), 1);
	assert_int_equal(env_count(env, "LISTEN_PID"), 1);
	assert_int_equal(env_count(env, "LISTEN_FDNAMES"), 1);
	/* The slot is LISTEN_PID's value, room for LISTEN_PID_DIGITS digits that the child fills. */
	assert_ptr_equal(slot, env_get(env, "LISTEN_PID"));
	assert_int_equal(strlen(slot), LISTEN_PID_DIGITS);
	free(env);

	env = box_make_env(&b, &(struct box_spawn){ .envp = inherited, .pass_fds = fds, .n_pass_fds = 1 },
			   &slot);
	assert_non_null(env);
	assert_string_equal(env_get(env, "LISTEN_FDNAMES"), "nsreload");
	free(env);

	assert_int_equal(box_check_pass_fds(&(struct box_spawn){ .pass_fds = fds, .n_pass_fds = 2 }), 0);
	assert_int_equal(box_check_pass_fds(
				 &(struct box_spawn){ .pass_fds = fds, .n_pass_fds = BOX_PASS_FDS_MAX + 1 }),
			 -E2BIG);
	assert_int_equal(
		box_check_pass_fds(&(struct box_spawn){
			.pass_fds = fds, .n_pass_fds = 1, .fd_names = (const char *const[]){ "a:b" } }),
		-EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),       cmocka_unit_test(test_open_binds_once),
		cmocka_unit_test(test_open_bad_address), cmocka_unit_test(test_open_tcp_mode_binds_nothing),
		cmocka_unit_test(test_env_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
