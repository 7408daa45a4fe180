#!/usr/bin/python3
"""Tests of the Claude Messages API test double (tools/claude-double).

The double stands in for the real API in every other test, so its own
behaviour is pinned down here: validation, the answers each agent gets, the
SSE event sequence, prompt caching, every fault kind, the control API and
concurrency.  Each test starts from a reset double, talks to it over HTTP
with http.client, and never depends on timing except as a lower bound.

Run: /usr/bin/python3 tests/double/test_claude_double.py [name-substring...]
Prints one line per test and a final "N passed, N failed".
"""

import datetime
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOUBLE = os.path.join(ROOT, "tools", "claude-double", "claude_double.py")
API_KEY = "test-key-123"
# The catalogue (see tools/claude-double/README.md).  LEGACY is the default of
# body_for: it does not think unless asked and accepts forced tools and
# temperature, so the answers of the older tests are one plain block.
LEGACY = "claude-haiku-4-5-20251001"
OPUS45 = "claude-opus-4-5-20251101"
RETIRED = "claude-sonnet-4-5-20250929"
SONNET = "claude-sonnet-5-5"
HAIKU = "claude-haiku-5-5"
OPUS = "claude-opus-5-5"
FABLE = "claude-fable-5-2"
OPUS5 = "claude-opus-5"
SONNET5 = "claude-sonnet-5"
NEW_VERSION = "2026-10-21"
# The double's calendar date unless told otherwise: the day the catalogue was
# checked against the API, never the machine's date.
DEFAULT_TODAY = "2026-12-04"


# ---------------------------------------------------------------------------
# A double in a subprocess, and an HTTP client for it

class Double:
    """One claude_double.py process on a free port."""

    def __init__(self, *args):
        command = [sys.executable, DOUBLE, "--host", "127.0.0.1", "--port", "0",
                   "--quiet"] + list(args)
        # stderr goes to a file: a pipe nobody reads could fill and stall the double.
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True)
        line = self.process.stdout.readline()
        match = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line)
        if not match:
            self.stop()
            raise RuntimeError("double did not start: %r %s" % (line, self.errors()))
        self.port = int(match.group(1))

    def errors(self):
        """What the double wrote to stderr (with --quiet: only tracebacks)."""
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def connect(self, timeout=15):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=15, conn=None):
        """(status, headers with lower-case names, body bytes)."""
        own = conn is None
        conn = conn or self.connect(timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            conn.request(method, path, body=data, headers=headers or {})
            response = conn.getresponse()
            payload = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        finally:
            if own:
                conn.close()

    def messages(self, body, headers=None, timeout=15, conn=None):
        return self.request("POST", "/v1/messages", body, api_headers(headers), timeout, conn)

    def control(self, method, path, body=None):
        status, _, payload = self.request(method, "/_double/" + path, body,
                                          {"content-type": "application/json"})
        return status, json.loads(payload)

    def stats(self):
        return self.control("GET", "stats")[1]

    def idle_stats(self):
        """Stats once every request has finished its bookkeeping, which a
        handler thread does just after the client has read its answer."""
        deadline = time.monotonic() + 5
        stats = self.stats()
        while stats["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.01)
            stats = self.stats()
        return stats

    def faults(self, *faults):
        status, answer = self.control("POST", "faults", {"faults": list(faults)})
        check(status == 200, "faults not queued: %s" % answer)
        return answer


def api_headers(extra=None):
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01",
               "content-type": "application/json"}
    for name, value in (extra or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def body_for(text="Hello there, let us talk about the plan.", model=LEGACY, max_tokens=1024,
             **extra):
    body = {"model": model, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return body


def tool_body(tool_name, schema, text, **extra):
    return body_for(text, tools=[{"name": tool_name, "description": "test tool",
                                  "input_schema": schema}],
                    tool_choice={"type": "tool", "name": tool_name}, **extra)


def parse_sse(raw):
    """[(event name, data text)] from an SSE body; data is left unparsed."""
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
        events.append((name, "\n".join(data)))
    return events


def stream(double, body, headers=None):
    """(status, headers, [(name, parsed data)]) of a streamed request."""
    status, response_headers, raw = double.messages(dict(body, stream=True), headers)
    if status != 200:
        return status, response_headers, raw
    return status, response_headers, [(n, json.loads(d)) for n, d in parse_sse(raw)]


def read_stream_until_failure(double, body):
    """Reads a stream that may be cut: (raw bytes read, the exception or None)."""
    conn = double.connect(10)
    raw, error = b"", None
    try:
        conn.request("POST", "/v1/messages", body=json.dumps(dict(body, stream=True)).encode(),
                     headers=api_headers())
        response = conn.getresponse()
        check(response.status == 200, "stream status %d" % response.status)
        while True:
            chunk = response.read1(65536)
            if not chunk:
                break
            raw += chunk
    except (http.client.HTTPException, OSError) as exc:
        error = exc
    finally:
        conn.close()
    return raw, error


def error_type(payload):
    answer = json.loads(payload)
    check(answer.get("type") == "error" and set(answer) == {"type", "error", "request_id"},
          "not an error body: %s" % answer)
    check(re.fullmatch(r"req_\w+", answer["request_id"]), "request_id %s" % answer)
    check(set(answer["error"]) in ({"type", "message"}, {"type", "message", "details"}),
          "error fields: %s" % answer)
    check(isinstance(answer["error"]["message"], str) and answer["error"]["message"], "message")
    return answer["error"]["type"]


def error_message(payload):
    return json.loads(payload)["error"]["message"]


def refused(double, body, *needles, headers=None):
    """Checks a 400 invalid_request_error whose message has every needle."""
    status, _, payload = double.messages(body, headers)
    check(status == 400 and error_type(payload) == "invalid_request_error",
          "expected 400, got %d %s" % (status, payload[:300]))
    message = error_message(payload)
    for needle in needles:
        check(needle in message, "%r not in %r" % (needle, message))
    return message


def accepted(double, body, headers=None):
    """The parsed 200 answer of a request that must be accepted."""
    status, _, payload = double.messages(body, headers)
    check(status == 200, "expected 200, got %d %s" % (status, payload[:300]))
    return json.loads(payload)


def new_api(extra=None):
    """The headers of SDK 1.x: Bearer and anthropic-version 2026-10-21."""
    headers = {"x-api-key": None, "authorization": "Bearer " + API_KEY,
               "anthropic-version": NEW_VERSION}
    headers.update(extra or {})
    return headers


def blocks_of(answer, kind):
    return [block for block in answer["content"] if block["type"] == kind]


# ---------------------------------------------------------------------------
# A small JSON Schema validator, independent of the double's generator

def schema_errors(value, schema, root=None, path="$"):
    root = root if root is not None else schema
    while "$ref" in schema:
        target = root
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        schema = target
    errors = []
    if "const" in schema and value != schema["const"]:
        errors.append("%s: not const" % path)
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r not in enum" % (path, value))
    if "anyOf" in schema:
        if all(schema_errors(value, option, root, path) for option in schema["anyOf"]):
            errors.append("%s: matches no anyOf option" % path)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        checks = {"object": lambda v: isinstance(v, dict),
                  "array": lambda v: isinstance(v, list),
                  "string": lambda v: isinstance(v, str),
                  "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                  "boolean": lambda v: isinstance(v, bool),
                  "null": lambda v: v is None}
        if not any(checks[k](value) for k in kinds):
            return errors + ["%s: %r is not %s" % (path, value, kinds)]
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append("%s: missing %s" % (path, name))
        for name, item in value.items():
            if name in properties:
                errors += schema_errors(item, properties[name], root, path + "." + name)
            elif schema.get("additionalProperties") is False:
                errors.append("%s: extra property %s" % (path, name))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append("%s: fewer than minItems" % path)
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append("%s: more than maxItems" % path)
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) \
                != len(value):
            errors.append("%s: items not unique" % path)
        for index, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), root, "%s[%d]" % (path, index))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append("%s: shorter than minLength" % path)
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append("%s: longer than maxLength" % path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("%s: below minimum" % path)
        if "maximum" in schema and value > schema["maximum"]:
            errors.append("%s: above maximum" % path)
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append("%s: not above exclusiveMinimum" % path)
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            errors.append("%s: not below exclusiveMaximum" % path)
    return errors


# The agent schemas the product is expected to use, close enough to test with.
INTENT_SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": ["brainstorming", "deciding", "modifying",
                                              "exploring", "parking", "reviewing",
                                              "development", "general"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
        "reasoning": {"type": "string", "maxLength": 200},
    },
    "required": ["intent", "confidence"],
    "additionalProperties": False,
}

RECORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "changes": {
            "type": "array",
            "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["add", "move", "modify"]},
                    "item_id": {"type": "string"},
                    "text": {"type": "string", "minLength": 1, "maxLength": 500},
                    "state": {"type": "string", "enum": ["decided", "exploring", "parked"]},
                    "user_quote": {"type": "string"},
                    "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
                    "rationale": {"type": "string"},
                },
                "required": ["action", "text", "state", "user_quote", "confidence",
                             "rationale"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["changes"],
    "additionalProperties": False,
}

AUDITOR_SCHEMA = {
    "type": "object",
    "properties": {
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["assumption", "unverified_claim"]},
                    "assumption": {"type": "string"},
                    "severity": {"type": "string", "enum": ["low", "medium", "high"]},
                },
                "required": ["kind", "assumption", "severity"],
            },
        },
    },
    "required": ["issues"],
}


def tool_input(double, schema, text, tool="agent_tool", **extra):
    status, _, payload = double.messages(tool_body(tool, schema, text, **extra))
    check(status == 200, "status %d: %s" % (status, payload[:300]))
    answer = json.loads(payload)
    check(answer["stop_reason"] == "tool_use", "stop_reason %s" % answer["stop_reason"])
    check(len(answer["content"]) == 1 and answer["content"][0]["type"] == "tool_use",
          "content %s" % answer["content"])
    block = answer["content"][0]
    errors = schema_errors(block["input"], schema)
    check(not errors, "input violates schema: %s in %s" % (errors, block["input"]))
    return block["input"]


# ---------------------------------------------------------------------------
# The runner

class Failure(Exception):
    pass


def check(condition, message="check failed"):
    if not condition:
        raise Failure(message)


TESTS = []


def test(function):
    TESTS.append(function)
    return function


# ---------------------------------------------------------------------------
# Command line, headers, validation

@test
def test_cli_port_file_listening_line_and_open_key(double):
    with tempfile.TemporaryDirectory() as directory:
        port_file = os.path.join(directory, "port")
        other = Double("--port-file", port_file, "--latency-ms", "7", "--token-delay-ms", "3",
                       "--rate-limit-requests", "90")
        try:
            with open(port_file, encoding="ascii") as handle:
                check(int(handle.read().strip()) == other.port, "port file differs")
            status, config = other.control("GET", "config")
            check(status == 200 and config == {"latency_ms": 7, "token_delay_ms": 3,
                                               "rate_limit_requests": 90,
                                               "rate_limit_tokens": 20000000,
                                               "today": DEFAULT_TODAY},
                  "config from CLI: %s" % config)
            # Without --api-key, any non-empty key is accepted; none is not.
            status, _, _ = other.messages(body_for(), {"x-api-key": "anything-at-all"})
            check(status == 200, "open double refused a key: %d" % status)
            status, _, payload = other.messages(body_for(), {"x-api-key": None})
            check(status == 401 and error_type(payload) == "authentication_error",
                  "missing key: %d" % status)
        finally:
            other.stop()


@test
def test_authentication_errors(double):
    for headers in ({"x-api-key": None}, {"x-api-key": ""}, {"x-api-key": "wrong-key"}):
        status, response_headers, payload = double.messages(body_for(), headers)
        check(status == 401, "%s → %d" % (headers, status))
        check(error_type(payload) == "authentication_error", "type for %s" % headers)
        check(response_headers.get("request-id", "").startswith("req_"), "request-id on errors")


@test
def test_version_and_content_type_errors(double):
    cases = [({"anthropic-version": None}, "missing version"),
             ({"anthropic-version": "2020-01-01"}, "wrong version"),
             ({"content-type": "text/plain"}, "wrong content-type"),
             ({"content-type": None}, "no content-type")]
    for headers, label in cases:
        status, _, payload = double.messages(body_for(), headers)
        check(status == 400 and error_type(payload) == "invalid_request_error",
              "%s → %d" % (label, status))
    status, _, _ = double.messages(body_for(), {"content-type": "application/json; charset=utf-8"})
    check(status == 200, "charset parameter refused")


