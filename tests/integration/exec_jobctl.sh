#!/bin/sh
# Ctrl-Z, fg and bg under `nsreload exec` on a real terminal, on every rung:
# exec_jobctl.py plays a job-control shell on a fresh pty (its own session),
# so no tmux is needed. Scenarios (see exec_jobctl.py): cat (Ctrl-Z, fg, bg
# then the terminal's SIGTTIN, fg, EOF), vi (a raw-mode program that stops
# itself with kill(0, SIGTSTP)), modes (the box's terminal modes saved on
# Ctrl-Z and given back on fg), bash (bash's own job control inside the box:
# nsreload keeps out of it). Each checks that nothing with the test's token
# survives and that the terminal's modes end as they began.
# Usage: exec_jobctl.sh NSRELOAD FIXTURE_DIR
set -u
NSR=$1
pass=0
fail=0
here=$(dirname "$0")

if ! command -v python3 >/dev/null 2>&1; then
	echo "skip: no python3 to drive a pty"
	[ -n "${NSRELOAD_TEST_REQUIRE:-}" ] && exit 1
	exit 77
fi
. "$here/../lib/testlib.sh"
make_cgroup_parent nsreload-test-jobctl
[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
cleanup() { remove_cgroup_parent; }
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

for rung in cgroup2 pidns cgroup2+pidns pgroup; do
	if ! "$NSR" exec --box=$rung -- true 2>/dev/null; then
		case ",${NSRELOAD_TEST_REQUIRE:-}," in
		*",${rung%%+*},"*) fail=$((fail + 1)); echo "FAIL $rung: not available here, but required" ;;
		*) echo "skip $rung: not available here" ;;
		esac
		continue
	fi
	scenarios="cat vi modes bash"
	for sc in $scenarios; do
		out=$(python3 "$here/exec_jobctl.py" "$NSR" "$rung" "$sc" "nsrjob$$-$sc-${rung%%+*}" 2>&1)
		rc=$?
		echo "$out"
		[ "$rc" != 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL ' && { out="FAIL $rung $sc: the driver exited $rc"; echo "$out"; }
		pass=$((pass + $(printf '%s\n' "$out" | grep -c '^ok ')))
		fail=$((fail + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
	done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
