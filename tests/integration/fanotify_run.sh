#!/bin/sh
# The fanotify backend end to end, as root, through a bare 'nsreload' in a
# directory holding an .air.toml with build.watcher = "fanotify". A fresh
# tmpfs of the test's own (in a private mount namespace: unshare -m) holds
# the project (proj/) and, beside it on the same file system, other/, so that
# the whole-file-system mark sees this test's files and nothing of the
# machine's busy disk.
#   doctor    names fanotify for the project, in text and JSON; in a user
#             namespace (unshare -U), inotify and why
#   run       the log says fanotify; an edit rebuilds once
#   outside   files written in other/ (same file system, outside the root)
#             give no rebuild
#   storm     10,000 new files in the project: exactly one build
#   overflow  nsreload stopped (SIGSTOP) while more files than fanotify's
#             queue holds are written in other/: on SIGCONT the overflow is
#             logged, counts as one change (a rescan), and an edit after it
#             still rebuilds
# Skips (77) without root, unshare -m or a fanotify that may mark a file
# system; fails instead under NSRELOAD_TEST_REQUIRE.
# Usage: fanotify_run.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"


if [ -z "${NSR_FAN_IN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip_test_or_fail "not root: fanotify's file system mark needs CAP_SYS_ADMIN"
	unshare -m --propagation private true 2>/dev/null || skip_test_or_fail "unshare -m does not work here"
	NSR_FAN_IN_NS=1 exec unshare -m --propagation private "$0" "$@"
	skip_test_or_fail "cannot run unshare"
fi

test_begin "$1" fanotify-run
tok="nsrfan$$"
fs="$work/fs"
proj="$fs/proj"
other="$fs/other"
ctl="$work/ctl"
mkdir -p "$fs" "$ctl"
cleanup_umount="$fs"
install_cleanup

mount -t tmpfs -o size=256m nsreload-fan "$fs" || skip_test_or_fail "cannot mount a tmpfs"
mkdir -p "$proj" "$other"
cat >"$proj/.air.toml" <<EOF
[build]
  cmd = "echo build >>$ctl/builds"
  full_bin = "exec sleep 1000"
  include_ext = ["go"]
  delay = 200
  watcher = "fanotify"
EOF
echo "package main" >"$proj/main.go"
: >"$ctl/builds"

(cd "$proj" && "$NSR" doctor) >"$work/doctor.txt" 2>&1
(cd "$proj" && "$NSR" doctor --json) >"$work/doctor.json" 2>&1
if ! grep -q "^watcher for \.: fanotify " "$work/doctor.txt"; then
	if ! grep -q "build.watcher = \"fanotify\" is not possible here" "$work/doctor.txt"; then
		echo "FAIL doctor: neither fanotify nor why not: $(grep -A2 '^watcher' "$work/doctor.txt")"
		exit 1
	fi
	skip_test_or_fail "fanotify cannot be used here: $(grep -A2 '^watcher' "$work/doctor.txt")"
fi
grep -q '"backend":"fanotify"' "$work/doctor.json" && grep -q '"fanotify":true' "$work/doctor.json" &&
	ok "doctor: fanotify for the project (text and JSON)" ||
	bad "doctor: JSON: $(grep -o '"watcher":{[^}]*}' "$work/doctor.json")"

# In a user namespace the mark is not allowed: doctor says inotify, and why.
if unshare -U -r true 2>/dev/null; then
	(cd "$proj" && unshare -U -r "$NSR" doctor) >"$work/doctor.userns.txt" 2>&1
	grep -q "^watcher for \.: inotify " "$work/doctor.userns.txt" &&
		grep -q "fanotify\" is not possible here (.*user namespace" "$work/doctor.userns.txt" &&
		ok "doctor: in a user namespace, inotify and why" ||
		bad "doctor: in a user namespace: $(grep -A2 '^watcher' "$work/doctor.userns.txt")"
fi

builds() { wc -l <"$ctl/builds" | tr -d ' '; }
builds_at_least() { [ "$(builds)" -ge "$1" ]; }
# settled N: the build count is N and stays N for 2 s (ten debounce windows).
settled() {
	wait_for 20000 builds_at_least "$1" || return 1
	sleep 2
	[ "$(builds)" = "$1" ]
}

log="$work/log.json"
(
	cd "$proj" || exit 125
	NSRELOAD_TEST_TOKEN=$tok exec "$NSR" --log-format=json --color=never --box=pgroup \
		</dev/null >"$work/out.txt" 2>"$log"
) &
nsr_pid=$!
if wait_for 10000 events_at_least run_start 1; then
	ok "run: first build and run"
else
	bad "run: no first run (builds $(builds)); log: $(tail -c 600 "$log")"
fi
grep -q "with fanotify" "$log" && ok "run: the log says fanotify" ||
	bad "run: no line about fanotify in the log: $(head -c 600 "$log")"

echo "package main // edited" >"$proj/main.go"
wait_for 10000 builds_at_least 2 && ok "run: an edit rebuilds" ||
	bad "run: an edit gave no rebuild (builds $(builds))"
settled 2 || bad "run: one edit gave $(builds) builds in all, want 2"

mkdir "$other/pkg"
for i in 1 2 3 4 5; do echo "package pkg" >"$other/pkg/f$i.go"; done
echo "package main" >"$other/main.go"
if settled 2; then
	ok "outside: files written outside the root on the same file system give no rebuild"
else
	bad "outside: files written outside the root gave $(($(builds) - 2)) builds"
fi

mkdir "$proj/storm"
i=0
while [ $i -lt 10000 ]; do
	: >"$proj/storm/f$i.go"
	i=$((i + 1))
done
if settled 3; then
	ok "storm: 10,000 new files, exactly one build"
else
	bad "storm: 10,000 new files gave $(($(builds) - 2)) builds, want 1"
fi

max=$(cat /proc/sys/fs/fanotify/max_queued_events 2>/dev/null || echo 16384)
kill -STOP "$nsr_pid"
mkdir "$other/flood"
i=0
while [ $i -lt $((max + 2000)) ]; do
	: >"$other/flood/f$i"
	i=$((i + 1))
done
kill -CONT "$nsr_pid"
if wait_for 10000 builds_at_least 4; then
	ok "overflow: the lost events count as one change (a rescan)"
else
	bad "overflow: no rebuild after the queue overflowed (builds $(builds))"
fi
grep -q "events were lost" "$log" && ok "overflow: the log says events were lost" ||
	bad "overflow: no line about lost events: $(tail -c 600 "$log")"
settled 4 || bad "overflow: gave $(($(builds) - 3)) builds, want 1"
echo "package main // after the overflow" >"$proj/main.go"
wait_for 10000 builds_at_least 5 && ok "overflow: an edit after it still rebuilds" ||
	bad "overflow: an edit after it gave no rebuild (builds $(builds))"
sigterm_ends_clean run

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
