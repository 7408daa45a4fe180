#!/usr/bin/python3
"""Compare two versions of the Claude double byte for byte (a tool for
changes meant to alter nothing on the wire, such as speed-ups; not a test).

Starts OLD and NEW, each with its ids drawn from a counter and its clock
(time.time) fixed, sends both the same 1,250 raw requests one after the
other (the product's turn bodies of bench/double-turn.json as sent and
mutated field by field, directives, queued faults, streams with token
delays, control calls, and malformed HTTP: folded or odd header lines,
bad request lines, HTTP/0.9 and 1.0, pipelining, chunked bodies, 100
Continue, oversized bodies), and prints every request whose answer
differs.  Exits 1 if any does.

Usage: tools/claude-double/compare.py OLD.py NEW.py [name-substring...]
  e.g. git show HEAD~1:tools/claude-double/claude_double.py >/tmp/old.py
       tools/claude-double/compare.py /tmp/old.py tools/claude-double/claude_double.py
"""

import copy
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "..", "bench", "double-turn.json"), encoding="utf-8") as handle:
    BODIES = json.load(handle)
# Runs a double (argv[1]) with deterministic ids and a fixed wall clock.
DETERMINISTIC = """
import itertools, runpy, secrets, sys, time
time.time = lambda: 1764900000.0
counter = itertools.count(1)
secrets.randbits = lambda k: (next(counter) * 0x9E3779B97F4A7C15) % (1 << k)
path = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(path, run_name="__main__")
"""


def start(path, errors):
    process = subprocess.Popen(["/usr/bin/python3", "-c", DETERMINISTIC, path, "--port", "0",
                                "--quiet"], stdout=subprocess.PIPE, stderr=errors, text=True)
    return process, int(process.stdout.readline().rsplit(":", 1)[1])


def responses_complete(data, expected):
    """True when data holds `expected` complete responses."""
    pos, n = 0, 0
    while n < expected:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return False
        head = data[pos:end].decode("latin-1")
        pos = end + 4
        if " 100 " in head.split("\r\n")[0]:
            continue
        m = re.search(r"(?i)\r\ncontent-length: *(\d+)", head)
        if m:
            pos += int(m.group(1))
            if pos > len(data):
                return False
        elif re.search(r"(?i)\r\ntransfer-encoding: *chunked", head):
            while True:
                le = data.find(b"\r\n", pos)
                if le < 0:
                    return False
                size = int(data[pos:le].split(b";")[0], 16)
                pos = le + 2 + size + 2
                if pos > len(data):
                    return False
                if size == 0:
                    break
        else:
            return False   # until EOF
        n += 1
    return True


def exchange(port, raw, expected=1, timeout=3.0, pause=None):
    """Sends raw on a connection of its own (in two parts, `pause` bytes
    first, if asked); everything answered until `expected` responses are
    complete, the connection closes, or `timeout` passes in silence."""
    sock = socket.create_connection(("127.0.0.1", port))
    if pause:
        sock.sendall(raw[:pause])
        time.sleep(0.05)
        raw = raw[pause:]
    sock.sendall(raw)
    sock.settimeout(timeout)
    data = b""
    try:
        while not responses_complete(data, expected):
            got = sock.recv(65536)
            if not got:
                break
            data += got
    except socket.timeout:
        data += b"<TIMEOUT>"
    except ConnectionResetError:
        data += b"<RESET>"
    sock.close()
    return data


def first_difference(a, b):
    """Where a and b part, with some context of each."""
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, at - 120)
    return "at byte %d of %d/%d\n  old ...%r\n  new ...%r" % (
        at, len(a), len(b), a[start:at + 200], b[start:at + 200])


def normalise(data):
    """Both clocks are fixed; a Date header is masked all the same."""
    return re.sub(rb"(?m)^Date: .*\r$", b"Date: X\r", data)


