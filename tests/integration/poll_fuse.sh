#!/bin/sh
# Polling where inotify is blind, end to end through a bare 'nsreload' in a
# directory holding an .air.toml. bindfs mounts a directory (under/) at a
# second path (view/): a FUSE view, and a change made in under/ makes no
# inotify event on view/, as with NFS, 9p or Docker Desktop's file sharing.
#   auto     build.poll unset: nsreload watching view/ says it polls it (FUSE),
#            rebuilds once on a change made in under/, and once for a storm of
#            10,000 new files written in under/
#   forbid   build.poll = false: the same change in under/ gives no rebuild
#            (inotify alone), while a change made through view/ does
#   doctor   says which backend a run in view/ would use, and why: poll
#            (FUSE) while build.poll is unset, inotify with it false
#   subtree  a local project with a FUSE view mounted inside it (proj/lib):
#            auto polls that subtree only, and rebuilds on a change made
#            under it and on one made in the project (inotify)
# Everything is mounted inside a private mount namespace of the test's own
# (unshare -m --propagation private), so nothing is left on the host. Skips
# (77) without root, unshare, bindfs or /dev/fuse; fails instead under
# NSRELOAD_TEST_REQUIRE.
# Usage: poll_fuse.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"


if [ -z "${NSR_POLL_IN_NS:-}" ]; then
	command -v bindfs >/dev/null 2>&1 || skip_test_or_fail "no bindfs (Debian's bindfs package)"
	[ -c /dev/fuse ] || skip_test_or_fail "no /dev/fuse"
	[ "$(id -u)" = 0 ] || skip_test_or_fail "not root: no private mount namespace for the FUSE view"
	unshare -m --propagation private true 2>/dev/null || skip_test_or_fail "unshare -m does not work here"
	NSR_POLL_IN_NS=1 exec unshare -m --propagation private "$0" "$@"
	skip_test_or_fail "cannot run unshare"
fi

test_begin "$1" poll-fuse
tok="nsrpoll$$"
under="$work/under"
view="$work/view"
ctl="$work/ctl"
mkdir -p "$under" "$view" "$ctl"
cleanup_umount="$view $work/proj/lib"
install_cleanup

if ! bindfs "$under" "$view" 2>"$work/bindfs.err"; then
	skip_test_or_fail "bindfs cannot mount here: $(cat "$work/bindfs.err")"
fi

# start POLL_LINE NAME [SRC RUN]: nsreload in RUN (view/) with an .air.toml written in SRC (under/) whose
# [build] has POLL_LINE; waits for the first run.
start() {
	src=${3:-$under}
	run=${4:-$view}
	cat >"$src/.air.toml" <<EOF
[build]
  cmd = "echo build >>$ctl/builds"
  full_bin = "exec sleep 1000"
  include_ext = ["go"]
  delay = 200
  $1
EOF
	echo "package main" >"$src/main.go"
	: >"$ctl/builds"
	log="$work/log.$2.json"
	(
		cd "$run" || exit 125
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" --log-format=json --color=never --box=pgroup \
			</dev/null >"$work/out.$2.txt" 2>"$log"
	) &
	nsr_pid=$!
	wait_for 10000 events_at_least run_start 1
}
builds() { wc -l <"$ctl/builds" | tr -d ' '; }
builds_at_least() { [ "$(builds)" -ge "$1" ]; }
# settled N: the build count is N and stays N for 3 s (several poll intervals).
settled() {
	wait_for 20000 builds_at_least "$1" || return 1
	sleep 3
	[ "$(builds)" = "$1" ]
}

# doctor_says BACKEND: 'nsreload doctor' in view/ names BACKEND for the root, in text and in JSON.
doctor_says() {
	(cd "$view" && "$NSR" doctor) >"$work/doctor.txt" 2>&1
	(cd "$view" && "$NSR" doctor --json) >"$work/doctor.json" 2>&1
	grep -q "^watcher for \.: $1 " "$work/doctor.txt" &&
		grep -q "\"watcher\":{\"root\":\".\",\"backend\":\"$1\"" "$work/doctor.json"
}

