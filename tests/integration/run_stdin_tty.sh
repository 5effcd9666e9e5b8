#!/bin/sh
# nsreload run --stdin on a terminal, on every rung, driven by
# tests/lib/ptyjob.py (a job-control shell on a new pseudo-terminal): lines
# typed reach the app, nothing is stopped by SIGTTIN, Ctrl-Z stops nsreload
# and the app and fg resumes both, a restart hands the terminal to the new
# run, and Ctrl-C ends the session in order (post_cmd, exit 0), with the
# terminal's modes as before and nothing left. Without --stdin, Ctrl-Z and fg
# keep the r key working. Usage: run_stdin_tty.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" stdin-tty
PTYJOB="$(cd "$(dirname "$0")/../lib" && pwd)/ptyjob.py"

skip_or_fail() { # a rung the machine must have is never skipped under NSRELOAD_TEST_REQUIRE
	case ",${NSRELOAD_TEST_REQUIRE:-}," in
	*",$1,"*) bad "$2 (required: $1)" ;;
	*) echo "skip $2" ;;
	esac
}
command -v python3 >/dev/null || {
	echo "skip: no python3"
	exit 77
}

make_cgroup_parent nsreload-test-stdintty
install_cleanup

# Kills what is left with token $1 (ours: it carries our token), after counting it.
survivors() {
	n=$(count_env "NSRELOAD_TEST_TOKEN=$1")
	for e in /proc/[0-9]*/environ; do
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "NSRELOAD_TEST_TOKEN=$1"; then
			p=${e#/proc/}
			kill -KILL "${p%/environ}" 2>/dev/null
		fi
	done
	echo "$n"
}

# project DIR: a line-reading app; post_cmd leaves a mark.
project() {
	p=$1
	mkdir -p "$p/src"
	cat >"$p/src/app.sh" <<'EOF'
[ -n "${APP_STTY:-}" ] && stty $APP_STTY
echo "app start" >>ctl.starts
while IFS= read -r line; do
	echo "$line" >>ctl.lines
	echo "got: $line"
done
echo "app eof" >>ctl.starts
exec sleep 100000
EOF
	cat >"$p/.air.toml" <<EOF
[build]
cmd = "mkdir -p tmp && cp src/app.sh tmp/app.sh"
full_bin = "APPMARK=$2 sh tmp/app.sh"
include_ext = ["sh"]
delay = 50
post_cmd = ["echo post >>ctl.post"]
EOF
}

# scenario NAME RUNG STEPS-FILE OPTIONS...: ptyjob runs bare nsreload in the project.
scenario() {
	name=$1
	rung=$2
	steps=$3
	shift 3
	tok="stdintty$$-$name"
	p="$work/$name"
	project "$p" "$tok"
	sed "s|@P@|$p|g; s|@TOK@|$tok|g" "$steps" >"$p.steps"
	(
		cd "$p" || exit 125
		[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
		NSRELOAD_TEST_TOKEN=$tok PTYJOB_OUT="$p.tty" python3 "$PTYJOB" "$p.steps" -- \
			"$NSR" --color=never --box="$rung" "$@" >"$p.result" 2>&1
	)
	rc=$?
	sed "s/^/    /" "$p.result"
	if [ "$rc" = 0 ]; then
		ok "$name: every step"
	else
		bad "$name: a step failed (terminal output in $p.tty)"
		tail -c 1500 "$p.tty" | sed "s/^/    | /"
	fi
	wait_for 10000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
	n=$(survivors "$tok")
	[ "$n" = 0 ] && ok "$name: no survivor" || bad "$name: $n survivors"
	if [ "$(grep -c '^post$' "$p/ctl.post" 2>/dev/null)" = 1 ]; then
		ok "$name: post_cmd ran once"
	else
		bad "$name: post_cmd ran $(grep -c '^post$' "$p/ctl.post" 2>/dev/null || echo 0) times"
	fi
}

# --stdin: lines, Ctrl-Z and fg, a restart, lines again, Ctrl-C.
cat >"$work/stdin.steps" <<'EOF'
wait [runner] running
lines @P@/ctl.starts 1 app start
send hello\n
lines @P@/ctl.lines 1 hello
state APPMARK=@TOK@ RS
send \x1a
stopped
state APPMARK=@TOK@ T
fg
send again\n
lines @P@/ctl.lines 1 again
state APPMARK=@TOK@ RS
touch @P@/src/more.sh # a change
lines @P@/ctl.starts 2 app start
send third\n
lines @P@/ctl.lines 1 third
send \x03
exit 0
lines @P@/ctl.post 1 post
EOF

# Without --stdin: the r key, Ctrl-Z and fg, the r key again, Ctrl-C.
cat >"$work/keys.steps" <<'EOF'
wait q+Enter quits
lines @P@/ctl.starts 1 app start
send r\n
lines @P@/ctl.starts 2 app start
send \x1a
stopped
state APPMARK=@TOK@ T
fg
state APPMARK=@TOK@ RS
send r\n
lines @P@/ctl.starts 3 app start
send \x03
exit 0
lines @P@/ctl.post 1 post
EOF

# --stdin, an app that changes the terminal's modes, nsreload ended by SIGTERM: the modes come back.
cat >"$work/modes.steps" <<'EOF'
wait [runner] running
lines @P@/ctl.starts 1 app start
send x\n
lines @P@/ctl.lines 1 x
signal TERM
exit 0
lines @P@/ctl.post 1 post
EOF

# --stdin, the terminal closed (a shell passes the hang-up on, as bash does).
cat >"$work/hangup.steps" <<'EOF'
wait [runner] running
send hello\n
lines @P@/ctl.lines 1 hello
hangup
gone
lines @P@/ctl.post 1 post
EOF

# --stdin, Ctrl-Z, bg (the reading app is stopped by SIGTTIN, as any background job), fg without SIGCONT
# (bash sends none to a job that runs): the next line reaches the app.
cat >"$work/bg.steps" <<'EOF'
wait [runner] running
send one\n
lines @P@/ctl.lines 1 one
send \x1a
stopped
bg
state APPMARK=@TOK@ T
fg
send two\n
lines @P@/ctl.lines 1 two
state APPMARK=@TOK@ RS
send \x03
exit 0
EOF

# --stdin from a file (not a terminal: what a pipe gets too): the lines reach the app as before, then its
# end of file.
piped() {
	rung=$1
	tok="stdintty$$-piped-$rung"
	p="$work/piped-$rung"
	project "$p" "$tok"
	(
		cd "$p" || exit 125
		[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
		printf 'a\nb\n' >"$p.in"
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" --color=never --box="$rung" --stdin <"$p.in" >"$p.out" 2>&1
	) &
	nsr_pid=$!
	if wait_for 10000 has_line "$p/ctl.starts" "app eof" && [ "$(cat "$p/ctl.lines")" = "$(printf 'a\nb')" ]; then
		ok "piped-$rung: both lines, then end of file"
	else
		bad "piped-$rung: lines $(tr '\n' ' ' <"$p/ctl.lines" 2>/dev/null)"
	fi
	kill -TERM "$nsr_pid"
	wait "$nsr_pid"
	rc=$?
	nsr_pid=""
	wait_for 10000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
	n=$(survivors "$tok")
	[ "$rc" = 0 ] && [ "$n" = 0 ] && ok "piped-$rung: exit 0, no survivor" || bad "piped-$rung: exit $rc, $n survivors"
}
has_line() { grep -qxF "$2" "$1" 2>/dev/null; }

for rung in cgroup2 cgroup2+pidns pidns pgroup; do
	case $rung in
	cgroup2*)
		if [ -z "$parent" ]; then
			skip_or_fail cgroup2 "$rung: no writable cgroup v2"
			continue
		fi
		;;
	esac
	piped "$rung"
	scenario "stdin-$rung" "$rung" "$work/stdin.steps" --stdin
	scenario "keys-$rung" "$rung" "$work/keys.steps"
	APP_STTY="-echo -icanon min 1" scenario "modes-$rung" "$rung" "$work/modes.steps" --stdin
	scenario "hangup-$rung" "$rung" "$work/hangup.steps" --stdin
	scenario "bg-$rung" "$rung" "$work/bg.steps" --stdin
done

# What a killed survivor's nsreload could not remove (empty cgroups) goes with our parent.
remove_cgroup_parent
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
