#!/bin/sh
# Faults of 'nsreload run' on the real kernel: each one gives a clear message
# and a defined behaviour, and leaves no process (token in /proc/*/environ)
# and no cgroup behind.
#   enospc     the inotify watch limit of a user namespace of our own is hit
#   emfile     ulimit -n too low at start-up (exit 1), and hit mid-run
#   nocmd      build.cmd not found (127), and a build that writes no bin
#   rootgone   the watched root deleted (wait, no spin), then recreated
#   subcg      the app makes a sub-cgroup in its box: removed bottom-up
#   ebusy      a box cgroup that stays busy (a bind mount on it, in nsreload's
#              private mount namespace): bounded retries, the directory named,
#              the next start sweeps it
#   procs      cgroup.procs of the delegated parent not writable: --box=cgroup2
#              exits 125; auto takes another rung
#   sigkill    nsreload SIGKILLed: pidns leaves nothing; cgroup2's next start
#              sweeps the stale box and says so
#   sighup     the terminal closed (tests/tools/ptyhup): stops and exits 0
#   fulldisk   tmp_dir on a full tmpfs (private mount namespace): the build,
#              build-errors.log and the changed-paths file fail; the old run
#              keeps serving
# Usage: faults.sh NSRELOAD FIXTURE_DIR [CASE...]
set -u

# Run inside a wrapper (unshare, setpriv): eval INNER_PRE, then exec the rest.
if [ "${1:-}" = --inner ]; then
	shift
	eval "${INNER_PRE:-:}" || exit 125
	exec "$@"
fi

