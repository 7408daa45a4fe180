"""A slow request does not hold up the others."""

import re
import threading
import time

import fcgi_client
from helpers import request, wait_until, worker_sockets

SLOW_MS = 10000
PARALLEL = 200
SLEEPING = re.compile(r"^debug_sleep_in_progress (\d+)$", re.M)


def sleeping():
    """Requests asleep in /api/debug/sleep, over every worker behind nginx
    (each counts its own: asked straight, past nginx)."""
    n = 0
    for sock in worker_sockets():
        status, _, body = fcgi_client.request(sock, "GET", "/metrics",
                                              timeout=30)
        assert status == 200, (status, body[:200])
        m = SLEEPING.search(body.decode())
        assert m, "no debug_sleep_in_progress in /metrics of %s" % sock
        n += int(m.group(1))
    return n


def test_slow_request_does_not_block_health():
    slow = {}

    def slow_request():
        slow["resp"] = request("GET", "/api/debug/sleep?ms=%d" % SLOW_MS,
                               timeout=60)
        slow["done"] = time.monotonic()

    slow_thread = threading.Thread(target=slow_request, daemon=True)
    slow_thread.start()
    # The slow request holds a worker's thread before the others come.
    wait_until("the slow request to be asleep in a worker",
               lambda: sleeping() >= 1, timeout=30, interval=0.05)

    barrier = threading.Barrier(PARALLEL)
    results = [None] * PARALLEL

    def health(i):
        barrier.wait(timeout=60)
        try:
            results[i] = request("GET", "/api/health", timeout=60).status
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = repr(e)

    threads = [threading.Thread(target=health, args=(i,), daemon=True)
               for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    still_in_flight = slow_thread.is_alive()

    failures = [r for r in results if r != 200]
    assert not failures, "%d of %d health requests failed: %s" % (
        len(failures), PARALLEL, failures[:10])
    assert still_in_flight, "the slow request finished before the %d " \
        "health requests did" % PARALLEL

    slow_thread.join(timeout=60)
    assert not slow_thread.is_alive(), "the slow request never returned"
    assert slow["resp"].status == 200, slow["resp"]
    assert slow["resp"].json() == {"slept_ms": SLOW_MS}, slow["resp"]


def test_a_late_request_on_a_unix_socket_is_answered():
    """libfcgi's own accept closes a unix-socket connection whose request
    has not come within LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT (2 s unless
    set): nginx, late on a loaded machine, then answers 502 "upstream
    prematurely closed connection". The workers keep a connection without
    a request in their epoll set for as long as its peer keeps it: a
    request sent 3 s after connecting is answered."""
    import os

    import fcgi_client
    from helpers import env
    run_dir = env("BS_RUN_DIR")
    sock = sorted(p for p in os.listdir(run_dir) if p.startswith("fcgi-")
                  and p.endswith(".sock"))[0]
    status, _, body = fcgi_client.request(
        os.path.join(run_dir, sock), "GET", "/api/health",
        before_send=lambda: time.sleep(3), timeout=30)
    assert status == 200, (status, body)
