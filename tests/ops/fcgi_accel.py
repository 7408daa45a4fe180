#!/usr/bin/python3
"""A FastCGI responder that hands every request over to nginx the way the
workers hand a stream to nchan: it answers 200 with X-Accel-Redirect set to
the request's X-Test-Accel header (no header: 404). Used by
tests/ops/nginx_prod_test.sh to drive the production site's stream
locations without a database behind a worker.

    fcgi_accel.py SOCKET

Listens on the unix socket SOCKET until SIGTERM. Standard library only.
"""
import os
import signal
import socket
import socketserver
import struct
import sys

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6
HEADER = struct.Struct("!BBHHBx")


def read_exact(f, n):
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


def read_record(f):
    _, kind, rid, length, padding = HEADER.unpack(read_exact(f, HEADER.size))
    content = read_exact(f, length) if length else b""
    if padding:
        read_exact(f, padding)
    return kind, rid, content


def lengths(data, i):
    if data[i] < 128:
        return data[i], i + 1
    return struct.unpack("!I", data[i:i + 4])[0] & 0x7FFFFFFF, i + 4


def parse_params(data):
    params, i = {}, 0
    while i < len(data):
        n, i = lengths(data, i)
        v, i = lengths(data, i)
        params[data[i:i + n].decode()] = data[i + n:i + n + v].decode()
        i += n + v
    return params


def record(kind, rid, content=b""):
    return HEADER.pack(1, kind, rid, len(content), 0) + content


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        params, rid = b"", 1
        try:
            while True:
                kind, rid, content = read_record(self.rfile)
                if kind == PARAMS:
                    params += content
                elif kind == STDIN and not content:
                    break
                elif kind == ABORT:
                    return
        except EOFError:
            return
        env = parse_params(params)
        target = env.get("HTTP_X_TEST_ACCEL", "")
        if target:
            head = ("Status: 200 OK\r\nX-Accel-Redirect: %s\r\n"
                    "X-Accel-Buffering: no\r\n\r\n" % target)
        else:
            head = ("Status: 404 Not Found\r\nContent-Type: application/json\r\n\r\n"
                    '{"error":{"code":"not_found","message":"no X-Test-Accel",'
                    '"request_id":"%s"}}\n' % env.get("HTTP_X_REQUEST_ID", ""))
        self.wfile.write(record(STDOUT, rid, head.encode()) + record(STDOUT, rid)
                         + record(END, rid, struct.pack("!IB3x", 0, 0)))


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    server = Server(path, Handler)
    os.chmod(path, 0o666)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