BAD_BODIES = [
    ("not JSON", b"{nope"),
    ("array body", []),
    ("unknown field", dict(body_for(), foo=1)),
    ("no model", {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
    ("model not a string", dict(body_for(), model=5)),
    ("no max_tokens", {"model": SONNET, "messages": [{"role": "user", "content": "hi"}]}),
    ("max_tokens zero", body_for(max_tokens=0)),
    ("max_tokens string", body_for(max_tokens="5")),
    ("max_tokens bool", body_for(max_tokens=True)),
    ("max_tokens float", body_for(max_tokens=5.5)),
    ("no messages", {"model": SONNET, "max_tokens": 5}),
    ("empty messages", dict(body_for(), messages=[])),
    ("first is assistant", dict(body_for(), messages=[{"role": "assistant", "content": "x"}])),
    ("roles repeat", dict(body_for(), messages=[{"role": "user", "content": "a"},
                                                {"role": "user", "content": "b"}])),
    ("bad role", dict(body_for(), messages=[{"role": "system", "content": "a"}])),
    ("empty content", body_for("")),
    ("content number", dict(body_for(), messages=[{"role": "user", "content": 5}])),
    ("empty block list", dict(body_for(), messages=[{"role": "user", "content": []}])),
    ("unknown block type", dict(body_for(), messages=[
        {"role": "user", "content": [{"type": "video", "text": "x"}]}])),
    ("empty text block", dict(body_for(), messages=[
        {"role": "user", "content": [{"type": "text", "text": ""}]}])),
    ("system number", body_for(system=5)),
    ("system block not text", body_for(system=[{"type": "image", "text": "x"}])),
    ("bad cache_control", body_for(system=[{"type": "text", "text": "x",
                                            "cache_control": {"type": "forever"}}])),
    ("five breakpoints", body_for(system=[{"type": "text", "text": "x %d" % i,
                                           "cache_control": {"type": "ephemeral"}}
                                          for i in range(5)])),
    ("tool without schema", body_for(tools=[{"name": "t", "description": "d"}])),
    ("tool schema not object", body_for(tools=[{"name": "t", "input_schema": {"type": "string"}}])),
    ("tool bad name", body_for(tools=[{"name": "bad name!", "input_schema": {"type": "object"}}])),
    ("duplicate tools", body_for(tools=[{"name": "t", "input_schema": {"type": "object"}}] * 2)),
    ("tool_choice unknown tool", body_for(tools=[{"name": "t", "input_schema": {"type": "object"}}],
                                          tool_choice={"type": "tool", "name": "u"})),
    ("tool_choice without tools", body_for(tool_choice={"type": "tool", "name": "t"})),
    ("tool_choice bad type", body_for(tools=[{"name": "t", "input_schema": {"type": "object"}}],
                                      tool_choice={"type": "maybe"})),
    ("temperature too high", body_for(temperature=1.5)),
    ("temperature string", body_for(temperature="0.5")),
    ("stream not bool", body_for(stream="yes")),
    ("metadata extra key", body_for(metadata={"user_id": "u", "email": "x"})),
    ("metadata not object", body_for(metadata="u")),
    ("stop_sequences blank", body_for(stop_sequences=["  "])),
    ("NaN temperature", b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "temperature": NaN,'
                        b' "messages": [{"role": "user", "content": "hi"}]}'),
    ("deep nesting", b"[" * 100000 + b"]" * 100000),
]


@test
def test_validation_errors_answer_400(double):
    for label, body in BAD_BODIES:
        status, _, payload = double.messages(body)
        check(status == 400, "%s → %d %s" % (label, status, payload[:200]))
        check(error_type(payload) == "invalid_request_error", "%s: error type" % label)
    # The double survived all of it.
    status, _, _ = double.messages(body_for())
    check(status == 200, "double broken after bad input")


@test
def test_valid_optional_fields_are_accepted(double):
    body = body_for(system=[{"type": "text", "text": "You are helpful.",
                             "cache_control": {"type": "ephemeral"}}],
                    temperature=0.2, metadata={"user_id": "opaque-123"},
                    stop_sequences=["\n\nHuman:"], top_k=5)
    body["messages"] = [{"role": "user", "content": [{"type": "text", "text": "First."}]},
                        {"role": "assistant", "content": "Noted."},
                        {"role": "user", "content": [{"type": "text", "text": "Second part"},
                                                     {"type": "text", "text": "and more."}]}]
    status, _, payload = double.messages(body)
    check(status == 200, "status %d %s" % (status, payload[:300]))
    text = json.loads(payload)["content"][0]["text"]
    check(text.startswith('Thinking about "Second part and more."'), "last user text: %s" % text)


@test
def test_unknown_model_is_404(double):
    for model in ("gpt-4", "claude-3-opus-20240229", "claude-sonnet-4-20250514"):
        status, _, payload = double.messages(body_for(model=model))
        check(status == 404 and error_type(payload) == "not_found_error",
              "%s: status %d" % (model, status))
    for model in (RETIRED, "claude-sonnet-4-5"):
        status, _, payload = double.messages(body_for(model=model))
        check(status == 404 and error_type(payload) == "not_found_error", "retired %d" % status)
        check("retired" in error_message(payload), "says retired: %s" % payload)


@test
def test_body_over_32_mb_is_413(double):
    body = json.dumps(body_for("x" * (33 * 1024 * 1024))).encode()
    status, headers, payload = double.messages(body, timeout=60)
    check(status == 413 and error_type(payload) == "request_too_large", "status %d" % status)
    check(headers.get("connection", "").lower() == "close", "413 should close")
    status, _, _ = double.messages(body_for())
    check(status == 200, "double broken after 413")


@test
def test_unknown_route_and_method(double):
    status, _, payload = double.request("GET", "/v1/nothing")
    check(status == 404 and error_type(payload) == "not_found_error", "404: %d" % status)
    status, _, payload = double.request("GET", "/v1/messages", headers=api_headers())
    check(status == 405 and error_type(payload) == "invalid_request_error", "405: %d" % status)


def raw_status(double, header_lines):
    """The status of a POST /v1/messages sent with exactly these header lines."""
    data = json.dumps(body_for()).encode()
    request = (b"POST /v1/messages HTTP/1.1\r\n" + b"".join(header_lines)
               + b"content-length: %d\r\n\r\n" % len(data) + data)
    with socket.create_connection(("127.0.0.1", double.port), timeout=15) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


@test
def test_header_lines_read_as_http_server_reads_them(double):
    """Plain header lines are split without email.parser; anything else must
    still read as http.server reads it (folded lines, kept whitespace, the
    first of two headers)."""
    fixed = [b"anthropic-version: 2023-06-01\r\n", b"content-type: application/json\r\n"]
    key = API_KEY.encode()
    cases = [([b"x-api-key: " + key + b"\r\n"], 200),
             ([b"X-Api-Key:\t" + key + b"\r\n"], 200),
             ([b"x-api-key: " + key + b"\n"], 200),
             ([b"x-api-key: " + key + b"  \r\n"], 401),          # trailing blanks are kept
             ([b"x-api-key: " + key + b"\r\n", b" continued\r\n"], 401),   # a folded line
             ([b"x-api-key: " + key + b"\r\n", b"X-API-KEY: other\r\n"], 200),  # the first wins
             ([b"x-api-key: other\r\n", b"x-api-key: " + key + b"\r\n"], 401),
             ([b"x-api-key: " + key + b"\r\n", b"x-note: caf\xe9\r\n"], 200)]
    for lines, expected in cases:
        status = raw_status(double, fixed + lines)
        check(status == expected, "%r: %d, not %d" % (lines, status, expected))


# ---------------------------------------------------------------------------
# Non-streamed answers

@test
def test_response_headers(double):
    status, headers, payload = double.messages(body_for())
    check(status == 200, "status %d" % status)
    check(re.fullmatch(r"req_\w+", headers.get("request-id", "")), "request-id %s" % headers)
    check(headers["content-type"].startswith("application/json"), "content-type")
    check(int(headers["content-length"]) == len(payload), "content-length")
    for name in ("anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-tokens-remaining"):
        check(headers.get(name, "").isdigit(), "%s: %s" % (name, headers.get(name)))
    reset = headers["anthropic-ratelimit-requests-reset"]
    datetime.datetime.strptime(reset, "%Y-%m-%dT%H:%M:%SZ")


@test
def test_rate_limits_are_enforced_per_family(double):
    """Past a family's requests of the minute: 429 rate_limit_error with
    retry-after up to the minute's end and a remaining of 0; another
    family is not affected; tokens are a limit too."""
    def minute_left():
        return 60 - time.time() % 60
    if minute_left() < 5:   # the whole test in one minute
        time.sleep(minute_left() + 0.1)
    double.control("POST", "config", {"rate_limit_requests": 3})
    try:
        for i in range(3):
            status, headers, _ = double.messages(body_for())
            check(status == 200, "request %d: %d" % (i, status))
            check(headers["anthropic-ratelimit-requests-remaining"] == str(2 - i),
                  "remaining after %d: %s" % (i, headers))
        status, headers, payload = double.messages(body_for())
        check(status == 429 and error_type(payload) == "rate_limit_error",
              "past the limit: %d %s" % (status, payload))
        check("3 requests per minute" in json.loads(payload)["error"]["message"], payload)
        check(headers["anthropic-ratelimit-requests-remaining"] == "0", headers)
        check(headers["x-should-retry"] == "true", headers)
        wait = int(headers["retry-after"])
        check(1 <= wait <= 60, "retry-after %d" % wait)
        reset = datetime.datetime.strptime(headers["anthropic-ratelimit-requests-reset"],
                                           "%Y-%m-%dT%H:%M:%SZ")
        check(reset.second == 0, "a minute's end: %s" % reset)
        status, _, _ = double.messages(body_for(model=SONNET))
        check(status == 200, "another family: %d" % status)
        # Tokens: one answer spends the minute's few.
        double.control("POST", "reset")
        double.control("POST", "config", {"rate_limit_requests": 50000,
                                          "rate_limit_tokens": 10})
        status, headers, _ = double.messages(body_for())
        check(status == 200 and headers["anthropic-ratelimit-tokens-remaining"] == "0",
              "tokens spent: %d %s" % (status, headers))
        status, _, payload = double.messages(body_for())
        check(status == 429 and "10 input and output tokens per minute" in
              json.loads(payload)["error"]["message"], payload)
    finally:
        double.control("POST", "config", {"rate_limit_requests": 50000,
                                          "rate_limit_tokens": 20000000})


@test
def test_non_stream_text_answer(double):
    text = "We need a name for the product and a landing page."
    status, _, payload = double.messages(body_for(text))
    check(status == 200, "status %d" % status)
    answer = json.loads(payload)
    check(set(answer) == {"id", "type", "role", "model", "content", "stop_reason",
                          "stop_sequence", "stop_details", "usage"}, "fields %s" % sorted(answer))
    check(answer["stop_details"] is None, "stop_details")
    check(answer["id"].startswith("msg_") and answer["type"] == "message", "id/type")
    check(answer["role"] == "assistant" and answer["model"] == LEGACY, "role/model")
    check(answer["stop_reason"] == "end_turn" and answer["stop_sequence"] is None, "stop")
    check(len(answer["content"]) == 1 and answer["content"][0]["type"] == "text", "content")
    reply = answer["content"][0]["text"]
    check(reply.startswith('Thinking about "%s": ' % text), "reply: %s" % reply)
    check(40 <= len(reply.split()) <= 80, "reply has %d words" % len(reply.split()))
    usage = answer["usage"]
    check(set(usage) == {"input_tokens", "output_tokens", "cache_creation_input_tokens",
                         "cache_read_input_tokens", "cache_creation", "output_tokens_details"},
          "usage fields")
    check(usage["cache_creation"] == {"ephemeral_5m_input_tokens": 0,
                                      "ephemeral_1h_input_tokens": 0}, "cache_creation")
    check(usage["output_tokens_details"] == {"thinking_tokens": 0}, "no thinking")
    check(usage["input_tokens"] == len(text.split()), "input tokens %s" % usage)
    check(usage["output_tokens"] == len(reply.split()), "output tokens %s" % usage)
    check(usage["cache_creation_input_tokens"] == 0 == usage["cache_read_input_tokens"], "cache")


@test
def test_answers_are_deterministic(double):
    body = body_for("Deterministic please. We will use SQLite.")
    first = json.loads(double.messages(body)[2])
    second = json.loads(double.messages(body)[2])
    check(first["content"] == second["content"], "text differs")
    check(first["id"] != second["id"], "message ids should be unique")
    tool = tool_body("recorder", RECORDER_SCHEMA, "We will use SQLite. Maybe Redis later.")
    first = json.loads(double.messages(tool)[2])
    second = json.loads(double.messages(tool)[2])
    check(first["content"] == second["content"], "tool answer differs")
    check(re.fullmatch(r"toolu_01[0-9A-Za-z]{22}", first["content"][0]["id"]), "toolu id")


@test
def test_tool_choice_any_auto_none(double):
    tools = [{"name": "first_tool", "input_schema": {"type": "object"}},
             {"name": "second_tool", "input_schema": {"type": "object"}}]
    answer = json.loads(double.messages(body_for(tools=tools, tool_choice={"type": "any"}))[2])
    check(answer["content"][0]["name"] == "first_tool" and answer["stop_reason"] == "tool_use",
          "any forces the first tool: %s" % answer["content"])
    for choice in ({"type": "auto"}, {"type": "auto", "disable_parallel_tool_use": True},
                   None):
        body = body_for(tools=tools, tool_choice=choice) if choice else body_for(tools=tools)
        answer = json.loads(double.messages(body)[2])
        check(answer["content"][0]["name"] == "first_tool" and
              answer["stop_reason"] == "tool_use", "%s calls the first tool" % choice)
    answer = json.loads(double.messages(body_for(tools=tools, tool_choice={"type": "none"}))[2])
    check(answer["content"][0]["type"] == "text", "none answers text")
    check(double.idle_stats()["by_tool"] == {"first_tool": 4, "text": 1}, "by_tool")


@test
def test_keep_alive_across_requests(double):
    conn = double.connect()
    try:
        status, _, _ = double.messages(body_for(), conn=conn)
        sock = conn.sock
        check(status == 200 and sock is not None, "first request")
        for body in (body_for(max_tokens=0), dict(body_for(), stream=True), body_for()):
            double.messages(body, conn=conn)
            check(conn.sock is sock, "connection was not kept alive")
    finally:
        conn.close()


@test
def test_max_tokens_and_stop_sequences(double):
    answer = json.loads(double.messages(body_for("Short one please.", max_tokens=5))[2])
    text = answer["content"][0]["text"]
    check(answer["stop_reason"] == "max_tokens", "stop_reason %s" % answer["stop_reason"])
    check(len(text.split()) == 5 and answer["usage"]["output_tokens"] == 5, "text %r" % text)
    answer = json.loads(double.messages(body_for("Stop here.", stop_sequences=['":']))[2])
    check(answer["stop_reason"] == "stop_sequence" and answer["stop_sequence"] == '":',
          "stop %s %s" % (answer["stop_reason"], answer["stop_sequence"]))
    check(answer["content"][0]["text"] == 'Thinking about "Stop here.', "cut text")
    answer = json.loads(double.messages(tool_body("recorder", RECORDER_SCHEMA,
                                                  "We will use SQLite for now.",
                                                  max_tokens=3))[2])
    check(answer["stop_reason"] == "max_tokens", "tool stop %s" % answer["stop_reason"])
    check(answer["content"][0]["type"] == "tool_use", "tool block kept")


# ---------------------------------------------------------------------------
# Forced tools: schema-valid input, and the known agents

@test
def test_forced_tool_input_satisfies_schema(double):
    schema = {
        "type": "object",
        "$defs": {"point": {"type": "object", "properties": {
            "x": {"type": "integer", "minimum": -5, "maximum": -2},
            "y": {"type": "number", "exclusiveMinimum": 10, "exclusiveMaximum": 11}},
            "required": ["x", "y"], "additionalProperties": False}},
        "properties": {
            "title": {"type": "string", "minLength": 80, "maxLength": 90},
            "short": {"type": "string", "maxLength": 4},
            "count": {"type": "integer", "minimum": 100, "maximum": 100},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1},
            "flag": {"type": "boolean"},
            "color": {"enum": ["red", "green"]},
            "fixed": {"const": "v1"},
            "maybe": {"type": ["string", "null"]},
            "either": {"anyOf": [{"type": "integer", "minimum": 3}, {"type": "string"}]},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]},
                     "minItems": 3, "maxItems": 3, "uniqueItems": True},
            "points": {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 2},
            "nested": {"type": "object", "properties": {
                "deep": {"type": "object", "properties": {"leaf": {"type": "string"}},
                         "required": ["leaf"]}}, "required": ["deep"]},
            "when": {"type": "string", "format": "date-time"},
            "uid": {"type": "string", "format": "uuid"},
        },
        "required": ["title", "short", "count", "ratio", "flag", "color", "fixed", "maybe",
                     "either", "tags", "points", "nested", "when", "uid"],
        "additionalProperties": False,
    }
    value = tool_input(double, schema, "Anything at all goes here.")
    check(value["count"] == 100 and value["fixed"] == "v1", "bounds/const: %s" % value)
    check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}",
                       value["uid"]), "uuid %s" % value["uid"])
    empty = tool_input(double, {"type": "object"}, "No properties at all.")
    check(empty == {}, "empty schema: %s" % empty)


