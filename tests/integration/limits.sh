#!/bin/sh
# Per-run limits on the real kernel (issue 13, part 2): a bare `nsreload run`
# in a project holding an .air.toml with [box] limits, and `nsreload exec`
# with --memory-max, --pids-max and --cpu-max.
#   memory_max: an app allocating past it (tools/memhog) is OOM-killed, an
#     "oom" JSON event says so with the limit and the peak, and the next
#     change restarts it; exec prints "command killed by the OOM killer:
#     memory_max 64M, peak ..." and exits 137.
#   pids_max: a bounded fork bomb (tools/forkbomb) is held at it (no more
#     processes than the limit), a "pids_max" event reports the refused
#     forks, and after SIGTERM 0 processes are left.
#   cpu_max: a CPU burner (tools/cpuburn) at 20% uses between 5% and 45% of
#     one CPU by its own getrusage, and its cgroup's cpu.stat counts
#     throttled periods (generous bounds: no timing assertion beyond them).
# The limits go wherever the host has the controllers: cgroup v2 when the
# cgroup2 mount lists memory, pids and cpu (then the test's own cgroup2
# parent), else the v1 hierarchies (hybrid hosts such as the VM this was
# written on: then a test parent of its own below our cgroup in each of them,
# $NSRELOAD_CGROUP1_PARENT, testlib's make_cgroup1_parent, removed afterwards). The JSON events' "via" must
# name that version.
# Environment:
#   NSRELOAD_TEST_REQUIRE  naming v2-limits (or v1-limits): a host without that version's controllers
#                          is a failure, not a skip
# Usage: limits.sh NSRELOAD FIXTURE_DIR
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" limits
FIX=${2:-}
case $FIX in /*) ;; *) FIX="$PWD/$FIX" ;; esac
TOOLS=$(dirname "$FIX")/tools
if [ ! -x "$TOOLS/memhog" ] || [ ! -x "$TOOLS/forkbomb" ] || [ ! -x "$TOOLS/cpuburn" ]; then
	echo "$TOOLS/{memhog,forkbomb,cpuburn}: not an executable"
	exit 2
fi
tok_base="nsrlim$$"
chmod 755 "$work"

# Which cgroup version has memory, pids and cpu for us.
v2mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
v2ctl=""
[ -n "$v2mnt" ] && v2ctl=$(cat "$v2mnt/cgroup.controllers" 2>/dev/null)
has_v2() {
	for c in memory pids cpu; do
		case " $v2ctl " in *" $c "*) ;; *) return 1 ;; esac
	done
}
has_v1() {
	for c in memory pids cpu; do
		[ -n "$(v1_mount "$c")" ] && [ -n "$(v1_own "$c")" ] || return 1
	done
}
case " ${NSRELOAD_TEST_REQUIRE:-} " in *v2-limits*) need_v2=1 ;; *) need_v2=0 ;; esac
case " ${NSRELOAD_TEST_REQUIRE:-} " in *v1-limits*) need_v1=1 ;; *) need_v1=0 ;; esac
if has_v2; then
	via=cgroup2
elif [ "$need_v2" = 1 ]; then
	echo "FAIL v2-limits required (NSRELOAD_TEST_REQUIRE), but the cgroup2 mount ${v2mnt:-(none)} offers only '$v2ctl'"
	exit 1
elif has_v1; then
	via=cgroup1
else
	if [ "$need_v1" = 1 ]; then
		echo "FAIL v1-limits required, but no v1 hierarchy of memory, pids and cpu holds us"
		exit 1
	fi
	echo "skip: neither cgroup2 (controllers '$v2ctl') nor the v1 hierarchies offer memory, pids and cpu"
	exit 77
fi
if [ "$need_v1" = 1 ] && ! has_v1; then
	echo "FAIL v1-limits required, but no v1 hierarchy of memory, pids and cpu holds us"
	exit 1
fi
echo "limits via $via"

# The test's own parents: cgroup2 (the boxes' rung, and the limits on a unified host) and, on v1, one
# below our own cgroup in each hierarchy; both removed at the end.
make_cgroup_parent nsreload-test-limits
[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
[ "$via" = cgroup1 ] && make_cgroup1_parent nsreload-test-limits memory pids cpu
trap 'test_cleanup; remove_cgroup1_parent' EXIT
trap 'test_cleanup; remove_cgroup1_parent; exit 130' INT
trap 'test_cleanup; remove_cgroup1_parent; exit 143' TERM

# doctor says where each limit goes, as a run finds it.
want="memory_max on $via; pids_max on $via; cpu_max on $via"
got=$("$NSR" doctor --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["limits"]["how"])' 2>&1)
[ "$got" = "$want" ] && ok "doctor: $got" || bad "doctor --json limits.how is '$got', not '$want'"
"$NSR" doctor | grep -qxF "limits (box.memory_max, pids_max, cpu_max): $want" && ok "doctor: the same in text" ||
	bad "doctor's text does not say '$want'"

# start_run CASE BOXKEYS FULL_BIN: nsreload run in a fresh project with an .air.toml.
start_run() {
	case_=$1
	tok="$tok_base-$case_"
	proj="$work/$case_"
	# Outside the project: the app's output must not be a change.
	log="$work/$case_.log.json"
	out="$work/$case_.out.txt"
	mkdir -p "$proj"
	cat >"$proj/.air.toml" <<TOML
root = "."
tmp_dir = "tmp"
[build]
cmd = "true"
full_bin = "NSRLIM_APP=$tok exec $3"
include_ext = ["txt"]
delay = 100
[box]
$2
stop_timeout = "2s"
TOML
	(
		cd "$proj" || exit 125
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --log-format=json --color=never \
			</dev/null >"$out" 2>"$log"
	) &
	nsr_pid=$!
}

stop_run() {
	sigterm_ends_clean "$1"
	s=$(count_env "NSRLIM_APP=$tok")
	[ "$s" = 0 ] && ok "$1: 0 processes of the app left" || bad "$1: $s processes of the app left"
}

# ---- memory_max ----
start_run oom 'memory_max = "64M"' "$TOOLS/memhog 1024"
if wait_for 15000 events_at_least oom 1; then
	line=$(grep '"event":"oom"' "$log" | head -1)
	peak=$(echo "$line" | sed -n 's/.*"memory_peak":\([0-9]*\).*/\1/p')
	case $line in
	*'"who":"app"'*'"memory_max":67108864,'*"\"via\":\"$via\""*)
		ok "oom: the app was OOM-killed and reported: $line" ;;
	*) bad "oom: the event does not say app, 64M and $via: $line" ;;
	esac
	# The peak is the box's, near the limit (v1: max_usage_in_bytes; v2: memory.peak, 0 before 5.19).
	if [ "${peak:-0}" -gt 0 ] || [ "$via" = cgroup1 ]; then
		[ "${peak:-0}" -ge $((32 << 20)) ] && [ "${peak:-0}" -le $((65 << 20)) ] &&
			ok "oom: peak $peak bytes, near memory_max" || bad "oom: peak ${peak:-?} is not near 64M"
	fi
	wait_for 5000 events_at_least run_exit 1 && ok "oom: run_exit follows" || bad "oom: no run_exit"
	grep -q '"event":"run_exit".*"status":137' "$log" && ok "oom: the exit is SIGKILL's (status 137)" ||
		bad "oom: the exit is not signal 9: $(grep '"event":"run_exit"' "$log" | head -1)"
	# The next change restarts it as usual (and it is OOM-killed again).
	echo change >"$proj/a.txt"
	if wait_for 15000 events_at_least run_start 2 && wait_for 15000 events_at_least oom 2; then
		ok "oom: the next change restarted the app (and the limit held again)"
	else
		bad "oom: no restart after a change ($(events run_start) run_start, $(events oom) oom)"
	fi
