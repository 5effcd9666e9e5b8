#!/bin/sh
# The cgroup2 rung touches only the context directory it made and holds by fd
# (issue 9). Runs inside tests/lib/sandbox.sh (fresh mount and PID
# namespaces), with a test cgroup parent of its own:
#   help     nsreload exec --help shows --box and --cgroup-parent
#   twins    two supervisors, each PID 1 of its own PID namespace, share one
#            --cgroup-parent: both start, and when one ends (SIGTERM) the
#            other's job lives on, in its own box
#   long     a --cgroup-parent whose context paths do not fit in PATH_MAX:
#            a clear error naming the flag, exit 125, nothing created, and a
#            neighbour whose name is a prefix of ours is left alone
#   sigkill  a PID-1 supervisor SIGKILLed, then another PID-1 supervisor on
#            the same parent: it sweeps the stale directory, says so, and runs
#            (no "File exists")
#   planted  the context directory removed and re-made by name, with a
#            process in it, while the supervisor is stopped: never removed
#            nor killed by it
#   locked   a directory named like a stale context but locked (a live
#            supervisor's) is never swept
#   freeze   the freeze-and-kill loop empties a box with a sub-cgroup and
#            spares a process outside it
#   mounted  a directory mounted over a sub-cgroup of the box: the kill walk
#            and the removal stop there (no fake cgroup.procs is believed)
#   race     a member's pid reused by a stranger between the read of
#            cgroup.procs and the signal: the stranger is spared
#            (tests/tools/box/cg_signal_race, in a PID namespace of its own)
# Usage: safety_cgroup.sh NSRELOAD FIXTURE_DIR (the tools are next to FIXTURE_DIR)
set -u
NSR=$1
FIX=${2:-}
case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
case $FIX in /* | "") ;; *) FIX="$PWD/$FIX" ;; esac
lib="$(cd "$(dirname "$0")/../lib" && pwd)"
. "$lib/sandbox.sh"
. "$lib/testlib.sh"
# Copied into $SANDBOX/bin before /tmp and /root are covered, wherever the build lives.
race=$(dirname "${FIX:-.}")/tools/cg_signal_race
SANDBOX_COPY="$NSR"
[ -x "$race" ] && SANDBOX_COPY="$NSR $race"
sandbox_enter "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
NSR="$SANDBOX/bin/$(basename "$NSR")"

pass=0
fail=0
work=$(mktemp -d /tmp/safety-cgroup.XXXXXX)
check() { # check NAME COND...
	check_name=$1
	shift
	if "$@"; then ok "$check_name"; else bad "$check_name"; fi
}

# Our PID in the sandbox is tiny and the same in every sandbox: a random suffix keeps our parent apart.
make_cgroup_parent "nsreload-safety-cg.$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
all_pids=""
cleanup() {
	for p in $all_pids; do kill -KILL "$p" 2>/dev/null; done
	remove_cgroup_parent
	rm -rf "$work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

if [ -z "$parent" ]; then
	echo "no writable cgroup v2 here"
	case ",${NSRELOAD_TEST_REQUIRE:-}," in *,cgroup2,*) echo "0 passed, 1 failed"; exit 1 ;; esac
	exit 77
fi

# The pid of a process whose parent is $1 (the supervisor under unshare --fork).
child_of() {
	for s in /proc/[0-9]*/stat; do
		# Field 4 is the ppid; the comm (field 2) is ours and has no blanks.
		set -- "$1" $(cat "$s" 2>/dev/null)
		if [ "${5:-}" = "$1" ]; then
			echo "$2"
			return 0
		fi
	done
	return 1
}
# The pid of the sleep that holds NSRELOAD_TEST_TOKEN=$1.
job_of() {
	for e in /proc/[0-9]*/environ; do
		d=${e%/environ}
		[ "$(cat "$d/comm" 2>/dev/null)" = sleep ] || continue
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "NSRELOAD_TEST_TOKEN=$1"; then
			echo "${d#/proc/}"
			return 0
		fi
	done
	return 1
}
has_job() { job_of "$1" >/dev/null; }
# The cgroup directory of pid $1.
cg_of() { echo "$v2$(sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null)"; }
subdirs() { find "$1" -mindepth 1 -type d 2>/dev/null | wc -l; }
left() { [ "$(count_env "NSRELOAD_TEST_TOKEN=$1")" = 0 ]; }
unpopulated() { ! grep -qx 'populated 1' "$1/cgroup.events" 2>/dev/null; }

