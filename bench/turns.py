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

With --run-dir (the stack's run directory: script/server's var/run), each
batch also prints the nchan publishes per turn (nchan's own count of
published messages, from /status on its publisher socket) and where the
CPU went: each part of the stack's share of the CPU time the batch used,
and that time against the machine's cores. Only this stack's processes
count (found from the run directory's pid files), not other stacks on the
machine. A table of every batch closes the run.

Usage: BS_BASE_URL=... BS_CLAUDE_URL=... bench/turns.py [--turns 30]
        [--concurrency 8,16,32,64] [--latency-ms 0] [--token-delay-ms 10]
        [--run-dir var/run]
Traffic goes to loopback addresses only.
"""

import argparse
import glob
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid


def loopback(url):
    host = urllib.parse.urlsplit(url).hostname
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit("not a loopback URL: %s" % url)
    return url


def call(base, method, path, body=None, headers=None, timeout=300,
         source=None):
    """(status, body); a turn's stream is read to its turn.done event (the
    stream stays open a few seconds after it)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(
        u.hostname, u.port, timeout=timeout,
        source_address=(source, 0) if source else None)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        if not (r.getheader("Content-Type") or "").startswith(
                "text/event-stream"):
            return r.status, r.read()
        got = b""
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            got += chunk
            tail = got.split(b"event: turn.done", 1)
            if len(tail) == 2 and b"\n\n" in tail[1]:
                break
        return r.status, got
    finally:
        conn.close()


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
    total = 0
    pids = subprocess.run(["pgrep", "-x", name], capture_output=True,
                          text=True, check=False).stdout.split()
    for pid in pids:
        try:
            with open("/proc/%s/status" % pid, encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (nchan's publisher server)."""

    def __init__(self, path, timeout=10):
        super().__init__("nchan", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def nchan_published(run_dir):
    """nchan's count of messages published since nginx started, or None."""
    if not run_dir:
        return None
    conn = UnixHTTPConnection(os.path.join(run_dir, "nchan.sock"))
    try:
        conn.request("GET", "/status")
        text = conn.getresponse().read().decode("ascii", "replace")
    except OSError:
        return None
    finally:
        conn.close()
    m = re.search(r"total published messages: (\d+)", text)
    return int(m.group(1)) if m else None


def _pid_file(path):
    """The pids a pid file starts with (postmaster.pid goes on with more)."""
    pids = []
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for word in f.read().split():
                if not word.isdigit():
                    break
                pids.append(int(word))
    except OSError:
        pass
    return pids


def _children():
    kids = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(
            int(stat.split("/")[2]))
    return kids


def stack_pids(run_dir):
    """{part: [pids]} of this stack: nginx, the workers, PostgreSQL, Redis,
    the Claude double, each with its children."""
    state = os.path.dirname(os.path.abspath(run_dir))
    roots = {
        "nginx": _pid_file(os.path.join(run_dir, "nginx.pid")),
        "workers": _pid_file(os.path.join(run_dir, "workers.pid")),
        "double": _pid_file(os.path.join(run_dir, "claude-double.pid")),
        "redis": _pid_file(os.path.join(state, "redis", "redis.pid")),
        # postmaster.pid: the postmaster's pid, then its data directory...
        "postgres": _pid_file(os.path.join(state, "pg", "data",
                                           "postmaster.pid"))[:1],
    }
    kids = _children()
    out = {}
    for part, pids in roots.items():
        todo, seen = list(pids), []
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.append(pid)
                todo.extend(kids.get(pid, []))
        out[part] = seen
    return out


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid, encoding="ascii",
                      errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def cpu_sample(run_dir):
    if not run_dir:
        return None
    sample = {part: cpu_ticks(pids) for part, pids in
              stack_pids(run_dir).items()}
    t = os.times()
    sample["bench"] = int((t.user + t.system) * os.sysconf("SC_CLK_TCK"))
    return sample


def cpu_shares(before, after, wall):
    """"nginx 41% workers 30% ...; 1.8 of 2 cores" over a batch."""
    if before is None or after is None:
        return ""
    used = {k: max(0, after[k] - before.get(k, 0)) for k in after}
    total = sum(used.values()) or 1
    cores = total / float(os.sysconf("SC_CLK_TCK")) / max(wall, 1e-6)
    return "%s; %.1f of %d cores" % (" ".join(
        "%s %.0f%%" % (k, 100.0 * v / total) for k, v in
        sorted(used.items(), key=lambda kv: -kv[1])),
        cores, os.cpu_count() or 1)


def concurrent(base, claude, n, latency_ms, token_delay_ms, run_dir=None):
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
    published0 = nchan_published(run_dir)
    cpu0 = cpu_sample(run_dir)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu1 = cpu_sample(run_dir)
    # A turn's last events follow its turn.done by a moment.
    time.sleep(0.5 if run_dir else 0)
    published1 = nchan_published(run_dir)
    errors = [r for r in results if not r[0]]
    times = sorted(r[1] for r in results)
    print("  %4d concurrent streaming turns: %d errors, wall %.1f s, "
          "p50 %.1f s, max %.1f s; RSS workers %.0f MB, nginx %.0f MB%s" % (
              n, len(errors), wall, statistics.median(times), times[-1],
              rss_mb("brainstorm-fcgi"), rss_mb("nginx"),
              (" (first error: %r)" % (errors[0][2],)) if errors else ""))
    per_turn = None
    if published0 is not None and published1 is not None:
        per_turn = (published1 - published0) / float(n)
        print("        nchan publishes per turn: %.1f" % per_turn)
    shares = cpu_shares(cpu0, cpu1, wall)
    if shares:
        print("        CPU: " + shares)
    return wall, len(errors), per_turn, shares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--concurrency", default="8,16,32,64")
    ap.add_argument("--token-delay-ms", type=int, default=10)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--run-dir", default=os.environ.get("BS_RUN_DIR"),
                    help="the stack's run directory (pid files, nchan.sock)")
    ap.add_argument("--no-overhead", action="store_true",
                    help="skip the sequential turns")
    args = ap.parse_args()
    base = loopback(os.environ["BS_BASE_URL"])
    claude = loopback(os.environ["BS_CLAUDE_URL"])
    if not args.no_overhead:
        overhead(base, claude, args.turns)
    print("concurrent streaming turns (double: %d ms before each answer, "
          "%d ms between tokens):" % (args.latency_ms, args.token_delay_ms))
    one = concurrent(base, claude, 1, args.latency_ms, args.token_delay_ms,
                     args.run_dir)[0]
    rows = []
    for n in (int(x) for x in args.concurrency.split(",")):
        wall, errors, per_turn, shares = concurrent(
            base, claude, n, args.latency_ms, args.token_delay_ms,
            args.run_dir)
        print("        wall / one turn alone: %.2f" % (wall / one))
        rows.append((n, errors, wall, wall / one, per_turn, shares))
    print("\n| N | errors | wall (s) | / one turn (%.1f s) | publishes/turn "
          "| CPU |" % one)
    print("|---|---|---|---|---|---|")
    for n, errors, wall, ratio, per_turn, shares in rows:
        print("| %d | %d | %.1f | %.2f | %s | %s |" % (
            n, errors, wall, ratio,
            "%.1f" % per_turn if per_turn is not None else "-", shares or "-"))
    call(claude, "POST", "/_double/config", {"latency_ms": 0, "token_delay_ms": 5})


if __name__ == "__main__":
    main()
