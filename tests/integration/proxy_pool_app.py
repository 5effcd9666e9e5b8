#!/usr/bin/env python3
"""The app of proxy_pool.sh: HTTP/1.1 keep-alive on 127.0.0.1:PORT, run by
the test itself (not by nsreload), so that its connections outlive a restart
of nsreload's run. Every request it reads is logged to LOG as
"METHOD PATH PEERPORT" (the peer port names the connection it came on).

  proxy_pool_app.py PORT LOG
      /drop-next   answered; the next request on this connection is read
                   and the connection closed without an answer (an app that
                   drops an idle connection as the proxy reuses it)
      /closehdr    answered with "Connection: close", then closed
      anything     "port N" (N: the peer port), kept alive
"""
import socket
import sys
import threading


def read_request(f):
    """(method, path, body) or None at EOF."""
    line = f.readline()
    if not line:
        return None
    method, path = line.decode("latin-1").split()[:2]
    n = 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            n = int(value.strip())
    return method, path, f.read(n) if n else b""


def serve(conn, port, log, lock):
    f = conn.makefile("rb")
    drop_next = False
    try:
        while True:
            req = read_request(f)
            if req is None:
                return
            method, path, _ = req
            with lock:
                log.write("%s %s %d\n" % (method, path, port))
                log.flush()
            if drop_next:
                return
            body = ("port %d\n" % port).encode()
            close = path == "/closehdr"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s" %
                         (len(body), b"Connection: close\r\n" if close else b"", body))
            if close:
                return
            drop_next = path == "/drop-next"
    finally:
        f.close()
        conn.close()


def main():
    port, logname = int(sys.argv[1]), sys.argv[2]
    log = open(logname, "a")
    lock = threading.Lock()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer[1], log, lock), daemon=True).start()


if __name__ == "__main__":
    threading.stack_size(256 * 1024)
    main()
