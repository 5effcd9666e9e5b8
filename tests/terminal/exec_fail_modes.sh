#!/bin/bash
# `nsreload exec` that fails leaves the terminal's modes as they were, in a
# real terminal (tmux): a box that cannot be made (a cgroup parent that does
# not exist: exit 125, before the terminal is looked at) and a command that
# is not found (exit 127, after the box got the terminal). `stty -a` of the
# terminal after each is what it was before, and nothing is left.
# Usage: exec_fail_modes.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup exec-fail "$1"

no_box() {
	pane_cmd "$pane" "$dir" "\$N exec --box=cgroup2 --cgroup-parent=/nonexistent-nsreload-test -- true"
	expect_rc 125 "a box that cannot be made" || return
	ok "$label: a box that cannot be made exits 125"
}

not_found() {
	pane_cmd "$pane" "$dir" "\$N exec --box=$1 -- nsreload-test-no-such-command"
	expect_rc 127 "a command that is not found" || return
	ok "$label: a command that is not found exits 127"
}

case_begin exec-no-box cgroup2 && no_box
case_end
for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin exec-not-found "$rung" || continue
	not_found "$rung"
	case_end
done
term_finish
