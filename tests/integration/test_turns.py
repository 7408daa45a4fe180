"""The multi-agent turn through nginx, against the Claude test double:
streamed events in order, items with quotes on the board, agent runs with
tokens, parallel stage A, intent routing, failures that do not fail the
turn, a failed reply and its retry, live events on another worker with
Last-Event-ID replay, a client that goes away, and the message rate limit."""

import http.client
import json
import queue
import socket
import threading
import uuid

import helpers
from helpers import expect_error, request, wait_until

# Stage B agents of each intent's workflow (PRODUCT.md section 4).
WORKFLOWS = {
    "brainstorming": {"gap_detector"},
    "deciding": {"quality_auditor", "consistency_guardian"},
    "modifying": {"quality_auditor", "consistency_guardian"},
    "exploring": {"questioner"},
    "reviewing": {"reviewer", "prioritizer"},
    "development": {"strategic_planner"},
    "parking": set(),
    "general": set(),
}
STAGE_A = {"conversation", "context_manager", "recorder"}


def double(method, path, body=None):
    """Talk to the Claude double's control endpoint."""
    url = helpers.env("BS_CLAUDE_URL")
    host, port = url.split("//", 1)[1].split(":")
    import http.client
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=json.dumps(body) if body else None,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        assert resp.status == 200, "double %s %s: %d %r" % (
            method, path, resp.status, data[:200])
        return json.loads(data) if data else None
    finally:
        conn.close()


_sources = iter("127.0.2.%d" % i for i in range(1, 250))


def user_and_project():
    """A new user and project. Each test posts from its own loopback
    address, so nginx's per-address limits of one test leave the others be."""
    source = next(_sources)
    email = "turns-%s@example.com" % uuid.uuid4().hex[:12]
    r = request("POST", "/api/auth/register",
                {"email": email, "password": "turn tests passphrase"},
                source=source)
    assert r.status == 201, r
    token = r.json()["access_token"]
    auth = {"Authorization": "Bearer " + token, "X-Test-Source": source}
    r = request("POST", "/api/projects", {"title": "Turns"}, headers=auth)
    assert r.status == 201, r
    return auth, r.json()["id"]


def parse_sse(data):
    """Bytes of an event stream -> [(id, event, data)]."""
    events = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        ev_id, name, lines = None, "message", []
        for line in block.decode().split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                ev_id = value
            elif field == "event":
                name = value
            elif field == "data":
                lines.append(value)
        if lines:
            events.append((ev_id, name, "\n".join(lines)))
    return events


def turn_result(auth, project, turn, timeout=120):
    """GET the turn until it ended; its JSON."""
    found = {}

    def ended():
        r = request("GET", "/api/projects/%s/turns/%s" % (project, turn),
                    headers=auth)
        assert r.status == 200, r
        found["turn"] = r.json()
        return found["turn"]["status"] in ("done", "failed")
    wait_until("turn %s to end" % turn, ended, timeout=timeout, interval=0.05)
    return found["turn"]


def finished(resp, auth, project, timeout=120):
    """A 202 of a queued turn -> a 202 whose body is the ended turn."""
    if resp.status != 202:
        return resp
    queued = resp.json()
    turn = turn_result(auth, project, queued["turn_id"], timeout)
    turn["queued"] = queued
    return helpers.Response(202, resp.headers, json.dumps(turn).encode())


def post_message(auth, project, content, stream=False, timeout=120):
    """POST a message. Streamed: the turn's events, to their end. Else the
    202 once the turn ended, with the turn's result as its body."""
    headers = dict(auth)
    if stream:
        headers["Accept"] = "text/event-stream"
        return stream_to_done("POST", "/api/projects/%s/messages" % project,
                              {"content": content}, headers, timeout,
                              auth["X-Test-Source"])
    r = request("POST", "/api/projects/%s/messages" % project,
                {"content": content}, headers=headers, timeout=timeout,
                source=auth["X-Test-Source"])
    return finished(r, auth, project, timeout)