NSR=$1
FIX=${2:-}
shift 2 2>/dev/null || shift $#
case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
case $FIX in /*) ;; *) FIX="$PWD/$FIX" ;; esac
# The test tools (tests/tools/*.c) are built next to the fixtures directory, not in it: every file in
# it is a torture fixture to the harnesses.
TOOLS=$(dirname "$FIX")/tools
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
if [ ! -x "$NSR" ]; then
	echo "$NSR: not an executable"
	exit 2
fi
pass=0
fail=0
work=$(mktemp -d /tmp/nsreload-faults.XXXXXX)
chmod 755 "$work"
nsr_pid=""

. "$(dirname "$0")/../lib/testlib.sh"

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -f "$log" ] && tail -n 15 "$log" | sed 's/^/    | /'
}
check() { # check NAME COND...: ok or FAIL by the exit status of COND
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
has() { grep -qF -- "$1" "$log" 2>/dev/null; }
lacks() { ! grep -qF -- "$1" "$log" 2>/dev/null; }
subdirs() { find "$1" -mindepth 1 -type d 2>/dev/null | wc -l; }
no_subdirs() { [ "$(subdirs "$1")" = 0 ]; }

make_cgroup_parent nsreload-test-faults
# Everything below $parent goes, deepest first, before test_cleanup removes $parent.
faults_cleanup() {
	if [ -n "${nsr_pid:-}" ]; then
		kill -TERM "$nsr_pid" 2>/dev/null
		wait_for 5000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
		nsr_pid=""
	fi
	test_cleanup
}
trap faults_cleanup EXIT
trap 'faults_cleanup; exit 130' INT
trap 'faults_cleanup; exit 143' TERM

cg_required() { case ",${NSRELOAD_TEST_REQUIRE:-}," in *,cgroup2,*) return 0 ;; esac; return 1; }
need_cgroup() { # true when the case can run; a required but missing cgroup2 is a failure
	[ -n "$parent" ] && return 0
	if cg_required; then bad "$1: no writable cgroup v2, but NSRELOAD_TEST_REQUIRE has cgroup2"; else
		echo "skip $1: no writable cgroup v2"; fi
	return 1
}

# new_case NAME: a fresh project in $proj, control files in $ctl (outside the watched tree).
new_case() {
	case_name=$1
	tok="nsrfault$$-$1"
	case_dir="$work/$1"
	proj="$case_dir/proj"
	ctl="$case_dir/ctl"
	log="$case_dir/log.json"
	mkdir -p "$proj/src" "$ctl"
	build="mkdir -p tmp && cp src/app.sh tmp/app.sh"
	full_bin="sh tmp/app.sh"
	wrap=""
	cgparent="$parent"
	unset INNER_PRE
	write_app 1
}

# The app of generation $1: names itself in its environment and leaves a setsid grandchild.
write_app() {
	cat >"$proj/src/app.sh" <<APP
#!/bin/sh
export NSRT_GEN=$tok-$1
echo \$\$ >"$ctl/pid.$1"
${APP_EXTRA:-}
setsid sleep 1000 &
exec sleep 1000
APP
}

# start RUNG [ARGS...]: nsreload run in $proj in the background ($nsr_pid), JSON log in $log;
# $wrap (words) runs before it.
start() {
	rung=$1
	shift
	(
		cd "$proj" || exit 125
		[ -n "$cgparent" ] && export NSRELOAD_CGROUP_PARENT="$cgparent"
		# shellcheck disable=SC2086
		NSRELOAD_TEST_TOKEN=$tok exec $wrap "$NSR" run --log-format=json --color=never --box="$rung" \
			--build.cmd="$build" --build.full_bin="$full_bin" --build.include_ext=sh \
			--build.delay=200 --stop-timeout=2s "$@" </dev/null >"$case_dir/out.txt" 2>"$log"
	) &
	nsr_pid=$!
}

# stop: SIGTERM, wait; rc in $rc (124 when it did not end within 10 s).
stop() {
	kill -TERM "$nsr_pid" 2>/dev/null
	if wait_for 10000 pid_gone "$nsr_pid"; then
		wait "$nsr_pid"
		rc=$?
	else
		kill -KILL "$nsr_pid" 2>/dev/null
		rc=124
	fi
	nsr_pid=""
}

# Nothing of the case left: no process with its token, no cgroup below $1 (default $parent).
clean() {
	wait_for 3000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
	[ "$(count_env "NSRELOAD_TEST_TOKEN=$tok")" = 0 ] && { [ -z "${1-$parent}" ] || no_subdirs "${1-$parent}"; }
}

# finish NAME [RC]: stops nsreload, expects RC (0) and nothing left.
finish() {
	stop
	s=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	if [ "$rc" = "${2:-0}" ] && clean; then
		ok "$1: SIGTERM: exit $rc, 0 survivors, no cgroup left"
	else
		bad "$1: SIGTERM: exit $rc, $s survivors, $(subdirs "$parent") cgroups left"
	fi
}

first_run() { wait_for 10000 file_exists "$ctl/pid.1" && wait_for 5000 events_at_least run_start 1; }
alive_gen() { pid_alive "$(cat "$ctl/pid.$1" 2>/dev/null || echo 0)"; }

# ---- inotify ENOSPC: a user namespace of our own with a limit of 3 watches (the host's stays) ----
case_enospc() {
	new_case enospc
	mkdir -p "$proj/src/a" "$proj/src/b" "$proj/src/c" "$proj/src/d" "$proj/src/e"
	# /proc/sys/user/max_inotify_watches is per user namespace; fs.inotify.max_user_watches is the
	# host's, whatever namespace writes it, and is never touched.
	INNER_PRE='echo 3 >/proc/sys/user/max_inotify_watches'
	export INNER_PRE
	wrap="unshare -U -r sh $self --inner"
	start pidns
	check "enospc: first build and run" first_run
	check "enospc: message names the limit, the namespace's value and that nsreload goes on" \
		eval 'has "inotify watch limit reached" && has "this user namespace allows 3" && has "nsreload goes on"'
	finish enospc
}

# ---- EMFILE: at start-up, and mid-run (prlimit on the live process) ----
lowest_free_fd() {
	i=0
	while [ -e "/proc/$1/fd/$i" ]; do i=$((i + 1)); done
	echo "$i"
}
case_emfile() {
	new_case emfile
	(
		cd "$proj" || exit 125
		ulimit -n 16
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --box=pidns --color=never --build.cmd="$build" \
			--build.full_bin="$full_bin" </dev/null >/dev/null 2>"$log"
	)
	rc=$?
	check "emfile: ulimit -n 16 at start-up: exit 1 with the limit and the fix (rc=$rc)" \
		eval '[ $rc = 1 ] && has "ulimit -n is 16: nsreload needs at least" && has "ulimit -n 4096"'
	: >"$log"
	start pidns
	first_run || bad "emfile: first run"
	old=$(sed -n 's/^Max open files *\([0-9a-z]*\) *\([0-9a-z]*\).*/\1:\2/p' "/proc/$nsr_pid/limits")
	lim=$(lowest_free_fd "$nsr_pid")
	# Only the soft limit: raising a hard one back needs CAP_SYS_RESOURCE, which a container may lack.
	prlimit --pid "$nsr_pid" --nofile="$lim:${old#*:}"
	mkdir -p "$work/newtree/a/b"
	echo "# x" >"$work/newtree/a/b/x.sh"
	mv "$work/newtree" "$proj/src/newtree"
	sleep 0.1
	echo "# edit" >>"$proj/src/app.sh"
	wait_for 5000 eval 'has "cannot start"'
	check "emfile: mid-run: the watcher and the build say out of file descriptors, the old run serves" \
		eval 'has "out of file descriptors (ulimit -n is $lim) while watching $proj/src/newtree" &&
		has "Too many open files: out of file descriptors (ulimit -n is $lim)" &&
		has "the old run keeps serving" && alive_gen 1'
	prlimit --pid "$nsr_pid" --nofile="$old"
	write_app 2
	check "emfile: limit raised: rescan picks up the new tree, rebuild and restart" \
		eval 'wait_for 10000 file_exists "$ctl/pid.2" && has "file descriptors are available again"'
	b=$(events build_start)
	echo "# y" >>"$proj/src/newtree/a/b/x.sh"
	check "emfile: the tree that could not be read is watched now" wait_for 5000 events_at_least build_start $((b + 1))
	finish emfile
}

