#!/bin/bash
# Ctrl-Z and `fg` under `nsreload` (bare, with an .air.toml) in a real
# terminal (tmux), on every rung, in both of run's ways with a terminal:
#   keys    (no --stdin): Ctrl-Z stops nsreload (the shell shows "Stopped"),
#           `fg` resumes it: r+Enter then rebuilds and restarts the app, and
#           Ctrl-C ends it in order (post_cmd ran, exit 0);
#   stdin   (--stdin, a line-reading app): a typed line arrives; Ctrl-Z,
#           "Stopped"; `fg`: a line typed then arrives too; Ctrl-C ends it in
#           order (post_cmd ran, exit 0).
# What the app does while nsreload is stopped is not checked (docs/run.md
# says). Then nothing with the case's token is left and `stty -a` of the
# terminal is what it was before.
# Usage: run_suspend.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup run-suspend "$1"

got_line() { grep -qxF "got: $1" "$dir/got" 2>/dev/null; }
starts_at_least() { [ "$(grep -c . "$dir/started" 2>/dev/null)" -ge "$1" ]; }

# project RUNG: the .air.toml and the app: it reads lines and writes "got: LINE".
project() {
	cat >"$proj/app.sh" <<APP
echo started >>$dir/started
while IFS= read -r line; do
	echo "got: \$line" >>$dir/got
done
exec sleep 1000
APP
	air_toml "$1" "sh ./app.sh" 20s
}

# quit: Ctrl-C ends nsreload in order (post_cmd ran, exit 0).
quit() {
	pane_keys "$pane" C-c
	expect_rc 0 "Ctrl-C after fg" || return 1
	expect "post_cmd did not run" file_exists "$dir/post" || return 1
}

keys_case() {
	project "$1"
	pane_cmd "$pane" "$dir" "\$N"
	expect "the app does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	expect "nsreload does not offer its keys" pane_wait "$pane" 'r\+Enter' || return
	pane_keys "$pane" C-z
	expect_stopped "Ctrl-Z" || return
	pane_cmd "$pane" "$dir" "fg"
	pane_type "$pane" "r"
	expect "after fg, r+Enter does not restart the app" wait_for "$TTY_WAIT_MS" starts_at_least 2 || return
	quit || return
	ok "$label: Ctrl-Z shows Stopped, fg resumes (r+Enter restarts), Ctrl-C runs post_cmd and exits 0"
}

stdin_case() {
	project "$1"
	pane_cmd "$pane" "$dir" "\$N --stdin"
	expect "the app does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	pane_type "$pane" "line-before-suspend"
	expect "a typed line does not reach the app" wait_for "$TTY_WAIT_MS" got_line line-before-suspend || return
	pane_keys "$pane" C-z
	expect_stopped "Ctrl-Z" || return
	pane_cmd "$pane" "$dir" "fg"
	pane_type "$pane" "line-after-fg"
	expect "after fg, a typed line does not reach the app" wait_for "$TTY_WAIT_MS" got_line line-after-fg || return
	quit || return
	ok "$label: --stdin: Ctrl-Z shows Stopped, fg resumes, input reaches the app, Ctrl-C runs post_cmd and exits 0"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	if case_begin suspend-keys "$rung"; then
		keys_case "$rung"
		case_end
	fi
	if case_begin suspend-stdin "$rung"; then
		stdin_case "$rung"
		case_end
	fi
done
term_finish