INTENT_CASES = [
    ("Let's go with PostgreSQL.", "deciding"),
    ("We decided on React for the front end", "deciding"),
    ("Let\u2019s go with the blue logo", "deciding"),
    ("Change the title to something shorter", "modifying"),
    ("Use Vue instead", "modifying"),
    ("What if we sold it to schools?", "exploring"),
    ("I want to explore a subscription model", "exploring"),
    ("Park the mobile app", "parking"),
    ("We can do the export later", "parking"),
    ("Please review the board", "reviewing"),
    ("Give me a recap", "reviewing"),
    ("Time to build the prototype", "development"),
    ("How do we implement login", "development"),
    ("I have an idea for the logo", "brainstorming"),
    ("We could add dark mode", "brainstorming"),
    ("Hello there", "general"),
    ("What if we decide later", "deciding"),        # the first row of the table wins
    ("Explain the board to me", "general"),          # "explain" is not "explore"
]


@test
def test_intent_keyword_table(double):
    for text, expected in INTENT_CASES:
        value = tool_input(double, INTENT_SCHEMA, text, "context_manager")
        check(value["intent"] == expected, "%r → %s, expected %s" % (text, value["intent"],
                                                                     expected))
        low = 40 if expected == "general" else 60
        check(low <= value["confidence"] <= 95, "confidence %s" % value["confidence"])


