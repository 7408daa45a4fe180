#!/usr/bin/python3
"""claude_double: a faithful local test double of the Claude Messages API.

No machine in this project reaches the real API, so the C client is tested
against this server.  It speaks the protocol of ../shared/docs/CLAUDE-API.md
(headers, validation, error shapes, the SSE event order) and is as strict as
the real API: a model catalogue whose lifecycles follow a calendar (GET
/v1/models; tests can move its date and announce deprecations), and per
model the thinking types, effort levels, max_tokens, forced tool_choice,
sampling parameters, prefill and the structured-output schema subset.  It
answers deterministically so tests can predict what each agent returns
(thinking blocks included), and lets tests script failures (HTTP errors,
refusals, dropped and hung connections) through a control API, without
restarting it.

Standard library only; runs with Debian's /usr/bin/python3.  See README.md
next to this file for the command line, the control API and the directives
a user message can carry.
"""

import argparse
import asyncio
import base64
import collections
import dataclasses
import datetime
import email.parser
import email.utils
import functools
import hashlib
import hmac
import html
import http.client
import http.server
import json
import math
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse

API_VERSIONS = ("2023-06-01", "2026-10-21")
VERSION_WITHOUT_SAMPLING = "2026-10-21"   # temperature, top_p, top_k removed
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_CACHE_BREAKPOINTS = 4
CACHE_TTL_SECONDS = {"5m": 300, "1h": 3600}
PING_EVERY_DELTAS = 8
# Per minute and model family, enforced: a large organisation's tier, so
# that a test suite or a bench does not meet it unless it asks for less
# (--rate-limit-requests, --rate-limit-tokens, POST /_double/config).
RATE_LIMIT_REQUESTS = 50000
RATE_LIMIT_TOKENS = 20000000
# The double's calendar date, which the models' lifecycles follow: the day
# the catalogue was checked against the API (CLAUDE-API.md), deliberately not
# the machine's date, so that what a test sees never changes with the wall
# clock.  --today and POST /_double/config move it.
DEFAULT_TODAY = "2026-12-04"
RECENT_REQUESTS_KEPT = 100
LATENESS_KEPT = 10000          # answers whose lateness /_double/stats sums up
RECENT_BODY_MAX_BYTES = 256 * 1024
IDLE_CONNECTION_SECONDS = 300
GENERATED_ITEMS_MAX = 100         # caps on what a hostile schema can make us build
GENERATED_STRING_MAX = 100000
SCHEMA_DEPTH_MAX = 64
REMEMBERED_TEXT_MIN = 1024        # texts whose word count and cache key are
REMEMBERED_TEXT_MAX = 64 * 1024   # remembered (characters; 256 of each at most)
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Signs the thinking blocks the double hands out, so that a client that sends
# one back edited gets the 400 the real API gives.  Not a secret: a test aid.
THINKING_SIGNING_KEY = b"claude-double thinking signature"

KNOWN_BODY_FIELDS = frozenset({
    "model", "max_tokens", "messages", "system", "tools", "tool_choice",
    "stream", "stop_sequences", "metadata", "thinking", "service_tier",
    "output_config",
})
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")

INTENTS = ("brainstorming", "deciding", "modifying", "exploring", "parking",
           "reviewing", "development", "general")

# First row that matches wins, so the order is the priority.  Phrases match
# whole words, case-insensitively, with ’ read as '.
INTENT_KEYWORDS = (
    ("deciding", ("decide", "decided", "decides", "decision", "let's go with",
                  "we will", "settled on")),
    ("modifying", ("change", "changed", "changes", "instead", "modify",
                   "rename", "replace")),
    ("exploring", ("what if", "explore", "wonder", "alternative",
                   "alternatives")),
    ("parking", ("park", "parked", "later", "someday", "backlog")),
    ("reviewing", ("review", "summarize", "summary", "recap")),
    ("development", ("build", "implement", "develop", "code", "deploy")),
    ("brainstorming", ("idea", "ideas", "brainstorm", "could", "maybe")),
)

DECIDED_PHRASES = ("decide", "decided", "decides", "decision", "we will",
                   "let's go with")
PARKED_PHRASES = ("park", "parked", "parking", "later")

REPLY_SENTENCES = (
    "The core of it is worth stating plainly before we add anything else to the board.",
    "One way forward is to pick the smallest version that still proves the point.",
    "It may help to name who benefits first and what they would do differently.",
    "There is a risk hiding in the assumptions, so it is worth writing them down.",
    "A quick comparison with the alternatives would show what we give up by choosing this.",
    "If this holds, the next step is a short experiment with a clear yes or no answer.",
    "We should also agree on what evidence would make us drop the idea entirely.",
    "Keeping the board current will make these trade-offs much easier to see later.",
)

# HTTP errors: (status, error.type, message).  Each is a fault kind.
ERROR_FAULTS = {
    "rate_limit": (429, "rate_limit_error",
                   "Number of request tokens has exceeded your per-minute rate limit"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
    "bad_request": (400, "invalid_request_error", "Injected bad request"),
    "payment_required": (402, "billing_error",
                         "Your credit balance is too low to access the Claude API."),
    "request_timeout": (408, "timeout_error", "Request timed out"),
    "conflict": (409, "conflict_error", "Conflict: the request collided with another one"),
    "timeout": (504, "timeout_error", "Gateway timeout"),
    "spend_cap": (429, "rate_limit_error",
                  "You have reached your API usage limits. You will regain access on "
                  "the first day of next month."),
}
# Answers that end early with a special stop_reason (HTTP 200).
STOP_FAULTS = {"refusal": "refusal", "context_exceeded": "model_context_window_exceeded",
               "pause_turn": "pause_turn"}
FAULT_KINDS = tuple(ERROR_FAULTS) + ("malformed", "stream_error", "drop", "hang",
                                     "delay") + tuple(STOP_FAULTS)
FAULT_MATCH_KEYS = ("tool", "model", "stream")
DIRECTIVE_FAULT_DELAY_MS = 1000
SPEND_CAP_ERROR_CODE = "enforced_spend_limit_reached"
REFUSAL_CATEGORY = "cyber"
REFUSAL_EXPLANATION = ("The request could enable cyber harm, so the model declined to "
                       "continue. (claude-double: injected refusal)")

MESSAGE_OPEN, MESSAGE_CLOSE = "<message>", "</message>"
BOARD_ID_RE = re.compile(r"(?m)^[ \t]*(?:[-*][ \t]*)?\[([A-Za-z0-9_-]{1,64})\]")
DIRECTIVE_RE = re.compile(
    r"\[(intent|fault-agent|fault):([A-Za-z0-9_-]+(?::[0-9]+)?)\]"
    r"|\[(no-changes|no-findings|redacted-thinking)\]")


# ---------------------------------------------------------------------------
# Errors

class ApiError(Exception):
    """An error answer in the API's shape, raised before any header is sent."""

    def __init__(self, status, error_type, message, headers=None, details=None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}
        self.details = details

    def body(self, request_id):
        return error_body(self.error_type, self.message, request_id, self.details)


def error_body(error_type, message, request_id=None, details=None):
    """{"type":"error","error":{...},"request_id":...}, as the real API answers."""
    error = {"type": error_type, "message": message}
    if details is not None:
        error["details"] = details
    body = {"type": "error", "error": error}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def invalid(message):
    """The 400 every validation failure answers, like the real API."""
    return ApiError(400, "invalid_request_error", message)


def not_found(message):
    return ApiError(404, "not_found_error", message)


# ---------------------------------------------------------------------------
# Small deterministic helpers

def stable_hash(*parts):
    """A hash stable across processes (Python's hash() is salted per run)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return int.from_bytes(digest.digest()[:8], "big")


def stable_hasher(*parts):
    """stable_hash(*parts, last) as a function of last, for the many pieces
    of one answer: the parts (a seed can be a long text) are hashed once."""
    head = hashlib.sha256(("\x1f".join(str(p) for p in parts) + "\x1f").encode("utf-8"))

    def hash_with(last):
        digest = head.copy()
        digest.update(str(last).encode("utf-8"))
        return int.from_bytes(digest.digest()[:8], "big")
    return hash_with


def base62(number, length):
    out = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        out.append(BASE62[digit])
    return "".join(out)


def random_id(prefix):
    """Unique ids (message, request) look like the real ones: prefix_01 + 22."""
    return prefix + "_01" + base62(secrets.randbits(132), 22)


def word_count(text):
    if REMEMBERED_TEXT_MIN <= len(text) <= REMEMBERED_TEXT_MAX:
        return _cached_word_count(text)
    return len(text.split())


@functools.lru_cache(maxsize=256)
def _cached_word_count(text):
    """A system prompt or a tool's JSON comes back with every call of its
    agent: looking it up costs a tenth of counting its words again."""
    return len(text.split())


def collapse_spaces(text):
    return " ".join(text.split())


def normalise_for_matching(text):
    return collapse_spaces(text.replace("\u2019", "'").lower())


@functools.lru_cache(maxsize=None)
def phrase_regex(phrases):
    return re.compile(r"\b(?:%s)\b" % "|".join(re.escape(p) for p in phrases))


def rfc3339(epoch_seconds):
    moment = datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def thinking_nonce(*parts):
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()[:16]


def _sign(tag, nonce, payload):
    mac = hmac.new(THINKING_SIGNING_KEY, tag + nonce + payload, "sha256").digest()
    return base64.b64encode(tag + nonce + mac).decode("ascii")


def _signed_nonce(tag, signed):
    """The nonce inside a value _sign made with this tag, or None."""
    try:
        raw = base64.b64decode(signed.encode("ascii"), validate=True)
    except (UnicodeEncodeError, ValueError):
        return None
    if len(raw) != len(tag) + 16 + 32 or not raw.startswith(tag):
        return None
    return raw[len(tag):len(tag) + 16]


def thinking_signature(nonce, thinking):
    """The signature of a thinking block: it covers the thinking text."""
    return _sign(b"S1", nonce, thinking.encode("utf-8"))


def signature_is_valid(signature, thinking):
    nonce = _signed_nonce(b"S1", signature)
    return nonce is not None and hmac.compare_digest(thinking_signature(nonce, thinking),
                                                     signature)


def redacted_data(nonce):
    return _sign(b"R1", nonce, b"")


def redacted_data_is_valid(data):
    nonce = _signed_nonce(b"R1", data)
    return nonce is not None and hmac.compare_digest(redacted_data(nonce), data)


# ---------------------------------------------------------------------------
# The model catalogue: what GET /v1/models serves and what each model accepts

EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
THINKING_TYPES = ("adaptive", "between_tools", "disabled", "enabled")
THINKING_OFF = ("disabled", "between_tools")
# Thinking tokens a thinking model spends, by effort; "enabled" spends
# min(budget_tokens, ENABLED_THINKING_TOKENS).
THINKING_TOKENS = {"low": 32, "medium": 128, "high": 512, "xhigh": 1024, "max": 2048}
ENABLED_THINKING_TOKENS = 512


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One catalogue entry: its ModelInfo facts and the rules /v1/messages enforces.

    forced_tool: "never" (a forced tool_choice is a 400), or "thinking_off"
    (only with thinking disabled).  sampling (on 2023-06-01 only): "fixed"
    (temperature 1.0, top_p >= 0.99, no top_k) or "free" (any, but not
    temperature and top_p together).  thinking_off_max_effort: the highest
    effort allowed with thinking disabled or between_tools (None: any).
    deprecated and retires are the dates Anthropic announced (None: none);
    the lifecycle follows from them and the double's date (lifecycle_on)."""
    id: str
    display_name: str
    line: str
    created: str                          # YYYY-MM-DD
    status: str = "current"               # the double's own note: current, older, legacy
    deprecated: str = None                # YYYY-MM-DD
    retires: str = None                   # YYYY-MM-DD
    aliases: tuple = ()
    max_input_tokens: int = 1000000
    max_tokens: int = 128000
    thinking_types: tuple = ("adaptive",)
    default_thinking: str = "adaptive"
    efforts: tuple = EFFORT_LEVELS
    default_effort: str = "high"
    thinking_off_max_effort: str = None
    forced_tool: str = "never"
    sampling: str = "fixed"
    prefill: bool = False
    structured_outputs: bool = True
    cache_min_tokens: int = 512
    compaction: bool = True               # capabilities.context_management.compact_20260112


def _five(model_id, name, line, created, **rules):
    """A Claude 5.x model: 1M input, 128K output, thinks by default, no prefill."""
    return ModelSpec(model_id, name, line, created, **rules)


def _four_five(model_id, name, line, created, **rules):
    """A Claude 4.5 model: 200K input, 64K output, budget thinking off by default."""
    defaults = dict(max_input_tokens=200000, max_tokens=64000,
                    thinking_types=("disabled", "enabled"), default_thinking="disabled",
                    forced_tool="thinking_off", sampling="free", prefill=True,
                    cache_min_tokens=4096, status="legacy", compaction=False)
    defaults.update(rules)
    return ModelSpec(model_id, name, line, created, **defaults)


CATALOGUE = (
    _five("claude-fable-5-2", "Claude Fable 5.2", "fable", "2026-11-09"),
    _five("claude-haiku-5-5", "Claude Haiku 5.5", "haiku", "2026-10-07",
          thinking_types=("adaptive", "disabled"), default_effort="medium",
          thinking_off_max_effort="high", forced_tool="thinking_off"),
    _five("claude-sonnet-5-5", "Claude Sonnet 5.5", "sonnet", "2026-09-22",
          thinking_types=("adaptive", "between_tools"), thinking_off_max_effort="high"),
    _five("claude-fable-5-1", "Claude Fable 5.1", "fable", "2026-09-01", status="older"),
    _five("claude-opus-5-5", "Claude Opus 5.5", "opus", "2026-08-18",
          default_effort="medium"),
    _five("claude-sonnet-5", "Claude Sonnet 5", "sonnet", "2026-06-09", status="legacy",
          thinking_types=("adaptive", "disabled", "enabled"), forced_tool="thinking_off",
          cache_min_tokens=1024),
    _five("claude-fable-5", "Claude Fable 5", "fable", "2026-05-19", status="older"),
    _five("claude-opus-5", "Claude Opus 5", "opus", "2026-05-05", status="legacy",
          thinking_types=("adaptive", "disabled", "enabled"), forced_tool="thinking_off",
          thinking_off_max_effort="high"),
    _four_five("claude-opus-4-5-20251101", "Claude Opus 4.5", "opus", "2025-11-24",
               aliases=("claude-opus-4-5",), deprecated="2026-07-22", retires="2027-01-22",
               efforts=("low", "medium", "high"), default_effort="high"),
    _four_five("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "haiku", "2025-10-15",
               aliases=("claude-haiku-4-5",), efforts=(), default_effort=None),
    _four_five("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "sonnet", "2025-09-29",
               aliases=("claude-sonnet-4-5",), deprecated="2026-05-29", retires="2026-11-30",
               efforts=(), default_effort=None),
)
MODELS_BY_NAME = {name: spec for spec in CATALOGUE for name in (spec.id,) + spec.aliases}
LIFECYCLES = ("active", "deprecated", "retired")


def day(date):
    return None if date is None else date + "T00:00:00Z"


def supported(flag):
    return {"supported": bool(flag)}


def model_capabilities(spec):
    """Every key of the SDK's ModelCapabilities, always present."""
    return {
        "batch": supported(True),
        "citations": supported(True),
        "code_execution": supported(True),
        "context_management": {"supported": True,
                               "clear_thinking_20251015": supported(True),
                               "clear_tool_uses_20250919": supported(True),
                               "compact_20260112": supported(spec.compaction)},
        "effort": dict({"supported": bool(spec.efforts)},
                       **{level: supported(level in spec.efforts) for level in EFFORT_LEVELS}),
        "image_input": supported(True),
        "pdf_input": supported(True),
        "server_tools": {"supported": True, "code_execution": supported(True),
                         "web_search": supported(True)},
        "structured_outputs": supported(spec.structured_outputs),
        "thinking": {"supported": True,
                     "types": {kind: supported(kind in spec.thinking_types)
                               for kind in THINKING_TYPES}},
    }


DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value, where):
    """A real calendar date as "YYYY-MM-DD" (the one form the double takes,
    so dates compare as strings), or a 400."""
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            datetime.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise invalid("%s: a calendar date YYYY-MM-DD" % where)


