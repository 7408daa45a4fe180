"""Generated documents through nginx, against the Claude double: every kind
makes a version whose request follows docs/CLAUDE.md (a json_schema answer
named after the agent's answer, no sampling parameters, no forced tool) and
whose Markdown cites the board item it rests on; versions are listed, read
and compared; a generation streams its events; another user's project is a
404; a second generation while one runs is a 409; a failed call fails the
generation without a version, and every call is counted in GET /api/usage."""

import json
import threading
import uuid

import helpers
from helpers import expect_error, expect_invalid, psql, wait_until
from test_turns import double, parse_sse, post_message, user_and_project

KINDS = {
    "brief": ("brief_writer", "write_brief", "# "),
    "decision_log": ("decision_log_writer", "write_decision_log", "- "),
    "next_steps": ("next_steps_writer", "write_next_steps", "1. "),
    "open_questions": ("open_questions_writer", "write_open_questions", "- "),
    "risks": ("risks_writer", "write_risks", "- "),
}
SAMPLING = ("temperature", "top_p", "top_k")


def request(method, path, body=None, headers=None, **kwargs):
    """helpers.request from the test's own loopback address when its
    headers carry one (nginx's limits count per address)."""
    if headers and "X-Test-Source" in headers:
        kwargs.setdefault("source", headers["X-Test-Source"])
    return helpers.request(method, path, body, headers, **kwargs)


def settled():
    wait_until("the double to settle",
               lambda: double("GET", "/_double/stats")["in_flight"] == 0,
               timeout=10, interval=0.02)


def reset_double():
    settled()
    double("POST", "/_double/reset")


def path(project, rest=""):
    return "/api/projects/%s/documents%s" % (project, rest)


def generate(auth, project, kind, stream=False, timeout=120):
    headers = dict(auth)
    if stream:
        headers["Accept"] = "text/event-stream"
    return request("POST", path(project), {"kind": kind}, headers=headers,
                   timeout=timeout)


def seeded_project():
    """A project with a conversation and a board; also the item the
    double's documents cite: the first one listed (i1), a decided one."""
    auth, project = user_and_project()
    r = post_message(auth, project, "Maybe a weekly digest by email. "
                     "Let's go with a web app for designers.")
    assert r.status == 202 and r.json()["status"] == "done", r
    r = request("POST", "/api/projects/%s/items" % project,
                {"text": "Price: flat 15 euros a month", "state": "parked",
                 "user_quote": "flat 15 euros"}, headers=auth)
    assert r.status == 201, r
    r = request("GET", "/api/projects/%s/items" % project, headers=auth)
    items = r.json()["items"]
    assert items[0]["state"] == "decided", items
    return auth, project, items[0]


def source_line(item):
    """The footnote a document gives a cited item (plain text only)."""
    return "[^%s]: %s (%s, confidence %d). The person's words: " \
        "\u201c%s\u201d\n" % (item["id"][:8], item["text"], item["state"],
                              item["confidence"], item["user_quote"])


def test_each_kind_generates_a_version_with_citations():
    auth, project, first = seeded_project()
    reset_double()
    for kind, (agent, answer, marker) in KINDS.items():
        r = generate(auth, project, kind)
        assert r.status == 201, (kind, r)
        body = r.json()
        assert body["status"] == "done" and body["kind"] == kind, body
        v = body["version"]
        assert v["kind"] == kind and v["version"] == 1, v
        assert v["model"] == "claude-sonnet-5-5", v
        assert v["input_tokens"] > 0 and v["output_tokens"] > 0, v
        assert v["created_by"], v
        md = v["markdown"]
        assert md.startswith("# "), md
        assert "\n## " in md and marker in md, (kind, md)
        # The double cites the first board item (i1): the decided one at
        # position 0, as a footnote with its text and the person's words.
        label = "[^%s]" % first["id"][:8]
        assert label in md, (kind, md)
        assert "\n## Sources\n\n" + source_line(first) in md, md
        assert "<" not in md and ">" not in md, md
        assert v["message_id"] and v["item_event_id"], v
    settled()
    sent = [x for x in double("GET", "/_double/requests")["requests"]
            if x["tool"].startswith("write_")]
    assert sorted(x["tool"] for x in sent) == \
        sorted(a for _, a, _ in KINDS.values()), sent
    for x in sent:
        body = x["body"]
        assert x["status"] == 200 and not x["stream"], x
        for key in SAMPLING:
            assert key not in body, (key, x["tool"])
        assert "tools" not in body and "tool_choice" not in body, body
        fmt = body["output_config"]["format"]
        assert fmt["type"] == "json_schema", fmt
        assert fmt["schema"]["title"] == x["tool"], fmt["schema"]
        assert fmt["schema"]["additionalProperties"] is False
        assert body["thinking"] == {"type": "adaptive"}, body["thinking"]
        assert body["output_config"]["effort"] == "medium", body
        system = body["system"]
        assert system[-1]["cache_control"]["type"] == "ephemeral", system
        text = body["messages"][0]["content"]
        if not isinstance(text, str):
            text = "".join(b["text"] for b in text)
        for tag in ("<project>", "<board>", "<conversation>", "<message>"):
            assert tag in text, (tag, text)
        assert first["text"] in text and "history:" in text, text
        assert "flat 15 euros a month" in text, text
        assert "person: Maybe a weekly digest" in text, text