@test
def test_intent_directive_overrides_keywords(double):
    value = tool_input(double, INTENT_SCHEMA, "[intent:reviewing] Let's go with PostgreSQL.",
                       "context_manager")
    check(value == dict(value, intent="reviewing", confidence=95), "directive: %s" % value)
    value = tool_input(double, INTENT_SCHEMA, "Let's go with it [intent:nonsense]",
                       "context_manager")
    check(value["intent"] == "deciding", "unknown intent directive is ignored: %s" % value)
    narrow = {"type": "object", "properties": {
        "intent": {"enum": ["deciding", "general"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 10}},
        "required": ["intent", "confidence"]}
    value = tool_input(double, narrow, "[intent:parking] later", "context_manager")
    check(value["intent"] in ("deciding", "general") and value["confidence"] == 10,
          "enum and bounds respected: %s" % value)


RECORDER_TEXT = ("We will use PostgreSQL for storage. Maybe a mobile app could come later! "
                 "Should we use Redis? Too short. Let's go with weekly releases.\n"
                 "Try a kanban view first")


@test
def test_recorder_changes_with_exact_quotes(double):
    value = tool_input(double, RECORDER_SCHEMA, RECORDER_TEXT, "recorder")
    expected = [("We will use PostgreSQL for storage", "We will use PostgreSQL for storage.",
                 "decided"),
                ("Maybe a mobile app could come later", "Maybe a mobile app could come later!",
                 "parked"),
                ("Let's go with weekly releases", "Let's go with weekly releases.", "decided"),
                ("Try a kanban view first", "Try a kanban view first", "exploring")]
    changes = value["changes"]
    check(len(changes) == len(expected), "changes: %s" % changes)
    for change, (text, quote, state) in zip(changes, expected):
        check(change["action"] == "add", "action %s" % change)
        check(change["text"] == text, "text %r != %r" % (change["text"], text))
        check(change["user_quote"] == quote and quote in RECORDER_TEXT, "quote %r" % change)
        check(change["state"] == state, "state of %r: %s" % (text, change["state"]))
        check(60 <= change["confidence"] <= 95, "confidence %s" % change["confidence"])
        check(change["rationale"].startswith("Rationale"), "generic field %s" % change)
        check("item_id" not in change, "optional id-like fields are left out")


@test
def test_recorder_limits_and_directives(double):
    limited = json.loads(json.dumps(RECORDER_SCHEMA))
    limited["properties"]["changes"]["maxItems"] = 2
    value = tool_input(double, limited, RECORDER_TEXT, "recorder")
    check(len(value["changes"]) == 2, "maxItems: %d" % len(value["changes"]))
    value = tool_input(double, RECORDER_SCHEMA, "[no-changes] We will use PostgreSQL.", "recorder")
    check(value["changes"] == [], "[no-changes]: %s" % value)
    text = "[intent:deciding] We will ship on Friday. [fault-agent:nobody]"
    value = tool_input(double, RECORDER_SCHEMA, text, "recorder")
    check([c["user_quote"] for c in value["changes"]] == ["We will ship on Friday."],
          "directives stay out of quotes: %s" % value)
    loose = {"type": "object", "properties": {"changes": {"type": "array", "items": {
        "type": "object", "properties": {"text": {"type": "string", "maxLength": 10}},
        "required": ["text"], "additionalProperties": False}}}, "required": ["changes"]}
    value = tool_input(double, loose, "We will use PostgreSQL for storage.", "recorder")
    check(value == {"changes": [{"text": "We will us"}]}, "only declared fields: %s" % value)


@test
def test_tagged_prompt_uses_the_message_section(double):
    prompt = ("<board>\ndecided:\n[i1] We will use PostgreSQL (confidence 90)\n</board>\n"
              "<conversation>\nperson: [fault:overloaded] Let's go with Redis.\n</conversation>\n"
              "<message>\nMaybe we could add a mobile app later.\n</message>\n")
    value = tool_input(double, RECORDER_SCHEMA, prompt, "recorder")
    check([(c["user_quote"], c["state"]) for c in value["changes"]] ==
          [("Maybe we could add a mobile app later.", "parked")], "changes %s" % value)
    value = tool_input(double, INTENT_SCHEMA, prompt, "context_manager")
    check(value["intent"] == "parking", "intent from <message> only: %s" % value)
    reply = json.loads(double.messages(body_for(prompt))[2])["content"][0]["text"]
    check(reply.startswith('Thinking about "Maybe we could add a mobile app later.":'),
          "reply %s" % reply)
    conflicts = {"type": "object", "properties": {"conflicts": {"type": "array", "items": {
        "type": "object", "properties": {
            "change_index": {"type": "integer", "minimum": 0, "maximum": 7},
            "item_id": {"type": "string", "maxLength": 64},
            "severity": {"type": "string", "enum": ["high", "medium", "low"]},
            "blocking": {"type": "boolean"}},
        "required": ["change_index", "item_id", "severity", "blocking"],
        "additionalProperties": False}}}, "required": ["conflicts"]}
    value = tool_input(double, conflicts, prompt, "consistency_guardian")
    check(value == {"conflicts": [{"change_index": 0, "item_id": "i1", "severity": "high",
                                   "blocking": False}]}, "predictable fields: %s" % value)
    value = tool_input(double, conflicts, "No board here.", "consistency_guardian")
    check(value["conflicts"][0]["item_id"] == "", "no board, empty id: %s" % value)


@test
def test_other_agent_schemas_are_readable(double):
    text = "We will launch in March because competitors are slow to react to us."
    value = tool_input(double, AUDITOR_SCHEMA, text, "quality_auditor")
    check(len(value["issues"]) == 1, "one finding: %s" % value)
    check(value["issues"][0]["assumption"] == "Assumption in: " + text[:60].rstrip(),
          "readable string: %r" % value["issues"][0]["assumption"])
    value = tool_input(double, AUDITOR_SCHEMA, "[no-findings] " + text, "quality_auditor")
    check(value["issues"] == [], "[no-findings]: %s" % value)
    questions = {"type": "object", "properties": {"questions": {
        "type": "array", "minItems": 2, "items": {"type": "string"}}}, "required": ["questions"]}
    value = tool_input(double, questions, "[no-findings] Pricing", "questioner")
    check(value["questions"] == ["Question in: Pricing", "Question 2 in: Pricing"],
          "minItems wins over [no-findings]: %s" % value)


# ---------------------------------------------------------------------------
# Streaming

def check_event_sequence(events):
    """message_start, blocks (start, deltas, stop), message_delta, message_stop; pings anywhere."""
    for name, data in events:
        check(data["type"] == name, "event %s carries type %s" % (name, data["type"]))
    names = [name for name, _ in events if name != "ping"]
    check(names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"],
          "ends: %s" % names)
    pattern = r"message_start (content_block_start (content_block_delta )*content_block_stop )+" \
              r"message_delta message_stop "
    check(re.fullmatch(pattern, " ".join(names) + " "), "order: %s" % names)


@test
def test_stream_text_events_and_reassembly(double):
    body = body_for("Streaming should spell the same reply, word by word.")
    expected = json.loads(double.messages(body)[2])
    status, headers, events = stream(double, body)
    check(status == 200, "status %d" % status)
    check(headers["content-type"].startswith("text/event-stream"), "content-type")
    check(headers.get("transfer-encoding") == "chunked", "chunked: %s" % headers)
    check(headers.get("request-id", "").startswith("req_"), "request-id")
    check_event_sequence(events)
    start = events[0][1]["message"]
    check(start["content"] == [] and start["stop_reason"] is None and start["role"] == "assistant",
          "message_start: %s" % start)
    check(start["usage"]["output_tokens"] == 1, "start usage %s" % start["usage"])
    check(start["usage"]["input_tokens"] == expected["usage"]["input_tokens"], "input tokens")
    blocks = [d for n, d in events if n == "content_block_start"]
    check(blocks == [{"type": "content_block_start", "index": 0,
                      "content_block": {"type": "text", "text": ""}}], "block start %s" % blocks)
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    check(all(d["type"] == "text_delta" for d in deltas), "delta types")
    check(len(deltas) >= 10, "only %d deltas" % len(deltas))
    check(all(1 <= len(d["text"].split()) <= 3 for d in deltas), "one to three words each")
    check("".join(d["text"] for d in deltas) == expected["content"][0]["text"], "reassembly")
    final = [d for n, d in events if n == "message_delta"][0]
    check(final["delta"] == {"stop_reason": "end_turn", "stop_sequence": None,
                             "stop_details": None}, "message_delta")
    check(final["usage"]["output_tokens"] == expected["usage"]["output_tokens"], "output tokens")


@test
def test_stream_pings(double):
    status, _, events = stream(double, body_for("Ping me please, with many words to stream."))
    names = [name for name, _ in events]
    check(names[:2] == ["message_start", "ping"], "ping after message_start: %s" % names[:3])
    check(names.count("ping") >= 2, "pings between deltas: %d" % names.count("ping"))
    first_delta = names.index("content_block_delta")
    check("ping" in names[first_delta:], "a ping among the deltas")


@test
def test_stream_tool_input_json_deltas(double):
    body = tool_body("recorder", RECORDER_SCHEMA, RECORDER_TEXT)
    expected = json.loads(double.messages(body)[2])["content"][0]
    status, _, events = stream(double, body)
    check(status == 200, "status %d" % status)
    check_event_sequence(events)
    start = [d for n, d in events if n == "content_block_start"][0]["content_block"]
    check(start == {"type": "tool_use", "id": expected["id"], "name": "recorder", "input": {}},
          "tool block start %s" % start)
    pieces = [d["delta"] for n, d in events if n == "content_block_delta"]
    check(all(p["type"] == "input_json_delta" for p in pieces), "delta types")
    check(pieces[0]["partial_json"] == "", "the first piece is empty, as in the real API")
    check(all(5 <= len(p["partial_json"]) <= 20 for p in pieces[1:-1]), "piece sizes")
    check(1 <= len(pieces[-1]["partial_json"]) <= 20, "last piece")
    check(json.loads("".join(p["partial_json"] for p in pieces)) == expected["input"],
          "reassembled input differs")
    final = [d for n, d in events if n == "message_delta"][0]
    check(final["delta"]["stop_reason"] == "tool_use", "stop_reason %s" % final)


@test
def test_stream_max_tokens(double):
    _, _, events = stream(double, body_for("Cut this short.", max_tokens=4))
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    final = [d for n, d in events if n == "message_delta"][0]
    check(len(text.split()) == 4 and final["delta"]["stop_reason"] == "max_tokens",
          "%r %s" % (text, final))


# ---------------------------------------------------------------------------
# Prompt caching

def cached_body(words, model=SONNET, text="Hello", cache=True, ttl=None):
    block = {"type": "text", "text": " ".join("rule%d" % i for i in range(words))}
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
        if ttl:
            block["cache_control"]["ttl"] = ttl
    return body_for(text, model=model,
                    system=[block, {"type": "text", "text": "Volatile tail here."}])


@test
def test_cache_creation_then_read(double):
    body = cached_body(1100)
    first = json.loads(double.messages(body)[2])["usage"]
    check(first["cache_creation_input_tokens"] == 1100 and first["cache_read_input_tokens"] == 0,
          "first %s" % first)
    check(first["input_tokens"] == 3 + 1, "uncached rest: %s" % first)
    second = json.loads(double.messages(body)[2])["usage"]
    check(second["cache_read_input_tokens"] == 1100 and second["cache_creation_input_tokens"] == 0,
          "second %s" % second)
    other = json.loads(double.messages(cached_body(1100, text="Another question"))[2])["usage"]
    check(other["cache_read_input_tokens"] == 1100, "same prefix, new message: %s" % other)
    _, _, events = stream(double, body)
    check(events[0][1]["message"]["usage"]["cache_read_input_tokens"] == 1100, "stream usage")


@test
def test_cache_minimums_and_absence(double):
    # The minimum prefix per model: 512, 1024 on Sonnet 5, 4096 on the 4.5 models.
    for body, label in ((cached_body(500), "sonnet 5.5 under 512"),
                        (cached_body(1000, model=SONNET5), "sonnet 5 under 1024"),
                        (cached_body(4000, model=LEGACY), "haiku 4.5 under 4096"),
                        (cached_body(4000, model=OPUS45), "opus 4.5 under 4096"),
                        (cached_body(1500, cache=False), "no cache_control")):
        for _ in range(2):
            usage = json.loads(double.messages(body)[2])["usage"]
            check(usage["cache_creation_input_tokens"] == 0 == usage["cache_read_input_tokens"],
                  "%s: %s" % (label, usage))
    for model, words in ((LEGACY, 4100), (SONNET5, 1030), (HAIKU, 520), (OPUS, 520),
                         (FABLE, 520), (OPUS5, 520), ("claude-fable-5", 520)):
        usage = json.loads(double.messages(cached_body(words, model=model))[2])["usage"]
        check(usage["cache_creation_input_tokens"] == words, "%s over: %s" % (model, usage))


# ---------------------------------------------------------------------------
# Faults

@test
def test_fault_http_errors(double):
    double.faults({"kind": "rate_limit", "retry_after": 7}, {"kind": "overloaded"},
                  {"kind": "server_error"}, {"kind": "bad_request"})
    check(double.stats()["faults_pending"] == 4, "pending")
    expected = [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error"),
                (400, "invalid_request_error")]
    for status_wanted, type_wanted in expected:
        status, headers, payload = double.messages(body_for())
        check(status == status_wanted and error_type(payload) == type_wanted,
              "got %d, wanted %d" % (status, status_wanted))
        check(headers.get("request-id", "").startswith("req_"), "request-id")
        if status == 429:
            check(headers.get("retry-after") == "7", "retry-after %s" % headers.get("retry-after"))
    status, _, _ = double.messages(body_for())
    check(status == 200, "faults are consumed")
    stats = double.idle_stats()
    check(stats["faults_pending"] == 0, "pending %s" % stats)
    check(stats["faults_injected"] == {"rate_limit": 1, "overloaded": 1, "server_error": 1,
                                       "bad_request": 1}, "injected %s" % stats)


@test
def test_fault_rate_limit_default_retry_after(double):
    double.faults({"kind": "rate_limit"})
    status, headers, _ = double.messages(body_for())
    check(status == 429 and headers.get("retry-after") == "1", "default retry-after")


@test
def test_fault_malformed(double):
    double.faults({"kind": "malformed"})
    status, _, payload = double.messages(body_for())
    check(status == 200, "status %d" % status)
    try:
        json.loads(payload)
        raise Failure("malformed body parsed as JSON")
    except ValueError:
        pass
    double.faults({"kind": "malformed", "match": {"stream": True}})
    status, _, raw = double.messages(dict(body_for(), stream=True))
    bad = 0
    for _, data in parse_sse(raw):
        try:
            json.loads(data)
        except ValueError:
            bad += 1
    check(status == 200 and bad == 1, "one broken data line, got %d" % bad)


@test
def test_fault_stream_error(double):
    double.faults({"kind": "stream_error"})
    status, _, raw = double.messages(dict(body_for(), stream=True))
    events = [(n, json.loads(d)) for n, d in parse_sse(raw)]
    names = [n for n, _ in events]
    check(status == 200 and names[-1] == "error", "ends with error: %s" % names)
    check(events[-1][1] == {"type": "error", "error": {"type": "overloaded_error",
                                                       "message": "Overloaded"}}, "error event")
    check("message_stop" not in names and "content_block_delta" in names, "deltas, no stop")
    double.faults({"kind": "stream_error"})
    status, _, payload = double.messages(body_for())
    check(status == 529 and error_type(payload) == "overloaded_error", "non-stream: %d" % status)


@test
def test_fault_drop(double):
    double.faults({"kind": "drop"})
    try:
        double.messages(body_for())
        raise Failure("dropped request got an answer")
    except (http.client.HTTPException, ConnectionError):
        pass
    double.faults({"kind": "drop", "match": {"stream": True}})
    raw, error = read_stream_until_failure(double, body_for("Drop me mid-stream please."))
    check(error is not None, "an incomplete chunked stream must raise")
    check(b"content_block_delta" in raw and b"message_stop" not in raw, "cut mid-stream")
    check(double.messages(body_for())[0] == 200, "next request fine")


@test
def test_fault_hang_until_client_timeout_then_reset(double):
    double.faults({"kind": "hang", "seconds": 60})
    try:
        double.messages(body_for(), timeout=0.5)
        raise Failure("hung request got an answer")
    except (socket.timeout, TimeoutError):
        pass
    check(double.stats()["in_flight"] == 1, "the hung request is in flight")
    double.control("POST", "reset")
    check(double.idle_stats()["in_flight"] == 0, "reset releases hung requests")


@test
def test_fault_hang_for_seconds(double):
    double.faults({"kind": "hang", "seconds": 0.3})
    try:
        double.messages(body_for(), timeout=10)
        raise Failure("hung request got an answer")
    except (http.client.HTTPException, ConnectionError):
        pass


@test
def test_fault_delay(double):
    double.faults({"kind": "delay", "ms": 400})
    started = time.monotonic()
    status, _, _ = double.messages(body_for())
    check(status == 200 and time.monotonic() - started >= 0.4, "delayed answer")


@test
def test_fault_count_and_match(double):
    double.faults({"kind": "overloaded", "count": 2, "match": {"tool": "recorder"}},
                  {"kind": "server_error", "match": {"model": HAIKU, "stream": True}})
    check(double.stats()["faults_pending"] == 3, "pending 3")
    recorder = tool_body("recorder", RECORDER_SCHEMA, "We will test faults.")
    check(double.messages(body_for())[0] == 200, "text call unaffected")
    check([double.messages(recorder)[0] for _ in range(3)] == [529, 529, 200], "count 2")
    check(double.messages(body_for(model=HAIKU))[0] == 200, "non-stream haiku unaffected")
    check(stream(double, body_for())[0] == 200, "sonnet stream unaffected")
    check(stream(double, body_for(model=HAIKU))[0] == 500, "haiku stream hit")
    check(double.stats()["faults_pending"] == 0, "all consumed")


@test
def test_fault_requests_are_validated(double):
    for faults in ([{"kind": "explode"}], [{"kind": "drop", "count": 0}],
                   [{"kind": "drop", "match": {"agent": "x"}}], "nope",
                   [{"kind": "hang", "seconds": -1}]):
        status, answer = double.control("POST", "faults", {"faults": faults})
        check(status == 400 and answer["error"]["type"] == "invalid_request_error",
              "%s → %d" % (faults, status))
    check(double.stats()["faults_pending"] == 0, "nothing queued")


@test
def test_fault_directives_in_user_text(double):
    text = "[fault:overloaded] We will break everything."
    check(double.messages(body_for(text))[0] == 529, "text call fails")
    check(double.messages(tool_body("recorder", RECORDER_SCHEMA, text))[0] == 529,
          "every agent of the request fails")
    text = "We will break only the recorder. [fault:server_error] [fault-agent:recorder]"
    check(double.messages(body_for(text))[0] == 200, "other agents are fine")
    check(double.messages(tool_body("context_manager", INTENT_SCHEMA, text))[0] == 200,
          "context_manager is fine")
    check(double.messages(tool_body("recorder", RECORDER_SCHEMA, text))[0] == 500,
          "the recorder fails")
    text = "[fault:stream_error] [fault-agent:text] Stream then fail."
    _, _, raw = double.messages(dict(body_for(text), stream=True))
    check(parse_sse(raw)[-1][0] == "error", "streamed reply fails mid-way")


@test
def test_fault_directive_with_count(double):
    text = "[fault:rate_limit:2] Retry me twice."
    statuses = [double.messages(body_for(text))[0] for _ in range(3)]
    check(statuses == [429, 429, 200], "first two fail: %s" % statuses)
    recorder = tool_body("recorder", RECORDER_SCHEMA, text)
    check(double.messages(recorder)[0] == 429, "counted per agent")
    double.control("POST", "reset")
    check(double.messages(body_for(text))[0] == 429, "reset forgets directive counts")


# ---------------------------------------------------------------------------
# Control API and concurrency

@test
def test_max_in_flight_with_20_concurrent_slow_requests(double):
    status, config = double.control("POST", "config", {"latency_ms": 300})
    check(status == 200 and config["latency_ms"] == 300, "config %s" % config)
    barrier = threading.Barrier(20)
    results = []

    def call():
        barrier.wait()
        results.append(double.messages(body_for("Concurrent call."))[0])
    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    double.control("POST", "config", {"latency_ms": 0})
    stats = double.idle_stats()
    check(results == [200] * 20, "results %s" % results)
    check(stats["max_in_flight"] >= 20, "max_in_flight %d" % stats["max_in_flight"])
    check(stats["in_flight"] == 0 and stats["requests"] == 20, "stats %s" % stats)


@test
def test_500_hung_calls_are_held_at_once_and_released_by_reset(double):
    """Many calls in flight at once (the double is evented: a held call is a
    timer, not a thread); reset ends every one of them without an answer."""
    count = 500
    double.faults({"kind": "hang", "count": count, "seconds": 120})
    data = json.dumps(body_for("Hold me.")).encode()
    head = "".join("%s: %s\r\n" % item for item in api_headers().items())
    request = ("POST /v1/messages HTTP/1.1\r\nhost: double\r\n%scontent-length: %d\r\n\r\n"
               % (head, len(data))).encode() + data
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", double.port), timeout=30)
            sock.sendall(request)
            sockets.append(sock)
        deadline = time.monotonic() + 60
        stats = double.stats()
        while stats["in_flight"] < count and time.monotonic() < deadline:
            time.sleep(0.05)
            stats = double.stats()
        check(stats["in_flight"] == count and stats["max_in_flight"] >= count,
              "in flight %d of %d" % (stats["in_flight"], count))
        double.control("POST", "reset")
        answered = [sock.recv(1024) for sock in sockets]
        check(answered == [b""] * count, "a hung call got an answer")
        check(double.idle_stats()["in_flight"] == 0, "reset releases them all")
    finally:
        for sock in sockets:
            sock.close()


@test
def test_stats_counts(double):
    double.messages(body_for())
    double.messages(body_for(model=HAIKU))
    double.messages(tool_body("recorder", RECORDER_SCHEMA, "We will count."))
    double.messages(body_for(max_tokens=0))
    stats = double.idle_stats()
    check(stats["requests"] == 4, "requests %s" % stats)
    check(stats["by_model"] == {LEGACY: 2, HAIKU: 1}, "by_model %s" % stats["by_model"])
    check(stats["by_tool"] == {"text": 2, "recorder": 1}, "by_tool %s" % stats["by_tool"])
    # A thread finishes its bookkeeping just after the client has its answer,
    # so even sequential requests may briefly overlap: no exact max_in_flight.
    check(stats["max_in_flight"] >= 1 and stats["faults_pending"] == 0, "stats %s" % stats)
    check(stats["by_status"] == {"200": 3, "400": 1}, "by_status %s" % stats["by_status"])
    # Every answer counts its lateness against the model's pace; a refusal none.
    late = stats["late_ms"]
    check(late["answers"] == 3 and 0 <= late["p50"] <= late["p90"] <= late["max"],
          "late_ms %s" % late)
    status, recent = double.control("GET", "requests")
    logged = recent["requests"]
    check(status == 200 and sorted(str(r["status"]) for r in logged) == ["200"] * 3 + ["400"],
          "request log %s" % [r["status"] for r in logged])
    check([r["body"]["tool_choice"]["name"] for r in logged if r["tool"] == "recorder"]
          == ["recorder"], "logged body")


@test
def test_reset_clears_counters_faults_and_cache(double):
    body = cached_body(1100)
    double.messages(body)
    double.faults({"kind": "overloaded", "count": 5})
    double.idle_stats()
    status, answer = double.control("POST", "reset")
    check(status == 200, "reset %s" % answer)
    stats = double.stats()
    check(stats["requests"] == 0 and stats["faults_pending"] == 0 and stats["by_model"] == {}
          and stats["by_tool"] == {} and stats["max_in_flight"] == 0
          and stats["late_ms"]["answers"] == 0, "stats %s" % stats)
    status, _, payload = double.messages(body)
    usage = json.loads(payload)["usage"]
    check(status == 200, "fault cleared")
    check(usage["cache_creation_input_tokens"] == 1100, "cache forgotten: %s" % usage)


@test
def test_config_endpoint(double):
    status, config = double.control("POST", "config", {"latency_ms": 5, "token_delay_ms": 2})
    check(status == 200 and config["latency_ms"] == 5 and config["token_delay_ms"] == 2,
          "set %s" % config)
    status, config = double.control("GET", "config")
    check(config == {"latency_ms": 5, "token_delay_ms": 2, "rate_limit_requests": 50000,
                     "rate_limit_tokens": 20000000, "today": DEFAULT_TODAY}, "get %s" % config)
    before = double.idle_stats()["late_ms"]["answers"]
    _, _, events = stream(double, body_for("Paced stream."))
    check(events[-1][0] == "message_stop", "paced stream completes")
    check(double.idle_stats()["late_ms"]["answers"] == before + 1, "a stream counts once")
    for bad in ({"latency_ms": -1}, {"token_delay_ms": "3"}, {"speed": 1},
                {"rate_limit_requests": 0}, {"rate_limit_tokens": 1.5},
                {"today": "2027-02-30"}, {"latency_ms": 9, "today": None}):
        status, answer = double.control("POST", "config", bad)
        check(status == 400, "%s → %d" % (bad, status))
    check(double.control("GET", "config")[1] == {"latency_ms": 5, "token_delay_ms": 2,
                                                 "rate_limit_requests": 50000,
                                                 "rate_limit_tokens": 20000000,
                                                 "today": DEFAULT_TODAY},
          "bad config changed nothing")


# ---------------------------------------------------------------------------
# API versions, auth, error bodies

@test
def test_both_versions_and_both_auth_headers(double):
    for version in ("2023-06-01", NEW_VERSION):
        for auth in ({"x-api-key": API_KEY},
                     {"x-api-key": None, "authorization": "Bearer " + API_KEY},
                     {"authorization": "Bearer " + API_KEY}):
            headers = dict(auth, **{"anthropic-version": version})
            accepted(double, body_for(), headers)
    cases = [({"x-api-key": None, "authorization": "Bearer wrong"}, "wrong bearer"),
             ({"x-api-key": None, "authorization": "Basic " + API_KEY}, "not bearer"),
             ({"x-api-key": None, "authorization": "Bearer"}, "empty bearer"),
             ({"authorization": "Bearer wrong"}, "one of two keys wrong"),
             ({"x-api-key": "wrong", "authorization": "Bearer " + API_KEY}, "x-api-key wrong")]
    for headers, label in cases:
        status, _, payload = double.messages(body_for(), headers)
        check(status == 401 and error_type(payload) == "authentication_error",
              "%s → %d" % (label, status))
    for version in ("2024-01-01", "2026-10-22", ""):
        refused(double, body_for(), "anthropic-version", headers={"anthropic-version": version})
    for _ in range(500):    # every answer written, and so logged
        if double.control("GET", "stats")[1]["in_flight"] == 0:
            break
        time.sleep(0.01)
    logged = [(r["version"], r["auth"]) for r in double.control("GET", "requests")[1]["requests"]
              if r["status"] == 200]
    # A request is logged once its answer is written, which can be just
    # after the client read it: the order of two neighbours may swap.
    check(sorted(logged) == sorted((v, a) for v in ("2023-06-01", NEW_VERSION)
                                   for a in ("x-api-key", "bearer", "x-api-key+bearer")),
          "the log says how each request came: %s" % logged)


@test
def test_error_bodies_carry_the_request_id(double):
    double.faults({"kind": "overloaded"})
    requests = [("POST", "/v1/messages", body_for(), api_headers()),             # fault 529
                ("POST", "/v1/messages", body_for(), api_headers({"x-api-key": None})),
                ("POST", "/v1/messages", body_for(max_tokens=0), api_headers()),
                ("POST", "/v1/messages", body_for(model=RETIRED), api_headers()),
                ("GET", "/v1/models/claude-3-opus-20240229", None, api_headers()),
                ("GET", "/v1/nothing", None, {}),
                ("POST", "/_double/faults", {"faults": "x"}, {})]
    for method, path, body, headers in requests:
        status, response_headers, payload = double.request(method, path, body, headers)
        check(status >= 400, "%s %s: %d" % (method, path, status))
        error_type(payload)
        check(json.loads(payload)["request_id"] == response_headers["request-id"],
              "%s %s: body and header differ" % (method, path))


# ---------------------------------------------------------------------------
# The model catalogue: GET /v1/models and /v1/models/{id}

MODEL_INFO_KEYS = {"id", "type", "display_name", "created_at", "lifecycle", "deprecated_at",
                   "retires_at", "line", "max_input_tokens", "max_tokens", "capabilities"}
CAPABILITY_KEYS = {"batch", "citations", "code_execution", "context_management", "effort",
                   "image_input", "pdf_input", "server_tools", "structured_outputs",
                   "thinking"}
NOT_RETIRED = [FABLE, HAIKU, SONNET, "claude-fable-5-1", OPUS, SONNET5, "claude-fable-5",
               OPUS5, OPUS45, LEGACY]


def get_json(double, path, headers=None):
    status, _, payload = double.request("GET", path, headers=api_headers(headers))
    return status, json.loads(payload)


def check_model_info(info):
    check(set(info) == MODEL_INFO_KEYS and info["type"] == "model", "keys %s" % sorted(info))
    capabilities = info["capabilities"]
    check(set(capabilities) == CAPABILITY_KEYS, "capabilities %s" % sorted(capabilities))
    check(set(capabilities["effort"]) == {"supported", "low", "medium", "high", "xhigh", "max"},
          "effort keys")
    check(set(capabilities["thinking"]["types"]) ==
          {"adaptive", "between_tools", "disabled", "enabled"}, "thinking types")
    for key in ("batch", "citations", "code_execution", "image_input", "pdf_input",
                "structured_outputs"):
        check(set(capabilities[key]) == {"supported"}, key)
    for stamp in ("created_at", "deprecated_at", "retires_at"):
        if info[stamp] is not None:
            datetime.datetime.strptime(info[stamp], "%Y-%m-%dT%H:%M:%SZ")


@test
def test_models_list_newest_first_without_retired(double):
    status, page = get_json(double, "/v1/models")
    check(status == 200 and set(page) == {"data", "has_more", "first_id", "last_id"}, "page")
    ids = [info["id"] for info in page["data"]]
    check(ids == NOT_RETIRED, "ids %s" % ids)
    check(page["has_more"] is False and page["first_id"] == FABLE and page["last_id"] == LEGACY,
          "cursors %s" % {k: page[k] for k in ("has_more", "first_id", "last_id")})
    for info in page["data"]:
        check_model_info(info)
    stamps = [info["created_at"] for info in page["data"]]
    check(stamps == sorted(stamps, reverse=True), "newest first")


@test
def test_models_list_paging(double):
    _, first = get_json(double, "/v1/models?limit=3")
    check([i["id"] for i in first["data"]] == NOT_RETIRED[:3] and first["has_more"], "page 1")
    _, second = get_json(double, "/v1/models?limit=3&after_id=" + first["last_id"])
    check([i["id"] for i in second["data"]] == NOT_RETIRED[3:6] and second["has_more"], "page 2")
    _, last = get_json(double, "/v1/models?limit=5&after_id=" + NOT_RETIRED[6])
    check([i["id"] for i in last["data"]] == NOT_RETIRED[7:] and not last["has_more"], "last")
    _, back = get_json(double, "/v1/models?limit=2&before_id=" + NOT_RETIRED[4])
    check([i["id"] for i in back["data"]] == NOT_RETIRED[2:4] and back["has_more"], "before_id")
    _, top = get_json(double, "/v1/models?limit=2&before_id=" + NOT_RETIRED[2])
    check([i["id"] for i in top["data"]] == NOT_RETIRED[:2] and not top["has_more"], "top")
    _, one = get_json(double, "/v1/models?limit=1000")
    check(len(one["data"]) == len(NOT_RETIRED), "limit 1000")
    for query in ("limit=0", "limit=1001", "limit=x", "after_id=claude-nothing",
                  "after_id=%s&before_id=%s" % (FABLE, LEGACY), "lifecycle=bogus",
                  "after_id=" + RETIRED):
        status, answer = get_json(double, "/v1/models?" + query)
        check(status == 400 and answer["error"]["type"] == "invalid_request_error",
              "%s → %d" % (query, status))


@test
def test_models_list_lifecycle_filter(double):
    for query, expected in (("lifecycle=retired", [RETIRED]),
                            ("lifecycle[]=retired", [RETIRED]),
                            ("lifecycle[]=deprecated", [OPUS45]),
                            ("lifecycle[]=active&lifecycle[]=retired",
                             [m for m in NOT_RETIRED if m != OPUS45] + [RETIRED]),
                            ("lifecycle=active,deprecated,retired", NOT_RETIRED + [RETIRED])):
        status, page = get_json(double, "/v1/models?" + query)
        check(status == 200, "%s → %d" % (query, status))
        ids = [info["id"] for info in page["data"]]
        check(ids == expected, "%s: %s" % (query, ids))


@test
def test_models_retrieve(double):
    status, info = get_json(double, "/v1/models/" + FABLE)
    check(status == 200, "status %d" % status)
    check_model_info(info)
    check(info == dict(info, display_name="Claude Fable 5.2", line="fable",
                       created_at="2026-11-09T00:00:00Z", lifecycle="active",
                       deprecated_at=None, retires_at=None, max_input_tokens=1000000,
                       max_tokens=128000), "fable %s" % info)
    status, info = get_json(double, "/v1/models/claude-haiku-4-5")
    check(status == 200 and info["id"] == LEGACY, "alias resolves: %s" % info.get("id"))
    check(info["max_input_tokens"] == 200000 and info["max_tokens"] == 64000, "haiku 4.5 sizes")
    status, info = get_json(double, "/v1/models/" + OPUS45)
    check(info["lifecycle"] == "deprecated" and info["retires_at"] == "2027-01-22T00:00:00Z"
          and info["deprecated_at"].startswith("2026-"), "opus 4.5 %s" % info)
    status, info = get_json(double, "/v1/models/" + RETIRED)
    check(status == 200 and info["lifecycle"] == "retired" and
          info["retires_at"] == "2026-11-30T00:00:00Z", "retired %s" % info)
    for name in ("claude-3-opus-20240229", "gpt-4", "claude-sonnet-5-5-20260922"):
        status, _, payload = double.request("GET", "/v1/models/" + name, headers=api_headers())
        check(status == 404 and error_type(payload) == "not_found_error", "%s → %d" % (name, status))


@test
def test_models_need_auth_and_version(double):
    for path in ("/v1/models", "/v1/models/" + SONNET):
        status, _, payload = double.request("GET", path, headers=api_headers({"x-api-key": None}))
        check(status == 401 and error_type(payload) == "authentication_error", "%s auth" % path)
        status, _, payload = double.request("GET", path,
                                            headers=api_headers({"anthropic-version": None}))
        check(status == 400 and error_type(payload) == "invalid_request_error", "%s ver" % path)
        status, _, _ = double.request("GET", path,
                                      headers=api_headers(new_api({"content-type": None})))
        check(status == 200, "%s with the SDK's headers: %d" % (path, status))
        status, _, _ = double.request("POST", path, {}, api_headers())
        check(status == 405, "%s POST: %d" % (path, status))


# ---------------------------------------------------------------------------
# The calendar: lifecycles follow the double's date and the announced dates

ALL_MODELS = NOT_RETIRED + [RETIRED]
# At DEFAULT_TODAY; every other model is active.
DEFAULT_LIFECYCLES = {OPUS45: "deprecated", RETIRED: "retired"}


def lifecycles(double):
    """{id: lifecycle} of every model in the catalogue, retired ones included."""
    status, page = get_json(double, "/v1/models?lifecycle=active,deprecated,retired")
    check(status == 200, "list %d" % status)
    return {info["id"]: info["lifecycle"] for info in page["data"]}


def listed(double, query=""):
    return [info["id"] for info in get_json(double, "/v1/models" + query)[1]["data"]]


def set_today(double, today):
    status, config = double.control("POST", "config", {"today": today})
    check(status == 200 and config["today"] == today, "today %s: %s" % (today, config))


def announce(double, model, deprecated_at, retires_at):
    """POST /_double/models; the ModelInfo it answers."""
    status, info = double.control("POST", "models", {"id": model, "deprecated_at": deprecated_at,
                                                     "retires_at": retires_at})
    check(status == 200, "announce %s: %d %s" % (model, status, info))
    check_model_info(info)
    return info


def refused_as_retired(double, model, retired_on):
    status, _, payload = double.messages(body_for(model=model))
    check(status == 404 and error_type(payload) == "not_found_error" and
          "retired on %s" % retired_on in error_message(payload),
          "%s: %d %s" % (model, status, payload[:300]))


@test
def test_calendar_default_date_serves_the_checked_lifecycles(double):
    check(double.control("GET", "config")[1]["today"] == DEFAULT_TODAY, "default today")
    expected = {model: DEFAULT_LIFECYCLES.get(model, "active") for model in ALL_MODELS}
    check(lifecycles(double) == expected, "lifecycles %s" % lifecycles(double))
    for model, deprecated, retires in ((OPUS45, "2026-07-22", "2027-01-22"),
                                       (RETIRED, "2026-05-29", "2026-11-30")):
        _, info = get_json(double, "/v1/models/" + model)
        check(info["deprecated_at"] == deprecated + "T00:00:00Z" and
              info["retires_at"] == retires + "T00:00:00Z", "%s dates %s" % (model, info))
    # The dates are inclusive: the day before its retirement Sonnet 4.5 was
    # deprecated and answered, before its deprecation it was active.
    set_today(double, "2026-11-29")
    check(lifecycles(double)[RETIRED] == "deprecated", "Sonnet 4.5 the day before")
    accepted(double, body_for(model=RETIRED))
    set_today(double, "2026-05-28")
    check(lifecycles(double) == {model: "active" for model in ALL_MODELS}, "before any deprecation")


@test
def test_calendar_retires_opus_4_5_on_its_date(double):
    accepted(double, body_for(model=OPUS45))
    set_today(double, "2027-01-22")
    for name in (OPUS45, "claude-opus-4-5"):
        status, info = get_json(double, "/v1/models/" + name)
        check(status == 200 and info["id"] == OPUS45 and info["lifecycle"] == "retired" and
              info["retires_at"] == "2027-01-22T00:00:00Z", "%s: %s" % (name, info))
    check(listed(double) == [m for m in NOT_RETIRED if m != OPUS45], "default list")
    check(listed(double, "?lifecycle=retired") == [OPUS45, RETIRED], "retired list")
    check(listed(double, "?lifecycle[]=deprecated") == [], "none deprecated")
    for name in (OPUS45, "claude-opus-4-5"):
        refused_as_retired(double, name, "2027-01-22")
    refused_as_retired(double, RETIRED, "2026-11-30")


@test
def test_calendar_announcement_deprecates_then_retires_haiku_5_5(double):
    accepted(double, body_for(model=HAIKU))
    info = announce(double, HAIKU, "2026-12-01", "2027-03-01")
    check(info["id"] == HAIKU and info["lifecycle"] == "deprecated" and
          info["deprecated_at"] == "2026-12-01T00:00:00Z" and
          info["retires_at"] == "2027-03-01T00:00:00Z", "announced %s" % info)
    check(get_json(double, "/v1/models/" + HAIKU)[1] == info, "GET serves what was announced")
    check(listed(double, "?lifecycle[]=deprecated") == [HAIKU, OPUS45], "deprecated list")
    check(HAIKU in listed(double), "a deprecated model is listed by default")
    accepted(double, body_for(model=HAIKU))
    set_today(double, "2027-02-28")
    check(lifecycles(double)[HAIKU] == "deprecated", "the day before its retirement")
    accepted(double, body_for(model=HAIKU))
    set_today(double, "2027-03-01")
    check(lifecycles(double)[HAIKU] == "retired", "retired on its date")
    check(HAIKU not in listed(double) and HAIKU in listed(double, "?lifecycle=retired"), "lists")
    refused_as_retired(double, HAIKU, "2027-03-01")
    # An announced date still to come is served; the lifecycle waits for it.
    info = announce(double, SONNET, "2027-06-01", "2027-12-01")
    check(info["lifecycle"] == "active" and info["deprecated_at"] == "2027-06-01T00:00:00Z",
          "future deprecation %s" % info)
    # An alias announces for its model; a retirement may wait (null).
    info = announce(double, "claude-haiku-4-5", "2027-03-01", None)
    check(info["id"] == LEGACY and info["lifecycle"] == "deprecated" and
          info["retires_at"] is None, "alias %s" % info)
    # Null dates withdraw them: the model is back.
    check(announce(double, HAIKU, None, None)["lifecycle"] == "active", "withdrawn")
    accepted(double, body_for(model=HAIKU))


@test
def test_calendar_bad_announcements_and_dates_are_refused(double):
    good = {"id": HAIKU, "deprecated_at": "2026-12-01", "retires_at": "2027-03-01"}

    def without(key):
        return {k: v for k, v in good.items() if k != key}
    for bad in (dict(good, deprecated_at="2026-02-29"), dict(good, retires_at="2027-3-1"),
                dict(good, deprecated_at="2026-12-01T00:00:00Z"), dict(good, retires_at=20270301),
                dict(good, deprecated_at=""), dict(good, retires_at="2027-13-01"),
                dict(good, retires_at="2026-11-30"),     # before its deprecation
                dict(good, deprecated_at=None),          # retires without a deprecation
                dict(good, lifecycle="retired"), without("id"), without("deprecated_at"),
                without("retires_at"), dict(good, id=7), dict(good, id=""), {}, [good]):
        status, answer = double.control("POST", "models", bad)
        check(status == 400 and answer["error"]["type"] == "invalid_request_error",
              "%s → %d %s" % (bad, status, answer))
    for unknown in ("claude-3-opus-20240229", "claude-haiku-5-5-20261007"):
        status, answer = double.control("POST", "models", dict(good, id=unknown))
        check(status == 404 and answer["error"]["type"] == "not_found_error",
              "%s → %d %s" % (unknown, status, answer))
    check(double.control("GET", "models")[0] == 405, "GET /_double/models")
    for bad in ("2026-02-29", "2026-13-01", "2026-12-4", "20261204", "2026-W49-5",
                "2026-12-04T00:00:00Z", " 2026-12-04", "", None, 20261204, ["2026-12-04"]):
        status, answer = double.control("POST", "config", {"today": bad})
        check(status == 400 and answer["error"]["type"] == "invalid_request_error" and
              "today" in answer["error"]["message"], "today %r → %d %s" % (bad, status, answer))
    check(double.control("GET", "config")[1]["today"] == DEFAULT_TODAY, "today unchanged")
    expected = {model: DEFAULT_LIFECYCLES.get(model, "active") for model in ALL_MODELS}
    check(lifecycles(double) == expected, "nothing announced: %s" % lifecycles(double))
    # A model may retire on the day it is deprecated.
    check(announce(double, HAIKU, "2027-01-01", "2027-01-01")["lifecycle"] == "active", "same day")


@test
def test_calendar_reset_restores_the_date_and_forgets_announcements(double):
    before = lifecycles(double)
    infos = {model: get_json(double, "/v1/models/" + model)[1] for model in ALL_MODELS}
    announce(double, HAIKU, "2026-12-01", "2026-12-02")
    announce(double, RETIRED, None, None)
    announce(double, "claude-opus-4-5", "2026-07-22", "2026-12-31")
    check(lifecycles(double)[RETIRED] == "active", "Sonnet 4.5 back until reset")
    accepted(double, body_for(model=RETIRED))
    set_today(double, "2027-06-01")
    check(lifecycles(double) != before, "changed")
    double.control("POST", "reset")
    check(double.control("GET", "config")[1]["today"] == DEFAULT_TODAY, "today reset")
    check(lifecycles(double) == before, "lifecycles %s" % lifecycles(double))
    for model in ALL_MODELS:
        check(get_json(double, "/v1/models/" + model)[1] == infos[model], "%s restored" % model)
    accepted(double, body_for(model=HAIKU))
    refused_as_retired(double, RETIRED, "2026-11-30")


@test
def test_calendar_today_from_the_command_line(double):
    other = Double("--today", "2027-01-22")
    try:
        check(other.control("GET", "config")[1]["today"] == "2027-01-22", "--today")
        check(lifecycles(other)[OPUS45] == "retired", "Opus 4.5 retired on 2027-01-22")
        set_today(other, "2026-01-01")
        other.control("POST", "reset")
        check(other.control("GET", "config")[1]["today"] == "2027-01-22", "reset to --today")
    finally:
        other.stop()
    for bad in ("2027-02-30", "tomorrow"):
        try:
            broken = Double("--today", bad)
        except RuntimeError:
            continue
        broken.stop()
        raise Failure("started with --today %s" % bad)


# (model, thinking types, effort levels, default thinking tokens)
CATALOGUE_RULES = [
    (FABLE, {"adaptive"}, "low medium high xhigh max", 512),
    (OPUS, {"adaptive"}, "low medium high xhigh max", 128),
    (SONNET, {"adaptive", "between_tools"}, "low medium high xhigh max", 512),
    (HAIKU, {"adaptive", "disabled"}, "low medium high xhigh max", 128),
    ("claude-fable-5-1", {"adaptive"}, "low medium high xhigh max", 512),
    ("claude-fable-5", {"adaptive"}, "low medium high xhigh max", 512),
    (OPUS5, {"adaptive", "disabled", "enabled"}, "low medium high xhigh max", 512),
    (SONNET5, {"adaptive", "disabled", "enabled"}, "low medium high xhigh max", 512),
    (LEGACY, {"disabled", "enabled"}, "", 0),
    (OPUS45, {"disabled", "enabled"}, "low medium high", 0),
]


@test
def test_catalogue_capabilities_match_the_rules(double):
    for model, types, efforts, default_tokens in CATALOGUE_RULES:
        _, info = get_json(double, "/v1/models/" + model)
        thinking = info["capabilities"]["thinking"]
        got = {kind for kind, flag in thinking["types"].items() if flag["supported"]}
        check(got == types, "%s thinking %s" % (model, got))
        effort = info["capabilities"]["effort"]
        levels = [level for level in ("low", "medium", "high", "xhigh", "max")
                  if effort[level]["supported"]]
        check(" ".join(levels) == efforts and effort["supported"] == bool(efforts),
              "%s effort %s" % (model, levels))
        check(info["capabilities"]["structured_outputs"]["supported"], "structured outputs")
        # Every type the catalogue lists is accepted; every other one is a 400.
        for kind in ("adaptive", "between_tools", "disabled", "enabled"):
            thinking_param = {"type": kind}
            if kind == "enabled":
                thinking_param["budget_tokens"] = 2048
            body = body_for(model=model, max_tokens=4096, thinking=thinking_param)
            if kind in types:
                accepted(double, body)
            else:
                refused(double, body, '"thinking.type.%s" is not supported for this model.' % kind)
        usage = accepted(double, body_for(model=model))["usage"]
        check(usage["output_tokens_details"]["thinking_tokens"] == default_tokens,
              "%s default thinking %s" % (model, usage))


# ---------------------------------------------------------------------------
# Per-model rules on /v1/messages

@test
def test_aliases_resolve_on_messages(double):
    answer = accepted(double, body_for(model="claude-haiku-4-5"))
    check(answer["model"] == LEGACY, "model %s" % answer["model"])
    double.faults({"kind": "server_error", "match": {"model": "claude-haiku-4-5"}})
    check(double.messages(body_for(model=LEGACY))[0] == 200, "match by alias only")
    check(double.messages(body_for(model="claude-haiku-4-5"))[0] == 500, "alias matched")
    check(double.idle_stats()["by_model"] == {LEGACY: 3}, "stats by id")


@test
def test_max_tokens_per_model(double):
    refused(double, body_for(model=LEGACY, max_tokens=64001), "max_tokens", "64000")
    refused(double, body_for(model=OPUS45, max_tokens=64001), "max_tokens")
    refused(double, body_for(model=SONNET, max_tokens=128001), "max_tokens", "128000")
    accepted(double, body_for(model=LEGACY, max_tokens=64000))
    check(stream(double, body_for(model=SONNET, max_tokens=128000))[0] == 200, "stream 128000")


@test
def test_sampling_parameters_on_2026_10_21(double):
    for name, value in (("temperature", 1.0), ("top_p", 0.99), ("top_k", 5),
                        ("temperature", 0.2)):
        for model in (LEGACY, SONNET, OPUS45):
            message = refused(double, body_for(model=model, **{name: value}), headers=new_api())
            check(message == "%s: Extra inputs are not permitted" % name, message)


@test
def test_sampling_parameters_on_2023_06_01(double):
    for model in (SONNET, HAIKU, FABLE, OPUS5):
        accepted(double, body_for(model=model, temperature=1.0))
        accepted(double, body_for(model=model, temperature=1))
        accepted(double, body_for(model=model, top_p=0.99))
        refused(double, body_for(model=model, temperature=0.7), "temperature")
        refused(double, body_for(model=model, temperature=0), "temperature")
        refused(double, body_for(model=model, top_p=0.9), "top_p")
        refused(double, body_for(model=model, top_k=1), "top_k")
    for model in (LEGACY, OPUS45):
        accepted(double, body_for(model=model, temperature=0.3))
        accepted(double, body_for(model=model, top_p=0.5, top_k=10))
        refused(double, body_for(model=model, temperature=0.3, top_p=0.9), "temperature", "top_p")
    thinking = {"type": "enabled", "budget_tokens": 1024}
    refused(double, body_for(temperature=0.5, thinking=thinking, max_tokens=4096), "temperature")
    refused(double, body_for(top_k=5, thinking=thinking, max_tokens=4096), "top_k")
    refused(double, body_for(top_p=0.9, thinking=thinking, max_tokens=4096), "top_p")
    accepted(double, body_for(temperature=1, thinking=thinking, max_tokens=4096))


@test
def test_forced_tool_choice_per_model(double):
    tools = [{"name": "classify_intent", "input_schema": INTENT_SCHEMA}]
    off = {"type": "disabled"}
    cases = [(SONNET, None, 400), (OPUS, None, 400), (FABLE, None, 400),
             ("claude-fable-5-1", None, 400), ("claude-fable-5", None, 400),
             (HAIKU, None, 400), (HAIKU, off, 200), (HAIKU, {"type": "adaptive"}, 400),
             (OPUS5, None, 400), (OPUS5, off, 200), (SONNET5, None, 400), (SONNET5, off, 200),
             (LEGACY, None, 200), (LEGACY, {"type": "enabled", "budget_tokens": 1024}, 400),
             (OPUS45, None, 200), (OPUS45, off, 200)]
    for model, thinking, expected in cases:
        for choice in ({"type": "any"}, {"type": "tool", "name": "classify_intent"},
                       {"type": "tool", "name": "classify_intent",
                        "disable_parallel_tool_use": True}):
            body = body_for("Let's go with it.", model=model, tools=tools, tool_choice=choice,
                            max_tokens=2048)
            if thinking:
                body["thinking"] = thinking
            if expected == 200:
                answer = accepted(double, body)
                check(blocks_of(answer, "tool_use")[0]["input"]["intent"] == "deciding",
                      "%s answer %s" % (model, answer))
            else:
                refused(double, body, "tool_choice")
    auto = body_for(model=SONNET, tools=tools, tool_choice={"type": "auto"})
    check(accepted(double, auto)["stop_reason"] == "tool_use", "auto is fine on sonnet 5.5")


@test
def test_thinking_config_shape(double):
    bad = [({"type": "enabled"}, "budget_tokens"),
           ({"type": "enabled", "budget_tokens": 1023}, "budget_tokens"),
           ({"type": "enabled", "budget_tokens": "2000"}, "budget_tokens"),
           ({"type": "adaptive", "display": "full"}, "display"),
           ({"type": "adaptive", "budget_tokens": 2000}, "budget_tokens"),
           ({"type": "disabled", "display": "omitted"}, "display"),
           ({"type": "sometimes"}, "thinking.type"),
           ("adaptive", "thinking"), (None, "thinking")]
    for thinking, needle in bad:
        refused(double, body_for(model=SONNET5, thinking=thinking), needle)
    refused(double, body_for(model=SONNET5, max_tokens=2048,
                             thinking={"type": "enabled", "budget_tokens": 2048}),
            "max_tokens", "budget_tokens")
    for display in ("summarized", "omitted", None):
        accepted(double, body_for(model=SONNET5, thinking={"type": "adaptive", "display": display}))
        accepted(double, body_for(model=SONNET5, max_tokens=4096,
                                  thinking={"type": "enabled", "budget_tokens": 2048,
                                            "display": display}))


def effort_body(model, effort, thinking=None, **extra):
    body = body_for(model=model, output_config={"effort": effort}, **extra)
    if thinking:
        body["thinking"] = {"type": thinking}
    return body


@test
def test_effort_levels_per_model(double):
    for model in (SONNET, HAIKU, OPUS, FABLE, OPUS5):
        for level in ("low", "medium", "high", "xhigh", "max"):
            accepted(double, effort_body(model, level))
    refused(double, effort_body(LEGACY, "low"), "output_config.effort", "not supported")
    refused(double, effort_body(LEGACY, "high", "disabled"), "output_config.effort")
    accepted(double, effort_body(OPUS45, "low"))
    for level in ("xhigh", "max"):
        refused(double, effort_body(OPUS45, level), "output_config.effort", level)
    for bad in ("extreme", "", 3):
        refused(double, effort_body(SONNET, bad), "output_config.effort")
    accepted(double, body_for(model=SONNET, output_config={"effort": None}))
    refused(double, body_for(model=SONNET, output_config={"effort": "low", "speed": "x"}),
            "output_config.speed")
    refused(double, body_for(model=SONNET, output_config="low"), "output_config")


@test
def test_thinking_off_limits_effort(double):
    for model, off in ((HAIKU, "disabled"), (SONNET, "between_tools"), (OPUS5, "disabled")):
        for level in ("low", "medium", "high"):
            accepted(double, effort_body(model, level, off))
        for level in ("xhigh", "max"):
            refused(double, effort_body(model, level, off), "output_config.effort", level, off)
        accepted(double, body_for(model=model, thinking={"type": off}))   # default effort
        accepted(double, effort_body(model, "max"))                       # thinking on
    for level in ("xhigh", "max"):
        accepted(double, effort_body(SONNET5, level, "disabled"))


@test
def test_no_assistant_prefill_on_5x(double):
    messages = [{"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "The colour is"}]
    for model in (SONNET, HAIKU, OPUS, FABLE, OPUS5, SONNET5):
        refused(double, dict(body_for(model=model), messages=messages), "prefill")
    for model in (LEGACY, OPUS45):
        answer = accepted(double, dict(body_for(model=model), messages=messages))
        check(answer["content"][0]["text"].startswith('Thinking about "Name a colour."'),
              "prefilled answer %s" % answer["content"])


@test
def test_context_window(double):
    long_text = "word " * 200001
    refused(double, body_for(long_text, model=LEGACY), "prompt is too long", "200000")
    accepted(double, body_for(long_text, model=SONNET, max_tokens=100))


@test
def test_citations_in_user_messages_on_2026_10_21(double):
    block = {"type": "text", "text": "Quoted.", "citations": [
        {"type": "char_location", "cited_text": "x", "document_index": 0,
         "start_char_index": 0, "end_char_index": 1}]}
    body = dict(body_for(), messages=[{"role": "user", "content": [block]}])
    refused(double, body, "citations", headers=new_api())
    accepted(double, body)                          # 2023-06-01
    block["citations"] = []
    accepted(double, body, new_api())


@test
def test_tool_use_and_tool_result_pairing(double):
    tools = [{"name": "lookup", "input_schema": {"type": "object"}}]
    use = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "found it"}
    good = [{"role": "user", "content": "Look it up."},
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]}]
    answer = accepted(double, dict(body_for(tools=tools), messages=good))
    check(answer["content"][-1]["type"] == "text" and answer["stop_reason"] == "end_turn",
          "after a tool result the model answers: %s" % answer["content"])
    missing = good[:2] + [{"role": "user", "content": "Go on."}]
    refused(double, dict(body_for(tools=tools), messages=missing), "toolu_1", "tool_result")
    stray = [{"role": "user", "content": [dict(result, tool_use_id="toolu_9")]}]
    refused(double, dict(body_for(tools=tools), messages=stray), "toolu_9")


