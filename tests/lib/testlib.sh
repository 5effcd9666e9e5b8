# Shell helpers shared by the integration tests (sourced, never run).
# events and events_at_least read the JSON log named by $log.

# test_begin NSRELOAD [NAME]: the binary under test in $NSR, as an absolute
# path (the runs cd into their projects), or exit 2 when it is not an
# executable; the counters ok and bad keep; no nsreload started yet
# ($nsr_pid); with NAME, $work is a fresh /tmp/nsreload-NAME.XXXXXX.
test_begin() {
	NSR=$1
	case $NSR in /*) ;; *) NSR="$PWD/$NSR" ;; esac
	if [ ! -x "$NSR" ]; then
		echo "$NSR: not an executable"
		exit 2
	fi
	pass=0
	fail=0
	nsr_pid=""
	if [ -n "${2:-}" ]; then
		work=$(mktemp -d "/tmp/nsreload-$2.XXXXXX") || exit 2
	fi
}

# skip_test_or_fail WHY: the whole test cannot run here. It skips (exit 77),
# or fails when NSRELOAD_TEST_REQUIRE is set: there every feature the machine
# has must be tested.
skip_test_or_fail() {
	if [ -n "${NSRELOAD_TEST_REQUIRE:-}" ]; then
		echo "FAIL $1 (NSRELOAD_TEST_REQUIRE is set)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "skip: $1"
	exit 77
}

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# Processes whose environment holds exactly VAR=VALUE ($1).
count_env() {
	n=0
	for e in /proc/[0-9]*/environ; do
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "$1"; then
			n=$((n + 1))
		fi
	done
	echo "$n"
}

