"""Error reports (SENTRY_DSN): a 5xx answer and a crash reach a
Sentry-compatible endpoint as envelopes, with the request id, the route
pattern, the release and the environment, and nothing a client sent in
headers, the query string or the body. Floods are limited. Each test starts
a local receiver (http.server on a free port) and a worker of its own,
talked to over FastCGI; the crash test kills a worker with SIGSEGV and sees
the next start send its report and delete the file."""

import glob
import http.server
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid

import fcgi_client
from helpers import env, free_port, wait_until, worker_env

PUBLIC_KEY = "e2ekey0123456789"
PROJECT_ID = "4242"


class Receiver:
    """A Sentry-compatible endpoint that keeps what it is sent."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []      # (path, {header: value}, body bytes)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):      # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        (self.path, dict(self.headers.items()), body))
                answer = json.dumps({"id": uuid.uuid4().hex}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def dsn(self):
        return "http://%s@127.0.0.1:%d/%s" % (PUBLIC_KEY, self.port,
                                               PROJECT_ID)

    def received(self):
        with self.lock:
            return list(self.requests)

    def events(self, kind=None):
        """[(request, envelope)] whose event has tags.kind == kind."""
        out = []
        for req in self.received():
            envelope = parse_envelope(req[2])
            if kind is None or envelope["event"]["tags"]["kind"] == kind:
                out.append((req, envelope))
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def parse_envelope(body):
    """The three lines of a one-event envelope, checked and parsed."""
    assert body.endswith(b"\n"), body[-80:]
    lines = body[:-1].split(b"\n")
    assert len(lines) == 3, "expected header, item header, event: %r" % body
    header, item, event = (json.loads(line) for line in lines)
    assert item["type"] == "event", item
    assert item["length"] == len(lines[2]), (item, len(lines[2]))
    assert re.fullmatch(r"[0-9a-f]{32}", header["event_id"]), header
    assert header["event_id"] == event["event_id"], (header, event)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        header["sent_at"]), header
    return {"header": header, "item": item, "event": event}


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Worker:
    """A worker of this test's own, reporting to receiver."""

    def __init__(self, receiver, crash_dir, release, name):
        self.port = free_port()
        self.log_path = os.path.join(env("BS_RUN_DIR"), "worker-%s.log" % name)
        wenv = worker_env()
        wenv.update({
            "DEBUG_ROUTES": "true",
            "WORKER_THREADS": "2",
            "SENTRY_DSN": receiver.dsn,
            "SENTRY_ENVIRONMENT": "integration",
            "SENTRY_RELEASE": release,
            "SENTRY_CRASH_DIR": crash_dir,
        })
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [env("BS_WORKER_BIN"), "--listen", "127.0.0.1:%d" % self.port],
                env=wenv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_no_core)
        wait_until("the worker to listen on port %d" % self.port,
                   lambda: self.proc.poll() is not None or _accepts(self.port),
                   timeout=15)
        assert self.proc.poll() is None, "worker exited with %r (see %s)" % (
            self.proc.returncode, self.log_path)

    def request(self, method, path, **kwargs):
        return fcgi_client.request(("127.0.0.1", self.port), method, path,
                                   **kwargs)

    def metric(self, name, labels):
        """The value of one series of /metrics, 0 when absent."""
        status, _headers, body = self.request("GET", "/metrics")
        assert status == 200, (status, body[:200])
        want = "%s{%s} " % (name, labels)
        for line in body.decode().splitlines():
            if line.startswith(want):
                return float(line[len(want):])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _release():
    return "brainstorm@it-%s" % uuid.uuid4().hex[:10]


def _crash_dir():
    return tempfile.mkdtemp(prefix="crash-", dir=env("BS_RUN_DIR"))