# ---------------------------------------------------------------------------
# Structured outputs: output_config.format and strict tools

def schema_body(schema, model=SONNET, text="We will use PostgreSQL. Maybe Redis later!",
                **extra):
    return body_for(text, model=model,
                    output_config={"format": {"type": "json_schema", "schema": schema}}, **extra)


STRICT_INTENT = {
    "type": "object", "title": "classify_intent",
    "properties": {
        "intent": {"type": "string", "enum": ["brainstorming", "deciding", "modifying",
                                              "exploring", "parking", "reviewing",
                                              "development", "general"]},
        "confidence": {"type": "integer", "description": "0 to 100"}},
    "required": ["intent", "confidence"], "additionalProperties": False}

STRICT_RECORDER = {
    "type": "object", "title": "record_changes",
    "$defs": {"state": {"type": "string", "enum": ["decided", "exploring", "parked"]}},
    "properties": {"changes": {"type": "array", "minItems": 0, "items": {
        "type": "object",
        "properties": {"action": {"const": "add"}, "text": {"type": "string"},
                       "state": {"$ref": "#/$defs/state", "description": "where it goes"},
                       "user_quote": {"type": "string"}, "when": {"type": ["string", "null"],
                                                               "format": "date"},
                       "either": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                       "extra": {"allOf": [{"type": "object", "properties": {},
                                            "additionalProperties": False}]}},
        "required": ["action", "text", "state", "user_quote"],
        "additionalProperties": False}}},
    "required": ["changes"], "additionalProperties": False}


