"""Generated documents through nginx, against the Claude double: every kind
makes a version whose request follows docs/CLAUDE.md (a json_schema answer
named after the agent's answer, no sampling parameters, no forced tool) and
whose Markdown cites the board item it rests on; versions are listed, read
and compared; a generation streams its events; another user's project is a
404; a second generation while one runs is a 409; a failed call fails the
generation without a version, and every call is counted in GET /api/usage."""

import json
import os
import threading
import uuid

import helpers
from helpers import env, expect_error, expect_invalid, psql, wait_until
from test_turns import double, parse_sse, post_message, stream_to_done, \
    user_and_project

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


def generation_result(auth, project, generation, timeout=120):
    """GET the generation until it ended; its JSON."""
    found = {}

    def ended():
        r = request("GET", path(project, "/generations/" + generation),
                    headers=auth)
        assert r.status == 200, r
        found["g"] = r.json()
        return found["g"]["status"] in ("done", "failed")
    wait_until("generation %s to end" % generation, ended, timeout=timeout,
               interval=0.05)
    return found["g"]


def generate(auth, project, kind, stream=False, timeout=120):
    """POST a generation. Streamed: its events, to document.done. Else the
    202 once the generation ended, with its state as the body (and the
    202's own body under "queued")."""
    headers = dict(auth)
    if stream:
        headers["Accept"] = "text/event-stream"
        return stream_to_done("POST", path(project), {"kind": kind}, headers,
                              timeout, auth.get("X-Test-Source"),
                              last=b"event: document.done")
    r = request("POST", path(project), {"kind": kind}, headers=headers,
                timeout=timeout)
    if r.status != 202:
        return r
    queued = r.json()
    body = generation_result(auth, project, queued["generation_id"], timeout)
    body["queued"] = queued
    return helpers.Response(202, r.headers, json.dumps(body).encode())


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
        assert r.status == 202, (kind, r)
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


def _worker_setting(name, default):
    """A setting of the stack's workers (script/test's worker.env)."""
    with open(os.path.join(env("BS_RUN_DIR"), "worker.env"),
              encoding="utf-8") as f:
        for line in f:
            if line.startswith(name + "="):
                return int(line.split("=", 1)[1])
    return default


def _versions_max():
    """DOCUMENT_VERSIONS_MAX of the stack's workers (script/test: 3)."""
    return _worker_setting("DOCUMENT_VERSIONS_MAX", 100)


def test_a_document_keeps_its_newest_versions():
    keep = _versions_max()
    assert keep <= 5, "the stack keeps %d versions: too many to pass" % keep
    auth, project, _first = seeded_project()
    for n in range(1, keep + 2):
        r = generate(auth, project, "risks")
        assert r.status == 202 and r.json()["version"]["version"] == n, r
    r = request("GET", path(project, "/risks/versions"), headers=auth)
    assert r.status == 200, r
    assert [v["version"] for v in r.json()["versions"]] == \
        list(range(keep + 1, 1, -1)), r.json()
    r = request("GET", path(project, "/risks/versions/1"), headers=auth)
    expect_error(r, 404)
    r = request("GET", path(project, "/risks/versions/2"), headers=auth)
    assert r.status == 200 and r.json()["version"] == 2, r

    # An import may not bring more than a document keeps.
    r = request("GET", "/api/projects/%s/export" % project, headers=auth)
    assert r.status == 200, r
    doc = r.json()
    risks = [i for i, d in enumerate(doc["documents"]) if d["kind"] == "risks"]
    assert risks and len(doc["documents"][risks[0]]["versions"]) == keep, doc
    extra = dict(doc["documents"][risks[0]]["versions"][0])
    extra["version"] = keep + 100
    doc["documents"][risks[0]]["versions"].append(extra)
    r = request("POST", "/api/projects/import", doc, headers=auth)
    err = expect_error(r, 422, "validation_failed")
    assert err["path"] == "documents[%d].versions[%d]" % (risks[0], keep), err


