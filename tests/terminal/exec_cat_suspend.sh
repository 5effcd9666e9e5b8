#!/bin/bash
# Ctrl-Z, `fg` and input under `nsreload exec -- cat`, in a real terminal
# (tmux), on every rung: a typed line comes back from cat; Ctrl-Z stops the
# job and the shell shows "Stopped" with its prompt back; `fg` continues it
# and a line typed then comes back from cat too; Ctrl-D ends it with exit 0.
# Then nothing with the case's token is left and `stty -a` of the terminal is
# what it was before.
# Usage: exec_cat_suspend.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup exec-cat "$1"

# twice LINE: the line is on the screen twice: the terminal's echo and cat's answer.
twice() { pane_count_at_least "$pane" "^$1\$" 2; }

scenario() {
	pane_cmd "$pane" "$dir" "\$N exec --box=$1 -- cat"
	expect "cat does not start" wait_for "$TTY_WAIT_MS" token_has_comm "$tok" cat || return
	pane_type "$pane" "before-suspend-line"
	expect "a typed line does not come back from cat" wait_for "$TTY_WAIT_MS" twice before-suspend-line || return
	pane_keys "$pane" C-z
	expect_stopped "Ctrl-Z" || return
	pane_cmd "$pane" "$dir" "fg"
	pane_type "$pane" "after-fg-line"
	expect "after fg, a typed line does not come back from cat" wait_for "$TTY_WAIT_MS" twice after-fg-line || return
	pane_keys "$pane" C-d
	expect_rc 0 "Ctrl-D after fg" || return
	ok "$label: Ctrl-Z shows Stopped, fg continues, input reaches cat, Ctrl-D exits 0"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin exec-cat "$rung" || continue
	scenario "$rung"
	case_end
done
term_finish
