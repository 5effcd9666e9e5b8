#!/bin/sh
# Socket hand-off end to end (docs/run.md, "Socket hand-off"): nsreload run
# with --listen (and [socket] listen in .nsreload.toml) binds 127.0.0.1:PORT
# once and passes it to every run of a tiny python3 app as fd 3, with
# LISTEN_FDS=1 and LISTEN_PID equal to the app's own pid. On every rung the
# machine has (cgroup2, pidns, cgroup2+pidns, pgroup, cgroup1 where present):
# a stream of requests from 4 clients during 3 restarts gets 0 failures
# (connections made while no run accepts wait in the backlog, and the app
# serves every connection it accepted before it exits on SIGTERM); the build
# gets neither the socket nor LISTEN_*; after SIGTERM no process is left and
# the port is closed. Usage: socket_handoff.sh NSRELOAD
set -u
. "$(dirname "$0")/../lib/testlib.sh"
test_begin "$1" socket-handoff
tok_base="nsrsock$$"
command -v python3 >/dev/null || skip_test_or_fail "no python3"

make_cgroup_parent nsreload-test-sock
install_cleanup

# A port above 20000, free on 127.0.0.1 now.
file_nonempty() { [ -s "$1" ]; }

free_port() {
	python3 -c 'import socket,os
for p in range(20000 + os.getpid() % 20000, 65536):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()'
}

# The app: serves HTTP/1.0 on fd 3 only, one connection at a time; on SIGTERM
# it finishes the connection it holds and exits. Connections it never accepted
# stay in the socket's backlog for the next run.
cat >"$work/app.py" <<'PY'
import os, signal, socket, sys
gen = open("src/gen").read().strip()
ctl = sys.argv[1]
stop = False
def term(sig, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, term)
with open(f"{ctl}/pid.{gen}.tmp", "w") as f:
    f.write(f"{os.environ.get('LISTEN_FDS', '-')} {os.environ.get('LISTEN_PID', '-')} {os.getpid()} "
            f"{os.environ.get('LISTEN_FDNAMES', '-')} {socket.socket(fileno=os.dup(3)).getsockname()[1]}\n")
os.rename(f"{ctl}/pid.{gen}.tmp", f"{ctl}/pid.{gen}")
ls = socket.socket(fileno=3)
ls.settimeout(0.1)
body = f"gen {gen} pid {os.getpid()}\n".encode()
while not stop:
    try:
        c, _ = ls.accept()
    except (socket.timeout, InterruptedError):
        continue
    c.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()
PY

# The client: N threads, one connection per request, until $ctl/stop exists; prints "ok FAILED GENS".
cat >"$work/client.py" <<'PY'
import os, socket, sys, threading, time
port, ctl, n = int(sys.argv[1]), sys.argv[2], 4
ok = fail = 0
gens = set()
errs = []
lock = threading.Lock()
def worker():
    global ok, fail
    while not os.path.exists(f"{ctl}/stop"):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=20)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            s.close()
            good = data.startswith(b"HTTP/1.0 200 ")
            with lock:
                if good:
                    ok += 1
                    gens.add(data.split(b"gen ")[1].split()[0].decode())
                else:
                    fail += 1
                    errs.append(repr(data[:60]))
        except OSError as e:
            with lock:
                fail += 1
                errs.append(repr(e))
            time.sleep(0.01)