def stream_to_done(method, path, body, headers, timeout=120, source=None,
                   last=b"event: turn.done"):
    """A streamed turn, read to its turn.done event (the stream itself stays
    open a few seconds more), or to the event last names; any other answer
    whole."""
    host, port = helpers.base_address()
    conn = http.client.HTTPConnection(
        host, port, timeout=timeout,
        source_address=(source, 0) if source else None)
    try:
        data = json.dumps(body) if body is not None else None
        h = dict(headers)
        if data is not None:
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        if resp.status != 200 or not (resp.getheader("Content-Type") or
                                      "").startswith("text/event-stream"):
            return helpers.Response(resp.status, resp.headers, resp.read())
        got = b""
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                break
            got += chunk
            tail = got.split(last, 1)
            if len(tail) == 2 and b"\n\n" in tail[1]:
                break
        return helpers.Response(resp.status, resp.headers, got)
    finally:
        conn.close()


def retry_turn(auth, project, turn, timeout=120):
    r = request("POST", "/api/projects/%s/turns/%s/retry" % (project, turn),
                headers=auth)
    return finished(r, auth, project, timeout)


def test_streamed_turn_events_items_and_runs():
    auth, project = user_and_project()
    double("POST", "/_double/reset")
    # Slow enough that stage A's three calls are surely in flight together
    # if they run in parallel; the assertion is on the double's counter.
    double("POST", "/_double/config", {"latency_ms": 300})
    try:
        text = ("We could sell the tool to small bakeries first. "
                "Let's go with a monthly subscription model.")
        r = post_message(auth, project, text, stream=True)
    finally:
        double("POST", "/_double/config", {"latency_ms": 0})
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/event-stream"), r
    events = parse_sse(r.body)
    names = [e[1] for e in events]
    assert names[:2] == ["turn.queued", "turn.started"], names
    assert names[-1] == "turn.done", names
    for required in ("agent.started", "reply.delta", "reply.done",
                     "agent.finished", "items.changed"):
        assert required in names, (required, names)
    assert names.index("reply.done") > max(
        i for i, n in enumerate(names) if n == "reply.delta")
    assert names.index("items.changed") > names.index("reply.done")
    deltas = "".join(json.loads(d)["text"] for _, n, d in events
                     if n == "reply.delta")
    done = [json.loads(d) for _, n, d in events if n == "reply.done"][0]
    assert deltas == done["text"] and len(deltas) > 20, (deltas, done)
    turn = json.loads(events[-1][2])
    assert turn["status"] == "done", turn
    started = {json.loads(d)["agent"] for _, n, d in events
               if n == "agent.started"}
    assert STAGE_A <= started, started
    stats = double("GET", "/_double/stats")
    assert stats["max_in_flight"] >= 3, stats

    r = request("GET", "/api/projects/%s/items" % project, headers=auth)
    items = r.json()["items"]
    texts = {i["text"]: i for i in items}
    assert len(items) == 2, items
    for it in items:
        assert it["user_quote"] in text, it
        assert it["created_by"] == "recorder", it
        assert it["source_message_id"], it
    # The double's findings all point at change 0 (exploring) with the
    # lowest severity, so the gate holds nothing: the decision is decided.
    # (What holds and what does not: tests/unit/check_gate.c.)
    assert texts["Let's go with a monthly subscription model"]["state"] == \
        "decided", texts
    assert texts["We could sell the tool to small bakeries first"]["state"] \
        == "exploring", texts

    r = request("GET", "/api/projects/%s/activity" % project, headers=auth)
    runs = r.json()["runs"]
    assert STAGE_A <= {x["agent"] for x in runs}, runs
    for run in runs:
        if run["status"] == "ok":
            assert run["input_tokens"] > 0 and run["output_tokens"] > 0, run

    r = request("GET", "/api/projects/%s/messages" % project, headers=auth)
    msgs = r.json()["messages"]
    roles = [(m["role"], m["agent"]) for m in msgs]
    assert ("user", None) in roles and ("assistant", "conversation") in roles


