#!/usr/bin/python3
"""Benchmark open streams (not a test: it prints numbers and judges nothing).

U users each open S live-event streams of their project (nchan holds
them), each user from its own loopback address. With every stream open it
measures /api/health and an authenticated GET /api/projects (latency
percentiles over R requests from C client threads), then changes the board
of every project once and counts the streams that received the change.
Prints the RSS of the workers and of nginx.

Usage: BS_BASE_URL=http://127.0.0.1:8080 bench/streams.py [--users 200]
        [--streams 10] [--requests 2000] [--clients 8]
Traffic goes to loopback addresses only.
"""

import argparse
import http.client
import json
import os
import resource
import selectors
import socket
import statistics
import threading
import time
import urllib.parse
import uuid

from benchlib import call, loopback, rss_kib


def users_make(base, n):
    out = []
    for i in range(n):
        source = "127.0.%d.%d" % (40 + i // 250, 1 + i % 250)
        st, body = call(base, "POST", "/api/auth/register",
                        {"email": "streams-%s@example.com" % uuid.uuid4().hex[:12],
                         "password": "benchmark passphrase"}, source=source)
        assert st == 201, (st, body)
        token = json.loads(body)["access_token"]
        auth = {"Authorization": "Bearer " + token}
        st, body = call(base, "POST", "/api/projects", {"title": "streams"}, auth)
        assert st == 201, (st, body)
        out.append((auth, json.loads(body)["id"], source))
    return out


def stream_open(base, auth, project, source):
    """A raw socket with the stream's headers read; None when refused."""
    u = urllib.parse.urlsplit(base)
    s = socket.create_connection((u.hostname, u.port), timeout=30,
                                 source_address=(source, 0))
    s.sendall(("GET /api/projects/%s/events HTTP/1.1\r\nHost: bench\r\n"
               "Accept: text/event-stream\r\nAuthorization: %s\r\n\r\n"
               % (project, auth["Authorization"])).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        s.close()
        return None, head.split(b"\r\n", 1)[0]
    s.setblocking(False)
    return s, head.split(b"\r\n\r\n", 1)[1]


def percentiles(times):
    times = sorted(times)
    return "p50 %.1f ms  p99 %.1f ms  max %.1f ms" % (
        1000 * statistics.median(times),
        1000 * times[max(0, int(0.99 * len(times)) - 1)], 1000 * times[-1])


def latency(base, path, headers, requests, clients):
    times = []
    errors = []
    lock = threading.Lock()
    per = requests // clients

    def run():
        u = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        mine = []
        for _ in range(per):
            t0 = time.monotonic()
            try:
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors.append(r.status)
            except (OSError, http.client.HTTPException) as e:
                errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            mine.append(time.monotonic() - t0)
        conn.close()
        with lock:
            times.extend(mine)
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--streams", type=int, default=10)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    base = loopback(os.environ["BS_BASE_URL"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.users * args.streams + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    print("users: %d, streams each: %d" % (args.users, args.streams))
    users = users_make(base, args.users)
    sel = selectors.DefaultSelector()
    opened, refused = 0, []
    bufs = {}
    t0 = time.monotonic()
    for auth, project, source in users:
        for _ in range(args.streams):
            s, rest = stream_open(base, auth, project, source)
            if s is None:
                refused.append(rest)
                continue
            bufs[s] = rest
            sel.register(s, selectors.EVENT_READ, project)
            opened += 1
    print("opened %d streams in %.1f s (%d refused%s)" % (
        opened, time.monotonic() - t0, len(refused),
        ": %r" % refused[0] if refused else ""))

    auth = users[0][0]
    times, errors = latency(base, "/api/health", {}, args.requests, args.clients)
    print("GET /api/health with the streams open: %s, %d errors" % (
        percentiles(times), len(errors)))
    times, errors = latency(base, "/api/projects", auth, args.requests,
                            args.clients)
    print("GET /api/projects (authenticated) with the streams open: %s, "
          "%d errors" % (percentiles(times), len(errors)))

    # One board change per project; every stream of it should see it.
    for a, project, source in users:
        st, body = call(base, "POST", "/api/projects/%s/items" % project,
                        {"text": "bench card"}, a, source=source)
        assert st == 201, (st, body)
    got = set()
    deadline = time.monotonic() + 60
    while len(got) < opened and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            bufs[key.fileobj] += data
            if b"event: items.changed" in bufs[key.fileobj]:
                got.add(key.fileobj)
                sel.unregister(key.fileobj)
    print("streams that received their project's change: %d of %d" % (
        len(got), opened))
    rss, n = rss_kib("brainstorm-fcgi")
    print("RSS: workers %.1f MB (%d processes)" % (rss / 1024, n), end="")
    rss, n = rss_kib("nginx")
    print(", nginx %.1f MB (%d processes)" % (rss / 1024, n))
    for s in bufs:
        s.close()


if __name__ == "__main__":
    main()