@test
def test_json_schema_answer(double):
    answer = accepted(double, schema_body(STRICT_INTENT))
    check([b["type"] for b in answer["content"]] == ["thinking", "text"], "blocks %s"
          % answer["content"])
    check(answer["stop_reason"] == "end_turn", "stop_reason %s" % answer["stop_reason"])
    value = json.loads(blocks_of(answer, "text")[0]["text"])
    check(value["intent"] == "deciding" and 60 <= value["confidence"] <= 95, "value %s" % value)
    check(not schema_errors(value, STRICT_INTENT), "valid")
    answer = accepted(double, schema_body(STRICT_RECORDER))
    value = json.loads(blocks_of(answer, "text")[0]["text"])
    check(not schema_errors(value, STRICT_RECORDER), "valid %s" % schema_errors(value, STRICT_RECORDER))
    check([(c["user_quote"], c["state"]) for c in value["changes"]] ==
          [("We will use PostgreSQL.", "decided"), ("Maybe Redis later!", "parked")],
          "recorder %s" % value)
    text = json.loads(double.messages(schema_body(STRICT_RECORDER, model=LEGACY))[2])
    check(text["content"][0]["type"] == "text" and json.loads(text["content"][0]["text"]) == value,
          "same JSON on another model")
    stats = double.idle_stats()
    check(stats["by_tool"] == {"classify_intent": 1, "record_changes": 2}, "labels %s"
          % stats["by_tool"])
    untitled = dict(STRICT_INTENT)
    del untitled["title"]
    accepted(double, schema_body(untitled))
    check(double.idle_stats()["by_tool"].get("text") == 1, "no title: text")


