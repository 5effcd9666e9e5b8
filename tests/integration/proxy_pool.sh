#!/bin/sh
# The proxy's pool of keep-alive connections to the app (src/proxy/front.h):
# requests from several clients, one after the other, reach the app on one
# connection; a pooled connection that the app closes as it is reused costs
# a GET a second try on a new connection, not a failure; a POST never takes
# a pooled connection (it could not go twice); an answer with
# "Connection: close" ends its connection; after a restart of the run the
# next request comes on a new connection even though the app (here outside
# nsreload, so that its connections survive) kept the old one open.
# Usage: proxy_pool.sh NSRELOAD [FIXTURE_DIR]
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" proxy-pool
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || skip_test_or_fail "python3 is not installed"
command -v curl >/dev/null || skip_test_or_fail "curl is not installed"
install_cleanup
app_pid=""
stop_app() {
	[ -n "$app_pid" ] && kill -TERM "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
	app_pid=""
}
trap 'stop_app; test_cleanup' EXIT
trap 'stop_app; test_cleanup; exit 130' INT
trap 'stop_app; test_cleanup; exit 143' TERM
tok="nsrproxypool$$"

pp=$(free_port)
ap=$(free_port)
while [ "$ap" = "$pp" ]; do ap=$(free_port); done
url="http://127.0.0.1:$pp"
applog="$work/app.log"
: >"$applog"
python3 "$here/proxy_pool_app.py" "$ap" "$applog" &
app_pid=$!
proj="$work/proj"
mkdir -p "$proj"
echo 1 >"$proj/restart.txt"
cat >"$proj/.nsreload.toml" <<TOML
[build]
cmd = "true"
full_bin = "exec sleep 1000"
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
# The ports (connections) the app saw requests for PATH on, one a line, in order.
ports_of() { awk -v m="$1" -v p="$2" '$1 == m && $2 == p { print $3 }' "$applog"; }
status_has() { curl -s -m 5 "$url/__nsreload/status" | grep -qF "$1"; }
runs_at_least() { [ "$(grep -c "running (pid" "$work/out.txt")" -ge "$1" ]; }

if wait_for 20000 curl_ok "$url/ready"; then
	ok "the app answers through the proxy"
else
	bad "no answer through the proxy on $url"
	cat "$work/out.txt"
	echo "$pass passed, $fail failed"
	exit 1
fi

# 1. Five clients one after the other: one connection to the app.
codes=""
for i in 1 2 3 4 5; do
	codes="$codes$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/a") "
done
n=$(ports_of GET /a | sort -u | wc -l)
[ "$codes" = "200 200 200 200 200 " ] && [ "$n" = 1 ] &&
	ok "five clients one after the other: one connection to the app" ||
	bad "pool: answers $codes, $n connections to the app ($(ports_of GET /a | tr '\n' ' '))"

# 2. The app drops the pooled connection as the next GET comes on it: the GET goes again, on a new one.
curl -s -m 5 -o /dev/null "$url/drop-next"
out=$(curl -s -m 10 -w ' %{http_code}' "$url/b")
b=$(ports_of GET /b | tr '\n' ' ')
set -- $b
case $out in
"port "*" 200") [ $# = 2 ] && [ "$1" != "$2" ] && ok "a pooled connection closed by the app: the GET went again on a new one" ||
	bad "GET /b answered, but the app saw it on: $b" ;;
*) bad "GET /b on a dropped pooled connection: '$out' (the app saw it on: $b)" ;;
esac

# 3. A POST never takes a pooled connection: the app would drop it, and a POST cannot go twice.
curl -s -m 5 -o /dev/null "$url/drop-next"
seen=$(awk '{ print $3 }' "$applog" | sort -u)
out=$(curl -s -m 10 -w ' %{http_code}' -d 'once' "$url/p")
pport=$(ports_of POST /p)
case $out in
"port "*" 200")
	if [ "$(echo "$pport" | wc -l)" = 1 ] && ! echo "$seen" | grep -qx "$pport"; then
		ok "a POST goes on a new connection, once"
	else
		bad "POST /p on: $pport (connections seen before: $(echo "$seen" | tr '\n' ' '))"
	fi
	;;
*) bad "POST /p after /drop-next: '$out'" ;;
esac

# 4. An answer with "Connection: close" does not leave its connection in the pool.
curl -s -m 5 -o /dev/null "$url/closehdr"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$url/c")
[ "$code" = 200 ] && [ "$(ports_of GET /c)" != "$(ports_of GET /closehdr)" ] &&
	ok "Connection: close from the app: the next request on a new connection" ||
	bad "after Connection: close: $code, /closehdr on $(ports_of GET /closehdr), /c on $(ports_of GET /c)"

# 5. A restart empties the pool, though the app (not restarted here) keeps its connections open.
curl -s -m 5 -o /dev/null "$url/e1"
curl -s -m 5 -o /dev/null "$url/e2"
echo 2 >"$proj/restart.txt"
wait_for 20000 runs_at_least 2 || true
wait_for 10000 status_has '"app": "running"' || true
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$url/e3")
e12=$(ports_of GET /e2)
e3=$(ports_of GET /e3)
if [ "$code" = 200 ] && [ -n "$e3" ] && [ "$e3" != "$e12" ] && runs_at_least 2; then
	ok "after a restart the next request comes on a new connection"
else
	bad "after a restart: $code, /e1 and /e2 on $(ports_of GET /e1) $e12, /e3 on $e3, runs $(grep -c "running (pid" "$work/out.txt")"
fi
[ "$(ports_of GET /e1)" = "$e12" ] && ok "before the restart, the pool served /e1 and /e2 on one connection" ||
	bad "/e1 on $(ports_of GET /e1), /e2 on $e12"

sigterm_ends_clean "proxy pool"
stop_app

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
