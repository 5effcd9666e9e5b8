#!/bin/sh
# The live-reload proxy in a real browser (issue 16): a bare 'nsreload' with [proxy] enabled over a tiny
# app (python3 serving the page its build copies from page.src; the build fails while page.src holds
# "BROKEN"), and Debian's chromium driven by puppeteer-core (tests/browser/proxy_browser.js), one launch:
#   reload     an edit to page.src reloads the open page by itself (the test never calls reload)
#   overlay    a broken build shows the overlay with the build's output, also in a page opened then;
#              the page is not reloaded under it; markup in the output shows as text
#   fixed      the next good build removes the overlay and the page shows the new text
#   gzip, br   pre-compressed pages (Content-Encoding gzip and br) are injected: the client script runs
# then SIGTERM: nsreload exits 0 and nothing it started is left (the front included).
# Skips (77) without chromium; without node or tests/browser/node_modules (scripts/test runs
# npm ci there) it skips too, or fails under NSRELOAD_TEST_REQUIRE.
# Usage: proxy_browser.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
browser_dir=$(cd "$(dirname "$0")/../browser" && pwd)

chromium=${NSRELOAD_CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
	echo "skip: no chromium (scripts/install-deps.sh installs Debian's)"
	exit 77
fi
command -v node >/dev/null || skip_test_or_fail "chromium is here but node is not (scripts/install-deps.sh)"
[ -d "$browser_dir/node_modules/puppeteer-core" ] ||
	skip_test_or_fail "chromium is here but $browser_dir/node_modules is not: run 'npm ci' there (scripts/test does)"

test_begin "$1" proxy-browser
make_cgroup_parent nsreload-test-proxy-browser
install_cleanup
tok="proxy-browser-$$"

# Two free ports above 20000 on 127.0.0.1 (bound for a moment to be sure, then given to nsreload).
ports=$(python3 -c '
import random, socket
got = []
while len(got) < 2:
    p = random.randint(20001, 60999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    if p not in got:
        got.append(p)
print(*got)
') || exit 2
proxy_port=${ports% *}
app_port=${ports#* }

app="$work/app"
mkdir -p "$app"
cat >"$app/app.py" <<'EOF'
# The app under the proxy: the built page at /, pre-compressed pages at /gz and /br, read at each request.
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = {"/": ("index.html", None), "/gz": ("gz.html.gz", "gzip"), "/br": ("br.html.br", "br")}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        route = ROUTES.get(self.path)
        if route is None:
            self.send_error(404)
            return
        with open(route[0], "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if route[1]:
            self.send_header("Content-Encoding", route[1])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
# The build: "compiles" page.src into index.html, and fails like a compiler while it holds BROKEN.
cat >"$app/build.sh" <<'EOF'
echo "building page.src"
if grep -q BROKEN page.src; then
	# Markup in a compiler message is text: the overlay must show it, not run it.
	echo "page.src:1: error: the page holds BROKEN <img src=x onerror=window.__nsreloadXss=1>" >&2
	exit 1
fi
{ printf '<!doctype html><html><head><title>nsreload test</title></head>\n<body><p id="msg">'
  tr -d '\n' <page.src
  printf '</p></body>\n</html>\n'
} >index.html.tmp && mv index.html.tmp index.html
EOF
printf 'v1\n' >"$app/page.src"
printf '<!doctype html><html><body><p id="msg">gzip page</p></body></html>\n' >"$app/gz.html"
printf '<!doctype html><html><body><p id="msg">br page</p></body></html>\n' >"$app/br.html"
# The encoded pages, made with node's zlib (python3 has no brotli): what a server with precompressed assets sends.
(cd "$app" && node -e '
const fs = require("fs"), z = require("zlib");
fs.writeFileSync("gz.html.gz", z.gzipSync(fs.readFileSync("gz.html")));
fs.writeFileSync("br.html.br", z.brotliCompressSync(fs.readFileSync("br.html")));
') || exit 2
cat >"$app/.nsreload.toml" <<EOF
tmp_dir = "tmp"
[build]
cmd = "sh ./build.sh"
full_bin = "exec python3 app.py $app_port"
include_ext = ["src"]
delay = 50
[proxy]
enabled = true
proxy_port = $proxy_port
app_port = $app_port
EOF

log="$work/nsreload.log"
(
	cd "$app" || exit 125
	[ -n "$parent" ] && export NSRELOAD_CGROUP_PARENT="$parent"
	NSRELOAD_TEST_TOKEN=$tok exec "$NSR" --color=never </dev/null >"$log" 2>&1
) &
nsr_pid=$!

# One chromium for every case; each wait inside is bounded (15 s), and the whole run by timeout.
if timeout 120 node "$browser_dir/proxy_browser.js" "$chromium" "http://127.0.0.1:$proxy_port" "$app" \
	"$work/chromium-profile" >"$work/browser.out" 2>&1; then
	browser_rc=0
else
	browser_rc=$?
fi
while IFS= read -r line; do
	case $line in
	"ok   "*) ok "${line#ok   }" ;;
	"FAIL "*) bad "${line#FAIL }" ;;
	*) echo "  $line" ;;
	esac
done <"$work/browser.out"
[ "$browser_rc" = 0 ] || [ "$fail" -gt 0 ] || bad "the browser script exited $browser_rc"

sigterm_ends_clean "proxy_browser"
# Under ASan/UBSan (scripts/test's second build) the front's reports land in nsreload's output, not its exit code.
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
	bad "a sanitizer report in nsreload's output (the front's included)"
else
	ok "no sanitizer report in nsreload's output (the front's included)"
fi
if [ "$fail" -gt 0 ]; then
	echo "--- nsreload's output"
	cat "$log"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
