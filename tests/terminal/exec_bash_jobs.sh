#!/bin/bash
# Job control of an interactive shell under `nsreload exec -- bash`, in a
# real terminal (tmux), on every rung (on pgroup without --no-pin): in
# `bash --norc -i`, `sleep 50` then Ctrl-C gives the inner prompt back; a
# command typed then answers (`echo answer-$RANDOM-token` prints its
# answer); `cat` then gets its input (a typed line comes back) and Ctrl-D
# ends it; `exit` ends nsreload with exit 0. Then nothing with the case's
# token is left and `stty -a` of the terminal is what it was before.
# Usage: exec_bash_jobs.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup exec-bash "$1"

# The inner shell's prompt (its default: PS1 is not exported), and how many it has shown.
inner='^bash-[0-9.]+[#$]'
prompts_at_least() { pane_count_at_least "$pane" "$inner" "$1"; }
twice() { pane_count_at_least "$pane" "^$1\$" 2; }
no_sleep() { ! token_has_comm "$tok" sleep; }

scenario() {
	pane_cmd "$pane" "$dir" "\$N exec --box=$1 -- bash --norc -i"
	expect "the inner bash shows no prompt" wait_for "$TTY_WAIT_MS" prompts_at_least 1 || return
	pane_type "$pane" "sleep 50"
	expect "sleep 50 does not start" wait_for "$TTY_WAIT_MS" token_has_comm "$tok" sleep || return
	pane_keys "$pane" C-c
	expect "Ctrl-C does not end sleep 50" wait_for "$TTY_WAIT_MS" no_sleep || return
	expect "after Ctrl-C, the inner bash shows no new prompt" wait_for "$TTY_WAIT_MS" prompts_at_least 2 || return
	pane_type "$pane" 'echo answer-$RANDOM-token'
	expect "after Ctrl-C, 'echo answer-\$RANDOM-token' does not answer" pane_wait "$pane" '^answer-[0-9]+-token$' || return
	pane_type "$pane" 'cat'
	expect "cat does not start" wait_for "$TTY_WAIT_MS" token_has_comm "$tok" cat || return
	pane_type "$pane" "line-for-cat"
	expect "a line typed to cat does not come back" wait_for "$TTY_WAIT_MS" twice line-for-cat || return
	pane_keys "$pane" C-d
	expect "Ctrl-D does not end cat" wait_for "$TTY_WAIT_MS" prompts_at_least 4 || return
	pane_type "$pane" 'exit'
	expect_rc 0 "exit from the inner bash" || return
	ok "$label: sleep, Ctrl-C, a command that answers, cat with input, exit 0"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin exec-bash "$rung" || continue
	scenario "$rung"
	case_end
done
term_finish
