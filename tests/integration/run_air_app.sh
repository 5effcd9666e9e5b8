#!/bin/sh
# How an .air.toml's app is run and stopped, end to end through a bare
# 'nsreload' started in a directory holding the .air.toml (shell fixture apps;
# tests/e2e/run_go_stop.sh does the stop with a real Go server):
#   bin-abs     bin = "app" runs ./app, even with another 'app' in PATH: air
#               makes bin absolute against its working directory
#               (runner/config.go, preprocess: filepath.Abs(c.Build.Bin))
#   root-cwd    root = "sub": the build and the app run in the directory
#               nsreload was started in (air never changes directory), and
#               entrypoint is joined to root (config.go, preprocess:
#               joinPath(c.Root, entry))
#   args-shell  entrypoint and args_bin go through /bin/sh -c as one line, so
#               $HOME and quotes are the shell's (engine.go joins the words;
#               util_linux.go, startCmd: exec.Command("/bin/sh", "-c", cmd))
#   stop-all    a full_bin that keeps its shell (a leading VAR=x) on every
#               rung: the stop signal reaches the app behind the shell, whose
#               TERM handler runs at each restart and at exit (no kill), and
#               nothing survives
#   stop-main   box.stop_scope = "main": only the shell gets the signal, and
#               the app behind it is killed when the shell exits
# Usage: run_air_app.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" air-app
log=""

skip_or_fail() { # a rung the machine must have is never skipped under NSRELOAD_TEST_REQUIRE
	case ",${NSRELOAD_TEST_REQUIRE:-}," in
	*",$1,"*) bad "$2 (required: $1)" ;;
	*) echo "skip $2" ;;
	esac
}

make_cgroup_parent nsreload-test-airapp
install_cleanup

