"""The web app's files and the headers nginx adds."""

import gzip
import json
import re

from helpers import request

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _check_security_headers(resp):
    for name, value in SECURITY_HEADERS.items():
        assert resp.header_all(name) == [value], (name, resp.header_all(name))
    csp = resp.header_all("Content-Security-Policy")
    assert len(csp) == 1, csp
    for directive in ("default-src 'self'", "connect-src 'self'",
                      "frame-ancestors 'none'"):
        assert directive in csp[0], (directive, csp[0])
    assert resp.header("Server") == "nginx", resp.header("Server")


def test_index_html():
    resp = request("GET", "/")
    assert resp.status == 200, resp
    assert (resp.header("Content-Type") or "").startswith("text/html")
    assert resp.header("Cache-Control") == "no-cache", resp.header("Cache-Control")
    _check_security_headers(resp)


def test_spa_fallback_serves_index():
    index = request("GET", "/")
    resp = request("GET", "/projects/0b6b8a1e/board")
    assert resp.status == 200, resp
    assert resp.body == index.body


def test_assets_cached_for_long():
    index = request("GET", "/").body.decode()
    assets = re.findall(r'"(/assets/[^"]+)"', index)
    assert assets, "index.html references no /assets/ file"
    resp = request("GET", assets[0])
    assert resp.status == 200, resp
    cache = resp.header("Cache-Control") or ""
    assert "max-age=31536000" in cache and "immutable" in cache, cache
    _check_security_headers(resp)
    assert request("GET", "/assets/no-such-file.js").status == 404


def test_web_app_sent_from_its_gzipped_copies():
    # The build leaves a gzip of each text file beside it
    # (frontend/build/precompress.ts); nginx sends those bytes as they are
    # (gzip_static), with their length, where compressing as it sends would
    # answer in chunks of no announced length.
    index = request("GET", "/").body.decode()
    paths = ["/"] + re.findall(r'"(/assets/[^"]+\.(?:js|css))"', index)
    assert len(paths) > 2, paths
    for path in paths:
        plain = request("GET", path)
        packed = request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert plain.status == packed.status == 200, (path, plain, packed)
        assert plain.header("Content-Encoding") is None, path
        assert packed.header("Content-Encoding") == "gzip", path
        assert packed.header("Content-Length") == str(len(packed.body)), path
        assert gzip.decompress(packed.body) == plain.body, path
        assert "Accept-Encoding" in (packed.header("Vary") or ""), path


def test_hidden_files_not_served():
    assert request("GET", "/.env").status == 404
    assert request("GET", "/.git/config").status == 404


def test_api_headers_once():
    resp = request("GET", "/api/health")
    assert resp.status == 200, resp
    _check_security_headers(resp)
    assert len(resp.header_all("X-Request-Id")) == 1, resp.header_all("X-Request-Id")
    assert len(resp.header_all("Cache-Control")) == 1, resp.header_all("Cache-Control")


def test_json_is_gzipped():
    doc = {"items": ["idea number %d" % i for i in range(300)]}
    resp = request("POST", "/api/debug/echo", body=doc,
                   headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200, resp
    assert resp.header("Content-Encoding") == "gzip", resp.header("Content-Encoding")
    assert json.loads(gzip.decompress(resp.body)) == {"json": doc}


def test_streaming_location_reaches_workers():
    # The SSE location passes to the workers like /api/: whatever the answer
    # (not found, or unauthorized), it is the API's, not nginx's.
    resp = request("GET", "/api/projects/0b6b8a1e/events")
    assert resp.status not in (502, 503, 504), resp
    assert (resp.header("Content-Type") or "").startswith(
        ("application/json", "text/event-stream")), resp