else
	bad "oom: no oom event within 15 s; log: $(tail -5 "$log" | tr '\n' ' ')"
fi
stop_run oom

# ---- pids_max ----
start_run pids 'pids_max = 20' "$TOOLS/forkbomb 16"
if wait_for 15000 events_at_least pids_max 1; then
	line=$(grep '"event":"pids_max"' "$log" | head -1)
	case $line in
	*'"who":"app"'*'"pids_max":20,'*"\"via\":\"$via\""*) ok "pids: the fork bomb was held and reported: $line" ;;
	*) bad "pids: the event does not say app, 20 and $via: $line" ;;
	esac
	n=$(count_env "NSRLIM_APP=$tok")
	[ "$n" -ge 2 ] && [ "$n" -le 20 ] && ok "pids: $n processes, held at pids_max 20" ||
		bad "pids: $n processes with pids_max 20"
else
	bad "pids: no pids_max event within 15 s; log: $(tail -5 "$log" | tr '\n' ' ')"
fi
stop_run pids

# ---- cpu_max ----
start_run cpu 'cpu_max = "20%"' "$TOOLS/cpuburn 4"
burner=""
wait_for 10000 eval '[ -n "$(grep -lzxF "NSRLIM_APP=$tok" /proc/[0-9]*/environ 2>/dev/null)" ]' &&
	burner=$(grep -lzxF "NSRLIM_APP=$tok" /proc/[0-9]*/environ 2>/dev/null | head -1 | cut -d/ -f3)
