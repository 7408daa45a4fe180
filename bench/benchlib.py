"""What the benchmarks share: loopback-only URLs, one HTTP call (a turn's
stream read to its turn.done), and the resident memory of processes by
name. Not a test: nothing here judges."""

import asyncio
import http.client
import json
import subprocess
import sys
import urllib.parse


def loopback(url, who="bench"):
    """url, if it names a loopback host; exits otherwise."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit("%s: not a loopback URL: %s" % (who, url))
    return url


def read_to_turn_done(resp):
    """A turn's stream up to its turn.done event (the stream itself stays
    open a few seconds after it)."""
    got = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            return got
        got += chunk
        tail = got.split(b"event: turn.done", 1)
        if len(tail) == 2 and b"\n\n" in tail[1]:
            return got


def call(base, method, path, body=None, headers=None, timeout=300,
         source=None):
    """(status, body) of one request from source (a loopback address, or
    any); a JSON body is sent as JSON, a turn's stream is read to its
    turn.done event."""
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
        return r.status, read_to_turn_done(r)
    finally:
        conn.close()


async def _read_chunked(reader, until):
    """A chunked body's bytes, up to the end or to until (a predicate on
    what came so far)."""
    got = b""
    while not until(got):
        size = int((await reader.readline()).split(b";")[0] or b"0", 16)
        if size == 0:
            break
        got += await reader.readexactly(size)
        await reader.readexactly(2)
    return got


async def call_async(base, method, path, body=None, headers=None,
                     source=None):
    """call() on asyncio, so one thread drives hundreds of requests: (status,
    body, seconds until the response's head, seconds in all); a turn's
    stream is read to its turn.done event."""
    u = urllib.parse.urlsplit(base)
    t0 = asyncio.get_running_loop().time()
    reader, writer = await asyncio.open_connection(
        u.hostname, u.port, local_addr=(source, 0) if source else None,
        limit=1 << 20)
    try:
        data = json.dumps(body).encode() if body is not None else b""
        h = dict(headers or {}, Host=u.netloc, Connection="close")
        if body is not None:
            h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(data))
        writer.write(("%s %s HTTP/1.1\r\n%s\r\n" % (method, path, "".join(
            "%s: %s\r\n" % kv for kv in h.items()))).encode() + data)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        t_head = asyncio.get_running_loop().time() - t0
        status = int(head.split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (
            line.partition(":") for line in head.split("\r\n")[1:] if line)}

        def done(got):
            tail = got.split(b"event: turn.done", 1)
            return len(tail) == 2 and b"\n\n" in tail[1]
        if fields.get("transfer-encoding", "").lower() == "chunked":
            got = await _read_chunked(reader, done)
        elif "content-length" in fields:
            got = await reader.readexactly(int(fields["content-length"]))
        else:
            got = b""
            while not done(got):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                got += chunk
        return status, got, t_head, asyncio.get_running_loop().time() - t0
    finally:
        writer.close()


def rss_kib(name):
    """(KiB resident, processes) over the processes called name."""
    total, n = 0, 0
    pids = subprocess.run(["pgrep", "-x", name], capture_output=True,
                          text=True, check=False).stdout.split()
    for pid in pids:
        try:
            with open("/proc/%s/status" % pid, encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        n += 1
        except OSError:
            pass
    return total, n