def test_a_project_keeps_its_newest_generations():
    """Past DOCUMENT_GENERATIONS_KEPT (script/test: 3) queueing a generation
    removes the oldest records, runs included; the versions they made and
    the tokens they spent stay."""
    keep = _worker_setting("DOCUMENT_GENERATIONS_KEPT", 100)
    assert keep <= 4, "the stack keeps %d generations: too many" % keep
    auth, project = user_and_project()
    made = []
    for kind in ["brief"] * 2 + ["risks"] * keep:
        r = generate(auth, project, kind)
        assert r.status == 202 and r.json()["status"] == "done", r
        made.append(r.json()["generation_id"])
    rows = psql("SELECT (SELECT count(*) FROM document_generations "
                "WHERE project_id = :'p'), (SELECT count(*) FROM turns "
                "WHERE project_id = :'p' AND document_kind IS NOT NULL), "
                "(SELECT count(*) FROM agent_runs WHERE project_id = :'p' "
                "AND generation_id IS NOT NULL)", p=project)
    assert rows == [[str(keep), str(keep), str(keep)]], rows
    for gone in made[:-keep]:
        r = request("GET", path(project, "/generations/" + gone),
                    headers=auth)
        expect_error(r, 404)
    r = request("GET", path(project, "/generations/" + made[-keep]),
                headers=auth)
    assert r.status == 200 and r.json()["status"] == "done", r
    r = request("GET", path(project, "/brief/versions"), headers=auth)
    assert [v["version"] for v in r.json()["versions"]] == [2, 1], r.json()
    r = request("GET", "/api/usage", headers=auth)
    assert sum(u["calls"] for u in r.json()["usage"]) == len(made), r.json()


def test_versions_list_read_and_diff():
    auth, project, first = seeded_project()
    r = generate(auth, project, "brief")
    assert r.status == 202, r
    # Reword the cited item: the next version's source line changes.
    r = request("PATCH", "/api/projects/%s/items/%s" % (project, first["id"]),
                {"text": "Web app for designers, then mobile", "version":
                 first["version"]}, headers=auth)
    assert r.status == 200, r
    revised = r.json()
    r = generate(auth, project, "brief")
    assert r.status == 202 and r.json()["version"]["version"] == 2, r

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
    assert names == ["document.queued", "document.started", "agent.started",
                     "agent.finished", "document.done"], names
    data = [json.loads(e[2]) for e in events]
    gen = data[0]["generation_id"]
    assert all(d["generation_id"] == gen and d["kind"] == "risks"
               for d in data), data
    assert data[1]["agent"] == "risks_writer", data
    assert data[1]["retry"] is False, data
    assert data[3]["status"] == "ok" and data[3]["tokens"]["output"] > 0, data
    done = data[4]
    assert done["status"] == "done", done
    assert done["version"]["kind"] == "risks", done
    assert done["version"]["markdown"].startswith("# "), done
    r = request("GET", path(project, "/risks"), headers=auth)
    assert r.status == 200 and r.json() == done["version"], r
    # Its state, with the version it made; its stream is over.
    g = generation_result(auth, project, gen)
    assert g["status"] == "done" and g["runs"] == 1, g
    assert g["version"] == done["version"] and g["error"] is None, g
    assert g["kind"] == "risks" and g["finished_at"], g
    expect_error(request("GET", path(project, "/generations/%s/events" % gen),
                         headers=auth), 410, "generation_over")


def test_queued_generation_answers_202_with_its_urls():
    auth, project, _ = seeded_project()
    r = request("POST", path(project), {"kind": "brief"}, headers=auth)
    assert r.status == 202, r
    q = r.json()
    gen = q["generation_id"]
    assert q["status"] == "queued" and q["kind"] == "brief", q
    assert q["url"] == path(project, "/generations/" + gen), q
    assert q["stream_url"] == q["url"] + "/events", q
    g = generation_result(auth, project, gen)
    assert g["status"] == "done" and g["version"]["version"] == 1, g
    rows = psql("SELECT status, document_kind, lease_owner FROM turns "
                "WHERE id = :'g'", g=gen)
    assert rows == [["done", "brief", ""]], rows
    # Not a turn of the conversation, and not another project's.
    expect_error(request("GET", "/api/projects/%s/turns/%s" % (project, gen),
                         headers=auth), 404, "not_found")
    other, other_project = user_and_project()
    expect_error(request("GET", path(other_project, "/generations/" + gen),
                         headers=other), 404, "not_found")
    for bad in ("x", str(uuid.uuid4())):
        expect_error(request("GET", path(project, "/generations/" + bad),
                             headers=auth), 404, "not_found")


def test_a_conversation_goes_on_while_a_document_is_written():
    auth, project, _ = seeded_project()
    reset_double()
    double("POST", "/_double/faults", {"faults": [
        {"kind": "delay", "ms": 3000, "match": {"tool": "write_brief"}}]})
    try:
        r = request("POST", path(project), {"kind": "brief"}, headers=auth)
        assert r.status == 202, r
        gen = r.json()["generation_id"]
        r = post_message(auth, project, "Meanwhile, a question [no-changes]")
        assert r.status == 202 and r.json()["status"] == "done", r
        assert generation_result(auth, project, gen)["status"] == "done"
    finally:
        reset_double()