if [ -n "$burner" ] && wait_for 15000 grep -q "cpuburn: cpu_ms=" "$out"; then
	cpu=$(sed -n 's/.*cpu_ms=\([0-9]*\).*/\1/p' "$out" | head -1)
	wall=$(sed -n 's/.*wall_ms=\([0-9]*\).*/\1/p' "$out" | head -1)
	permille=$((cpu * 1000 / wall))
	[ "$permille" -ge 50 ] && [ "$permille" -le 450 ] &&
		ok "cpu: the burner used $permille per mille of a CPU with cpu_max 20%" ||
		bad "cpu: the burner used $permille per mille of a CPU with cpu_max 20% (bounds 50 to 450)"
	# Its cgroup's cpu.stat: throttled periods (the cpu hierarchy on v1, the unified one on v2).
	if [ "$via" = cgroup1 ]; then
		cgpath=$(awk -F: '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == "cpu") print $3 }' \
			"/proc/$burner/cgroup")
		stat="$(v1_mount cpu)$cgpath/cpu.stat"
	else
		stat="$v2mnt$(sed -n 's/^0:://p' "/proc/$burner/cgroup")/cpu.stat"
	fi
	thr=$(awk '$1 == "nr_throttled" { print $2 }' "$stat" 2>/dev/null)
	[ "${thr:-0}" -gt 0 ] && ok "cpu: $stat counts $thr throttled periods" ||
		bad "cpu: $stat has no throttled period (${thr:-unreadable})"
else
	bad "cpu: the burner did not report; out: $(tail -3 "$out" | tr '\n' ' ')"
fi
stop_run cpu

# ---- exec's flags ----
tok="$tok_base-exec"
NSRLIM_APP=$tok NSRELOAD_TEST_TOKEN=$tok "$NSR" exec --memory-max=64M -- "$TOOLS/memhog" 1024 \
	>/dev/null 2>"$work/exec-oom.txt"
rc=$?
if [ "$rc" = 137 ] && grep -q "^nsreload exec: command killed by the OOM killer: memory_max 64M, peak [0-9]*[KM]\?$" \
	"$work/exec-oom.txt"; then
	ok "exec --memory-max: exit 137 and: $(grep OOM "$work/exec-oom.txt")"
else
	bad "exec --memory-max: rc=$rc, stderr: $(tr '\n' ' ' <"$work/exec-oom.txt")"
fi
NSRLIM_APP=$tok NSRELOAD_TEST_TOKEN=$tok "$NSR" exec --pids-max=8 --timeout=3s -- "$TOOLS/forkbomb" 4 \
	>/dev/null 2>"$work/exec-pids.txt"
rc=$?
wait_for 2000 none_with_env "NSRLIM_APP=$tok"
s=$(count_env "NSRLIM_APP=$tok")
if [ "$rc" = 124 ] && grep -q "^nsreload exec: command hit pids_max 8: [0-9]* forks\? refused$" "$work/exec-pids.txt" &&
	[ "$s" = 0 ]; then
	ok "exec --pids-max: held, reported, 0 left: $(grep pids_max "$work/exec-pids.txt")"
else
	bad "exec --pids-max: rc=$rc, $s left, stderr: $(tr '\n' ' ' <"$work/exec-pids.txt")"
fi
NSRLIM_APP=$tok "$NSR" exec --cpu-max=20% --timeout=3s -- "$TOOLS/cpuburn" 2 >"$work/exec-cpu.txt" 2>&1
rc=$?
cpu=$(sed -n 's/.*cpu_ms=\([0-9]*\).*/\1/p' "$work/exec-cpu.txt" | head -1)
wall=$(sed -n 's/.*wall_ms=\([0-9]*\).*/\1/p' "$work/exec-cpu.txt" | head -1)
if [ "$rc" = 124 ] && [ -n "$cpu" ] && [ $((cpu * 1000 / wall)) -le 450 ]; then
	ok "exec --cpu-max=20%: the burner used $((cpu * 1000 / wall)) per mille"
else
	bad "exec --cpu-max=20%: rc=$rc, $(tr '\n' ' ' <"$work/exec-cpu.txt")"
fi
for bad_flag in --memory-max=12Q --pids-max=0 --cpu-max=0%; do
	"$NSR" exec "$bad_flag" -- true 2>"$work/exec-bad.txt"
	rc=$?
	[ "$rc" = 2 ] && grep -q "expected" "$work/exec-bad.txt" && ok "exec $bad_flag: exit 2 and: $(head -1 "$work/exec-bad.txt")" ||
		bad "exec $bad_flag: rc=$rc: $(tr '\n' ' ' <"$work/exec-bad.txt")"
