#!/bin/sh
# Job control on the pgroup rung with the pin on (no --no-pin): an
# interactive bash under `nsreload exec --box=pgroup` in a real terminal (a
# pty from python3's pty module). Its jobs must get process groups of their
# own that really exist, the terminal's foreground must be the job's group,
# Ctrl-C must reach the job and the shell must answer afterwards; a pipeline
# must share one group; nothing of the box may survive. And a setsid, which
# the pin still turns into a no-op, is told once with --no-pin. Usage:
# pgroup_jobctl.sh NSRELOAD FIXTURE_DIR
set -u
NSR=$1
command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 77; }
command -v bash >/dev/null 2>&1 || { echo "skip: no bash"; exit 77; }
if ! "$NSR" doctor --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["rungs"]["pgroup"]["works"] else 1)' 2>/dev/null; then
	case ${NSRELOAD_TEST_REQUIRE:-} in
	*pgroup*) echo "FAIL: pgroup rung unavailable but required"; exit 1 ;;
	esac
	echo "skip: pgroup rung unavailable"
	exit 77
fi

# The pin still makes setsid a no-op: the user hears of it once, with the way out.
fail=0
err=$(NSRELOAD_TEST_TOKEN="jobctl$$" "$NSR" exec --box=pgroup -- python3 -c 'import os
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os._exit(0)
    os.waitpid(pid, 0)
print("forked")' 2>&1)
rc=$?
n=$(printf '%s\n' "$err" | grep -c 'setsid().*--no-pin')
if [ "$rc" = 0 ] && [ "$n" = 1 ] && printf '%s\n' "$err" | grep -q forked; then
	echo "ok   a setsid the pin stopped is told once (rc $rc)"
else
	echo "FAIL a setsid the pin stopped is told once: rc $rc, $n notices; output:"
	printf '%s\n' "$err"
	fail=1
fi
err=$("$NSR" exec --box=pgroup --no-pin -- python3 -c 'import os
if os.fork() == 0:
    os.setsid(); os._exit(0)
os.wait()' 2>&1)
if printf '%s\n' "$err" | grep -q 'setsid()'; then
	echo "FAIL --no-pin: no notice expected; output: $err"
	fail=1
else
	echo "ok   --no-pin: no notice"
fi

python3 - "$NSR" "jobctl$$" <<'PY' || fail=1
import os, pty, select, sys, time

nsr, token = sys.argv[1], sys.argv[2]
entry = ("NSRELOAD_TEST_TOKEN=" + token).encode()
fails = []
out = bytearray()

def log(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        fails.append(what)

def ours():
    """pid -> (comm, state, pgid) of every process carrying the test token."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if entry not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        found[int(d)] = (comm, rest[0], int(rest[2]))
    return found

def pump(fd, secs):
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                b = os.read(fd, 4096)
            except OSError:
                return
            if not b:
                return
            out.extend(b)

def wait(cond, secs, fd):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        pump(fd, 0.05)
    return cond()

def sleepers():
    return {p: v for p, v in ours().items() if v[0] == "sleep" and v[1] != "Z"}

env = dict(os.environ)
env.update({"NSRELOAD_TEST_TOKEN": token, "PS1": "$ ", "TERM": "dumb", "HISTFILE": "/dev/null"})
pid, master = pty.fork()
if pid == 0:
    os.execvpe(nsr, [nsr, "exec", "--box=pgroup", "--", "bash", "--norc", "--noprofile", "-i"], env)

def send(s):
    os.write(master, s.encode())

wait(lambda: b"$ " in out, 10, master)
log(b"$ " in out, "bash prompts")

# A foreground job: bash makes it a group of its own and gives it the terminal.
send("sleep 50\n")
wait(lambda: sleepers(), 10, master)
sl = sleepers()
log(len(sl) == 1, "sleep runs (%d found)" % len(sl))
if sl:
    spid, (_, _, spg) = next(iter(sl.items()))
    log(spg == spid, "setpgid made the job its own group (pid %d pgid %d)" % (spid, spg))
    fg = os.tcgetpgrp(master)
    members = [p for p, v in ours().items() if v[2] == fg]
    log(fg == spg and members, "the terminal's foreground %d is the job's group, with %d member(s)" % (fg, len(members)))

# Ctrl-C reaches the job, and the shell answers afterwards.
send("\x03")
log(wait(lambda: not sleepers(), 10, master), "Ctrl-C ends the job")
mark = len(out)
send("echo answer-$((6*7))\n")
log(wait(lambda: b"answer-42" in out[mark:].replace(b"answer-$((6*7))", b""), 10, master), "the shell answers after Ctrl-C")
fg = os.tcgetpgrp(master)
log(any(v[2] == fg for v in ours().values()), "the terminal's foreground %d is a group that exists" % fg)

# A pipeline shares one group, and it can read the terminal (not stopped by SIGTTIN).
send("cat | tr a-z A-Z\n")
def pipe_up():
    o = ours()
    cats = [(p, v) for p, v in o.items() if v[0] in ("cat", "tr") and v[1] != "Z"]
    return len(cats) == 2 and cats
wait(pipe_up, 10, master)
pl = pipe_up()
if pl:
    groups = {v[2] for _, v in pl}
    states = {v[1] for _, v in pl}
    log(len(groups) == 1, "the pipeline is one group %s" % sorted(groups))
    log("T" not in states, "the pipeline is not stopped (states %s)" % sorted(states))
    log(os.tcgetpgrp(master) in groups, "the pipeline has the terminal")
else:
    log(False, "cat | tr runs")
mark = len(out)
send("shout\n")
log(wait(lambda: b"SHOUT" in out[mark:], 10, master), "the pipeline reads the terminal")
send("\x04")
mark = len(out)
send("echo back-$((1+1))\n")
log(wait(lambda: b"back-2" in out[mark:].replace(b"back-$((1+1))", b""), 10, master), "the shell answers after the pipeline")

send("exit\n")
status = None
end = time.time() + 15
while time.time() < end:
    pump(master, 0.1)
    r = os.waitpid(pid, os.WNOHANG)
    if r[0] == pid:
        status = r[1]
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
log(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
    "nsreload exits 0 after exit (status %r)" % status)
left = ours()
log(not left, "nothing of the box survives (%d left)" % len(left))
for p in left:
    try:
        os.kill(p, 9)
    except OSError:
        pass
if fails:
    sys.stdout.write("--- terminal output ---\n" + out.decode(errors="replace") + "\n")
print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
PY
exit $fail
