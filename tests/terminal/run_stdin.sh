#!/bin/bash
# `nsreload --stdin` (bare nsreload in a directory holding an .air.toml) in a
# real terminal (tmux), on every rung: the app reads lines from the terminal
# and writes "got: LINE" to a file; two typed lines arrive, in order, and the
# app is never stopped by SIGTTIN; Ctrl-C ends the session in order:
# post_cmd runs, nsreload exits 0 well before the stop timeout would matter.
# After an edit, the restarted app gets the next typed line. And vi as the
# app (--stdin): it shows the file, `:q!` ends it, Ctrl-C exits 0.
# And a Ctrl-C that nsreload hears only after the app has died of it (its
# sentinel held stopped across the key) still ends the session in order.
# Then nothing with the case's token is left and `stty -a` of the terminal is
# what it was before.
# Usage: run_stdin.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup run-stdin "$1"
find_vi

starts_at_least() { [ "$(grep -c . "$dir/started" 2>/dev/null)" -ge "$1" ]; }
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
	air_toml "$1" "sh ./app.sh" 20s
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
	# A restart hands the terminal to the new run.
	echo "# an edit" >>"$proj/app.sh"
	expect "an edit does not restart the app" wait_for "$TTY_WAIT_MS" starts_at_least 2 || return
	pane_type "$pane" "line-after-restart"
	expect "after a restart, a typed line does not reach the new app" wait_for "$TTY_WAIT_MS" got_line line-after-restart || return
	expect "after a restart, a process of the box is stopped" not_stopped || return
	pane_keys "$pane" C-c
	# Within TTY_WAIT_MS (15 s), under the 20 s stop timeout: an app left stopped fails here.
	expect_rc 0 "Ctrl-C" || return
	expect "post_cmd did not run" file_exists "$dir/post" || return
	ok "$label: typed lines reach the app, and the next one after a restart, Ctrl-C runs post_cmd and exits 0"
}

# A full-screen app under --stdin: vi shows the file (the terminal is its
# own), :q! ends it, Ctrl-C then ends nsreload with exit 0; stty -a (checked
# by case_end) shows that raw mode was undone.
vi_scenario() {
	local content=the-app-file-says-hello
	echo "$content" >"$proj/file.txt"
	air_toml "$1" "$VI -u NONE -i NONE -n file.txt" 20s
	pane_cmd "$pane" "$dir" "\$N --stdin"
	if ! expect "vi does not show the file" pane_wait "$pane" "^$content"; then
		stopped_note
		return
	fi
	pane_type "$pane" ":q!"
	expect "after :q!, the screen still shows vi" pane_wait_gone "$pane" "^$content" || return
	pane_keys "$pane" C-c
	expect_rc 0 "Ctrl-C after vi ended" || return
	expect "post_cmd did not run" file_exists "$dir/post" || return
	ok "$label: vi under --stdin shows the file, :q! ends it, Ctrl-C exits 0"
}

# The sentinel (comm nsreload-tty, tty.h) that shares the app's group: $sentinel.
find_sentinel() {
	local p
	for p in $(token_pids "$tok"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nsreload-tty ]; then
			sentinel=$p
			return 0
		fi
	done
	return 1
}
sentinel_stopped() { [ "$(awk '{print $3}' "/proc/$sentinel/stat" 2>/dev/null)" = T ]; }

# Ctrl-C reaches the app's group, the app and the sentinel at once; the order in which they act on it is the
# scheduler's. Here the sentinel is held stopped (SIGSTOP) until the app has died of the Ctrl-C and nsreload
# has said so: the sentinel, out of the app's group by then, reports it late, and nsreload must still quit in
# order (post_cmd, exit 0). On the pgroup rung the kill of the app's box used to take the sentinel with it.
late_scenario() {
	cat >"$proj/app.sh" <<APP
echo started >>$dir/started
while IFS= read -r line; do echo "got: \$line"; done
APP
	air_toml "$1" "sh ./app.sh" 20s
	pane_cmd "$pane" "$dir" "\$N --stdin"
	expect "the app does not start" wait_for "$TTY_WAIT_MS" file_exists "$dir/started" || return
	expect "no sentinel (nsreload-tty) runs" wait_for "$TTY_WAIT_MS" find_sentinel || return
	kill -STOP "$sentinel"
	expect "the sentinel does not stop" wait_for "$TTY_WAIT_MS" sentinel_stopped || return
	pane_keys "$pane" C-c
	expect "the app does not die of the Ctrl-C" pane_wait "$pane" 'killed by signal 2' || return
	kill -CONT "$sentinel" 2>/dev/null
	expect_rc 0 "Ctrl-C heard after the app's death" || return
	expect "post_cmd did not run" file_exists "$dir/post" || return
	ok "$label: a Ctrl-C reported after the app died of it runs post_cmd and exits 0"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	if case_begin run-stdin "$rung"; then
		scenario "$rung"
		case_end
	fi
	if case_begin run-stdin-late "$rung"; then
		late_scenario "$rung"
		case_end
	fi
	if [ -n "$VI" ] && case_begin run-stdin-vi "$rung"; then
		vi_scenario "$rung"
		case_end
	fi
done
term_finish
