#!/bin/bash
# `nsreload --stdin` (bare nsreload in a directory holding an .air.toml) in a
# real terminal (tmux), on every rung: the app reads lines from the terminal
# and writes "got: LINE" to a file; two typed lines arrive, in order, and the
# app is never stopped by SIGTTIN; Ctrl-C ends the session in order:
# post_cmd runs, nsreload exits 0 well before the stop timeout would matter.
# Then nothing with the case's token is left and `stty -a` of the terminal is
# what it was before.
# Usage: run_stdin.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup run-stdin "$1"

got_line() { grep -qxF "got: $1" "$dir/got" 2>/dev/null; }
not_stopped() { # no process of the case is in state T (stopped by SIGTTIN or otherwise)
	local p
	for p in $(token_pids "$tok"); do
		[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = T ] && return 1
	done
	return 0
}

stopped_note() {
	local p
	for p in $(token_pids "$tok"); do
		[ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = T ] &&
			echo "    stopped: pid $p ($(cat "/proc/$p/comm" 2>/dev/null)), state T"
	done
}

scenario() {
	cat >"$proj/app.sh" <<APP
echo started >>$dir/started
while IFS= read -r line; do
	echo "got: \$line"
	echo "got: \$line" >>$dir/got
done
echo "eof" >>$dir/got
APP
	cat >"$proj/.air.toml" <<TOML
root = "."
tmp_dir = "tmp"
[build]
cmd = "true"
full_bin = "sh ./app.sh"
include_ext = ["sh"]
post_cmd = ["echo post >>$dir/post"]
[box]
mode = "$1"
stop_timeout = "20s"
TOML
	pane_cmd "$pane" "$dir" "\$N --stdin"
	expect "the app does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	pane_type "$pane" "first-typed-line"
	if ! expect "a typed line does not reach the app" wait_for "$TTY_WAIT_MS" got_line first-typed-line; then
		stopped_note
		return
	fi
	pane_type "$pane" "second-typed-line"
	expect "a second typed line does not reach the app" wait_for "$TTY_WAIT_MS" got_line second-typed-line || return
	expect "a process of the box is stopped" not_stopped || return
	pane_keys "$pane" C-c
	# Within TTY_WAIT_MS (15 s), under the 20 s stop timeout: an app left stopped fails here.
	expect_rc 0 "Ctrl-C" || return
	expect "post_cmd did not run" file_exists "$dir/post" || return
	ok "$label: typed lines reach the app, Ctrl-C runs post_cmd and exits 0"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin run-stdin "$rung" || continue
	scenario "$rung"
	case_end
done
term_finish