# start DIR TOKEN OPTIONS...: bare nsreload in DIR, JSON log in $log.
start() {
	dir=$1
	tok=$2
	shift 2
	log="$dir.log"
	(
		cd "$dir" || exit 125
		[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
		# A background job of sh starts with SIGINT ignored: give it back for the SIGINT cases.
		NSRELOAD_TEST_TOKEN=$tok exec env --default-signal=INT "$NSR" --log-format=json --color=never "$@" \
			</dev/null >"$dir.out" 2>"$log"
	) &
	nsr_pid=$!
}
# stop [SIGNAL]: nsreload exits 0 and nothing with its token is left.
stop() {
	kill "-${1:-TERM}" "$nsr_pid"
	if wait_for 20000 pid_gone "$nsr_pid"; then
		wait "$nsr_pid"
		rc=$?
	else
		rc=timeout
		kill -KILL "$nsr_pid"
	fi
	nsr_pid=""
}
no_survivors() { wait_for 5000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"; }
text_is() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
lines_of() {
	n_=$(grep -c "$2" "$1" 2>/dev/null)
	echo "${n_:-0}"
}
has_lines() { [ "$(lines_of "$1" "$2")" -ge "$3" ]; }

# ---- bin-abs ---------------------------------------------------------------------------------------------
p="$work/binabs"
mkdir -p "$p" "$work/pathbin"
printf '#!/bin/sh\necho local >"%s/who"\nexec sleep 1000\n' "$work" >"$p/app"
printf '#!/bin/sh\necho path >"%s/who"\nexec sleep 1000\n' "$work" >"$work/pathbin/app"
chmod +x "$p/app" "$work/pathbin/app"
cat >"$p/.air.toml" <<'EOF'
[build]
cmd = "true"
bin = "app"
include_ext = ["txt"]
EOF
PATH="$work/pathbin:$PATH" start "$p" "airapp$$-bin" --box=pgroup
if wait_for 10000 file_exists "$work/who" && sleep 0.2 && text_is "$work/who" local; then
	ok "bin-abs: bin = \"app\" runs ./app, not the app in PATH"
else
	bad "bin-abs: bin = \"app\" ran '$(cat "$work/who" 2>/dev/null)', want 'local'"
	tail -n 5 "$log"
fi
stop
[ "$rc" = 0 ] && no_survivors && ok "bin-abs: exit 0, no survivor" || bad "bin-abs: exit $rc or survivors"

# ---- root-cwd --------------------------------------------------------------------------------------------
p="$work/rootcwd"
mkdir -p "$p/sub"
printf '#!/bin/sh\necho "top $PWD" >"%s/ran"\nexec sleep 1000\n' "$work" >"$p/app.sh"
printf '#!/bin/sh\necho "sub $PWD" >"%s/ran"\nexec sleep 1000\n' "$work" >"$p/sub/app.sh"
chmod +x "$p/app.sh" "$p/sub/app.sh"
cat >"$p/.air.toml" <<'EOF'
root = "sub"
[build]
cmd = "pwd >build_cwd; printf '%s' \"$NSRELOAD_CHANGED_PATHS\" >changed"
entrypoint = ["./app.sh"]
include_ext = ["txt"]
EOF
start "$p" "airapp$$-root" --box=pgroup
if wait_for 10000 file_exists "$work/ran" && sleep 0.2 && text_is "$work/ran" "sub $p"; then
	ok "root-cwd: the app is root's ./app.sh, run in the start directory"
else
	bad "root-cwd: the app said '$(cat "$work/ran" 2>/dev/null)', want 'sub $p'"
	tail -n 5 "$log"
fi
if text_is "$p/build_cwd" "$p"; then
	ok "root-cwd: the build ran in the start directory"
else
	bad "root-cwd: build_cwd in $p holds '$(cat "$p/build_cwd" 2>/dev/null)'; in sub: '$(cat "$p/sub/build_cwd" 2>/dev/null)'"
fi
# The build runs in the start directory: the changed paths it is given name files from there.
sleep 0.3
echo x >"$p/sub/x.txt"
if wait_for 10000 text_is "$p/changed" "sub/x.txt"; then
	ok "root-cwd: NSRELOAD_CHANGED_PATHS is relative to where the build runs (sub/x.txt)"
else
	bad "root-cwd: NSRELOAD_CHANGED_PATHS was '$(cat "$p/changed" 2>/dev/null)', want 'sub/x.txt'"
fi
stop
[ "$rc" = 0 ] && no_survivors && ok "root-cwd: exit 0, no survivor" || bad "root-cwd: exit $rc or survivors"

# ---- args-shell ------------------------------------------------------------------------------------------
p="$work/args"
mkdir -p "$p" "$work/home"
printf '#!/bin/sh\nfor a in "$@"; do printf "[%%s]\\n" "$a"; done >"%s/args.tmp"\nmv "%s/args.tmp" "%s/got-args"\nexec sleep 1000\n' \
	"$work" "$work" "$work" >"$p/show.sh"
chmod +x "$p/show.sh"
cat >"$p/.air.toml" <<'EOF'
[build]
cmd = "true"
entrypoint = ["./show.sh", "$HOME"]
args_bin = ["'a b'", "\"$HOME/c d\""]
include_ext = ["txt"]
EOF
HOME="$work/home" start "$p" "airapp$$-args" --box=pgroup
want=$(printf '[%s]\n[a b]\n[%s/c d]' "$work/home" "$work/home")
if wait_for 10000 file_exists "$work/got-args" && text_is "$work/got-args" "$want"; then
	ok "args-shell: \$HOME and quotes in entrypoint and args_bin are the shell's"
else
	bad "args-shell: the app got $(tr '\n' ' ' <"$work/got-args" 2>/dev/null), want $(echo "$want" | tr '\n' ' ')"
	tail -n 5 "$log"
fi
stop
[ "$rc" = 0 ] && no_survivors && ok "args-shell: exit 0, no survivor" || bad "args-shell: exit $rc or survivors"

# ---- stop-all on every rung ------------------------------------------------------------------------------
# The app counts its runs in $p/count and logs "start N" and, from its TERM/INT handler, "shutdown N".
write_stop_app() {
	cat >"$1/app.sh" <<'EOF'
#!/bin/sh
n=$(($(cat count 2>/dev/null || echo 0) + 1))
echo "$n" >count
trap 'kill $! 2>/dev/null; echo "shutdown $n" >>stops; exit 0' TERM INT
sleep 1000 &
echo "start $n" >>stops
wait
EOF
	chmod +x "$1/app.sh"
}
stop_all_rung() {
	rung=$1
	sig=$2
	p="$work/stop-$rung"
	mkdir -p "$p"
	write_stop_app "$p"
	cat >"$p/.air.toml" <<'EOF'
[build]
cmd = "true"
full_bin = "APP_ENV=dev ./app.sh"
include_ext = ["txt"]
delay = 50
EOF
	start "$p" "airapp$$-stop-$rung" --box="$rung"
	if ! wait_for 10000 has_lines "$p/stops" "^start 1$" 1; then
		bad "stop-all $rung: the app never started"
		tail -n 5 "$log"
		stop
		return
	fi
	echo x >"$p/change.txt"
	if wait_for 15000 has_lines "$p/stops" "^start 2$" 1 && has_lines "$p/stops" "^shutdown 1$" 1; then
		ok "stop-all $rung: the restart ran the app's TERM handler behind its shell"
	else
		bad "stop-all $rung: after a restart: $(tr '\n' ' ' <"$p/stops")"
	fi
	stop "$sig"
	if has_lines "$p/stops" "^shutdown 2$" 1; then
		ok "stop-all $rung: SIG$sig to nsreload ran the app's handler"
	else
		bad "stop-all $rung: at exit: $(tr '\n' ' ' <"$p/stops")"
	fi
	k=$(grep '"event":"run_stop"' "$log" | grep -c '"killed":true')
	[ "$k" = 0 ] && ok "stop-all $rung: no stop needed the kill" || bad "stop-all $rung: $k stops needed the kill"
	[ "$rc" = 0 ] && no_survivors && ok "stop-all $rung: exit 0, no survivor" ||
		bad "stop-all $rung: exit $rc or survivors"
}
for rung in cgroup2 cgroup2+pidns pidns pgroup; do
	case $rung in
	cgroup2*)
		if [ -z "$parent" ]; then
			skip_or_fail cgroup2 "stop-all $rung: no writable cgroup v2"
			continue
		fi
		;;
	esac
	case $rung in pidns | pgroup) sig=INT ;; *) sig=TERM ;; esac
	stop_all_rung "$rung" "$sig"
done

# ---- stop-main -------------------------------------------------------------------------------------------
p="$work/stop-main"
mkdir -p "$p"
write_stop_app "$p"
cat >"$p/.air.toml" <<'EOF'
[build]
cmd = "true"
full_bin = "APP_ENV=dev ./app.sh"
include_ext = ["txt"]

[box]
stop_scope = "main"
EOF
start "$p" "airapp$$-main" --box=pgroup
if wait_for 10000 has_lines "$p/stops" "^start 1$" 1; then
	stop
	if [ "$(lines_of "$p/stops" shutdown)" = 0 ]; then
		ok "stop-main: only the shell got the signal; the app behind it was killed"
	else
		bad "stop-main: the app's handler ran: $(tr '\n' ' ' <"$p/stops")"
	fi
	[ "$rc" = 0 ] && no_survivors && ok "stop-main: exit 0, no survivor" || bad "stop-main: exit $rc or survivors"
else
	bad "stop-main: the app never started"
	tail -n 5 "$log"
	stop
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
