"""GET /metrics: Prometheus text that promtool accepts, bounded labels,
internal only."""

import re
import subprocess

from helpers import env, expect_error, request, wait_until

METRICS = [
    "http_requests_total", "http_request_duration_seconds",
    "db_query_duration_seconds", "db_pool_connections",
    "fastcgi_connections", "fastcgi_connections_accepted_total",
    "process_resident_memory_bytes", "process_open_fds",
    "process_cpu_seconds_total", "process_start_time_seconds",
    "process_heap_bytes",
    "brainstorm_build_info",
]
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _metrics():
    resp = request("GET", "/metrics")
    assert resp.status == 200, resp
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    return resp.body.decode()


def _samples(text, name):
    """[(labels dict, value)] of the samples of metric name."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line[len(name):].rpartition(" ")
            out.append((dict(LABEL.findall(labels)), value))
    return out


def test_metrics_pass_promtool():
    request("GET", "/api/health")
    text = _metrics()
    done = subprocess.run([env("BS_PROMTOOL"), "check", "metrics"],
                          input=text, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, "promtool: %s%s" % (done.stdout, done.stderr)


def test_metrics_names():
    text = _metrics()
    types = set(re.findall(r"^# TYPE (\w+) ", text, re.M))
    missing = [m for m in METRICS if m not in types]
    assert not missing, "missing metrics: %s" % missing
    assert "http_request_duration_seconds_bucket" in text


def test_route_labels_are_patterns():
    # Each worker counts its own requests, and /metrics is answered by
    # one of them: ask until the one answering has seen both.
    def routes_seen():
        request("GET", "/api/nope/123")
        request("GET", "/api/health")
        samples = _samples(_metrics(), "http_requests_total")
        routes = {labels.get("route") for labels, _ in samples}
        return (samples, routes) if {"unmatched", "/api/health"} <= routes \
            else None
    samples, routes = wait_until("a worker that counted both requests",
                                 routes_seen, timeout=30)
    for route in routes:
        assert route and "123" not in route and "nope" not in route, routes
    for labels, _ in samples:
        assert set(labels) >= {"method", "route", "status"}, labels


def test_metrics_internal_only():
    # 127.0.0.2 is a local address but not an allowed one.
    resp = request("GET", "/metrics", source="127.0.0.2")
    expect_error(resp, 403, "forbidden")
