#!/bin/sh
# proxy.enabled end to end (docs/run.md, "Proxy"): a Python app behind
# nsreload's proxy. The proxy forwards method, path, headers and body with
# X-Forwarded-For and Via appended, keeps the client's connection alive,
# serves /__nsreload/client.js, injects the script into HTML only (with a
# right Content-Length), holds requests across restarts (a request stream
# during two restarts gets no failure and reaches the new run), reports a
# failed build on /__nsreload/status and over SSE (build-failed, build-ok,
# reload), answers a 502 page naming the port and the timeout when the app
# never listens, and refuses a port in use at start (exit 1) and missing
# ports (exit 2). No process is left after SIGTERM (token in environ).
# Usage: proxy_http.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" proxy-http
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || skip_test_or_fail "python3 is not installed"
command -v curl >/dev/null || skip_test_or_fail "curl is not installed"
install_cleanup
tok="nsrproxyhttp$$"

pp=$(free_port)
ap=$(free_port)
while [ "$ap" = "$pp" ]; do ap=$(free_port); done
url="http://127.0.0.1:$pp"
proj="$work/proj"
mkdir -p "$proj/src"
echo 1 >"$proj/src/version.txt"
# The build fails, printing src/fail.txt, while that file exists.
cat >"$proj/.nsreload.toml" <<TOML
[build]
cmd = "mkdir -p tmp && if [ -e src/fail.txt ]; then cat src/fail.txt; exit 1; fi; cp src/version.txt tmp/version.txt"
full_bin = "exec python3 $here/proxy_app.py http $ap tmp/version.txt"
include_ext = ["txt"]
delay = 100
[proxy]
enabled = true
proxy_port = $pp
app_port = $ap
app_start_timeout = 10000
TOML
(
	cd "$proj" || exit 125
	NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --color=never </dev/null >"$work/out.txt" 2>&1
) &
nsr_pid=$!

curl_ok() { curl -sf -m 5 -o /dev/null "$1"; }
status_has() { curl -s -m 5 "$url/__nsreload/status" | grep -qF "$1"; }
plain_is() { [ "$(curl -s -m 5 "$url/plain")" = "version $1" ]; }

if wait_for 20000 curl_ok "$url/plain"; then
	ok "the app answers through the proxy"
else
	bad "no answer through the proxy on $url"
	cat "$work/out.txt"
	echo "$pass passed, $fail failed"
	exit 1
fi
grep -qF "[proxy] listening on http://127.0.0.1:$pp -> app 127.0.0.1:$ap" "$work/out.txt" &&
	ok "the log names the proxy's address and the app's" || bad "no '[proxy] listening on' line"

# 1. Forwarding: method, path, headers, body; X-Forwarded-For and Via appended.
out=$(curl -s -m 5 -d 'hello body' -H 'X-Forwarded-For: 10.9.8.7' -H 'Via: 1.0 upstream' -H 'X-Custom: yes' \
	"$url/echo?q=1")
case $out in
*'"method": "POST"'*'"path": "/echo?q=1"'*) ok "method and path forwarded" ;;
*) bad "method and path: $out" ;;
esac
for want in '"x-custom": "yes"' '"x-forwarded-for": "10.9.8.7, 127.0.0.1"' '"via": "1.0 upstream, 1.1 nsreload"' \
	'"body": "hello body"'; do
	case $out in
	*"$want"*) ok "forwarded: $want" ;;
	*) bad "not forwarded: $want in $out" ;;
	esac
done
out=$(printf 'chunked body' | curl -s -m 5 -X PUT -H 'Transfer-Encoding: chunked' --data-binary @- "$url/echo")
case $out in
*'"method": "PUT"'*'"body": "chunked body"'*) ok "a chunked request body arrives whole" ;;
*) bad "chunked body: $out" ;;
esac

# 2. Keep-alive on the client's side: two requests, one connection.
n=$(curl -s -m 5 -o /dev/null -o /dev/null -w '%{num_connects}\n' "$url/plain" "$url/plain" | tr '\n' ' ')
[ "$n" = "1 0 " ] && ok "keep-alive: the second request reuses the connection" || bad "keep-alive: connects $n"

# 3. The reserved paths and the injection.
curl -s -m 5 -D "$work/h.txt" -o "$work/js.txt" "$url/__nsreload/client.js"
grep -q "EventSource" "$work/js.txt" && grep -qi "^content-type: text/javascript" "$work/h.txt" &&
	ok "/__nsreload/client.js is served" || bad "/__nsreload/client.js: $(head -c 200 "$work/js.txt")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/__nsreload/nope")