# start_pid1 NAME TOKEN COMMAND: nsreload exec as PID 1 of a fresh PID namespace, in the background.
# Sets $unsh (the unshare process) and, once up, $nsr (nsreload as seen from here).
start_pid1() {
	NSRELOAD_TEST_TOKEN=$2 unshare --pid --fork --mount-proc "$NSR" exec --box=cgroup2 \
		--cgroup-parent="$parent" -- sh -c "$3" </dev/null >"$work/$1.out" 2>"$work/$1.err" &
	unsh=$!
	all_pids="$all_pids $unsh"
	nsr=""
	wait_for 5000 eval 'nsr=$(child_of $unsh)'
	[ -n "$nsr" ] && all_pids="$all_pids $nsr"
}
# hold_lock DIR: a process that holds an flock on DIR (as a live supervisor does) until killed; $locker.
hold_lock() {
	sh -c 'exec 9<"$1" && flock -n 9 && exec sleep 60' sh "$1" &
	locker=$!
}
stop_wait() { # stop_wait PID SIG: signal, wait (bounded), rc in $rc
	kill "-$2" "$1" 2>/dev/null
	wait_for 10000 pid_gone "$1" || kill -KILL "$1" 2>/dev/null
}

# ---- help ----
h=$("$NSR" exec --help 2>&1)
check "help: nsreload exec --help shows --box and --cgroup-parent" \
	eval 'printf "%s\n" "$h" | grep -q -- "--box=RUNG" && printf "%s\n" "$h" | grep -q -- "--cgroup-parent=DIR"'