def lifecycle_on(spec, today):
    """retired from its retirement date on, else deprecated from its
    deprecation date on, else active."""
    if spec.retires is not None and spec.retires <= today:
        return "retired"
    if spec.deprecated is not None and spec.deprecated <= today:
        return "deprecated"
    return "active"


class Catalogue:
    """The catalogue as it stands on one day: its entries, with the dates
    announced through POST /_double/models in place of their own.  A request
    takes one from DoubleState.catalogue() and reads only that, so it sees
    one date and one set of announcements throughout.  Never changed once
    made (the state replaces its announcements instead of editing them)."""

    def __init__(self, today, announced):
        self.today = today
        self.announced = announced    # model id: (deprecated, retires)

    def find(self, name):
        """The entry for an id or alias, with its dates as announced; 404
        for anything else.  The one way every endpoint looks a model up."""
        spec = MODELS_BY_NAME.get(name)
        if spec is None:
            raise not_found("model: %s" % name)
        dates = self.announced.get(spec.id)
        if dates is not None:
            spec = dataclasses.replace(spec, deprecated=dates[0], retires=dates[1])
        return spec

    def lifecycle(self, spec):
        return lifecycle_on(spec, self.today)

    def for_messages(self, name):
        """Like find, but a retired model is gone for inference too."""
        spec = self.find(name)
        if self.lifecycle(spec) == "retired":
            raise not_found("model: %s was retired on %s and is no longer available; "
                            "see GET /v1/models for the current models" % (name, spec.retires))
        return spec

    def info(self, spec):
        """The SDK's ModelInfo for one entry (as find returns it)."""
        return {"id": spec.id, "type": "model", "display_name": spec.display_name,
                "created_at": day(spec.created), "lifecycle": self.lifecycle(spec),
                "deprecated_at": day(spec.deprecated), "retires_at": day(spec.retires),
                "line": spec.line, "max_input_tokens": spec.max_input_tokens,
                "max_tokens": spec.max_tokens, "capabilities": model_capabilities(spec)}

    def list(self, query):
        """GET /v1/models: newest first, paged by after_id/before_id, retired only on request."""
        limit = _query_limit(query.get("limit"))
        wanted = _query_lifecycles(query)
        current = (self.find(entry.id) for entry in CATALOGUE)
        models = sorted((spec for spec in current if self.lifecycle(spec) in wanted),
                        key=lambda spec: (spec.created, spec.id), reverse=True)
        ids = [spec.id for spec in models]
        after, before = _query_one(query, "after_id"), _query_one(query, "before_id")
        if after is not None and before is not None:
            raise invalid("after_id and before_id cannot both be given")
        if after is not None:
            start = _cursor_index(ids, after, "after_id") + 1
            page, more = models[start:start + limit], start + limit < len(models)
        elif before is not None:
            end = _cursor_index(ids, before, "before_id")
            page, more = models[max(0, end - limit):end], end - limit > 0
        else:
            page, more = models[:limit], limit < len(models)
        return {"data": [self.info(spec) for spec in page], "has_more": more,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None}


ANNOUNCEMENT_KEYS = ("id", "deprecated_at", "retires_at")


def parse_announcement(body):
    """A POST /_double/models body: (model id or alias, deprecated, retires),
    every key required, each date YYYY-MM-DD or null.  A model retires only
    after (or on) the day it is deprecated."""
    for key in body:
        if key not in ANNOUNCEMENT_KEYS:
            raise invalid("%s: unknown field" % key)
    for key in ANNOUNCEMENT_KEYS:
        if key not in body:
            raise invalid("%s: Field required" % key)
    name = body["id"]
    if not isinstance(name, str) or not name:
        raise invalid("id: a model id or alias")
    deprecated, retires = (None if body[key] is None else parse_date(body[key], key)
                           for key in ("deprecated_at", "retires_at"))
    if retires is not None and deprecated is None:
        raise invalid("retires_at: a model is deprecated before it retires; "
                      "give deprecated_at too")
    if retires is not None and retires < deprecated:
        raise invalid("retires_at: %s is before deprecated_at %s" % (retires, deprecated))
    return name, deprecated, retires


def _query_one(query, name):
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise invalid("%s: give it at most once" % name)
    return values[0]


def _query_limit(values):
    if not values:
        return 20
    if len(values) > 1 or not re.fullmatch(r"[0-9]{1,5}", values[0]) \
            or not 1 <= int(values[0]) <= 1000:
        raise invalid("limit: Input should be an integer from 1 to 1000")
    return int(values[0])


def _query_lifecycles(query):
    """lifecycle=retired, lifecycle[]=retired (the SDK's form), repeated or comma-separated."""
    values = []
    for key in ("lifecycle", "lifecycle[]"):
        for value in query.get(key, []):
            values += [v for v in value.split(",") if v]
    if not values:
        return ("active", "deprecated")
    for value in values:
        if value not in LIFECYCLES:
            raise invalid("lifecycle: Input should be 'active', 'deprecated' or 'retired'")
    if len(set(values)) > 3:
        raise invalid("lifecycle: at most 3 values")
    return tuple(set(values))


def _cursor_index(ids, cursor, name):
    if cursor not in ids:
        raise invalid("%s: %s is not a model in this list" % (name, cursor))
    return ids.index(cursor)


# ---------------------------------------------------------------------------
# Request validation: parse once, at the edge, into a typed request

@dataclasses.dataclass
class MessagesRequest:
    """A validated POST /v1/messages body, with the model's defaults applied."""
    body: dict
    version: str
    spec: ModelSpec
    requested_model: str      # as sent: an id or an alias
    max_tokens: int
    messages: list
    system_blocks: list
    tools: list
    tool: dict                # the tool the answer calls (forced or under auto), or None
    forced: bool              # tool_choice "any" or "tool"
    stream: bool
    stop_sequences: list
    json_schema: dict         # output_config.format.schema, or None
    thinking_type: str = "disabled"       # the request's, or the model's default
    thinking_display: str = "omitted"
    budget_tokens: int = None
    effort: str = None                    # the request's, or the model's default
    input_tokens: int = None              # input_token_estimate, once validated

    @property
    def model(self):
        return self.spec.id

    @property
    def tool_label(self):
        """The agent a call belongs to: the called tool's name, else the
        json_schema's title (the product's answer name), else "text"."""
        if self.tool:
            return self.tool["name"]
        title = (self.json_schema or {}).get("title")
        return title if isinstance(title, str) and title else "text"

    @functools.cached_property
    def user(self):
        """What the answer derives from (read_user_text), read once."""
        return read_user_text(self.messages)

    @property
    def thinking_tokens(self):
        """Deterministic: by effort for adaptive, the budget (capped) for enabled."""
        if self.thinking_type == "adaptive":
            return THINKING_TOKENS.get(self.effort, THINKING_TOKENS["medium"])
        if self.thinking_type == "enabled":
            return min(self.budget_tokens, ENABLED_THINKING_TOKENS)
        return 0


def parse_json_body(raw):
    def reject_constant(name):
        raise ValueError("invalid JSON constant " + name)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid("request body is not valid JSON: %s" % exc) from None


def validate_messages_request(body, version, catalogue):
    """Checks a body the way the real API does; raises ApiError on the first fault.
    First the shape of every field, then the model (404 if unknown or
    retired in the catalogue of the day), then the model's own rules."""
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    known = KNOWN_BODY_FIELDS
    if version != VERSION_WITHOUT_SAMPLING:
        known = known | frozenset(SAMPLING_FIELDS)
    for key in body:
        if key not in known:
            raise invalid("%s: Extra inputs are not permitted" % key)
    model = _validate_model(body)
    max_tokens = _validate_max_tokens(body)
    messages = _validate_messages(body.get("messages"), version)
    system_blocks = _validate_system(body["system"]) if "system" in body else []
    tools = _validate_tools(body["tools"]) if "tools" in body else []
    choice, tool = _validate_tool_choice(body.get("tool_choice"), tools)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid("stream: Input should be a valid boolean")
    _validate_sampling(body)
    thinking = _validate_thinking(body["thinking"]) if "thinking" in body else None
    json_schema, effort = _validate_output_config(body)
    if "service_tier" in body and body["service_tier"] not in ("auto", "standard_only"):
        raise invalid("service_tier: Input should be 'auto' or 'standard_only'")
    _validate_metadata(body.get("metadata"))
    stop_sequences = _validate_stop_sequences(body.get("stop_sequences"))
    _validate_cache_breakpoints(system_blocks, messages, tools)
    spec = catalogue.for_messages(model)
    if tool is None and choice in (None, "auto") and tools and not _answers_tool_result(messages):
        tool = tools[0]   # under auto the double always calls the first tool
    req = MessagesRequest(body, version, spec, model, max_tokens, messages, system_blocks,
                          tools, tool, choice in ("any", "tool"), stream, stop_sequences,
                          json_schema)
    _apply_model_rules(req, thinking, effort)
    return req


def _validate_model(body):
    if "model" not in body:
        raise invalid("model: Field required")
    model = body["model"]
    if not isinstance(model, str) or not model.strip():
        raise invalid("model: Input should be a non-empty string")
    return model


def _validate_max_tokens(body):
    if "max_tokens" not in body:
        raise invalid("max_tokens: Field required")
    value = body["max_tokens"]
    if not is_int(value):
        raise invalid("max_tokens: Input should be a valid integer")
    if value < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    return value


def _validate_messages(messages, version):
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")
    expected = "user"
    for index, message in enumerate(messages):
        where = "messages.%d" % index
        if not isinstance(message, dict):
            raise invalid("%s: Input should be an object" % where)
        for key in message:
            if key not in ("role", "content"):
                raise invalid("%s.%s: Extra inputs are not permitted" % (where, key))
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise invalid("%s.role: Input should be 'user' or 'assistant'" % where)
        if role != expected:
            if index == 0:
                raise invalid("messages: first message must use the \"user\" role")
            raise invalid("messages: roles must alternate between \"user\" and "
                          "\"assistant\", but found multiple \"%s\" roles in a row"
                          % role)
        expected = "assistant" if role == "user" else "user"
        if "content" not in message:
            raise invalid("%s.content: Field required" % where)
        _validate_content(message["content"], where + ".content", role, version)
    _validate_tool_pairs(messages)
    return messages


def _validate_content(content, where, role, version):
    if isinstance(content, str):
        if not content:
            raise invalid("%s: text content must be non-empty" % where)
        return
    if not isinstance(content, list) or not content:
        raise invalid("%s: Input should be a string or a non-empty list of blocks"
                      % where)
    for index, block in enumerate(content):
        _validate_content_block(block, "%s.%d" % (where, index), role, version)


