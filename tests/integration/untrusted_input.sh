#!/bin/sh
# Text and numbers from outside, end to end, in a sandbox (fresh mount and PID
# namespaces, scratch tmpfs; tests/lib/sandbox.sh):
#  - a file named with a newline + "[main] forged" and an ESC sequence,
#    changed under 'nsreload run', shows escaped in the text log: no forged
#    line, no escape byte; so does an app named the same way;
#  - durations that would wrap or round to 0 (exec --stop-timeout=4294967296ms,
#    --timeout=0.0000001ms; the same in run's flags and in a config file)
#    exit non-zero naming the flag or FILE:LINE:COL, and start nothing.
# Usage: untrusted_input.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1"
SANDBOX_COPY=$NSR
. "$(dirname "$0")/../lib/sandbox.sh"
sandbox_enter "$0" "$@"
NSR="$SANDBOX/bin/$(basename "$NSR")"


esc=$(printf '\033')
log_has() { grep -qF -- "$1" "$log"; }

# 1. nsreload run, text log: a changed file and an app whose names would forge lines and colour the terminal.
proj="$SANDBOX/proj"
log="$SANDBOX/run-log.txt"
mkdir -p "$proj"
echo seed >"$proj/seed.txt"
(
	cd "$proj" || exit 125
	exec "$NSR" run --box=pgroup --color=never --build.cmd=true --build.full_bin='sleep 1000' \
		--build.include_ext=txt --build.delay=50 </dev/null >"$SANDBOX/run-out.txt" 2>"$log"
) &
nsr_pid=$!
if wait_for 10000 log_has "running (pid"; then
	forged=$(printf 'x\n[main] forged\033[31mred.txt')
	echo changed >"$proj/$forged"
	wait_for 10000 log_has "has changed"
	sleep 0.3
else
	bad "run: the app did not start: $(cat "$log")"
fi
kill -TERM "$nsr_pid" 2>/dev/null
wait_for 5000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
wait "$nsr_pid" 2>/dev/null
if grep -q '^\[main\] forged' "$log"; then
	bad "run: a file name forged a [main] line: $(grep -n 'forged' "$log")"
else
	ok "run: no forged [main] line from a changed file's name"
fi
if grep -q "$esc" "$log"; then
	bad "run: an ESC byte reached the text log: $(grep -n "$esc" "$log" | od -c | head -5)"
else
	ok "run: no ESC byte in the text log"
fi
log_has '[watcher] x\n[main] forged\x1b[31mred.txt has changed' &&
	ok "run: the changed path is shown escaped" || bad "run: the changed path is not shown escaped: $(cat "$log")"

# The app's own name, quoted by "cannot start NAME".
log="$SANDBOX/run-app.txt"
(
	cd "$proj" || exit 125
	exec "$NSR" run --box=pgroup --color=never --build.cmd= -- "$(printf './nope\n[main] forged app\033[2J')" \
		</dev/null >/dev/null 2>"$log"
) &
nsr_pid=$!
wait_for 10000 log_has "cannot start"
kill -TERM "$nsr_pid" 2>/dev/null
wait_for 5000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
wait "$nsr_pid" 2>/dev/null
if log_has 'cannot start ./nope\n[main] forged app\x1b[2J:' && ! grep -q '^\[main\] forged' "$log" &&
	! grep -q "$esc" "$log"; then
	ok "run: the app's name is shown escaped"
else
	bad "run: the app's name: $(cat "$log")"
fi

# 2. Durations that would wrap (2^32 ms in an unsigned is 0: no grace) or round to 0 (no timeout).
started="$SANDBOX/started"
check_refused() { # NAME WANT ARGS...: non-zero exit, WANT in stderr, nothing started
	name=$1
	want=$2
	shift 2
	rm -f "$started"
	"$@" >"$SANDBOX/out.txt" 2>"$SANDBOX/err.txt" </dev/null &
	p=$!
	if ! wait_for 5000 pid_gone "$p"; then
		kill -TERM "$p" 2>/dev/null
		wait_for 5000 pid_gone "$p" || kill -KILL "$p" 2>/dev/null
	fi
	wait "$p"
	rc=$?
	if [ "$rc" != 0 ] && grep -qF -- "$want" "$SANDBOX/err.txt" && [ ! -e "$started" ]; then
		ok "$name: exit $rc, names $want"
	else
		bad "$name: rc=$rc, started=$([ -e "$started" ] && echo yes || echo no), stderr: $(cat "$SANDBOX/err.txt")"
	fi
}
check_refused "exec --stop-timeout=4294967296ms" "--stop-timeout: out of range" \
	"$NSR" exec --box=pgroup --stop-timeout=4294967296ms -- sh -c "touch $started"
check_refused "exec --timeout=0.0000001ms" "--timeout: under half a millisecond" \
	"$NSR" exec --box=pgroup --timeout=0.0000001ms -- sh -c "touch $started"
check_refused "exec --timeout 4294967296ms" "--timeout: out of range" \
	"$NSR" exec --box=pgroup --timeout 4294967296ms -- sh -c "touch $started"
cd "$proj" || exit 1
check_refused "run --stop-timeout=4294967296ms" "--stop-timeout: out of range" \
	"$NSR" run --box=pgroup --build.cmd="touch $started" --build.full_bin="touch $started" \
	--stop-timeout=4294967296ms
check_refused "run --debounce=0.0000001ms" "--debounce: under half a millisecond" \
	"$NSR" run --box=pgroup --build.cmd="touch $started" --build.full_bin="touch $started" \
	--debounce=0.0000001ms
printf '[build]\ncmd = "touch %s"\nfull_bin = "touch %s"\n[box]\nstop_timeout = "4294967296ms"\n' \
	"$started" "$started" >"$proj/.nsreload.toml"
check_refused "run, box.stop_timeout in the file" ".nsreload.toml:5:16: box.stop_timeout: out of range" \
	"$NSR" run --box=pgroup
rm -f "$proj/.nsreload.toml"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
