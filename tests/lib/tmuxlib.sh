# shellcheck shell=bash
# tmuxlib.sh - drives a real terminal for the terminal tests (sourced by bash, never run).
#
# Every test run has its own tmux server (tmux -L nsrtest$$, no configuration
# file, its socket under the test's own TMUX_TMPDIR), so that no other tmux
# server is ever touched. A pane runs a known
# shell: `env -i` with HOME, PATH and TERM=xterm-256color, then
# `bash --rcfile RC --noprofile -i`, where RC sets a marker prompt, exports the
# test's token and appends every command's exit status to a file (one line per
# prompt): that file, not the screen, says when a command has ended and how,
# since a stopped job, `fg` and typed-ahead lines all make prompts too.
#
# Nothing here sleeps for a fixed time: every wait polls capture-pane (or a
# file) against a deadline, generous enough for a loaded two-core CI machine.
#
# The second half is the frame every tests/terminal/*.sh script shares:
# term_setup (arguments, skip or fail without tmux, the cgroup parent, the
# clean-up trap), rung_available, case_begin/case_end around one scenario on
# one rung (a fresh pane, `stty -a` before and after, nothing survives) and
# term_finish (the summary and the exit status: 77 when everything skipped).
#
# Needs wait_for and make_cgroup_parent from testlib.sh.

# air_toml RUNG FULL_BIN STOP_TIMEOUT: the test project's $proj/.air.toml: no build, the app FULL_BIN, a
# post_cmd that leaves $dir/post, on RUNG.
air_toml() {
	cat >"$proj/.air.toml" <<TOML
root = "."
tmp_dir = "tmp"
[build]
cmd = "true"
full_bin = "$2"
include_ext = ["sh"]
post_cmd = ["echo post >>$dir/post"]
[box]
mode = "$1"
stop_timeout = "$3"
TOML
}

TMUX_SOCK="nsrtest$$"
# A wait's deadline in milliseconds (the environment can stretch it).
TTY_WAIT_MS=${NSRELOAD_TTY_WAIT_MS:-15000}
unset TMUX TMUX_PANE

tmx() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }

# pane_start NAME DIR TOKEN CWD: a window NAME in a session of its own, whose
# shell exports NSRT_TOKEN=TOKEN (not in the shell's own environ: only the
# processes it starts carry it) and starts in CWD. Its status file is
# DIR/status; \$N in it is the nsreload under test, and NSRELOAD_CGROUP_PARENT
# the test's own cgroup (when there is one). False when the first prompt does
# not come.
pane_start() {
	local name=$1 dir=$2 token=$3 cwd=$4
	mkdir -p "$dir" "$cwd"
	: >"$dir/status"
	cat >"$dir/rc" <<RC
PS1='nsrp\$ '
PROMPT_COMMAND='echo \$? >>$dir/status'
HISTFILE=$dir/history
export NSRT_TOKEN=$token
N=$NSR
${parent:+export NSRELOAD_CGROUP_PARENT=$parent}
cd $cwd
RC
	tmx new-session -d -x 120 -y 40 -s "$name" \
		"env -i HOME=$dir PATH=$PATH TERM=xterm-256color LANG=C.UTF-8 bash --rcfile $dir/rc --noprofile -i" ||
		return 1
	tmx set-option -t "$name" remain-on-exit off >/dev/null 2>&1
	wait_for "$TTY_WAIT_MS" pane_has_status "$dir" 1
}

# The number of prompts the shell of DIR has shown.
prompts() { wc -l <"$1/status" 2>/dev/null || echo 0; }
pane_has_status() { [ "$(prompts "$1")" -ge "$2" ]; }

# pane_capture NAME: the screen as text, wrapped lines joined.
pane_capture() { tmx capture-pane -p -J -t "$1" 2>/dev/null; }
# pane_show NAME: the screen, indented, without its trailing empty lines, for a FAIL message.
pane_show() {
	pane_capture "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' | sed 's/^/    | /'
}
pane_matches() { pane_capture "$1" | grep -Eq -- "$2"; }
pane_lacks() { ! pane_matches "$1" "$2"; }
# pane_count NAME REGEX: how many lines of the screen match REGEX.
pane_count() { pane_capture "$1" | grep -Ec -- "$2"; }
pane_count_at_least() { [ "$(pane_count "$1" "$2")" -ge "$3" ]; }

# pane_wait NAME REGEX: true as soon as the screen shows a line matching REGEX.
pane_wait() { wait_for "$TTY_WAIT_MS" pane_matches "$1" "$2"; }
pane_wait_gone() { wait_for "$TTY_WAIT_MS" pane_lacks "$1" "$2"; }

# pane_keys NAME KEY...: tmux key names (Enter, C-c, C-z, C-d, Escape).
pane_keys() {
	local name=$1
	shift
	tmx send-keys -t "$name" "$@"
}
# pane_type NAME TEXT: TEXT as typed, literally, then Enter.
pane_type() {
	tmx send-keys -t "$1" -l -- "$2" && tmx send-keys -t "$1" Enter
}