def test_5xx_reported_without_secrets():
    markers = {
        "path": "PATHMARK%s" % uuid.uuid4().hex[:12],
        "query": "QUERYMARK%s" % uuid.uuid4().hex[:12],
        "token": "TOKENMARK%s" % uuid.uuid4().hex[:12],
        "cookie": "COOKIEMARK%s" % uuid.uuid4().hex[:12],
        "password": "PASSWORDMARK%s" % uuid.uuid4().hex[:12],
        "body": "BODYMARK%s" % uuid.uuid4().hex[:12],
    }
    request_id = "report-%s" % uuid.uuid4().hex
    release = _release()
    receiver = Receiver()
    crash_dir = _crash_dir()
    worker = None
    try:
        worker = Worker(receiver, crash_dir, release, "reports")
        body = json.dumps({"password": markers["password"],
                           "text": markers["body"]}).encode()
        status, _headers, answer = worker.request(
            "POST", "/api/debug/fail/%s" % markers["path"],
            query="token=%s&x=1" % markers["query"], body=body,
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer %s" % markers["token"],
                     "Cookie": "session=%s" % markers["cookie"],
                     "X-Request-Id": request_id})
        assert status == 500, (status, answer)

        got = wait_until("the 5xx report to arrive",
                         lambda: receiver.events("http_5xx"), timeout=15)
        assert len(got) == 1, got
        (path, headers, raw), envelope = got[0]
        assert path == "/api/%s/envelope/" % PROJECT_ID, path
        headers = {k.lower(): v for k, v in headers.items()}
        assert headers["content-type"] == "application/x-sentry-envelope", \
            headers
        auth = headers["x-sentry-auth"]
        assert auth.startswith("Sentry sentry_version=7, "), auth
        assert "sentry_key=%s" % PUBLIC_KEY in auth, auth
        assert re.search(r"sentry_client=brainstorm/\S+", auth), auth

        assert envelope["header"]["dsn"] == receiver.dsn, envelope["header"]
        event = envelope["event"]
        assert event["level"] == "error", event
        assert event["platform"] == "c", event
        assert event["release"] == release, event
        assert event["environment"] == "integration", event
        assert event["server_name"], event
        assert event["transaction"] == "POST /api/debug/fail/{id}", event
        assert event["message"]["formatted"] == \
            "POST /api/debug/fail/{id} answered 500", event
        assert event["tags"] == {
            "kind": "http_5xx", "request_id": request_id,
            "route": "/api/debug/fail/{id}", "method": "POST",
            "status": "500"}, event["tags"]
        assert "request" not in event and "user" not in event, event

        sent = json.dumps(headers).encode() + raw
        for what, marker in markers.items():
            assert marker.encode() not in sent, \
                "the %s marker reached the report: %r" % (what, raw)
        for word in (b"Bearer", b"Authorization", b"Cookie", b"password"):
            assert word not in raw, (word, raw)

        wait_until("error_reports_total to count the report", lambda:
                   worker.metric("error_reports_total",
                                 'kind="http_5xx",outcome="sent"') == 1,
                   timeout=10)
        assert worker.stop() == 0
    finally:
        if worker is not None:
            worker.kill()
        receiver.close()
        shutil.rmtree(crash_dir, ignore_errors=True)


def test_flood_is_limited():
    """Twelve failures of one route within a minute: five reports."""
    receiver = Receiver()
    crash_dir = _crash_dir()
    worker = None
    try:
        worker = Worker(receiver, crash_dir, _release(), "reports-flood")
        for i in range(12):
            status, _h, _b = worker.request(
                "POST", "/api/debug/fail/%d" % i, body=b"{}",
                headers={"Content-Type": "application/json"})
            assert status == 500, status
        wait_until("five reports sent", lambda: worker.metric(
            "error_reports_total", 'kind="http_5xx",outcome="sent"') == 5,
            timeout=15)
        assert worker.metric("error_reports_total",
                             'kind="http_5xx",outcome="rate_limited"') == 7
        assert len(receiver.events("http_5xx")) == 5
        assert worker.stop() == 0
    finally:
        if worker is not None:
            worker.kill()
        receiver.close()
        shutil.rmtree(crash_dir, ignore_errors=True)


def _crash_files(crash_dir):
    return sorted(glob.glob(os.path.join(crash_dir, "crash-*")))


def test_crash_reported_at_next_start():
    release = _release()
    receiver = Receiver()
    crash_dir = _crash_dir()
    first = second = None
    try:
        first = Worker(receiver, crash_dir, release, "reports-crash")
        assert _crash_files(crash_dir) == []
        os.kill(first.proc.pid, signal.SIGSEGV)
        returncode = first.proc.wait(timeout=30)
        assert returncode == -signal.SIGSEGV, \
            "worker exited with %r, not SIGSEGV" % returncode
        files = _crash_files(crash_dir)
        assert len(files) == 1 and files[0].endswith(".report"), files
        with open(files[0], encoding="ascii") as f:
            text = f.read()
        assert text.startswith("brainstorm-crash 1\n"), text
        assert "release=%s\n" % release in text, text
        assert "signal=%d\n" % signal.SIGSEGV in text, text
        assert receiver.events("crash") == []

        # The next start sends it, then deletes it; with another release,
        # the report still names the one that crashed.
        second = Worker(receiver, crash_dir, _release(), "reports-crash")
        got = wait_until("the crash report to arrive",
                         lambda: receiver.events("crash"), timeout=15)
        assert len(got) == 1, got
        event = got[0][1]["event"]
        assert event["level"] == "fatal", event
        assert event["release"] == release, event
        assert event["environment"] == "integration", event
        assert event["tags"]["signal"] == "SIGSEGV", event
        assert event["tags"]["origin"] == "kill", event
        value = event["exception"]["values"][0]
        assert value["type"] == "SIGSEGV", value
        assert value["mechanism"] == {"type": "signalhandler",
                                      "handled": False}, value
        wait_until("the crash file to be removed",
                   lambda: _crash_files(crash_dir) == [], timeout=10)
        wait_until("error_reports_total to count the crash", lambda:
                   second.metric("error_reports_total",
                                 'kind="crash",outcome="sent"') == 1,
                   timeout=10)
        assert second.stop() == 0
        assert len(receiver.events("crash")) == 1
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.kill()
        receiver.close()
        shutil.rmtree(crash_dir, ignore_errors=True)
