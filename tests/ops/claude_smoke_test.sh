#!/usr/bin/env bash
# script/claude-smoke: it passes shellcheck --severity=warning; without a
# key it prints the skip line and exits 0; against a small stub of the
# Claude API (below, on a loopback port) it reads every configured model's
# ModelInfo, shapes both calls from the capabilities (between_tools or
# adaptive thinking with effort low for the stream, output_config json_schema
# with thinking disabled for the structured answer, never a sampling
# parameter), sends the key as the API version wants it, and fails with the
# API's error type and message, never the key, on a retired or unknown
# model, a spend-limit 429 and an answer that does not follow the schema.
# Last, when tools/claude-double serves /v1/models, the script runs against
# the double too (skipped otherwise).
#
#   tests/ops/claude_smoke_test.sh
#
# Needs curl and python3; shellcheck for its check (skipped without).
# Prints "N passed, N failed[, N skipped]" last; exits non-zero on any
# failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SMOKE=$ROOT/script/claude-smoke
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in curl python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "tool $tool" "$tool is not installed (script/bootstrap installs it)"
done
[ -x "$SMOKE" ] || fail "script/claude-smoke exists" "no executable $SMOKE"
[ "$failed" -eq 0 ] || finish

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-ops-smoke.XXXXXX")
STUB_PID=
DOUBLE_PID=
cleanup() {
	[ -n "$STUB_PID" ] && kill "$STUB_PID" 2>/dev/null
	[ -n "$DOUBLE_PID" ] && kill "$DOUBLE_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

KEY=sk-ant-test-$RANDOM$RANDOM-do-not-print

if command -v shellcheck >/dev/null 2>&1; then
	check "shellcheck --severity=warning script/claude-smoke" \
		shellcheck --severity=warning "$SMOKE"
else
	skip "shellcheck script/claude-smoke" "shellcheck is not installed"
fi

# ---- no key, help, usage ---------------------------------------------------

skips_without_key() {
	local out rc=0
	out=$(env -u CLAUDE_API_KEY CLAUDE_BASE_URL=http://127.0.0.1:9 "$SMOKE" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	[ "$out" = "skipped: CLAUDE_API_KEY is not set" ] || { echo "printed: $out"; return 1; }
	out=$(CLAUDE_API_KEY='' "$SMOKE" 2>&1) || { echo "empty key: exit $?"; return 1; }
	[ "$out" = "skipped: CLAUDE_API_KEY is not set" ] || { echo "empty key printed: $out"; return 1; }
}
check "without CLAUDE_API_KEY: the skip line, exit 0" skips_without_key

help_and_usage() {
	local rc=0
	"$SMOKE" --help | grep -q 'CLAUDE_API_VERSION' || { echo "--help names no CLAUDE_API_VERSION"; return 1; }
	"$SMOKE" --no-such-option >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || { echo "an unknown option exits $rc, not 2"; return 1; }
}
check "--help, and exit 2 on an unknown option" help_and_usage

# ---- a stub of the Claude API ----------------------------------------------

# Models with the ModelInfo shape of the real API; requests are checked
# the way the API refuses them (auth header per version, sampling
# parameters, thinking types and effort levels the model lacks, a schema
# object without additionalProperties false) and logged to requests.jsonl.
cat >"$TMP/stub.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_path, key = sys.argv[1:4]
EFFORTS = ("low", "medium", "high", "xhigh", "max")

def sup(flag):
    return {"supported": flag}

def model(id, lifecycle="active", retires=None, types=("adaptive",), efforts=EFFORTS,
          structured=True):
    return {
        "type": "model", "id": id, "display_name": id, "created_at": "2026-10-07T00:00:00Z",
        "lifecycle": lifecycle, "deprecated_at": None if lifecycle == "active" else "2026-06-01T00:00:00Z",
        "retires_at": retires, "line": None, "max_input_tokens": 1000000, "max_tokens": 128000,
        "capabilities": {
            "structured_outputs": sup(structured),
            "thinking": {"supported": True, "types": {t: sup(t in types) for t in
                         ("adaptive", "between_tools", "disabled", "enabled")}},
            "effort": dict({"supported": bool(efforts)}, **{e: sup(e in efforts) for e in EFFORTS}),
        },
    }

MODELS = {m["id"]: m for m in (
    model("claude-sonnet-5-5", types=("adaptive", "between_tools")),
    model("claude-haiku-5-5", types=("adaptive", "disabled")),
    model("claude-opus-5-5"),
    model("claude-fable-5-2"),
    model("claude-opus-4-5-20251101", "deprecated", "2027-01-22T00:00:00Z",
          types=("adaptive", "enabled", "disabled")),
    model("claude-sonnet-4-5-20250929", "retired", "2026-11-30T00:00:00Z",
          types=("enabled", "disabled")),
    model("claude-spent-5", types=("adaptive", "disabled")),
    model("claude-sloppy-5", types=("adaptive", "disabled")),
    model("claude-flaky-5", types=("adaptive",)),
)}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body, extra=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", "req_stub")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, kind, message, code=None):
        err = {"type": kind, "message": message}
        if code:
            err["details"] = {"error_code": code}
        self.send_json(status, {"type": "error", "error": err, "request_id": "req_stub"})

    def authorised(self, body):
        version = self.headers.get("anthropic-version", "")
        bearer = self.headers.get("authorization", "")
        xkey = self.headers.get("x-api-key", "")
        with open(log_path, "a") as log:
            log.write(json.dumps({"path": self.path, "version": version,
                                  "bearer": bearer == "Bearer " + key, "x_api_key": xkey == key,
                                  "body": body}) + "\n")
        if version == "2026-10-21" and bearer == "Bearer " + key and not xkey:
            return True
        if version == "2023-06-01" and xkey == key and not bearer:
            return True
        self.error(401, "authentication_error", "invalid credentials for this version")
        return False

    def do_GET(self):
        if not self.authorised(None):
            return
        prefix = "/v1/models/"
        m = MODELS.get(self.path[len(prefix):]) if self.path.startswith(prefix) else None
        if m is None:
            return self.error(404, "not_found_error", "model: " + self.path[len(prefix):])
        self.send_json(200, m)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        body = json.loads(raw)
        if not self.authorised(body):
            return
        m = MODELS.get(body.get("model"))
        if self.path != "/v1/messages" or m is None:
            return self.error(404, "not_found_error", "model: %s" % body.get("model"))
        if m["lifecycle"] == "retired":
            return self.error(404, "not_found_error", "model retired: " + m["id"])
        if m["id"] == "claude-spent-5":
            return self.error(429, "rate_limit_error", "Your organization has reached its spend limit.",
                              "enforced_spend_limit_reached")
        for p in ("temperature", "top_p", "top_k"):
            if p in body:
                return self.error(400, "invalid_request_error", p + ": Extra inputs are not permitted")
        caps = m["capabilities"]
        thinking = (body.get("thinking") or {}).get("type")
        if thinking and not caps["thinking"]["types"][thinking]["supported"]:
            return self.error(400, "invalid_request_error",
                              '"thinking.type.%s" is not supported for this model.' % thinking)
        oc = body.get("output_config") or {}
        if "effort" in oc and not caps["effort"][oc["effort"]]["supported"]:
            return self.error(400, "invalid_request_error", "effort not supported")
        fmt = oc.get("format")
        if fmt:
            schema = fmt.get("schema") or {}
            if fmt.get("type") != "json_schema" or schema.get("additionalProperties") is not False:
                return self.error(400, "invalid_request_error",
                                  "output_config.format.schema: additionalProperties must be false")
        usage = {"input_tokens": 21, "output_tokens": 9, "cache_read_input_tokens": 0,
                 "cache_creation_input_tokens": 0}
        if body.get("stream"):
            events = [
                ("message_start", {"type": "message_start", "message": {
                    "id": "msg_stub", "type": "message", "role": "assistant", "model": m["id"],
                    "content": [], "stop_reason": None, "usage": dict(usage, output_tokens=1)}}),
                ("ping", {"type": "ping"}),
                ("content_block_start", {"type": "content_block_start", "index": 0,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0,
                    "delta": {"type": "signature_delta", "signature": "c2ln"}}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                ("content_block_start", {"type": "content_block_start", "index": 1,
                    "content_block": {"type": "text", "text": ""}}),
                ("content_block_delta", {"type": "content_block_delta", "index": 1,
                    "delta": {"type": "text_delta", "text": "Show a landing page "}}),
                ("content_block_delta", {"type": "content_block_delta", "index": 1,
                    "delta": {"type": "text_delta", "text": "before you build it."}}),
                ("content_block_stop", {"type": "content_block_stop", "index": 1}),
                ("some_future_event", {"type": "some_future_event"}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                    "stop_sequence": None}, "usage": dict(usage, output_tokens_details={"thinking_tokens": 0})}),
                ("message_stop", {"type": "message_stop"}),
            ]
            if m["id"] == "claude-flaky-5":
                events = events[:2] + [("error", {"type": "error", "error": {
                    "type": "overloaded_error", "message": "Overloaded"}})]
            data = "".join("event: %s\ndata: %s\n\n" % (n, json.dumps(e)) for n, e in events).encode()
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        answer = {"intent": "deciding", "confidence": 85}
        if m["id"] == "claude-sloppy-5":
            answer = {"intent": "deciding", "confidence": 850}
        self.send_json(200, {"id": "msg_stub", "type": "message", "role": "assistant",
                             "model": m["id"], "stop_reason": "end_turn", "stop_sequence": None,
                             "content": [{"type": "text", "text": json.dumps(answer)}],
                             "usage": usage})

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
EOF

python3 "$TMP/stub.py" "$TMP/stub.port" "$TMP/requests.jsonl" "$KEY" </dev/null >"$TMP/stub.log" 2>&1 &
STUB_PID=$!
for _ in $(seq 1 100); do
	[ -s "$TMP/stub.port" ] && break
	sleep 0.1
done
if [ ! -s "$TMP/stub.port" ]; then
	fail "the stub API starts" "$(cat "$TMP/stub.log")"
	finish
fi
STUB=http://127.0.0.1:$(cat "$TMP/stub.port")

# smoke OUT [VAR=value...]: run the script against the stub with the key and
# the defaults, plus VARs; its output in OUT, its exit status returned.
smoke() {
	local out=$1
	shift
	: >"$TMP/requests.jsonl"
	env -u CLAUDE_MODEL -u CLAUDE_MODEL_FAST -u AGENT_MODELS -u CLAUDE_API_VERSION \
		CLAUDE_API_KEY="$KEY" CLAUDE_BASE_URL="$STUB" CLAUDE_SMOKE_TIMEOUT=20 "$@" \
		"$SMOKE" >"$out" 2>&1
}

# requests PYTHON-EXPRESSION: true when it holds for the logged requests
# (a list of {"path","version","bearer","x_api_key","body"}) as r.
requests() {
	python3 - "$TMP/requests.jsonl" "$1" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = eval(sys.argv[2])
if not ok:
    print("does not hold: %s" % sys.argv[2])
    for x in r:
        print(json.dumps(x)[:400])
sys.exit(0 if ok else 1)
EOF
}

no_key_in() {
	! grep -q -F -- "$KEY" "$1" || { echo "the key was printed"; return 1; }
}

defaults_pass() {
	local out=$TMP/defaults.out
	smoke "$out" AGENT_MODELS=recorder=claude-opus-5-5,reviewer=claude-fable-5-2 ||
		{ echo "exit $?"; cat "$out"; return 1; }
	no_key_in "$out" || return 1
	grep -q '^model claude-sonnet-5-5 (CLAUDE_MODEL)' "$out" &&
		grep -q '^model claude-haiku-5-5 (CLAUDE_MODEL_FAST)' "$out" &&
		grep -q '^model claude-opus-5-5 (AGENT_MODELS recorder)' "$out" &&
		grep -q '^model claude-fable-5-2 (AGENT_MODELS reviewer)' "$out" &&
		grep -q 'lifecycle  *active' "$out" &&
		grep -q 'thinking types  *adaptive, between_tools' "$out" &&
		grep -q 'effort levels  *low, medium, high, xhigh, max' "$out" &&
		grep -q 'max_tokens  *128000' "$out" &&
		grep -q '^streamed turn on claude-sonnet-5-5 (thinking between_tools, effort low)' "$out" &&
		grep -q '^structured answer on claude-haiku-5-5 (thinking disabled, effort low)' "$out" &&
		[ "$(grep -c 'stop_reason  *end_turn' "$out")" -eq 2 ] &&
		grep -q 'usage  *input 21, output 9' "$out" &&
		grep -q 'parsed  *yes: Show a landing page before you build it.' "$out" &&
		grep -q 'parsed  *yes: {"intent": "deciding", "confidence": 85}' "$out" &&
		grep -q 'claude-smoke: OK' "$out" ||
		{ echo "unexpected output:"; cat "$out"; return 1; }
	requests 'len(r) == 6 and all(x["version"] == "2026-10-21" and x["bearer"] and not x["x_api_key"] for x in r)' &&
		requests '[x["path"] for x in r][:4] == ["/v1/models/" + m for m in ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5", "claude-fable-5-2")]' &&
		requests 'r[4]["body"]["stream"] is True and r[4]["body"]["thinking"] == {"type": "between_tools"} and r[4]["body"]["output_config"] == {"effort": "low"}' &&
		requests 'r[5]["body"].get("stream") is None and r[5]["body"]["thinking"] == {"type": "disabled"} and r[5]["body"]["output_config"]["format"]["type"] == "json_schema"' &&
		requests 'not any(p in (x["body"] or {}) for x in r for p in ("temperature", "top_p", "top_k"))'
}
check "defaults on 2026-10-21: every model looked up, both calls shaped and parsed" defaults_pass

legacy_version() {
	local out=$TMP/legacy.out
	smoke "$out" CLAUDE_API_VERSION=2023-06-01 || { echo "exit $?"; cat "$out"; return 1; }
	no_key_in "$out" || return 1
	requests 'len(r) == 4 and all(x["version"] == "2023-06-01" and x["x_api_key"] and not x["bearer"] for x in r)'
}
check "2023-06-01 sends the key as x-api-key" legacy_version

adaptive_when_no_between_tools() {
	local out=$TMP/adaptive.out
	smoke "$out" CLAUDE_MODEL=claude-opus-5-5 CLAUDE_MODEL_FAST=claude-opus-5-5 ||
		{ echo "exit $?"; cat "$out"; return 1; }
	grep -q '^streamed turn on claude-opus-5-5 (thinking adaptive, effort low)' "$out" &&
		grep -q '^structured answer on claude-opus-5-5 (thinking not sent, effort low)' "$out" &&
		grep -q '^model claude-opus-5-5 (CLAUDE_MODEL, CLAUDE_MODEL_FAST)' "$out" ||
		{ cat "$out"; return 1; }
	requests 'len(r) == 3 and "thinking" not in r[2]["body"] and r[2]["body"]["max_tokens"] == 4096'
}
check "adaptive thinking where between_tools is missing; a model looked up once" adaptive_when_no_between_tools

deprecated_warns() {
	local out=$TMP/deprecated.out
	smoke "$out" AGENT_MODELS=recorder=claude-opus-4-5-20251101 ||
		{ echo "exit $?"; cat "$out"; return 1; }
	grep -q 'warning: claude-opus-4-5-20251101 is deprecated; it retires at 2027-01-22T00:00:00Z' "$out" ||
		{ cat "$out"; return 1; }
}
check "a deprecated model: a warning with retires_at, exit 0" deprecated_warns

retired_fails() {
	local out=$TMP/retired.out rc=0
	smoke "$out" CLAUDE_MODEL=claude-sonnet-4-5-20250929 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'error: claude-sonnet-4-5-20250929 is retired' "$out" &&
		grep -q 'retires_at  *2026-11-30' "$out" &&
		grep -q 'not tried: the model failed its check above' "$out" &&
		grep -q 'parsed  *yes: {"intent"' "$out" &&
		grep -q 'FAILED' "$out" || { cat "$out"; return 1; }
	no_key_in "$out"
}
check "a retired CLAUDE_MODEL: exit 1, its turn not tried, the other still checked" retired_fails

unknown_model_fails() {
	local out=$TMP/unknown.out rc=0
	smoke "$out" AGENT_MODELS=reviewer=claude-nonesuch-9 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'error: HTTP 404 not_found_error: model: claude-nonesuch-9 (request-id req_stub)' "$out" ||
		{ cat "$out"; return 1; }
	no_key_in "$out"
}
check "an unknown model: exit 1 with the API's error type and message" unknown_model_fails

spend_cap_fails() {
	local out=$TMP/spend.out rc=0
	smoke "$out" CLAUDE_MODEL_FAST=claude-spent-5 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'HTTP 429 rate_limit_error: Your organization has reached its spend limit. \[enforced_spend_limit_reached\]' "$out" &&
		grep -q 'spend limit is reached: raise it in the Claude Console' "$out" ||
		{ cat "$out"; return 1; }
	no_key_in "$out"
}
check "a spend-limit 429: exit 1, the error code and what to do" spend_cap_fails

bad_key_fails() {
	local out=$TMP/badkey.out rc=0
	: >"$TMP/requests.jsonl"
	env -u CLAUDE_MODEL -u CLAUDE_MODEL_FAST -u AGENT_MODELS -u CLAUDE_API_VERSION \
		CLAUDE_API_KEY=sk-ant-wrong-key-not-to-print CLAUDE_BASE_URL="$STUB" \
		"$SMOKE" >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'HTTP 401 authentication_error' "$out" || { cat "$out"; return 1; }
	! grep -q 'sk-ant-wrong-key-not-to-print' "$out" || { echo "the key was printed"; return 1; }
}
check "a refused key: exit 1 with authentication_error, the key not printed" bad_key_fails

schema_violation_fails() {
	local out=$TMP/sloppy.out rc=0
	smoke "$out" CLAUDE_MODEL_FAST=claude-sloppy-5 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'parsed  *no: confidence 850' "$out" || { cat "$out"; return 1; }
}
check "a structured answer out of range: parsed no, exit 1" schema_violation_fails

stream_error_fails() {
	local out=$TMP/flaky.out rc=0
	smoke "$out" CLAUDE_MODEL=claude-flaky-5 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'error: the stream ended with an error event: overloaded_error: Overloaded' "$out" ||
		{ cat "$out"; return 1; }
}
check "an error event after HTTP 200 in the stream: exit 1" stream_error_fails

bad_settings_refused() {
	local out=$TMP/bad.out rc
	for setting in AGENT_MODELS=nosuchagent=claude-opus-5-5 CLAUDE_API_VERSION=2024-01-01 \
		'CLAUDE_MODEL=claude opus'; do
		rc=0
		smoke "$out" "$setting" || rc=$?
		[ "$rc" -eq 1 ] || { echo "$setting: exit $rc"; cat "$out"; return 1; }
		grep -q "error: ${setting%%=*}" "$out" || { echo "$setting:"; cat "$out"; return 1; }
		[ ! -s "$TMP/requests.jsonl" ] || { echo "$setting: a request was sent"; return 1; }
	done
}
check "an unknown agent, API version or a malformed model id: refused before any request" bad_settings_refused

unreachable_fails() {
	local out=$TMP/unreachable.out rc=0
	CLAUDE_API_KEY="$KEY" CLAUDE_BASE_URL=http://127.0.0.1:9 CLAUDE_SMOKE_TIMEOUT=5 \
		"$SMOKE" >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || { echo "exit $rc"; cat "$out"; return 1; }
	grep -q 'error: no answer from http://127.0.0.1:9/v1/models/' "$out" || { cat "$out"; return 1; }
	no_key_in "$out"
}
check "an API that does not answer: exit 1" unreachable_fails

# ---- the test double, once it serves the Models API -------------------------

DOUBLE=$ROOT/tools/claude-double/claude_double.py
if [ -f "$DOUBLE" ]; then
	python3 "$DOUBLE" --port 0 --port-file "$TMP/double.port" --quiet </dev/null \
		>"$TMP/double.log" 2>&1 &
	DOUBLE_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$TMP/double.port" ] && break
		sleep 0.1
	done
fi
if [ -z "$DOUBLE_PID" ] || [ ! -s "$TMP/double.port" ]; then
	skip "script/claude-smoke against tools/claude-double" "the double did not start"
else
	DOUBLE_URL=http://127.0.0.1:$(cat "$TMP/double.port")
	status=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: test" \
		-H "anthropic-version: 2023-06-01" "$DOUBLE_URL/v1/models/claude-sonnet-5-5" || true)
	if [ "$status" != 200 ]; then
		skip "script/claude-smoke against tools/claude-double" \
			"the double does not serve /v1/models/claude-sonnet-5-5 yet (HTTP $status)"
	else
		against_double() {
			local v
			for v in 2026-10-21 2023-06-01; do
				env -u CLAUDE_MODEL -u CLAUDE_MODEL_FAST -u AGENT_MODELS \
					CLAUDE_API_KEY=test CLAUDE_BASE_URL="$DOUBLE_URL" CLAUDE_API_VERSION=$v \
					AGENT_MODELS=recorder=claude-opus-5-5,reviewer=claude-fable-5-2 \
					"$SMOKE" || { echo "(CLAUDE_API_VERSION=$v)"; return 1; }
			done
		}
		check "script/claude-smoke against tools/claude-double, both API versions" against_double
	fi
fi

finish
