#!/bin/sh
# nsreload run end to end, without Go: a project whose build copies a shell
# script and whose app leaves 'setsid sleep' grandchildren behind. On the
# cgroup2, pidns and pgroup rungs: the first build and run; one edit gives
# one rebuild and restart; a burst of 5,000 writes gives one build; an atomic
# save and a new directory give one build each; a failing
# build keeps the old run serving; after 20 restarts and after SIGTERM no
# process is left, found by a token in /proc/*/environ.
# Usage: run_basic.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" run-basic
tok_base="nsrrun$$"

# The app of generation $1: it names itself in its environment, so that old generations can be counted.
write_app() {
	cat >"$proj/src/app.sh" <<APP
export NSRT_GEN=$tok-$1
echo "APP generation $1"
echo \$\$ >"$ctl/pid.$1"
setsid sleep 1000 &
exec sleep 1000
APP
}

file_nonempty() { [ -s "$1" ]; }

make_cgroup_parent nsreload-test-run
install_cleanup

run_rung() {
	rung=$1
	tok="$tok_base-$rung"
	proj="$work/$rung/proj"
	ctl="$work/$rung/ctl"
	log="$work/$rung/log.json"
	mkdir -p "$proj/src" "$ctl"
	write_app 1
	# The build fails while $ctl/fail exists; ctl is outside the watched tree.
	build="test ! -e $ctl/fail && mkdir -p tmp && cp src/app.sh tmp/app.sh"

	if [ "$rung" = cgroup2 ] && [ -z "$parent" ]; then
		echo "skip $rung: no writable cgroup v2"
		return
	fi
	(
		cd "$proj" || exit 125
		# The flag, not the environment: the other tests use NSRELOAD_CGROUP_PARENT.
		cgp=""
		[ "$rung" = cgroup2 ] && cgp="--cgroup-parent=$parent"
		# shellcheck disable=SC2086
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run $cgp --log-format=json --color=never --box=$rung \
			--build.cmd="$build" --build.full_bin='sh tmp/app.sh' --build.include_ext=sh \
			--build.delay=200 --stop-timeout=2s </dev/null >"$work/$rung/out.txt" 2>"$log"
	) &
	nsr_pid=$!

	# 1. The first build, then the first run.
	if wait_for 10000 file_exists "$ctl/pid.1" && [ "$(events build_start)" = 1 ] &&
		wait_for 5000 events_at_least run_start 1; then
		ok "$rung: first build and run"
		if [ "$rung" = cgroup2 ]; then
			ctxdirs=$(find "$parent" -mindepth 1 -maxdepth 1 -type d -name "nsreload.$nsr_pid.*")
			[ -n "$ctxdirs" ] && ok "$rung: --cgroup-parent: the boxes are under $parent" ||
				bad "$rung: --cgroup-parent: no $parent/nsreload.$nsr_pid.*"
		fi
	else
		bad "$rung: first build and run (builds $(events build_start), runs $(events run_start))"
	fi

	# 2. One edit: exactly one rebuild, and the old generation is gone when the new one starts.
	write_app 2
	if wait_for 10000 file_exists "$ctl/pid.2"; then
		sleep 0.5
		b=$(events build_start)
		old=$(count_env "NSRT_GEN=$tok-1")
		[ "$b" = 2 ] && [ "$old" = 0 ] && ok "$rung: one edit, one rebuild and restart, old run gone" ||
			bad "$rung: one edit gave $b builds in all, $old processes of the old run left"
	else
		bad "$rung: the edit did not restart the app"
	fi

	# 3. A burst of 5,000 writes: one build.
	before=$(events build_start)
	i=0
	while [ $i -lt 5000 ]; do
		echo "# $i" >>"$proj/src/app.sh"
		i=$((i + 1))
	done
	wait_for 10000 events_at_least build_start $((before + 1))
	sleep 0.8
	b=$(($(events build_start) - before))
	[ "$b" = 1 ] && ok "$rung: 5000 writes, 1 build" || bad "$rung: 5000 writes gave $b builds"
	wait_for 5000 events_at_least run_start 3

	# 3b. An editor's atomic save (a temp file renamed over the original) is one build; so is a
	# new directory with a file in it, and the new directory is watched from then on.
	before=$(events build_start)
	cp "$proj/src/app.sh" "$proj/src/.app.sh.swp-tmp"
	echo "# atomic" >>"$proj/src/.app.sh.swp-tmp"
	mv "$proj/src/.app.sh.swp-tmp" "$proj/src/app.sh"
	wait_for 10000 events_at_least build_start $((before + 1))
	sleep 0.6
	b=$(($(events build_start) - before))
	[ "$b" = 1 ] && ok "$rung: atomic save, 1 build" || bad "$rung: atomic save gave $b builds"
	before=$(events build_start)
	mkdir -p "$proj/src/new/deeper"
	echo "# new" >"$proj/src/new/deeper/extra.sh"
	wait_for 10000 events_at_least build_start $((before + 1))
	sleep 0.6
	b=$(($(events build_start) - before))
	before=$(events build_start)
	runs=$(events run_start)
	echo "# more" >>"$proj/src/new/deeper/extra.sh"
	if [ "$b" = 1 ] && wait_for 10000 events_at_least build_start $((before + 1)); then
		ok "$rung: new directory, 1 build, then watched"
	else
		bad "$rung: new directory gave $b builds, or a later write in it none"
	fi
	# That build's restart is over before the next edit: an edit during a build queues another one
	# (on_busy = queue), which would end after the failing build below is started, and restart the app.
	wait_for 10000 events_at_least run_start $((runs + 1))

	# 4. A failing build keeps the old run serving, and the error goes to tmp/build-errors.log.
	gen=3
	write_app $gen
	# Written, not only made: the shell creates the file before it writes the pid.
	wait_for 10000 file_nonempty "$ctl/pid.$gen"
	serving=$(cat "$ctl/pid.$gen" 2>/dev/null)
	touch "$ctl/fail"
	ends=$(events build_end)
	write_app 99
	wait_for 10000 events_at_least build_end $((ends + 1))
	sleep 0.3
	if grep -q '"event":"build_end".*"status":[1-9]' "$log" && pid_alive "$serving" &&
		[ -s "$proj/tmp/build-errors.log" ] && [ ! -e "$ctl/pid.99" ]; then
		ok "$rung: a failing build keeps the old run serving"
	else
		bad "$rung: failing build: old run ($serving) alive? $(pid_alive "$serving" && echo yes || echo no); the log then:"
		tail -n 12 "$log" | sed 's/^/    /'
	fi
	rm -f "$ctl/fail"

	# 5. Twenty restarts: after each, nothing of the previous generation is left.
	left=0
	k=0
	while [ $k -lt 20 ]; do
		prev=$gen
		gen=$((gen + 1))
		write_app $gen
		if ! wait_for 10000 file_exists "$ctl/pid.$gen"; then
			bad "$rung: restart $k did not happen"
			break
		fi
		s=$(count_env "NSRT_GEN=$tok-$prev")
		left=$((left + s))
		k=$((k + 1))
	done
	[ $k = 20 ] && [ $left = 0 ] && ok "$rung: 20 restarts, 0 survivors of old runs" ||
		bad "$rung: $k restarts, $left survivors of old runs"

	# 6. SIGTERM: nsreload exits 0 and nothing of it is left.
	sigterm_ends_clean "$rung"
	if [ "$fail" != 0 ]; then
		echo "---- $rung log"
		tail -n 40 "$log"
	fi
}

for rung in cgroup2 pidns pgroup; do
	run_rung $rung
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