BLOCK_FIELDS = {
    "text": ("type", "text", "cache_control", "citations"),
    "tool_use": ("type", "id", "name", "input", "cache_control"),
    "tool_result": ("type", "tool_use_id", "content", "is_error", "cache_control"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
}


def _validate_content_block(block, where, role, version):
    if not isinstance(block, dict):
        raise invalid("%s: Input should be an object" % where)
    kind = block.get("type")
    if not isinstance(kind, str) or kind not in BLOCK_FIELDS:
        raise invalid("%s.type: Input tag '%s' found using 'type' does not match any of "
                      "the expected tags: %s"
                      % (where, kind, ", ".join("'%s'" % k for k in BLOCK_FIELDS)))
    for key in block:
        if key not in BLOCK_FIELDS[kind]:
            raise invalid("%s.%s: Extra inputs are not permitted" % (where, key))
    if "cache_control" in block:
        _validate_cache_control(block["cache_control"], where + ".cache_control")
    if kind == "text":
        _validate_text_block(block, where, role, version)
    elif kind == "tool_use":
        _validate_tool_use_block(block, where, role)
    elif kind == "tool_result":
        _validate_tool_result_block(block, where, role)
    else:
        _validate_thinking_block(block, where, role)


def _validate_text_block(block, where, role, version):
    text = block.get("text")
    if not isinstance(text, str) or not text:
        raise invalid("%s.text: text content blocks must be non-empty" % where)
    citations = block.get("citations")
    if citations is not None and not isinstance(citations, list):
        raise invalid("%s.citations: Input should be a valid list" % where)
    if citations and role == "user" and version == VERSION_WITHOUT_SAMPLING:
        raise invalid("%s.citations: citations are not allowed in user messages" % where)


def _validate_tool_use_block(block, where, role):
    if role != "assistant":
        raise invalid("%s: tool_use blocks are only allowed in assistant messages" % where)
    if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
        raise invalid("%s: tool_use needs string id and name" % where)
    if not isinstance(block.get("input"), dict):
        raise invalid("%s.input: Input should be an object" % where)


def _validate_tool_result_block(block, where, role):
    if role != "user":
        raise invalid("%s: tool_result blocks are only allowed in user messages" % where)
    if not isinstance(block.get("tool_use_id"), str):
        raise invalid("%s.tool_use_id: Field required" % where)
    if "is_error" in block and not isinstance(block["is_error"], bool):
        raise invalid("%s.is_error: Input should be a valid boolean" % where)
    inner = block.get("content", "")
    if not isinstance(inner, str):
        _validate_text_blocks(inner, where + ".content", allow_empty=True)


def _validate_thinking_block(block, where, role):
    """Thinking blocks come back only as the double issued them (signed)."""
    kind = block["type"]
    if role != "assistant":
        raise invalid("%s: %s blocks are only allowed in assistant messages" % (where, kind))
    if kind == "thinking":
        thinking, signature = block.get("thinking"), block.get("signature")
        if not isinstance(thinking, str) or not isinstance(signature, str):
            raise invalid("%s: thinking blocks need string thinking and signature" % where)
        if not signature_is_valid(signature, thinking):
            raise invalid("%s.signature: Invalid `signature` in `thinking` block" % where)
    elif not isinstance(block.get("data"), str) or not redacted_data_is_valid(block["data"]):
        raise invalid("%s.data: Invalid `data` in `redacted_thinking` block" % where)


def _block_ids(message, kind, key):
    content = message["content"]
    if not isinstance(content, list):
        return []
    return [block[key] for block in content if block["type"] == kind]


def _validate_tool_pairs(messages):
    """Every tool_use is answered by a tool_result in the next message, and every
    tool_result answers a tool_use of the message before (a trailing tool_use is
    a prefill, judged by the model's rules)."""
    for index, message in enumerate(messages):
        if message["role"] != "user":
            continue
        asked = _block_ids(messages[index - 1], "tool_use", "id") if index else []
        answered = _block_ids(message, "tool_result", "tool_use_id")
        for tool_id in answered:
            if tool_id not in asked:
                raise invalid("messages.%d: unexpected `tool_use_id` found in `tool_result` "
                              "blocks: %s. Each `tool_result` block must have a "
                              "corresponding `tool_use` block in the previous message."
                              % (index, tool_id))
        missing = [tool_id for tool_id in asked if tool_id not in answered]
        if missing:
            raise invalid("messages.%d: `tool_use` ids were found without `tool_result` "
                          "blocks immediately after: %s. Each `tool_use` block must have "
                          "a corresponding `tool_result` block in the next message."
                          % (index - 1, ", ".join(missing)))


def _answers_tool_result(messages):
    """True when the last message hands tool results back: then the model answers."""
    last = messages[-1]
    return last["role"] == "user" and bool(_block_ids(last, "tool_result", "tool_use_id"))


def _validate_text_blocks(blocks, where, allow_empty=False):
    if not isinstance(blocks, list) or (not blocks and not allow_empty):
        raise invalid("%s: Input should be a list of text blocks" % where)
    for index, block in enumerate(blocks):
        at = "%s.%d" % (where, index)
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid("%s.type: Input should be 'text'" % at)
        for key in block:
            if key not in ("type", "text", "cache_control", "citations"):
                raise invalid("%s.%s: Extra inputs are not permitted" % (at, key))
        if not isinstance(block.get("text"), str) or not block["text"]:
            raise invalid("%s.text: text content blocks must be non-empty" % at)
        if "cache_control" in block:
            _validate_cache_control(block["cache_control"], at + ".cache_control")


def _validate_cache_control(value, where):
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise invalid("%s.type: Input should be 'ephemeral'" % where)
    for key in value:
        if key not in ("type", "ttl"):
            raise invalid("%s.%s: Extra inputs are not permitted" % (where, key))
    if "ttl" in value and value["ttl"] not in CACHE_TTL_SECONDS:
        raise invalid("%s.ttl: Input should be '5m' or '1h'" % where)


def _validate_system(system):
    if isinstance(system, str):
        return [{"type": "text", "text": system}] if system else []
    _validate_text_blocks(system, "system")
    return system


TOOL_FIELDS = ("name", "description", "input_schema", "cache_control", "type", "strict")


def _validate_tools(tools):
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names = set()
    for index, tool in enumerate(tools):
        where = "tools.%d" % index
        if not isinstance(tool, dict):
            raise invalid("%s: Input should be an object" % where)
        for key in tool:
            if key not in TOOL_FIELDS:
                raise invalid("%s.%s: Extra inputs are not permitted" % (where, key))
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
            raise invalid("%s.name: String should match pattern "
                          "'^[a-zA-Z0-9_-]{1,64}$'" % where)
        if name in names:
            raise invalid("tools: Tool names must be unique.")
        names.add(name)
        if "description" in tool and not isinstance(tool["description"], str):
            raise invalid("%s.description: Input should be a valid string" % where)
        if tool.get("type", "custom") not in ("custom", None):
            raise invalid("%s.type: only custom tools are supported by the double" % where)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise invalid("%s.input_schema: Field required" % where)
        if schema.get("type") != "object":
            raise invalid("%s.input_schema.type: Input should be 'object'" % where)
        if "strict" in tool and not isinstance(tool["strict"], bool):
            raise invalid("%s.strict: Input should be a valid boolean" % where)
        if tool.get("strict"):
            check_structured_schema(schema, where + ".input_schema")
        if "cache_control" in tool:
            _validate_cache_control(tool["cache_control"], where + ".cache_control")
    return tools


def _validate_tool_choice(choice, tools):
    """(the tool_choice type or None, the tool it forces or None)."""
    if choice is None:
        return None, None
    if not isinstance(choice, dict):
        raise invalid("tool_choice: Input should be an object")
    kind = choice.get("type")
    allowed = {"auto": ("type", "disable_parallel_tool_use"),
               "any": ("type", "disable_parallel_tool_use"),
               "tool": ("type", "name", "disable_parallel_tool_use"),
               "none": ("type",)}
    if not isinstance(kind, str) or kind not in allowed:
        raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    for key in choice:
        if key not in allowed[kind]:
            raise invalid("tool_choice.%s: Extra inputs are not permitted" % key)
    if "disable_parallel_tool_use" in choice and \
            not isinstance(choice["disable_parallel_tool_use"], bool):
        raise invalid("tool_choice.disable_parallel_tool_use: Input should be a valid boolean")
    if kind in ("auto", "none"):
        return kind, None
    if not tools:
        raise invalid("tool_choice may only be specified while providing tools.")
    if kind == "any":
        return kind, tools[0]
    for tool in tools:
        if tool["name"] == choice.get("name"):
            return kind, tool
    raise invalid("tool_choice.name: tool '%s' not found in tools" % choice.get("name"))


def _validate_sampling(body):
    """The shape of temperature/top_p/top_k (on 2023-06-01; on 2026-10-21 they
    were refused as extra inputs).  What a model allows is _check_sampling."""
    for name in ("temperature", "top_p"):
        if name in body:
            value = body[name]
            if not is_number(value) or not 0 <= value <= 1:
                raise invalid("%s: Input should be a number between 0 and 1" % name)
    if "top_k" in body and (not is_int(body["top_k"]) or body["top_k"] < 0):
        raise invalid("top_k: Input should be a non-negative integer")


THINKING_FIELDS = {"adaptive": ("type", "display"),
                   "enabled": ("type", "budget_tokens", "display"),
                   "disabled": ("type",),
                   "between_tools": ("type",)}


def _validate_thinking(value):
    if not isinstance(value, dict):
        raise invalid("thinking: Input should be an object")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in THINKING_FIELDS:
        raise invalid("thinking.type: Input tag '%s' found using 'type' does not match any "
                      "of the expected tags: 'adaptive', 'between_tools', 'disabled', "
                      "'enabled'" % kind)
    for key in value:
        if key not in THINKING_FIELDS[kind]:
            raise invalid("thinking.%s.%s: Extra inputs are not permitted" % (kind, key))
    if value.get("display") not in (None, "summarized", "omitted"):
        raise invalid("thinking.%s.display: Input should be 'summarized' or 'omitted'" % kind)
    if kind == "enabled":
        budget = value.get("budget_tokens")
        if budget is None:
            raise invalid("thinking.enabled.budget_tokens: Field required")
        if not is_int(budget):
            raise invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
        if budget < 1024:
            raise invalid("thinking.enabled.budget_tokens: Input should be greater than "
                          "or equal to 1024")
    return value


def _validate_output_config(body):
    """(the json_schema or None, the effort or None)."""
    if "output_config" not in body:
        return None, None
    config = body["output_config"]
    if not isinstance(config, dict):
        raise invalid("output_config: Input should be an object")
    for key in config:
        if key not in ("format", "effort"):
            raise invalid("output_config.%s: Extra inputs are not permitted" % key)
    effort = config.get("effort")
    if effort is not None and effort not in EFFORT_LEVELS:
        raise invalid("output_config.effort: Input should be 'low', 'medium', 'high', "
                      "'xhigh' or 'max'")
    answer_format = config.get("format")
    if answer_format is None:
        return None, effort
    if not isinstance(answer_format, dict) or answer_format.get("type") != "json_schema":
        raise invalid("output_config.format.type: Input should be 'json_schema'")
    for key in answer_format:
        if key not in ("type", "schema"):
            raise invalid("output_config.format.%s: Extra inputs are not permitted" % key)
    schema = answer_format.get("schema")
    if not isinstance(schema, dict):
        raise invalid("output_config.format.schema: Field required (a JSON schema object)")
    check_structured_schema(schema, "output_config.format.schema")
    return schema, effort


def _validate_metadata(metadata):
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise invalid("metadata: Input should be an object")
    for key, value in metadata.items():
        if key != "user_id":
            raise invalid("metadata.%s: Extra inputs are not permitted" % key)
        if value is not None and (not isinstance(value, str) or len(value) > 256):
            raise invalid("metadata.user_id: Input should be a string of at most "
                          "256 characters")


def _validate_stop_sequences(stops):
    if stops is None:
        return []
    if not isinstance(stops, list):
        raise invalid("stop_sequences: Input should be a valid list")
    for stop in stops:
        if not isinstance(stop, str) or not stop.strip():
            raise invalid("stop_sequences: each stop sequence must contain "
                          "non-whitespace")
    return stops


def _validate_cache_breakpoints(system_blocks, messages, tools):
    """At most 4, and no 1h one after a 5m one (in the order tools, system, messages)."""
    controls = [tool["cache_control"] for tool in tools if "cache_control" in tool]
    controls += [block["cache_control"] for block in system_blocks if "cache_control" in block]
    for message in messages:
        if isinstance(message["content"], list):
            controls += [block["cache_control"] for block in message["content"]
                         if "cache_control" in block]
    if len(controls) > MAX_CACHE_BREAKPOINTS:
        raise invalid("A maximum of %d blocks with cache_control may be provided. "
                      "Found %d." % (MAX_CACHE_BREAKPOINTS, len(controls)))
    seen_5m = False
    for control in controls:
        ttl = control.get("ttl", "5m")
        if ttl == "1h" and seen_5m:
            raise invalid("cache_control.ttl: a ttl='1h' cache_control block must not come "
                          "after a ttl='5m' one (in the order tools, system, messages)")
        seen_5m = seen_5m or ttl == "5m"


# ---------------------------------------------------------------------------
# The model's own rules (after the model is known)

def _apply_model_rules(req, thinking, effort):
    """What this model accepts: max_tokens, thinking, effort, sampling, forced
    tools, prefill, structured outputs, the context window."""
    spec = req.spec
    if req.max_tokens > spec.max_tokens:
        raise invalid("max_tokens: %d > %d, which is the maximum allowed number of output "
                      "tokens for %s" % (req.max_tokens, spec.max_tokens, spec.id))
    _apply_thinking(req, thinking)
    _apply_effort(req, effort)
    _check_sampling(req)
    _check_forced_tool(req)
    if not spec.prefill and req.messages[-1]["role"] == "assistant":
        raise invalid("messages: This model does not support assistant message prefill. "
                      "The conversation must end with a user message.")
    _check_structured_outputs(req)
    req.input_tokens = input_token_estimate(req)
    if req.input_tokens > spec.max_input_tokens:
        raise invalid("prompt is too long: %d tokens > %d maximum"
                      % (req.input_tokens, spec.max_input_tokens))


def _apply_thinking(req, thinking):
    spec = req.spec
    if thinking is None:
        req.thinking_type = spec.default_thinking
        return
    kind = thinking["type"]
    if kind not in spec.thinking_types:
        raise invalid('"thinking.type.%s" is not supported for this model.' % kind)
    if kind == "enabled" and thinking["budget_tokens"] >= req.max_tokens:
        raise invalid("max_tokens: must be greater than thinking.budget_tokens (%d)"
                      % thinking["budget_tokens"])
    req.thinking_type = kind
    req.thinking_display = thinking.get("display") or "omitted"
    req.budget_tokens = thinking.get("budget_tokens")


def _apply_effort(req, effort):
    spec = req.spec
    if effort is not None and not spec.efforts:
        raise invalid("output_config.effort: effort is not supported for this model.")
    if effort is not None and effort not in spec.efforts:
        raise invalid('output_config.effort: "%s" is not supported for this model '
                      '(supported: %s).' % (effort, ", ".join(spec.efforts)))
    req.effort = effort or spec.default_effort
    limit = spec.thinking_off_max_effort
    if req.thinking_type in THINKING_OFF and limit and req.effort \
            and EFFORT_LEVELS.index(req.effort) > EFFORT_LEVELS.index(limit):
        raise invalid('output_config.effort: "%s" is not supported with '
                      '"thinking.type.%s" on this model; use effort "%s" or lower.'
                      % (req.effort, req.thinking_type, limit))


def _check_sampling(req):
    """On 2023-06-01 (the only version that has them): what the model allows."""
    body = req.body
    if req.spec.sampling == "fixed":
        if "temperature" in body and body["temperature"] != 1:
            raise invalid("temperature: only 1.0 is supported for this model")
        if "top_p" in body and body["top_p"] < 0.99:
            raise invalid("top_p: only values >= 0.99 are supported for this model")
        if "top_k" in body:
            raise invalid("top_k: is not supported for this model")
        return
    if "temperature" in body and "top_p" in body:
        raise invalid("temperature: `temperature` and `top_p` cannot both be specified "
                      "for this model. Please use only one.")
    if req.thinking_type == "enabled":
        if "temperature" in body and body["temperature"] != 1:
            raise invalid("temperature: may only be set to 1 when thinking is enabled")
        if "top_k" in body:
            raise invalid("top_k: is not supported when thinking is enabled")
        if "top_p" in body and body["top_p"] < 0.95:
            raise invalid("top_p: must be between 0.95 and 1 when thinking is enabled")


def _check_forced_tool(req):
    if not req.forced:
        return
    if req.spec.forced_tool == "never":
        raise invalid('tool_choice.type: forcing tool use ("%s") is not supported for '
                      'this model; use "auto", or output_config.format for a '
                      'structured answer.' % req.body["tool_choice"]["type"])
    if req.thinking_type not in THINKING_OFF:
        raise invalid("tool_choice.type: Thinking may not be enabled when tool_choice "
                      "forces tool use.")


def _check_structured_outputs(req):
    if req.spec.structured_outputs:
        return
    if req.json_schema is not None:
        raise invalid("output_config.format: structured outputs are not supported for "
                      "this model.")
    for index, tool in enumerate(req.tools):
        if tool.get("strict"):
            raise invalid("tools.%d.strict: structured outputs are not supported for "
                          "this model." % index)


# ---------------------------------------------------------------------------
# The structured-output schema subset (output_config.format, strict tools)

SUBSET_KEYWORDS = frozenset({
    "type", "enum", "const", "anyOf", "allOf", "$ref", "$defs", "description", "title",
    "properties", "required", "additionalProperties", "format", "items", "minItems",
})
SUBSET_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
SUBSET_FORMATS = ("date-time", "time", "date", "duration", "email", "hostname", "uri",
                  "ipv4", "ipv6", "uuid")


def check_structured_schema(schema, where):
    """400 naming the path of the first keyword outside the subset the API
    accepts for structured outputs (the SDK's transformJSONSchema keeps these
    and moves the rest into descriptions)."""
    if schema.get("type") != "object":
        raise invalid("%s.type: the root of a structured output schema must be "
                      "'object'" % where)
    defs = schema.get("$defs", {})
    if not isinstance(defs, dict):
        raise invalid("%s.$defs: Input should be an object" % where)
    for name, definition in defs.items():
        _check_subset(definition, "%s.$defs.%s" % (where, name), defs, 1)
    _check_subset(schema, where, defs, 0, root=True)
    _check_no_recursion(defs, where)


def _check_subset(schema, where, defs, depth, root=False):
    if depth > SCHEMA_DEPTH_MAX:
        raise invalid("%s: schema is nested too deeply" % where)
    if not isinstance(schema, dict):
        raise invalid("%s: Input should be a JSON schema object" % where)
    for key in schema:
        if key not in SUBSET_KEYWORDS or (key == "$defs" and not root):
            raise invalid('%s.%s: the keyword "%s" is not supported in structured '
                          'output schemas' % (where, key, key))
    kinds = _subset_types(schema, where)
    _check_subset_literals(schema, where)
    for key in ("description", "title"):
        if key in schema and not isinstance(schema[key], str):
            raise invalid("%s.%s: Input should be a valid string" % (where, key))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/$defs/") \
                or ref[len("#/$defs/"):] not in defs:
            raise invalid("%s.$ref: only local references to #/$defs/NAME that exist "
                          "are supported" % where)
    for key in ("anyOf", "allOf"):
        if key in schema:
            options = schema[key]
            if not isinstance(options, list) or not options:
                raise invalid("%s.%s: Input should be a non-empty list" % (where, key))
            for index, option in enumerate(options):
                _check_subset(option, "%s.%s.%d" % (where, key, index), defs, depth + 1)
    if not kinds and not any(k in schema for k in ("enum", "const", "anyOf", "allOf", "$ref")):
        raise invalid("%s: a schema needs a type unless it uses enum, const, anyOf, "
                      "allOf or $ref" % where)
    _check_subset_object(schema, where, defs, depth, kinds)
    _check_subset_array(schema, where, defs, depth, kinds)
    if "format" in schema and ("string" not in kinds or schema["format"] not in SUBSET_FORMATS):
        raise invalid("%s.format: only string formats %s are supported"
                      % (where, ", ".join(SUBSET_FORMATS)))


def _subset_types(schema, where):
    if "type" not in schema:
        return ()
    kinds = schema["type"]
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds or len(set(map(str, kinds))) != len(kinds) \
            or any(kind not in SUBSET_TYPES for kind in kinds):
        raise invalid("%s.type: Input should be one of %s, or a list of them"
                      % (where, ", ".join(SUBSET_TYPES)))
    return tuple(kinds)


def _check_subset_literals(schema, where):
    def primitive(value):
        return value is None or isinstance(value, (str, bool, int, float))
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not values or not all(map(primitive, values)):
            raise invalid("%s.enum: only a non-empty list of strings, numbers, booleans "
                          "and null is supported" % where)
    if "const" in schema and not primitive(schema["const"]):
        raise invalid("%s.const: only a string, number, boolean or null is supported" % where)


def _check_subset_object(schema, where, defs, depth, kinds):
    keys = [k for k in ("properties", "required", "additionalProperties") if k in schema]
    if "object" not in kinds:
        if keys:
            raise invalid("%s.%s: only allowed on a schema of type 'object'" % (where, keys[0]))
        return
    if schema.get("additionalProperties", None) is not False:
        raise invalid("%s.additionalProperties: must be set to false on every object in "
                      "a structured output schema" % where)
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise invalid("%s.properties: Input should be an object" % where)
    for name, sub in properties.items():
        _check_subset(sub, "%s.properties.%s" % (where, name), defs, depth + 1)
    required = schema.get("required", [])
    if not isinstance(required, list) or \
            any(not isinstance(name, str) or name not in properties for name in required):
        raise invalid("%s.required: a list of names from properties" % where)


def _check_subset_array(schema, where, defs, depth, kinds):
    keys = [k for k in ("items", "minItems") if k in schema]
    if "array" not in kinds:
        if keys:
            raise invalid("%s.%s: only allowed on a schema of type 'array'" % (where, keys[0]))
        return
    if "items" in schema:
        _check_subset(schema["items"], where + ".items", defs, depth + 1)
    if "minItems" in schema and (not is_int(schema["minItems"])
                                 or schema["minItems"] not in (0, 1)):
        raise invalid("%s.minItems: only 0 or 1 is supported" % where)


def _schema_refs(schema, found):
    """Every $defs name a schema refers to, anywhere inside it."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found.add(ref[len("#/$defs/"):])
        for key, value in schema.items():
            if key != "$defs":
                _schema_refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _schema_refs(value, found)
    return found


def _check_no_recursion(defs, where):
    """Recursive schemas (a $defs entry reaching itself) are not supported."""
    edges = {name: _schema_refs(definition, set()) for name, definition in defs.items()}
    for start in edges:
        stack, seen = list(edges[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                raise invalid("%s.$defs.%s: recursive schemas are not supported" % (where, start))
            if name not in seen:
                seen.add(name)
                stack.extend(edges.get(name, ()))


# ---------------------------------------------------------------------------
# What the user said: the last user message, its directives, its sentences

@dataclasses.dataclass
class Directives:
    """The [..] markers a test can put in a user message to steer the double."""
    intent: str = None
    no_changes: bool = False
    no_findings: bool = False
    redacted_thinking: bool = False
    fault_kind: str = None
    fault_times: int = 0          # 0: every matching call fails
    fault_agents: tuple = ()


@dataclasses.dataclass
class UserText:
    """The last user message: as sent, with directives blanked, and cleaned.
    board_ids are the item ids listed around the <message> section."""
    original: str
    masked: str
    clean: str
    directives: Directives
    board_ids: tuple = ()


def content_text(content):
    if isinstance(content, str):
        return content
    return "\n".join(block["text"] for block in content if block.get("type") == "text")


def message_section(text):
    """(the inside of the last <message>...</message> section, the rest).

    The product's orchestrator wraps the person's words in tagged sections
    (<board>, <conversation>, <message>, ...); only <message> is what the
    person just said, so keywords, sentences and directives come from it.
    Without a <message> section the whole text is the message."""
    start = text.rfind(MESSAGE_OPEN)
    if start < 0:
        return text, ""
    inner = start + len(MESSAGE_OPEN)
    end = text.find(MESSAGE_CLOSE, inner)
    if end < 0:
        return text[inner:], text[:start]
    return text[inner:end], text[:start] + text[end + len(MESSAGE_CLOSE):]


def read_user_text(messages):
    """Everything the answer derives from: the text of the LAST user message."""
    original, context = "", ""
    for message in reversed(messages):
        if message["role"] == "user":
            original, context = message_section(content_text(message["content"]))
            break
    masked = DIRECTIVE_RE.sub(lambda m: " " * len(m.group(0)), original)
    board_ids = tuple(dict.fromkeys(BOARD_ID_RE.findall(context)))
    return UserText(original, masked, collapse_spaces(masked), parse_directives(original),
                    board_ids)


def parse_directives(text):
    found = Directives()
    agents = []
    for match in DIRECTIVE_RE.finditer(text):
        name, value, flag = match.group(1), match.group(2), match.group(3)
        if flag == "no-changes":
            found.no_changes = True
        elif flag == "no-findings":
            found.no_findings = True
        elif flag == "redacted-thinking":
            found.redacted_thinking = True
        elif name == "intent" and value in INTENTS and found.intent is None:
            found.intent = value
        elif name == "fault-agent":
            agents.append(value)
        elif name == "fault" and found.fault_kind is None:
            kind, _, times = value.partition(":")
            if kind in FAULT_KINDS:
                found.fault_kind = kind
                found.fault_times = int(times) if times else 0
    found.fault_agents = tuple(agents)
    return found


@dataclasses.dataclass
class Sentence:
    text: str        # directive-free, whitespace collapsed, without terminator
    quote: str       # exactly as in the user's text, terminator included
    is_question: bool


def split_sentences(user):
    """Sentences end at . ! ? or a line break; quotes are slices of the original."""
    sentences = []
    for match in re.finditer(r"[^.!?\n]+[.!?]*", user.masked):
        start, end = match.span()
        while start < end and user.masked[start].isspace():
            start += 1
        while end > start and user.masked[end - 1].isspace():
            end -= 1
        body_end = end
        while body_end > start and user.masked[body_end - 1] in ".!?":
            body_end -= 1
        text = collapse_spaces(user.masked[start:body_end])
        if text:
            sentences.append(Sentence(text, user.original[start:end],
                                      "?" in user.masked[body_end:end]))
    return sentences


def idea_sentences(user):
    """The sentences the recorder turns into board changes."""
    return [s for s in split_sentences(user)
            if not s.is_question and word_count(s.text) >= 3]


def classify_intent(user):
    """(intent, confidence): a directive wins, then the keyword table."""
    seed = stable_hash("intent", user.original)
    if user.directives.intent:
        return user.directives.intent, 95
    text = normalise_for_matching(user.clean)
    for intent, phrases in INTENT_KEYWORDS:
        if phrase_regex(phrases).search(text):
            return intent, 60 + seed % 36
    return "general", 40 + seed % 20


def sentence_state(sentence):
    text = normalise_for_matching(sentence)
    if phrase_regex(DECIDED_PHRASES).search(text):
        return "decided"
    if phrase_regex(PARKED_PHRASES).search(text):
        return "parked"
    return "exploring"


# ---------------------------------------------------------------------------
# A JSON Schema walker that produces valid, readable values

def schema_type(schema):
    kind = schema.get("type")
    if isinstance(kind, list):
        names = [k for k in kind if isinstance(k, str)]
        non_null = [k for k in names if k != "null"]
        return non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def schema_properties(schema):
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def schema_required(schema):
    required = schema.get("required")
    return [r for r in required if isinstance(r, str)] if isinstance(required, list) else []


def humanize(name):
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)).replace("_", " ").replace("-", " ")
    words = collapse_spaces(words)
    return words[:1].upper() + words[1:] if words else "Value"


def singular(name):
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "shes", "ches", "xes", "zes")):
        return name[:-2]
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def is_id_like(name):
    return name == "id" or name.endswith("_id") or name.endswith("Id")


def numeric_bounds(schema):
    """(low, high) inclusive, from minimum/maximum and their exclusive forms."""
    low, high = schema.get("minimum"), schema.get("maximum")
    is_integer = schema_type(schema) == "integer"
    step = 1 if is_integer else 1e-6
    if is_number(schema.get("exclusiveMinimum")):
        low = schema["exclusiveMinimum"] + step
    if is_number(schema.get("exclusiveMaximum")):
        high = schema["exclusiveMaximum"] - step
    if is_integer:
        low = math.ceil(low) if is_number(low) else None
        high = math.floor(high) if is_number(high) else None
    return (low if is_number(low) else None, high if is_number(high) else None)


def clamp_number(value, schema):
    low, high = numeric_bounds(schema)
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return value


def fit_string(value, schema):
    low = schema.get("minLength") if is_int(schema.get("minLength")) else 0
    low = min(low, GENERATED_STRING_MAX)
    high = schema.get("maxLength") if is_int(schema.get("maxLength")) else None
    if high is not None:
        value = value[:high]
    if len(value) < low:
        value = value + "." * (low - len(value))
    return value


class SchemaFiller:
    """Builds a value that satisfies a JSON Schema, with readable strings.

    The product validates every agent answer against the tool's schema, so a
    double whose answers merely look right would hide client bugs; values are
    derived from the user's text so tests can predict them."""

    MAX_DEPTH = 24

    def __init__(self, root, user):
        self.root = root
        self.user = user
        self.snippet = user.clean[:60].rstrip()

    def fill(self, schema, name="value", depth=0, index=0, overrides=None):
        schema = self.resolve(schema, depth)
        if depth > self.MAX_DEPTH or not isinstance(schema, dict):
            return None
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            # The first value, so tests can predict it; array items step through.
            return schema["enum"][index % len(schema["enum"])]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.fill(schema[key][0], name, depth + 1, index, overrides)
        if isinstance(schema.get("allOf"), list):
            schema = self._merge_all_of(schema, depth)
        kind = schema_type(schema)
        filler = getattr(self, "_fill_" + kind, None)
        if filler is None:
            return None
        if kind == "object":
            return filler(schema, name, depth, index, overrides or {})
        return filler(schema, name, depth, index)

    def resolve(self, schema, depth):
        """Follows local $refs (#/$defs/x, #/definitions/x), bounded by depth."""
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) \
                and depth <= self.MAX_DEPTH:
            target = self.root
            ref = schema["$ref"]
            if not ref.startswith("#"):
                return {}
            for part in [p for p in ref[1:].split("/") if p]:
                target = target.get(part) if isinstance(target, dict) else None
            schema = target if isinstance(target, dict) else {}
            depth += 1
        return schema

    def _merge_all_of(self, schema, depth):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        properties = dict(schema_properties(merged))
        required = schema_required(merged)
        for part in schema["allOf"]:
            part = self.resolve(part, depth + 1)
            if isinstance(part, dict):
                properties.update(schema_properties(part))
                required += [r for r in schema_required(part) if r not in required]
                for key, value in part.items():
                    merged.setdefault(key, value)
        merged["properties"], merged["required"] = properties, required
        return merged

    def _fill_object(self, schema, name, depth, index, overrides):
        properties = schema_properties(schema)
        required = schema_required(schema)
        keys = [k for k in properties if k in required or not is_id_like(k)]
        keys += [k for k in required if k not in keys]
        keys += [k for k in overrides if k not in keys]
        out = {}
        for key in keys:
            sub = properties.get(key)
            if sub is None:
                extra = schema.get("additionalProperties")
                sub = extra if isinstance(extra, dict) else {"type": "string"}
            if key in overrides:
                out[key] = self.fit(overrides[key], sub, key, depth + 1)
            else:
                out[key] = self.fill(sub, key, depth + 1, index)
        return out

    def fit(self, value, schema, name, depth):
        """Adapts a meaningful value to its schema, else falls back to fill()."""
        schema = self.resolve(schema, depth)
        if not isinstance(schema, dict):
            return value
        if isinstance(schema.get("enum"), list):
            return value if value in schema["enum"] else self.fill(schema, name, depth)
        kind = schema_type(schema)
        if kind == "string" and isinstance(value, str):
            return fit_string(value, schema)
        if kind in ("integer", "number") and is_number(value):
            return clamp_number(value, schema)
        if kind == "array" and isinstance(value, list):
            return value
        if kind == "object" and isinstance(value, dict):
            return value
        return self.fill(schema, name, depth)

    def _fill_array(self, schema, name, depth, index):
        low = schema.get("minItems") if is_int(schema.get("minItems")) else 0
        high = schema.get("maxItems") if is_int(schema.get("maxItems")) else None
        count = 0 if self.user.directives.no_findings else 1
        count = min(max(count, low), GENERATED_ITEMS_MAX)
        if high is not None:
            count = min(count, high)
        items = schema.get("items", {})
        item_name = singular(str(name))
        out = []
        for i in range(count):
            item_schema = items[min(i, len(items) - 1)] if isinstance(items, list) and items \
                else items
            out.append(self.fill(item_schema, item_name, depth + 1, i))
        return out

    def _fill_string(self, schema, name, depth, index):
        formats = {"date-time": "2025-01-01T00:00:00Z", "date": "2025-01-01",
                   "email": "double@example.com", "uri": "https://example.com/double"}
        form = schema.get("format") if isinstance(schema.get("format"), str) else None
        if form == "uuid":
            digits = "%032x" % (stable_hash("uuid", name, index, self.user.original) << 64
                                | stable_hash("uuid2", name, index, self.user.original))
            value = "%s-%s-4%s-8%s-%s" % (digits[:8], digits[8:12], digits[13:16],
                                          digits[17:20], digits[20:32])
        elif form in formats:
            value = formats[form]
        elif is_id_like(str(name)):
            value = self.user.board_ids[0] if self.user.board_ids else ""
        else:
            label = humanize(name) + (" %d" % (index + 1) if index else "")
            value = "%s in: %s" % (label, self.snippet) if self.snippet else label
        return fit_string(value, schema)

    def _fill_integer(self, schema, name, depth, index):
        return clamp_number(self._pick_number(name, index), schema)

    def _fill_number(self, schema, name, depth, index):
        return clamp_number(self._pick_number(name, index), schema)

    def _pick_number(self, name, index):
        """Confidences look confident; indexes point at the first change;
        ranks follow the item order; anything else is small."""
        name = str(name).lower()
        seed = stable_hash("number", name, index, self.user.original)
        if "confidence" in name:
            return 60 + seed % 36
        if name.endswith("index"):
            return 0
        if name == "rank":
            return index + 1
        return 1 + seed % 5

    def _fill_boolean(self, schema, name, depth, index):
        return False

    def _fill_null(self, schema, name, depth, index):
        return None