# ---- a build command that does not exist, and a build that writes no bin ----
case_nocmd() {
	new_case nocmd
	build="if [ -e $ctl/nocmd ]; then nsreload-no-such-tool -o tmp/app; else mkdir -p tmp && cp src/app.sh tmp/app && chmod +x tmp/app && { [ ! -e $ctl/nobin ] || rm tmp/app; }; fi"
	full_bin=""
	start pidns --build.bin=./tmp/app
	check "nocmd: first build and run" first_run
	touch "$ctl/nocmd"
	write_app 2
	wait_for 10000 events_at_least build_end 2
	sleep 0.3
	check "nocmd: exit 127 named, the old run keeps serving" \
		eval 'grep -q "\"event\":\"build_end\".*\"status\":127" "$log" &&
		has "exited with 127: the shell did not find the command" && has "the old run keeps serving" &&
		alive_gen 1 && [ ! -e "$ctl/pid.2" ]'
	rm -f "$ctl/nocmd"
	touch "$ctl/nobin"
	write_app 3
	wait_for 10000 events_at_least build_end 3
	sleep 0.3
	check "nocmd: a build without its bin: named, no restart, the old run keeps serving" \
		eval 'has "the build succeeded but ./tmp/app does not exist" && alive_gen 1 && [ ! -e "$ctl/pid.3" ]'
	rm -f "$ctl/nobin"
	write_app 4
	check "nocmd: fixed: rebuild and restart" wait_for 10000 file_exists "$ctl/pid.4"
	finish nocmd
}

# ---- the watched root deleted, then recreated ----
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
case_rootgone() {
	new_case rootgone
	start pidns
	first_run || bad "rootgone: first run"
	rm -rf "$proj"
	wait_for 5000 eval 'has "was deleted"'
	b=$(events build_start)
	t0=$(cpu_ticks "$nsr_pid")
	sleep 1
	t1=$(cpu_ticks "$nsr_pid")
	check "rootgone: deleted: said, waits without building or spinning, the old run keeps serving" \
		eval 'has "the watched root $proj was deleted: nsreload keeps the current run, builds nothing and waits" &&
		[ "$(events build_start)" = "$b" ] && [ $((t1 - t0)) -le 5 ] && alive_gen 1 && pid_alive "$nsr_pid"'
	mkdir -p "$proj/src"
	write_app 2
	check "rootgone: recreated: said, rebuilt and restarted" \
		eval 'wait_for 10000 file_exists "$ctl/pid.2" && has "the watched root $proj is back"'
	write_app 3
	check "rootgone: the new root is watched" wait_for 10000 file_exists "$ctl/pid.3"
	finish rootgone
}

