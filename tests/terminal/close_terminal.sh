#!/bin/bash
# Closing the terminal while nsreload runs (the SIGHUP path), in a real
# terminal (tmux), on every rung: `nsreload` (bare, with an .air.toml) whose
# app leaves a background child, and `nsreload exec -- sh` with the same;
# tmux kill-session closes the terminal; then nothing with the case's token
# is left, not even the pane's shell. Whether run's post_cmd ran is only a
# note (see run_case). `stty -a` cannot be compared: the terminal is gone.
# Usage: close_terminal.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup close "$1"

pane_closed() { ! tmx has-session -t "$pane" 2>/dev/null; }

# close WHAT: closes the pane's terminal and waits for every process of the case to end.
close() {
	tmx kill-session -t "$pane"
	expect "the tmux session is still there" wait_for "$TTY_WAIT_MS" pane_closed || return 1
	if ! wait_for "$TTY_WAIT_MS" no_token_left "$tok"; then
		bad "$label: $1: survivors after the terminal closed: $(survivors "$tok" | tr '\n' ' ')"
		return 1
	fi
	return 0
}

run_case() {
	cat >"$proj/app.sh" <<APP
echo started >>$dir/started
sleep 1000 &
exec sleep 1000
APP
	air_toml "$1" "sh ./app.sh" 2s
	pane_cmd "$pane" "$dir" "\$N 2>$dir/log"
	expect "the app does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	close run || return
	# Not a failure: the hangup reaches post_cmd too (it is in the terminal's
	# foreground group), and the shell's own SIGHUP on exit is a second signal,
	# which kills every box at once (docs/run.md, Exit).
	if [ -e "$dir/post" ]; then
		echo "note $label: run: post_cmd ran after the terminal closed"
	else
		echo "note $label: run: post_cmd did not run to its end after the terminal closed: $(grep post_cmd "$dir/log")"
	fi
	ok "$label: run: closing the terminal ends nsreload, the app and the shell"
}

exec_case() {
	pane_cmd "$pane" "$dir" "\$N exec --box=$1 -- sh -c 'echo started >$dir/started; sleep 1000 & exec sleep 1000'"
	expect "the command does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	close exec || return
	ok "$label: exec: closing the terminal ends nsreload, the command and the shell"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin close-run "$rung" || continue
	run_case "$rung"
	case_end closed
	case_begin close-exec "$rung" || continue
	exec_case "$rung"
	case_end closed
done
term_finish
