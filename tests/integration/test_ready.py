"""GET /api/ready follows PostgreSQL and Redis, and recovers when they come
back without the workers being restarted."""

from helpers import expect_error, pid_alive, request, shell, wait_until, \
    worker_pids

# Enough answers in a row that every worker (nginx takes turns) gave one.
IN_A_ROW = 6


def _ready():
    return request("GET", "/api/ready", timeout=30)


def _all_ready(check):
    """True when IN_A_ROW answers in a row satisfy check."""
    for _ in range(IN_A_ROW):
        if not check(_ready()):
            return False
    return True


def _is_ready(resp):
    return resp.status == 200 and resp.json().get("status") == "ready"


def _workers_unchanged(pids):
    dead = [p for p in pids if not pid_alive(p)]
    assert not dead, "workers restarted or died: %s" % dead


def test_ready_when_everything_is_up():
    resp = _ready()
    assert resp.status == 200, resp
    assert resp.header("Cache-Control") == "no-store", resp.header("Cache-Control")
    doc = resp.json()
    assert doc["status"] == "ready", doc
    assert doc["checks"] == {"database": "ok", "migrations": "ok",
                             "redis": "ok"}, doc


def test_ready_follows_postgresql():
    pids = worker_pids()
    wait_until("ready", lambda: _all_ready(_is_ready))
    shell("BS_PG_STOP")
    try:
        resp = wait_until("ready to answer 503 without PostgreSQL",
                          lambda: (lambda r: r if r.status == 503 else None)(_ready()))
        err = expect_error(resp, 503, "not_ready")
        assert len(resp.header_all("Retry-After")) == 1, resp.header_all("Retry-After")
        assert int(resp.header("Retry-After")) > 0, resp.header("Retry-After")
        doc = resp.json()
        assert doc["status"] == "not_ready", doc
        assert doc["checks"]["database"] != "ok", doc
        assert err["message"], doc
    finally:
        shell("BS_PG_START")
    wait_until("ready again after PostgreSQL is back",
               lambda: _all_ready(_is_ready), timeout=30)
    _workers_unchanged(pids)


def test_ready_degraded_without_redis():
    pids = worker_pids()
    shell("BS_REDIS_STOP")
    try:
        def degraded(resp):
            doc = resp.json()
            return (resp.status == 200 and doc.get("status") == "degraded"
                    and doc["checks"].get("redis") == "down"
                    and doc["checks"].get("database") == "ok")
        wait_until("ready to say degraded without Redis",
                   lambda: _all_ready(degraded))
        assert request("GET", "/api/health").status == 200
    finally:
        shell("BS_REDIS_START")
    wait_until("ready again after Redis is back",
               lambda: _all_ready(_is_ready), timeout=30)
    _workers_unchanged(pids)
