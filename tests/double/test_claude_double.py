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
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"


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


def body_for(text="Hello there, let us talk about the plan.", model=SONNET, max_tokens=1024,
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
    check(answer.get("type") == "error" and set(answer) == {"type", "error"},
          "not an error body: %s" % answer)
    check(set(answer["error"]) == {"type", "message"}, "error fields: %s" % answer)
    check(isinstance(answer["error"]["message"], str) and answer["error"]["message"], "message")
    return answer["error"]["type"]


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
        other = Double("--port-file", port_file, "--latency-ms", "7", "--token-delay-ms", "3")
        try:
            with open(port_file, encoding="ascii") as handle:
                check(int(handle.read().strip()) == other.port, "port file differs")
            status, config = other.control("GET", "config")
            check(status == 200 and config == {"latency_ms": 7, "token_delay_ms": 3},
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
                    stop_sequences=["\n\nHuman:"], top_p=0.9, top_k=5)
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
    status, _, payload = double.messages(body_for(model="gpt-4"))
    check(status == 404 and error_type(payload) == "not_found_error", "status %d" % status)


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
def test_non_stream_text_answer(double):
    text = "We need a name for the product and a landing page."
    status, _, payload = double.messages(body_for(text))
    check(status == 200, "status %d" % status)
    answer = json.loads(payload)
    check(set(answer) == {"id", "type", "role", "model", "content", "stop_reason",
                          "stop_sequence", "usage"}, "fields %s" % sorted(answer))
    check(answer["id"].startswith("msg_") and answer["type"] == "message", "id/type")
    check(answer["role"] == "assistant" and answer["model"] == SONNET, "role/model")
    check(answer["stop_reason"] == "end_turn" and answer["stop_sequence"] is None, "stop")
    check(len(answer["content"]) == 1 and answer["content"][0]["type"] == "text", "content")
    reply = answer["content"][0]["text"]
    check(reply.startswith('Thinking about "%s": ' % text), "reply: %s" % reply)
    check(40 <= len(reply.split()) <= 80, "reply has %d words" % len(reply.split()))
    usage = answer["usage"]
    check(set(usage) == {"input_tokens", "output_tokens", "cache_creation_input_tokens",
                         "cache_read_input_tokens"}, "usage fields")
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
    for choice in ({"type": "auto"}, {"type": "none"}, None):
        body = body_for(tools=tools, tool_choice=choice) if choice else body_for(tools=tools)
        answer = json.loads(double.messages(body)[2])
        check(answer["content"][0]["type"] == "text", "%s answers text" % choice)
    check(double.stats()["by_tool"] == {"first_tool": 1, "text": 3}, "by_tool")


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
    check(final["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}, "message_delta")
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

def cached_body(words, model=SONNET, text="Hello", cache=True):
    block = {"type": "text", "text": " ".join("rule%d" % i for i in range(words))}
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
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
    for body, label in ((cached_body(500), "short prefix"),
                        (cached_body(1500, model=HAIKU), "haiku under 2048"),
                        (cached_body(1500, cache=False), "no cache_control")):
        for _ in range(2):
            usage = json.loads(double.messages(body)[2])["usage"]
            check(usage["cache_creation_input_tokens"] == 0 == usage["cache_read_input_tokens"],
                  "%s: %s" % (label, usage))
    usage = json.loads(double.messages(cached_body(2100, model=HAIKU))[2])["usage"]
    check(usage["cache_creation_input_tokens"] == 2100, "haiku over 2048: %s" % usage)


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
def test_stats_counts(double):
    double.messages(body_for())
    double.messages(body_for(model=HAIKU))
    double.messages(tool_body("recorder", RECORDER_SCHEMA, "We will count."))
    double.messages(body_for(max_tokens=0))
    stats = double.idle_stats()
    check(stats["requests"] == 4, "requests %s" % stats)
    check(stats["by_model"] == {SONNET: 2, HAIKU: 1}, "by_model %s" % stats["by_model"])
    check(stats["by_tool"] == {"text": 2, "recorder": 1}, "by_tool %s" % stats["by_tool"])
    # A thread finishes its bookkeeping just after the client has its answer,
    # so even sequential requests may briefly overlap: no exact max_in_flight.
    check(stats["max_in_flight"] >= 1 and stats["faults_pending"] == 0, "stats %s" % stats)
    check(stats["by_status"] == {"200": 3, "400": 1}, "by_status %s" % stats["by_status"])
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
          and stats["by_tool"] == {} and stats["max_in_flight"] == 0, "stats %s" % stats)
    status, _, payload = double.messages(body)
    usage = json.loads(payload)["usage"]
    check(status == 200, "fault cleared")
    check(usage["cache_creation_input_tokens"] == 1100, "cache forgotten: %s" % usage)


@test
def test_config_endpoint(double):
    status, config = double.control("POST", "config", {"latency_ms": 5, "token_delay_ms": 2})
    check(status == 200 and config == {"latency_ms": 5, "token_delay_ms": 2}, "set %s" % config)
    status, config = double.control("GET", "config")
    check(config == {"latency_ms": 5, "token_delay_ms": 2}, "get %s" % config)
    _, _, events = stream(double, body_for("Paced stream."))
    check(events[-1][0] == "message_stop", "paced stream completes")
    for bad in ({"latency_ms": -1}, {"token_delay_ms": "3"}, {"speed": 1}):
        status, answer = double.control("POST", "config", bad)
        check(status == 400, "%s → %d" % (bad, status))
    check(double.control("GET", "config")[1] == {"latency_ms": 5, "token_delay_ms": 2},
          "bad config changed nothing")


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
