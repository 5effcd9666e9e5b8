#!/bin/bash
# A double Ctrl-C under `nsreload` (bare, with an .air.toml) in a real
# terminal (tmux), on every rung, with an app that ignores INT, TERM and HUP
# and a stop timeout (60 s) far longer than the test waits: the first Ctrl-C
# starts the exit sequence (post_cmd runs, the app is asked to stop and does
# not); then three more (in one burst) kill every box at once, nsreload
# exits 0 (a requested quit, however many signals it took) and its log says
# that the box was killed. Then nothing with the case's token is left and `stty -a` of the
# terminal is what it was before.
# Usage: run_double_int.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup double-int "$1"

scenario() {
	cat >"$proj/app.sh" <<APP
trap '' INT TERM HUP
echo started >>$dir/started
while :; do sleep 1; done
APP
	air_toml "$1" "sh ./app.sh" 60s
	pane_cmd "$pane" "$dir" "\$N 2>$dir/log"
	expect "the app does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	pane_keys "$pane" C-c
	expect "the first Ctrl-C does not run post_cmd" wait_for "$TTY_WAIT_MS" file_exists "$dir/post" || return
	before=$(wc -l <"$dir/log")
	# Three at once: however many signals a quit took, it exits 0.
	pane_keys "$pane" C-c C-c C-c
	if ! pane_wait_rc "$dir" || [ "$rc" != 0 ]; then
		bad "$label: the next Ctrl-Cs: exit status $rc, not 0; nsreload's log:"
		sed 's/^/    | /' "$dir/log"
		return
	fi
	if ! tail -n +"$((before + 1))" "$dir/log" | grep -qi 'kill'; then
		bad "$label: the next Ctrl-Cs: the log does not say that it killed; nsreload's log:"
		sed 's/^/    | /' "$dir/log"
		return
	fi
	ok "$label: the next Ctrl-Cs kill, exit 0 and the log says so"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin double-int "$rung" || continue
	scenario "$rung"
	case_end
done
term_finish