done

# ---- a user who cannot have the controllers: told so, with the way out ----
# uid 65534 can make no cgroup in our hierarchies (v1 is root's; v2 is not delegated to it): exec with
# a limit is refused as a limit's failure, not a rung's, and --limits-optional runs without it.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir "$work/nobody" && cp "$NSR" "$work/nobody/nsreload" && chmod 755 "$work" "$work/nobody"
	asnobody() { (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups env -u NSRELOAD_CGROUP1_PARENT \
		-u NSRELOAD_CGROUP_PARENT "$work/nobody/nsreload" "$@"); }
	asnobody exec --memory-max=64M -- true 2>"$work/nobody.txt"
	rc=$?
	[ "$rc" = 125 ] && grep -q "the limits cannot be applied here: memory_max" "$work/nobody.txt" &&
		grep -q -- "--limits-optional runs without" "$work/nobody.txt" &&
		ok "uid 65534: refused as a limit that cannot be had, with --limits-optional named" ||
		bad "uid 65534: rc=$rc: $(tr '\n' ' ' <"$work/nobody.txt")"
	asnobody exec --memory-max=64M --limits-optional -- true 2>"$work/nobody2.txt"
	rc=$?
	[ "$rc" = 0 ] && grep -q "running without limits" "$work/nobody2.txt" &&
		ok "uid 65534: --limits-optional runs without the limit and says so" ||
		bad "uid 65534: --limits-optional: rc=$rc: $(tr '\n' ' ' <"$work/nobody2.txt")"
fi

# ---- cgroup v2 only: the no-internal-processes rule ----
if [ "$via" = cgroup2 ] && [ -n "$parent" ]; then
	# The controllers for the test's cgroups below $parent (which holds no process itself).
	echo "+memory +pids +cpu" >"$parent/cgroup.subtree_control"
	# nsreload alone in its cgroup: it moves itself into a leaf of its own and the limit holds.
	mkdir "$parent/alone"
	NSRLIM_APP=$tok sh -c 'echo $$ >"$1/cgroup.procs" && exec env -u NSRELOAD_CGROUP_PARENT "$2" exec \
		--memory-max=64M -- "$3" 1024' sh "$parent/alone" "$NSR" "$TOOLS/memhog" >/dev/null 2>"$work/alone.txt"
	rc=$?
	leaf=$(find "$parent/alone" -mindepth 1 -maxdepth 1 -type d -name 'nsreload.*.self' | head -1)
	[ "$rc" = 137 ] && [ -n "$leaf" ] && grep -q "OOM killer" "$work/alone.txt" &&
		ok "v2: alone in its cgroup, nsreload moved into $leaf and the limit held" ||
		bad "v2: alone in its cgroup: rc=$rc, leaf '${leaf:-none}': $(tr '\n' ' ' <"$work/alone.txt")"
	# A process nsreload did not start shares its cgroup: refused with the reason and the fix, or
	# with --limits-optional run without the limit.
	mkdir "$parent/shared"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 30' sh "$parent/shared" &
	stranger=$!
	wait_for 2000 grep -qx "$stranger" "$parent/shared/cgroup.procs"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec env -u NSRELOAD_CGROUP_PARENT "$2" exec --memory-max=64M -- true' \
		sh "$parent/shared" "$NSR" 2>"$work/shared.txt"
	rc=$?
	[ "$rc" = 125 ] && grep -q "no-internal-processes" "$work/shared.txt" &&
		grep -q "systemd-run --user --scope -p Delegate=yes nsreload" "$work/shared.txt" &&
		ok "v2: a stranger in its cgroup: refused with the reason and the fix" ||
		bad "v2: a stranger in its cgroup: rc=$rc: $(tr '\n' ' ' <"$work/shared.txt")"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec env -u NSRELOAD_CGROUP_PARENT "$2" exec --memory-max=64M \
		--limits-optional -- true' sh "$parent/shared" "$NSR" 2>"$work/shared2.txt"
	rc=$?
	[ "$rc" = 0 ] && grep -q "running without limits" "$work/shared2.txt" &&
		ok "v2: --limits-optional runs without the limit and says so" ||
		bad "v2: --limits-optional: rc=$rc: $(tr '\n' ' ' <"$work/shared2.txt")"
	kill "$stranger" 2>/dev/null
	wait "$stranger" 2>/dev/null
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
