#!/usr/bin/python3
"""Benchmark the Claude double itself (not a test: it prints numbers and
judges nothing): how many calls it holds at once, and how many it answers a
second.  Starts a double of its own on a free loopback port (or measures
the one at --url) and talks to it with a small asyncio HTTP/1.1 client in
this process, so the figures include the client's share of the CPU.

1. Held calls: N streamed calls at once, the double waiting --latency-ms
   before each answer and --token-delay-ms before each delta (the reply of
   a turn: about 35 deltas).  Prints errors, the batch's wall time next to
   one call's alone, the double's max_in_flight, its CPU time and RSS.
2. Rate: --connections keep-alive connections sending calls back to back
   for --seconds, with no latency and no token delay; calls per second,
   non-streamed and streamed.

Every call sends the same small body, unless --bodies names a JSON list of
request bodies: then the calls take them in turn (bench/double-turn.json
holds the four calls of one of the product's turns, as the double recorded
them: a system prompt of 7-9 KB, a JSON schema, the conversation).

Usage: bench/double.py [--held 500,1000,1500,2000] [--latency-ms 2000]
        [--token-delay-ms 10] [--connections 32] [--seconds 5]
        [--bodies FILE] [--url URL | --double PATH]
"""

import itertools

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLE = os.path.join(HERE, "..", "tools", "claude-double", "claude_double.py")
BODY = {"model": "claude-sonnet-5-5", "max_tokens": 2048,
        "thinking": {"type": "between_tools"}, "output_config": {"effort": "low"},
        "messages": [{"role": "user", "content": "A shared tool library for the "
                      "street: let's go with a pilot. [no-changes]"}]}
HEADERS = ("x-api-key: bench\r\nanthropic-version: 2026-10-21\r\n"
           "content-type: application/json\r\n")


class Client:
    """One keep-alive connection to the double."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def call(self, method, path, body=None, headers=""):
        """(status, body bytes); a chunked answer is read to its end."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = b"" if body is None else json.dumps(body).encode()
        self.writer.write(("%s %s HTTP/1.1\r\nhost: bench\r\n%scontent-length: %d\r\n\r\n"
                           % (method, path, headers, len(data))).encode() + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length:
            return status, await self.reader.readexactly(int(length.group(1)))
        got = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(got)
            got += chunk[:-2]

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def control(host, port, method, path, body=None):
    client = Client(host, port)
    try:
        status, data = await client.call(method, "/_double/" + path, body,
                                         "content-type: application/json\r\n")
        return json.loads(data)
    finally:
        client.close()


async def idle_stats(host, port):
    stats = await control(host, port, "GET", "stats")
    while stats["in_flight"]:
        await asyncio.sleep(0.05)
        stats = await control(host, port, "GET", "stats")
    return stats


def process_figures(pid):
    """(CPU seconds, RSS in MB) of the double, when it runs here."""
    if pid is None:
        return 0.0, 0.0
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0.0
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
    return cpu, rss


async def streamed_call(host, port, body):
    """(ok, seconds) of one streamed call on a connection of its own."""
    client = Client(host, port)
    started = time.monotonic()
    try:
        status, data = await client.call("POST", "/v1/messages", dict(body, stream=True),
                                         HEADERS)
        return status == 200 and b"event: message_stop" in data, time.monotonic() - started
    except (OSError, asyncio.IncompleteReadError, ValueError):
        return False, time.monotonic() - started
    finally:
        client.close()


async def held(host, port, pid, n, one, bodies):
    await control(host, port, "POST", "reset")
    cpu0, _ = process_figures(pid)
    client0 = time.process_time()
    started = time.monotonic()
    results = await asyncio.gather(*(streamed_call(host, port, next(bodies))
                                     for _ in range(n)))
    wall = time.monotonic() - started
    stats = await idle_stats(host, port)
    cpu1, rss = process_figures(pid)
    client = time.process_time() - client0
    times = sorted(seconds for _, seconds in results)
    print("  %5d streamed calls at once: %d errors, wall %.2f s (%.2f x one call), "
          "p50 %.2f s, max_in_flight %d, CPU %.2f s (%.2f ms a call; client's %.1f s), "
          "RSS %.0f MB"
          % (n, [ok for ok, _ in results].count(False), wall, wall / one,
             times[len(times) // 2], stats["max_in_flight"], cpu1 - cpu0,
             1000 * (cpu1 - cpu0) / n, client, rss))


async def rate(host, port, pid, connections, seconds, stream, bodies):
    await control(host, port, "POST", "reset")
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "errors": 0}

    async def worker():
        client = Client(host, port)
        try:
            while time.monotonic() < deadline:
                status, _ = await client.call("POST", "/v1/messages",
                                              dict(next(bodies), stream=stream), HEADERS)
                counts["ok" if status == 200 else "errors"] += 1
        finally:
            client.close()

    cpu0, _ = process_figures(pid)
    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    wall = time.monotonic() - started
    cpu1, _ = process_figures(pid)
    calls = counts["ok"] + counts["errors"]
    print("  %s: %.0f calls/s over %d connections (%d errors), double CPU %.0f%% of a core"
          " (%.2f ms a call)"
          % ("streamed    " if stream else "non-streamed", counts["ok"] / wall, connections,
             counts["errors"], 100 * (cpu1 - cpu0) / wall,
             1000 * (cpu1 - cpu0) / max(1, calls)))


async def run(args, host, port, pid):
    bodies = [BODY]
    if args.bodies:
        with open(args.bodies, encoding="utf-8") as handle:
            bodies = json.load(handle)
    bodies = itertools.cycle(bodies)
    await control(host, port, "POST", "config",
                  {"latency_ms": args.latency_ms, "token_delay_ms": args.token_delay_ms})
    ok, one = await streamed_call(host, port, next(bodies))
    print("held calls (%d ms before each answer, %d ms before each delta): one call "
          "alone %.2f s%s" % (args.latency_ms, args.token_delay_ms, one,
                              "" if ok else " (it failed)"))
    for n in (int(x) for x in args.held.split(",") if x):
        await held(host, port, pid, n, one, bodies)
    await control(host, port, "POST", "config", {"latency_ms": 0, "token_delay_ms": 0})
    print("rate (no latency, no token delay, %d s each):" % args.seconds)
    for stream in (False, True):
        await rate(host, port, pid, args.connections, args.seconds, stream, bodies)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--held", default="500,1000,1500,2000")
    ap.add_argument("--latency-ms", type=int, default=2000)
    ap.add_argument("--token-delay-ms", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--bodies", default=None,
                    help="a JSON list of request bodies the calls take in turn")
    ap.add_argument("--double", default=DOUBLE,
                    help="the double to start (another version, to compare)")
    ap.add_argument("--url", default=None,
                    help="a running double (loopback only); default: start one")
    args = ap.parse_args()
    process = pid = None
    if args.url:
        target = urllib.parse.urlsplit(args.url)
        if target.hostname not in ("127.0.0.1", "localhost"):
            sys.exit("not a loopback URL: %s" % args.url)
        host, port = "127.0.0.1", target.port
    else:
        process = subprocess.Popen(["/usr/bin/python3", args.double, "--port", "0", "--quiet"],
                                   stdout=subprocess.PIPE, text=True)
        line = process.stdout.readline()
        host, port, pid = "127.0.0.1", int(line.rsplit(":", 1)[1]), process.pid
    try:
        asyncio.run(run(args, host, port, pid))
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
