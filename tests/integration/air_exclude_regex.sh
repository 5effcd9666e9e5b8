#!/bin/sh
# build.exclude_regex as air means it, end to end through bare 'nsreload' in
# a directory holding an .air.toml (issue 11, point 6). air compiles every
# regex with Go's RE2 at start (runner/config.go, Config.preprocess: "failed
# to compile regex" is fatal) and matches it against the event's ABSOLUTE
# path (runner/util.go, isExcludeRegex; runner/engine.go passes the watcher's
# path, which is under the absolute root). So:
#  1. "/gen/" excludes a top-level gen/ (it matches ".../proj/gen/x.go");
#     editing gen/x.go does not rebuild, editing main.go does.
#  2. RE2 syntax that POSIX ERE lacks is accepted and applied: "(?i)_TEST\.go$"
#     excludes foo_test.go; "\d+\.go$" excludes v2.go.
#  3. A regex that matches the project's own absolute path (it would exclude
#     every file) is warned about at start, naming the regex and .air.toml:L:C.
#  4. A regex RE2 rejects is a configuration error: .air.toml:L:C, exit 2.
# The build is a shell command that appends to a file outside the tree, so
# no Go is needed. Usage: air_exclude_regex.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" air-regex
make_cgroup_parent nsreload-test-air-regex
install_cleanup

builds() { [ -f "$ctl/builds" ] && wc -l <"$ctl/builds" | tr -d ' ' || echo 0; }
builds_at_least() { [ "$(builds)" -ge "$1" ]; }

# start NAME REGEX_TOML_ARRAY: a project with main.go, gen/x.go, sub/foo_test.go, v2.go and an
# .air.toml whose exclude_regex is $2; bare nsreload started in it, stderr in $ctl/err.
start() {
	proj="$work/$1/proj"
	ctl="$work/$1/ctl"
	mkdir -p "$proj/gen" "$proj/sub" "$ctl"
	for f in main.go gen/x.go sub/foo_test.go v2.go; do echo "package main" >"$proj/$f"; done
	cat >"$proj/.air.toml" <<EOF
root = "."
tmp_dir = "tmp"

[build]
cmd = "echo built >> $ctl/builds"
full_bin = "sleep 1000"
include_ext = ["go"]
delay = 200
exclude_regex = $2
EOF
	(
		cd "$proj" || exit 125
		NSRELOAD_CGROUP_PARENT=$parent exec "$NSR" </dev/null >"$ctl/out" 2>"$ctl/err"
	) &
	nsr_pid=$!
	wait_for 10000 builds_at_least 1 || bad "$1: no first build ($(cat "$ctl/err"))"
}

stop() {
	kill -TERM "$nsr_pid" 2>/dev/null
	wait_for 10000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=""
}

# excluded NAME FILE: editing FILE gives no build, and a later edit of main.go gives exactly one.
excluded() {
	n=$(builds)
	echo "// edit" >>"$proj/$2"
	sleep 1.5
	echo "// edit" >>"$proj/main.go"
	if ! wait_for 10000 builds_at_least $((n + 1)); then
		bad "$1: editing main.go did not rebuild"
		return
	fi
	sleep 1
	got=$(($(builds) - n))
	[ "$got" = 1 ] && ok "$1: editing $2 does not rebuild, editing main.go does" ||
		bad "$1: editing $2 then main.go gave $got builds, want 1"
}

# 1. "/gen/" on the absolute path: the top-level gen/ is excluded.
# (The test's own directories must not be named gen: "/gen/" would match them, in air too.)
start topgen '["/gen/"]'
excluded topgen gen/x.go
grep -q warning "$ctl/err" && bad "topgen: a warning: $(cat "$ctl/err")"
stop

# 2. RE2 syntax: (?i) and \d.
start ci '["(?i)_TEST\\.go$"]'
excluded ci sub/foo_test.go
stop
start digit '["\\d+\\.go$"]'
excluded digit v2.go
grep -q "regex\|exclude_regex" "$ctl/err" && bad "digit: a message about the regex: $(cat "$ctl/err")"
stop

# 3. A regex that matches the project's absolute path: a warning at start, with the regex and L:C.
start warn '["_test\\.go$", "nsreload-air-regex"]'
if grep -q 'warning' "$ctl/err" && grep -q '\.air\.toml:9:1' "$ctl/err" && grep -q 'nsreload-air-regex' "$ctl/err"; then
	ok "warn: a regex matching the project path is warned about ($(grep warning "$ctl/err" | head -1 | cut -c1-160))"
else
	bad "warn: no warning naming the regex and .air.toml:9:1: $(cat "$ctl/err")"
fi
stop

# 4. A regex RE2 rejects: .air.toml:L:C, PCRE2's reason, exit 2, no build run.
for re in '["a("]' '["(?=x)"]'; do
	proj="$work/bad/proj"
	ctl="$work/bad/ctl"
	rm -rf "$work/bad"
	mkdir -p "$proj" "$ctl"
	printf '[build]\ncmd = "echo built >> %s/builds"\nexclude_regex = %s\n' "$ctl" "$re" >"$proj/.air.toml"
	(cd "$proj" && NSRELOAD_CGROUP_PARENT=$parent timeout 20 "$NSR" </dev/null >"$ctl/out" 2>"$ctl/err")
	rc=$?
	# The regexes are compiled before any box is made: no "box:" line.
	if [ "$rc" = 2 ] && grep -q '\.air\.toml:3:1: build.exclude_regex' "$ctl/err" &&
		! grep -q 'box:' "$ctl/err" && [ ! -e "$ctl/builds" ]; then
		ok "bad regex $re: exit 2 with $(grep exclude_regex "$ctl/err" | cut -c1-200)"
	else
		bad "bad regex $re: exit $rc, builds $(builds), stderr: $(cat "$ctl/err")"
	fi
done

echo "air_exclude_regex: $pass passed, $fail failed"
[ "$fail" = 0 ]
