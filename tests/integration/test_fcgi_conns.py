"""FastCGI connections kept between requests (nginx's fastcgi_keep_conn and
upstream keepalive): a worker answers request after request on one
connection, an idle connection holds no thread, and a connection is closed
when its peer closes it, when the peer does not ask to keep it, and when the
worker stops; a worker takes at most half its open-files limit in
connections. Most tests talk FastCGI to a worker of their own with two
threads; two go through the stack's nginx and workers."""

import json
import os
import signal
import time

import fcgi_client
from helpers import (Worker, api, create_item, create_project, register_user,
                     request, wait_until, worker_sockets)

THREADS = 2

# /proc/net/tcp states (include/net/tcp_states.h)
TCP_LISTEN = "0A"
TCP_TIME_WAIT = "06"


def _worker_side_sockets(port):
    """The worker's open connections on its port: every socket whose local
    port it is, but the listening one and those in TIME_WAIT (closed)."""
    count = 0
    with open("/proc/net/tcp", encoding="ascii") as f:
        next(f)
        for line in f:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == port and fields[3] not in (TCP_LISTEN,
                                                        TCP_TIME_WAIT):
                count += 1
    return count


def _health(conn):
    status, _, body = conn.request("GET", "/api/health")
    assert status == 200, (status, body)


def test_one_connection_serves_request_after_request():
    worker = Worker("keep-serial", {"WORKER_THREADS": str(THREADS)})
    try:
        with fcgi_client.Connection(("127.0.0.1", worker.port)) as conn:
            for _ in range(25):
                _health(conn)
            # A body the handler never reads (refused before it): the next
            # request on the connection starts after it all the same.
            status, _, _ = conn.request(
                "POST", "/api/projects", body=b'{"title":"' + b"x" * 30000
                + b'"}', headers={"Content-Type": "application/json"})
            assert status == 401, status
            _health(conn)
            status, _, body = conn.request("GET", "/api/nowhere")
            assert status == 404, (status, body)
            _health(conn)
    finally:
        worker.stop()


def test_the_answer_waits_for_the_whole_request():
    """A request refused before its body is read (no token) is answered
    only once the worker has read all of it. nginx sends its next request
    on a kept connection as soon as it has an answer's end; were the answer
    to end first, the worker's read of the rest of the body could take the
    start of that next request with it."""
    worker = Worker("keep-whole", {"WORKER_THREADS": str(THREADS)})
    try:
        with fcgi_client.Connection(("127.0.0.1", worker.port)) as conn:
            rest = conn.send_part(
                "POST", "/api/projects", b'{"title":"' + b"x" * 30000 + b'"}',
                held=1000, headers={"Content-Type": "application/json"})
            assert not conn.answered_within(1.0), \
                "answered before the whole request was read"
            rest()
            status, _, body = conn.response()
            assert status == 401, (status, body)
            _health(conn)
    finally:
        worker.stop()


def test_idle_connections_hold_no_thread():
    """More idle connections than threads, kept ones and silent ones: a new
    connection is still answered, and so is each kept one afterwards."""
    worker = Worker("keep-idle", {"WORKER_THREADS": str(THREADS)})
    kept, silent = [], []
    try:
        for _ in range(THREADS * 3):
            conn = fcgi_client.Connection(("127.0.0.1", worker.port))
            kept.append(conn)
            _health(conn)
        for _ in range(THREADS * 2):
            silent.append(fcgi_client.connect(("127.0.0.1", worker.port)))
        status, _, body = fcgi_client.request(("127.0.0.1", worker.port),
                                              "GET", "/api/health",
                                              timeout=20)
        assert status == 200, (status, body)
        for conn in reversed(kept):
            _health(conn)
        # Two at once on two kept connections, the second sent first.
        kept[0].send_only("GET", "/api/debug/sleep", "ms=300")
        kept[1].send_only("GET", "/api/health")
        status, _, _ = kept[1].response()
        assert status == 200
        status, _, body = kept[0].response()
        assert status == 200, (status, body)
    finally:
        for conn in kept:
            conn.close()
        for sock in silent:
            sock.close()
        worker.stop()


def test_connections_close_when_their_peer_says():
    worker = Worker("keep-close", {"WORKER_THREADS": str(THREADS)})
    try:
        # Not asked to keep it: closed after the answer, as libfcgi does.
        with fcgi_client.Connection(("127.0.0.1", worker.port)) as conn:
            status, _, _ = conn.request("GET", "/api/health", keep=False)
            assert status == 200
            assert conn.closed_by_peer(), "kept though not asked to"

        conns = [fcgi_client.Connection(("127.0.0.1", worker.port))
                 for _ in range(8)]
        for conn in conns:
            _health(conn)
        assert _worker_side_sockets(worker.port) >= 8
        for conn in conns:
            conn.close()
        # The worker closes its side of each: none stays in CLOSE_WAIT.
        wait_until("the worker to close the connections its peer closed",
                   lambda: _worker_side_sockets(worker.port) == 0)
        with fcgi_client.Connection(("127.0.0.1", worker.port)) as conn:
            _health(conn)
    finally:
        worker.stop()


