#!/bin/sh
# nsreload SIGKILLed during `run` (issue 13, part 1): a bare `nsreload run` in
# a project with a .air.toml (the default rung: auto), then each rung asked
# for. The app holds a 127.0.0.1 port, shares it with a setsid daemon and
# leaves a 'setsid sleep' behind. After `kill -9` of nsreload:
#   cgroup2, cgroup2+pidns, pidns, cgroup1 (and auto where it takes one of them): no
#     process of the boxes is left within NSRELOAD_DEATH_WITHIN_MS (100), nor
#     anything of nsreload's (the cgroup2 guard, a pidns init), the port is
#     free, and on the cgroup rungs the context directory holds nothing; the
#     next start removes the empty directory and says so.
#   pgroup: cannot (nothing kills a process group when its supervisor dies,
#     and no cgroup is left to sweep): the documented behaviour is checked,
#     the box's processes keep running and the port stays held, and the test
#     ends them itself.
# Processes are found by a token in /proc/*/environ: NSRDEATH_APP in the
# app's, NSRELOAD_TEST_TOKEN in nsreload's (and so in its forks').
# Environment:
#   NSRELOAD_DEATH_RUNGS      rungs to try (default "auto cgroup2 cgroup2+pidns pidns pgroup cgroup1";
#                             scripts/envmatrix: auto, the environment's default)
#   NSRELOAD_DEATH_WITHIN_MS  how soon nothing may be left (default 100)
#   NSRELOAD_CGROUP_PARENT    used as it is when set (envmatrix: the environment's cgroup); else a
#                             cgroup of the test's own where cgroup2 is writable
#   NSRELOAD_TEST_NO_PARENT   1: no cgroup parent at all, nsreload finds its own place (a systemd scope)
#   NSRELOAD_CGROUP1_PARENT   likewise for the v1 freezer (cgroup1): used when set, else the test's own
#   NSRELOAD_TEST_REQUIRE     a rung named there that cannot run is a failure, not a skip
# Usage: supervisor_death.sh NSRELOAD FIXTURE_DIR
set -u
NSR=$1
FIX=${2:-}
case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
case $FIX in /*) ;; *) FIX="$PWD/$FIX" ;; esac
HOLDPORT=$(dirname "$FIX")/tools/holdport
if [ ! -x "$NSR" ] || [ ! -x "$HOLDPORT" ]; then
	echo "$NSR or $HOLDPORT: not an executable"
	exit 2
fi
RUNGS=${NSRELOAD_DEATH_RUNGS:-auto cgroup2 cgroup2+pidns pidns pgroup cgroup1}
WITHIN_MS=${NSRELOAD_DEATH_WITHIN_MS:-100}
pass=0
fail=0
skip=0
work=$(mktemp -d /tmp/nsreload-death.XXXXXX)
chmod 755 "$work"
nsr_pid=""

. "$(dirname "$0")/../lib/testlib.sh"

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The pids whose environment holds exactly VAR=VALUE ($1): one grep over /proc, fast enough to time.
env_pids() { grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/\([0-9]*\)/environ$|\1|'; }
env_count() { env_pids "$1" | wc -l; }
# Ends what a case left (main's behaviour, or pgroup's): only the pids carrying its tokens, ours.
end_left() {
	for p in $(env_pids "NSRDEATH_APP=$tok") $(env_pids "NSRELOAD_TEST_TOKEN=$tok"); do
		kill -KILL "$p" 2>/dev/null
	done
	wait_for 3000 eval '[ "$(env_count "NSRDEATH_APP=$tok")" = 0 ]'
}

cgparent=${NSRELOAD_CGROUP_PARENT:-}
own_parent=""
# NSRELOAD_TEST_NO_PARENT=1: as a user runs nsreload, without a parent (envmatrix's systemd-user rows).
if [ -z "$cgparent" ] && [ "${NSRELOAD_TEST_NO_PARENT:-}" != 1 ]; then
	make_cgroup_parent nsreload-test-death
	cgparent=$parent
	own_parent=$parent
fi
own_dirs1=""
if [ -z "${NSRELOAD_CGROUP1_PARENT:-}" ]; then
	make_cgroup1_parent nsreload-test-death
	own_dirs1=$cgroup1_dirs
fi
cg1parent=""
if [ -n "${NSRELOAD_CGROUP1_PARENT:-}" ]; then
	cg1parent=$(echo "$(v1_mount freezer)/$(v1_own freezer)/$NSRELOAD_CGROUP1_PARENT" | sed 's|//*|/|g')
fi
death_cleanup() {
	if [ -n "${nsr_pid:-}" ]; then
		kill -KILL "$nsr_pid" 2>/dev/null
		nsr_pid=""
	fi
	[ -n "${tok:-}" ] && end_left
	[ -n "$own_parent" ] && find "$own_parent" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
	parent=$own_parent
	cgroup1_dirs=$own_dirs1
	remove_cgroup1_parent
	test_cleanup
}
trap death_cleanup EXIT
trap 'death_cleanup; exit 130' INT
trap 'death_cleanup; exit 143' TERM

required() { case ",${NSRELOAD_TEST_REQUIRE:-}," in *,"$1",*) return 0 ;; esac; return 1; }
# The rung the run took, from its run_start event.
rung_taken() { sed -n 's/.*"event":"run_start".*"rung":"\([^"]*\)".*/\1/p' "$log" | head -1; }
# The app's processes: holdport, its daemon, the setsid sleep.
app_up() { [ "$(env_count "NSRDEATH_APP=$tok")" -ge 3 ]; }

