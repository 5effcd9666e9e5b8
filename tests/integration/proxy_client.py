#!/usr/bin/env python3
"""Clients for the proxy tests (proxy_*.sh), each bounded in time.

  proxy_client.py ws PORT MSG      WebSocket handshake on /ws (raw), then the
                                   app's "vN" line and MSG echoed: prints "vN MSG"
  proxy_client.py tcp PORT MSG     the same over a plain TCP connection
  proxy_client.py wsclose PORT     WebSocket handshake, prints the app's "vN"
                                   line, then "closed" when the tunnel ends
                                   (30 s at most)
  proxy_client.py raw PORT         sends stdin as it is, prints what comes back
                                   until the proxy closes (10 s at most)
  proxy_client.py slow PORT SECS   sends half a request head, then nothing:
                                   prints what comes back and "closed" when the
                                   proxy closes within SECS, else "open"
  proxy_client.py sse PORT SECS    reads /__nsreload/events for SECS seconds,
                                   prints the event names and data
"""
import base64
import os
import socket
import sys
import time


def conn(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def read_line(s):
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        b += c
    return b.decode().strip()


def read_until(s, marker):
    b = b""
    while marker not in b:
        c = s.recv(4096)
        if not c:
            break
        b += c
    return b


def echo_check(s, msg):
    v = read_line(s)
    s.sendall(msg.encode())
    got = b""
    while len(got) < len(msg):
        c = s.recv(4096)
        if not c:
            break
        got += c
    print(v, got.decode())


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind in ("ws", "wsclose"):
        s = conn(port, timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            c = s.recv(1)
            if not c:
                print("closed before 101")
                return 1
            head += c
        if not head.startswith(b"HTTP/1.1 101"):
            print("no 101:", head.split(b"\r\n")[0].decode())
            return 1
        if kind == "wsclose":
            print(read_line(s), flush=True)
            try:
                while s.recv(4096):
                    pass
                print("closed")
            except socket.timeout:
                print("open")
            except ConnectionResetError:
                print("closed")
            return 0
        echo_check(s, sys.argv[3])
    elif kind == "tcp":
        s = conn(port)
        echo_check(s, sys.argv[3])
    elif kind == "raw":
        s = conn(port)
        s.sendall(sys.stdin.buffer.read())
        out = b""
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
        except socket.timeout:
            out += b"\n(timeout)"
        sys.stdout.write(out.decode("utf-8", "replace"))
    elif kind == "slow":
        s = conn(port, timeout=float(sys.argv[3]))
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        out = b""
        try:
            while True:
                c = s.recv(4096)
                if not c:
                    print(out.decode("utf-8", "replace").split("\r\n")[0])
                    print("closed")
                    return 0
                out += c
        except socket.timeout:
            print("open")
    elif kind == "sse":
        s = conn(port, timeout=float(sys.argv[3]))
        s.sendall(b"GET /__nsreload/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        end = time.time() + float(sys.argv[3])
        buf = b""
        try:
            while time.time() < end:
                c = s.recv(65536)
                if not c:
                    break
                buf += c
        except socket.timeout:
            pass
        for line in buf.decode("utf-8", "replace").split("\n"):
            if line.startswith("event:") or line.startswith("data:"):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