# ---------------------------------------------------------------------------
# Agent answers

def is_intent_schema(properties):
    intent = properties.get("intent")
    return isinstance(intent, dict) and isinstance(intent.get("enum"), list) \
        and any(isinstance(value, str) and value in INTENTS for value in intent["enum"])


def recorder_changes(array_schema, user, filler):
    """One "add" per idea sentence, quoting the user's words exactly."""
    array_schema = filler.resolve(array_schema, 0)
    items_schema = filler.resolve(array_schema.get("items", {}), 1)
    item_properties = items_schema.get("properties") if isinstance(items_schema, dict) else None
    low = array_schema.get("minItems") if is_int(array_schema.get("minItems")) else 0
    low = min(low, GENERATED_ITEMS_MAX)
    high = array_schema.get("maxItems") if is_int(array_schema.get("maxItems")) else None
    sentences = [] if user.directives.no_changes else idea_sentences(user)
    if high is not None:
        sentences = sentences[:high]
    changes = []
    for index, sentence in enumerate(sentences):
        known = {"action": "add", "text": sentence.text,
                 "state": sentence_state(sentence.text),
                 "user_quote": sentence.quote,
                 "confidence": 60 + stable_hash("change", sentence.quote) % 36}
        if isinstance(item_properties, dict):
            known = {k: v for k, v in known.items() if k in item_properties}
        changes.append(filler.fill(items_schema, "change", 2, index, known))
    while len(changes) < low:
        changes.append(filler.fill(items_schema, "change", 2, len(changes)))
    return changes


