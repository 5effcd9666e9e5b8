#!/bin/bash
# The stop signal reaches a real Go server run with the DEFAULT configuration:
# a bare 'nsreload' in a directory holding only go.mod and main.go (no config
# file: 'go build -o ./tmp/main .', then ./tmp/main). The server logs
# "shutdown VERSION" from its SIGTERM handler (after http.Server.Shutdown) and
# exits 0. On every rung (cgroup2, cgroup2+pidns, pidns, pgroup): one edit of
# main.go restarts it, then SIGINT or SIGTERM ends nsreload; the handler must
# have run both times, no stop may have needed the kill, and nothing with the
# test's token may survive. One edit per rung keeps the Go builds at 8.
# Usage: run_go_stop.sh NSRELOAD. Skips (77) without go, unless
# NSRELOAD_TEST_REQUIRE is set: then a missing go is a failure too.
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" go-stop

required() { case ",${NSRELOAD_TEST_REQUIRE:-}," in *",$1,"*) return 0 ;; esac; return 1; }

if ! command -v go >/dev/null; then
	rm -rf "$work"
	if [ -n "${NSRELOAD_TEST_REQUIRE:-}" ]; then
		echo "FAIL go is needed and NSRELOAD_TEST_REQUIRE is set"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "skip: go is needed"
	exit 77
fi
# No network and no HOME in CI: every Go cache lives in the temp dir.
export GOCACHE="$work/gocache" GOPATH="$work/gopath" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
export HOME="${HOME:-$work}"

# write_server DIR VERSION: main.go, replaced in one rename so that no build sees half of it.
write_server() {
	cat >"$1/main.go.new" <<GO
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

const version = "$2"

func note(s string) {
	f, err := os.OpenFile(os.Getenv("STOPLOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		os.Exit(3)
	}
	fmt.Fprintln(f, s)
	f.Close()
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	srv := &http.Server{}
	go srv.Serve(ln)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	note("start " + version)
	<-stop
	srv.Shutdown(context.Background())
	note("shutdown " + version)
	os.Exit(0)
}
GO
	mv "$1/main.go.new" "$1/main.go"
}
noted() { grep -qx "$2" "$1" 2>/dev/null; }

make_cgroup_parent nsreload-test-gostop
install_cleanup

run_rung() {
	rung=$1
	sig=$2
	tok="nsrgostop$$-$rung"
	proj="$work/$rung"
	log="$work/$rung.log"
	stops="$work/$rung.stops"
	mkdir -p "$proj"
	printf 'module example.com/gostop\n\ngo 1.19\n' >"$proj/go.mod"
	write_server "$proj" v0
	(
		cd "$proj" || exit 125
		case $rung in cgroup2*) export NSRELOAD_CGROUP_PARENT="$parent" ;; esac
		# A background job starts with SIGINT ignored: give it back for the SIGINT rungs.
		STOPLOG=$stops NSRELOAD_TEST_TOKEN=$tok exec env --default-signal=INT "$NSR" --box="$rung" \
			--log-format=json --color=never </dev/null >"$log" 2>&1
	) &
	nsr_pid=$!
	if ! wait_for 120000 noted "$stops" "start v0"; then
		bad "$rung: the first build never ran"
		tail -n 20 "$log"
		kill -TERM "$nsr_pid"
		wait_for 20000 pid_gone "$nsr_pid"
		nsr_pid=""
		return
	fi
	write_server "$proj" v1
	if wait_for 60000 noted "$stops" "start v1" && noted "$stops" "shutdown v0"; then
		ok "$rung: the restart ran the server's SIGTERM handler"
	else
		bad "$rung: after the edit: $(tr '\n' ' ' <"$stops")"
	fi
	kill "-$sig" "$nsr_pid"
	if wait_for 20000 pid_gone "$nsr_pid"; then
		wait "$nsr_pid"
		rc=$?
	else
		rc=timeout
		kill -KILL "$nsr_pid"
	fi
	nsr_pid=""
	if noted "$stops" "shutdown v1"; then
		ok "$rung: SIG$sig to nsreload ran the server's SIGTERM handler"
	else
		bad "$rung: at exit: $(tr '\n' ' ' <"$stops")"
	fi
	k=$(grep '"event":"run_stop"' "$log" | grep -c '"killed":true')
	n=$(grep -c '"event":"run_stop"' "$log")
	[ "$n" = 2 ] && [ "$k" = 0 ] && ok "$rung: 2 stops, none needed the kill" ||
		bad "$rung: $n stops, $k needed the kill"
	if [ "$rc" = 0 ] && wait_for 5000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"; then
		ok "$rung: exit 0, no survivor"
	else
		bad "$rung: exit $rc, $(count_env "NSRELOAD_TEST_TOKEN=$tok") survivors"
	fi
}

for rung in cgroup2 cgroup2+pidns pidns pgroup; do
	case $rung in
	cgroup2*)
		if [ -z "$parent" ]; then
			if required cgroup2; then bad "$rung: no writable cgroup v2 (required)"; else echo "skip $rung: no writable cgroup v2"; fi
			continue
		fi
		;;
	esac
	case $rung in cgroup2 | pidns) sig=INT ;; *) sig=TERM ;; esac
	run_rung "$rung" "$sig"
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
