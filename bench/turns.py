#!/usr/bin/python3
"""Benchmark the turn (not a test: it prints numbers and judges nothing).

1. Overhead: sequential streamed turns with the Claude double answering at
   once (no latency, no token delay), each read to its turn.done; the
   turn's time is then the platform's own work (the queue, the engine,
   storage, context, two stages, the transaction, nchan) plus the double's.
2. Concurrency: N streaming turns at once against the stack, the double
   waiting --latency-ms before each answer and pacing tokens, for growing N;
   errors, the time the batch took next to one such turn alone, and the
   RSS of the workers and of nginx after each batch.

Usage: BS_BASE_URL=... BS_CLAUDE_URL=... bench/turns.py [--turns 30]
        [--concurrency 8,16,32,64] [--latency-ms 0] [--token-delay-ms 10]
Traffic goes to loopback addresses only.
"""

import argparse
import json
import os
import statistics
import threading
import time
import uuid

from benchlib import call, loopback, rss_kib


_sources = iter("127.0.%d.%d" % (3 + i // 250, 1 + i % 250)
                for i in range(5000))


def session(base, source_tag):
    """A user and a project; each from its own loopback address, so the
    per-address limits of nginx and of the workers leave the bench be."""
    email = "bench-%s-%s@example.com" % (source_tag, uuid.uuid4().hex[:8])
    source = next(_sources)
    st, body = call(base, "POST", "/api/auth/register",
                    {"email": email, "password": "benchmark passphrase"},
                    source=source)
    assert st == 201, (st, body)
    auth = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
    st, body = call(base, "POST", "/api/projects", {"title": "bench"}, auth)
    assert st == 201, (st, body)
    return auth, json.loads(body)["id"], source


def overhead(base, claude, turns):
    call(claude, "POST", "/_double/config", {"latency_ms": 0, "token_delay_ms": 0})
    auth, project, source = session(base, "seq")
    times = []
    for i in range(turns):
        t0 = time.monotonic()
        st, body = call(base, "POST", "/api/projects/%s/messages" % project,
                        {"content": "Idea number %d: a shared tool library. "
                         "Let's go with a pilot street." % i},
                        dict(auth, Accept="text/event-stream"), source=source)
        times.append(time.monotonic() - t0)
        assert st == 200 and b"event: turn.done" in body, (st, body[-200:])
    times.sort()
    print("sequential streamed turns (double answers at once): n=%d" % turns)
    print("  p50 %.1f ms  p90 %.1f ms  max %.1f ms" % (
        1000 * statistics.median(times), 1000 * times[int(0.9 * len(times)) - 1],
        1000 * times[-1]))


def rss_mb(name):
    return rss_kib(name)[0] / 1024.0


def concurrent(base, claude, n, latency_ms, token_delay_ms):
    call(claude, "POST", "/_double/config",
         {"latency_ms": latency_ms, "token_delay_ms": token_delay_ms})
    sessions = [session(base, "c%d" % i) for i in range(n)]
    results = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        auth, project, source = sessions[i]
        h = dict(auth, Accept="text/event-stream")
        barrier.wait()
        t0 = time.monotonic()
        try:
            st, body = call(base, "POST", "/api/projects/%s/messages" % project,
                            {"content": "Concurrent idea %d [no-changes]" % i}, h,
                            source=source)
            ok = st == 200 and b"event: turn.done" in body and \
                b'"status":"done"' in body
            results[i] = (ok, time.monotonic() - t0, st)
        except Exception as e:  # noqa: BLE001 - counted as an error
            results[i] = (False, time.monotonic() - t0, repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    errors = [r for r in results if not r[0]]
    times = sorted(r[1] for r in results)
    print("  %4d concurrent streaming turns: %d errors, wall %.1f s, "
          "p50 %.1f s, max %.1f s; RSS workers %.0f MB, nginx %.0f MB%s" % (
              n, len(errors), wall, statistics.median(times), times[-1],
              rss_mb("brainstorm-fcgi"), rss_mb("nginx"),
              (" (first error: %r)" % (errors[0][2],)) if errors else ""))
    return wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--concurrency", default="8,16,32,64")
    ap.add_argument("--token-delay-ms", type=int, default=10)
    ap.add_argument("--latency-ms", type=int, default=0)
    args = ap.parse_args()
    base = loopback(os.environ["BS_BASE_URL"])
    claude = loopback(os.environ["BS_CLAUDE_URL"])
    overhead(base, claude, args.turns)
    print("concurrent streaming turns (double: %d ms before each answer, "
          "%d ms between tokens):" % (args.latency_ms, args.token_delay_ms))
    one = concurrent(base, claude, 1, args.latency_ms, args.token_delay_ms)
    for n in (int(x) for x in args.concurrency.split(",")):
        wall = concurrent(base, claude, n, args.latency_ms, args.token_delay_ms)
        print("        wall / one turn alone: %.2f" % (wall / one))
    call(claude, "POST", "/_double/config", {"latency_ms": 0, "token_delay_ms": 5})


if __name__ == "__main__":
    main()
