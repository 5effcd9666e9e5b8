#!/usr/bin/env python3
"""
Ctrl-Z, fg and bg under `nsreload exec` on a real terminal (a pty), driven
as a job-control shell drives a job: this process makes a session of its own
on a fresh pty, starts nsreload in a process group of its own as the
terminal's foreground, types into the pty's master and reads the screen
from it, and waits for nsreload with WUNTRACED. exec_jobctl.sh runs it.

Usage: exec_jobctl.py NSRELOAD RUNG SCENARIO TOKEN
Prints "ok   ..." / "FAIL ..." lines; exits 0 when every check passed, 1
otherwise. Survivors are found by TOKEN in /proc/*/environ.

Scenarios:
  cat    Ctrl-Z stops nsreload (state T, SIGTSTP), the terminal is back in
         nsreload's group with its modes; fg gives it back to the box and
         input reaches cat; bg continues the box without the terminal, so
         cat's read stops it with SIGTTIN and nsreload stops the same way;
         fg again; EOF ends it with exit 0.
  vi     a full-screen-like program (raw mode) that stops itself with
         kill(0, SIGTSTP) as vi does, and resumes on SIGCONT.
  modes  the box changed the terminal's modes (stty -echo) and is stopped
         by the terminal's SIGTSTP: nsreload restores the modes it started
         with on Ctrl-Z and the box's on fg.
  bash   an interactive bash in the box stops its own job (sleep) on
         Ctrl-Z: that is bash's business, nsreload must not stop.
"""
import os
import select
import signal
import sys
import termios
import time
import fcntl

NSR, RUNG, SCENARIO, TOKEN = sys.argv[1:5]
WAIT = 15.0  # a generous readiness wait, never a timing assertion

VI_LIKE = r"""
import os, signal, sys, termios, tty
fd = 0
orig = termios.tcgetattr(fd)
tty.setraw(fd)
os.write(1, b"READY\r\n")
while True:
    b = os.read(fd, 1)
    if not b or b == b"q":
        termios.tcsetattr(fd, termios.TCSADRAIN, orig)
        sys.exit(0)
    if b == b"\x1a":
        termios.tcsetattr(fd, termios.TCSADRAIN, orig)
        os.write(1, b"SUSPENDING\r\n")
        os.kill(0, signal.SIGTSTP)
        tty.setraw(fd)
        os.write(1, b"RESUMED\r\n")
    else:
        os.write(1, b"GOT:" + b + b"\r\n")
"""

COMMANDS = {
    "cat": ["cat"],
    "vi": [sys.executable, "-c", VI_LIKE],
    "modes": ["sh", "-c", "stty -echo; cat; stty echo"],
    "bash": ["bash", "--norc", "--noprofile", "-i"],
}

results = []


def check(cond, what):
    results.append(bool(cond))
    print(("ok   " if cond else "FAIL ") + "%s %s: %s" % (RUNG, SCENARIO, what), flush=True)
    return bool(cond)


class Screen:
    def __init__(self, master):
        self.master = master
        self.buf = b""

    def pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return False
            self.buf += data
            return bool(data)
        return False

    def wait_for(self, text, count=1):
        """True once text appears count times in what was read since the last mark."""
        deadline = time.monotonic() + WAIT
        while self.buf.count(text) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.2))
        return True

    def mark(self):
        self.buf = b""

    def type(self, data):
        os.write(self.master, data)


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def token_pids(exclude=()):
    pids = []
    needle = ("NSRELOAD_TEST_TOKEN=" + TOKEN).encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude:
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


# nsreload's own helpers carry the token too: its init (pidns rungs) and its death guard (cgroup2).
OWN_HELPERS = ("nsreload-init", "nsreload-guard")


def box_states(nsr):
    """The state of each of the box's processes but nsreload's own helpers, by name."""
    return {(p, comm(p)): proc_state(p) for p in token_pids(exclude=(nsr,)) if comm(p) not in OWN_HELPERS}