def test_new_versions_are_live_project_events():
    """A saved version reaches every member's project stream as
    document.version (without its Markdown), whoever asked for it."""
    from test_turns import EventStream
    auth, project, _ = seeded_project()
    stream = EventStream("/api/projects/%s/events" % project, auth)
    try:
        r = generate(auth, project, "next_steps")
        assert r.status == 202 and r.json()["status"] == "done", r
        gen = r.json()["generation_id"]
        seen = stream.wait_for("document.version", timeout=30)
    finally:
        stream.close()
    ev = json.loads(seen[-1][2])
    assert ev["generation_id"] == gen and ev["kind"] == "next_steps", ev
    assert ev["version"] == 1 and ev["title"], ev
    assert "markdown" not in ev, ev


def test_token_limit_and_queue_bounds():
    """USER_MONTHLY_TOKEN_LIMIT: 429 once the month's tokens are spent,
    nothing queued; a user's turns and documents together stop at
    TURN_USER_MAX (429)."""
    from helpers import Worker
    auth, project, _ = seeded_project()     # its turn spent tokens
    token = auth["Authorization"].split(" ", 1)[1]
    worker = Worker("doc-limit", {"USER_MONTHLY_TOKEN_LIMIT": "1"})
    try:
        status, body = worker.call("POST", path(project), {"kind": "brief"},
                                   token)
        assert status == 429, (status, body)
        assert body["error"]["code"] == "token_limit_reached", body
    finally:
        worker.stop()
    rows = psql("SELECT count(*) FROM document_generations WHERE "
                "project_id = :'p'", p=project)
    assert rows == [["0"]], rows
    user_max = int(helpers.worker_env().get("TURN_USER_MAX") or 4)
    auth, project, _ = seeded_project()
    ghosts = []
    try:
        user = psql("SELECT owner_id FROM projects WHERE id = :'p'",
                    p=project)[0][0]
        # Jobs of the user's that wait, for an engine nobody runs.
        for _ in range(user_max):
            r = request("POST", "/api/projects", {"title": "Ghost"},
                        headers=auth)
            ghost = str(uuid.uuid4())
            psql("BEGIN; INSERT INTO document_generations (id, project_id, "
                 "kind, user_id) VALUES (:'g', :'p', 'brief', :'u'); "
                 "INSERT INTO turns (id, project_id, document_kind, status, "
                 "user_id, queued_by, queued_at) VALUES (:'g', :'p', 'brief', "
                 "'queued', :'u', 'nobody:0:0', now() + interval '1 hour'); "
                 "COMMIT", g=ghost, p=r.json()["id"], u=user)
            ghosts.append(ghost)
        r = request("POST", path(project), {"kind": "risks"}, headers=auth)
        expect_error(r, 429, "too_many_turns")
        assert int(r.header("Retry-After")) >= 1, r
        r = request("POST", "/api/projects/%s/messages" % project,
                    {"content": "Behind my documents"}, headers=auth)
        expect_error(r, 429, "too_many_turns")
    finally:
        for g in ghosts:
            psql("BEGIN; DELETE FROM turns WHERE id = :'g'; DELETE FROM "
                 "document_generations WHERE id = :'g'; COMMIT", g=g)


def test_a_full_queue_refuses_documents():
    from helpers import Worker
    worker = Worker("doc-queue-max", {"TURN_QUEUE_MAX": "1"})
    auth, project, _ = seeded_project()
    token = auth["Authorization"].split(" ", 1)[1]
    ghost = str(uuid.uuid4())
    r = request("POST", "/api/projects", {"title": "Ghost"}, headers=auth)
    ghost_project = r.json()["id"]
    user = psql("SELECT owner_id FROM projects WHERE id = :'p'",
                p=project)[0][0]
    psql("BEGIN; INSERT INTO document_generations (id, project_id, kind, "
         "user_id) VALUES (:'g', :'p', 'brief', :'u'); "
         "INSERT INTO turns (id, project_id, document_kind, status, user_id, "
         "queued_by, queued_at) VALUES (:'g', :'p', 'brief', 'queued', NULL, "
         "'nobody:0:0', now() + interval '1 hour'); COMMIT",
         g=ghost, p=ghost_project, u=user)
    try:
        status, body = worker.call("POST", path(project), {"kind": "brief"},
                                   token)
        assert status == 503 and body["error"]["code"] == "queue_full", (
            status, body)
    finally:
        psql("BEGIN; DELETE FROM turns WHERE id = :'g'; DELETE FROM "
             "document_generations WHERE id = :'g'; COMMIT", g=ghost)
        worker.stop()