run_case() {
	rung=$1
	name=$(echo "$rung" | tr + _)
	tok="nsrdeath$$-$name"
	dir="$work/$name"
	proj="$dir/proj"
	ctl="$dir/ctl"
	log="$dir/log.json"
	mkdir -p "$proj" "$ctl"
	# A config as a user writes it: no box settings, so the rung is auto's unless asked for.
	cat >"$proj/.air.toml" <<EOF
[build]
cmd = "true"
full_bin = "sh app.sh"
include_ext = ["sh"]
EOF
	cat >"$proj/app.sh" <<EOF
export NSRDEATH_APP=$tok
setsid sleep 1000 &
exec $HOLDPORT serve $ctl/port
EOF
	box=""
	[ "$rung" != auto ] && box="--box=$rung"
	(
		cd "$proj" || exit 125
		[ -n "$cgparent" ] && export NSRELOAD_CGROUP_PARENT="$cgparent"
		# shellcheck disable=SC2086
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run $box --log-format=json --color=never \
			</dev/null >"$dir/out.txt" 2>"$log"
	) &
	nsr_pid=$!
	if ! wait_for 10000 file_exists "$ctl/port" || ! wait_for 5000 app_up; then
		if ! pid_alive "$nsr_pid" && [ "$rung" != auto ] && ! required "$rung"; then
			skip=$((skip + 1))
			echo "skip $rung: not available here: $(grep -o '"message":"[^"]*"' "$log" | tail -1)"
		else
			bad "$rung: the app did not start ($(env_count "NSRDEATH_APP=$tok") processes)"
			tail -n 5 "$log" | sed 's/^/    | /'
		fi
		kill -KILL "$nsr_pid" 2>/dev/null
		nsr_pid=""
		end_left
		return
	fi
	taken=$(rung_taken)
	port=$(cat "$ctl/port")
	label="$rung${taken:+ ($taken)}"
	n_app=$(env_count "NSRDEATH_APP=$tok")
	if "$HOLDPORT" free "$port"; then
		bad "$label: port $port is not held while the app runs"
	fi

	# PR_SET_PDEATHSIG fires when the thread that forked the guard exits: nsreload must have one thread.
	threads=$(ls "/proc/$nsr_pid/task" 2>/dev/null | wc -l)
	[ "$threads" = 1 ] || bad "$label: nsreload runs $threads threads, the guard's PR_SET_PDEATHSIG needs 1"
	dead_pid=$nsr_pid
	kill -KILL "$nsr_pid"
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=""
	t0=$(now_ms)
	left=-1
	while :; do
		left=$(env_count "NSRDEATH_APP=$tok")
		ours=$(env_count "NSRELOAD_TEST_TOKEN=$tok")
		t=$(($(now_ms) - t0))
		[ "$left" = 0 ] && [ "$ours" = 0 ] && break
		[ "$t" -ge "$WITHIN_MS" ] && break
		sleep 0.01
	done

	if [ "$taken" = pgroup ]; then
		# Documented: nothing kills the box; the test ends it.
		if [ "$left" -gt 0 ] && ! "$HOLDPORT" free "$port"; then
			ok "$label: as documented, a SIGKILL of nsreload leaves the box running ($left of $n_app processes, port $port held)"
		else
			bad "$label: expected the documented survivors, found $left processes; port free: $("$HOLDPORT" free "$port" && echo yes || echo no)"
		fi
		end_left
		if wait_for 3000 "$HOLDPORT" free "$port"; then ok "$label: once they are ended, the port is free"; else
			bad "$label: port $port still held after the test ended the survivors"; fi
		return
	fi
	if [ "$left" = 0 ] && [ "$ours" = 0 ]; then
		ok "$label: SIGKILL of nsreload: 0 of the $n_app processes of the box left, nor anything with nsreload's token (its guard, an init), after $t ms"
	else
		bad "$label: SIGKILL of nsreload: $left of the $n_app processes of the box and $ours processes with nsreload's token left after $t ms (limit $WITHIN_MS ms)"
	fi
	if "$HOLDPORT" free "$port"; then ok "$label: port $port is free"; else bad "$label: port $port is still held"; fi

	# A delegated scope from systemd (a user's run): once the guard has emptied it, systemd stops the scope
	# and removes its cgroup with everything below it; nothing is left for a next start to sweep.
	scope=$(grep -o "in nsreload-$dead_pid\.scope" "$log" | head -1)
	if [ -n "$scope" ]; then
		v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
		if wait_for 5000 eval '[ -z "$(find "$v2" -type d -name "nsreload-$dead_pid.scope" 2>/dev/null)" ]'; then
			ok "$label: systemd removed nsreload-$dead_pid.scope and every cgroup in it"
		else
			bad "$label: nsreload-$dead_pid.scope is left: $(find "$v2" -path "*nsreload-$dead_pid.scope*" -type d | tr '\n' ' ')"
		fi
		end_left
		return
	fi
	case $taken in
	cgroup2*) cgdir=$cgparent ;;
	cgroup1*) cgdir=$cg1parent ;;
	*) end_left; return ;;
	esac
	[ -n "$cgdir" ] || { end_left; return; }
	ctxdir=$(find "$cgdir" -mindepth 1 -maxdepth 1 -type d -name "nsreload.$dead_pid.*" | head -1)
	if [ -z "$ctxdir" ]; then
		bad "$label: no context directory nsreload.$dead_pid.* in $cgdir"
	elif [ -f "$ctxdir/cgroup.events" ] &&
		# populated goes to 0 once the last exiting task is released, a moment after the token count
		# above saw no process: a zombie reparented to init is still counted until it is reaped.
		wait_for 3000 grep -q '^populated 0' "$ctxdir/cgroup.events"; then
		ok "$label: its context directory holds no process"
	elif [ ! -f "$ctxdir/cgroup.events" ] && [ -z "$(find "$ctxdir" -name tasks -exec cat {} +)" ]; then
		ok "$label: its v1 context directory lists no task"
	else
		bad "$label: its context directory $ctxdir still holds processes: $(cat "$ctxdir"/*/cgroup.procs | tr '\n' ' ')"
	fi
	# The next start removes the directory, whatever it held (on main: the whole running tree).
	sweep_out=$(cd "$proj" && NSRELOAD_CGROUP_PARENT=$cgparent "$NSR" exec $box -- true 2>&1)
	if echo "$sweep_out" | grep -q "removed stale box $cgdir/nsreload.$dead_pid." &&
		{ [ -z "$ctxdir" ] || [ ! -d "$ctxdir" ]; }; then
		ok "$label: the next start removes the stale directory and says so"
	else
		bad "$label: the next start did not remove the stale directory: $sweep_out"
	fi
	end_left
}

for r in $RUNGS; do
	run_case "$r"
done
tok=""
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
