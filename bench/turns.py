#!/usr/bin/python3
"""Benchmark the turn (not a test: it prints numbers and judges nothing).

1. Overhead: sequential streamed turns with the Claude double answering at
   once (no latency, no token delay), each read to its turn.done; the
   turn's time is then the platform's own work (the queue, the engine,
   storage, context, two stages, the transaction, nchan) plus the double's.
2. Concurrency: N streaming turns at once against the stack, the double
   waiting --latency-ms before each answer and pacing tokens, for growing N;
   errors, the time the batch took next to one such turn alone, how long
   the streams took to open (the message stored and the turn queued), the
   RSS of this stack's workers and nginx (its master and workers, from the
   pid files in --run-dir) after each batch, and the CPU each part spent,
   the bench's own client too. The batch's turns are sent from one asyncio
   loop (threads would start one by one, each new one waiting for the
   interpreter's lock, and stretch the batch's wall time). The double runs
   at --double-nice (-10) meanwhile: it stands in for an API on other
   machines, and starved of the CPU by the stack it answered up to a
   second late; each batch prints how late it still was.

Usage: BS_BASE_URL=... BS_CLAUDE_URL=... bench/turns.py [--turns 30]
        [--concurrency 8,16,32,64] [--latency-ms 0] [--token-delay-ms 10]
        [--rounds 1] [--double-nice -10] [--run-dir var/run]
Traffic goes to loopback addresses only.
"""

import argparse
import asyncio
import concurrent.futures
import contextlib
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import time
import uuid

from benchlib import call, call_async, loopback

try:    # the client's share of the CPU is smaller on uvloop (python3-uvloop)
    import uvloop
    LOOP = uvloop.new_event_loop
except ImportError:
    LOOP = None


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
    run = uuid.uuid4().hex[:8]     # no answer from an earlier run's cache
    for i in range(turns):
        t0 = time.monotonic()
        st, body = call(base, "POST", "/api/projects/%s/messages" % project,
                        {"content": "Idea number %d of run %s: a shared tool "
                         "library. Let's go with a pilot street." % (i, run)},
                        dict(auth, Accept="text/event-stream"), source=source)
        times.append(time.monotonic() - t0)
        assert st == 200 and b"event: turn.done" in body, (st, body[-200:])
    times.sort()
    print("sequential streamed turns (double answers at once): n=%d" % turns)
    print("  p50 %.1f ms  p90 %.1f ms  max %.1f ms" % (
        1000 * statistics.median(times), 1000 * times[int(0.9 * len(times)) - 1],
        1000 * times[-1]))


def read_words(path, lines=None):
    try:
        with open(path, encoding="ascii") as f:
            return f.read().split("\n")[0].split() if lines == 1 else f.read().split()
    except OSError:
        return []


def with_children(masters):
    children = subprocess.run(["pgrep", "-P", ",".join(masters)], capture_output=True,
                              text=True, check=False).stdout.split() if masters else []
    return masters + children


def stack_pids(run_dir):
    """This stack's processes by part, from the pid files script/server
    writes (pgrep by name would count every stack on the machine)."""
    return {"workers": read_words(os.path.join(run_dir, "workers.pid")),
            "nginx": with_children(read_words(os.path.join(run_dir, "nginx.pid"))),
            "double": read_words(os.path.join(run_dir, "claude-double.pid")),
            "postgres": with_children(read_words(os.path.join(
                run_dir, "..", "pg", "data", "postmaster.pid"), lines=1))}


@contextlib.contextmanager
def niced(pids, nice):
    """Every thread of pids at nice (None: as they are) until the block
    ends, then back; yields how many changed (none without root, which
    raising a priority needs)."""
    before = {}
    for pid in pids if nice is not None else ():
        try:
            tids = [int(t) for t in os.listdir("/proc/%s/task" % pid)]
        except OSError:
            continue
        for tid in tids:
            try:
                old = os.getpriority(os.PRIO_PROCESS, tid)
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                before[tid] = old
            except OSError:
                pass
    try:
        yield len(before)
    finally:
        for tid, old in before.items():
            try:
                os.setpriority(os.PRIO_PROCESS, tid, old)
            except OSError:
                pass


