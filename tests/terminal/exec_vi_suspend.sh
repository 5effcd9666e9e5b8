#!/bin/bash
# A full-screen program under `nsreload exec -- vi`, in a real terminal
# (tmux), on every rung: vi shows the file; Ctrl-Z stops it and the shell
# shows "Stopped" with its prompt back; `fg` gives the terminal back and vi
# redraws the file; `:q!` ends nsreload with exit 0. Then nothing with the
# case's token is left and `stty -a` of the terminal is what it was before
# (vi's raw mode undone).
# Usage: exec_vi_suspend.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/tmuxlib.sh"
term_setup exec-vi "$1"

find_vi || term_finish
content='the-file-says-hello-to-the-terminal'

scenario() {
	echo "$content" >"$proj/file.txt"
	# No vimrc, no viminfo, no swap file: only the terminal is tested.
	pane_cmd "$pane" "$dir" "\$N exec --box=$1 -- $VI -u NONE -i NONE -n file.txt"
	expect "vi does not show the file" pane_wait "$pane" "^$content" || return
	pane_keys "$pane" C-z
	expect_stopped "Ctrl-Z" || return
	pane_cmd "$pane" "$dir" "fg"
	expect "after fg, vi does not redraw the file" pane_wait "$pane" "^$content" || return
	expect "after fg, the screen still shows the shell" pane_wait_gone "$pane" 'Stopped' || return
	pane_type "$pane" ":q!"
	expect_rc 0 ":q! after fg" || return
	ok "$label: Ctrl-Z shows Stopped, fg redraws vi, :q! exits 0"
}

for rung in $RUNGS; do
	rung_available "$rung" || continue
	case_begin exec-vi "$rung" || continue
	scenario "$rung"
	case_end
done
term_finish