def test_versions_list_read_and_diff():
    auth, project, first = seeded_project()
    r = generate(auth, project, "brief")
    assert r.status == 201, r
    # Reword the cited item: the next version's source line changes.
    r = request("PATCH", "/api/projects/%s/items/%s" % (project, first["id"]),
                {"text": "Web app for designers, then mobile", "version":
                 first["version"]}, headers=auth)
    assert r.status == 200, r
    revised = r.json()
    r = generate(auth, project, "brief")
    assert r.status == 201 and r.json()["version"]["version"] == 2, r

    r = request("GET", path(project, "/brief/versions"), headers=auth)
    assert r.status == 200, r
    versions = r.json()["versions"]
    assert [v["version"] for v in versions] == [2, 1], versions
    assert all("markdown" not in v for v in versions), versions
    one = request("GET", path(project, "/brief/versions/1"), headers=auth)
    two = request("GET", path(project, "/brief/versions/2"), headers=auth)
    latest = request("GET", path(project, "/brief"), headers=auth)
    assert one.status == two.status == latest.status == 200
    assert latest.json() == two.json(), (latest, two)
    assert source_line(first) in one.json()["markdown"], one.json()
    assert source_line(revised) in two.json()["markdown"], two.json()

    r = request("GET", path(project), headers=auth)
    assert r.status == 200, r
    docs = r.json()
    assert [d["kind"] for d in docs["documents"]] == ["brief"], docs
    assert docs["documents"][0]["version"] == 2, docs
    assert docs["kinds"] == list(KINDS), docs

    r = request("GET", path(project, "/brief/diff?from=1&to=2"), headers=auth)
    assert r.status == 200, r
    d = r.json()
    assert d["from"] == 1 and d["to"] == 2, d
    assert d["added"] == 1 and d["removed"] == 1 and d["hunks"] == 1, d
    assert d["lines"][:2] == ["--- brief version 1", "+++ brief version 2"], d
    assert d["lines"][2].startswith("@@ -"), d
    assert "-" + source_line(first)[:-1] in d["lines"], d
    assert "+" + source_line(revised)[:-1] in d["lines"], d
    assert d["diff"] == "\n".join(d["lines"]) + "\n", d
    r = request("GET", path(project, "/brief/diff?from=2&to=2"), headers=auth)
    assert r.status == 200 and r.json()["lines"] == [], r

    expect_error(request("GET", path(project, "/brief/versions/3"),
                         headers=auth), 404, "not_found")
    expect_error(request("GET", path(project, "/brief/versions/x"),
                         headers=auth), 404, "not_found")
    expect_error(request("GET", path(project, "/risks"), headers=auth), 404,
                 "not_found")
    expect_error(request("GET", path(project, "/poem"), headers=auth), 404,
                 "not_found")
    expect_error(request("GET", path(project, "/brief/diff?from=1&to=9"),
                         headers=auth), 404, "not_found")
    expect_invalid(request("GET", path(project, "/brief/diff?to=2"),
                           headers=auth), "from")
    expect_invalid(request("GET", path(project, "/brief/diff?from=1&to=0"),
                           headers=auth), "to")
    r = request("GET", path(project, "/risks/versions"), headers=auth)
    assert r.status == 200 and r.json()["versions"] == [], r


def test_streamed_generation():
    auth, project, _ = seeded_project()
    r = generate(auth, project, "risks", stream=True)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/event-stream"), r
    events = parse_sse(r.body)
    names = [e[1] for e in events]
    assert names == ["document.started", "agent.started", "agent.finished",
                     "document.done"], names
    data = [json.loads(e[2]) for e in events]
    gen = data[0]["generation_id"]
    assert all(d["generation_id"] == gen and d["kind"] == "risks"
               for d in data), data
    assert data[1]["agent"] == "risks_writer", data
    assert data[2]["status"] == "ok" and data[2]["tokens"]["output"] > 0, data
    done = data[3]
    assert done["status"] == "done", done
    assert done["version"]["kind"] == "risks", done
    assert done["version"]["markdown"].startswith("# "), done
    r = request("GET", path(project, "/risks"), headers=auth)
    assert r.status == 200 and r.json() == done["version"], r


def test_bad_kinds_and_bodies():
    auth, project = user_and_project()
    expect_invalid(request("POST", path(project), {"kind": "poem"},
                           headers=auth), "kind")
    expect_invalid(request("POST", path(project), {}, headers=auth), "kind")
    expect_invalid(request("POST", path(project), {"kind": "brief",
                                                   "extra": 1},
                           headers=auth), "extra")


def test_empty_board_still_generates():
    auth, project = user_and_project()
    r = generate(auth, project, "open_questions")
    assert r.status == 201, r
    body = r.json()
    md = body["version"]["markdown"]
    # The double cites an id that is not on the board: dropped, said.
    assert "[^" not in md and "## Sources" not in md, md
    assert any("left out" in n for n in body["notes"]), body
    assert body["version"]["message_id"] is None, body
    assert body["version"]["item_event_id"] is None, body


