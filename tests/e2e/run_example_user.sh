#!/bin/bash
# The README's example as a normal user on a systemd desktop (issue 14):
# uid 65534 with a real `systemd --user` and session bus
# (tests/lib/systemd_user_env.sh), in a cgroup it cannot write to, runs
# `nsreload run` in a copy of docs/example/ (its .nsreload.toml, a real Go
# build), as the README says. nsreload must get its cgroup2 box through a
# scope from the user manager (the log names nsreload-<pid>.scope), serve
# the page, rebuild and serve the edit, and on SIGTERM exit 0 with no
# process left (by a token in /proc/*/environ), the port free and no nsreload
# scope or cgroup left in the environment.
# Usage: run_example_user.sh NSRELOAD. Skips (77) without go or where the
# environment cannot be built, unless NSRELOAD_TEST_REQUIRE is set (then it
# fails).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testlib.sh"
. "$here/../lib/systemd_user_env.sh"
test_begin "$1" example-user
chmod 755 "$work"

cleanup() {
	[ -n "${bg:-}" ] && kill -KILL "$bg" 2>/dev/null
	sdenv_cleanup || echo "warning: the environment left something (above)" >&2
	test_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v go >/dev/null || skip_test_or_fail "go is needed"
command -v curl >/dev/null || skip_test_or_fail "curl is needed"
why=$(sdenv_can_start) || skip_test_or_fail "$why"
make_cgroup_parent nsreload-example-user
[ -n "$parent" ] || skip_test_or_fail "no writable cgroup2 directory for the environment"
sdenv_start "$parent/env" || skip_test_or_fail "the environment could not be built (above)"

cp "$NSR" "$work/nsreload" && chmod 755 "$work/nsreload" && cp -r "$here/../../docs/example" "$work/example" &&
	rm -rf "$work/example/tmp" && mkdir -m 755 "$work/go" && chown -R 65534:65534 "$work/example" "$work/go" || exit 2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tok="nsrexu$$"
log=$work/run.log
# No network in CI: Go's caches in the test's directory, no proxy.
sdenv_run env NSRELOAD_TEST_TOKEN="$tok" PORT="$port" GOCACHE="$work/go/cache" GOPATH="$work/go/path" \
	GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
	sh -c "cd '$work/example' && exec '$work/nsreload' run --color=never" </dev/null >"$log" 2>&1 &
bg=$!
page() { curl -s --max-time 2 "127.0.0.1:$port/"; }
serves() { page | grep -q "$1"; }
if wait_for 60000 serves "example v1"; then ok "the page is served: $(page)"; else bad "no page on port $port"; fi
scope=$(sed -n 's/.*box: in \(nsreload-[0-9]*\.scope\), a scope systemd delegated.*/\1/p' "$log" | head -1)
if [ -n "$scope" ] && grep -q '^\[main\] box: cgroup2$' "$log"; then
	ok "the box is cgroup2, in $scope from the user manager"
else
	bad "no cgroup2 box in a scope of nsreload's: $(grep 'box' "$log" | head -3 | tr '\n' ' ')"
fi
sdenv_run sh -c "cd '$work/example' && sed 's/example v1/example v2/' main.go >main.go.new && mv main.go.new main.go"
if wait_for 60000 serves "example v2"; then ok "the edit is served: $(page)"; else bad "the edit is not served: $(page)"; fi

# SIGTERM to nsreload: the process in the environment whose cwd is the example and whose name is nsreload.
nsr=""
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/cwd" 2>/dev/null)" = "$work/example" ] && [ "$(cat "$p/comm" 2>/dev/null)" = nsreload ] && nsr=${p#/proc/}
done
if [ -z "$nsr" ]; then
	bad "no nsreload process found"
else
	kill -TERM "$nsr"
	wait "$bg"
	rc=$?
	bg=""
	[ "$rc" = 0 ] && ok "SIGTERM: nsreload exits 0" || bad "SIGTERM: nsreload exits $rc"
fi
wait_for 5000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
n=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
[ "$n" = 0 ] && ok "0 survivors" || bad "$n survivors"
page >/dev/null && bad "port $port still answers" || ok "port $port is free"
left() { sdenv_scopes; find "$SDENV_CG" -mindepth 1 -type d -name 'nsreload*' -printf 'cgroup %p\n'; }
no_left() { [ -z "$(left)" ]; }
wait_for 5000 no_left
l=$(left | tr '\n' ' ')
[ -z "$l" ] && ok "no nsreload scope or cgroup is left" || bad "left: $l"
if [ "$fail" != 0 ]; then
	echo "--- nsreload's log:"
	cat "$log"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