# pane_cmd NAME DIR CMD: types CMD at the shell's prompt and remembers how
# many prompts there were, for pane_wait_rc.
pane_cmd() {
	mark=$(prompts "$2")
	pane_type "$1" "$3"
}
# pane_wait_rc DIR [MS]: waits for the next prompt after the mark and sets
# rc to the exit status it recorded; false (rc=none) when none comes.
pane_wait_rc() {
	local want=$((mark + 1))
	if wait_for "${2:-$TTY_WAIT_MS}" pane_has_status "$1" "$want"; then
		rc=$(sed -n "${want}p" "$1/status")
		mark=$want
		return 0
	fi
	rc=none
	return 1
}

# stty_snapshot NAME DIR FILE: `stty -a` of the pane's terminal, from its own
# shell, into FILE. False when the shell does not answer.
stty_snapshot() {
	pane_cmd "$1" "$2" "stty -a >$3 2>&1" && pane_wait_rc "$2" && [ "$rc" = 0 ]
}

# Pids of the processes whose environment holds NSRT_TOKEN=$1 (exactly), one a line.
token_pids() {
	grep -lsxzF "NSRT_TOKEN=$1" /proc/[0-9]*/environ 2>/dev/null | sed -e 's|^/proc/||' -e 's|/environ$||'
}
# survivors TOKEN: the processes left with the token, one "pid comm" a line.
survivors() {
	local p
	for p in $(token_pids "$1"); do
		echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"
	done
}
no_token_left() { [ -z "$(token_pids "$1")" ]; }
# token_has_comm TOKEN COMM: a process with the token runs COMM.
token_has_comm() {
	local p
	for p in $(token_pids "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && return 0
	done
	return 1
}

# kill_token TOKEN: ends every process with the token. The nsreload ones
# first get TERM (and CONT, should they be stopped) so that they empty their
# boxes; then whatever is left is killed, until none is left.
kill_token() {
	local tok=$1 p i
	for p in $(token_pids "$tok"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nsreload ]; then
			kill -TERM "$p" 2>/dev/null
			kill -CONT "$p" 2>/dev/null
		fi
	done
	wait_for 5000 no_token_left "$tok" && return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		for p in $(token_pids "$tok"); do
			kill -KILL "$p" 2>/dev/null
		done
		wait_for 1000 no_token_left "$tok" && return 0
	done
	return 1
}

# tmux_available: true when tmux can be run at all.
tmux_available() { command -v tmux >/dev/null 2>&1; }

# find_vi: $VI, the first of vi, vim.tiny and vim; false (after saying
# "skip", or FAIL when NSRELOAD_TEST_REQUIRE is set) when there is none.
find_vi() {
	local v
	VI=""
	for v in vi vim.tiny vim; do
		if command -v "$v" >/dev/null 2>&1; then
			VI=$(command -v "$v")
			return 0
		fi
	done
	if [ -n "${NSRELOAD_TEST_REQUIRE:-}" ]; then
		bad "no vi, and NSRELOAD_TEST_REQUIRE is set (scripts/install-deps.sh installs vim-tiny)"
	else
		echo "skip: no vi (scripts/install-deps.sh installs vim-tiny)"
	fi
	return 1
}

# tmux_stop: the test's own tmux server, and nothing else.
tmux_stop() { tmx kill-server >/dev/null 2>&1 || true; }

# ---- the frame of a terminal test ----------------------------------------------------------------------

bad() { fail=$((fail + 1)); case_ok=0; echo "FAIL $1"; }

required() { case ",${NSRELOAD_TEST_REQUIRE:-}," in *",$1,"*) return 0 ;; esac; return 1; }

# term_setup NAME NSRELOAD: checks the binary, skips (77) without tmux unless
# NSRELOAD_TEST_REQUIRE is set (then fails), makes $work and the test's own
# cgroup ($parent) and installs the clean-up.
term_setup() {
	test_begin "$2"
	if ! tmux_available; then
		if [ -n "${NSRELOAD_TEST_REQUIRE:-}" ]; then
			echo "FAIL tmux is not installed and NSRELOAD_TEST_REQUIRE is set (scripts/install-deps.sh installs it)"
			exit 1
		fi
		echo "skip: tmux is not installed (scripts/install-deps.sh installs it)"
		exit 77
	fi
	ncase=0
	tokens=""
	tok_base="nsrtty$$"
	work=$(mktemp -d "/tmp/nsreload-term-$1.XXXXXX")
	# The server's socket lives in $work too, and goes with it.
	export TMUX_TMPDIR="$work"
	make_cgroup_parent "nsreload-test-term-$1"
	trap term_cleanup EXIT
	trap 'term_cleanup; exit 130' INT
	trap 'term_cleanup; exit 143' TERM
}