# ---- twins: two PID-1 supervisors on one parent ----
start_pid1 twinA tokA 'sleep 60'
unA=$unsh nsrA=$nsr
wait_for 5000 has_job tokA
start_pid1 twinC tokC 'sleep 60'
unC=$unsh nsrC=$nsr
wait_for 5000 has_job tokC
jobA=$(job_of tokA)
jobC=$(job_of tokC)
cgA=$(cg_of "${jobA:-0}")
cgC=$(cg_of "${jobC:-0}")
check "twins: both PID-1 supervisors run their job, each in its own box under the parent" \
	eval '[ -n "$jobA" ] && [ -n "$jobC" ] && [ "$cgA" != "$cgC" ] &&
	case "$cgA$cgC" in "$parent"/*"$parent"/*) true ;; *) false ;; esac'
[ -n "$jobC" ] || sed 's/^/    | /' "$work/twinC.err"
stop_wait "$nsrA" TERM
wait "$unA"
check "twins: A's SIGTERM ends A's job, and C's job still lives in C's box" \
	eval 'wait_for 3000 left tokA && [ -n "$jobC" ] && pid_alive "$jobC" && [ "$(cg_of "$jobC")" = "$cgC" ] &&
	[ -d "$cgC" ]'
stop_wait "$nsrC" TERM
wait "$unC"
check "twins: C's SIGTERM ends C's job, nothing left under the parent" \
	eval 'wait_for 3000 left tokC && [ "$(subdirs "$parent")" = 0 ]'
find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null

# ---- long: a parent path whose context paths do not fit ----
# A neighbour that looks like a live supervisor of pid 1 (its lock held, a process in its box), and a
# parent path so long that <long>/nsreload.12 is cut to <long>/nsreload.1 in a PATH_MAX buffer.
long="$parent"
rem=$((4084 - ${#parent}))
comp200=$(printf '%0200d' 0 | tr 0 x)
while [ "$rem" -gt 250 ]; do
	long="$long/$comp200"
	rem=$((rem - 201))
done
long="$long/$(printf "%0$((rem - 1))d" 0 | tr 0 y)"
mkdir -p "$long/nsreload.1/exec.1"
# Its cgroup.procs is beyond PATH_MAX: reach it through a bind mount (private to the sandbox).
short=/tmp/safety-cg-long
mkdir -p "$short" && mount --bind "$long" "$short"
hold_lock "$short/nsreload.1"
NSRELOAD_TEST_TOKEN=tokN sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 60' sh "$short/nsreload.1/exec.1" &
neigh=$!
all_pids="$all_pids $locker $neigh"
wait_for 3000 eval '[ "$(cg_of $neigh)" = "$long/nsreload.1/exec.1" ]'
before=$(subdirs "$parent")
unshare --pid --fork --mount-proc sh -c 'echo 11 >/proc/sys/kernel/ns_last_pid && "$0" "$@"; exit $?' \
	"$NSR" exec --box=cgroup2 --cgroup-parent="$long" -- sh -c 'exit 0' </dev/null >"$work/long.out" 2>"$work/long.err"
rc=$?
after=$(subdirs "$parent")
check "long: --cgroup-parent of ${#long} bytes: exit 125 (rc=$rc)" [ "$rc" = 125 ]
check "long: the message names --cgroup-parent and says it is too long" \
	eval 'grep -q -- "--cgroup-parent" "$work/long.err" && grep -qi "too long" "$work/long.err"'
check "long: nothing created under the parent ($before directories before, $after after)" [ "$before" = "$after" ]
check "long: the neighbour nsreload.1 and its process are untouched" \
	eval 'pid_alive "$neigh" && [ "$(cg_of "$neigh")" = "$long/nsreload.1/exec.1" ]'
sed 's/^/    | /' "$work/long.err"
kill -KILL "$neigh" "$locker" 2>/dev/null
wait "$neigh" "$locker" 2>/dev/null
wait_for 3000 unpopulated "$short/nsreload.1/exec.1"
umount "$short"
find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null

# ---- sigkill: a PID-1 supervisor SIGKILLed, then another one on the same parent ----
start_pid1 killed tokK 'sleep 60'
wait_for 5000 has_job tokK
stop_wait "$nsr" KILL
wait "$unsh" 2>/dev/null
wait_for 3000 left tokK
stale=$(find "$parent" -mindepth 1 -maxdepth 1 -type d -name 'nsreload.1*')
unshare --pid --fork --mount-proc "$NSR" exec --box=cgroup2 --cgroup-parent="$parent" -- sh -c 'exit 7' \
	</dev/null >"$work/next.out" 2>"$work/next.err"
rc=$?
check "sigkill: the next PID-1 supervisor runs its job (rc=$rc, not 'File exists')" \
	eval '[ "$rc" = 7 ] && ! grep -q "File exists" "$work/next.err"'
check "sigkill: it sweeps the stale directory and says so" \
	eval '[ -n "$stale" ] && grep -qF "removed stale box $stale " "$work/next.err" && [ ! -e "$stale" ] &&
	[ "$(subdirs "$parent")" = 0 ]'
[ "$rc" = 7 ] || sed 's/^/    | /' "$work/next.err"
find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null

# ---- planted: the context directory re-made by name while the supervisor is stopped ----
NSRELOAD_TEST_TOKEN=tokP "$NSR" exec --box=cgroup2 --cgroup-parent="$parent" -- sh -c 'sleep 60' \
	</dev/null >"$work/planted.out" 2>"$work/planted.err" &
nsrP=$!
all_pids="$all_pids $nsrP"
wait_for 5000 has_job tokP
box=$(cg_of "$(job_of tokP || echo 0)")
ctxdir=$(dirname "$box")
kill -STOP "$nsrP"
echo 1 >"$box/cgroup.kill"
wait_for 3000 unpopulated "$box"
rmdir "$box" "$ctxdir"
mkdir "$ctxdir" "$box"
NSRELOAD_TEST_TOKEN=tokQ sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 60' sh "$box" &
plant=$!
all_pids="$all_pids $plant"
wait_for 3000 eval '[ "$(cg_of $plant)" = "$box" ]'
kill -CONT "$nsrP"
wait_for 15000 pid_gone "$nsrP" || kill -KILL "$nsrP"
wait "$nsrP"
rc=$?
check "planted: the supervisor ends with its SIGKILLed job's status, 137 (rc=$rc)" [ "$rc" = 137 ]
check "planted: the re-made context directory and its process are neither removed nor killed" \
	eval 'pid_alive "$plant" && [ "$(cg_of "$plant")" = "$box" ] && [ -d "$ctxdir" ]'
sed 's/^/    | /' "$work/planted.err"
kill -KILL "$plant" 2>/dev/null
wait "$plant" 2>/dev/null
wait_for 3000 unpopulated "$box"
find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null

# ---- locked: a stale-looking name whose lock is held is never swept ----
for name in nsreload.77 nsreload.77.0123456789abcdef; do
	mkdir -p "$parent/$name/exec.1"
	hold_lock "$parent/$name"
	NSRELOAD_TEST_TOKEN=tokL sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 60' sh "$parent/$name/exec.1" &
	held=$!
	all_pids="$all_pids $locker $held"
	wait_for 3000 eval '[ "$(cg_of $held)" = "$parent/$name/exec.1" ]'
	"$NSR" exec --box=cgroup2 --cgroup-parent="$parent" -- true </dev/null >/dev/null 2>"$work/locked.err"
	rc=$?
	check "locked: $name, locked and populated, is not swept; nsreload runs (rc=$rc)" \
		eval '[ "$rc" = 0 ] && pid_alive "$held" && [ -d "$parent/$name/exec.1" ] &&
		! grep -q "removed stale" "$work/locked.err"'
	kill -KILL "$held" "$locker" 2>/dev/null
	wait "$held" "$locker" 2>/dev/null
	wait_for 3000 unpopulated "$parent/$name/exec.1"
	# Now unlocked and empty: the next start sweeps it.
	"$NSR" exec --box=cgroup2 --cgroup-parent="$parent" -- true </dev/null >/dev/null 2>"$work/locked.err"
	check "locked: $name, once unlocked, is swept by the next start and named" \
		eval 'grep -qF "removed stale box $parent/$name " "$work/locked.err" && [ ! -e "$parent/$name" ]'
	find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null
done

# ---- freeze: the freeze-and-kill loop (NSRELOAD_HIDE_CGROUP_KILL=1) empties a box with a sub-cgroup ----
# Found through pidfds re-checked against cgroup.procs; a stranger outside the box is left alone.
NSRELOAD_TEST_TOKEN=tokS sleep 60 &
stranger=$!
all_pids="$all_pids $stranger"
NSRELOAD_HIDE_CGROUP_KILL=1 NSRELOAD_TEST_TOKEN=tokF "$NSR" exec --box=cgroup2 --cgroup-parent="$parent" -- \
	sh -c 'cg=$1$(sed -n "s/^0:://p" /proc/self/cgroup) && mkdir "$cg/sub" &&
	sh -c '"'"'echo $$ >"$1/cgroup.procs" && exec sleep 60'"'"' sh "$cg/sub" & setsid sleep 60 & sleep 0.3; exit 3' \
	sh "$v2" </dev/null >/dev/null 2>"$work/freeze.err"
rc=$?
check "freeze: the freeze loop kills the box and its sub-cgroup: rc $rc, 0 survivors, nothing left" \
	eval '[ "$rc" = 3 ] && wait_for 3000 left tokF && [ "$(subdirs "$parent")" = 0 ]'
check "freeze: a process outside the box is left alone" pid_alive "$stranger"
kill -KILL "$stranger" 2>/dev/null
wait "$stranger" 2>/dev/null
find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null

# ---- mounted: a directory mounted over a sub-cgroup of the box, with a cgroup.procs naming a stranger ----
# The kill walk and the removal stop at the mount: nothing in it is read, signalled or removed.
NSRELOAD_TEST_TOKEN=tokD sleep 60 &
stranger=$!
all_pids="$all_pids $stranger"
mkdir -p "$work/decoy/keep"
echo "$stranger" >"$work/decoy/cgroup.procs"
NSRELOAD_HIDE_CGROUP_KILL=1 NSRELOAD_TEST_TOKEN=tokM "$NSR" exec --box=cgroup2 --cgroup-parent="$parent" \
	--stop-timeout=200ms -- sh -c 'trap "" TERM; mkdir "$1$(sed -n "s/^0:://p" /proc/self/cgroup)/sub"; sleep 60' \
	sh "$v2" </dev/null >/dev/null 2>"$work/mounted.err" &
nsrM=$!
all_pids="$all_pids $nsrM"
wait_for 5000 has_job tokM
box=$(cg_of "$(job_of tokM || echo 0)")
wait_for 3000 eval '[ -d "$box/sub" ]'
mount --bind "$work/decoy" "$box/sub"
stop_wait "$nsrM" TERM
wait "$nsrM"
rc=$?
check "mounted: nsreload ends (rc=$rc), its job is gone" eval 'wait_for 3000 left tokM'
check "mounted: the stranger named in the mounted cgroup.procs lives" pid_alive "$stranger"
check "mounted: nothing in the mounted directory is removed" [ -d "$work/decoy/keep" ]
sed 's/^/    | /' "$work/mounted.err"
umount "$box/sub"
kill -KILL "$stranger" 2>/dev/null
wait "$stranger" 2>/dev/null
find "$parent" -mindepth 1 -depth -type d -delete 2>/dev/null

# ---- race: a box member's pid reused by a stranger between the read of cgroup.procs and the signal ----
# Forced in a PID namespace of the tool's own with ns_last_pid (tests/tools/box/cg_signal_race.c).
race=$SANDBOX/bin/cg_signal_race
# In the ASan build the tool carries LeakSanitizer, which cannot stop the world from inside a PID
# namespace whose /proc is not its own (a fatal error at exit, not a leak): the tool is the test's
# code, not its subject, so leak checking is off for it alone.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
if [ -x "$race" ]; then
	out=$("$race" "$parent" plain 2>&1)
	rc=$?
	check "race: the reuse is forced, and kill() of the stale list would hit the stranger ($out)" [ "$rc" = 1 ]
	out=$("$race" "$parent" library 2>&1)
	rc=$?
	check "race: cg_signal_listed() kills the member and spares the stranger ($out)" [ "$rc" = 0 ]
	out=$("$race" "$parent" rewalk 2>&1)
	rc=$?
	check "race: a second walk on the same fd still reaches a sub-cgroup ($out)" [ "$rc" = 0 ]
else
	bad "race: no $race (build the tests)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