# ---- the app makes a sub-cgroup of its own box: removed bottom-up ----
case_subcg() {
	new_case subcg
	need_cgroup subcg || return
	APP_EXTRA='v2=$(awk '"'"'$9 == "cgroup2" { print $5; exit }'"'"' /proc/self/mountinfo)
cg=$v2$(sed -n "s/^0:://p" /proc/self/cgroup)
mkdir "$cg/sub" && echo $$ >"$cg/sub/cgroup.procs" && echo "$cg" >"'"$ctl"'/cg.$NSRT_GEN"'
	write_app 1
	start cgroup2
	first_run || bad "subcg: first run"
	wait_for 3000 file_exists "$ctl/cg.$tok-1"
	box1=$(cat "$ctl/cg.$tok-1" 2>/dev/null)
	write_app 2
	wait_for 10000 file_exists "$ctl/pid.2"
	check "subcg: the old box and its sub-cgroup are removed on restart" \
		eval '[ -n "$box1" ] && [ ! -e "$box1" ] && lacks "cannot remove"'
	APP_EXTRA=""
	finish subcg
}

# ---- a box cgroup that stays busy: a bind mount on it inside nsreload's private mount namespace ----
case_ebusy() {
	new_case ebusy
	need_cgroup ebusy || return
	mkdir -p "$case_dir/empty"
	wrap="unshare -m --propagation private"
	start cgroup2
	first_run || bad "ebusy: first run"
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	box1="$v2$(sed -n 's/^0:://p' "/proc/$(cat "$ctl/pid.1")/cgroup")"
	ctxdir=$(dirname "$box1")
	nsenter -t "$nsr_pid" -m mount --bind "$case_dir/empty" "$box1" || bad "ebusy: bind mount"
	write_app 2
	# The old box is removed after the new app is spawned (docs/run.md, "The reload cycle"): the
	# message comes after pid.2.
	check "ebusy: rmdir EBUSY: the directory named, nsreload goes on and restarts" \
		eval 'wait_for 15000 file_exists "$ctl/pid.2" &&
		wait_for 15000 has "cannot remove the box'"'"'s cgroup $box1: Device or resource busy" &&
		has "nsreload goes on"'
	old_pid=$nsr_pid
	stop
	check "ebusy: SIGTERM: exit 0 within bounds, its own cgroup named as left behind, 0 survivors" \
		eval '[ $rc = 0 ] && has "cannot remove nsreload'"'"'s cgroup $ctxdir" && clean ""'
	# The next start sweeps what was left.
	tok="$tok-next"
	log="$case_dir/log2.json"
	wrap=""
	start cgroup2
	check "ebusy: the next start removes the stale cgroup and says so" \
		eval 'wait_for 10000 eval "has \"removed stale box $ctxdir \"" && [ ! -e "$ctxdir" ]'
	finish ebusy
}

# ---- cgroup.procs of the delegated parent not writable by the (non-root) user ----
case_procs() {
	new_case procs
	need_cgroup procs || return
	deleg="$parent/deleg"
	mkdir "$deleg" && chown 65534:65534 "$deleg"
	chown -R 65534:65534 "$case_dir"
	cgparent="$deleg"
	# nsreload starts inside the delegated cgroup, whose cgroup.procs stays root's.
	INNER_PRE="echo \$\$ >$deleg/cgroup.procs"
	export INNER_PRE
	wrap="sh $self --inner setpriv --reuid=65534 --regid=65534 --clear-groups"
	start cgroup2
	wait_for 10000 pid_gone "$nsr_pid"
	wait "$nsr_pid"
	rc=$?
	nsr_pid=""
	check "procs: --box=cgroup2: exit 125, the file and the fix named, no box directory left (rc=$rc)" \
		eval '[ $rc = 125 ] && has "needs write access to $deleg/cgroup.procs" &&
		has "chown its cgroup.procs too" && no_subdirs "$deleg" && clean "$deleg"'
	# shellcheck disable=SC2086
	doc=$(NSRELOAD_CGROUP_PARENT="$deleg" $wrap "$NSR" doctor 2>&1)
	check "procs: doctor: cgroup2 does not work, and says it cannot move a process into a box" \
		eval 'printf "%s\n" "$doc" | grep -q "^  cgroup2 *does not work: no process can be put into a box under $deleg" &&
		! printf "%s\n" "$doc" | grep -q "auto picks: cgroup2"'
	log="$case_dir/log-auto.json"
	start auto
	if first_run; then
		ok "procs: auto: another rung, first build and run"
	else
		bad "procs: auto did not build and run"
	fi
	stop
	check "procs: auto: SIGTERM: exit $rc, 0 survivors, no box directory left" \
		eval '[ $rc = 0 ] && clean "$deleg"'
	rmdir "$deleg"
}

