#!/bin/sh
# nsreload exec and doctor from the command line, on the real kernel:
# --timeout, --wait-all, signal forwarding, the freeze-and-kill fallback, the
# exit codes and doctor --json. Survivors are found by a token in
# /proc/*/environ. Usage: exec_cli.sh NSRELOAD FIXTURE_DIR
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1"
tok_base="nsrcli$$"
parent=""


survivors() {
	n=0
	for e in /proc/[0-9]*/environ /proc/[0-9]*/task/[0-9]*/environ; do
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qx "NSRELOAD_TEST_TOKEN=$1"; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# A fresh parent cgroup of our own, so no box ever lands next to the test runner.
v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$v2" ] && mkdir "$v2/nsreload-test-cli.$$" 2>/dev/null; then
	parent="$v2/nsreload-test-cli.$$"
	export NSRELOAD_CGROUP_PARENT="$parent"
fi
cleanup() {
	remove_cgroup_parent
}
trap cleanup EXIT
# A signal must still run the cleanup, so that no nsreload of ours outlives the test.
trap "exit 130" INT
trap "exit 143" TERM

# --timeout stops the command with the stop signal and exits 124, leaving nothing.
t="${tok_base}-timeout"
NSRELOAD_TEST_TOKEN=$t "$NSR" exec --timeout=300ms --stop-timeout=200ms -- sh -c 'setsid sleep 100 & trap "" TERM; sleep 100'
rc=$?
s=$(survivors "$t")
[ "$rc" = 124 ] && [ "$s" = 0 ] && ok "--timeout exits 124, 0 survivors" || bad "--timeout: rc=$rc survivors=$s"

# --wait-all waits for the background child, then returns the main status.
start=$(date +%s%N)
"$NSR" exec --wait-all -- sh -c 'sleep 0.4 & exit 3'
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 3 ] && [ "$ms" -ge 350 ] && ok "--wait-all waits for the box (${ms} ms), rc 3" || bad "--wait-all: rc=$rc after ${ms} ms"

# Without it, the background child is killed as soon as main exits.
t="${tok_base}-nowait"
NSRELOAD_TEST_TOKEN=$t "$NSR" exec -- sh -c 'sleep 100 & exit 4'
rc=$?
s=$(survivors "$t")
[ "$rc" = 4 ] && [ "$s" = 0 ] && ok "main exit kills the rest, rc 4" || bad "main exit: rc=$rc survivors=$s"

# USR1 to nsreload reaches the main process.
for rung in cgroup2 pidns pgroup; do
	"$NSR" exec --box=$rung -- sh -c 'trap "exit 42" USR1; while :; do sleep 0.05; done' &
	p=$!
	sleep 0.3
	kill -USR1 $p
	wait $p
	rc=$?
	[ "$rc" = 42 ] && ok "USR1 forwarded ($rung)" || bad "USR1 forwarding on $rung: rc=$rc"
done

# The freeze-and-kill loop (kernels without cgroup.kill) leaves nothing either.
if [ -n "$parent" ]; then
	t="${tok_base}-freeze"
	NSRELOAD_HIDE_CGROUP_KILL=1 NSRELOAD_TEST_TOKEN=$t "$NSR" exec --box=cgroup2 -- \
		sh -c 'setsid sleep 100 & ( setsid -f sleep 100 ); exit 6'
	rc=$?
	s=$(survivors "$t")
	[ "$rc" = 6 ] && [ "$s" = 0 ] && ok "freeze-and-kill loop, 0 survivors" || bad "freeze loop: rc=$rc survivors=$s"
fi

# Usage errors and unknown rungs are nsreload's own: exit 2 with a message.
out=$("$NSR" exec --box=nope -- true 2>&1)
rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "unknown rung" && ok "unknown rung: exit 2" || bad "unknown rung: rc=$rc"
out=$("$NSR" exec 2>&1)
rc=$?
[ "$rc" = 2 ] && ok "no command: exit 2" || bad "no command: rc=$rc"

# doctor --json is valid JSON and names the rung auto picks.
if "$NSR" doctor --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["auto"] in ("cgroup2","cgroup1","pidns","pgroup"); assert set(d["rungs"]) >= {"cgroup2","pidns","cgroup2+pidns","pgroup"}'; then
	ok "doctor --json"
else
	bad "doctor --json"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