def build_structured_value(schema, name, user):
    """A forced or called tool's input, or a json_schema answer: valid for its
    schema, meaningful for the known agents (intent, recorder)."""
    filler = SchemaFiller(schema, user)
    properties = schema_properties(schema)
    overrides = {}
    if is_intent_schema(properties):
        intent, confidence = classify_intent(user)
        overrides["intent"] = intent
        if "confidence" in properties:
            overrides["confidence"] = confidence
    changes = properties.get("changes")
    if isinstance(changes, dict) and schema_type(filler.resolve(changes, 0)) == "array":
        overrides["changes"] = recorder_changes(changes, user, filler)
    return filler.fill(schema, name, 0, 0, overrides)


def reply_text(user):
    """The conversation agent's reply: 40-80 words, chosen by the user's text."""
    seed = stable_hash("reply", user.original)
    count = len(REPLY_SENTENCES)
    start, step = seed % count, (1, 3, 5, 7)[(seed // count) % 4]
    chosen = [REPLY_SENTENCES[(start + k * step) % count] for k in range(4)]
    return 'Thinking about "%s": %s' % (user.clean[:80], " ".join(chosen))


def thinking_summary(req, user):
    """The summarized thinking (display "summarized"): short and deterministic."""
    how = "%s effort" % req.effort if req.thinking_type == "adaptive" and req.effort \
        else "a budget of %d tokens" % req.thinking_tokens
    return ('About "%s": I will answer with %s, plainly and briefly.'
            % (user.clean[:60].rstrip(), how))


def tool_use_id(name, serialized):
    digest = hashlib.sha256(("%s\x1f%s" % (name, serialized)).encode("utf-8")).digest()
    return "toolu_01" + base62(int.from_bytes(digest, "big"), 22)


def split_text_deltas(text, seed):
    """Text deltas of one to three words each; they concatenate to the text."""
    words = re.findall(r"\s*\S+\s*$|\s*\S+", text)
    if "".join(words) != text:
        return [text] if text else []
    pieces, position, turn = [], 0, 0
    piece_hash = stable_hasher("delta", seed)
    while position < len(words):
        size = 1 + piece_hash(turn) % 3
        pieces.append("".join(words[position:position + size]))
        position += size
        turn += 1
    return pieces


def split_json_deltas(serialized, seed):
    """input_json_delta pieces of 5-20 characters, after the real API's empty one."""
    pieces, position, turn = [""], 0, 0
    piece_hash = stable_hasher("json", seed)
    while position < len(serialized):
        size = 5 + piece_hash(turn) % 16
        pieces.append(serialized[position:position + size])
        position += size
        turn += 1
    return pieces


def cut_at_stop_sequence(full, stop_sequences):
    """(text, stop_reason, stop_sequence): cut before the first stop sequence found."""
    hits = [(full.find(s), s) for s in stop_sequences if s in full]
    if not hits:
        return full, "end_turn", None
    position, matched = min(hits)
    return full[:position], "stop_sequence", matched


def cut_text(full, stop_sequences, max_tokens):
    """(text, stop_reason, stop_sequence): the stop that comes first wins."""
    text, reason, matched = cut_at_stop_sequence(full, stop_sequences)
    words = re.findall(r"\s*\S+", text)
    if len(words) > max_tokens:
        return "".join(words[:max_tokens]).lstrip(), "max_tokens", None
    return text, reason, matched


@dataclasses.dataclass
class Block:
    """One content block: whole (content), and as a stream (start, then deltas)."""
    content: dict
    start: dict
    deltas: list


@dataclasses.dataclass
class Answer:
    """One model answer, ready to send whole or as a stream."""
    blocks: list                 # Block objects, in order
    stop_reason: str
    stop_sequence: str = None
    output_tokens: int = 1       # thinking tokens included
    thinking_tokens: int = 0
    stop_details: dict = None
    partial: Block = None        # streamed after blocks, absent from a whole answer

    @property
    def content(self):
        return [block.content for block in self.blocks]

    @property
    def streamed(self):
        return self.blocks + ([self.partial] if self.partial else [])


def compose_thinking(req, user, limit):
    """([the thinking block a thinking model emits first], the tokens it spent)."""
    tokens = min(req.thinking_tokens, limit)
    if tokens == 0:
        return [], 0
    nonce = thinking_nonce("thinking", req.model, req.thinking_type, user.original)
    if user.directives.redacted_thinking:
        block = {"type": "redacted_thinking", "data": redacted_data(nonce)}
        return [Block(block, dict(block), [])], tokens
    text = thinking_summary(req, user) if req.thinking_display == "summarized" else ""
    signature = thinking_signature(nonce, text)
    deltas = [{"type": "thinking_delta", "thinking": piece}
              for piece in split_text_deltas(text, user.original)]
    deltas.append({"type": "signature_delta", "signature": signature})
    block = {"type": "thinking", "thinking": text, "signature": signature}
    start = {"type": "thinking", "thinking": "", "signature": ""}
    return [Block(block, start, deltas)], tokens


def compose_text_block(req, user, room):
    text, reason, matched = cut_text(reply_text(user), req.stop_sequences, room)
    deltas = [{"type": "text_delta", "text": piece}
              for piece in split_text_deltas(text, user.original)]
    block = Block({"type": "text", "text": text}, {"type": "text", "text": ""}, deltas)
    return block, reason, matched, max(1, word_count(text))


def compose_json_block(req, user, room):
    """The json_schema answer: one text block of JSON (1 token = 4 characters)."""
    title = req.json_schema.get("title")
    name = title if isinstance(title, str) and title else "answer"
    full = json.dumps(build_structured_value(req.json_schema, name, user), ensure_ascii=False)
    text, reason, matched = cut_at_stop_sequence(full, req.stop_sequences)
    tokens = max(1, math.ceil(len(text) / 4))
    if tokens > room:
        # Out of tokens mid-answer: the JSON never closes, like the real API.
        text, tokens, reason, matched = text[:room * 4], room, "max_tokens", None
    deltas = [{"type": "text_delta", "text": piece}
              for piece in split_json_deltas(text, full)[1:]]
    block = Block({"type": "text", "text": text}, {"type": "text", "text": ""}, deltas)
    return block, reason, matched, tokens


def compose_tool_block(req, user, room):
    tool = req.tool
    tool_input = build_structured_value(tool["input_schema"], tool["name"], user)
    serialized = json.dumps(tool_input, ensure_ascii=False)
    block_id = tool_use_id(tool["name"], serialized)
    tokens = max(1, math.ceil(len(serialized) / 4))
    reason = "tool_use"
    if tokens > room:
        # Out of tokens mid-call: the input never closes, like the real API.
        serialized, tool_input, tokens = serialized[:room * 4], {}, room
        reason = "max_tokens"
    deltas = [{"type": "input_json_delta", "partial_json": piece}
              for piece in split_json_deltas(serialized, block_id)]
    block = Block({"type": "tool_use", "id": block_id, "name": tool["name"],
                   "input": tool_input},
                  {"type": "tool_use", "id": block_id, "name": tool["name"], "input": {}},
                  deltas)
    return block, reason, None, tokens


def compose_answer(req, limit=None):
    """Thinking first (when the model thinks), then the tool call, the
    json_schema text or the reply, all within limit (default max_tokens)."""
    user = req.user
    limit = req.max_tokens if limit is None else limit
    blocks, thinking = compose_thinking(req, user, limit)
    room = limit - thinking
    if room <= 0:
        return Answer(blocks, "max_tokens", None, thinking, thinking)
    if req.tool:
        block, reason, matched, tokens = compose_tool_block(req, user, room)
    elif req.json_schema is not None:
        block, reason, matched, tokens = compose_json_block(req, user, room)
    else:
        block, reason, matched, tokens = compose_text_block(req, user, room)
    return Answer(blocks + [block], reason, matched, thinking + tokens, thinking)


def end_answer_early(req, answer, kind):
    """The stop-reason faults (HTTP 200): refusal, context_exceeded, pause_turn."""
    if kind == "context_exceeded":
        half = answer.thinking_tokens + max(1, (answer.output_tokens
                                                - answer.thinking_tokens) // 2)
        cut = compose_answer(req, limit=half)
        cut.stop_reason, cut.stop_sequence = STOP_FAULTS[kind], None
        return cut
    thinking = [b for b in answer.blocks if b.content["type"].endswith("thinking")]
    ended = Answer(thinking, STOP_FAULTS[kind], None, max(1, answer.thinking_tokens),
                   answer.thinking_tokens)
    rest = answer.blocks[len(thinking):]
    if kind == "refusal":
        ended.stop_details = {"type": "refusal", "category": REFUSAL_CATEGORY,
                              "explanation": REFUSAL_EXPLANATION}
        if rest:
            # A stream shows a little of the answer before the classifier stops it.
            shown = rest[0].deltas[:min(3, len(rest[0].deltas) // 2)]
            ended.partial = Block(rest[0].start, rest[0].start, shown)
            ended.output_tokens = answer.thinking_tokens + max(1, len(shown))
    return ended


# ---------------------------------------------------------------------------
# Usage and prompt caching

def input_token_estimate(req):
    """1 token ~ 1 word over system, messages and the tools' JSON."""
    total = sum(word_count(block["text"]) for block in req.system_blocks)
    for message in req.messages:
        content = message["content"]
        if isinstance(content, str):
            total += word_count(content)
            continue
        for block in content:
            if block["type"] == "text":
                total += word_count(block["text"])
            elif block["type"] == "tool_use":
                total += word_count(json.dumps(block["input"]))
            elif block["type"] == "thinking":
                total += word_count(block["thinking"])
            elif block["type"] == "tool_result":
                inner = block.get("content", "")
                total += word_count(inner if isinstance(inner, str) else content_text(inner))
    if req.tools:
        total += word_count(json.dumps(req.tools))
    if req.json_schema is not None:
        total += word_count(json.dumps(req.json_schema))
    return max(1, total)


def cache_prefix(req):
    """(tokens, key, ttl) of the system prefix up to the last cache_control,
    or (0, None, None) when there is none or it is under the model's minimum."""
    last = None
    for index, block in enumerate(req.system_blocks):
        if "cache_control" in block:
            last = index
    if last is None:
        return 0, None, None
    prefix = tuple(block["text"] for block in req.system_blocks[:last + 1])
    tokens = sum(word_count(text) for text in prefix)
    if tokens < req.spec.cache_min_tokens:
        return 0, None, None
    if sum(len(text) for text in prefix) <= REMEMBERED_TEXT_MAX:
        key = _cached_prefix_key(req.model, prefix)
    else:
        key = prefix_key(req.model, prefix)
    return tokens, key, req.system_blocks[last]["cache_control"].get("ttl", "5m")


def prefix_key(model, prefix):
    """The prompt cache's key of a system prefix (a tuple of texts)."""
    return hashlib.sha256(json.dumps([model, list(prefix)]).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=256)
def _cached_prefix_key(model, prefix):
    """The same prefix comes back with every call of an agent."""
    return prefix_key(model, prefix)


class PromptCache:
    """Which prompt prefixes this process has seen, and until when they live."""

    def __init__(self):
        self._lock = threading.Lock()   # guards _expires
        self._expires = {}

    def touch(self, key, now, ttl):
        """True when the prefix was cached (a read); either way it lives on for
        its ttl (a read renews it; a longer ttl wins)."""
        with self._lock:
            expires = self._expires.get(key)
            hit = expires is not None and now < expires
            renewed = now + CACHE_TTL_SECONDS[ttl]
            self._expires[key] = max(renewed, expires) if hit else renewed
            return hit

    def clear(self):
        with self._lock:
            self._expires.clear()


def compute_usage(req, answer, cache):
    total = req.input_tokens
    prefix_tokens, key, ttl = cache_prefix(req)
    creation = read = 0
    if key is not None:
        if cache.touch(key, time.monotonic(), ttl):
            read = prefix_tokens
        else:
            creation = prefix_tokens
    return {"input_tokens": max(0, total - creation - read),
            "output_tokens": answer.output_tokens,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": creation if ttl == "5m" else 0,
                               "ephemeral_1h_input_tokens": creation if ttl == "1h" else 0},
            "output_tokens_details": {"thinking_tokens": answer.thinking_tokens}}


# ---------------------------------------------------------------------------
# Faults

@dataclasses.dataclass
class Fault:
    """One scripted failure; `count` is how many more calls it will hit."""
    kind: str
    count: int = 1
    match: dict = dataclasses.field(default_factory=dict)
    retry_after: int = None        # seconds (retry-after); rate_limit defaults to 1
    retry_after_ms: int = None     # retry-after-ms
    x_should_retry: bool = None    # sets (or overrides) x-should-retry
    seconds: float = 300.0
    ms: int = 0

    def matches(self, req):
        """Every key of match equals the call's (model: its id or the alias sent)."""
        for key, value in self.match.items():
            if key == "model" and value not in (req.model, req.requested_model):
                return False
            if key == "tool" and value != req.tool_label:
                return False
            if key == "stream" and value != req.stream:
                return False
        return True

    def headers(self):
        """The retry headers this fault adds to whatever it answers."""
        headers = {}
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        if self.x_should_retry is not None:
            headers["x-should-retry"] = "true" if self.x_should_retry else "false"
        return headers


def _fault_integer(spec, key, where, low):
    if key not in spec:
        return None
    if not is_int(spec[key]) or spec[key] < low:
        raise invalid("%s.%s: an integer >= %d" % (where, key, low))
    return spec[key]


def parse_fault(spec, where):
    """A fault from the control API, validated like any other input."""
    if not isinstance(spec, dict):
        raise invalid("%s: Input should be an object" % where)
    known = ("kind", "count", "match", "retry_after", "retry_after_ms", "x_should_retry",
             "seconds", "ms")
    for key in spec:
        if key not in known:
            raise invalid("%s.%s: unknown field" % (where, key))
    if spec.get("kind") not in FAULT_KINDS:
        raise invalid("%s.kind: one of %s" % (where, ", ".join(FAULT_KINDS)))
    fault = Fault(spec["kind"])
    count = _fault_integer(spec, "count", where, 1)
    fault.count = 1 if count is None else count
    match = spec.get("match", {})
    if not isinstance(match, dict) or any(k not in FAULT_MATCH_KEYS for k in match):
        raise invalid("%s.match: an object with tool, model and/or stream" % where)
    if "stream" in match and not isinstance(match["stream"], bool):
        raise invalid("%s.match.stream: a boolean" % where)
    for key in ("tool", "model"):
        if key in match and not isinstance(match[key], str):
            raise invalid("%s.match.%s: a string" % (where, key))
    fault.match = dict(match)
    fault.retry_after = _fault_integer(spec, "retry_after", where, 0)
    fault.retry_after_ms = _fault_integer(spec, "retry_after_ms", where, 0)
    if "x_should_retry" in spec:
        if not isinstance(spec["x_should_retry"], bool):
            raise invalid("%s.x_should_retry: a boolean" % where)
        fault.x_should_retry = spec["x_should_retry"]
    if "seconds" in spec:
        if not is_number(spec["seconds"]) or spec["seconds"] <= 0:
            raise invalid("%s.seconds: a number > 0" % where)
        fault.seconds = float(spec["seconds"])
    fault.ms = _fault_integer(spec, "ms", where, 0) or 0
    return fault


def fault_error(fault, streaming):
    """The HTTP error a fault of an error kind answers, or None for other kinds."""
    kind = fault.kind
    if kind == "stream_error" and not streaming:
        kind = "overloaded"
    if kind not in ERROR_FAULTS:
        return None
    status, error_type, message = ERROR_FAULTS[kind]
    headers, details = {}, None
    if kind == "rate_limit":
        headers = {"retry-after": "1", "anthropic-ratelimit-requests-remaining": "0"}
    if kind == "spend_cap":
        # A spend cap lifts next month: no retry-after, and the SDK must not retry.
        headers = {"x-should-retry": "false"}
        details = {"error_code": SPEND_CAP_ERROR_CODE}
    headers.update(fault.headers())
    return ApiError(status, error_type, message, headers, details)


# ---------------------------------------------------------------------------
# Shared state: counters, pace, faults, cache

class DoubleState:
    """Everything the connections share.  They all run on one event loop;
    the locks (one for all of it but the prompt cache, which has its own)
    keep it safe for threads all the same.  release_event (an asyncio.Event)
    is swapped on reset so that hung requests wake up.  today and
    announced (the calendar the catalogue follows) are read together under
    the lock by catalogue(); announced is replaced, never edited, so the
    Catalogue a request holds does not change under it."""

    def __init__(self, latency_ms, token_delay_ms,
                 rate_limit_requests=RATE_LIMIT_REQUESTS,
                 rate_limit_tokens=RATE_LIMIT_TOKENS, today=DEFAULT_TODAY):
        self.lock = threading.Lock()
        self.latency_ms = latency_ms
        self.token_delay_ms = token_delay_ms
        self.rate_limit_requests = rate_limit_requests
        self.rate_limit_tokens = rate_limit_tokens
        self.first_today = today      # what reset goes back to
        self.today = today
        self.announced = {}           # model id: (deprecated, retires), by POST /_double/models
        self.in_flight = 0
        self.cache = PromptCache()
        self.release_event = asyncio.Event()
        self._zero()

    def _zero(self):
        self.requests = 0
        self.max_in_flight = self.in_flight
        self.by_model = collections.Counter()
        self.by_tool = collections.Counter()
        self.by_status = collections.Counter()
        self.faults_injected = collections.Counter()
        self.faults = []
        self.directive_calls = collections.Counter()
        self.recent = collections.deque(maxlen=RECENT_REQUESTS_KEPT)
        self.late_ms = collections.deque(maxlen=LATENESS_KEPT)
        self.windows = {}  # model family: [minute's start, requests, tokens]

    def begin_request(self):
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end_request(self, record):
        with self.lock:
            self.in_flight -= 1
            self.by_status[str(record["status"])] += 1
            if record.get("fault"):
                self.faults_injected[record["fault"]] += 1
            self.recent.append(record)

    def note_late(self, seconds):
        """How late an answer had its last byte ready, against the model's
        pace (latency from arrival, then one delta per token delay)."""
        with self.lock:
            self.late_ms.append(max(0.0, seconds * 1000.0))

    def note_call(self, req):
        with self.lock:
            self.by_model[req.model] += 1
            self.by_tool[req.tool_label] += 1

    def take_fault(self, req):
        """The first queued fault matching this call, consumed once."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(req):
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return dataclasses.replace(fault, count=1)
        return None

    def directive_fault(self, req, user):
        """The fault a [fault:KIND] in the user's text asks for, if it hits this call."""
        wanted = user.directives
        if wanted.fault_kind is None:
            return None
        if wanted.fault_agents and req.tool_label not in wanted.fault_agents:
            return None
        if wanted.fault_times:
            key = (hashlib.sha256(user.original.encode("utf-8")).hexdigest(), req.tool_label)
            with self.lock:
                self.directive_calls[key] += 1
                if self.directive_calls[key] > wanted.fault_times:
                    return None
        fault = Fault(wanted.fault_kind)
        if fault.kind == "delay":
            fault.ms = DIRECTIVE_FAULT_DELAY_MS
        return fault

    def add_faults(self, faults):
        with self.lock:
            self.faults.extend(faults)
            return sum(f.count for f in self.faults)

    def pace(self):
        with self.lock:
            return self.latency_ms, self.token_delay_ms, self.release_event

    def configure(self, **values):
        with self.lock:
            for key, value in values.items():
                if value is not None:
                    setattr(self, key, value)
            return self.config()

    def config(self):
        return {key: getattr(self, key) for key in CONFIG_KEYS}

    def catalogue(self):
        """The catalogue as of now: today's date and the announcements so far."""
        with self.lock:
            return Catalogue(self.today, self.announced)

    def announce(self, name, deprecated, retires):
        """Gives a model (an alias: its model) these dates, as Anthropic
        announces them; answers its ModelInfo as it is now."""
        with self.lock:
            spec = Catalogue(self.today, self.announced).find(name)
            announced = dict(self.announced)
            announced[spec.id] = (deprecated, retires)
            self.announced = announced
            catalogue = Catalogue(self.today, announced)
        return catalogue.info(catalogue.find(spec.id))

    def reset(self):
        """Besides the counters: back to the first date, no announcements.
        The other config keys stay as they are."""
        with self.lock:
            self._zero()
            self.today = self.first_today
            self.announced = {}
            self.release_event.set()
            self.release_event = asyncio.Event()
        self.cache.clear()

    def stats(self):
        with self.lock:
            late_ms = list(self.late_ms)
            out = {"requests": self.requests,
                   "in_flight": self.in_flight,
                   "max_in_flight": self.max_in_flight,
                   "by_model": dict(self.by_model),
                   "by_tool": dict(self.by_tool),
                   "by_status": dict(self.by_status),
                   "faults_injected": dict(self.faults_injected),
                   "faults_pending": sum(f.count for f in self.faults)}
        # Sorted outside the lock: the answers being served wait for none.
        out["late_ms"] = lateness_summary(late_ms)
        return out

    def recent_requests(self):
        with self.lock:
            return list(self.recent)

    def _window(self, family, now):
        """The family's current minute (under the lock)."""
        start = int(now // 60) * 60
        window = self.windows.get(family)
        if window is None or window[0] != start:
            window = self.windows[family] = [start, 0, 0]
        return window

    def _limit_headers(self, window):
        reset = rfc3339(window[0] + 60)
        return {"anthropic-ratelimit-requests-limit": str(self.rate_limit_requests),
                "anthropic-ratelimit-requests-remaining":
                    str(max(0, self.rate_limit_requests - window[1])),
                "anthropic-ratelimit-requests-reset": reset,
                "anthropic-ratelimit-tokens-limit": str(self.rate_limit_tokens),
                "anthropic-ratelimit-tokens-remaining":
                    str(max(0, self.rate_limit_tokens - window[2])),
                "anthropic-ratelimit-tokens-reset": reset}

    def admit(self, model):
        """Count a request in its model family's minute, or the 429 the real
        API answers when the minute's requests or tokens are spent (its
        retry-after the seconds left in the minute; a fixed window, where
        the real API refills a bucket as it goes)."""
        now = time.time()
        family = model_family(model)
        with self.lock:
            window = self._window(family, now)
            if window[1] < self.rate_limit_requests and \
                    window[2] < self.rate_limit_tokens:
                window[1] += 1
                return None
            spent = "requests" if window[1] >= self.rate_limit_requests else \
                "input and output tokens"
            limit = self.rate_limit_requests if spent == "requests" else \
                self.rate_limit_tokens
            headers = self._limit_headers(window)
        headers["retry-after"] = str(max(1, math.ceil(window[0] + 60 - now)))
        return ApiError(429, "rate_limit_error",
                        "This request would exceed your organization's rate limit "
                        "of %d %s per minute (model family %s). Please reduce the "
                        "prompt length or the maximum tokens requested, or try "
                        "again later." % (limit, spent, family), headers)

    def rate_limit_headers(self, model, tokens=0):
        """Per-minute budgets of the model's family, as the real API reports
        them on every answer; an answer's tokens count in its minute."""
        now = time.time()
        with self.lock:
            window = self._window(model_family(model), now)
            window[2] += tokens
            return self._limit_headers(window)


def model_family(model):
    """claude-haiku-5-5 → haiku: the real API pools limits per family."""
    parts = str(model).split("-")
    return parts[1] if len(parts) > 2 and parts[0] == "claude" else str(model)


def config_integer(least):
    """The rule of an integer config key: an integer >= least."""
    def check(value, key):
        if not is_int(value) or value < least:
            raise invalid("%s: an integer >= %d" % (key, least))
        return value
    return check


# The keys of GET and POST /_double/config (attributes of DoubleState), each
# with its rule: rule(value, key) answers the value to keep, or raises the 400.
CONFIG_RULES = {
    "latency_ms": config_integer(0),
    "token_delay_ms": config_integer(0),
    "rate_limit_requests": config_integer(1),
    "rate_limit_tokens": config_integer(1),
    "today": parse_date,
}
CONFIG_KEYS = tuple(CONFIG_RULES)


# ---------------------------------------------------------------------------
# HTTP
#
# One asyncio event loop serves every connection: a connection is a task, and
# every wait (the latency before an answer, the delay before each streamed
# delta, a hang, a slow client) is a timer or a socket event, never a sleeping
# thread.  So thousands of calls can be in flight at once; what limits the
# double is its CPU (one core: validating, composing and writing answers).
# The HTTP/1.1 layer keeps http.server's behaviour: the same status lines and
# headers (Server, Date), keep-alive rules, 100 Continue, error pages for
# malformed requests and limits on request and header lines.

HTTP_LINE_MAX = 65536          # http.server's limits on the request line
HTTP_HEADERS_MAX = 100         # and on the headers
STREAM_READER_LIMIT = 1 << 20  # asyncio's buffer limit for one connection
STREAM_EVENTS_PER_WRITE = 64   # a stream with nothing to wait for flushes this often

# json.dumps(value, ensure_ascii=False), without building an encoder per call.
encode_json = json.JSONEncoder(ensure_ascii=False).encode


def http_chunk(data):
    """data as one chunk of the chunked transfer coding (b"" ends the body)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def sse_chunk(name, data_json):
    """One SSE event, one chunk."""
    return http_chunk(("event: %s\ndata: %s\n\n" % (name, data_json)).encode("utf-8"))


def delta_chunk(index, delta):
    """The content_block_delta event; the same bytes as encoding the whole
    {"type", "index", "delta"} object, with the constant part written once."""
    return sse_chunk("content_block_delta", '{"type": "content_block_delta", "index": %d, '
                     '"delta": %s}' % (index, encode_json(delta)))


PING_CHUNK = sse_chunk("ping", encode_json({"type": "ping"}))
MESSAGE_STOP_CHUNK = sse_chunk("message_stop", encode_json({"type": "message_stop"}))
LAST_CHUNK = http_chunk(b"")


# A header line email.parser reads as plain "Name: value": a name of visible
# characters, a value of printable ASCII and tabs (no CR, no other line
# breaks, no continuation line).  Those are most lines, and are cheaper to
# split here.
SIMPLE_HEADER_LINE_RE = re.compile(rb"([!-9;-~]+):[ \t]*([\t -~]*)\r?\n")


def parse_header_lines(lines):
    """The HTTPMessage email.parser makes of these lines (http.server's
    parsing), built directly when every line is a simple one; the parser
    itself decides anything else (folded lines, lines without a colon, bytes
    beyond ASCII, a first line starting "From ")."""
    message = http.client.HTTPMessage()
    for line in lines:
        if line in (b"\r\n", b"\n"):
            return message
        match = SIMPLE_HEADER_LINE_RE.fullmatch(line)
        if match is None:
            break
        message.set_raw(match.group(1).decode("ascii"), match.group(2).decode("ascii"))
    text = b"".join(lines).decode("iso-8859-1")
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)


class ConnectionDropped(Exception):
    """The answer ends by closing the connection on purpose; args[0] says how
    (dropped, hung, stream_error) for the log and the stats."""


class BadRequestHead(Exception):
    """A request line or headers http.server would refuse: (status, message)."""


class DoubleHandler:
    """One connection; HTTP/1.1 keep-alive, one request at a time."""

    protocol_version = "HTTP/1.1"
    server_version = "claude-double/1.0"
    responses = http.server.BaseHTTPRequestHandler.responses
    timeout = IDLE_CONNECTION_SECONDS

    def __init__(self, reader, writer, server):
        self.reader = reader
        self.writer = writer
        self.server = server
        # Looked up once: asyncio.get_running_loop() costs a getpid(2) each time.
        self.loop = asyncio.get_running_loop()
        self.close_connection = True
        self.command = self.path = None
        self.request_version = "HTTP/0.9"
        self.headers = http.client.HTTPMessage()
        self._out = []            # bytes written but not yet handed to the transport
        self._discard_after = None
        self._model = None        # the current /v1/messages request's, once read

    def version_string(self):
        return self.server_version

    # -- the connection ---------------------------------------------------

    async def handle(self):
        """Requests one after another until the connection closes; a socket
        error or an idle timeout ends only this connection."""
        try:
            await self.handle_one_request()
            while not self.close_connection:
                await self.handle_one_request()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, OSError):
            pass
        except Exception:  # a bug in the double ends this connection, not the loop
            traceback.print_exc()
        finally:
            self._hand_over()
            self.writer.close()

    async def handle_one_request(self):
        """Like BaseHTTPRequestHandler.handle_one_request."""
        self.close_connection = True
        self.command, self.path, self.request_version = None, None, ""
        try:
            async with asyncio.timeout(self.timeout):
                line = await self._read_line()
        except ValueError:
            line = b"x" * (HTTP_LINE_MAX + 1)
        self.arrived = self.loop.time()
        if len(line) > HTTP_LINE_MAX:
            self.send_error(414)
            await self._flush()
            return
        if not line:
            return
        try:
            if not await self.parse_request(line):
                await self._flush()
                return
        except BadRequestHead as bad:
            self.send_error(*bad.args)
            await self._flush()
            return
        if self.command in ("POST", "GET", "PUT", "DELETE", "PATCH"):
            await self._route(self.command)
        else:
            self.send_error(501, "Unsupported method (%r)" % self.command)
        await self._flush()

    async def _read_line(self):
        """One line, at most HTTP_LINE_MAX + 1 bytes counted (longer: ValueError)."""
        try:
            line = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as partial:
            return partial.partial
        except asyncio.LimitOverrunError:
            raise ValueError("line too long") from None
        if len(line) > HTTP_LINE_MAX + 1:
            raise ValueError("line too long")
        return line

    async def parse_request(self, raw_line):
        """The request line and headers, with http.server's rules; False when
        an error has been answered."""
        self.request_version = "HTTP/0.9"
        requestline = str(raw_line, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                numbers = version.split("/", 1)[1].split(".")
                if len(numbers) != 2:
                    raise ValueError
                if any(not part.isdigit() for part in numbers) or \
                        any(len(part) > 10 for part in numbers):
                    raise ValueError("non digit in http version")
                version_number = int(numbers[0]), int(numbers[1])
            except (ValueError, IndexError):
                raise BadRequestHead(400, "Bad request version (%r)" % version) from None
            if version_number >= (1, 1):
                self.close_connection = False
            if version_number >= (2, 0):
                raise BadRequestHead(505, "Invalid HTTP version (%s)" % version[5:])
            self.request_version = version
        if not 2 <= len(words) <= 3:
            raise BadRequestHead(400, "Bad request syntax (%r)" % requestline)
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                raise BadRequestHead(400, "Bad HTTP/0.9 request type (%r)" % command)
        self.command, self.path = command, path
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")
        await self._read_headers()
        connection = self.headers.get("Connection", "")
        if connection.lower() == "close":
            self.close_connection = True
        elif connection.lower() == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if expect.lower() == "100-continue" and self.protocol_version >= "HTTP/1.1" \
                and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    async def _read_headers(self):
        """Each line may take the idle timeout (one timer, moved on line by line)."""
        lines = []
        async with asyncio.timeout(None) as idle:
            while True:
                idle.reschedule(self.loop.time() + self.timeout)
                try:
                    line = await self._read_line()
                except ValueError:
                    raise BadRequestHead(431, "Line too long",
                                         "got more than %d bytes when reading header line"
                                         % HTTP_LINE_MAX) from None
                lines.append(line)
                if len(lines) > HTTP_HEADERS_MAX:
                    raise BadRequestHead(431, "Too many headers",
                                         "got more than %d headers" % HTTP_HEADERS_MAX)
                if line in (b"\r\n", b"\n", b""):
                    break
        self.headers = parse_header_lines(lines)

    def handle_expect_100(self):
        """No 100 Continue for a body we will refuse: the client then need not send it."""
        try:
            if int(self.headers.get("Content-Length", "0")) > MAX_BODY_BYTES:
                return True
        except ValueError:
            pass
        self._write(b"%s 100 Continue\r\n\r\n" % self.protocol_version.encode("latin-1"))
        return True

    # -- routing ----------------------------------------------------------

    async def _route(self, method):
        path = self.path.split("?", 1)[0]
        routes = {
            "/v1/messages": {"POST": self._handle_messages},
            "/v1/models": {"GET": self._handle_models},
            "/_double/stats": {"GET": self._handle_stats},
            "/_double/reset": {"POST": self._handle_reset},
            "/_double/config": {"GET": self._handle_config, "POST": self._handle_config},
            "/_double/faults": {"POST": self._handle_faults},
            "/_double/models": {"POST": self._handle_announce},
            "/_double/requests": {"GET": self._handle_requests},
        }
        if path.startswith("/v1/models/") and "/" not in path[len("/v1/models/"):]:
            routes[path] = {"GET": self._handle_models}
        if path not in routes:
            await self._answer_simple(ApiError(404, "not_found_error", "Not found: %s" % path))
        elif method not in routes[path]:
            await self._answer_simple(ApiError(405, "invalid_request_error",
                                               "Method %s not allowed on %s" % (method, path)))
        else:
            await routes[path][method]()

    def _log(self, status, tool="-", stream="-", fault="-", started=None):
        if self.server.quiet:
            return
        elapsed = "" if started is None else " %dms" % ((time.monotonic() - started) * 1000)
        sys.stderr.write("claude-double: %s %s %s tool=%s stream=%s fault=%s%s\n"
                         % (self.command, self.path, status, tool, stream, fault, elapsed))
        sys.stderr.flush()

    # -- bodies -----------------------------------------------------------

    async def _read_exactly(self, length):
        """length bytes, or fewer if the client stops sending (as a file's read)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self.reader.readexactly(length)
        except asyncio.IncompleteReadError as partial:
            return partial.partial

    async def _read_body(self):
        """The request body, capped at 32 MB (413 beyond, like the real API)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return await self._read_chunked_body()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise invalid("invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self._discard_after = length
            raise ApiError(413, "request_too_large",
                           "Request exceeds the maximum allowed number of bytes.")
        await self._flush()   # a 100 Continue
        return await self._read_exactly(length)

    async def _read_chunk_line(self):
        """One line of the chunked framing (read whole, like readline(1024) would
        in pieces); b"" at the end of the stream."""
        try:
            async with asyncio.timeout(self.timeout):
                line = await self._read_line()
        except ValueError:
            self.close_connection = True
            raise invalid("malformed chunked request body") from None
        return line

    async def _read_chunked_body(self):
        await self._flush()   # a 100 Continue
        body = bytearray()
        while True:
            line = await self._read_chunk_line()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise invalid("malformed chunked request body") from None
            if size == 0:
                while await self._read_chunk_line() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                self.close_connection = True
                raise ApiError(413, "request_too_large",
                               "Request exceeds the maximum allowed number of bytes.")
            body += await self._read_exactly(size)
            await self._read_chunk_line()

    async def _discard_body(self, length):
        """Reads an oversized body we refused, so closing does not reset the
        connection before the client has read our 413."""
        self.close_connection = True
        try:
            while length > 0:
                async with asyncio.timeout(1.0):
                    chunk = await self.reader.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)
        except (OSError, TimeoutError):
            pass

    async def _read_control_body(self):
        raw = await self._read_body()
        if not raw.strip():
            return {}
        body = parse_json_body(raw)
        if not isinstance(body, dict):
            raise invalid("body must be a JSON object")
        return body

    # -- writing ----------------------------------------------------------
    #
    # The head is gathered as http.server does (send_response, send_header,
    # end_headers).  _write only gathers bytes; _flush hands all that was
    # gathered to the transport in one write (one send(2), which costs more
    # than building the bytes) and waits until the client has taken them (or
    # the connection is gone, or idle for too long).  So what is written back
    # to back (a head and its body, the events of a stream that fall due
    # together) leaves in one write, and nothing waits in the buffer while
    # the handler itself waits: every wait is preceded by a _flush.

    def send_response(self, code, message=None):
        if message is None:
            message = self.responses[code][0] if code in self.responses else ""
        if self.request_version != "HTTP/0.9":
            self._out.append(("%s %d %s\r\n" % (self.protocol_version, code, message))
                             .encode("latin-1", "strict"))
        self.send_header("Server", self.version_string())
        self.send_header("Date", email.utils.formatdate(time.time(), usegmt=True))

    def send_header(self, keyword, value):
        if self.request_version != "HTTP/0.9":
            self._out.append(("%s: %s\r\n" % (keyword, value)).encode("latin-1", "strict"))
        if keyword.lower() == "connection":
            if value.lower() == "close":
                self.close_connection = True
            elif value.lower() == "keep-alive":
                self.close_connection = False

    def end_headers(self):
        if self.request_version != "HTTP/0.9":
            self._out.append(b"\r\n")

    def send_error(self, code, message=None, explain=None):
        """http.server's error page, for requests too malformed to route."""
        shortmsg, longmsg = self.responses.get(code, ("???", "???"))
        message = shortmsg if message is None else message
        longmsg = longmsg if explain is None else explain
        self.send_response(code, message)
        self.send_header("Connection", "close")
        content = (http.server.DEFAULT_ERROR_MESSAGE % {
            "code": code, "message": html.escape(message, quote=False),
            "explain": html.escape(longmsg, quote=False)}).encode("UTF-8", "replace")
        self.send_header("Content-Type", http.server.DEFAULT_ERROR_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self._write(content)

    def _write(self, data):
        self._out.append(data)

    def _hand_over(self):
        """What was written, to the transport (which sends what it can at once)."""
        if self._out:
            data = b"".join(self._out)
            self._out = []
            if data:
                self.writer.write(data)

    async def _flush(self):
        self._hand_over()
        transport = self.writer.transport
        pending = transport.get_write_buffer_size()
        if not pending and not transport.is_closing():
            return   # all sent, connection up: drain() would return at once
        if pending <= transport.get_write_buffer_limits()[1]:
            await self.writer.drain()   # does not wait; raises if the client is gone
            return
        async with asyncio.timeout(self.timeout):   # a client that does not read
            await self.writer.drain()

    async def _send_json(self, status, payload, headers=None):
        data = json.dumps(payload).encode("utf-8")
        await self._send_bytes(status, data, "application/json", headers)

    async def _send_bytes(self, status, data, content_type, headers=None):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._write(data)
        await self._flush()

    async def _send_error(self, error, headers=None):
        """An error body whose request_id is the request-id header; a connection
        whose request body was not (fully) read is closed, after draining what
        the client still sends."""
        headers = dict(headers or {})
        headers.setdefault("request-id", random_id("req"))
        if self._discard_after or self.close_connection:
            headers["connection"] = "close"
        await self._send_json(error.status, error.body(headers["request-id"]), headers)
        if self._discard_after:
            await self._discard_body(self._discard_after)

    async def _answer_simple(self, error):
        """Unknown routes and methods: read the body, answer, log."""
        self._discard_after = None
        try:
            await self._read_body()
        except ApiError:
            pass
        await self._send_error(error)
        self._log(error.status)

    def _write_event(self, name, payload):
        self._write(sse_chunk(name, encode_json(payload)))

    async def _pace_stream(self, moment):
        """Before a streamed delta: what is written goes out and the stream
        waits until moment (None: no token delay); a delta already due goes
        out with what precedes it."""
        if moment is not None and moment > self.loop.time():
            await self._flush()
            await pause_until(self.loop, moment)
        elif len(self._out) >= STREAM_EVENTS_PER_WRITE:
            await self._flush()

    async def _abort_connection(self, how):
        """Closes without a proper end, as a failing network would: what was
        written goes out, then both directions are shut."""
        self.close_connection = True
        try:
            await self._flush()
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, TimeoutError):
            pass
        raise ConnectionDropped(how)

    # -- control API ------------------------------------------------------

    async def _control(self, action):
        self._discard_after = None
        try:
            body = await self._read_control_body()
            status, payload = action(body)
        except ApiError as error:
            await self._send_error(error)
            self._log(error.status)
            return
        await self._send_json(status, payload)
        self._log(status)

    async def _handle_stats(self):
        await self._control(lambda body: (200, self.server.state.stats()))

    async def _handle_requests(self):
        await self._control(lambda body: (200, {"requests": self.server.state.recent_requests()}))

    async def _handle_reset(self):
        def reset(body):
            self.server.state.reset()
            return 200, {"reset": True}
        await self._control(reset)

    async def _handle_config(self):
        def config(body):
            values = {key: rule(body[key], key) for key, rule in CONFIG_RULES.items()
                      if key in body}
            unknown = [k for k in body if k not in CONFIG_KEYS]
            if unknown:
                raise invalid("%s: unknown field" % unknown[0])
            return 200, self.server.state.configure(**values)
        await self._control(config)

    async def _handle_announce(self):
        def announce(body):
            return 200, self.server.state.announce(*parse_announcement(body))
        await self._control(announce)

    async def _handle_faults(self):
        def faults(body):
            specs = body.get("faults")
            if not isinstance(specs, list):
                raise invalid("faults: a list of faults")
            parsed = [parse_fault(spec, "faults.%d" % i) for i, spec in enumerate(specs)]
            pending = self.server.state.add_faults(parsed)
            return 200, {"queued": len(parsed), "faults_pending": pending}
        await self._control(faults)

    # -- the API's headers ------------------------------------------------

    def _check_headers(self, needs_json):
        """Auth, then anthropic-version, then content-type for a body.
        Returns (the version, how the key came: x-api-key, bearer or both)."""
        auth = self._authenticate()
        version = self.headers.get("anthropic-version")
        if version is None:
            raise invalid("anthropic-version: header is required")
        if version not in API_VERSIONS:
            raise invalid("anthropic-version: %s is not a valid version" % version)
        content_type = self.headers.get("content-type", "")
        if needs_json and content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise invalid("content-type: must be application/json")
        return version, auth

    def _authenticate(self):
        """x-api-key or Authorization: Bearer (both on both versions); with
        --api-key, every key sent must be that one."""
        keys, how = [], []
        if self.headers.get("x-api-key"):
            keys.append(self.headers["x-api-key"])
            how.append("x-api-key")
        authorization = self.headers.get("authorization")
        if authorization is not None:
            match = re.fullmatch(r"[Bb]earer +(\S+)", authorization.strip())
            if not match:
                raise ApiError(401, "authentication_error",
                               "Authorization header must be 'Bearer <API key>'")
            keys.append(match.group(1))
            how.append("bearer")
        if not keys:
            raise ApiError(401, "authentication_error",
                           "x-api-key header or Authorization: Bearer is required")
        expected = self.server.api_key
        if expected is not None and \
                not all(secrets.compare_digest(key, expected) for key in keys):
            raise ApiError(401, "authentication_error", "invalid x-api-key")
        return "+".join(how)

    # -- GET /v1/models, GET /v1/models/{id} ------------------------------

    async def _handle_models(self):
        self._discard_after = None
        target = urllib.parse.urlsplit(self.path)
        name = urllib.parse.unquote(target.path[len("/v1/models/"):]) \
            if target.path.startswith("/v1/models/") else None
        try:
            await self._read_body()
            self._check_headers(needs_json=False)
            catalogue = self.server.state.catalogue()
            if name is None:
                payload = catalogue.list(urllib.parse.parse_qs(target.query))
            else:
                payload = catalogue.info(catalogue.find(name))
        except ApiError as error:
            await self._send_api_error(error)
            self._log(error.status)
            return
        await self._send_json(200, payload, {"request-id": random_id("req")})
        self._log(200)

    # -- POST /v1/messages ------------------------------------------------

    async def _handle_messages(self):
        state = self.server.state
        started = time.monotonic()
        record = {"time": rfc3339(time.time()), "status": None, "tool": None,
                  "model": None, "stream": None, "fault": None, "version": None,
                  "auth": None, "body": None}
        self._discard_after = None
        self._model = None
        state.begin_request()
        try:
            await self._serve_messages(record)
        except ApiError as error:
            record["status"] = error.status
            await self._send_api_error(error)
        except ConnectionDropped as how:
            record["status"] = str(how)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            record["status"] = "client-gone"
            self.close_connection = True
        except asyncio.CancelledError:
            record["status"] = "client-gone"
            self.close_connection = True
            raise
        except Exception:  # a bug in the double must not kill the connection
            traceback.print_exc()
            record["status"] = 500
            await self._send_api_error(ApiError(500, "api_error", "Internal error in the double"))
        finally:
            state.end_request(record)
            self._log(record["status"], record["tool"] or "-",
                      "-" if record["stream"] is None else str(record["stream"]).lower(),
                      record["fault"] or "-", started)

    async def _send_api_error(self, error):
        """x-should-retry as the SDK would decide without it (true for 408, 409,
        429 and 5xx), unless the error sets it."""
        retry = error.status in (408, 409, 429) or error.status >= 500
        headers = {"request-id": random_id("req"),
                   "x-should-retry": "true" if retry else "false"}
        if self._model is not None:
            headers.update(self.server.state.rate_limit_headers(self._model))
        headers.update(error.headers)
        try:
            await self._send_error(error, headers)
        except (OSError, TimeoutError):
            self.close_connection = True

    async def _serve_messages(self, record):
        state = self.server.state
        raw = await self._read_body()
        version, auth = self._check_headers(needs_json=True)
        record.update(version=version, auth=auth)
        body = parse_json_body(raw)
        record["body"] = body if len(raw) <= RECENT_BODY_MAX_BYTES else {"omitted_bytes": len(raw)}
        req = validate_messages_request(body, version, state.catalogue())
        record.update(tool=req.tool_label, model=req.model, stream=req.stream)
        self._model = req.model
        refused = state.admit(req.model)
        if refused is not None:
            raise refused
        state.note_call(req)
        fault = state.take_fault(req) or state.directive_fault(req, req.user)
        latency_ms, token_delay_ms, release = state.pace()
        if fault:
            record["fault"] = fault.kind
            latency_ms += fault.ms if fault.kind == "delay" else 0
        due = self.arrived + latency_ms / 1000.0
        if latency_ms:
            await pause_until(self.loop, due)
        if fault:
            await self._apply_fault_before_answer(fault, req.stream, release)
        answer = compose_answer(req)
        if fault and fault.kind in STOP_FAULTS:
            answer = end_answer_early(req, answer, fault.kind)
        usage = compute_usage(req, answer, state.cache)
        headers = {"request-id": random_id("req")}
        headers.update(state.rate_limit_headers(req.model, usage["input_tokens"] +
                                                usage["output_tokens"]))
        headers.update(fault.headers() if fault else {})
        message = {"id": random_id("msg"), "type": "message", "role": "assistant",
                   "model": req.model}
        fault_kind = fault.kind if fault else None
        record["status"] = 200
        if req.stream:
            await self._stream_answer(message, answer, usage, headers, token_delay_ms,
                                      fault_kind, due)
        else:
            await self._send_answer(message, answer, usage, headers, fault_kind, due)

    async def _apply_fault_before_answer(self, fault, streaming, release):
        """Faults that replace the answer: errors, drops, hangs."""
        error = fault_error(fault, streaming)
        if error is not None:
            raise error
        if fault.kind == "drop" and not streaming:
            await self._abort_connection("dropped")
        if fault.kind == "hang":
            try:
                async with asyncio.timeout(fault.seconds):
                    await release.wait()
            except TimeoutError:
                pass
            await self._abort_connection("hung")

    async def _send_answer(self, message, answer, usage, headers, fault_kind, due):
        message.update(content=answer.content, stop_reason=answer.stop_reason,
                       stop_sequence=answer.stop_sequence, stop_details=answer.stop_details,
                       usage=usage)
        data = json.dumps(message, ensure_ascii=False).encode("utf-8")
        if fault_kind == "malformed":
            data = data[:len(data) // 2]
        self.server.state.note_late(self.loop.time() - due)
        await self._send_bytes(200, data, "application/json", headers)

    async def _stream_answer(self, message, answer, usage, headers, token_delay_ms, fault_kind,
                             due):
        """The SSE sequence of docs/CLAUDE-API.md, one chunk per event; the
        events due at the same moment leave in one write (see _pace_stream)."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        start_usage = dict(usage, output_tokens=1, output_tokens_details={"thinking_tokens": 0})
        message.update(content=[], stop_reason=None, stop_sequence=None, stop_details=None,
                       usage=start_usage)
        self._write_event("message_start", {"type": "message_start", "message": message})
        self._write(PING_CHUNK)
        sent = 0
        begun = self.loop.time()
        blocks = answer.streamed
        fail_at = min(3, sum(len(block.deltas) for block in blocks) // 2)
        for index, block in enumerate(blocks):
            self._write_event("content_block_start", {"type": "content_block_start",
                                                      "index": index,
                                                      "content_block": block.start})
            if fault_kind == "malformed":
                self._write(http_chunk(b'event: content_block_delta\ndata: {"type": '
                                       b'"content_block_delta", "index": %d, "delta": {"ty\n\n'
                                       % index))
            for delta in block.deltas:
                if sent and sent % PING_EVERY_DELTAS == 0:
                    self._write(PING_CHUNK)
                if sent == fail_at and fault_kind in ("stream_error", "drop"):
                    await self._fail_stream(fault_kind)
                await self._pace_stream(begun + (sent + 1) * token_delay_ms / 1000.0
                                        if token_delay_ms else None)
                self._write(delta_chunk(index, delta))
                sent += 1
            self._write_event("content_block_stop", {"type": "content_block_stop",
                                                     "index": index})
        self._write_event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": answer.stop_reason,
                      "stop_sequence": answer.stop_sequence,
                      "stop_details": answer.stop_details},
            "usage": {"output_tokens": answer.output_tokens,
                      "output_tokens_details": usage["output_tokens_details"]}})
        self._write(MESSAGE_STOP_CHUNK)
        self._write(LAST_CHUNK)
        self.server.state.note_late(self.loop.time() - due - sent * token_delay_ms / 1000.0)
        await self._flush()

    async def _fail_stream(self, fault_kind):
        """Ends a stream that has started: an error event, or a cut connection."""
        if fault_kind == "stream_error":
            self._write_event("error", error_body("overloaded_error", "Overloaded"))
            self._write(LAST_CHUNK)
            await self._flush()
            self.close_connection = True
            raise ConnectionDropped("stream_error")
        await self._abort_connection("dropped")


def lateness_summary(late_ms):
    """Answers counted, and the median, 90th percentile and largest of how
    late they were (ms): the double's own delay when the machine it shares
    is busy, which a remote API would not add."""
    ordered = sorted(late_ms)
    if not ordered:
        return {"answers": 0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    def at(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)
    return {"answers": len(ordered), "p50": at(0.5), "p90": at(0.9), "max": round(ordered[-1], 1)}


async def pause_until(loop, moment):
    """Waits until moment (the loop's clock). The double keeps the model's
    pace, not its own: the latency counts from the request's arrival and a
    stream's deltas follow a schedule from its start, so a double busy with
    other calls sends what fell due back to back instead of stretching every
    answer by its own delays (the real API's pace does not depend on how
    many others are calling).  This is asyncio.sleep with the loop at hand
    and the moment as the timer's own: it runs before every streamed delta."""
    if moment <= loop.time():
        return
    woken = loop.create_future()
    timer = loop.call_at(moment, _wake, woken)
    try:
        await woken
    finally:
        timer.cancel()


def _wake(future):
    if not future.done():   # a cancelled pause's timer may still fire
        future.set_result(None)


class DoubleServer:
    """Every connection on one event loop, a deep listen backlog."""

    request_queue_size = 1024

    def __init__(self, address, state, api_key=None, quiet=False):
        self.state = state
        self.api_key = api_key
        self.quiet = quiet
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(self.request_queue_size)
        except OSError:
            self.socket.close()
            raise
        self.server_address = self.socket.getsockname()
        self.connections = set()

    async def _connection(self, reader, writer):
        task = asyncio.current_task()
        self.connections.add(task)
        try:
            await DoubleHandler(reader, writer, self).handle()
        finally:
            self.connections.discard(task)

    async def serve(self, stop):
        """Serves until `stop` (an asyncio.Event) is set, then drops every
        connection."""
        server = await asyncio.start_server(self._connection, sock=self.socket,
                                            limit=STREAM_READER_LIMIT,
                                            backlog=self.request_queue_size)
        async with server:
            await stop.wait()
            server.close()
            for task in list(self.connections):
                task.cancel()
            await asyncio.gather(*self.connections, return_exceptions=True)


# ---------------------------------------------------------------------------
# Command line

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="A local test double of the Claude Messages API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="wait this long before answering each request")
    parser.add_argument("--token-delay-ms", type=int, default=0,
                        help="wait this long between streamed deltas")
    parser.add_argument("--rate-limit-requests", type=int, default=RATE_LIMIT_REQUESTS,
                        help="requests a model family may have per minute before 429s")
    parser.add_argument("--rate-limit-tokens", type=int, default=RATE_LIMIT_TOKENS,
                        help="input and output tokens a model family may have per minute")
    parser.add_argument("--today", default=DEFAULT_TODAY, metavar="YYYY-MM-DD",
                        help="the double's date, which the models' lifecycles follow "
                             "(default %s, not the machine's date)" % DEFAULT_TODAY)
    parser.add_argument("--api-key", default=None,
                        help="the only API key accepted, in x-api-key or "
                             "Authorization: Bearer (default: any non-empty key)")
    parser.add_argument("--port-file", default=None,
                        help="write the chosen port to this file")
    parser.add_argument("--quiet", action="store_true",
                        help="no per-request log lines on stderr")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.token_delay_ms < 0:
        parser.error("delays must be >= 0")
    if args.rate_limit_requests < 1 or args.rate_limit_tokens < 1:
        parser.error("rate limits must be >= 1")
    try:
        parse_date(args.today, "--today")
    except ApiError as error:
        parser.error(error.message)
    return args


def write_port_file(path, port):
    """Written atomically, so a script polling for the file never reads half of it."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write("%d\n" % port)
    os.replace(temporary, path)


async def serve_until_signalled(server):
    """Serves until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.serve(stop)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state = DoubleState(args.latency_ms, args.token_delay_ms,
                        args.rate_limit_requests, args.rate_limit_tokens, args.today)
    server = DoubleServer((args.host, args.port), state, args.api_key, args.quiet)
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print("listening on %s:%d" % (args.host, port), flush=True)
    try:
        asyncio.run(serve_until_signalled(server))
    except KeyboardInterrupt:
        pass
    finally:
        server.socket.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
