#!/bin/sh
# nsreload signals only pids and process groups proven to be its own, and
# tells a box that cannot start (125) from a command that cannot run
# (126/127). Everything runs in fresh mount and PID namespaces
# (tests/lib/sandbox.sh), where /proc/sys/kernel/ns_last_pid hands a box's
# old pid to a stranger on purpose (tests/tools/box/pidreuse):
#   pgroup-stranger  exec --box=pgroup --no-pin: the leader exits while a
#                    setsid'd child keeps the box alive; a stranger's process
#                    group is put on the leader's pid if it is free; stopping
#                    nsreload must leave the stranger alive and the box empty,
#                    and the leader's pid must stay held (a zombie) meanwhile
#   pgroup-sibling   the box library: a sibling box spawned on the old
#                    leader's pid survives box_kill() of the first box
#   pidns-stale      the box library: init reaped by box_ctx_reap() before its
#                    box noticed, a stranger on init's old pid survives
#                    box_signal_all(TERM) and box_kill()
#   nospawn          the box library: a spawn that fails before any process
#                    exists (out of fds), then every kill of that box: a
#                    canary process must live (a pid of -1 is kill(-1))
#   clone-eperm      seccomp profiles (tests/tools/clonedeny) that let the
#                    probe pass and refuse the spawn's clone with EPERM:
#                    exec --box=pidns and --box=pgroup exit 125 and name the
#                    spawn, run's build line names it too, never "not
#                    executable" (126)
# Usage: safety_pid.sh NSRELOAD FIXTURE_DIR
set -u
NSR=$1
FIX=${2:-}
case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
case $FIX in /*) ;; *) FIX="$PWD/$FIX" ;; esac
# The test tools are built next to the fixtures directory (every file in it is a torture fixture).
TOOLS=$(dirname "$FIX")/tools
here=$(cd "$(dirname "$0")" && pwd)

. "$here/../lib/sandbox.sh"
. "$here/../lib/testlib.sh"
# Copied into $SANDBOX/bin before /tmp is covered, wherever the build lives.
SANDBOX_COPY="$NSR $TOOLS/pidreuse $TOOLS/clonedeny"
sandbox_enter "$0" "$NSR" "$FIX"
NSR=$SANDBOX/bin/nsreload
TOOLS=$SANDBOX/bin

pass=0
fail=0
skip_or_fail() { # a rung the machine must have is never skipped under NSRELOAD_TEST_REQUIRE
	case ",${NSRELOAD_TEST_REQUIRE:-}," in
	*",$1,"*) bad "$2 (required: $1)" ;;
	*) echo "skip $2" ;;
	esac
}

# State letter of a pid, "" when gone: a zombie is not alive.
state_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1; }
alive() { st_=$(state_of "$1"); [ -n "$st_" ] && [ "$st_" != Z ]; }
exited() { st_=$(state_of "$1"); [ -z "$st_" ] || [ "$st_" = Z ]; }

work=$SANDBOX/work
mkdir -p "$work"
nsr_pid=""
stranger=""
cleanup() {
	[ -n "$nsr_pid" ] && kill -KILL "$nsr_pid" 2>/dev/null
	[ -n "$stranger" ] && kill -KILL "$stranger" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- pgroup-stranger ----------------------------------------------------------------------------------
case_pgroup_stranger() {
	tok="safepid$$-pgroup"
	pidf=$work/leader.pid
	ready=$work/ready
	NSRELOAD_TEST_TOKEN=$tok "$NSR" exec --box=pgroup --no-pin --wait-all -- sh -c \
		"echo \$\$ >$pidf; setsid sh -c 'touch $ready; exec sleep 1000' &
		while [ ! -e $ready ]; do sleep 0.01; done; exit 0" 2>"$work/pgroup.err" &
	nsr_pid=$!
	if ! wait_for 5000 file_exists "$ready" || ! wait_for 5000 file_exists "$pidf"; then
		bad "pgroup-stranger: the box did not start: $(cat "$work/pgroup.err")"
		return
	fi
	leader=$(cat "$pidf")
	wait_for 5000 exited "$leader"
	sleep 0.2
	# Put a stranger's group on the leader's pid, if that pid is free (it must not be).
	NSRELOAD_TEST_TOKEN="$tok-stranger" "$TOOLS/pidreuse" at "$leader" -- sleep 1000 >"$work/stranger" 2>/dev/null
	rc=$?
	stranger=$(cat "$work/stranger")
	if [ "$rc" = 0 ]; then
		bad "pgroup-stranger: the exited leader's pid $leader was free while its box still ran: a stranger's group took it"
	elif [ "$rc" = 3 ] && [ "$(state_of "$leader")" = Z ]; then
		ok "pgroup-stranger: the exited leader $leader stays a zombie while its box runs: its pid cannot be reused"
		# A stranger's group elsewhere must live too.
		NSRELOAD_TEST_TOKEN="$tok-stranger" setsid sleep 1000 &
		stranger=$!
	else
		bad "pgroup-stranger: pidreuse at $leader: rc=$rc, state '$(state_of "$leader")'"
	fi
	kill -TERM "$nsr_pid"
	wait_for 15000 pid_gone "$nsr_pid"
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=""
	s=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	if [ -n "$stranger" ] && alive "$stranger" && [ "$s" = 0 ]; then
		ok "pgroup-stranger: stopping nsreload left the stranger's group (pid $stranger) alive, 0 survivors"
	else
		bad "pgroup-stranger: stranger pid '$stranger' state '$(state_of "${stranger:-0}")', $s survivors of the box"
	fi
	[ -n "$stranger" ] && kill -KILL "$stranger" 2>/dev/null
	stranger=""
}

# ---- the box library: a sibling box, a stale init ------------------------------------------------------
case_library() {
	out=$("$TOOLS/pidreuse" "$1" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    | /'
	case $rc in
	0) ok "$1: $(echo "$out" | tail -n 1)" ;;
	1) bad "$1: $(echo "$out" | tail -n 1)" ;;
	*) skip_or_fail "$2" "$1: the scenario could not be built" ;;
	esac
}

# ---- clone-eperm ---------------------------------------------------------------------------------------
# exec_eperm NAME FILTER RUNG: under tests/tools/clonedeny FILTER, the box passes the probe and its spawn
# fails with EPERM: 125 and the spawn named, never 126 "not executable".
exec_eperm() {
	"$TOOLS/clonedeny" "$2" -- "$NSR" exec --box="$3" -- true 2>"$work/eperm.err"
	rc=$?
	msg=$(cat "$work/eperm.err")
	if [ "$rc" = 125 ] && echo "$msg" | grep -q "cannot start the box: could not create its first process ($3 rung)" &&
		! echo "$msg" | grep -q "not executable"; then
		ok "$1: exec --box=$3 exits 125 and names the spawn: $msg"
	else
		bad "$1: exec --box=$3 rc=$rc (want 125, not 126): $msg"
	fi
}

case_clone_eperm() {
	# A profile that allows PID namespaces but not mount namespaces: the probe's clone(CLONE_NEWPID)
	# works, the spawn's clone(CLONE_NEWPID|CLONE_NEWNS) does not.
	exec_eperm clone-eperm newns pidns
	# Docker before 20.10 answered clone3 with EPERM; fork still works, so the pgroup probe passes.
	exec_eperm clone3-eperm clone3 pgroup
	# Exec failures keep their own codes.
	"$NSR" exec --box=pidns -- /nonexistent 2>/dev/null
	rc1=$?
	printf 'echo\n' >"$work/noexec"
	chmod 644 "$work/noexec"
	"$NSR" exec --box=pidns -- "$work/noexec" 2>/dev/null
	rc2=$?
	[ "$rc1" = 127 ] && [ "$rc2" = 126 ] && ok "clone-eperm: not found is still 127, not executable 126" ||
		bad "clone-eperm: not found rc=$rc1 (want 127), not executable rc=$rc2 (want 126)"

	# run: the build's box cannot start either; its line must name the spawn.
	proj=$work/proj
	mkdir -p "$proj"
	log=$work/run.log
	(cd "$proj" && exec "$TOOLS/clonedeny" clone3 -- "$NSR" run --box=pgroup --color=never \
		--build.cmd="true" --build.full_bin="true" </dev/null >/dev/null 2>"$log") &
	nsr_pid=$!
	wait_for 5000 eval 'grep -q "cannot start" "$log"'
	if grep -q "cannot start 'true': the box could not create its first process (pgroup rung)" "$log"; then
		ok "clone3-eperm: run names the spawn: $(grep "cannot start" "$log" | head -n 1)"
	else
		bad "clone3-eperm: run's line does not name the spawn: $(grep "cannot start" "$log" | head -n 1)"
	fi
	kill -TERM "$nsr_pid" 2>/dev/null
	wait_for 5000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=""
}

case_pgroup_stranger
case_library pgroup-sibling pgroup
case_library pidns-stale pidns
case_library nospawn pgroup
case_clone_eperm

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
