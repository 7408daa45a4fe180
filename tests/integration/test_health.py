"""Liveness and request ids, through nginx."""

import re

from helpers import expect_error, request

NGINX_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def test_health_ok():
    resp = request("GET", "/api/health")
    assert resp.status == 200, resp
    assert (resp.header("Content-Type") or "").startswith("application/json")
    assert resp.header("Cache-Control") == "no-store", resp.header("Cache-Control")
    assert len(resp.header_all("X-Request-Id")) == 1, resp.header_all("X-Request-Id")
    doc = resp.json()
    assert doc.get("status") == "ok", doc
    assert isinstance(doc.get("version"), str) and doc["version"], doc


def test_request_id_is_nginx_s_and_echoed():
    # A client cannot choose the id: nginx passes its own $request_id, and
    # the worker's error body names the same id as the header.
    resp = request("GET", "/api/nope", headers={"X-Request-Id": "client-chosen"})
    err = expect_error(resp, 404, "not_found")
    assert err["request_id"] != "client-chosen", err
    assert NGINX_REQUEST_ID.match(err["request_id"]), err["request_id"]


def test_request_ids_differ():
    ids = {request("GET", "/api/health").header("X-Request-Id") for _ in range(5)}
    assert len(ids) == 5, ids