ts = [threading.Thread(target=worker) for _ in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print(ok, fail, ",".join(sorted(gens)), "; ".join(errs[:5]))
PY

run_rung() {
	rung=$1
	how=$2 # flag: --listen; toml: [socket] listen in .nsreload.toml
	tok="$tok_base-${rung%%+*}"
	proj="$work/$rung/proj"
	ctl="$work/$rung/ctl"
	log="$work/$rung/log.json"
	mkdir -p "$proj/src" "$ctl"
	cp "$work/app.py" "$proj/src/app.py"
	echo 1 >"$proj/src/gen"
	port=$(free_port)
	# The build writes down its own environment and fds: it must get neither the socket nor LISTEN_*.
	{
		echo '[build]'
		echo "cmd = \"env >$ctl/build.env; ls -l /proc/\$\$/fd/ >$ctl/build.fds\""
		echo "entrypoint = [\"python3\", \"src/app.py\", \"$ctl\"]"
		echo 'include_ext = ["py"]'
		echo 'include_file = ["src/gen"]'
		echo 'delay = 50'
		if [ "$how" = toml ]; then
			echo '[socket]'
			echo "listen = [\"127.0.0.1:$port\"]"
		fi
	} >"$proj/.nsreload.toml"
	listen=""
	[ "$how" = flag ] && listen="--listen=$port"
	cgp=""
	case $rung in cgroup2*) [ -n "$parent" ] && cgp="--cgroup-parent=$parent" ;; esac
	(
		cd "$proj" || exit 125
		# shellcheck disable=SC2086
		NSRELOAD_TEST_TOKEN=$tok exec "$NSR" $cgp $listen --log-format=json --color=never --box=$rung \
			--stop-timeout=5s </dev/null >"$work/$rung/out.txt" 2>"$log"
	) &
	nsr_pid=$!
	if ! wait_for 15000 file_exists "$ctl/pid.1"; then
		bad "$rung: the first run never started ($(tail -3 "$log" | tr '\n' ' '))"
		sigterm_ends_clean "$rung"
		return
	fi
	python3 "$work/client.py" "$port" "$ctl" >"$ctl/client.txt" 2>&1 &
	client=$!
	sleep 0.5
	for g in 2 3 4; do
		echo $g >"$proj/src/gen"
		wait_for 15000 file_exists "$ctl/pid.$g" || bad "$rung: generation $g never ran"
		sleep 0.5
	done
	touch "$ctl/stop"
	wait "$client"
	read -r served failed gens errs <"$ctl/client.txt"
	[ "$failed" = 0 ] && [ "$served" -gt 0 ] && [ "$gens" = "1,2,3,4" ] &&
		ok "$rung ($how): $served requests during 3 restarts, 0 failed, served by runs $gens" ||
		bad "$rung ($how): $served served, $failed failed, runs $gens: $errs"
	bad_pid=""
	for g in 1 2 3 4; do
		read -r fds lpid pid names sport <"$ctl/pid.$g"
		[ "$fds" = 1 ] && [ "$lpid" = "$pid" ] && [ "$names" = nsreload ] && [ "$sport" = "$port" ] ||
			bad_pid="$bad_pid gen $g: LISTEN_FDS=$fds LISTEN_PID=$lpid pid=$pid names=$names port=$sport;"
	done
	[ -z "$bad_pid" ] && ok "$rung: every run had fd 3 on port $port, LISTEN_FDS=1, LISTEN_PID = its pid" ||
		bad "$rung:$bad_pid"
	if ! grep -q '^LISTEN_' "$ctl/build.env" && ! grep -q 'socket:' "$ctl/build.fds"; then
		ok "$rung: the build had no socket and no LISTEN_*"
	else
		bad "$rung: the build got $(grep '^LISTEN_' "$ctl/build.env" | tr '\n' ' ') $(grep -c socket: "$ctl/build.fds") sockets"
	fi
	sigterm_ends_clean "$rung"
	if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=2)" 2>/dev/null; then
		bad "$rung: port $port still accepts after nsreload exited"
	else
		ok "$rung: port $port closed after nsreload exited"
	fi
}

# A bind error stops the start: exit 1, and the message names the address.
port=$(free_port)
python3 -c "import socket,time,sys; s=socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(); sys.stdout.write('x'); sys.stdout.flush(); time.sleep(20)" >"$work/holder.out" &
holder=$!
wait_for 5000 file_nonempty "$work/holder.out"
mkdir -p "$work/busy" && (cd "$work/busy" && "$NSR" run --listen=$port --box=pgroup --build.cmd=true --build.full_bin='sleep 100' </dev/null >/dev/null 2>"$work/busy.err")
rc=$?
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
grep -q "cannot listen on $port (socket.listen, flag --listen): .*in use" "$work/busy.err" && [ "$rc" = 1 ] &&
	ok "a port in use: exit 1, the message names it" || bad "a port in use: rc=$rc, $(cat "$work/busy.err")"
(cd "$work/busy" && "$NSR" run --listen=nohost:80 --box=pgroup --build.cmd=true </dev/null >/dev/null 2>"$work/bad.err")
rc=$?
grep -q 'socket.listen (flag --listen): "nohost:80": ' "$work/bad.err" && [ "$rc" = 2 ] &&
	ok "a bad address: exit 2, the message names it" || bad "a bad address: rc=$rc, $(cat "$work/bad.err")"

how=flag
for rung in cgroup2 pidns cgroup2+pidns pgroup cgroup1; do
	if ! "$NSR" exec --box=$rung -- true 2>/dev/null; then
		case ",${NSRELOAD_TEST_REQUIRE:-}," in
		*",${rung%%+*},"*) bad "$rung: not available here, but required" ;;
		*) echo "skip $rung: not available here" ;;
		esac
		continue
	fi
	run_rung "$rung" "$how"
	# Half the rungs take the address from the file.
	[ "$how" = flag ] && how=toml || how=flag
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
