"""What the integration tests share: the stack's settings from the
environment (script/test sets them), an HTTP client that can choose its
source address, and polling. Standard library only.

Environment (all set by script/test):
  BS_BASE_URL         http://127.0.0.1:PORT, nginx
  BS_WORKER_BIN       the brainstorm-fcgi binary
  BS_WORKER_ENV_FILE  KEY=VALUE lines: the environment the workers run with
  BS_WORKER_PIDS      the PIDs of the workers behind nginx, space separated
  BS_RUN_DIR          the run directory (worker-N.log, nginx logs)
  BS_DATABASE_URL     the application database
  BS_REDIS_URL        redis://127.0.0.1:PORT
  BS_PG_STOP, BS_PG_START, BS_REDIS_STOP, BS_REDIS_START
                      shell commands that stop or start PostgreSQL and Redis
                      (each returns once the server is down or ready)
  BS_PROMTOOL         promtool
  BS_NGINX            nginx
"""

import http.client as httpclient
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run the integration tests "
                           "through script/test" % name)
    return value


def base_address():
    url = urllib.parse.urlsplit(env("BS_BASE_URL"))
    return url.hostname, url.port or 80


def worker_pids():
    return [int(p) for p in env("BS_WORKER_PIDS").split()]


def worker_env():
    """The environment the stack's workers run with, on top of ours."""
    out = dict(os.environ)
    out.pop("LOG_FILE", None)
    with open(env("BS_WORKER_ENV_FILE"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                name, _, value = line.partition("=")
                out[name] = value
    return out


def pid_alive(pid):
    """True while pid is a process that is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shell(command_env_name):
    """Run one of the BS_*_STOP/START commands; fail loudly if it fails.
    Output goes to a file, not a pipe: a server it starts may keep the
    descriptors, and reading a pipe would wait for that server to exit."""
    command = env(command_env_name)
    with tempfile.TemporaryFile() as out:
        done = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=subprocess.STDOUT,
                              timeout=120, check=False)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if done.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (
            command_env_name, done.returncode, output))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # httpclient.HTTPMessage
        self.body = body                # bytes

    def header(self, name):
        return self.headers.get(name)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError("not JSON (%s): %r" % (e, self.body[:300]))

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


def request(method, path, body=None, headers=None, source=None, timeout=60,
            port=None):
    """One request through nginx on a new connection.

    body: bytes, str, or anything else to send as JSON. source: a local
    address such as "127.0.0.2" to send from (nginx sees it as remote_addr).
    port: another port on the same host than BS_BASE_URL's.
    """
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    host, base_port = base_address()
    port = port or base_port
    conn = httpclient.HTTPConnection(
        host, port, timeout=timeout,
        source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def raw_http(data, timeout=30):
    """Send raw bytes to nginx; parse the answer (read until close)."""
    host, port = base_address()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    msg = httpclient.HTTPMessage()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        msg[name.strip()] = value.strip()
    return Response(status, msg, body)


def expect_error(resp, status, code=None):
    """resp is the API's JSON error: status, shape, code, request id."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("application/json"), \
        "error content type %r: %r" % (ctype, resp)
    doc = resp.json()
    assert isinstance(doc.get("error"), dict), "no error object: %r" % doc
    err = doc["error"]
    for member in ("code", "message", "request_id"):
        assert isinstance(err.get(member), str) and err[member], \
            "error.%s missing or empty: %r" % (member, doc)
    if code is not None:
        assert err["code"] == code, \
            "expected code %r, got %r" % (code, err["code"])
    ids = resp.header_all("X-Request-Id")
    assert len(ids) == 1, "X-Request-Id headers: %r" % ids
    assert ids[0] == err["request_id"], \
        "X-Request-Id %r != body request_id %r" % (ids[0], err["request_id"])
    return err


def wait_until(what, predicate, timeout=30.0, interval=0.2):
    """Poll predicate until it returns something true; return that.
    Fail with the last value (or exception) seen after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:      # noqa: BLE001 - reported on timeout
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s; "
                                 "last: %r" % (timeout, what, last))
        time.sleep(interval)