def cpu_seconds(pids):
    """{part: CPU seconds (user + system) so far} of stack_pids' answer."""
    out = {}
    for part, members in pids.items():
        ticks = 0
        for pid in members:
            try:
                with open("/proc/%s/stat" % pid, encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        out[part] = ticks / os.sysconf("SC_CLK_TCK")
    return out


def rss_mb(pids, field="VmRSS:", where="status"):
    """The RSS of these processes together, in MB; None without any. With
    ("Pss:", "smaps_rollup"), their proportional share: memory they share
    (nginx's, nchan's) counted once in all."""
    if not pids:
        return None
    total = 0
    for pid in pids:
        try:
            with open("/proc/%s/%s" % (pid, where), encoding="ascii") as f:
                for line in f:
                    if line.startswith(field):
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


def mb(value):
    return "?" if value is None else "%.0f MB" % value


def sessions_for(base, n):
    """n sessions, made by a few threads (registering hashes a password)."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: session(base, "c%d" % i), range(n)))


async def batch(base, sessions, text):
    """Every session's streamed turn at once, from one event loop: [(ok,
    seconds to the response's head, seconds in all, status or error)] and
    the batch's wall time."""
    async def one(i):
        auth, project, source = sessions[i]
        try:
            st, body, t_head, t_all = await call_async(
                base, "POST", "/api/projects/%s/messages" % project,
                {"content": text % i}, dict(auth, Accept="text/event-stream"),
                source=source)
            return (st == 200 and b"event: turn.done" in body and
                    b'"status":"done"' in body), t_head, t_all, st
        except Exception as e:  # noqa: BLE001 - counted as an error
            return False, 0.0, 0.0, repr(e)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    results = await asyncio.gather(*(one(i) for i in range(len(sessions))))
    return results, loop.time() - t0


def double_lateness(claude):
    """The double's late_ms once its calls are over (it counts an answer
    after its last byte); None from a double without it."""
    for _ in range(100):
        status, body = call(claude, "GET", "/_double/stats")
        stats = json.loads(body) if status == 200 else {}
        if stats.get("in_flight", 1) == 0:
            return stats.get("late_ms")
        time.sleep(0.1)
    return None


def one_batch(base, claude, sessions, run_dir):
    """One batch of every session's turn, its figures printed; its wall."""
    n = len(sessions)
    # Texts of this batch only: a text an earlier batch sent would have its
    # stage A answered from the agent cache (AGENT_CACHE_TTL), without a call.
    text = "Concurrent idea %%d of batch %s [no-changes]" % uuid.uuid4().hex[:8]
    pids = stack_pids(run_dir)
    cpu0 = cpu_seconds(pids)
    client0 = time.process_time()
    published0 = nchan_published(run_dir)
    # The double's lateness counts this batch's answers only.
    call(claude, "POST", "/_double/reset", {})
    with asyncio.Runner(loop_factory=LOOP) as runner:
        results, wall = runner.run(batch(base, sessions, text))
    client = time.process_time() - client0
    cpu1 = cpu_seconds(pids)
    published1 = nchan_published(run_dir)
    errors = [r for r in results if not r[0]]
    heads = sorted(r[1] for r in results)
    times = sorted(r[2] for r in results)
    print("  %4d concurrent streaming turns: %d errors, wall %.1f s, "
          "p50 %.1f s, max %.1f s; stream open after p50 %.2f s, max %.2f s; "
          "RSS workers %s, nginx %s (PSS %s)%s" % (
              n, len(errors), wall, statistics.median(times), times[-1],
              statistics.median(heads), heads[-1],
              mb(rss_mb(pids["workers"])), mb(rss_mb(pids["nginx"])),
              mb(rss_mb(pids["nginx"], "Pss:", "smaps_rollup")),
              (" (first error: %r)" % (errors[0][3],)) if errors else ""))
    print("        CPU s during the batch: %s, bench client %.1f; load "
          "average %.1f" % (
              ", ".join("%s %.1f" % (part, cpu1[part] - cpu0[part])
                        for part in cpu1), client, os.getloadavg()[0]))
    if published0 is not None and published1 is not None:
        print("        nchan publishes per turn: %.1f"
              % ((published1 - published0) / n))
    late = double_lateness(claude)
    if late is not None and late.get("answers"):
        print("        the double's own delay (its answers' last byte against "
              "the model's pace): p50 %.0f ms, p90 %.0f ms, max %.0f ms over "
              "%d answers" % (late["p50"], late["p90"], late["max"],
                              late["answers"]))
    return wall


def concurrent_turns(base, claude, n, latency_ms, token_delay_ms, run_dir,
                     rounds=1, double_nice=None):
    """rounds batches of n turns on the same n new accounts: the first
    runs right after the accounts were made (their password hashing just
    over, PostgreSQL spending more on the batch than later ones), the next
    ones on a settled stack. Their walls."""
    call(claude, "POST", "/_double/config",
         {"latency_ms": latency_ms, "token_delay_ms": token_delay_ms})
    sessions = sessions_for(base, n)
    walls = []
    # The double stands in for an API on other machines, whose pace does
    # not depend on this one's load: ahead of the stack for the CPU, it
    # answers after latency_ms as asked instead of when the stack lets it.
    with niced(stack_pids(run_dir)["double"], double_nice) as changed:
        if double_nice and not changed:
            print("        (the double's niceness stays as it was: changing "
                  "it needs root)")
        for i in range(rounds):
            if i:
                time.sleep(2)   # the last batch's streams close
            walls.append(one_batch(base, claude, sessions, run_dir))
    return walls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--concurrency", default="8,16,32,64")
    ap.add_argument("--token-delay-ms", type=int, default=10)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--run-dir", default=os.environ.get("BS_RUN_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "var", "run"),
                    help="the stack's run directory, for its pid files "
                         "(default: $BS_RUN_DIR, else script/server's var/run)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="batches of each N on the same accounts (the first "
                         "right after they were made, then settled ones)")
    ap.add_argument("--double-nice", type=int, default=-10,
                    help="the double's niceness during the batches (-10: "
                         "ahead of the stack, as a remote API would be; "
                         "needs root); --double-nice 0 leaves it with the "
                         "stack's own")
    ap.add_argument("--no-overhead", action="store_true",
                    help="skip the sequential turns; only the concurrency")
    args = ap.parse_args()
    base = loopback(os.environ["BS_BASE_URL"])
    claude = loopback(os.environ["BS_CLAUDE_URL"])
    if not args.no_overhead:
        overhead(base, claude, args.turns)
    print("concurrent streaming turns (double: %d ms before each answer, "
          "%d ms between tokens, nice %d):" % (args.latency_ms,
                                               args.token_delay_ms,
                                               args.double_nice))
    one = concurrent_turns(base, claude, 1, args.latency_ms, args.token_delay_ms,
                           args.run_dir, 1, args.double_nice)[0]
    for n in (int(x) for x in args.concurrency.split(",")):
        walls = concurrent_turns(base, claude, n, args.latency_ms,
                                 args.token_delay_ms, args.run_dir, args.rounds,
                                 args.double_nice)
        print("        wall / one turn alone: %s" % ", ".join(
            "%.2f" % (wall / one) for wall in walls))
    call(claude, "POST", "/_double/config", {"latency_ms": 0, "token_delay_ms": 5})


if __name__ == "__main__":
    main()
