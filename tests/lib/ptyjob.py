#!/usr/bin/env python3
"""ptyjob - a person at a terminal, for tests: runs CMD as a job of a small
job-control shell on a new pseudo-terminal, then follows a script of steps
(keys typed, output awaited, Ctrl-Z and fg as a shell does them).

Usage: ptyjob.py STEPS -- CMD [ARGS...]

The "shell" is the session leader of the new terminal, as bash is: it puts
CMD in a process group of its own, gives that group the terminal, waits for
it with WUNTRACED, takes the terminal back when the job stops, and on "fg"
gives it back and sends SIGCONT to the group. It compares the terminal's
modes (what `stty -a` shows) when the job stops and when it exits with those
it had before starting it.

STEPS is a file with one step a line (TEXT takes Python escapes: \\n, \\x03):
  wait TEXT            the terminal shows TEXT (after the previous wait's match)
  lines FILE N TEXT    FILE has at least N lines equal to TEXT
  send TEXT            types TEXT
  stopped              the shell saw the job stop, with the terminal's modes as before
  fg                   the shell's fg: the terminal to the job, then SIGCONT if it is stopped
  bg                   the shell's bg: SIGCONT, the terminal stays the shell's
  state ENV=VAL CHARS  every process whose environment holds ENV=VAL is in a state of CHARS (R, S, T...)
  touch FILE TEXT      writes TEXT and a newline to FILE
  exit CODE            the job exited with CODE, with the terminal's modes as before
  signal SIG           sends SIG (TERM, HUP...) to the job's first process, from outside the terminal
  hangup               closes the terminal (its master side), as closing its window does
  gone                 the shell saw the job end (after a hang-up: the modes can no longer be read)
Each step waits up to 20 s. One line per step: "ok ..." or "FAIL ...";
after the first failure the job's process group is killed. Exit status: the
number of failures. The terminal's output goes to $PTYJOB_OUT when set.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

TIMEOUT = 20.0


def shell(slave, argv, status_w, cmd_r):
    """The job-control shell, in the child: never returns."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP, signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    modes = termios.tcgetattr(0)
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpid())
        for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGTSTP, signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)
        os.close(status_w)
        os.close(cmd_r)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    try:
        os.setpgid(job, job)
    except OSError:
        pass
    os.tcsetpgrp(0, job)

    def say(text):
        os.write(status_w, (text + "\n").encode())

    say("job %d" % job)
    def hangup(*_):
        # As bash: a hang-up is passed on to the job, and this shell ends once it has seen the job end.
        try:
            os.killpg(job, signal.SIGHUP)
            os.killpg(job, signal.SIGCONT)
        except OSError:
            pass

    signal.signal(signal.SIGHUP, hangup)

    stopped = False
    while True:
        pid, st = os.waitpid(job, os.WUNTRACED | os.WNOHANG)
        if pid == job:
            try:
                os.tcsetpgrp(0, os.getpgrp())
                same = "same" if termios.tcgetattr(0) == modes else "changed"
            except OSError:
                same = "hung-up"
            if os.WIFSTOPPED(st):
                stopped = True
                say("stopped %s" % same)
                continue
            code = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
            say("exit %d %s" % (code, same))
            os._exit(0)
        if not select.select([cmd_r], [], [], 0.05)[0]:
            continue
        cmd = os.read(cmd_r, 64).decode().strip()
        if cmd == "fg":
            # As bash: the terminal to the job, and SIGCONT only to a job that is stopped.
            os.tcsetpgrp(0, job)
            if stopped:
                os.killpg(job, signal.SIGCONT)
        elif cmd == "bg":
            os.killpg(job, signal.SIGCONT)
        else:
            os.killpg(job, signal.SIGKILL)
            os._exit(1)
        stopped = False
        say("%s done" % cmd)


