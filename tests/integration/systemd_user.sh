#!/bin/sh
# A normal user on a systemd desktop (issue 14): uid 65534 with a real
# `systemd --user` and its own session bus (tests/lib/systemd_user_env.sh), in
# a cgroup it cannot write to (like an ssh login's session scope), so that a
# delegated scope from its user manager is its only way to the cgroup2 rung.
#   bus up:   `nsreload doctor --json` names the scope (check systemd_scope)
#             and auto picks cgroup2; `nsreload exec` runs its command in a
#             box inside nsreload-<pid>.scope; a setsid daemon of the command
#             (found by a token in /proc/*/environ) does not survive; after
#             exit no nsreload-*.scope unit or cgroup and no nsreload.* cgroup
#             is left in the environment.
#   bus gone: the user manager stopped and its socket removed: doctor says the
#             scope cannot be had and auto picks a lower rung; exec still runs,
#             says why it fell back in exactly one line naming systemd or the
#             bus, and leaves 0 survivors and no cgroup.
#   root:     root's own user manager standing in for the system manager,
#             reached as the system bus (DBUS_SYSTEM_BUS_ADDRESS): root's exec
#             gets its box in a scope from it; without that bus the box is made
#             where root is, as before; NSRELOAD_SYSTEMD=0 asks nothing.
# The environment itself is checked first (systemd-run --user --scope works as
# the user), so that a broken environment is told apart from nsreload's part.
# Environment:
#   NSRELOAD_TEST_REQUIRE  naming systemd-user: a host where the environment
#                          cannot be built (not root, no systemd, no cgroup2)
#                          is a failure, not a skip (77)
# Usage: systemd_user.sh NSRELOAD FIXTURE_DIR
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testlib.sh"
. "$here/../lib/systemd_user_env.sh"
test_begin "$1" systemd-user
chmod 755 "$work"

skip_or_fail() {
	case ",${NSRELOAD_TEST_REQUIRE:-}," in
	*,systemd-user,*)
		echo "FAIL systemd-user required (NSRELOAD_TEST_REQUIRE), but: $1"
		echo "0 passed, 1 failed"
		exit 1
		;;
	esac
	echo "skip: $1"
	exit 77
}

