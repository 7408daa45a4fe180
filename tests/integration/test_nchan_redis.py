"""nchan's Redis store (#10): two nginx of this test's own, rendered from
the same template with BS_NCHAN_REDIS_URL pointing at the stack's Redis,
are two hosts of one deployment. An event published to one reaches a
stream held by the other, a late stream replays from the oldest message,
and deleting the channel on one ends the stream on the other."""

import http.client
import os
import signal
import socket
import subprocess
import threading
import uuid

from helpers import env, free_port, nginx_render, wait_until, worker_env


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("nchan", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Nginx:
    def __init__(self, name):
        self.dir = os.path.join(env("BS_RUN_DIR"), "nchan-redis-" + name)
        self.port = free_port()
        os.makedirs(self.dir, exist_ok=True)
        done = nginx_render(self.dir, BS_HTTP_PORT=str(self.port),
                            BS_WORKER_COUNT="1",
                            BS_NCHAN_REDIS_URL=worker_env()["REDIS_URL"])
        assert done.returncode == 0, done.stderr
        with open(os.path.join(self.dir, "nginx.conf"), encoding="utf-8") as f:
            assert "nchan_use_redis on;" in f.read()
        with open(os.path.join(self.dir, "nginx.out"), "ab") as out:
            self.proc = subprocess.Popen(
                [env("BS_NGINX"), "-c", os.path.join(self.dir, "nginx.conf"),
                 "-p", self.dir, "-e",
                 os.path.join(self.dir, "logs", "error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        wait_until("nginx %s" % name, lambda: self.proc.poll() is not None or
                   os.path.exists(self.sock()), timeout=30)
        assert self.proc.poll() is None, self.errors()

    def sock(self):
        return os.path.join(self.dir, "nchan.sock")

    def errors(self):
        try:
            with open(os.path.join(self.dir, "logs", "error.log"),
                      encoding="utf-8", errors="replace") as f:
                return f.read()[-2000:]
        except FileNotFoundError:
            return ""

    def call(self, method, path, body=None, headers=None):
        conn = UnixHTTPConnection(self.sock())
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def test_every_nginx_on_one_redis_sees_every_channel():
    a, b = Nginx("a"), Nginx("b")
    turn = str(uuid.uuid4())
    got = []
    try:
        def ready():
            st, _ = a.call("POST", "/pub/t-" + turn, b'{"n":1}',
                           {"X-EventSource-Event": "first"})
            return 200 <= st < 300
        # nchan connects to Redis in the background after start, each
        # nginx on its own: b answers 503 to a subscriber until it has.
        wait_until("nginx a to publish through Redis", ready, timeout=30)
        probe = "/pub/t-" + str(uuid.uuid4())
        wait_until("nginx b to reach Redis",
                   lambda: 200 <= b.call("POST", probe, b"{}")[0] < 300,
                   timeout=30)
        conn = UnixHTTPConnection(b.sock(), timeout=30)
        conn.request("GET", "/sub/turn/" + turn,
                     headers={"Accept": "text/event-stream"})
        resp = conn.getresponse()
        assert resp.status == 200, (resp.status, resp.read(), b.errors())

        def read():
            try:
                while True:
                    chunk = resp.read1(4096)
                    if not chunk:
                        break
                    got.append(chunk)
            except OSError:
                pass
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        wait_until("the replayed first event on b",
                   lambda: b"event: first" in b"".join(got), timeout=30)
        st, _ = a.call("POST", "/pub/t-" + turn, b'{"n":2}',
                       {"X-EventSource-Event": "second"})
        assert 200 <= st < 300, st
        wait_until("the live second event on b",
                   lambda: b"event: second" in b"".join(got), timeout=30)
        st, _ = a.call("DELETE", "/pub/t-" + turn)
        assert st == 200, st
        reader.join(30)
        assert not reader.is_alive(), "b's stream did not end: %r" % got
        conn.close()
    finally:
        a.stop()
        b.stop()
    text = b"".join(got).decode()
    assert text.index("event: first") < text.index("event: second"), text
