#!/bin/bash
# air issue #216 end to end with real Go and Delve: a Go HTTP server runs
# under 'dlv exec --headless --continue'; its source is edited N times (20 by
# default) on the cgroup2, pidns and pgroup rungs. After every rebuild the new
# code answers on the app port, dlv listens again on its port, the old dlv and
# debuggee are gone, and "address already in use" appears nowhere.
# Usage: run_go_dlv.sh NSRELOAD [EDITS]. Needs go and dlv; skips (exit 77) without them.
# NSRELOAD_TEST_RUNGS (comma separated, default cgroup2,pidns,pgroup) picks the rungs, e.g. auto or
# cgroup2+pidns when measuring a default rung.
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" go-dlv
EDITS=${2:-20}
tok_base="nsrgo$$"

if ! command -v go >/dev/null || ! command -v dlv >/dev/null; then
	echo "skip: go and dlv are needed"
	exit 77
fi
# No network and no HOME in CI: every Go cache lives in the temp dir.
export GOCACHE="$work/gocache" GOPATH="$work/gopath" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
export HOME="${HOME:-$work}"

answers() { [ "$(curl -s --max-time 1 "http://127.0.0.1:$app_port/")" = "$1" ]; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { echo $((20000 + (RANDOM % 20000))); }

write_server() {
	cat >"$proj/main.go" <<GO
package main

import (
	"fmt"
	"net/http"
	"os"
)

const version = "$1"

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, version) })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("APP_PORT"), nil); err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
}
GO
}

make_cgroup_parent nsreload-test-go
install_cleanup

run_rung() {
	rung=$1
	tok="$tok_base-$(echo "$rung" | tr + _)"
	proj="$work/$rung"
	log="$work/$rung.log"
	app_port=$(free_port)
	dlv_port=$((app_port + 1))
	mkdir -p "$proj"
	printf 'module example.com/e2e\n\ngo 1.19\n' >"$proj/go.mod"
	write_server v0
	if [ "${rung%%+*}" = cgroup2 ] && [ -z "$parent" ]; then
		echo "skip $rung: no writable cgroup v2"
		return
	fi
	(
		cd "$proj" || exit 125
		[ "$rung" != pidns ] && [ "$rung" != pgroup ] && [ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
		APP_PORT=$app_port NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --color=never --box=$rung \
			--build.cmd="go build -gcflags='all=-N -l' -o ./tmp/main ." \
			--build.full_bin="dlv exec --accept-multiclient --headless --continue --listen 127.0.0.1:$dlv_port --api-version 2 ./tmp/main" \
			--build.delay=100 --stop-timeout=5s </dev/null >"$log" 2>&1
	) &
	nsr_pid=$!
	if ! wait_for 120000 answers v0; then
		bad "$rung: the first build never answered"
		tail -n 30 "$log"
		kill -TERM "$nsr_pid"
		wait_for 10000 pid_gone "$nsr_pid"
		nsr_pid=""
		return
	fi
	baseline=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	good=0
	for k in $(seq 1 "$EDITS"); do
		write_server "v$k"
		if wait_for 60000 answers "v$k" && wait_for 10000 listening "$dlv_port"; then
			n=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
			if [ "$n" = "$baseline" ]; then
				good=$((good + 1))
			else
				bad "$rung: edit $k: $n processes carry the token, $baseline after the first run"
			fi
		else
			bad "$rung: edit $k: v$k never answered with dlv listening"
			break
		fi
	done
	[ "$good" = "$EDITS" ] && ok "$rung: $EDITS edits, each answered by new code, dlv rebound, no extra process"
	if grep -qi "address already in use" "$log"; then
		bad "$rung: 'address already in use' in the output"
	else
		ok "$rung: no 'address already in use'"
	fi
	kill -TERM "$nsr_pid"
	if wait_for 20000 pid_gone "$nsr_pid"; then
		wait "$nsr_pid"
		rc=$?
		nsr_pid=""
		wait_for 3000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
		s=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
		[ "$rc" = 0 ] && [ "$s" = 0 ] && ! listening "$app_port" && ! listening "$dlv_port" &&
			ok "$rung: exit 0, 0 survivors, both ports free" || bad "$rung: exit rc=$rc, $s survivors"
	else
		bad "$rung: nsreload did not exit after SIGTERM"
	fi
	[ "$fail" != 0 ] && tail -n 30 "$log"
}

for rung in $(echo "${NSRELOAD_TEST_RUNGS:-cgroup2,pidns,pgroup}" | tr , ' '); do
	run_rung $rung
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