class Driver:
    def __init__(self, master, status_r, cmd_w, job_pid):
        self.master = master
        self.status_r = status_r
        self.cmd_w = cmd_w
        self.job_pid = job_pid
        self.out = b""
        self.seen = 0  # where the next wait looks from
        self.status = []
        self.copy = open(os.environ["PTYJOB_OUT"], "ab") if os.environ.get("PTYJOB_OUT") else None

    def pump(self, timeout):
        fds = [f for f in (self.master, self.status_r) if f is not None]
        ready, _, _ = select.select(fds, [], [], timeout)
        for f in ready:
            try:
                data = os.read(f, 4096)
            except OSError:
                data = b""
            if f == self.master:
                if not data:
                    self.master = None
                    continue
                self.out += data
                if self.copy:
                    self.copy.write(data)
                    self.copy.flush()
            else:
                if not data:
                    self.status_r = None
                    continue
                self.status += data.decode().splitlines()

    def until(self, pred):
        deadline = time.monotonic() + TIMEOUT
        while True:
            got = pred()
            if got:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.master is None and self.status_r is None:
                time.sleep(min(left, 0.05))
            else:
                self.pump(min(left, 0.05))

    def status_line(self, prefix):
        def pred():
            for i, line in enumerate(self.status):
                if line.startswith(prefix):
                    del self.status[i]
                    return line
            return None
        return self.until(pred)


def count_lines(path, text):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.rstrip("\n") == text)
    except OSError:
        return 0


def states(entry):
    """The states of the processes whose environment holds entry."""
    found = []
    want = entry.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % pid) as f:
                found.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            continue
    return found


def step(d, words, raw):
    kind = words[0]
    arg = raw[len(kind):].strip()
    if kind == "wait":
        text = arg.encode().decode("unicode_escape").encode()

        def pred():
            i = d.out.find(text, d.seen)
            if i >= 0:
                d.seen = i + len(text)
                return True
            return False
        return d.until(pred) or "not shown; the terminal's tail: %r" % d.out[-400:]
    if kind == "lines":
        path, n, text = arg.split(" ", 2)
        return d.until(lambda: count_lines(path, text) >= int(n)) or "%s has %d lines %r" % (
            path, count_lines(path, text), text)
    if kind == "send":
        os.write(d.master, arg.encode().decode("unicode_escape").encode())
        return True
    if kind == "stopped":
        line = d.status_line("stopped")
        return (line == "stopped same") or "the shell said %r" % line
    if kind in ("fg", "bg"):
        os.write(d.cmd_w, kind.encode() + b"\n")
        line = d.status_line(kind + " done")
        return (line is not None) or "the shell did not do it"
    if kind == "state":
        entry, chars = arg.split(" ", 1)
        ok = d.until(lambda: (lambda s: s and all(c in chars for c in s))(states(entry)))
        return ok or "states %r" % states(entry)
    if kind == "touch":
        path, text = arg.split(" ", 1)
        with open(path, "a") as f:
            f.write(text + "\n")
        return True
    if kind == "signal":
        line = d.status_line("job")
        d.status.insert(0, line)
        os.kill(int(line.split()[1]), getattr(signal, "SIG" + arg))
        return True
    if kind == "hangup":
        os.close(d.master)
        d.master = None
        return True
    if kind == "gone":
        line = d.status_line("exit")
        return (line is not None) or "the job did not end"
    if kind == "exit":
        line = d.status_line("exit")
        return (line == "exit %s same" % arg) or "the shell said %r" % line
    return "unknown step"


def main():
    sep = sys.argv.index("--")
    steps_file, argv = sys.argv[1], sys.argv[sep + 1:]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    status_r, status_w = os.pipe()
    cmd_r, cmd_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.close(status_r)
        os.close(cmd_w)
        try:
            shell(slave, argv, status_w, cmd_r)
        finally:
            os._exit(126)
    os.close(slave)
    os.close(status_w)
    os.close(cmd_r)
    d = Driver(master, status_r, cmd_w, pid)
    failures = 0
    with open(steps_file) as f:
        for raw in f:
            raw = raw.rstrip("\n")
            words = raw.split()
            if not words or words[0].startswith("#"):
                continue
            got = step(d, words, raw)
            if got is True or (got and not isinstance(got, str)):
                print("ok   %s" % raw)
                continue
            print("FAIL %s: %s" % (raw, got))
            failures += 1
            break
    if failures:
        # The shell's job is our grandchild: end it by its session, which is ours alone.
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.close(cmd_w)
    os.waitpid(pid, 0)
    sys.exit(failures)


if __name__ == "__main__":
    main()
