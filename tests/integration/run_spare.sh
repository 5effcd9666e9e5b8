#!/bin/sh
# Spare boxes (docs/run.md, "The reload cycle"): while nsreload waits for a
# change, a box for the next build and one for the next run are already made
# (the JSON log's box_spare event names each; on the cgroup rungs its cgroup
# directory exists before the change), and the edit's build and new app run
# in exactly those boxes (their NSRELOAD_BOX token names the box). Quitting
# leaves none: exit 0, no survivor by token, and on the cgroup rungs no
# directory of nsreload's under the test's cgroup parent. On the cgroup2,
# cgroup2+pidns, pidns and pgroup rungs, and cgroup1 where the v1 freezer is
# writable (skipped otherwise). No timing assertions: generous readiness
# waits only.
# Usage: run_spare.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" run-spare
tok_base="nsrspare$$"

make_cgroup_parent nsreload-test-spare
make_cgroup1_parent nsreload-test-spare
install_cleanup
trap 'test_cleanup; remove_cgroup1_parent' EXIT

# The last box_spare event of kind $1 in $log: its box name ("" when none).
last_spare() {
	grep "\"event\":\"box_spare\",\"kind\":\"$1\"" "$log" 2>/dev/null | tail -n 1 |
		sed 's/.*"box":"\([^"]*\)".*/\1/'
}
# A spare of kind $1 made since the last box of that kind was taken ($2: the event that takes it).
spare_after() {
	grep -E "\"event\":\"($2|box_spare\",\"kind\":\"$1)\"" "$log" 2>/dev/null | tail -n 1 |
		grep -q box_spare
}
spares_ready() { spare_after build build_start && spare_after run run_start; }
nothing_under() { [ -z "$(find "$1" -mindepth 1 -type d)" ]; }
lines_at_least() { [ -s "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

run_rung() {
	rung=$1
	tok="$tok_base-$rung"
	work_r="$work/$(echo "$rung" | tr + _)"
	proj="$work_r/proj"
	ctl="$work_r/ctl"
	log="$work_r/log.json"
	mkdir -p "$proj" "$ctl"
	# The cgroup rungs' directory of contexts: the test's own.
	cgdir=""
	case $rung in
	cgroup2*) cgdir=$parent ;;
	cgroup1) cgdir=$parent1 ;;
	esac
	case $rung in cgroup*)
		if [ -z "$cgdir" ]; then
			echo "skip $rung: no writable cgroup parent for it"
			return
		fi
		;;
	esac
	# The app writes its box's token, one line per start; the build prints its own into the log.
	cat >"$proj/app.sh" <<APP
echo "\$NSRELOAD_BOX" >>"$ctl/runs"
exec sleep 1000
APP
	echo "# 1" >"$proj/watched.sh"
	(
		cd "$proj" || exit 125
		cgp=""
		case $rung in cgroup2*) cgp="--cgroup-parent=$parent" ;; esac
		# shellcheck disable=SC2086
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run $cgp --log-format=json --color=never --box=$rung \
			--build.cmd='echo "BUILT in $NSRELOAD_BOX"' --build.full_bin='sh app.sh' \
			--build.include_ext=sh --build.delay=100 --stop-timeout=2s \
			</dev/null >"$work_r/out.txt" 2>"$log"
	) &
	nsr_pid=$!

	# 1. The first run, then, while idle, a spare build box and a spare run box.
	if ! wait_for 10000 lines_at_least "$ctl/runs" 1 || ! wait_for 5000 spares_ready; then
		bad "$rung: no spare build and run box while idle (box_spare events: $(events box_spare))"
		sigterm_ends_clean "$rung"
		tail -n 20 "$log"
		return
	fi
	sb=$(last_spare build)
	sr=$(last_spare run)
	ok "$rung: while idle, spare boxes $sb and $sr"
	case $rung in cgroup*)
		ctxdir=$(find "$cgdir" -mindepth 1 -maxdepth 1 -type d -name "nsreload.$nsr_pid.*")
		if [ -n "$ctxdir" ] && [ -d "$ctxdir/$sb" ] && [ -d "$ctxdir/$sr" ] &&
			[ ! -s "$ctxdir/$sb/cgroup.procs" ] && [ ! -s "$ctxdir/$sr/cgroup.procs" ]; then
			ok "$rung: their cgroups exist before the change, empty"
		else
			bad "$rung: no empty cgroups $sb and $sr in '$ctxdir' before the change"
		fi
		;;
	esac

	# 2. An edit: its build runs in the spare build box, the new app in the spare run box.
	echo "# 2" >>"$proj/watched.sh"
	if wait_for 10000 lines_at_least "$ctl/runs" 2; then
		built=$(grep -c "\"line\":\"BUILT in $nsr_pid.$sb\"" "$log")
		ran=$(sed -n 2p "$ctl/runs")
		[ "$built" = 1 ] && ok "$rung: the build ran in the spare $sb" ||
			bad "$rung: the build did not run in $nsr_pid.$sb: $(grep BUILT "$log" | tail -n 1)"
		[ "$ran" = "$nsr_pid.$sr" ] && ok "$rung: the new app runs in the spare $sr" ||
			bad "$rung: the new app runs in '$ran', not $nsr_pid.$sr"
	else
		bad "$rung: the edit did not restart the app"
	fi
	# The next spares come while idle again.
	wait_for 5000 spares_ready

	# 3. Quit: nothing made while quitting, nothing left.
	sigterm_ends_clean "$rung"
	late=$(sed -n '/cleaning up/,$p' "$log" | grep -c '"event":"box_spare"')
	[ "$late" = 0 ] && ok "$rung: no spare made while quitting" ||
		bad "$rung: $late spare boxes made while quitting"
	case $rung in cgroup*)
		wait_for 2000 nothing_under "$cgdir"
		leftover=$(find "$cgdir" -mindepth 1 -type d)
		[ -z "$leftover" ] && ok "$rung: no cgroup directory left under the parent" ||
			bad "$rung: left behind: $leftover"
		;;
	esac
	if [ "$fail" != 0 ]; then
		echo "---- $rung log"
		tail -n 30 "$log"
	fi
}

for rung in cgroup2 cgroup2+pidns cgroup1 pidns pgroup; do
	run_rung $rung
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
