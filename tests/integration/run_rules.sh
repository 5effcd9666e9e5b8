#!/bin/sh
# [[build.rules]] end to end, through bare 'nsreload' in a directory holding an
# .air.toml with two rules, on the cgroup2, pidns and pgroup rungs, without Go:
#  - a .css change runs the css rule's cmd and no build, although the main
#    build's include_ext lists css too: rules are checked before the main
#    filters (air runner/rule.go:10-12, matchRuleIndex);
#  - a .sql change under db/ runs the sql rule, although exclude_dir lists db
#    and include_ext does not list sql (air README, "Watch rules": rule
#    directories are watched even when listed in exclude_dir);
#  - a .go change runs the build, and no rule;
#  - the css rule's cmd leaves 'setsid sleep' behind: it ran in a box, which
#    is empty once the rule is over (found by a token in /proc/*/environ);
#  - SIGTERM: exit 0, nothing left.
# Usage: run_rules.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" run-rules
tok_base="nsrrules$$"

make_cgroup_parent nsreload-test-rules
install_cleanup

lines() { if [ -e "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
lines_at_least() { [ "$(lines "$1")" -ge "$2" ]; }

run_rung() {
	rung=$1
	tok="$tok_base-$rung"
	proj="$work/$rung/proj"
	ctl="$work/$rung/ctl"
	log="$work/$rung/log.json"
	mkdir -p "$proj/db" "$ctl"
	printf 'package main\n' >"$proj/main.go"
	printf 'body{}\n' >"$proj/style.css"
	printf 'select 1;\n' >"$proj/db/schema.sql"
	printf 'exec sleep 1000\n' >"$proj/app.sh"
	# $ctl is outside the watched tree: what the commands write there is no change.
	cat >"$proj/.air.toml" <<TOML
root = "."
tmp_dir = "tmp"

[build]
cmd = "echo build >> $ctl/builds && mkdir -p tmp && cp app.sh tmp/app.sh"
full_bin = "sh tmp/app.sh"
include_ext = ["go", "css"]
exclude_dir = ["tmp", "db"]
delay = 100

[[build.rules]]
name = "css"
include_ext = ["css"]
cmd = "echo css >> $ctl/rules; RULETOK=$tok setsid sleep 1000 & echo \$! > $ctl/rule-child"
delay = 100

[[build.rules]]
name = "sql"
include_dir = ["db"]
include_ext = ["sql"]
cmd = "echo sql >> $ctl/rules"
delay = 100
TOML

	if [ "$rung" = cgroup2 ] && [ -z "$parent" ]; then
		echo "skip $rung: no writable cgroup v2"
		return
	fi
	(
		cd "$proj" || exit 125
		cgp=""
		[ "$rung" = cgroup2 ] && cgp="--cgroup-parent=$parent"
		# Bare nsreload: no 'run', no command line; everything else is the .air.toml's.
		# shellcheck disable=SC2086
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" $cgp --log-format=json --color=never --box=$rung \
			</dev/null >"$work/$rung/out.txt" 2>"$log"
	) &
	nsr_pid=$!

	# 1. The first build and run; no rule runs at start (air runs rules on changes only).
	if wait_for 10000 events_at_least run_start 1 && [ "$(lines "$ctl/builds")" = 1 ] &&
		[ "$(lines "$ctl/rules")" = 0 ]; then
		ok "$rung: first build and run, no rule"
	else
		bad "$rung: first build and run (builds $(lines "$ctl/builds"), rules $(lines "$ctl/rules"))"
	fi

	# 2. A .css change: the css rule, no build.
	echo 'p{}' >>"$proj/style.css"
	if wait_for 10000 lines_at_least "$ctl/rules" 1 && [ "$(cat "$ctl/rules")" = css ]; then
		ok "$rung: a .css change ran the css rule's cmd"
	else
		bad "$rung: a .css change: rules log '$(cat "$ctl/rules" 2>/dev/null)'"
	fi

	# 3. The rule's cmd ran in a box: what it left behind is gone once it is over.
	child=$(cat "$ctl/rule-child" 2>/dev/null)
	if [ -n "$child" ] && wait_for 5000 none_with_env "RULETOK=$tok"; then
		ok "$rung: the rule's background child (pid $child) is gone: the rule ran in a box"
	else
		bad "$rung: the rule's background child: pid '$child', $(count_env "RULETOK=$tok") left"
	fi

	# 4. A .sql change under db/ (in exclude_dir, not in include_ext): the sql rule, no build.
	echo 'select 2;' >>"$proj/db/schema.sql"
	if wait_for 10000 lines_at_least "$ctl/rules" 2 && [ "$(tail -n 1 "$ctl/rules")" = sql ]; then
		ok "$rung: a .sql change in an excluded dir ran the sql rule's cmd"
	else
		bad "$rung: a .sql change: rules log '$(cat "$ctl/rules" 2>/dev/null)'"
	fi

	# 5. A .go change: one build, and no rule. Any build of the .css or .sql change would
	# have come before it: the jobs run one at a time, in order.
	echo '// x' >>"$proj/main.go"
	if wait_for 10000 lines_at_least "$ctl/builds" 2 && wait_for 5000 events_at_least run_start 2; then
		sleep 0.3
		b=$(lines "$ctl/builds")
		r=$(lines "$ctl/rules")
		[ "$b" = 2 ] && [ "$r" = 2 ] && ok "$rung: a .go change built once; the rule changes built nothing" ||
			bad "$rung: after the .go change: $b builds (want 2), $r rule runs (want 2)"
	else
		bad "$rung: a .go change did not build (builds $(lines "$ctl/builds"))"
	fi

	# 6. SIGTERM: nsreload exits 0 and nothing of it is left.
	sigterm_ends_clean "$rung"
	if [ "$fail" != 0 ]; then
		echo "---- $rung log"
		tail -n 30 "$log"
	fi
}

for rung in cgroup2 pidns pgroup; do
	run_rung $rung
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