def test_queued_turn_and_its_result():
    auth, project = user_and_project()
    r = post_message(auth, project, "Maybe a mobile app for dog walkers.")
    assert r.status == 202, r
    body = r.json()
    queued = body["queued"]
    assert queued["status"] == "queued" and queued["turn_id"] == body["turn_id"]
    assert queued["url"] == "/api/projects/%s/turns/%s" % (project,
                                                          body["turn_id"])
    assert queued["stream_url"] == queued["url"] + "/events", queued
    assert queued["message"]["content"] == "Maybe a mobile app for dog walkers."
    assert body["status"] == "done", body
    assert body["runs"] == 1 and body["finished_at"], body
    # A turn that ended has no stream: its result is here.
    r = request("GET", queued["stream_url"], headers=dict(
        auth, Accept="text/event-stream"))
    expect_error(r, 410, "turn_over")
    r = request("GET", "/api/projects/%s/turns/%s" % (project, uuid.uuid4()),
                headers=auth)
    expect_error(r, 404, "not_found")
    r = request("GET", "/api/projects/%s/turns/nope" % project, headers=auth)
    expect_error(r, 404, "not_found")
    assert body["reply"]["role"] == "assistant", body
    assert body["message"]["content"] == "Maybe a mobile app for dog walkers."
    assert {a["agent"] for a in body["agents"]} >= STAGE_A


def test_intent_routing_runs_exactly_the_workflow():
    auth, project = user_and_project()
    for intent, stage_b in WORKFLOWS.items():
        r = post_message(auth, project,
                         "Thinking about pricing tiers for the app [intent:%s]"
                         % intent)
        assert r.status == 202, r
        body = r.json()
        assert body["intent"] == intent, (intent, body["intent"])
        ran = {a["agent"] for a in body["agents"]}
        assert ran - STAGE_A == stage_b, (intent, ran)


def test_failing_agent_does_not_fail_the_turn():
    auth, project = user_and_project()
    r = post_message(auth, project, "An idea for a garden planner "
                     "[fault:server_error] [fault-agent:classify_intent]")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "done", body
    cm = [a for a in body["agents"] if a["agent"] == "context_manager"][0]
    assert cm["status"] == "error", cm
    assert body["intent"] == "general", body
    assert any("context_manager" in n for n in body["notes"]), body["notes"]


def test_invalid_answer_is_an_agent_error():
    auth, project = user_and_project()
    r = post_message(auth, project, "Another idea [fault:malformed] "
                     "[fault-agent:record_changes]")
    assert r.status == 202, r
    body = r.json()
    rec = [a for a in body["agents"] if a["agent"] == "recorder"][0]
    assert rec["status"] == "error", rec
    assert body["status"] == "done" and body["items"] == [], body


def test_failed_reply_keeps_the_message_and_retry_reruns():
    auth, project = user_and_project()
    double("POST", "/_double/faults", {"faults": [
        {"kind": "bad_request", "count": 1, "match": {"tool": "text"}}]})
    r = post_message(auth, project, "A reply that fails the first time.")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "failed" and "reply" in body["error"], body
    turn = body["turn_id"]
    r = request("GET", "/api/projects/%s/messages" % project, headers=auth)
    assert any(m["content"] == "A reply that fails the first time."
               for m in r.json()["messages"])
    r = retry_turn(auth, project, turn)
    assert r.status == 202, r
    assert r.json()["status"] == "done", r.json()
    assert r.json()["queued"]["message"]["content"] == \
        "A reply that fails the first time.", r.json()
    r = request("POST", "/api/projects/%s/turns/%s/retry" % (project, turn),
                headers=auth)
    expect_error(r, 409, "turn_not_failed")
    r = request("POST", "/api/projects/%s/turns/%s/retry"
                % (project, uuid.uuid4()), headers=auth)
    expect_error(r, 404)