@test
def test_json_schema_stream_is_text_deltas(double):
    body = schema_body(STRICT_RECORDER, model=HAIKU)
    expected = blocks_of(accepted(double, body), "text")[0]["text"]
    status, _, events = stream(double, body)
    check(status == 200, "status %d" % status)
    check_event_sequence(events)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    check(starts == [{"type": "thinking", "thinking": "", "signature": ""},
                     {"type": "text", "text": ""}], "starts %s" % starts)
    pieces = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 1]
    check(all(p["type"] == "text_delta" for p in pieces), "text deltas")
    check("".join(p["text"] for p in pieces) == expected, "reassembles")


@test
def test_json_schema_labels_for_faults(double):
    text = "We will break only the intent. [fault:server_error] [fault-agent:classify_intent]"
    check(double.messages(schema_body(STRICT_INTENT, text=text))[0] == 500, "classify fails")
    check(double.messages(schema_body(STRICT_RECORDER, text=text))[0] == 200, "recorder fine")
    check(double.messages(body_for(text, model=SONNET))[0] == 200, "text fine")
    double.faults({"kind": "overloaded", "match": {"tool": "record_changes"}})
    check(double.messages(schema_body(STRICT_INTENT))[0] == 200, "intent not matched")
    check(double.messages(schema_body(STRICT_RECORDER))[0] == 529, "record_changes matched")


@test
def test_json_schema_cut_by_max_tokens(double):
    body = schema_body(STRICT_RECORDER, model=HAIKU, max_tokens=128 + 5,
                       thinking={"type": "adaptive"})
    answer = accepted(double, body)
    check(answer["stop_reason"] == "max_tokens", "stop %s" % answer["stop_reason"])
    text = blocks_of(answer, "text")[0]["text"]
    check(len(text) == 20 and answer["usage"]["output_tokens"] == 133, "cut %r %s"
          % (text, answer["usage"]))
    try:
        json.loads(text)
        raise Failure("cut JSON parsed")
    except ValueError:
        pass


BAD_SCHEMAS = [
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}},
      "additionalProperties": False}, "properties.n.minimum"),
    ({"type": "object", "properties": {"n": {"type": "number", "maximum": 5}},
      "additionalProperties": False}, "properties.n.maximum"),
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 1}},
      "additionalProperties": False}, "properties.s.minLength"),
    ({"type": "object", "properties": {"s": {"type": "string", "maxLength": 9}},
      "additionalProperties": False}, "properties.s.maxLength"),
    ({"type": "object", "properties": {"s": {"type": "string", "pattern": "^a"}},
      "additionalProperties": False}, "properties.s.pattern"),
    ({"type": "object", "properties": {"a": {"type": "array", "maxItems": 3}},
      "additionalProperties": False}, "properties.a.maxItems"),
    ({"type": "object", "properties": {"a": {"type": "array", "minItems": 2}},
      "additionalProperties": False}, "properties.a.minItems"),
    ({"type": "object", "properties": {"a": {"type": "array", "uniqueItems": True}},
      "additionalProperties": False}, "properties.a.uniqueItems"),
    ({"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}},
      "additionalProperties": False}, "properties.x.oneOf"),
    ({"type": "object", "properties": {}}, "additionalProperties"),
    ({"type": "object", "properties": {}, "additionalProperties": True}, "additionalProperties"),
    ({"type": "object", "properties": {"o": {"type": "object", "properties": {}}},
      "additionalProperties": False}, "properties.o.additionalProperties"),
    ({"type": "object", "properties": {"s": {"type": "string", "format": "binary"}},
      "additionalProperties": False}, "properties.s.format"),
    ({"type": "object", "properties": {"s": {"type": "string", "default": "x"}},
      "additionalProperties": False}, "properties.s.default"),
    ({"type": "object", "properties": {"e": {"enum": [{"a": 1}]}},
      "additionalProperties": False}, "properties.e.enum"),
    ({"type": "object", "properties": {"r": {"$ref": "#/definitions/x"}},
      "definitions": {"x": {"type": "string"}}, "additionalProperties": False}, "definitions"),
    ({"type": "object", "properties": {"r": {"$ref": "#/$defs/missing"}},
      "additionalProperties": False}, "properties.r.$ref"),
    ({"type": "object", "$defs": {"n": {"type": "object", "properties": {
        "next": {"$ref": "#/$defs/n"}}, "additionalProperties": False}},
      "properties": {"r": {"$ref": "#/$defs/n"}}, "additionalProperties": False}, "recursive"),
    ({"type": "object", "properties": {"x": {"description": "no type"}},
      "additionalProperties": False}, "properties.x"),
    ({"type": "object", "properties": {"x": {"type": "date"}},
      "additionalProperties": False}, "properties.x.type"),
    ({"type": "object", "$schema": "https://json-schema.org/draft/2020-12/schema",
      "properties": {}, "additionalProperties": False}, "$schema"),
    ({"type": "string"}, "type"),
]


@test
def test_structured_output_schema_subset(double):
    for schema, needle in BAD_SCHEMAS:
        message = refused(double, schema_body(schema), needle)
        check("output_config.format.schema" in message, "path in %r" % message)
    tool = {"name": "record_changes", "strict": True, "input_schema": BAD_SCHEMAS[0][0]}
    refused(double, body_for(model=SONNET, tools=[tool]), "tools.0.input_schema.properties.n")
    tool["strict"] = "yes"
    refused(double, body_for(model=SONNET, tools=[tool]), "tools.0.strict")
    tool["strict"] = False
    accepted(double, body_for(model=SONNET, tools=[tool]))    # not strict: any schema
    accepted(double, body_for(model=SONNET, tools=[dict(tool, strict=True,
                                                        input_schema=STRICT_RECORDER)]))
    for bad in ({"type": "json"}, {"type": "json_schema"}, {"type": "json_schema", "schema": 5},
                {"type": "json_schema", "schema": STRICT_INTENT, "strict": True}, "json"):
        refused(double, body_for(model=SONNET, output_config={"format": bad}),
                "output_config.format")
    accepted(double, body_for(model=SONNET, output_config={"format": None}))
    refused(double, dict(body_for(model=SONNET), output_format={"type": "json_schema"}),
            "output_format")


@test
def test_structured_outputs_need_the_capability(double):
    """No catalogue model lacks structured outputs, so this checks the rule
    in-process, with a made-up model."""
    sys.path.insert(0, os.path.dirname(DOUBLE))
    import claude_double
    import dataclasses
    spec = dataclasses.replace(claude_double.MODELS_BY_NAME[SONNET], id="claude-test-no-so",
                               structured_outputs=False)
    claude_double.MODELS_BY_NAME[spec.id] = spec
    catalogue = claude_double.Catalogue(DEFAULT_TODAY, {})
    try:
        for body, needle in ((schema_body(STRICT_INTENT, model=spec.id), "output_config.format"),
                             (body_for(model=spec.id, tools=[{
                                 "name": "t", "strict": True, "input_schema": STRICT_INTENT}]),
                              "tools.0.strict")):
            try:
                claude_double.validate_messages_request(body, "2023-06-01", catalogue)
                raise Failure("accepted %s" % needle)
            except claude_double.ApiError as error:
                check(error.status == 400 and needle in error.message, error.message)
        claude_double.validate_messages_request(body_for(model=spec.id), "2023-06-01",
                                                catalogue)
    finally:
        del claude_double.MODELS_BY_NAME[spec.id]


# ---------------------------------------------------------------------------
# Thinking blocks

