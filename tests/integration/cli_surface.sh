#!/bin/sh
# The command line as a user meets it, on the built binary:
#   version   -V, --version and 'version' print the version
#   help      every command's --help (and 'help CMD') exits 0 with its usage
#   suggest   an unknown option or command exits 2 and names the nearest one
#   forms     --flag value, --flag=value, '--' and the old spellings (--signal)
#             mean what the new ones do, in config and in exec
#   complete  'nsreload completion bash|zsh|fish' loads in its shell (zsh and
#             fish only where installed), and an unknown shell exits 2
# Usage: cli_surface.sh NSRELOAD [FIXTURE_DIR]
set -u
NSR=$1
case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
if [ ! -x "$NSR" ]; then
	echo "$NSR: not an executable"
	exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # check NAME COMMAND...
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

# run NAME WANT-RC COMMAND...: runs it with its output in $out (stdout and stderr).
run() {
	name=$1 want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || bad "$name: exit $rc, want $want: $out"
}
has() { printf '%s\n' "$out" | grep -qF -- "$1"; }

# version
for v in -V --version version; do
	run "version: $v" 0 "$NSR" $v
	check "version: nsreload $v prints 'nsreload X.Y.Z'" eval 'printf "%s\n" "$out" | grep -qE "^nsreload [0-9]+\.[0-9]+\.[0-9]+"'
done

# help
for cmd in run exec doctor init config completion; do
	run "help: $cmd --help" 0 "$NSR" $cmd --help
	check "help: nsreload $cmd --help shows its usage and -h, --help" eval 'has "usage: nsreload $cmd" && has "-h, --help"'
	run "help: help $cmd" 0 "$NSR" help $cmd
	check "help: nsreload help $cmd is the same" has "usage: nsreload $cmd"
done
run "help: --help" 0 "$NSR" --help
check "help: nsreload --help lists the commands and -V" eval 'has "completion" && has "-V, --version"'

# suggest
run "suggest: exec" 2 "$NSR" exec --stop-signl=INT -- true
check "suggest: exec --stop-signl: did you mean '--stop-signal'" \
	eval "has \"nsreload exec: unknown option '--stop-signl'; did you mean '--stop-signal'?\""
run "suggest: run" 2 "$NSR" run --buld.cmd=true
check "suggest: run --buld.cmd: did you mean '--build.cmd'" has "did you mean '--build.cmd'?"
run "suggest: config" 2 "$NSR" config --on-busy-updat=queue
check "suggest: config --on-busy-updat: did you mean '--on-busy-update'" has "did you mean '--on-busy-update'?"
run "suggest: doctor" 2 "$NSR" doctor --jsn
check "suggest: doctor --jsn: did you mean '--json'" has "did you mean '--json'?"
run "suggest: init" 2 "$NSR" init --from-ari
check "suggest: init --from-ari: did you mean '--from-air'" has "did you mean '--from-air'?"
run "suggest: command" 2 "$NSR" exce
check "suggest: nsreload exce: did you mean 'exec'" has "unknown command 'exce'; did you mean 'exec'?"
run "suggest: far" 2 "$NSR" exec --zzzzzzzz -- true
check "suggest: nothing close, no suggestion" eval '! has "did you mean"'

# forms
run "forms: config" 0 "$NSR" config --signal=INT --stop-timeout 3s --box pidns -w src --watch=lib -- --json
check "forms: --signal is --stop-signal" has 'box.stop_signal = "INT"'
check "forms: the origin names the flag by its new spelling" eval 'printf "%s\n" "$out" | grep -q "^box.stop_signal.*# flag --stop-signal$"'
check "forms: --stop-timeout is box.stop_timeout, as in exec" \
	eval 'printf "%s\n" "$out" | grep -q "^box.stop_timeout = \"3s\" *# flag --stop-timeout$"'
check "forms: --box pidns (value as the next argument)" has 'box.mode = "pidns"'
check "forms: -w and --watch= add up" has 'build.include_dir = ["src", "lib"]'
check "forms: after --, --json is the app" has 'build.entrypoint = ["--json"]'
run "forms: config --stop-signal" 0 "$NSR" config --stop-signal QUIT
check "forms: config --stop-signal QUIT" has 'box.stop_signal = "QUIT"'
run "forms: doctor positional" 2 "$NSR" doctor extra
check "forms: doctor extra: unexpected argument" has "unexpected argument 'extra'"
# exec's old spelling, on a real box: the timeout stops the command with it.
run "forms: exec --signal" 124 "$NSR" exec --box=pgroup --signal=USR1 --timeout=300ms --stop-timeout=5s -- \
	sh -c 'trap "touch got-usr1; exit 0" USR1; while :; do sleep 0.05; done'
check "forms: exec --signal=USR1 --timeout: the command got USR1, and exit is 124" \
	eval '[ "$rc" = 124 ] && [ -e got-usr1 ]'
run "forms: exec bad signal" 2 "$NSR" exec --signal=NOPE -- true
check "forms: exec --signal=NOPE names the option as written" has "--signal: unknown signal 'NOPE'"

# complete
"$NSR" completion bash >bash.sh && "$NSR" completion zsh >_nsreload && "$NSR" completion fish >nsreload.fish
check "complete: bash: sourced, 'complete -p nsreload' names _nsreload" \
	eval '[ "$(bash -c ". ./bash.sh && complete -p nsreload")" = "complete -F _nsreload nsreload" ]'
check "complete: bash: exec --box= offers the rungs" eval '[ "$(bash -c ". ./bash.sh
COMP_WORDS=(nsreload exec --box = pi); COMP_CWORD=4; _nsreload; echo \"\${COMPREPLY[*]}\"")" = pidns ]'
if command -v zsh >/dev/null 2>&1; then
	check "complete: zsh: loads after compinit and registers _nsreload" eval '[ "$(zsh -f -c "autoload -U compinit
compinit -u -d $work/zdump && source ./_nsreload && print \$_comps[nsreload]" 2>&1)" = _nsreload ]'
else
	echo "skip complete: zsh is not installed"
fi
if command -v fish >/dev/null 2>&1; then
	check "complete: fish: loads, and offers --stop-signal for exec --stop-s" \
		eval 'fish --no-config -c "source ./nsreload.fish; complete -C \"nsreload exec --stop-s\"" | grep -q "^--stop-signal"'
else
	echo "skip complete: fish is not installed"
fi
run "complete: unknown shell" 2 "$NSR" completion tcsh

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
