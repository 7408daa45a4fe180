"""The JSON error shape, from the worker and from nginx itself."""

import http.client as httpclient
import json
import uuid

import fcgi_client
from helpers import NginxCopy, expect_error, raw_http, request

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


def test_502_when_no_worker_answers():
    # A second nginx from the stack's own config: its upstream sockets do
    # not exist.
    with NginxCopy() as copy:
        resp = request("GET", "/api/health", port=copy.port)
        expect_error(resp, 502, "bad_gateway")
        assert resp.header_all("Retry-After") == ["5"], \
            resp.header_all("Retry-After")
        # A POST is never retried on the other worker, but answers the same.
        resp = request("POST", "/api/debug/echo", body={"a": 1},
                       port=copy.port)
        expect_error(resp, 502, "bad_gateway")


def test_no_request_on_a_connection_the_worker_closes():
    # nginx keeps its connections to the workers (fastcgi_keep_conn on, an
    # upstream keepalive), unbuffered answers' (POST .../messages) too, and
    # asks the workers to keep them; a worker closes only those it is not
    # asked to keep. Before, with fastcgi_keep_conn off, the keepalive cache
    # sent a later request down a connection the worker was closing: 502
    # "upstream prematurely closed connection" for a POST.
    with NginxCopy() as copy:
        answer = (b"Status: 202 Accepted\r\nContent-Type: application/json"
                  b"\r\n\r\n{\"turn_id\":\"t\"}")
        workers = [fcgi_client.Responder(copy.sock(i), answer)
                   for i in (1, 2)]
        try:
            conn = httpclient.HTTPConnection("127.0.0.1", copy.port,
                                             timeout=30)
            statuses = []
            for _ in range(8):      # one connection: one nginx worker
                conn.request("POST", "/api/projects/%s/messages" % uuid.uuid4(),
                             body=b'{"content":"x"}',
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                statuses.append(resp.status)
            conn.close()
        finally:
            for w in workers:
                w.close()
        answered = sum(w.answered for w in workers)
        swallowed = sum(w.swallowed for w in workers)
        connections = sum(w.connections for w in workers)
        assert statuses == [202] * 8 and swallowed == 0, \
            "statuses %s; %d answered, %d requests sent on a closing " \
            "connection; nginx said:\n%s" % (statuses, answered, swallowed,
                                            copy.errors())
        assert connections < 8, "a connection per request: nginx kept none"
