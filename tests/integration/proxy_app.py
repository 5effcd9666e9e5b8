#!/usr/bin/env python3
"""The app of the proxy tests (proxy_*.sh): its version is the content of a
file read at start, so that a test sees which run answered.

  proxy_app.py http PORT VERSION_FILE   HTTP on 127.0.0.1:PORT:
      /            an HTML page naming the version
      /plain       text/plain "version N"
      /echo        JSON of the request's method, path, headers and body
      /ws          a WebSocket handshake (101), then every byte echoed back
  proxy_app.py tcp PORT VERSION_FILE    TCP: "vN\\n", then every byte echoed
"""
import base64
import hashlib
import http.server
import json
import socket
import socketserver
import sys
import threading


def main():
    mode, port, vfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(vfile) as f:
        version = f.read().strip()

    if mode == "tcp":
        class Echo(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.sendall(("v%s\n" % version).encode())
                while True:
                    b = self.request.recv(65536)
                    if not b:
                        return
                    self.request.sendall(b)

        class S(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
        S(("127.0.0.1", port), Echo).serve_forever()
        return

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def do_GET(self):
            if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
                key = self.headers["Sec-WebSocket-Key"]
                acc = base64.b64encode(hashlib.sha1(
                    (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", acc)
                self.end_headers()
                self.wfile.flush()
                self.wfile.write(("v%s\n" % version).encode())
                self.wfile.flush()
                while True:
                    b = self.connection.recv(65536)
                    if not b:
                        break
                    self.connection.sendall(b)
                self.close_connection = True
                return
            if self.path.startswith("/plain"):
                self.send(200, "text/plain", ("version %s\n" % version).encode())
            elif self.path.startswith("/echo"):
                self.echo()
            else:
                self.send(200, "text/html; charset=utf-8",
                          ("<!DOCTYPE html><html><head><title>v%s</title></head>"
                           "<body><p>version %s</p></body></html>\n" % (version, version)).encode())

        def echo(self):
            b = self.body()
            out = {"method": self.command, "path": self.path, "version": version,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": b.decode("utf-8", "replace")}
            self.send(200, "application/json", json.dumps(out).encode())

        do_HEAD = do_GET

        def do_POST(self):
            self.echo()

        do_PUT = do_POST
        do_DELETE = do_POST

    class S(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True
    S(("127.0.0.1", port), H).serve_forever()


if __name__ == "__main__":
    threading.stack_size(256 * 1024)
    main()