# free_port: a TCP port free on 127.0.0.1 now, from the kernel's ephemeral range (above 20000 as set up
# by default: 32768-60999). Needs python3.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for MS COMMAND...: true as soon as COMMAND succeeds, false after MS milliseconds.
wait_for() {
	deadline=$(($(date +%s%N) / 1000000 + $1))
	shift
	while ! "$@"; do
		[ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

events() { grep -c "\"event\":\"$1\"" "$log" 2>/dev/null || true; }
events_at_least() { [ "$(events "$1")" -ge "$2" ]; }
file_exists() { [ -e "$1" ]; }
pid_alive() { kill -0 "$1" 2>/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
none_with_env() { [ "$(count_env "$1")" = 0 ]; }

# make_cgroup_parent NAME: a fresh cgroup v2 directory of the test's own, in
# $parent ("" where there is no writable cgroup2), so that no box ever lands
# next to the test runner.
make_cgroup_parent() {
	parent=""
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	if [ -n "$v2" ] && mkdir "$v2/$1.$$" 2>/dev/null; then
		parent="$v2/$1.$$"
	fi
}

# remove_cgroup_parent: removes $parent and whatever nsreload left in it,
# deepest first. Right after its last process is reaped a cgroup can still
# refuse rmdir (EBUSY) for a moment, so each directory is retried for up to
# 5 s; one that stays is named on stderr, never left silently. A leftover
# process (a test that failed) is killed first through the parent's own
# cgroup.kill: $parent is the test's own directory, which never holds us.
remove_cgroup_parent() {
	[ -n "${parent:-}" ] && [ -d "$parent" ] || return 0
	grep -q '^populated 1' "$parent/cgroup.events" 2>/dev/null && echo 1 >"$parent/cgroup.kill" 2>/dev/null
	for d in $(find "$parent" -depth -type d); do
		rmdir_retry "$d" || return 1
	done
}

# rmdir_retry DIR: a cgroup directory of the test's own removed; right after
# its last process is reaped a cgroup can refuse rmdir (EBUSY) for a moment,
# so it is retried for up to 5 s, then named on stderr (false).
rmdir_retry() {
	tries=0
	until rmdir "$1" 2>/dev/null || [ ! -d "$1" ]; do
		tries=$((tries + 1))
		if [ "$tries" -ge 100 ]; then
			echo "warning: cannot remove the test's cgroup $1" >&2
			return 1
		fi
		sleep 0.05
	done
}

# v1_mount CONTROLLER: the mount point of the cgroup v1 hierarchy holding it ("" when none);
# v1_own CONTROLLER: our own cgroup in that hierarchy, from /proc/self/cgroup.
v1_mount() { awk -v c="$1" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo; }
v1_own() { awk -F: -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' /proc/self/cgroup; }

# make_cgroup1_parent NAME [CONTROLLER...]: the v1 twin of make_cgroup_parent.
# A directory NAME.$$ below our own cgroup of each controller's v1 hierarchy
# (freezer when none is named; never elsewhere), listed in $cgroup1_dirs, the
# freezer's in $parent1 ("" where it is not mounted or not writable), and
# NSRELOAD_CGROUP1_PARENT exported as that name, which nsreload takes below
# its own cgroup of each hierarchy.
make_cgroup1_parent() {
	name="$1.$$"
	shift
	[ $# -gt 0 ] || set -- freezer
	cgroup1_dirs=""
	parent1=""
	for c in "$@"; do
		m=$(v1_mount "$c")
		[ -n "$m" ] || continue
		d=$(echo "$m/$(v1_own "$c")/$name" | sed 's|//*|/|g')
		mkdir "$d" 2>/dev/null || continue
		cgroup1_dirs="$cgroup1_dirs $d"
		[ "$c" = freezer ] && parent1=$d
	done
	[ -n "$cgroup1_dirs" ] && export NSRELOAD_CGROUP1_PARENT="$name"
}

# remove_cgroup1_parent: removes $cgroup1_dirs and what nsreload left in
# them, deepest first (rmdir_retry). A task left there (a test that failed)
# is killed first, frozen where the hierarchy has a freezer: these are the
# test's own directories, which never hold us.
remove_cgroup1_parent() {
	for d in ${cgroup1_dirs:-}; do
		[ -d "$d" ] || continue
		for sub in $(find "$d" -depth -type d); do
			if [ -s "$sub/tasks" ]; then
				[ -e "$sub/freezer.state" ] && echo FROZEN >"$sub/freezer.state" 2>/dev/null
				for t in $(cat "$sub/tasks"); do kill -KILL "$t" 2>/dev/null; done
				[ -e "$sub/freezer.state" ] && echo THAWED >"$sub/freezer.state" 2>/dev/null
			fi
			rmdir_retry "$sub"
		done
	done
	cgroup1_dirs=""
}

# sigterm_ends_clean WHAT: SIGTERM to the nsreload in $nsr_pid; it must exit 0 within 10 s and leave no
# process with $tok (reported through the caller's ok and bad).
sigterm_ends_clean() {
	kill -TERM "$nsr_pid"
	if wait_for 10000 pid_gone "$nsr_pid"; then
		wait "$nsr_pid"
		rc=$?
		nsr_pid=""
		wait_for 2000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
		s=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
		[ "$rc" = 0 ] && [ "$s" = 0 ] && ok "$1: SIGTERM: exit 0, 0 survivors" ||
			bad "$1: SIGTERM: rc=$rc, $s survivors"
	else
		bad "$1: nsreload did not exit within 10 s of SIGTERM"
		kill -KILL "$nsr_pid" 2>/dev/null
		nsr_pid=""
	fi
}

# Stops the nsreload in $nsr_pid (CONT, in case the test stopped it, then
# TERM first, so that it empties its boxes), unmounts the test's own mounts
# listed in $cleanup_umount (inside $work), removes $parent and $work.
# install_cleanup runs it on exit, and makes INT and TERM exit too, so that
# no nsreload of ours outlives the test.
test_cleanup() {
	if [ -n "${nsr_pid:-}" ]; then
		kill -CONT "$nsr_pid" 2>/dev/null
		kill -TERM "$nsr_pid" 2>/dev/null
		wait_for 5000 pid_gone "$nsr_pid" || kill -KILL "$nsr_pid" 2>/dev/null
	fi
	for m in ${cleanup_umount:-}; do
		umount "$m" 2>/dev/null
	done
	remove_cgroup_parent
	rm -rf "$work"
}
install_cleanup() {
	trap test_cleanup EXIT
	# dash does not run the EXIT trap after an exit from a signal trap: clean up here too.
	trap 'test_cleanup; exit 130' INT
	trap 'test_cleanup; exit 143' TERM
}