# Everything this test started: its processes (by token), its tmux server,
# the cgroups below its own, its files.
term_cleanup() {
	local t
	for t in $tokens; do
		kill_token "$t"
	done
	tmux_stop
	remove_cgroup_parent
	rm -rf "$work"
}

# rung_available RUNG: true when nsreload can make a box of RUNG here; else
# says "skip" (or FAIL, when NSRELOAD_TEST_REQUIRE names the rung).
rung_available() {
	local why=""
	case $1 in
	cgroup2*) [ -z "$parent" ] && why="no writable cgroup v2" ;;
	esac
	if [ -z "$why" ] && ! NSRELOAD_CGROUP_PARENT=$parent "$NSR" exec --box="$1" -- true >/dev/null 2>&1; then
		why=$(NSRELOAD_CGROUP_PARENT=$parent "$NSR" exec --box="$1" -- true 2>&1 | head -n 1)
	fi
	[ -z "$why" ] && return 0
	case $1 in cgroup2+pidns) need=cgroup2 ;; *) need=$1 ;; esac
	if required "$1" || required "$need"; then
		bad "rung $1 is required (NSRELOAD_TEST_REQUIRE) but not available: $why"
	else
		echo "skip rung $1: $why"
	fi
	return 1
}

# case_begin SCENARIO RUNG: a fresh pane ($pane) whose shell starts in $proj,
# with its own token ($tok) and directory ($dir), and `stty -a` taken.
# False (after a FAIL) when the shell does not come up.
case_begin() {
	ncase=$((ncase + 1))
	label="$1 [$2]"
	tok="$tok_base-$1-$2"
	tokens="$tokens $tok"
	dir="$work/$1-${2/+/-}"
	proj="$dir/proj"
	pane="c$ncase"
	case_ok=1
	if ! pane_start "$pane" "$dir" "$tok" "$proj"; then
		bad "$label: the pane's shell did not give a prompt"
		case_end
		return 1
	fi
	if ! stty_snapshot "$pane" "$dir" "$dir/stty.before"; then
		bad "$label: 'stty -a' in the pane did not answer"
		case_end
		return 1
	fi
	return 0
}

# expect WHAT COMMAND...: runs COMMAND (a wait); on failure, FAIL with WHAT
# and the screen as it is.
expect() {
	local what=$1
	shift
	"$@" && return 0
	bad "$label: $what; the pane shows:"
	pane_show "$pane"
	return 1
}
# expect_rc WANT WHAT: the command typed last ended (a prompt came) with status WANT.
expect_rc() {
	if ! pane_wait_rc "$dir"; then
		bad "$label: $2: no prompt came back; the pane shows:"
		pane_show "$pane"
		return 1
	fi
	if [ "$rc" != "$1" ]; then
		bad "$label: $2: exit status $rc, not $1; the pane shows:"
		pane_show "$pane"
		return 1
	fi
	return 0
}

# expect_stopped WHAT: the job typed last was stopped: the shell says
# "Stopped" and its prompt comes back with 128+SIGSTOP, SIGTSTP, SIGTTIN or
# SIGTTOU (however the program under test chose to stop itself).
expect_stopped() {
	expect "$1: the shell does not show 'Stopped'" pane_wait "$pane" 'Stopped' || return 1
	if ! pane_wait_rc "$dir"; then
		bad "$label: $1: no prompt came back after 'Stopped'; the pane shows:"
		pane_show "$pane"
		return 1
	fi
	case $rc in 147 | 148 | 149 | 150) return 0 ;; esac
	bad "$label: $1: the shell's prompt after 'Stopped' says exit status $rc, not a stop (147-150)"
	pane_show "$pane"
	return 1
}

# case_end [closed]: when the scenario went well so far, nothing may be left
# and (unless the terminal was closed) `stty -a` must be what it was.
# Whatever happened, every process of the case is ended and its pane closed.
case_end() {
	if [ "$case_ok" = 1 ]; then
		if wait_for 5000 no_token_left "$tok"; then
			ok "$label: nothing survives"
		else
			bad "$label: survivors: $(survivors "$tok" | tr '\n' ' ')"
		fi
	fi
	if [ "$case_ok" = 1 ] && [ "${1:-}" != closed ]; then
		if stty_snapshot "$pane" "$dir" "$dir/stty.after" && cmp -s "$dir/stty.before" "$dir/stty.after"; then
			ok "$label: stty -a unchanged"
		else
			bad "$label: stty -a changed:"
			diff "$dir/stty.before" "$dir/stty.after" | sed 's/^/    /'
		fi
	fi
	if ! kill_token "$tok"; then
		bad "$label: cannot end its processes: $(survivors "$tok" | tr '\n' ' ')"
	fi
	tmx kill-session -t "$pane" >/dev/null 2>&1 || true
}

term_finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -gt 0 ] && exit 1
	[ "$pass" = 0 ] && exit 77
	exit 0
}

# shellcheck disable=SC2034 # used by the scripts that source this file
RUNGS="cgroup2 pidns cgroup2+pidns pgroup"
