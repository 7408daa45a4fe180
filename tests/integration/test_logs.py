"""Logs are JSON lines: the workers' (time, level, msg, request ids) and
nginx's access log. Runs last (RUN_LAST), so it reads what every other test
made them log."""

import glob
import json
import os

from helpers import env, request, wait_until

RUN_LAST = True


def _log_files():
    files = sorted(glob.glob(os.path.join(env("BS_RUN_DIR"), "worker-*.log")))
    assert files, "no worker-*.log in %s" % env("BS_RUN_DIR")
    return files


def _records():
    for path in _log_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield path, number, line


def test_every_log_line_is_json():
    count = 0
    for path, number, line in _records():
        where = "%s:%d" % (os.path.basename(path), number)
        try:
            doc = json.loads(line)
        except ValueError:
            raise AssertionError("%s is not JSON: %r" % (where, line[:300]))
        assert isinstance(doc, dict), "%s: %r" % (where, line[:300])
        for member in ("time", "level", "msg"):
            assert isinstance(doc.get(member), str) and doc[member], \
                "%s has no %s: %r" % (where, member, line[:300])
        count += 1
    assert count > 0, "the workers logged nothing"


def test_request_logged_with_its_id():
    resp = request("GET", "/api/nope/logged")
    request_id = resp.header("X-Request-Id")
    assert request_id, resp

    def logged():
        return [line for _, _, line in _records()
                if request_id in line
                and json.loads(line).get("request_id") == request_id]
    wait_until("a worker log line with request_id %s" % request_id, logged,
               timeout=10)


def test_nginx_access_log_is_json():
    resp = request("GET", "/api/health")
    request_id = resp.header("X-Request-Id")
    path = os.path.join(env("BS_RUN_DIR"), "logs", "access.log")

    def logged():
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line for line in f if line.strip()]
        docs = []
        for number, line in enumerate(lines, 1):
            try:
                docs.append(json.loads(line))
            except ValueError:
                raise AssertionError("access.log:%d is not JSON: %r"
                                     % (number, line[:300]))
        return [d for d in docs if d.get("request_id") == request_id]
    doc = wait_until("access.log to show request %s" % request_id, logged,
                     timeout=10)[0]
    assert doc["status"] == 200 and doc["uri"] == "/api/health", doc
    assert doc["upstream_addr"].startswith("unix:"), doc