[ "$code" = 404 ] && ok "an unknown /__nsreload/ path is 404" || bad "/__nsreload/nope: $code"
curl -s -m 5 -D "$work/h.txt" -o "$work/page.txt" "$url/"
len=$(tr -d '\r' <"$work/h.txt" | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
if grep -qF '<script src="/__nsreload/client.js"></script></body>' "$work/page.txt" &&
	[ "$len" = "$(wc -c <"$work/page.txt" | tr -d ' ')" ]; then
	ok "HTML gets the script before </body>, with its Content-Length"
else
	bad "HTML injection: length $len, page $(cat "$work/page.txt")"
fi
if curl -s -m 5 "$url/plain" | grep -q script || curl -s -m 5 "$url/echo" | grep -q nsreload/client; then
	bad "a non-HTML response was injected"
else
	ok "text/plain and JSON pass untouched"
fi
code=$(curl -s -m 5 -I -o /dev/null -w '%{http_code}' "$url/")
[ "$code" = 200 ] && ok "HEAD answered" || bad "HEAD: $code"

# 4. Requests across two restarts: none fails, and the new run answers.
cat >"$work/stream.sh" <<STREAM
i=0; f=0
while [ \$i -lt 400 ] && [ ! -e "$work/stop" ]; do
	curl -sS -f -m 20 "$url/plain" >>"$work/answers.txt" 2>>"$work/curl-errors.txt" || f=\$((f + 1))
	i=\$((i + 1))
done
echo "\$i \$f" >"$work/stream.txt"
STREAM
: >"$work/answers.txt"
sh "$work/stream.sh" &
stream=$!
sleep 0.5
echo 2 >"$proj/src/version.txt"
wait_for 20000 grep -q "version 2" "$work/answers.txt" || true
echo 3 >"$proj/src/version.txt"
wait_for 20000 grep -q "version 3" "$work/answers.txt" || true
touch "$work/stop"
wait "$stream"
read -r total failed <"$work/stream.txt"
restarts=$(grep -c "running (pid" "$work/out.txt")
if [ "$failed" = 0 ] && grep -q "version 3" "$work/answers.txt" && [ "$restarts" -ge 3 ]; then
	ok "$total requests during 2 restarts: 0 failed, the new run answers"
else
	bad "requests during restarts: $failed of $total failed, runs $restarts, last $(tail -1 "$work/answers.txt")"
	grep -F "[proxy]" "$work/out.txt"
	cat "$work/curl-errors.txt"
fi

# 5. A failed build: status and SSE; then fixed: build-ok and reload.
python3 "$here/proxy_client.py" sse "$pp" 12 >"$work/sse.txt" &
sse=$!
sleep 0.5
printf 'error: boom <b>here</b>\n' >"$proj/src/fail.txt"
if wait_for 15000 status_has '"build": "failed"'; then
	ok "/__nsreload/status reports the failed build"
else
	bad "status after a failed build: $(curl -s -m 5 "$url/__nsreload/status")"
fi
plain_is 3 && ok "the old run keeps serving after a failed build" || bad "the old run: $(curl -s "$url/plain")"
# A client that connects now gets the failure at once.
python3 "$here/proxy_client.py" sse "$pp" 1 >"$work/sse2.txt"
grep -q "event: build-failed" "$work/sse2.txt" && ok "SSE: a new client gets build-failed at once" ||
	bad "SSE on connect: $(cat "$work/sse2.txt")"
rm "$proj/src/fail.txt"
echo 4 >"$proj/src/version.txt"
wait_for 15000 plain_is 4 && ok "the fixed build runs" || bad "after the fix: $(curl -s "$url/plain")"
wait_for 5000 status_has '"build": "ok"' || true
wait "$sse"
if grep -q "event: build-failed" "$work/sse.txt" &&
	grep -qF 'data: {"output": "error: boom <b>here</b>' "$work/sse.txt" &&
	grep -q "event: build-ok" "$work/sse.txt" && grep -q "event: reload" "$work/sse.txt"; then
	ok "SSE: build-failed with the output, build-ok, reload"
else
	bad "SSE events:"
	cat "$work/sse.txt"
fi

# 6. A second nsreload on the same proxy port stops at start; no ports: a configuration error.
mkdir -p "$work/proj2"
(cd "$work/proj2" && "$NSR" run --color=never --proxy.enabled --proxy.proxy_port="$pp" --proxy.app_port="$ap" \
	--build.cmd=true --build.full_bin='sleep 1' </dev/null >"$work/out2.txt" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -qF "cannot listen on 127.0.0.1:$pp (proxy.proxy_port)" "$work/out2.txt" &&
	ok "a proxy port in use: exit 1 with a message" || bad "port in use: rc=$rc $(cat "$work/out2.txt")"
(cd "$work/proj2" && "$NSR" run --color=never --proxy.enabled --build.cmd=true --build.full_bin='sleep 1' \
	</dev/null >"$work/out2.txt" 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "proxy.enabled needs proxy.proxy_port" "$work/out2.txt" &&
	ok "proxy.enabled without ports: exit 2 with a message" || bad "no ports: rc=$rc $(cat "$work/out2.txt")"

sigterm_ends_clean "proxy"

# 7. An app that never listens: a 502 page after proxy.app_start_timeout.
mkdir -p "$work/proj3"
(
	cd "$work/proj3" || exit 125
	NSRELOAD_TEST_TOKEN=$tok exec "$NSR" run --color=never --proxy.enabled --proxy.proxy_port="$pp" \
		--proxy.app_port="$ap" --proxy.app_start_timeout=1000 --build.cmd=true \
		--build.full_bin='exec sleep 1000' </dev/null >"$work/out3.txt" 2>&1
) &
nsr_pid=$!
wait_for 10000 grep -q "running (pid" "$work/out3.txt" || true
code=$(curl -s -m 20 -o "$work/502.txt" -w '%{http_code}' "$url/x")
if [ "$code" = 502 ] && grep -qF "127.0.0.1:$ap" "$work/502.txt" && grep -q "1000 ms" "$work/502.txt"; then
	ok "an app that never listens: a 502 page naming its port and the timeout"
else
	bad "no listener: $code $(cat "$work/502.txt")"
fi
sigterm_ends_clean "proxy, no listener"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
