#!/bin/sh
# Every watcher backend end to end, with nsreload's DEFAULT settings (the
# default debounce, build.delay unset): a real 'nsreload run' under
# build.watcher = inotify, poll and fanotify in turn, each checked for:
#   default   the default debounce is the short one (docs/run.md,
#             "Debounce"): 'nsreload config' says build.delay is below 100
#   edit      one edit gives one build and a restart (the old run is gone)
#   storm     10,000 new files give exactly one build
#   atomic    an atomic save (a temp file renamed over the original): one build
#   newdir    a new directory with a file in it: one build
#   left      after SIGTERM nsreload exits 0 and no process with the test's
#             token is left
# fanotify needs root: the test then runs itself again in a private mount
# namespace (unshare -m) and that backend's project lives on a tmpfs of its
# own, so that the file system mark sees only this test's files. Without root
# (or without fanotify here) that backend is skipped with a message, and
# fails instead when NSRELOAD_TEST_REQUIRE names fanotify.
# No timing is asserted: counts are read once a count has stayed the same
# for 2 s.
# Usage: watch_backends.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"

fan_required() { case ",${NSRELOAD_TEST_REQUIRE:-}," in *,fanotify,*) true ;; *) false ;; esac; }

if [ "$(id -u)" = 0 ] && [ -z "${NSR_WB_IN_NS:-}" ] && unshare -m --propagation private true 2>/dev/null; then
	NSR_WB_IN_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi

test_begin "$1" watch-backends
tok_base="nsrwb$$"
fs="$work/fs"
cleanup_umount="$fs"
install_cleanup

# settled N: the build count is N and stays N for 2 s.
settled() {
	wait_for 20000 events_at_least build_start "$1" || return 1
	n=$(events build_start)
	while :; do
		sleep 2
		m=$(events build_start)
		[ "$m" = "$n" ] && break
		n=$m
	done
	[ "$n" = "$1" ]
}

run_backend() {
	be=$1
	base=$2
	tok="$tok_base-$be"
	proj="$base/proj"
	ctl="$base/ctl"
	log="$base/log.json"
	mkdir -p "$proj/src" "$ctl"
	echo "package main" >"$proj/main.go"
	echo "package src" >"$proj/src/app.go"

	d=$(cd "$proj" && "$NSR" config 2>&1 | sed -n 's/^build\.delay = \([0-9]*\) .*# default$/\1/p')
	if [ -n "$d" ] && [ "$d" -lt 100 ]; then
		ok "$be: default: the default debounce is short (build.delay = $d ms)"
	else
		bad "$be: default: build.delay is '$d' by default, want a short window (< 100 ms)"
	fi

	(
		cd "$proj" || exit 125
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --log-format=json --color=never --box=pgroup \
			--build.watcher="$be" --build.cmd=true --build.include_ext=go \
			--build.full_bin="echo \$\$ >>$ctl/runs; exec sleep 100000" </dev/null >"$base/out.txt" 2>"$log"
	) &
	nsr_pid=$!
	if wait_for 20000 events_at_least run_start 1 && wait_for 5000 file_exists "$ctl/runs"; then
		ok "$be: first build and run"
	else
		bad "$be: no first run (builds $(events build_start)); log: $(tail -c 600 "$log")"
	fi
	# The watcher's line: inotify's names no backend, poll's says 'polled', fanotify's names it.
	w=$(grep '"source":"watcher"' "$log" | grep -E 'watching|fanotify' | head -n 1)
	case $be in
	inotify) echo "$w" | grep -q 'watching' && ! echo "$w" | grep -qE 'polled|fanotify' ;;
	poll) echo "$w" | grep -q 'polled every' ;;
	fanotify) grep -q 'with fanotify' "$log" ;;
	esac && ok "$be: the log says $be watches" || bad "$be: the watcher's line is not $be's: $w"
	settled 1 || bad "$be: start gave $(events build_start) builds"

	# edit: one build and a restart; the first run's process is gone.
	first=$(head -n 1 "$ctl/runs" 2>/dev/null)
	echo "package main // edited" >"$proj/main.go"
	if settled 2 && wait_for 10000 events_at_least run_start 2; then
		wait_for 5000 pid_gone "$first" && ok "$be: edit: one build and a restart, the old run gone" ||
			bad "$be: edit: the old run ($first) is still there"
	else
		bad "$be: edit: $(($(events build_start) - 1)) builds, $(($(events run_start) - 1)) restarts, want 1 and 1"
	fi

	# storm: 10,000 new files.
	mkdir "$proj/storm"
	i=0
	while [ $i -lt 10000 ]; do
		: >"$proj/storm/f$i.go"
		i=$((i + 1))
	done
	settled 3 && ok "$be: storm: 10,000 new files, exactly one build" ||
		bad "$be: storm: 10,000 new files gave $(($(events build_start) - 2)) builds, want 1"

	# atomic: a temp file renamed over the original.
	b=$(events build_start)
	cp "$proj/src/app.go" "$proj/src/.app.go.tmp"
	echo "// atomic" >>"$proj/src/.app.go.tmp"
	mv "$proj/src/.app.go.tmp" "$proj/src/app.go"
	settled $((b + 1)) && ok "$be: atomic save: one build" ||
		bad "$be: atomic save gave $(($(events build_start) - b)) builds, want 1"

	# newdir: a new directory with a file in it.
	b=$(events build_start)
	mkdir -p "$proj/pkg/deeper"
	echo "package deeper" >"$proj/pkg/deeper/x.go"
	settled $((b + 1)) && ok "$be: new directory with a file: one build" ||
		bad "$be: new directory with a file gave $(($(events build_start) - b)) builds, want 1"

	sigterm_ends_clean "$be: left"
	if [ "$fail" != 0 ]; then
		echo "---- $be log (tail)"
		tail -n 20 "$log"
	fi
}

run_backend inotify "$work/inotify"
run_backend poll "$work/poll"

why=""
if [ "$(id -u)" != 0 ]; then
	why="not root: fanotify's file system mark needs CAP_SYS_ADMIN"
elif [ -z "${NSR_WB_IN_NS:-}" ]; then
	why="unshare -m does not work here"
elif ! mkdir -p "$fs" || ! mount -t tmpfs -o size=256m nsreload-wb "$fs"; then
	why="cannot mount a tmpfs"
else
	mkdir -p "$fs/p"
	printf '[build]\nwatcher = "fanotify"\n' >"$fs/p/.nsreload.toml"
	(cd "$fs/p" && "$NSR" doctor) >"$work/doctor.txt" 2>&1
	grep -q "^watcher for \.: fanotify " "$work/doctor.txt" ||
		why="fanotify cannot be used here: $(grep -A2 '^watcher' "$work/doctor.txt")"
	rm -rf "$fs/p"
fi
if [ -z "$why" ]; then
	run_backend fanotify "$fs"
elif fan_required; then
	bad "fanotify: $why (NSRELOAD_TEST_REQUIRE names fanotify)"
else
	echo "skip fanotify: $why"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