def test_retries_of_the_client_are_invisible():
    auth, project = user_and_project()
    double("POST", "/_double/faults", {"faults": [
        {"kind": "overloaded", "count": 1, "match": {"tool": "classify_intent"}},
        {"kind": "rate_limit", "retry_after": 1, "count": 1,
         "match": {"tool": "record_changes"}}]})
    r = post_message(auth, project, "We will launch in spring.")
    body = r.json()
    assert body["status"] == "done", body
    assert all(a["status"] == "ok" for a in body["agents"]), body["agents"]


class EventStream(threading.Thread):
    """A stream through nginx (held by nchan), its events to a queue. Open
    once the constructor returns: nchan sends the headers on subscribing.

    Each stream comes from its own loopback address unless source says
    otherwise: nginx caps streams per address."""

    def __init__(self, path, headers, source=None):
        super().__init__(daemon=True)
        self.events = queue.Queue()
        host, port = helpers.base_address()
        self.conn = http.client.HTTPConnection(
            host, port, timeout=60,
            source_address=(source or helpers.fresh_source(), 0))
        headers = dict(headers)
        headers["Accept"] = "text/event-stream"
        self.conn.request("GET", path, headers=headers)
        # The socket itself: an answer that ends with the connection takes
        # it from conn (conn.sock becomes None), and the reader's file keeps
        # it open after conn.close().
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        if self.status == 200:
            self.start()

    def run(self):
        buf = b""
        try:
            while True:
                chunk = self.resp.read1(4096)
                if not chunk:
                    break
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    for ev in parse_sse(block + b"\n\n"):
                        self.events.put(ev)
        except (OSError, ValueError):
            pass
        self.events.put(None)   # the stream ended

    def close(self):
        """Closes the connection at once, as a closed tab does: nginx sees
        it end, and the reader gets the stream's end."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()

    def wait_for(self, event, timeout=60):
        """Events up to the first named event; AssertionError if the stream
        ends before it."""
        seen = []
        while True:
            ev = self.events.get(timeout=timeout)
            assert ev is not None, "stream ended before %s: %r" % (event, seen)
            seen.append(ev)
            if ev[1] == event:
                return seen

    def wait_end(self, timeout=60):
        """Events until the stream ends."""
        seen = []
        while True:
            ev = self.events.get(timeout=timeout)
            if ev is None:
                return seen
            seen.append(ev)


def test_events_reach_every_stream_and_replay():
    auth, project = user_and_project()
    path = "/api/projects/%s/events" % project
    subs = [EventStream(path, auth) for _ in range(3)]
    try:
        assert all(s.status == 200 for s in subs), [s.status for s in subs]
        r = post_message(auth, project, "Events for every stream please.")
        assert r.status == 202, r
        lists = [s.wait_for("turn.done") for s in subs]
    finally:
        for s in subs:
            s.close()
    for seen in lists:
        names = [e[1] for e in seen]
        assert "turn.started" in names and "reply.delta" in names, names
        assert all(e[0] for e in seen), "events without ids: %r" % seen
    assert lists[0] == lists[1] == lists[2]
    # Replay: from the id of turn.started, everything after it comes again.
    first = lists[0]
    start_id = [e[0] for e in first if e[1] == "turn.started"][0]
    sub = EventStream(path, dict(auth, **{"Last-Event-ID": start_id}))
    try:
        replayed = sub.wait_for("turn.done", timeout=30)
    finally:
        sub.close()
    assert [e[1] for e in replayed][0] != "turn.started", replayed[:2]
    assert replayed == first[[e[0] for e in first].index(start_id) + 1:], (
        replayed, first)


def test_client_disconnect_does_not_stop_the_turn():
    auth, project = user_and_project()
    host, port = helpers.base_address()
    body = json.dumps({"content": "We could open a second shop later."})
    sock = socket.create_connection((host, port), timeout=30,
                                    source_address=(auth["X-Test-Source"], 0))
    sock.sendall(("POST /api/projects/%s/messages HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: %s\r\nAccept: text/event-stream\r\n"
                  "Content-Type: application/json\r\nContent-Length: %d\r\n"
                  "Connection: close\r\n\r\n%s" % (
                      project, auth["Authorization"], len(body), body)).encode())
    got = b""
    while b"turn.started" not in got:
        chunk = sock.recv(4096)
        assert chunk, "the stream ended before turn.started: %r" % got
        got += chunk
    sock.close()

    def finished():
        r = request("GET", "/api/projects/%s/messages" % project, headers=auth)
        return any(m["agent"] == "conversation" for m in r.json()["messages"])
    wait_until("the turn to finish after the client left", finished, timeout=60)


def test_message_validation_and_rate_limit():
    auth, project = user_and_project()
    r = request("POST", "/api/projects/%s/messages" % project,
                {"content": ""}, headers=auth)
    expect_error(r, 422, "validation_failed")
    r = request("POST", "/api/projects/%s/messages" % project,
                {"content": "x" * 8001}, headers=auth)
    expect_error(r, 422, "validation_failed")
    r = request("POST", "/api/projects/%s/messages" % project,
                {"content": "hi", "extra": 1}, headers=auth)
    expect_error(r, 422, "validation_failed")
    r = request("GET", "/api/projects/%s/messages?limit=0" % project,
                headers=auth)
    expect_error(r, 422, "validation_failed")
    r = request("GET", "/api/projects/%s/messages?before=nope" % project,
                headers=auth)
    expect_error(r, 422, "validation_failed")
    limit = int(helpers.worker_env().get("MESSAGE_RATE_LIMIT", "20"))
    statuses = []
    for i in range(limit + 1):
        r = post_message(auth, project, "Quick note %d [no-changes]" % i)
        statuses.append(r.status)
        if r.status == 429:
            expect_error(r, 429, "rate_limited")
            assert int(r.header("Retry-After")) >= 1
            break
    assert statuses[-1] == 429 and statuses.count(202) == limit, statuses


def test_agents_usage_and_metrics():
    auth, project = user_and_project()
    r = request("GET", "/api/agents", headers=auth)
    agents = {a["name"]: a for a in r.json()["agents"]
              if a["stage"] != "document"}  # never in a turn
    assert set(agents) == STAGE_A | set().union(*WORKFLOWS.values()), agents
    assert r.json()["demo_model"] is True
    post_message(auth, project, "One message for usage.")
    r = request("GET", "/api/usage", headers=auth)
    usage = r.json()
    assert usage["usage"] and usage["total_cost_usd"] >= 0, usage
    r = request("GET", "/metrics")
    text = r.body.decode()
    for name in ("agent_runs_total{", "agent_run_duration_seconds_bucket{",
                 "claude_requests_total{", "claude_tokens_total{",
                 "turns_total{"):
        assert name in text, name


def test_board_changes_by_people_are_live_events():
    auth, project = user_and_project()
    sub = EventStream("/api/projects/%s/events" % project, auth)
    try:
        assert sub.status == 200, sub.status
        r = request("POST", "/api/projects/%s/items" % project,
                    {"text": "Live card"}, headers=auth)
        assert r.status == 201, r
        item = r.json()
        r = request("DELETE", "/api/projects/%s/items/%s" % (project, item["id"]),
                    headers=auth)
        assert r.status == 204, r
        seen = sub.wait_for("items.changed")
        created = json.loads(seen[-1][2])
        assert created["actor"] == "user" and \
            created["items"][0]["id"] == item["id"], created
        removed = json.loads(sub.wait_for("items.changed")[-1][2])
        assert removed["removed"] == [item["id"]], removed
    finally:
        sub.close()