def test_stop_closes_idle_connections():
    """On SIGTERM the idle connections are closed at once (nginx must not
    send requests down them while the process ends), and the worker exits
    0 with a request in flight on another connection answered first."""
    worker = Worker("keep-stop", {"WORKER_THREADS": str(THREADS)})
    try:
        idle = fcgi_client.Connection(("127.0.0.1", worker.port))
        _health(idle)
        busy = fcgi_client.Connection(("127.0.0.1", worker.port), timeout=30)
        _health(busy)
        busy.send_only("GET", "/api/debug/sleep", "ms=1000")
        # The worker takes a request as soon as it arrives; this is only a
        # margin for it to have done so (the sleep lasts 1 s).
        time.sleep(0.3)
        os.kill(worker.proc.pid, signal.SIGTERM)
        status, _, body = busy.response()
        assert status == 200, (status, body)
        assert busy.closed_by_peer(), "the busy connection stayed open"
        assert idle.closed_by_peer(timeout=30), "the idle connection stayed open"
        assert worker.proc.wait(timeout=30) == 0
    finally:
        worker.stop()


def _accepted(sock_path):
    """The process's fastcgi_connections_accepted_total, scraped on a
    connection of its own (counted too)."""
    status, _, body = fcgi_client.request(sock_path, "GET", "/metrics")
    assert status == 200, status
    for line in body.decode().splitlines():
        if line.startswith("fastcgi_connections_accepted_total "):
            return int(line.split()[1])
    raise AssertionError("no fastcgi_connections_accepted_total")


def test_nginx_keeps_its_connections_to_the_workers():
    """The stack's nginx (fastcgi_keep_conn on, an upstream keepalive):
    requests one after another reuse its connections to the workers."""
    socks = worker_sockets()
    for _ in range(5):
        assert request("GET", "/api/health").status == 200
    before = sum(_accepted(s) for s in socks)
    for _ in range(60):
        assert request("GET", "/api/health").status == 200
    accepted = sum(_accepted(s) for s in socks) - before - len(socks)
    assert accepted < 10, "%d connections for 60 requests" % accepted


def test_a_large_answer_on_a_kept_connection():
    """An answer larger than a worker holds before sending (64 KiB) and
    than one FastCGI record (65,535 bytes), through nginx and on a kept
    connection, followed by another request on it."""
    user = register_user("bigpage")
    project = create_project(user.token)
    texts = ["%04d " % i + "long idea " * 199 for i in range(80)]
    for text in texts:
        create_item(user.token, project["id"], text=text)
    path = "/api/projects/%s/items" % project["id"]

    resp = api("GET", path + "?limit=1000", user.token)
    assert resp.status == 200, resp
    assert len(resp.body) > 150000, len(resp.body)
    assert sorted(i["text"] for i in resp.json()["items"]) == texts

    with fcgi_client.Connection(worker_sockets()[0]) as conn:
        for _ in range(2):
            status, _, body = conn.request(
                "GET", path, "limit=1000",
                headers={"Authorization": "Bearer " + user.token})
            assert status == 200, (status, body[:200])
            assert sorted(i["text"] for i in json.loads(body)["items"]) \
                == texts
        _health(conn)


def _socket_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def test_connections_are_capped_at_half_the_files_limit():
    """A worker takes at most half its open-files limit in connections; the
    rest wait in the listen backlog, are taken as others close, and the
    worker never runs out of descriptors (no "accept failed")."""
    nofile = 128
    worker = Worker("keep-cap", {"WORKER_THREADS": str(THREADS)},
                    nofile=nofile)
    conns = []
    try:
        for _ in range(nofile):
            conns.append(fcgi_client.Connection(("127.0.0.1", worker.port)))
        _health(conns[0])
        wait_until("the worker to take connections up to its cap",
                   lambda: _socket_fds(worker.proc.pid) >= nofile // 2)
        assert _socket_fds(worker.proc.pid) < nofile - 8, \
            "%d sockets open with a limit of %d" % (
                _socket_fds(worker.proc.pid), nofile)
        last = conns[-1]
        last.send_only("GET", "/api/health")
        for conn in conns[1:-1]:
            conn.close()
        status, _, body = last.response()
        assert status == 200, (status, body)
        assert worker.proc.poll() is None, "the worker exited"
        assert "accept failed" not in worker.log(), worker.log()[-2000:]
    finally:
        for conn in conns:
            conn.close()
        worker.stop()