def request(body, version="2026-10-21", key="x-api-key: k1\r\n", ctype="application/json",
            path="/v1/messages", method="POST", extra="", raw_body=None, proto="HTTP/1.1"):
    data = raw_body if raw_body is not None else json.dumps(body).encode()
    head = "%s %s %s\r\nHost: x\r\n%s" % (method, path, proto, key)
    if version is not None:
        head += "anthropic-version: %s\r\n" % version
    if ctype is not None:
        head += "content-type: %s\r\n" % ctype
    if "content-length" not in extra.lower() and "transfer-encoding" not in extra.lower():
        head += "content-length: %d\r\n" % len(data)
    head += extra + "\r\n"
    return head.encode("latin-1") + data


# ---------------------------------------------------------------------------
# The requests: (name, raw bytes, responses expected, bytes sent before a pause)

cases = []


def add(name, raw, expected=1, pause=None):
    cases.append((name, raw, expected, pause))


def control(method, path, body=None):
    raw = json.dumps(body).encode() if body is not None else b""
    return ("%s /_double/%s HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            "content-length: %d\r\n\r\n" % (method, path, len(raw))).encode() + raw


add("config0", control("POST", "config", {"latency_ms": 0, "token_delay_ms": 0}))
for i, b in enumerate(BODIES):
    for stream in (False, True):
        add("body%d-%s" % (i, stream), request(dict(b, stream=stream)))

base = BODIES[0]
small = {"model": "claude-haiku-4-5-20251001", "max_tokens": 300,
         "messages": [{"role": "user", "content": "We decided to build a pilot. Maybe later a shop? Let's go with the blue one."}]}
# directives
for d in ["fault:rate_limit", "fault:overloaded", "fault:server_error", "fault:bad_request",
          "fault:payment_required", "fault:request_timeout", "fault:conflict", "fault:timeout",
          "fault:spend_cap", "fault:malformed", "fault:stream_error", "fault:drop",
          "fault:refusal", "fault:context_exceeded", "fault:pause_turn", "redacted-thinking",
          "intent:deciding", "no-findings", "no-changes", "fault:rate_limit:1", "fault:delay"]:
    for model in ("claude-haiku-4-5-20251001", "claude-sonnet-5-5", "claude-opus-5"):
        for stream in (False, True):
            for b in (small, base):
                bb = copy.deepcopy(b)
                bb["model"] = model
                if "thinking" in bb and model != "claude-sonnet-5-5":
                    del bb["thinking"]
                last = bb["messages"][-1]
                if isinstance(last["content"], str):
                    last["content"] = last["content"].replace("</message>", " [%s] More words here.</message>" % d) if "</message>" in last["content"] else last["content"] + " [%s]" % d
                bb["stream"] = stream
                add("dir-%s-%s-%s-%d" % (d, model, stream, len(json.dumps(b))), request(bb, version="2023-06-01" if model.startswith("claude-haiku-4") else "2026-10-21"))
# variations of a small body
variants = [
    dict(small, stop_sequences=["pilot"]), dict(small, stop_sequences=["zzz"]), dict(small, max_tokens=3),
    dict(small, thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2000),
    dict(small, thinking={"type": "enabled", "budget_tokens": 1024, "display": "summarized"}, max_tokens=2000),
    dict(small, model="claude-sonnet-5", thinking={"type": "adaptive", "display": "summarized"}),
    dict(small, model="claude-sonnet-5", thinking={"type": "adaptive", "display": "summarized"}, max_tokens=20),
    dict(small, temperature=0.5), dict(small, temperature=0.5, top_p=0.5), dict(small, top_k=3),
    dict(small, model="claude-opus-5-5", temperature=0.5), dict(small, model="claude-opus-4-5", output_config={"effort": "low"}),
    dict(small, tools=[{"name": "t1", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}, "n": {"type": "integer", "minimum": 3}, "ids": {"type": "array", "items": {"type": "string", "format": "uuid"}}}, "required": ["a"]}}]),
    dict(small, tools=[{"name": "t1", "input_schema": {"type": "object"}}], tool_choice={"type": "any"}),
    dict(small, tools=[{"name": "t1", "input_schema": {"type": "object"}}], tool_choice={"type": "tool", "name": "t2"}),
    dict(small, tools=[{"name": "t1", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral", "ttl": "1h"}}], tool_choice={"type": "none"}),
    dict(small, system=[{"type": "text", "text": "word " * 5000, "cache_control": {"type": "ephemeral"}}]),
    dict(small, system=[{"type": "text", "text": "word " * 5000, "cache_control": {"type": "ephemeral"}}]),
    dict(small, system=[{"type": "text", "text": "word " * 5000, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]),
    dict(small, system="plain system"), dict(small, system=""), dict(small, system=[]),
    dict(small, metadata={"user_id": "u"}), dict(small, metadata={"user_id": "u" * 300}),
    dict(small, service_tier="auto"), dict(small, service_tier="priority"),
    dict(small, messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure"}]),
    dict(small, messages=[{"role": "user", "content": [{"type": "text", "text": "hé ☃ \u2028 x", "cache_control": {"type": "ephemeral"}}]}]),
    dict(small, messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "x", "input": {}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}]),
    dict(small, messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "x", "input": {}}]}, {"role": "user", "content": "no result"}]),
    dict(small, messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "thinking", "thinking": "x", "signature": "bad"}]}, {"role": "user", "content": "b"}]),
    dict(small, output_config={"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": False, "required": ["x"]}}}),
    dict(small, output_config={"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"x": {"type": "string", "pattern": "a"}}, "additionalProperties": False}}}),
    dict(small, model="claude-sonnet-4-5"), dict(small, model="gpt-4"), dict(small, model=""),
    dict(small, stream="yes"), dict(small, extra=1), dict(small, max_tokens=0), dict(small, max_tokens=10 ** 6),
    dict(small, max_tokens=True), dict(small, messages=[]), dict(small, messages="x"),
    [1, 2], "str", None,
]
for i, v in enumerate(variants):
    for stream in (False, True):
        vv = dict(v, stream=stream) if isinstance(v, dict) and "stream" not in v else v
        add("var%d-%s" % (i, stream), request(vv, version="2023-06-01"))
        add("var%d-%s-new" % (i, stream), request(vv))
# automatic mutations of a real body
def mutations(obj, path=()):
    if isinstance(obj, dict):
        for k in list(obj):
            for repl in ("DEL", None, 1, "x", [], {}, True, -1.5):
                yield path + (k,), repl
            yield from mutations(obj[k], path + (k,))
        yield path + ("zz_extra",), "x"
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            for repl in ("DEL", None, 1, "x", {}):
                yield path + (i,), repl
            yield from mutations(v, path + (i,))
def apply(obj, path, repl):
    obj = copy.deepcopy(obj)
    target = obj
    for p in path[:-1]:
        target = target[p]
    if repl == "DEL":
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] >= len(target):
        target.append(repl)
    else:
        target[path[-1]] = repl
    return obj