def test_a_killed_engines_generation_is_taken_over_once():
    """SIGKILL the process writing a document: once its lease expires
    another engine writes it; one version, one generation, done on run 2."""
    import signal
    import fcgi_client
    from helpers import Worker
    doomed = Worker("doc-doomed", {"TURN_LEASE": "5"})
    pace = double("GET", "/_double/config")
    auth, project, _ = seeded_project()
    token = auth["Authorization"].split(" ", 1)[1]
    try:
        double("POST", "/_double/config", {"latency_ms": 4000})
        status, _, data = fcgi_client.request(
            ("127.0.0.1", doomed.port), "POST", path(project),
            body=json.dumps({"kind": "decision_log"}).encode(), timeout=30,
            headers={"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"})
        assert status == 202, (status, data)
        gen = json.loads(data)["generation_id"]
        pid = doomed.proc.pid

        def held():
            rows = psql("SELECT lease_owner FROM turns WHERE id = :'g' AND "
                        "status = 'running'", g=gen)
            return bool(rows) and (":%d:" % pid) in rows[0][0]
        wait_until("the doomed engine to hold the generation", held,
                   timeout=30)
        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait(30)
        double("POST", "/_double/config", {"latency_ms": pace["latency_ms"]})
        body = generation_result(auth, project, gen, timeout=120)
    finally:
        double("POST", "/_double/config", {"latency_ms": pace["latency_ms"]})
        doomed.stop()
    assert body["status"] == "done" and body["runs"] == 2, body
    assert body["version"]["version"] == 1, body
    r = request("GET", path(project, "/decision_log/versions"), headers=auth)
    assert [v["version"] for v in r.json()["versions"]] == [1], r
    rows = psql("SELECT g.status, count(r.id) FROM document_generations g "
                "LEFT JOIN agent_runs r ON r.generation_id = g.id "
                "WHERE g.project_id = :'p' GROUP BY g.id, g.status", p=project)
    assert rows == [["done", "1"]], rows
    rows = psql("SELECT count(*) FROM turns WHERE project_id = :'p' AND "
                "status IN ('queued', 'running')", p=project)
    assert rows == [["0"]], rows
    print("    generation %s: its engine SIGKILLed while it ran; taken over "
          "after the 5 s lease, one version, done on run 2" % gen[:8])


def test_an_expired_lease_is_taken_over_once():
    """A generation left running under an expired lease (its engine gone)
    is written by another engine, and saved once."""
    auth, project, _ = seeded_project()
    r = generate(auth, project, "open_questions")
    gen = r.json()["generation_id"]
    # As an engine that died mid-generation leaves it: nothing saved.
    psql("BEGIN; DELETE FROM agent_runs WHERE generation_id = :'g'; "
         "UPDATE document_generations SET status = 'running', "
         "version_id = NULL, finished_at = NULL WHERE id = :'g'; "
         "DELETE FROM document_versions; "
         "UPDATE turns SET status = 'running', finished_at = NULL, "
         "lease_owner = 'gone:1:dead', lease_until = now() - interval '1 s' "
         "WHERE id = :'g'; COMMIT", g=gen)
    body = generation_result(auth, project, gen)
    assert body["status"] == "done" and body["runs"] == 2, body
    r = request("GET", path(project, "/open_questions/versions"), headers=auth)
    assert [v["version"] for v in r.json()["versions"]] == [1], r


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
    assert r.status == 202, r
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
    assert r.status == 202, r
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
    assert results["first"].status == 202, results
    # Once it is done, the next one runs.
    r = generate(auth, project, "brief")
    assert r.status == 202, r


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
    assert r.status == 202, r
    err = r.json()
    assert err["status"] == "failed" and err["version"] is None, err
    assert "server" in err["error"], err
    assert any("next_steps_writer failed" in n for n in err["notes"]), err
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
    assert r.status == 202, r


def test_usage_counts_generations():
    auth, project = user_and_project()
    r = request("GET", "/api/usage", headers=auth)
    before = sum(u["calls"] for u in r.json()["usage"])
    r = generate(auth, project, "decision_log")
    assert r.status == 202, r
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
        assert r.status == 202, r
    r = generate(auth, project, "risks")
    expect_error(r, 429, "rate_limited")
    assert int(r.header("Retry-After")) >= 1, r
