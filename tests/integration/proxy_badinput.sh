#!/bin/sh
# The proxy under bad input (docs/run.md, "Proxy", limits): a malformed
# request gets 400 and the connection closes, a header section over 64 KiB
# gets 431, a client that never finishes its headers (slowloris) gets 408
# and is closed after about 10 s, a body over the limit announced by
# Content-Length gets 413; meanwhile, and after, other clients are served.
# The front's death is told once and nsreload goes on. No process is left
# after SIGTERM (token in environ).
# Usage: proxy_badinput.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" proxy-bad
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || skip_test_or_fail "python3 is not installed"
command -v curl >/dev/null || skip_test_or_fail "curl is not installed"
install_cleanup
tok="nsrproxybad$$"
client="$here/proxy_client.py"

pp=$(free_port)
ap=$(free_port)
while [ "$ap" = "$pp" ]; do ap=$(free_port); done
url="http://127.0.0.1:$pp"
proj="$work/proj"
mkdir -p "$proj/src"
echo 1 >"$proj/src/version.txt"
(
	cd "$proj" || exit 125
	NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --color=never --build.include_ext=txt \
		--build.cmd="mkdir -p tmp && cp src/version.txt tmp/version.txt" \
		--build.full_bin="exec python3 $here/proxy_app.py http $ap tmp/version.txt" \
		--proxy.enabled --proxy.proxy_port="$pp" --proxy.app_port="$ap" </dev/null >"$work/out.txt" 2>&1
) &
nsr_pid=$!
plain_ok() { [ "$(curl -s -m 5 "$url/plain")" = "version 1" ]; }
if ! wait_for 20000 plain_ok; then
	bad "no answer through the proxy"
	cat "$work/out.txt"
	echo "$pass passed, $fail failed"
	exit 1
fi

# raw WHAT: the first line of what the proxy answers to stdin's bytes, and whether it closed.
raw() { python3 "$client" raw "$pp" | head -1 | tr -d '\r'; }

# A slowloris client, started first: it holds its connection while the others are served.
python3 "$client" slow "$pp" 30 >"$work/slow.txt" &
slow=$!

got=$(printf 'GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n' | raw)
[ "$got" = "HTTP/1.1 400 Bad Request" ] && ok "malformed header: 400 and closed" || bad "malformed: '$got'"
got=$(printf 'NOT A REQUEST\r\n\r\n' | raw)
[ "$got" = "HTTP/1.1 400 Bad Request" ] && ok "malformed request line: 400 and closed" || bad "request line: '$got'"
got=$(python3 -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 70000 + "\r\n\r\n")' | raw)
[ "$got" = "HTTP/1.1 431 Request Header Fields Too Large" ] && ok "a 70 KB header: 431 and closed" ||
	bad "oversized header: '$got'"
got=$(python3 -c 'import sys; sys.stdout.write("GET / HTTP/1.1\r\nHost: x\r\n" + "X-Many: b\r\n" * 300 + "\r\n")' | raw)
[ "$got" = "HTTP/1.1 431 Request Header Fields Too Large" ] && ok "300 headers: 431 and closed" ||
	bad "many headers: '$got'"
got=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n' | raw)
[ "$got" = "HTTP/1.1 413 Content Too Large" ] && ok "a 100 GB Content-Length: 413 and closed" ||
	bad "huge body: '$got'"
got=$(printf 'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | python3 "$client" raw "$pp" | tail -1)
[ "$got" = "version 1" ] && ok "a good request on a raw connection is served" || bad "raw good request: '$got'"
plain_ok && ok "other clients are served while the slow one waits" || bad "not served next to a slow client"

wait "$slow"
[ "$(tr -d '\r' <"$work/slow.txt" | tr '\n' ' ')" = "HTTP/1.1 408 Request Timeout closed " ] &&
	ok "slowloris: 408 and closed" || bad "slowloris: $(cat "$work/slow.txt")"
plain_ok && ok "still serving after all of it" || bad "not serving after the bad input"
curl -s -m 5 "$url/__nsreload/status" | grep -q '"app": "running"' && ok "status: the app is running" ||
	bad "status: $(curl -s -m 5 "$url/__nsreload/status")"

# The front dies: said once, and nsreload goes on (rebuilds, restarts) without it.
fpid=$(curl -s -m 5 "$url/__nsreload/status" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
# The front reads the network: it keeps none of nsreload's fds (cgroups, watcher, terminal) and, under
# root, not root's identity.
if [ -n "$fpid" ]; then
	ffds=$(ls -l "/proc/$fpid/fd" 2>/dev/null | awk 'NR > 1 { print $NF }' | grep -v -e '^socket:' -e '^anon_inode:' \
		-e '^/dev/null$' -e "^$work/" | tr '\n' ' ')
	fuid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$fpid/status")
	if [ -z "$ffds" ]; then ok "the front holds only its sockets, epoll, timer and stdio"; else
		bad "the front holds nsreload's fds: $ffds"; fi
	if [ "$(id -u)" != 0 ] || [ "$fuid" = 65534655346553465534 ]; then ok "the front runs as nobody under root"; else
		bad "the front runs as uid $fuid under root"; fi
fi
if [ -n "$fpid" ] && [ "$(cat "/proc/$fpid/environ" 2>/dev/null | tr '\0' '\n' | grep -cxF "NSRELOAD_TEST_TOKEN=$tok")" = 1 ]; then
	kill -KILL "$fpid"
	wait_for 5000 grep -q "the proxy (pid $fpid) ended" "$work/out.txt" || true
	echo 2 >"$proj/src/version.txt"
	wait_for 10000 [ "$(grep -c "running (pid" "$work/out.txt")" -ge 2 ] || true
	if [ "$(grep -c "the proxy (pid $fpid) ended" "$work/out.txt")" = 1 ] && pid_alive "$nsr_pid" &&
		[ "$(grep -c "running (pid" "$work/out.txt")" -ge 2 ]; then
		ok "the front's death is told once; nsreload goes on and restarts the app"
	else
		bad "after the front's death: $(tail -5 "$work/out.txt")"
	fi
else
	bad "no front pid in /__nsreload/status ($fpid)"
fi

sigterm_ends_clean "proxy, bad input"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