@test
def test_thinking_blocks_and_tokens_by_effort(double):
    for model, effort, tokens in ((SONNET, None, 512), (HAIKU, None, 128), (OPUS, None, 128),
                                  (SONNET, "low", 32), (SONNET, "medium", 128),
                                  (SONNET, "xhigh", 1024), (SONNET, "max", 2048)):
        body = body_for(model=model, max_tokens=4096)
        if effort:
            body["output_config"] = {"effort": effort}
        answer = accepted(double, body)
        thinking = answer["content"][0]
        check(thinking["type"] == "thinking" and thinking["thinking"] == "" and
              thinking["signature"], "thinking block %s" % thinking)
        text = answer["content"][1]["text"]
        usage = answer["usage"]
        check(usage["output_tokens_details"] == {"thinking_tokens": tokens} and
              usage["output_tokens"] == tokens + len(text.split()), "%s %s: %s"
              % (model, effort, usage))
    answer = accepted(double, body_for(max_tokens=4096,
                                       thinking={"type": "enabled", "budget_tokens": 2000}))
    check(answer["content"][0]["type"] == "thinking" and
          answer["usage"]["output_tokens_details"]["thinking_tokens"] == 512, "enabled")
    answer = accepted(double, body_for(model=LEGACY, max_tokens=4096,
                                       thinking={"type": "enabled", "budget_tokens": 1024}))
    check(answer["usage"]["output_tokens_details"]["thinking_tokens"] == 512, "min(budget, 512)")
    for model, off in ((HAIKU, "disabled"), (SONNET, "between_tools"), (LEGACY, None)):
        body = body_for(model=model)
        if off:
            body["thinking"] = {"type": off}
        answer = accepted(double, body)
        check([b["type"] for b in answer["content"]] == ["text"] and
              answer["usage"]["output_tokens_details"]["thinking_tokens"] == 0,
              "%s %s: %s" % (model, off, answer["content"]))


@test
def test_thinking_display_summarized(double):
    body = body_for("Pick a database.", model=SONNET,
                    thinking={"type": "adaptive", "display": "summarized"})
    first, second = accepted(double, body), accepted(double, body)
    thinking = first["content"][0]["thinking"]
    check(thinking.startswith('About "Pick a database."') and "high effort" in thinking,
          "summary %r" % thinking)
    check(first["content"] == second["content"], "deterministic")
    omitted = accepted(double, dict(body, thinking={"type": "adaptive", "display": "omitted"}))
    check(omitted["content"][0]["thinking"] == "", "omitted")
    check(omitted["usage"]["output_tokens"] == first["usage"]["output_tokens"], "same tokens")


@test
def test_thinking_stream_events(double):
    for display in ("summarized", "omitted"):
        body = body_for("Stream the thinking.", model=SONNET,
                        thinking={"type": "adaptive", "display": display})
        expected = accepted(double, body)
        status, _, events = stream(double, body)
        check(status == 200, "status %d" % status)
        check_event_sequence(events)
        names = [n for n, _ in events if n != "ping"]
        start = [d for n, d in events if n == "content_block_start"][0]
        check(start["content_block"] == {"type": "thinking", "thinking": "", "signature": ""},
              "thinking start %s" % start)
        deltas = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
        kinds = [d["type"] for d in deltas]
        if display == "omitted":
            check(kinds == ["signature_delta"], "omitted: only the signature %s" % kinds)
        else:
            check(kinds[-1] == "signature_delta" and len(kinds) > 1 and
                  set(kinds[:-1]) == {"thinking_delta"}, "summarized %s" % kinds)
        check(names[names.index("content_block_stop") - 1] == "content_block_delta",
              "signature just before stop")
        thinking = "".join(d.get("thinking", "") for d in deltas)
        check(thinking == expected["content"][0]["thinking"] and
              deltas[-1]["signature"] == expected["content"][0]["signature"], "same block")
        final = [d for n, d in events if n == "message_delta"][0]
        check(final["usage"]["output_tokens_details"] == {"thinking_tokens": 512} and
              final["usage"]["output_tokens"] == expected["usage"]["output_tokens"],
              "usage %s" % final["usage"])


@test
def test_thinking_counts_toward_max_tokens(double):
    answer = accepted(double, body_for("Cut me short.", model=SONNET, max_tokens=520))
    check(answer["stop_reason"] == "max_tokens" and answer["usage"]["output_tokens"] == 520,
          "stop %s %s" % (answer["stop_reason"], answer["usage"]))
    check(len(answer["content"][1]["text"].split()) == 8, "8 words left")
    answer = accepted(double, body_for("No room at all.", model=SONNET, max_tokens=100))
    check([b["type"] for b in answer["content"]] == ["thinking"] and
          answer["stop_reason"] == "max_tokens" and answer["usage"]["output_tokens"] == 100 and
          answer["usage"]["output_tokens_details"]["thinking_tokens"] == 100,
          "only thinking %s" % answer)
    status, _, events = stream(double, body_for("No room at all.", model=SONNET, max_tokens=100))
    check(status == 200 and [d["content_block"]["type"] for n, d in events
                             if n == "content_block_start"] == ["thinking"], "stream too")
    tools = [{"name": "recorder", "input_schema": RECORDER_SCHEMA}]
    answer = accepted(double, body_for("We will ship it.", model=HAIKU, max_tokens=130, tools=tools,
                                       tool_choice={"type": "auto"}))
    check(answer["stop_reason"] == "max_tokens" and answer["content"][1]["input"] == {},
          "tool cut %s" % answer)


@test
def test_redacted_thinking_directive(double):
    body = body_for("[redacted-thinking] Keep it secret.", model=SONNET)
    answer = accepted(double, body)
    block = answer["content"][0]
    check(set(block) == {"type", "data"} and block["type"] == "redacted_thinking" and
          block["data"], "redacted %s" % block)
    check(answer["content"][1]["text"].startswith('Thinking about "Keep it secret."'),
          "directive removed from the text")
    _, _, events = stream(double, body)
    check_event_sequence(events)
    start = [d for n, d in events if n == "content_block_start"][0]
    check(start["content_block"] == block, "streamed whole")
    check(not [d for n, d in events if n == "content_block_delta" and d["index"] == 0],
          "no deltas")
    plain = accepted(double, body_for("[redacted-thinking] Keep it secret."))   # no thinking
    check([b["type"] for b in plain["content"]] == ["text"], "ignored without thinking")


@test
def test_thinking_blocks_sent_back_must_be_unchanged(double):
    first = accepted(double, body_for("First question.", model=SONNET,
                                      thinking={"type": "adaptive", "display": "summarized"}))
    redacted = accepted(double, body_for("[redacted-thinking] Hidden.", model=SONNET))

    def follow_up(assistant_content):
        return dict(body_for(model=SONNET), messages=[
            {"role": "user", "content": "First question."},
            {"role": "assistant", "content": assistant_content},
            {"role": "user", "content": "And then?"}])
    accepted(double, follow_up(first["content"]))
    accepted(double, follow_up(redacted["content"]))
    edited = json.loads(json.dumps(first["content"]))
    edited[0]["thinking"] += " (edited)"
    refused(double, follow_up(edited), "signature")
    forged = json.loads(json.dumps(first["content"]))
    forged[0]["signature"] = "c2lnbmF0dXJl"
    refused(double, follow_up(forged), "signature")
    bogus = [{"type": "redacted_thinking", "data": "bm90IG91cnM="}] + first["content"][1:]
    refused(double, follow_up(bogus), "data")
    wrong_role = dict(body_for(model=SONNET), messages=[{"role": "user",
                                                         "content": first["content"][:1]}])
    refused(double, wrong_role, "thinking")


# ---------------------------------------------------------------------------
# Usage: cache writes by ttl

@test
def test_cache_creation_by_ttl(double):
    usage = accepted(double, cached_body(600, ttl="1h"))["usage"]
    check(usage["cache_creation"] == {"ephemeral_5m_input_tokens": 0,
                                      "ephemeral_1h_input_tokens": 600}, "1h %s" % usage)
    usage = accepted(double, cached_body(600, ttl="1h"))["usage"]
    check(usage["cache_read_input_tokens"] == 600 and
          usage["cache_creation"]["ephemeral_1h_input_tokens"] == 0, "read %s" % usage)
    usage = accepted(double, cached_body(700, ttl="5m"))["usage"]
    check(usage["cache_creation"] == {"ephemeral_5m_input_tokens": 700,
                                      "ephemeral_1h_input_tokens": 0}, "5m %s" % usage)
    body = body_for(model=SONNET, system=[
        {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "b", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
    refused(double, body, "ttl")
    body["system"].reverse()
    accepted(double, body)


# ---------------------------------------------------------------------------
# Faults: stop reasons, the new HTTP errors, retry headers

@test
def test_fault_refusal(double):
    double.faults({"kind": "refusal"})
    answer = accepted(double, body_for("Tell me something."))
    check(answer["stop_reason"] == "refusal" and answer["content"] == [], "refusal %s" % answer)
    details = answer["stop_details"]
    check(set(details) == {"type", "category", "explanation"} and details["type"] == "refusal"
          and details["category"] == "cyber" and details["explanation"], "details %s" % details)
    double.faults({"kind": "refusal"})
    status, _, events = stream(double, body_for("Tell me something longer, please.", model=SONNET))
    check(status == 200, "status %d" % status)
    check_event_sequence(events)
    text = "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")
    check(0 < len(text.split()) < 12, "partial text %r" % text)
    final = [d for n, d in events if n == "message_delta"][0]
    check(final["delta"]["stop_reason"] == "refusal" and final["delta"]["stop_details"] == details,
          "final %s" % final)
    answer = accepted(double, body_for("[fault:refusal] Directive refusal.", model=SONNET))
    check(answer["stop_reason"] == "refusal" and
          [b["type"] for b in answer["content"]] == ["thinking"], "directive %s" % answer)


@test
def test_fault_context_exceeded_and_pause_turn(double):
    full = accepted(double, body_for("How long is this?"))
    double.faults({"kind": "context_exceeded"}, {"kind": "pause_turn"})
    answer = accepted(double, body_for("How long is this?"))
    check(answer["stop_reason"] == "model_context_window_exceeded", "stop %s" % answer)
    words = len(answer["content"][0]["text"].split())
    check(words == len(full["content"][0]["text"].split()) // 2, "half the answer: %d" % words)
    answer = accepted(double, body_for("How long is this?"))
    check(answer["stop_reason"] == "pause_turn" and answer["content"] == [], "pause %s" % answer)
    status, _, events = stream(double, body_for("[fault:pause_turn] Pause.", model=SONNET))
    final = [d for n, d in events if n == "message_delta"][0]
    check(final["delta"]["stop_reason"] == "pause_turn", "streamed pause %s" % final)
    stats = double.idle_stats()
    check(stats["faults_injected"] == {"context_exceeded": 1, "pause_turn": 2}, "stats %s" % stats)


@test
def test_fault_new_http_errors(double):
    expected = [("payment_required", 402, "billing_error", "false"),
                ("request_timeout", 408, "timeout_error", "true"),
                ("conflict", 409, "conflict_error", "true"),
                ("timeout", 504, "timeout_error", "true"),
                ("spend_cap", 429, "rate_limit_error", "false"),
                ("bad_request", 400, "invalid_request_error", "false"),
                ("overloaded", 529, "overloaded_error", "true")]
    double.faults(*[{"kind": kind} for kind, _, _, _ in expected])
    for kind, status_wanted, type_wanted, retry in expected:
        status, headers, payload = double.messages(body_for())
        check(status == status_wanted and error_type(payload) == type_wanted,
              "%s: %d %s" % (kind, status, payload))
        check(headers.get("x-should-retry") == retry, "%s x-should-retry %s"
              % (kind, headers.get("x-should-retry")))
        error = json.loads(payload)["error"]
        if kind == "spend_cap":
            check(error["details"] == {"error_code": "enforced_spend_limit_reached"}, "details")
            check("retry-after" not in headers and "retry-after-ms" not in headers, "no wait")
        else:
            check("details" not in error, "%s: no details" % kind)
    text = "[fault:spend_cap] Over budget."
    status, headers, payload = double.messages(body_for(text))
    check(status == 429 and headers["x-should-retry"] == "false", "directive spend_cap")


@test
def test_fault_retry_headers(double):
    double.faults({"kind": "server_error", "x_should_retry": False},
                  {"kind": "bad_request", "x_should_retry": True},
                  {"kind": "rate_limit", "retry_after_ms": 10, "retry_after": 2},
                  {"kind": "overloaded", "retry_after_ms": 25},
                  {"kind": "malformed", "x_should_retry": False})
    status, headers, _ = double.messages(body_for())
    check(status == 500 and headers["x-should-retry"] == "false", "500 not retried")
    status, headers, _ = double.messages(body_for())
    check(status == 400 and headers["x-should-retry"] == "true", "400 retried")
    status, headers, _ = double.messages(body_for())
    check(status == 429 and headers["retry-after-ms"] == "10" and headers["retry-after"] == "2",
          "waits %s" % headers)
    status, headers, _ = double.messages(body_for())
    check(status == 529 and headers["retry-after-ms"] == "25" and "retry-after" not in headers,
          "529 wait %s" % headers)
    status, headers, _ = double.messages(body_for())
    check(status == 200 and headers.get("x-should-retry") == "false", "on a 200 too")
    status, headers, _ = double.messages(body_for())
    check(status == 200 and "x-should-retry" not in headers, "a plain answer has none")
    for bad in ({"kind": "overloaded", "x_should_retry": "no"},
                {"kind": "overloaded", "retry_after_ms": -1},
                {"kind": "overloaded", "retry_after_ms": 1.5}):
        status, answer = double.control("POST", "faults", {"faults": [bad]})
        check(status == 400, "%s → %d" % (bad, status))


# ---------------------------------------------------------------------------

def main(argv):
    selected = [t for t in TESTS if not argv[1:] or any(a in t.__name__ for a in argv[1:])]
    double = Double("--api-key", API_KEY)
    passed = failed = 0
    try:
        for function in selected:
            double.idle_stats()
            double.control("POST", "reset")
            double.control("POST", "config", {"latency_ms": 0, "token_delay_ms": 0})
            try:
                function(double)
                passed += 1
                print("PASS %s" % function.__name__, flush=True)
            except Exception as exc:  # a failing test must not stop the others
                failed += 1
                detail = str(exc) if isinstance(exc, Failure) else traceback.format_exc()
                print("FAIL %s: %s" % (function.__name__, detail), flush=True)
    finally:
        double.stop()
    errors = double.errors()
    if errors:
        failed += 1
        print("FAIL the double wrote to stderr:\n%s" % errors, flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