for src in [BODIES[0], BODIES[1], small]:
    src = copy.deepcopy(src)
    if isinstance(src.get("system"), list) and src["system"]:
        src["system"][0]["text"] = src["system"][0]["text"][:300]
    for path, repl in mutations(src):
        add("mut-%s=%r" % ("/".join(map(str, path)), repl), request(apply(src, path, repl)))
# queued faults
for f in [{"kind": "rate_limit", "retry_after": 3}, {"kind": "overloaded", "x_should_retry": False},
          {"kind": "stream_error", "match": {"stream": True}}, {"kind": "drop"}, {"kind": "hang", "seconds": 0.2},
          {"kind": "delay", "ms": 50}, {"kind": "malformed"}, {"kind": "refusal"}, {"kind": "context_exceeded"},
          {"kind": "spend_cap", "retry_after_ms": 5}, {"kind": "bogus"}, {"kind": "drop", "match": {"tool": "zz"}}]:
    add("fault-%s" % f, control("POST", "faults", {"faults": [f]}))
    for stream in (False, True):
        add("after-%s-%s" % (f, stream), request(dict(small, stream=stream), version="2023-06-01"))
add("reset", control("POST", "reset"))
# HTTP level
good = request(dict(small), version="2023-06-01")
add("pipelined", good + good, expected=2)
add("pipelined3", good + request(dict(small, stream=True), version="2023-06-01") + good, expected=3)
add("split", good, pause=40)
add("conn-close", good.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n"))
add("http10", good.replace(b"HTTP/1.1", b"HTTP/1.0"))
add("http10-ka", good.replace(b"HTTP/1.1", b"HTTP/1.0").replace(b"Host: x\r\n", b"Host: x\r\nConnection: keep-alive\r\n"))
add("expect", good.replace(b"Host: x\r\n", b"Host: x\r\nExpect: 100-continue\r\n"))
add("expect-big", b"POST /v1/messages HTTP/1.1\r\nExpect: 100-continue\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: 99999999999\r\n\r\n")
add("big", b"POST /v1/messages HTTP/1.1\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: 40000000\r\n\r\nxxxx")
add("badlen", b"POST /v1/messages HTTP/1.1\r\nx-api-key: k\r\ncontent-length: abc\r\n\r\n")
add("neglen", b"POST /v1/messages HTTP/1.1\r\nx-api-key: k\r\ncontent-length: -5\r\n\r\n")
body = json.dumps(small).encode()
chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
add("chunked", request(None, raw_body=chunked, version="2023-06-01", extra="Transfer-Encoding: chunked\r\n"))
add("chunked-bad", request(None, raw_body=b"zz\r\n", version="2023-06-01", extra="Transfer-Encoding: chunked\r\n"))
add("fold", good.replace(b"Host: x\r\n", b"Host: x\r\nX-Fold: a\r\n  b\r\n"))
add("fold-key", good.replace(b"x-api-key: k1\r\n", b"x-api-key: k1\r\n  k2\r\n"))
add("nocolon", good.replace(b"Host: x\r\n", b"Host: x\r\nnocolon\r\n"))
add("colon0", good.replace(b"Host: x\r\n", b"Host: x\r\n:empty\r\n"))
add("from", good.replace(b"Host: x\r\n", b"From x: y\r\nHost: x\r\n"))
add("fromfirst", good.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nFrom me\r\n", 1))
add("spacename", good.replace(b"Host: x\r\n", b"Host : x\r\n"))
add("tabvalue", good.replace(b"x-api-key: k1", b"x-api-key:\tk1\t "))
add("novalue", good.replace(b"Host: x\r\n", b"X-Empty:\r\n"))
add("lf-only", good.replace(b"\r\n", b"\n"))
add("latin1", good.replace(b"Host: x\r\n", b"Host: x\xe9\x85z\r\n"))
add("cr-inside", good.replace(b"Host: x\r\n", b"Host: x\ry: z\r\n"))
add("vt-inside", good.replace(b"x-api-key: k1", b"x-api-key: k\x0b1"))
add("nel-key", good.replace(b"x-api-key: k1", b"x-api-key: k\x851"))
add("dup-key", good.replace(b"x-api-key: k1\r\n", b"x-api-key: k1\r\nX-API-KEY: k2\r\n"))
add("dup-version", good.replace(b"Host: x\r\n", b"Host: x\r\nanthropic-version: 2026-10-21\r\n"))
add("bearer", good.replace(b"x-api-key: k1", b"Authorization: Bearer k1"))
add("bearer-bad", good.replace(b"x-api-key: k1", b"Authorization: Basic k1"))
add("nokey", good.replace(b"x-api-key: k1\r\n", b""))
add("emptykey", good.replace(b"x-api-key: k1", b"x-api-key: "))
add("ctype-charset", good.replace(b"content-type: application/json", b"Content-Type: Application/JSON; charset=utf-8"))
add("ctype-bad", good.replace(b"content-type: application/json", b"content-type: text/plain"))
add("noversion", good.replace(b"anthropic-version: 2023-06-01\r\n", b""))
add("badversion", good.replace(b"2023-06-01", b"2024-01-01"))
add("toomany", good.replace(b"Host: x\r\n", b"Host: x\r\n" + b"X-A: b\r\n" * 101))
add("longhdr", good.replace(b"Host: x\r\n", b"Host: " + b"x" * 70000 + b"\r\n"))
add("longline", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
add("badreq", b"GARBAGE\r\n\r\n")
add("badver", b"GET / HTTP/1.x\r\n\r\n")
add("http2", b"GET / HTTP/2.0\r\n\r\n")
add("http09", b"GET /v1/models\r\n")
add("http09post", b"POST /v1/models\r\n")
add("four", b"GET / HTTP/1.1 extra\r\n\r\n")
add("empty", b"\r\n")
add("options", b"OPTIONS /v1/messages HTTP/1.1\r\n\r\n")
add("head", b"HEAD /v1/messages HTTP/1.1\r\n\r\n")
add("get-msgs", b"GET /v1/messages HTTP/1.1\r\nx-api-key: k1\r\n\r\n")
add("notfound", b"GET /nope HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc")
add("dslash", b"GET //v1//models HTTP/1.1\r\nx-api-key: k1\r\nanthropic-version: 2023-06-01\r\n\r\n")
for q in ["", "?limit=2", "?limit=0", "?after_id=claude-opus-5", "?before_id=claude-opus-5&limit=2",
          "?lifecycle[]=retired", "?lifecycle=active,retired", "?lifecycle=bogus", "?limit=2&limit=3",
          "/claude-haiku-4-5", "/claude-sonnet-4-5-20250929", "/gpt-4", "/a%20b", "/x/y"]:
    add("models" + q, ("GET /v1/models%s HTTP/1.1\r\nx-api-key: k1\r\nanthropic-version: 2026-10-21\r\n\r\n" % q).encode())
add("models-nokey", b"GET /v1/models HTTP/1.1\r\nanthropic-version: 2026-10-21\r\n\r\n")
add("stats", control("GET", "stats"))
add("config", control("GET", "config"))
add("config-bad", control("POST", "config", {"latency_ms": -1}))
add("config-unknown", control("POST", "config", {"x": 1}))
add("faults-bad", control("POST", "faults", {"faults": "x"}))
add("requests", control("GET", "requests"))
add("ctl-badjson", b"POST /_double/config HTTP/1.1\r\ncontent-length: 3\r\n\r\n{x}")
add("ctl-nan", b"POST /_double/config HTTP/1.1\r\ncontent-length: 3\r\n\r\nNaN")
add("badjson", request(None, raw_body=b"{bad", version="2023-06-01"))
add("badutf8", request(None, raw_body=b'{"a": "\xff"}', version="2023-06-01"))
add("deep", request(None, raw_body=b"[" * 100000, version="2023-06-01"))
# delays: streams with token delay (exercise the pause path)
add("config-delay", control("POST", "config", {"latency_ms": 5, "token_delay_ms": 2}))
for i, b in enumerate(BODIES):
    add("delayed%d" % i, request(dict(b, stream=True)))
for d in ["fault:stream_error", "fault:drop", "fault:malformed", "fault:refusal"]:
    bb = copy.deepcopy(small); bb["model"] = "claude-sonnet-5-5"; bb["stream"] = True
    bb["messages"][-1]["content"] += " [%s]" % d
    add("delayed-" + d, request(bb))
add("config0b", control("POST", "config", {"latency_ms": 0, "token_delay_ms": 0}))
add("stats-end", control("GET", "stats"))
add("requests-end", control("GET", "requests"))

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    only = sys.argv[3:]
    # stderr to files: a pipe nobody reads could fill and stall a double.
    logs = [tempfile.TemporaryFile(mode="w+") for _ in range(2)]
    old, old_port = start(sys.argv[1], logs[0])
    new, new_port = start(sys.argv[2], logs[1])
    differ = 0
    try:
        for name, raw, expected, pause in cases:
            if only and not any(o in name for o in only):
                continue
            a = normalise(exchange(old_port, raw, expected, pause=pause))
            b = normalise(exchange(new_port, raw, expected, pause=pause))
            if a != b:
                differ += 1
                print("DIFF %s %s" % (name, first_difference(a, b)))
    finally:
        for process in (old, new):
            process.terminate()
            process.wait(10)
    print("%d requests, %d answered differently" % (len(cases), differ))
    for path, log in zip(sys.argv[1:3], logs):
        log.seek(0)
        errors = log.read()
        if errors:
            differ += 1
            print("%s wrote to stderr:\n%s" % (path, errors[:2000]))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