cleanup() {
	sdenv_cleanup || echo "warning: the environment left something (above)" >&2
	test_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(sdenv_can_start) || skip_or_fail "$why"
make_cgroup_parent nsreload-systemd-user
[ -n "$parent" ] || skip_or_fail "no writable cgroup2 directory for the environment"
sdenv_start "$parent/env" || skip_or_fail "the environment could not be built (above)"
echo "environment: $SDENV_CG, user manager pid $SDENV_MANAGER running after $SDENV_READY_MS ms"

# The binary where uid 65534 can run it (the build tree may be root's only).
cp "$NSR" "$work/nsreload" && chmod 755 "$work/nsreload" || exit 2
N=$work/nsreload
tok="nsrsdu$$"

# The environment: a delegated scope from the user manager, as the user.
out=$(sdenv_run systemd-run --user --scope -p Delegate=yes --quiet sh -c 'sed -n "s/^0:://p" /proc/self/cgroup' 2>&1)
case $out in
/app.slice/*.scope) ok "env: systemd-run --user --scope gives the user a scope ($out)" ;;
*) bad "env: systemd-run --user --scope: $out" ;;
esac

leftovers() { # nsreload's scopes and cgroups left in the environment
	sdenv_scopes
	find "$SDENV_CG" -mindepth 1 -type d -name 'nsreload*' -printf 'cgroup %p\n'
}
no_leftovers() { [ -z "$(leftovers)" ]; }

# nothing_left LABEL: 0 processes with the token, and no nsreload scope or cgroup, within 5 s each.
nothing_left() {
	local n line
	wait_for 5000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
	n=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	[ "$n" = 0 ] && ok "$1: 0 survivors" || bad "$1: $n survivors"
	wait_for 5000 no_leftovers
	line=$(leftovers | tr '\n' ' ')
	[ -z "$line" ] && ok "$1: no nsreload scope or cgroup is left" || bad "$1: left: $line"
}

# check PHASE: doctor and exec as the user; the bus is up for "bus up".
check() {
	local phase=$1 rc line cg n
	sdenv_run "$N" doctor --json >"$work/doctor.$phase.json" 2>"$work/doctor.$phase.err"
	rc=$?
	echo "--- $phase: nsreload doctor --json (rc=$rc)"
	cat "$work/doctor.$phase.json" "$work/doctor.$phase.err"
	echo
	sdenv_run env NSRELOAD_TEST_TOKEN="$tok" "$N" exec -- \
		sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & cat /proc/self/cgroup' \
		>"$work/exec.$phase.out" 2>"$work/exec.$phase.err"
	rc=$?
	echo "--- $phase: nsreload exec -- sh -c 'cat /proc/self/cgroup' (rc=$rc)"
	cat "$work/exec.$phase.out"
	echo "stderr:"
	cat "$work/exec.$phase.err"
	echo "---"
	[ "$rc" = 0 ] && ok "$phase: exec exits 0" || bad "$phase: exec rc=$rc"
	cg=$(sed -n 's/^0:://p' "$work/exec.$phase.out")
	if [ "$phase" = bus-up ]; then
		grep -Eq '"systemd_scope":\{"ok":true,"detail":"[^"]*nsreload-[0-9]+\.scope' "$work/doctor.$phase.json" &&
			ok "$phase: doctor names the scope" ||
			bad "$phase: doctor does not name an nsreload-<pid>.scope in an ok systemd_scope"
		grep -q '"auto":"cgroup2"' "$work/doctor.$phase.json" &&
			ok "$phase: auto picks cgroup2" ||
			bad "$phase: auto is $(grep -o '"auto":"[^"]*"' "$work/doctor.$phase.json")"
		# A shell that lost the session's variables (su, sudo -u): doctor gives the one command back.
		sdenv_run env -u XDG_RUNTIME_DIR -u DBUS_SESSION_BUS_ADDRESS "$N" doctor --json >"$work/doctor.noenv.json" 2>&1
		grep -q '"better":{"rung":"cgroup2","command":"export XDG_RUNTIME_DIR=/run/user/'"$SDENV_UID"'"' "$work/doctor.noenv.json" &&
			ok "$phase: without XDG_RUNTIME_DIR, doctor says: export XDG_RUNTIME_DIR=/run/user/$SDENV_UID" ||
			bad "$phase: without XDG_RUNTIME_DIR, doctor's better: $(grep -o '"better":[^}]*}\{0,1\}' "$work/doctor.noenv.json")"
		echo "$cg" | grep -Eq '^/app\.slice/nsreload-[0-9]+\.scope/nsreload\.[0-9]+\.[0-9a-f]+/' &&
			ok "$phase: exec's box is in nsreload-<pid>.scope ($cg)" ||
			bad "$phase: exec's box is not in an nsreload-<pid>.scope: '$cg'"
	else
		grep -Eq '"systemd_scope":\{"ok":false,"detail":"[^"]+"' "$work/doctor.$phase.json" &&
			ok "$phase: doctor says the scope cannot be had, and why" ||
			bad "$phase: doctor's systemd_scope: $(grep -o '"systemd_scope":{[^}]*}' "$work/doctor.$phase.json")"
		grep -q '"auto":"cgroup2"' "$work/doctor.$phase.json" &&
			bad "$phase: auto still picks cgroup2 without the bus" ||
			ok "$phase: auto picks $(grep -o '"auto":"[^"]*"' "$work/doctor.$phase.json")"
		grep -q '"better":{"rung":"cgroup2","command":"sudo loginctl enable-linger $USER"' "$work/doctor.$phase.json" &&
			ok "$phase: doctor says how to have a user manager: sudo loginctl enable-linger \$USER" ||
			bad "$phase: doctor's better: $(grep -o '"better":[^}]*}\{0,1\}' "$work/doctor.$phase.json")"
		n=$(grep -Eci 'systemd|d-bus|dbus|session bus' "$work/exec.$phase.err")
		[ "$n" = 1 ] && ok "$phase: one line says why it fell back" ||
			bad "$phase: $n lines of exec's stderr name systemd or the bus, not 1"
	fi
	nothing_left "$phase: after exit"
}

# Pids of the processes holding $tok, and how many of them run exactly CMDLINE ($1, spaces for NULs).
tok_pids() {
	local e
	for e in /proc/[0-9]*/environ; do
		{ tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "NSRELOAD_TEST_TOKEN=$tok" && { e=${e#/proc/}; echo "${e%/environ}"; }
	done
}
tok_running() {
	local p n=0
	for p in $(tok_pids); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "$1 " ] && n=$((n + 1))
	done
	echo "$n"
}
two_sleeps() { [ "$(tok_running "sleep 300")" -ge 2 ]; }
one_sleep() { [ "$(tok_running "sleep 30")" -ge 1 ]; }

# killed PHASE: SIGKILL of a running `nsreload exec` (the one nsenter started)
# whose command has a setsid daemon: 0 survivors, nothing left.
killed() {
	local phase=$1 p main="" n line
	sdenv_run env NSRELOAD_TEST_TOKEN="$tok" "$N" exec -- \
		sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & exec sleep 300' \
		>"$work/kill.$phase.out" 2>&1 &
	# Both sleeps up: the daemon and the command.
	if ! wait_for 10000 two_sleeps; then
		bad "$phase: SIGKILL: the command did not start: $(cat "$work/kill.$phase.out")"
	fi
	for p in $(tok_pids); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = nsreload ] || continue
		[ "$(cat "/proc/$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status")/comm" 2>/dev/null)" = nsenter ] && main=$p
	done
	if [ -z "$main" ]; then
		bad "$phase: SIGKILL: no nsreload of ours found"
		return
	fi
	kill -KILL "$main"
	wait
	nothing_left "$phase: SIGKILL of nsreload"
}

# The token scan sees the environment's processes (a control).
sdenv_run env NSRELOAD_TEST_TOKEN="$tok" setsid -f sleep 30 </dev/null >/dev/null 2>&1
if wait_for 5000 one_sleep && [ "$(count_env "NSRELOAD_TEST_TOKEN=$tok")" = 1 ]; then
	ok "env: the token scan sees a process of the environment"
else
	bad "env: the token scan does not see the environment's processes"
fi
for p in $(tok_pids); do kill -KILL "$p"; done
wait_for 5000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"

check bus-up
killed bus-up
if sdenv_stop_bus; then
	ok "env: user manager and bus stopped"
	check bus-gone
	killed bus-gone
else
	bad "env: the user manager did not stop"
fi
# A survivor of a failed check would be killed by sdenv_cleanup: count it first.
n=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
[ "$n" = 0 ] || bad "$n processes with the token at the end"
sdenv_cleanup && ok "env: cleaned up: no process, no cgroup left" || bad "env: cleanup left something (above)"

# Root on a systemd host asks the system manager, on the system bus. This VM runs no systemd as PID 1:
# root's own user manager stands in for it, reached as the system bus through DBUS_SYSTEM_BUS_ADDRESS
# (the same StartTransientUnit; the environment has /run/systemd/system, as a systemd host does).
# ctest sets NSRELOAD_SYSTEMD=0 for every test (tests/CMakeLists.txt): these runs turn it back on.
SDENV_UID=0 SDENV_GID=0 SDENV_RUNTIME=/run/user/0
if sdenv_start "$parent/root"; then
	sysbus="DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/user/0/bus"
	out=$(sdenv_run_root env -u NSRELOAD_SYSTEMD "$sysbus" NSRELOAD_TEST_TOKEN="$tok" "$N" exec -v -- \
		sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & grep "^0::" /proc/self/cgroup' 2>&1)
	echo "--- root: nsreload exec -v, the system bus up:"
	echo "$out"
	echo "$out" | grep -Eq '^0::/app\.slice/nsreload-[0-9]+\.scope/nsreload\.[0-9]+\.[0-9a-f]+/exec\.1$' &&
		echo "$out" | grep -q "box: in nsreload-[0-9]*.scope" &&
		ok "root: the box is in a scope from the manager on the system bus" ||
		bad "root: the box is not in a scope from the system bus"
	out=$(sdenv_run_root env -u NSRELOAD_SYSTEMD DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/nothing NSRELOAD_TEST_TOKEN="$tok" "$N" exec -v -- \
		sh -c 'grep "^0::" /proc/self/cgroup' 2>&1)
	echo "--- root: nsreload exec -v, no system bus:"
	echo "$out"
	echo "$out" | grep -Eq '^0::/harness/nsreload\.[0-9]+\.[0-9a-f]+/exec\.1$' &&
		ok "root: without the system bus, the box is made where root is, as before" ||
		bad "root: without the system bus: not the cgroup2 box where root is"
	out=$(sdenv_run_root env NSRELOAD_SYSTEMD=0 "$sysbus" "$N" doctor 2>&1 | grep "systemd scope")
	echo "$out" | grep -q "not asked for: NSRELOAD_SYSTEMD=0" && ok "root: NSRELOAD_SYSTEMD=0 asks no manager" ||
		bad "root: NSRELOAD_SYSTEMD=0: $out"
	nothing_left root
	sdenv_cleanup || bad "root: the environment's cleanup left something (above)"
else
	bad "root: the environment with root's manager could not be built"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