def wait_status(pid, stopped_ok=True):
    """Waits (WUNTRACED) for a stop or an exit of pid; None when nothing came within WAIT."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        p, st = os.waitpid(pid, os.WUNTRACED | os.WNOHANG)
        if p == pid:
            return st
        time.sleep(0.02)
    return None


def until(pred):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def stopped_with(st, sig):
    return st is not None and os.WIFSTOPPED(st) and os.WSTOPSIG(st) == sig


def describe(st):
    if st is None:
        return "still running after %ds" % WAIT
    if os.WIFSTOPPED(st):
        return "stopped by %s" % signal.Signals(os.WSTOPSIG(st)).name
    if os.WIFEXITED(st):
        return "exit %d" % os.WEXITSTATUS(st)
    return "killed by %s" % signal.Signals(os.WTERMSIG(st)).name


class Shell:
    """The job-control shell's half: the session, the terminal, nsreload's group."""

    def __init__(self, argv):
        master, slave = os.openpty()
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        self.slave = slave
        self.screen = Screen(master)
        self.orig = termios.tcgetattr(slave)
        env = dict(os.environ, NSRELOAD_TEST_TOKEN=TOKEN, TERM="dumb", PS1="PROMPT$ ")
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            os.tcsetpgrp(slave, os.getpid())
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.close(master)
            os.close(slave)
            os.execve(NSR, [NSR, "exec", "--box", RUNG, "--"] + argv, env)
        try:  # as a shell does, from both sides; EACCES: the child has exec'd, its own call did it
            os.setpgid(pid, pid)
        except PermissionError:
            pass
        os.tcsetpgrp(slave, pid)
        self.pid = pid
        self.done = False

    def take_terminal(self):
        """What the shell does when its job stops: the terminal comes back to the shell."""
        os.tcsetpgrp(self.slave, os.getpgrp())

    def fg(self):
        os.tcsetpgrp(self.slave, self.pid)
        os.killpg(self.pid, signal.SIGCONT)

    def bg(self):
        os.killpg(self.pid, signal.SIGCONT)

    def modes(self):
        return termios.tcgetattr(self.slave)

    def finish(self):
        """Whatever happened: nsreload ends (TERM and CONT, then KILL), and nothing of the token is left."""
        if not self.done:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                os.killpg(self.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                p, st = os.waitpid(self.pid, os.WNOHANG)
                if p == self.pid:
                    break
                time.sleep(0.05)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        left = until(lambda: not token_pids()) or token_pids()
        check(left is True, "nothing with the token survives (%s)" % (left if left is not True else 0))
        for p in token_pids():  # our own test's processes, by pid
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def suspend(sh, what):
    """Ctrl-Z (already typed): nsreload stops with SIGTSTP, holding the terminal and its first modes."""
    st = wait_status(sh.pid)
    if not check(stopped_with(st, signal.SIGTSTP), "%s: nsreload is stopped by SIGTSTP (%s)" % (what, describe(st))):
        return False
    check(proc_state(sh.pid) == "T", "%s: /proc says nsreload is stopped" % what)
    check(os.tcgetpgrp(sh.slave) == sh.pid, "%s: the terminal is back in nsreload's group" % what)
    check(sh.modes() == sh.orig, "%s: the terminal has the modes nsreload started with" % what)
    sh.take_terminal()
    return True


def exits_0(sh, what):
    """nsreload ends (not stopped) with status 0."""
    st = wait_status(sh.pid)
    sh.done = st is not None and not os.WIFSTOPPED(st)
    check(st is not None and os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "%s (%s)" % (what, describe(st)))


def scenario_cat(sh):
    s = sh.screen
    s.type(b"one\n")
    if not check(s.wait_for(b"one", 2), "cat echoes a line"):
        return
    s.mark()
    s.type(b"\x1a")
    if not suspend(sh, "Ctrl-Z"):
        return
    states = box_states(sh.pid)
    check(states and all(v == "T" for v in states.values()), "Ctrl-Z: the box is stopped %s" % states)
    sh.fg()
    s.type(b"two\n")
    check(s.wait_for(b"two", 2), "fg: the box has the terminal again and cat answers")
    check(proc_state(sh.pid) != "T", "fg: nsreload runs")
    s.mark()
    s.type(b"\x1a")
    if not suspend(sh, "Ctrl-Z again"):
        return
    sh.bg()
    # cat continues in the background, reads, and the terminal stops it with SIGTTIN: nsreload follows.
    st = wait_status(sh.pid)
    if not check(stopped_with(st, signal.SIGTTIN), "bg: cat's read stops it, nsreload stops by SIGTTIN (%s)" % describe(st)):
        return
    check(os.tcgetpgrp(sh.slave) == os.getpgrp(), "bg: nsreload did not take the terminal from the shell")
    sh.fg()
    s.mark()
    s.type(b"three\n")
    check(s.wait_for(b"three", 2), "fg after bg: cat answers")
    s.type(b"\x04")
    exits_0(sh, "EOF: nsreload exits 0")


def scenario_vi(sh):
    s = sh.screen
    if not check(s.wait_for(b"READY"), "the raw-mode program is up"):
        return
    s.type(b"a")
    check(s.wait_for(b"GOT:a"), "it reads keys one by one")
    s.mark()
    s.type(b"\x1a")
    if not check(s.wait_for(b"SUSPENDING"), "it got ^Z as a key and stops itself with kill(0, SIGTSTP)"):
        return
    if not suspend(sh, "kill(0, SIGTSTP)"):
        return
    sh.fg()
    check(s.wait_for(b"RESUMED"), "fg: it is continued")
    s.type(b"b")
    check(s.wait_for(b"GOT:b"), "fg: it has the terminal and reads keys")
    s.type(b"q")
    exits_0(sh, "q: nsreload exits 0")


def scenario_modes(sh):
    s = sh.screen
    if not check(until(lambda: not (sh.modes()[3] & termios.ECHO)), "the box turned echo off"):
        return
    s.type(b"\x1a")
    if not suspend(sh, "Ctrl-Z with echo off"):
        return
    sh.fg()
    check(until(lambda: not (sh.modes()[3] & termios.ECHO)), "fg: the box's modes (echo off) are back")
    s.mark()
    s.type(b"word\n")
    check(s.wait_for(b"word", 1), "fg: cat answers")
    s.type(b"\x04")
    exits_0(sh, "EOF: nsreload exits 0")


def scenario_bash(sh):
    s = sh.screen
    if not check(s.wait_for(b"PROMPT$ "), "bash prompts"):
        return
    s.mark()
    s.type(b"sleep 50\n")
    time.sleep(0.5)  # readiness: let bash hand the terminal to sleep's group (not asserted)
    s.type(b"\x1a")
    check(s.wait_for(b"Stopped"), "bash reports its job stopped")
    check(s.wait_for(b"PROMPT$ "), "bash prompts again")
    check(proc_state(sh.pid) != "T", "nsreload is not stopped: the stop was bash's job's, not bash's")
    s.mark()
    s.type(b"kill -9 %1; wait %1; echo still-$((6*7))\n")
    check(s.wait_for(b"still-42"), "bash answers")
    s.mark()
    s.type(b"exit\n")
    # bash may still count the killed job as stopped for one more prompt: a second exit leaves all the same.
    st, again, deadline = None, False, time.monotonic() + WAIT
    while st is None and time.monotonic() < deadline:
        p, status = os.waitpid(sh.pid, os.WUNTRACED | os.WNOHANG)
        if p == sh.pid:
            st = status
        elif not again and b"There are stopped jobs" in s.buf:
            again = True
            s.type(b"exit\n")
        else:
            s.pump(0.05)
    sh.done = st is not None and not os.WIFSTOPPED(st)
    if not check(st is not None and os.WIFEXITED(st), "exit: nsreload exits (%s)" % describe(st)):
        s.pump(0.5)
        print("     the screen since 'exit': %r; the box: %s" % (s.buf, box_states(sh.pid)))


def main():
    scenarios = {"cat": scenario_cat, "vi": scenario_vi, "modes": scenario_modes, "bash": scenario_bash}
    # setsid() needs a process that leads no group: a child of ours.
    pid = os.fork()
    if pid:
        _, st = os.waitpid(pid, 0)
        sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 1)
    sh = Shell(COMMANDS[SCENARIO])
    try:
        scenarios[SCENARIO](sh)
    finally:
        sh.finish()
        check(sh.modes() == sh.orig, "the terminal's modes at the end are those at the start")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