def test_another_users_project_is_404():
    auth, project, _ = seeded_project()
    r = generate(auth, project, "brief")
    assert r.status == 201, r
    other, _ = user_and_project()
    for method, rest, body in (
            ("POST", "", {"kind": "brief"}), ("GET", "", None),
            ("GET", "/brief", None), ("GET", "/brief/versions", None),
            ("GET", "/brief/versions/1", None),
            ("GET", "/brief/diff?from=1&to=1", None)):
        expect_error(request(method, path(project, rest), body,
                             headers=other), 404, "not_found")
    expect_error(request("GET", path(str(uuid.uuid4())), headers=auth), 404,
                 "not_found")
    r = request("GET", path(project, "/brief"))
    assert r.status == 401, r


def test_one_generation_at_a_time():
    auth, project, _ = seeded_project()
    reset_double()
    double("POST", "/_double/faults", {"faults": [
        {"kind": "delay", "ms": 3000, "match": {"tool": "write_risks"}}]})
    results = {}

    def slow():
        results["first"] = generate(auth, project, "risks")

    t = threading.Thread(target=slow)
    t.start()
    try:
        wait_until("the slow generation to reach the model",
                   lambda: double("GET", "/_double/stats")["in_flight"] >= 1,
                   timeout=20, interval=0.05)
        expect_error(generate(auth, project, "brief"), 409,
                     "generation_running")
    finally:
        t.join(60)
    assert results["first"].status == 201, results
    # Once it is done, the next one runs.
    r = generate(auth, project, "brief")
    assert r.status == 201, r


def test_failed_generation_keeps_no_version():
    auth, project, _ = seeded_project()
    reset_double()
    double("POST", "/_double/faults", {"faults": [
        {"kind": "server_error", "count": 10,
         "match": {"tool": "write_next_steps"}}]})
    try:
        r = generate(auth, project, "next_steps")
    finally:
        reset_double()
    err = expect_error(r, 502, "generation_failed")
    assert err["generation_id"], err
    assert "server" in err["message"], err
    r = request("GET", path(project, "/next_steps/versions"), headers=auth)
    assert r.json()["versions"] == [], r
    rows = psql("SELECT g.status, r.status, r.attempts, r.error FROM "
                "document_generations g JOIN agent_runs r ON "
                "r.generation_id = g.id WHERE g.id = :'g'",
                g=err["generation_id"])
    assert len(rows) == 1, rows
    assert rows[0][0] == "failed" and rows[0][1] == "error", rows
    assert int(rows[0][2]) >= 2 and rows[0][3].startswith("server"), rows

    # A refusal says so, streamed too.
    double("POST", "/_double/faults", {"faults": [
        {"kind": "refusal", "match": {"tool": "write_brief"}}]})
    r = generate(auth, project, "brief", stream=True)
    assert r.status == 200, r
    events = parse_sse(r.body)
    names = [e[1] for e in events]
    assert names[-2:] == ["error", "document.done"], names
    error = json.loads(events[-2][2])
    assert error["code"] == "refused", error
    done = json.loads(events[-1][2])
    assert done["status"] == "failed" and "version" not in done, done
    # The next one runs: the failed generation does not hold the project.
    r = generate(auth, project, "brief")
    assert r.status == 201, r


def test_usage_counts_generations():
    auth, project = user_and_project()
    r = request("GET", "/api/usage", headers=auth)
    before = sum(u["calls"] for u in r.json()["usage"])
    r = generate(auth, project, "decision_log")
    assert r.status == 201, r
    v = r.json()["version"]
    r = request("GET", "/api/usage", headers=auth)
    usage = r.json()["usage"]
    assert sum(u["calls"] for u in usage) == before + 1, usage
    sonnet = [u for u in usage if u["model"] == "claude-sonnet-5-5"]
    assert sonnet and sonnet[0]["output_tokens"] >= v["output_tokens"], usage


def test_agents_list_the_document_writers():
    auth, _ = user_and_project()
    r = request("GET", "/api/agents", headers=auth)
    assert r.status == 200, r
    agents = {a["name"]: a for a in r.json()["agents"]}
    for kind, (agent, _, _) in KINDS.items():
        a = agents[agent]
        assert a["stage"] == "document" and a["produces"] == "document", a
        assert a["document"] == kind and a["workflows"] == [], a
    assert "document" not in agents["recorder"], agents["recorder"]


def test_generation_rate_limited():
    auth, project = user_and_project()
    limit = int(helpers.worker_env().get("DOCUMENT_RATE_LIMIT") or 10)
    statuses = []
    for _ in range(limit + 1):
        r = request("POST", path(project), {"kind": "poem"}, headers=auth)
        statuses.append(r.status)
    # Invalid bodies are refused before they count.
    assert set(statuses) == {422}, statuses
    for _ in range(limit):
        r = generate(auth, project, "risks")
        assert r.status == 201, r
    r = generate(auth, project, "risks")
    expect_error(r, 429, "rate_limited")
    assert int(r.header("Retry-After")) >= 1, r