# ---- nsreload SIGKILLed ----
case_sigkill() {
	new_case sigkill
	start pidns
	first_run || bad "sigkill: pidns first run"
	kill -KILL "$nsr_pid"
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=""
	check "sigkill: pidns: 0 survivors" clean
	need_cgroup sigkill || return
	new_case sigkill-cg
	start cgroup2
	first_run || bad "sigkill: cgroup2 first run"
	old_pid=$nsr_pid
	kill -KILL "$nsr_pid"
	wait "$nsr_pid" 2>/dev/null
	nsr_pid=""
	left=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	old_tok=$tok
	tok="$tok-next"
	log="$case_dir/log2.json"
	start cgroup2
	check "sigkill: cgroup2: the next start sweeps the stale box ($left processes) and says so" \
		eval 'wait_for 10000 eval "has \"removed stale box $parent/nsreload.$old_pid.\"" && has "left by a supervisor that died" &&
		wait_for 3000 none_with_env "NSRELOAD_TEST_TOKEN=$old_tok"'
	finish sigkill
}

# ---- SIGHUP: the terminal closed ----
case_sighup() {
	new_case sighup
	log="$case_dir/tty.txt"
	(
		cd "$proj" || exit 125
		[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
		NSRELOAD_TEST_TOKEN=$tok exec "$TOOLS/ptyhup" "$log" "$NSR" run --log-format=json --color=never \
			--box=auto --build.cmd="$build" --build.full_bin="$full_bin" --build.include_ext=sh
	) &
	hup_pid=$!
	check "sighup: first build and run on a terminal" first_run
	kill -USR1 "$hup_pid"
	wait "$hup_pid"
	rc=$?
	check "sighup: terminal closed: exit $rc, 0 survivors, no cgroup left" eval '[ $rc = 0 ] && clean'
}

# ---- tmp_dir on a full file system ----
case_fulldisk() {
	new_case fulldisk
	INNER_PRE="mkdir -p tmp && mount -t tmpfs -o size=64k,mode=755 nsreload-test-full tmp"
	export INNER_PRE
	wrap="unshare -m --propagation private sh $self --inner"
	start pidns
	first_run || bad "fulldisk: first run"
	nsenter -t "$nsr_pid" -m sh -c "cat /dev/zero >$proj/tmp/fill" 2>/dev/null
	APP_EXTRA=$(awk 'BEGIN { for (i = 0; i < 100; i++) printf "# padding so that the copy needs another page of tmpfs %d\n", i }')
	write_app 2
	wait_for 10000 events_at_least build_end 2
	sleep 0.3
	check "fulldisk: the build fails, build-errors.log cannot be written: said, the old run serves" \
		eval 'grep -q "\"event\":\"build_end\".*\"status\":[1-9]" "$log" &&
		has "cannot write the build log tmp/build-errors.log: No space left on device: its file system is full" &&
		alive_gen 1 && [ ! -e "$ctl/pid.2" ] && pid_alive "$nsr_pid"'
	# More than 64 KiB of changed paths go through a file in tmp_dir.
	mkdir "$case_dir/many"
	i=0
	while [ $i -lt 700 ]; do
		: >"$case_dir/many/a-changed-path-long-enough-that-seven-hundred-of-them-need-a-file-rather-than-the-environment-$i.sh"
		i=$((i + 1))
	done
	b=$(events build_end)
	mv "$case_dir/many" "$proj/src/many"
	wait_for 10000 events_at_least build_end $((b + 1))
	check "fulldisk: the changed-paths file cannot be written: said, build skipped, the old run serves" \
		eval 'has "changed paths to tmp/nsreload-changed." && has "build skipped" && alive_gen 1 &&
		[ -z "$(nsenter -t "$nsr_pid" -m sh -c "ls $proj/tmp | grep nsreload-changed")" ]'
	nsenter -t "$nsr_pid" -m rm -f "$proj/tmp/fill"
	APP_EXTRA=""
	write_app 3
	check "fulldisk: space freed: rebuild and restart" wait_for 10000 file_exists "$ctl/pid.3"
	finish fulldisk
}

cases=${*:-enospc emfile nocmd rootgone subcg ebusy procs sigkill sighup fulldisk}
for c in $cases; do
	"case_$c"
	if [ -n "${nsr_pid:-}" ]; then
		kill -KILL "$nsr_pid" 2>/dev/null
		nsr_pid=""
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
