#!/bin/sh
# The front's tunnels end to end (docs/run.md, "Proxy"): a WebSocket through
# proxy.enabled echoes; when the run it reached ends, the tunnel closes, and
# the next connection reaches the new run. socket.mode = "tcp": connections
# to socket.listen are spliced to socket.app_port, and a stream of them
# during two restarts is held, never refused, and reaches the new run. No
# process is left after SIGTERM (token in environ).
# Usage: proxy_tunnel.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" proxy-tunnel
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || skip_test_or_fail "python3 is not installed"
command -v curl >/dev/null || skip_test_or_fail "curl is not installed"
install_cleanup
tok="nsrproxytun$$"
client="$here/proxy_client.py"

pp=$(free_port)
ap=$(free_port)
while [ "$ap" = "$pp" ]; do ap=$(free_port); done

# start_run MODE DIR FLAGS...: the app in mode MODE (http or tcp) on $ap, its version in DIR/src/version.txt.
start_run() {
	mode=$1
	proj=$2
	shift 2
	mkdir -p "$proj/src"
	echo 1 >"$proj/src/version.txt"
	(
		cd "$proj" || exit 125
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --color=never --build.delay=100 --build.include_ext=txt \
			--build.cmd="mkdir -p tmp && cp src/version.txt tmp/version.txt" \
			--build.full_bin="exec python3 $here/proxy_app.py $mode $ap tmp/version.txt" "$@" \
			</dev/null >"$proj/../out-$mode.txt" 2>&1
	) &
	nsr_pid=$!
}
ws_is() { [ "$(python3 "$client" ws "$pp" "$2" 2>/dev/null)" = "v$1 $2" ]; }
tcp_is() { [ "$(python3 "$client" tcp "$pp" "$2" 2>/dev/null)" = "v$1 $2" ]; }

# 1. WebSocket through the proxy.
start_run http "$work/ws/proj" --proxy.enabled --proxy.proxy_port="$pp" --proxy.app_port="$ap"
if wait_for 20000 ws_is 1 hello; then
	ok "WebSocket: 101 through the proxy, then bytes both ways"
else
	bad "WebSocket: $(python3 "$client" ws "$pp" hello 2>&1)"
	cat "$work/ws/out-http.txt"
fi
python3 "$client" wsclose "$pp" >"$work/wsclose.txt" &
wsc=$!
wait_for 5000 grep -q v1 "$work/wsclose.txt" || true
echo 2 >"$work/ws/proj/src/version.txt"
wait "$wsc"
[ "$(tr '\n' ' ' <"$work/wsclose.txt")" = "v1 closed " ] && ok "WebSocket: the old run's tunnel closes with it" ||
	bad "WebSocket across a restart: $(cat "$work/wsclose.txt")"
wait_for 20000 ws_is 2 again && ok "WebSocket: a new connection reaches the new run" ||
	bad "WebSocket after the restart: $(python3 "$client" ws "$pp" again 2>&1)"
sigterm_ends_clean "WebSocket"

# 2. tcp mode: held across restarts, spliced.
start_run tcp "$work/tcp/proj" --socket.mode=tcp --listen="127.0.0.1:$pp" --socket.app_port="$ap"
if wait_for 20000 tcp_is 1 hello; then
	ok "tcp mode: the connection is spliced to the app"
else
	bad "tcp mode: $(python3 "$client" tcp "$pp" hello 2>&1)"
	cat "$work/tcp/out-tcp.txt"
fi
grep -qF "[proxy] listening on tcp 127.0.0.1:$pp -> app 127.0.0.1:$ap" "$work/tcp/out-tcp.txt" &&
	ok "tcp mode: the log names both addresses" || bad "tcp mode: no '[proxy] listening on tcp' line"
cat >"$work/stream.sh" <<STREAM
i=0; f=0
while [ \$i -lt 300 ] && [ ! -e "$work/stop" ]; do
	out=\$(python3 "$client" tcp "$pp" m\$i 2>&1)
	case \$out in
	v*" m\$i") echo "\$out" >>"$work/answers.txt" ;;
	*) f=\$((f + 1)); echo "\$out" >>"$work/errors.txt" ;;
	esac
	i=\$((i + 1))
done
echo "\$i \$f" >"$work/stream.txt"
STREAM
: >"$work/answers.txt"
sh "$work/stream.sh" &
stream=$!
sleep 0.5
echo 2 >"$work/tcp/proj/src/version.txt"
wait_for 20000 grep -q "^v2 " "$work/answers.txt" || true
echo 3 >"$work/tcp/proj/src/version.txt"
wait_for 20000 grep -q "^v3 " "$work/answers.txt" || true
touch "$work/stop"
wait "$stream"
read -r total failed <"$work/stream.txt"
if [ "$failed" = 0 ] && grep -q "^v3 " "$work/answers.txt"; then
	ok "tcp mode: $total connections during 2 restarts: 0 failed, the new run answers"
else
	bad "tcp mode during restarts: $failed of $total failed; last $(tail -1 "$work/answers.txt")"
	cat "$work/errors.txt" 2>/dev/null | head -5
fi
sigterm_ends_clean "tcp mode"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
