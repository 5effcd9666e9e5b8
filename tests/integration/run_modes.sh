#!/bin/sh
# nsreload run's modes, end to end on the pgroup rung (the logic is the same
# on every rung): on_busy=restart kills a build and starts over,
# on_busy=do-nothing drops a change that comes during a build, rerun restarts
# an app that exits, and post_cmd runs on SIGTERM. Usage: run_modes.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" run-modes
log=""

install_cleanup

# start NAME OPTIONS...: a project whose build takes 0.8 s and whose app writes
# its generation into ctl/gen, then sleeps (or exits, with EXIT=1 in app.env).
start() {
	name=$1
	shift
	proj="$work/$name"
	ctl="$work/$name.ctl"
	log="$work/$name.log"
	mkdir -p "$proj/src" "$ctl"
	write_gen 1
	(
		cd "$proj" || exit 125
		exec "$NSR" run --log-format=json --color=never --box=pgroup \
			--build.cmd="sleep 0.8 && mkdir -p tmp && cp src/app.sh tmp/app.sh" \
			--build.full_bin='sh tmp/app.sh' --build.include_ext=sh --build.delay=50 "$@" \
			</dev/null >"$work/$name.out" 2>"$log"
	) &
	nsr_pid=$!
	wait_for 10000 file_exists "$ctl/gen"
}
write_gen() {
	printf 'echo %s >"%s/gen"\n%s\n' "$1" "$ctl" "${APP_TAIL:-exec sleep 1000}" >"$proj/src/app.sh"
}
gen_is() { [ "$(cat "$ctl/gen" 2>/dev/null)" = "$1" ]; }
stop() {
	kill -TERM "$nsr_pid"
	wait_for 10000 pid_gone "$nsr_pid"
	wait "$nsr_pid"
	rc=$?
	nsr_pid=""
}

# on_busy=restart: a change during a build kills it; only the newest code runs.
start restart --on-busy-update=restart
b0=$(events build_start)
r0=$(events run_start)
write_gen 2
wait_for 5000 events_at_least build_start $((b0 + 1))
sleep 0.2
write_gen 3
if wait_for 10000 gen_is 3; then
	sleep 0.3
	b=$(($(events build_start) - b0))
	r=$(($(events run_start) - r0))
	[ "$b" = 2 ] && [ "$r" = 1 ] && ok "on_busy=restart: 2 builds started, 1 restart, newest code runs" ||
		bad "on_busy=restart: $b builds, $r restarts"
else
	bad "on_busy=restart: generation 3 never ran"
fi
stop

# on_busy=do-nothing: the change during the build is dropped.
start donothing --on-busy-update=do-nothing
b0=$(events build_start)
write_gen 2
wait_for 5000 events_at_least build_start $((b0 + 1))
sleep 0.2
write_gen 3
# The running build copies whatever is on disk when it gets there; what is dropped is a second build.
wait_for 10000 events_at_least run_start 2
sleep 1.5
b=$(($(events build_start) - b0))
[ "$b" = 1 ] && ok "on_busy=do-nothing: 1 build, the later change starts none" ||
	bad "on_busy=do-nothing: $b builds"
stop

# on_busy=queue (the default): exactly one more build after the running one.
start queue
b0=$(events build_start)
write_gen 2
wait_for 5000 events_at_least build_start $((b0 + 1))
sleep 0.2
write_gen 3
echo "# again" >>"$proj/src/app.sh"
if wait_for 10000 gen_is 3; then
	sleep 1.2
	b=$(($(events build_start) - b0))
	[ "$b" = 2 ] && ok "on_busy=queue: changes during a build give exactly one more build" ||
		bad "on_busy=queue: $b builds"
else
	bad "on_busy=queue: generation 3 never ran"
fi
stop

# rerun: an app that exits is started again, with no change to the sources.
APP_TAIL='exit 3'
start rerun --build.rerun=true --build.rerun_delay=100
APP_TAIL=
if wait_for 10000 events_at_least run_start 3; then
	ok "rerun: the app is restarted when it exits ($(events run_start) starts)"
else
	bad "rerun: $(events run_start) starts"
fi
grep -q '"event":"run_exit".*"status":3' "$log" && ok "rerun: every exit is logged with its status" ||
	bad "rerun: no run_exit with status 3"
stop

# post_cmd runs when nsreload is stopped; rc 0.
start post --build.post_cmd="touch $work/post.done"
stop
[ -e "$work/post.done" ] && [ "$rc" = 0 ] && ok "post_cmd runs on SIGTERM, exit 0" ||
	bad "post_cmd: done? $([ -e "$work/post.done" ] && echo yes || echo no), rc=$rc"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