# ---- auto: the view is FUSE, so it is polled ----
if start "# poll unset: auto" auto; then
	ok "auto: first build and run"
else
	bad "auto: no first run (builds $(builds)); log: $(tail -c 600 "$log")"
fi
grep -q "polling it every 500 ms" "$log" && ok "auto: the log says the view is polled" ||
	bad "auto: no line about polling in the log: $(head -c 600 "$log")"
doctor_says poll && grep -q "is on FUSE" "$work/doctor.txt" && ok "doctor: auto polls the FUSE view" ||
	bad "doctor: auto: $(grep -A1 '^watcher' "$work/doctor.txt")"
echo "package main // edited under the view" >"$under/main.go"
if wait_for 10000 builds_at_least 2; then
	ok "auto: a change made in under/ rebuilds (polling)"
else
	bad "auto: a change made in under/ gave no rebuild (builds $(builds))"
fi
settled 2 || bad "auto: one change gave $(builds) builds in all, want 2"
mkdir "$under/storm"
i=0
while [ $i -lt 10000 ]; do
	: >"$under/storm/f$i.go"
	i=$((i + 1))
done
if settled 3; then
	ok "auto: 10,000 new files, exactly one build"
else
	bad "auto: 10,000 new files gave $(($(builds) - 2)) builds, want 1"
fi
sigterm_ends_clean auto
rm -rf "$under/storm"

# ---- forbid: build.poll = false, inotify alone sees nothing of under/ ----
if start "poll = false" forbid; then
	ok "forbid: first build and run"
else
	bad "forbid: no first run (builds $(builds)); log: $(tail -c 600 "$log")"
fi
grep -q "polling it every" "$log" && bad "forbid: the log says it polls: $(head -c 600 "$log")"
doctor_says inotify && grep -q "forbids polling" "$work/doctor.txt" &&
	ok "doctor: build.poll = false: inotify, and changes made elsewhere are missed" ||
	bad "doctor: forbid: $(grep -A1 '^watcher' "$work/doctor.txt")"
echo "package main // edited under the view again" >"$under/main.go"
if settled 1; then
	ok "forbid: a change made in under/ gives no rebuild (inotify cannot see it)"
else
	bad "forbid: a change made in under/ gave $(builds) builds: something polled"
fi
echo "package main // edited through the view" >"$view/main.go"
if wait_for 10000 builds_at_least 2; then
	ok "forbid: a change made through view/ rebuilds (inotify)"
else
	bad "forbid: a change made through view/ gave no rebuild"
fi
sigterm_ends_clean forbid

# ---- subtree: a local project, with a FUSE view inside it ----
proj="$work/proj"
mkdir -p "$proj/lib" "$work/under2"
if bindfs "$work/under2" "$proj/lib" 2>"$work/bindfs.err"; then
	if start "# poll unset: auto" subtree "$proj" "$proj"; then
		ok "subtree: first build and run"
	else
		bad "subtree: no first run (builds $(builds)); log: $(tail -c 600 "$log")"
	fi
	grep -q "lib is on FUSE.*polling it every 500 ms" "$log" && ok "subtree: the log says lib/ is polled" ||
		bad "subtree: no line about polling lib/: $(head -c 600 "$log")"
	echo "package lib" >"$work/under2/lib.go"
	wait_for 10000 builds_at_least 2 && ok "subtree: a change made under lib/ rebuilds (polling)" ||
		bad "subtree: a change made under lib/ gave no rebuild (builds $(builds))"
	settled 2 || bad "subtree: one change gave $(builds) builds in all, want 2"
	echo "package main // edited" >"$proj/main.go"
	wait_for 10000 builds_at_least 3 && ok "subtree: a change in the project rebuilds (inotify)" ||
		bad "subtree: a change in the project gave no rebuild (builds $(builds))"
	sigterm_ends_clean subtree
	umount "$proj/lib"
else
	bad "subtree: bindfs cannot mount $proj/lib: $(cat "$work/bindfs.err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
