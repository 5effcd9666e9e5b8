#!/bin/sh
# Consistent exits (issue 12): a requested quit of `nsreload run` exits 0
# however many signals it took, and a kill is logged as one.
#   run   an app that ignores INT and TERM; INT starts the exit sequence,
#         a second INT kills every box: the log says so, and a burst of
#         more INTs while nsreload tears down never turns the exit into 130
#         (each case is tried 5 times: the burst races the teardown);
#   exec  the same without a terminal: the second INT kills the box, the
#         message says so, and the status is the command's (137), never 130;
#         a command that outlives --stop-timeout is killed with a message too.
# Nothing with the test's token survives. Usage: quit_exit.sh NSRELOAD FIXTURE_DIR
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" quit

make_cgroup_parent nsreload-test-quit
install_cleanup
[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"

APP='trap "" INT TERM; echo up; while :; do sleep 1; done'

# burst PID: the second INT, then 30 more while nsreload is going away.
burst() {
	kill -INT "$1"
	for _ in $(seq 30); do
		kill -INT "$1" 2>/dev/null || break
		sleep 0.005
	done
}
grep_err() { grep -q "$1" "$work/err"; }
# second_int_and_end KILL_LINE WHAT: the burst, then nsreload's exit status into $codes, whether stderr has
# KILL_LINE into $logged, and no survivor of $tok.
second_int_and_end() {
	burst "$nsr_pid"
	if wait_for 20000 pid_gone "$nsr_pid"; then
		wait "$nsr_pid"
		codes="$codes $?"
	else
		codes="$codes timeout"
		kill -KILL "$nsr_pid"
	fi
	nsr_pid=""
	grep -q "$1" "$work/err" && logged=$((logged + 1))
	n=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	[ "$n" = 0 ] || bad "$2: $n survivors"
}

for rung in cgroup2 pidns; do
	if ! "$NSR" exec --box=$rung -- true 2>/dev/null; then
		echo "skip $rung: not available here"
		continue
	fi
	codes=""
	logged=0
	for i in 1 2 3 4 5; do
		tok="nsrquit$$-run-$rung-$i"
		# The last try's log must not answer for this one: its lines would send INT to the subshell
		# before it has become nsreload (a background subshell ignores INT: the signal would be lost).
		rm -f "$work/out" "$work/err"
		(
			cd "$work" || exit 125
			# A background job of sh starts with SIGINT ignored: give it back.
			NSRELOAD_TEST_TOKEN=$tok exec env --default-signal=INT "$NSR" --box=$rung --color=never \
				--build.cmd=true --stop-timeout=20s sh -c "$APP" </dev/null >"$work/out" 2>"$work/err"
		) &
		nsr_pid=$!
		wait_for 30000 grep_err "running (pid" || bad "run $rung: the app did not start"
		kill -INT "$nsr_pid"
		wait_for 30000 grep_err "cleaning up" || bad "run $rung: no exit sequence after INT"
		second_int_and_end "killed pid [0-9]* .*after a second quit request" "run $rung try $i"
	done
	[ "$codes" = " 0 0 0 0 0" ] && ok "run $rung: INT, INT and a burst exit 0, 5 times out of 5" ||
		bad "run $rung: exit statuses$codes (want 0 each time)"
	[ "$logged" = 5 ] && ok "run $rung: the second INT is logged as a kill" ||
		{ bad "run $rung: the kill was logged $logged times out of 5; last log:"; cat "$work/err"; }
done

for rung in cgroup2 pidns; do
	"$NSR" exec --box=$rung -- true 2>/dev/null || continue
	codes=""
	logged=0
	for i in 1 2 3 4 5; do
		tok="nsrquit$$-exec-$rung-$i"
		rm -f "$work/out" "$work/err" # as above: no stale "up"
		NSRELOAD_TEST_TOKEN=$tok env --default-signal=INT "$NSR" exec --box=$rung -- sh -c "$APP" \
			</dev/null >"$work/out" 2>"$work/err" &
		nsr_pid=$!
		wait_for 10000 grep -q up "$work/out" || bad "exec $rung: the command did not start"
		kill -INT "$nsr_pid"
		sleep 0.2 # not asserted: lets the first INT be read on its own
		second_int_and_end "killed .*after a second" "exec $rung try $i"
	done
	[ "$codes" = " 137 137 137 137 137" ] && ok "exec $rung: INT, INT and a burst exit 137 (the command's), 5 times" ||
		bad "exec $rung: exit statuses$codes (want 137 each time)"
	[ "$logged" = 5 ] && ok "exec $rung: the second INT is reported as a kill" ||
		{ bad "exec $rung: reported $logged times out of 5; last stderr:"; cat "$work/err"; }
	# The stop timeout running out is a kill too.
	"$NSR" exec --box=$rung --timeout=300ms --stop-timeout=300ms -- sh -c "$APP" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	[ "$rc" = 124 ] && grep -q "killed .*stop timeout" "$work/err" && ok "exec $rung: a kill after the stop timeout is reported" ||
		{ bad "exec $rung: --timeout: rc=$rc, stderr:"; cat "$work/err"; }
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
