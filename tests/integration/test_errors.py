"""The JSON error shape, from the worker and from nginx itself."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile

from helpers import env, expect_error, free_port, raw_http, request, \
    wait_until

MAX_BODY = 65536


def test_unknown_path_404():
    expect_error(request("GET", "/api/no/such/thing"), 404, "not_found")


def test_wrong_method_405_with_allow():
    resp = request("DELETE", "/api/health")
    expect_error(resp, 405, "method_not_allowed")
    allow = [m.strip() for m in (resp.header("Allow") or "").split(",")]
    assert "GET" in allow, resp.header("Allow")
    assert len(resp.header_all("Allow")) == 1, resp.header_all("Allow")


def test_bad_json_400():
    resp = request("POST", "/api/debug/echo", body=b'{"a": ',
                   headers={"Content-Type": "application/json"})
    expect_error(resp, 400, "invalid_json")


def test_not_json_415():
    resp = request("POST", "/api/debug/echo", body=b"hello",
                   headers={"Content-Type": "text/plain"})
    expect_error(resp, 415, "unsupported_media_type")


def _json_body(size):
    """A JSON object of exactly size bytes."""
    skeleton = '{"pad":""}'
    return '{"pad":"%s"}' % ("x" * (size - len(skeleton)))


def test_body_just_under_cap_passes():
    body = _json_body(MAX_BODY - 100)
    resp = request("POST", "/api/debug/echo", body=body,
                   headers={"Content-Type": "application/json"})
    assert resp.status == 200, resp
    assert resp.json() == {"json": json.loads(body)}


def test_body_over_cap_413_from_nginx():
    body = _json_body(MAX_BODY + 1)
    resp = request("POST", "/api/debug/echo", body=body,
                   headers={"Content-Type": "application/json"})
    expect_error(resp, 413, "payload_too_large")


def test_long_uri_414_from_nginx():
    expect_error(request("GET", "/api/" + "a" * 9000), 414, "uri_too_long")


def test_large_header_431_from_nginx():
    resp = request("GET", "/api/health", headers={"X-Big": "b" * 9000})
    expect_error(resp, 431, "request_header_too_large")


def test_malformed_request_400_from_nginx():
    resp = raw_http(b"GET /api/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
                    b"Connection: close\r\n\r\n")
    expect_error(resp, 400, "bad_request")


def test_nginx_405_on_static_files():
    resp = request("POST", "/index.html", body=b"x",
                   headers={"Content-Type": "text/plain"})
    expect_error(resp, 405, "method_not_allowed")
    assert resp.header("Allow") == "GET, HEAD", resp.header("Allow")


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_502_when_no_worker_answers():
    # A second nginx from the stack's own rendered config, moved to a
    # directory of its own: its upstream sockets do not exist.
    run_dir = env("BS_RUN_DIR")
    with open(os.path.join(run_dir, "nginx.conf"), encoding="utf-8") as f:
        conf = f.read()
    prefix = tempfile.mkdtemp(prefix="brainstorm-nginx-502.")
    os.chmod(prefix, 0o755)
    proc = None
    try:
        os.mkdir(os.path.join(prefix, "logs"))
        os.mkdir(os.path.join(prefix, "tmp"))
        port = free_port()
        conf = conf.replace(run_dir, prefix)
        conf, n = re.subn(r"listen 127\.0\.0\.1:\d+",
                          "listen 127.0.0.1:%d" % port, conf)
        assert n == 1, "no listen line in nginx.conf"
        conf_path = os.path.join(prefix, "nginx.conf")
        with open(conf_path, "w", encoding="utf-8") as f:
            f.write(conf)
        with open(os.path.join(prefix, "logs", "nginx.out"), "wb") as out:
            proc = subprocess.Popen(
                [env("BS_NGINX"), "-c", conf_path, "-p", prefix,
                 "-e", os.path.join(prefix, "logs", "error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        wait_until("the second nginx to listen",
                   lambda: proc.poll() is not None or _accepts(port),
                   timeout=15)
        assert proc.poll() is None, "nginx exited with %r" % proc.returncode

        resp = request("GET", "/api/health", port=port)
        expect_error(resp, 502, "bad_gateway")
        assert resp.header_all("Retry-After") == ["5"], resp.header_all("Retry-After")
        # A POST is never retried on the other worker, but answers the same.
        resp = request("POST", "/api/debug/echo", body={"a": 1}, port=port)
        expect_error(resp, 502, "bad_gateway")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(prefix, ignore_errors=True)
