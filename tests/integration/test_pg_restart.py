"""A PostgreSQL restart costs no request once the server is back: the
pool finds the connections the server closed (its FATAL "terminating
connection due to administrator command", then EOF) when they are checked
out, and opens fresh ones instead of failing a request on each (#12)."""

import re
import threading

import fcgi_client
from helpers import create_project, register_user, request, shell, \
    wait_until, worker_sockets

IDLE = re.compile(r'^db_pool_connections\{state="idle"\} (\d+)$', re.M)
# Concurrent clients per worker while warming: as many as its threads, so
# several pooled connections are in use at once and stay open afterwards.
WARM_CLIENTS = 8
WARM_ROUNDS = 15


def worker_get(sock, path, headers=None):
    """GET straight to one worker, past nginx: (status, body)."""
    status, _headers, body = fcgi_client.request(sock, "GET", path,
                                                 headers=headers, timeout=30)
    return status, body


def idle_connections(sock):
    status, body = worker_get(sock, "/metrics")
    assert status == 200, (status, body[:200])
    match = IDLE.search(body.decode())
    assert match, "no idle pool gauge in /metrics of %s" % sock
    return int(match.group(1))


def warm_pools(auth, project):
    """Open several pooled connections in every worker: concurrent board
    reads straight to each worker's socket. Returns the idle count of each."""
    path = "/api/projects/%s/items" % project
    errors = []

    def client(sock):
        for _ in range(WARM_ROUNDS):
            status, body = worker_get(sock, path, auth)
            if status != 200:
                errors.append((sock, status, body[:200]))

    threads = [threading.Thread(target=client, args=(sock,), daemon=True)
               for sock in worker_sockets() for _ in range(WARM_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    return {sock: idle_connections(sock) for sock in worker_sockets()}


def test_no_request_fails_after_a_postgresql_restart():
    user = register_user("pgrestart")
    auth = user.headers()
    project = create_project(user.token)["id"]
    idle = warm_pools(auth, project)
    total_idle = sum(idle.values())
    assert all(n >= 1 for n in idle.values()), idle

    shell("BS_PG_STOP")
    shell("BS_PG_START")    # returns once PostgreSQL accepts connections

    # PostgreSQL is up again: from here on nothing may answer 503, not even
    # the readiness check that a load balancer polls. It asks the first
    # worker only (past nginx), so that the other worker's pool is left as
    # the restart left it for the requests below: each readiness check that
    # failed would also have thrown one dead connection away.
    seen = []
    first = worker_sockets()[0]

    def ready():
        status, _body = worker_get(first, "/api/ready")
        seen.append(status)
        return status == 200

    wait_until("/api/ready to answer 200 after the restart", ready,
               timeout=60)
    requests = total_idle + 10
    failed = []
    for i in range(requests):
        path = ("/api/projects/%s/items" % project if i % 2 == 0
                else "/api/projects")
        resp = request("GET", path, headers=auth, timeout=30)
        if resp.status != 200:
            failed.append((path, resp.status, resp.body[:120]))
    print("    idle pooled connections before the restart: %s; the first "
          "worker's /api/ready after it: %s; %d requests through nginx, "
          "%d not 200"
          % (sorted(idle.values()), seen, requests, len(failed)))
    assert seen.count(503) == 0 and not failed, \
        "with PostgreSQL up, /api/ready answered %s and %d of %d requests " \
        "failed: %s" % (seen, len(failed), requests, failed[:5])
