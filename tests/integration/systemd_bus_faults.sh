#!/bin/bash
# A session bus that fails in each way a user's can (issue 14: "never worse
# than today"): nsreload, as a normal user (uid 65534) who cannot make a
# cgroup where it is, asks the bus named by DBUS_SESSION_BUS_ADDRESS for a
# scope, and must fall back to the next rung with one line that says why,
# run the command (exit 0) and leave no process behind, for:
#   missing   no socket at the address (ENOENT);
#   refused   a socket file nobody listens on (ECONNREFUSED, as after a crash);
#   closes    a listener that closes every connection at once;
#   silent    a listener that accepts and never answers: bounded by nsreload's
#             5 s bus timeout, not sd-bus's 25 s.
# The listeners are python3 on unix sockets in the test's directory.
# Usage: systemd_bus_faults.sh NSRELOAD FIXTURE_DIR. Needs root (to drop to
# uid 65534); skips (77) otherwise, or fails under NSRELOAD_TEST_REQUIRE.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/testlib.sh"
test_begin "$1" bus-faults
chmod 755 "$work"
listener=""
cleanup() {
	[ -n "$listener" ] && kill -KILL "$listener" 2>/dev/null
	test_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! command -v python3 >/dev/null; then
	if [ -n "${NSRELOAD_TEST_REQUIRE:-}" ]; then
		echo "FAIL needs root, setpriv and python3 (NSRELOAD_TEST_REQUIRE is set)"
		exit 1
	fi
	echo "skip: needs root, setpriv and python3"
	exit 77
fi
cp "$NSR" "$work/nsreload" && chmod 755 "$work/nsreload" || exit 2
N=$work/nsreload
tok="nsrbus$$"

# listen MODE PATH: a unix socket at PATH, owned by 65534, that closes or keeps each connection.
listen() {
	python3 - "$1" "$2" <<'PY' &
import os, socket, sys, time
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chown(path, 65534, 65534)
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    if mode == "closes":
        c.close()
    else:
        held.append(c)
PY
	listener=$!
	wait_for 5000 test -S "$2"
}

# try CASE ADDRESS: exec as the user with that bus; checks status, time, the one line, survivors.
try() {
	local name=$1 addr=$2 t0 t rc n
	t0=$(($(date +%s%N) / 1000000))
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH=/usr/bin:/bin HOME="$work" \
		DBUS_SESSION_BUS_ADDRESS="$addr" NSRELOAD_TEST_TOKEN="$tok" \
		"$N" exec -- sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo ran' \
		>"$work/$name.out" 2>"$work/$name.err" </dev/null
	rc=$?
	t=$(($(date +%s%N) / 1000000 - t0))
	echo "--- $name: exit $rc after $t ms; stdout: $(cat "$work/$name.out"); stderr:"
	cat "$work/$name.err"
	[ "$rc" = 0 ] && grep -qx ran "$work/$name.out" && ok "$name: the command ran (exit 0)" || bad "$name: exit $rc"
	n=$(grep -c "no delegated scope from systemd" "$work/$name.err")
	[ "$n" = 1 ] && ok "$name: one line says why there is no scope" || bad "$name: $n lines say why there is no scope"
	[ "$t" -lt 15000 ] && ok "$name: fell back in $t ms" || bad "$name: took $t ms"
	wait_for 5000 none_with_env "NSRELOAD_TEST_TOKEN=$tok"
	n=$(count_env "NSRELOAD_TEST_TOKEN=$tok")
	[ "$n" = 0 ] && ok "$name: 0 survivors" || bad "$name: $n survivors"
}

try missing "unix:path=$work/none"
python3 -c 'import os, socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chown(sys.argv[1], 65534, 65534)' "$work/stale"
try refused "unix:path=$work/stale"
listen closes "$work/closes" || bad "closes: no listener"
try closes "unix:path=$work/closes"
kill -KILL "$listener"; listener=""
listen silent "$work/silent" || bad "silent: no listener"
try silent "unix:path=$work/silent"
grep -q "within 5000 ms" "$work/silent.err" && ok "silent: the line says the bus did not answer in time" ||
	bad "silent: the line does not say it timed out"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
