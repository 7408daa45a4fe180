"""Today's Claude models, against the double in its strict catalogue:
requests shaped by each model's capabilities (structured outputs, no
sampling parameters, no forced tool, thinking and effort per agent), every
intent on every current model class, start-up checks of the Models API
(retired and unknown models refused, deprecated ones warned about),
refusals and spending limits said to the person, and three bugs: an item
whose text is cut inside a character, an answer cache shared between
people, and a turn left running when its final save fails."""

import json
import os
import subprocess
import uuid

import helpers
from helpers import Worker, env, free_port, request, wait_until, worker_env
from test_turns import WORKFLOWS, STAGE_A, double, post_message, \
    retry_turn, turn_result, user_and_project, parse_sse

CURRENT = ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5",
           "claude-fable-5-2")
# Every agent not on the defaults goes to Opus 5.5 or Fable 5.2.
PER_AGENT = ("recorder=claude-opus-5-5,quality_auditor=claude-fable-5-2,"
             "consistency_guardian=claude-opus-5-5,"
             "gap_detector=claude-fable-5-2,questioner=claude-opus-5-5,"
             "reviewer=claude-fable-5-2,prioritizer=claude-opus-5-5,"
             "strategic_planner=claude-fable-5-2")
SAMPLING = ("temperature", "top_p", "top_k")


def _settled():
    """The double's counters once every answer is fully written (it counts
    a request after its last byte, which can follow the client's read)."""
    wait_until("the double to settle",
               lambda: double("GET", "/_double/stats")["in_flight"] == 0,
               timeout=10, interval=0.02)
    return double("GET", "/_double/stats")


def _reset():
    _settled()
    double("POST", "/_double/reset")


def _recent_requests():
    _settled()
    return double("GET", "/_double/requests")["requests"]


def _check_shape(req):
    """One request the way docs/CLAUDE.md says it is sent."""
    body = req.get("body") or {}
    assert req["status"] == 200, req
    for key in SAMPLING:
        assert key not in body, (key, body.get("model"))
    choice = body.get("tool_choice") or {}
    assert choice.get("type") not in ("tool", "any"), body["model"]
    assert body["model"] in CURRENT, body["model"]
    fmt = (body.get("output_config") or {}).get("format")
    if body.get("stream"):
        assert fmt is None and "tools" not in body, body["model"]
    else:
        assert fmt["type"] == "json_schema", body["model"]
        assert fmt["schema"]["additionalProperties"] is False
        assert fmt["schema"]["title"], fmt["schema"]
    return body


def test_requests_follow_the_model_capabilities():
    auth, project = user_and_project()
    _reset()
    r = post_message(auth, project, "We will use PostgreSQL for the "
                     "catalogue. Maybe a mobile app later.")
    assert r.status == 202, r
    assert r.json()["status"] == "done", r.json()
    sent = [_check_shape(x) for x in _recent_requests()]
    by_title = {}
    for body in sent:
        fmt = (body.get("output_config") or {}).get("format")
        by_title[fmt["schema"]["title"] if fmt else "text"] = body
    # The reply: Sonnet 5.5, streamed, no up-front thinking, low effort.
    reply = by_title["text"]
    assert reply["model"] == "claude-sonnet-5-5", reply["model"]
    assert reply["thinking"] == {"type": "between_tools"}, reply["thinking"]
    assert reply["output_config"]["effort"] == "low", reply["output_config"]
    # Classification: Haiku 5.5 without thinking, at low effort.
    cls = by_title["classify_intent"]
    assert cls["model"] == "claude-haiku-5-5", cls["model"]
    assert cls["thinking"] == {"type": "disabled"}, cls["thinking"]
    assert cls["output_config"]["effort"] == "low"
    # Ranges the schema subset cannot say travel in the description.
    conf = cls["output_config"]["format"]["schema"]["properties"]["confidence"]
    assert "maximum" not in conf and "maximum: 100" in conf["description"]
    rec = by_title["record_changes"]
    assert rec["thinking"] == {"type": "adaptive"}, rec["thinking"]
    assert rec["max_tokens"] > 1500, rec["max_tokens"]


def _turn_ok(body, intent):
    assert body["status"] == "done", (intent, body)
    assert body["intent"] == intent, (intent, body["intent"])
    bad = [a for a in body["agents"] if a["status"] != "ok"]
    assert not bad, (intent, bad)
    ran = {a["agent"] for a in body["agents"]}
    assert ran - STAGE_A == WORKFLOWS[intent], (intent, ran)
    assert body["items"], (intent, "no board change")


def _message(intent):
    return ("We will use PostgreSQL for the %s catalogue. Maybe a mobile "
            "app later. [intent:%s]" % (uuid.uuid4().hex[:6], intent))


def test_every_intent_on_the_default_models():
    auth, project = user_and_project()
    _reset()
    for intent in WORKFLOWS:
        r = post_message(auth, project, _message(intent))
        assert r.status == 202, r
        _turn_ok(r.json(), intent)
    models = _settled()["by_model"]
    assert set(models) == {"claude-sonnet-5-5", "claude-haiku-5-5"}, models


def test_every_intent_with_opus_and_fable_per_agent():
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    worker = Worker("per-agent", {"AGENT_MODELS": PER_AGENT})
    try:
        _reset()
        for intent in WORKFLOWS:
            status, body = worker.post(
                "/api/projects/%s/messages" % project,
                {"content": _message(intent)}, token)
            # The worker's own engine runs the turns it queued.
            assert status == 202, (status, body)
            body = turn_result(auth, project, body["turn_id"])
            _turn_ok(body, intent)
        sent = [_check_shape(x) for x in _recent_requests()]
        models = {b["model"] for b in sent}
        assert set(CURRENT) <= models, models
        # Opus 5.5 and Fable 5.2 cannot turn thinking off: never asked to.
        for b in sent:
            if b["model"] in ("claude-opus-5-5", "claude-fable-5-2"):
                assert b.get("thinking", {}).get("type") != "disabled", b
    finally:
        worker.stop()


def _check_config(extra):
    wenv = worker_env()
    wenv.update(extra)
    return subprocess.run([env("BS_WORKER_BIN"), "--check-config", "--online"],
                          env=wenv, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60,
                          check=False)


def test_check_config_online_asks_the_models_api():
    done = _check_config({})
    assert done.returncode == 0, done.stderr
    assert "every model is available" in done.stdout, done.stdout
    done = _check_config({"CLAUDE_MODEL": "claude-sonnet-4-5-20250929"})
    assert done.returncode != 0, done.stdout
    assert "claude-sonnet-4-5-20250929 is retired" in done.stderr, done.stderr
    assert "the newest active sonnet model is claude-sonnet-5-5" in \
        done.stderr, done.stderr
    done = _check_config({"CLAUDE_MODEL_FAST": "claude-3-opus-20240229"})
    assert done.returncode != 0, done.stdout
    assert "unknown to the API" in done.stderr, done.stderr
    done = _check_config({"AGENT_MODELS":
                          "reviewer=claude-opus-4-5-20251101"})
    assert done.returncode == 0, done.stderr
    assert "deprecated and retires at 2027-01-22" in done.stderr, done.stderr
    assert "the newest active opus model is claude-opus-5-5" in done.stderr, \
        done.stderr
    done = _check_config({"AGENT_MODELS": "reviewr=claude-opus-5-5"})
    assert done.returncode != 0 and "reviewr" in done.stderr, done.stderr
    # Nobody answers: --online says so instead of assuming.
    done = _check_config({"CLAUDE_BASE_URL": "http://127.0.0.1:%d"
                          % free_port(), "CLAUDE_TIMEOUT_MS": "2000"})
    assert done.returncode != 0, done.stdout


def test_production_refuses_to_start_on_a_retired_model():
    wenv = worker_env()
    wenv.update({"APP_ENV": "production", "DEBUG_ROUTES": "false",
                 "CLAUDE_MODEL": "claude-sonnet-4-5-20250929",
                 "JWT_SECRET": os.urandom(24).hex(),
                 "JWT_REFRESH_SECRET": os.urandom(24).hex()})
    done = subprocess.run([env("BS_WORKER_BIN"), "--listen",
                           "127.0.0.1:%d" % free_port()], env=wenv,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode != 0, done
    assert "is retired" in done.stderr, done.stderr


def test_a_refusal_is_shown_as_one():
    auth, project = user_and_project()
    r = post_message(auth, project, "Tell me about locks. [fault:refusal] "
                     "[fault-agent:text]", stream=True)
    assert r.status == 200, r
    events = parse_sse(r.body)
    errors = [json.loads(d) for _, n, d in events if n == "error"]
    assert errors and errors[0]["code"] == "refused", events
    assert "declined" in errors[0]["message"], errors
    assert json.loads(events[-1][2])["status"] == "failed", events[-1]


def test_a_spending_limit_is_explained_and_not_retried():
    auth, project = user_and_project()
    _reset()
    r = post_message(auth, project, "Plan the launch. [fault:spend_cap] "
                     "[fault-agent:text]")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "failed", body
    assert "spending limit" in body["error"], body["error"]
    assert _settled()["by_tool"].get("text") == 1
    reply = [a for a in body["agents"] if a["agent"] == "conversation"][0]
    assert reply["error"].startswith("spend_cap"), reply


def test_a_structured_answer_cut_short_is_an_agent_error():
    auth, project = user_and_project()
    r = post_message(auth, project, "We will sell jam. "
                     "[fault:context_exceeded] [fault-agent:record_changes]")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "done" and body["items"] == [], body
    rec = [a for a in body["agents"] if a["agent"] == "recorder"][0]
    assert rec["status"] == "error", rec
    assert rec["error"].startswith("context_exceeded"), rec


def test_an_item_cut_inside_a_character_does_not_break_turns():
    auth, project = user_and_project()
    text = ("Мы хотим открыть небольшую пекарню в центре города и продавать "
            "хлеб на закваске, булочки с корицей и кофе навынос. Утром "
            "основная выручка, днём обеды, вечером скидки на остатки. "
            "Нужно понять аренду, оборудование и сколько людей нанять. ")
    text = (text * 3)[:300]
    assert len(text.encode()) > 300, len(text.encode())
    r = request("POST", "/api/projects/%s/items" % project,
                {"text": text, "state": "exploring"}, headers=auth)
    assert r.status == 201, r
    r = post_message(auth, project, "What should we decide first?")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "done", body
    assert all(a["status"] == "ok" for a in body["agents"]), body["agents"]


def _classifier_status(auth, title, content):
    r = request("POST", "/api/projects", {"title": title}, headers=auth)
    assert r.status == 201, r
    r = post_message(auth, r.json()["id"], content)
    assert r.status == 202, r
    return [a for a in r.json()["agents"]
            if a["agent"] == "context_manager"][0]["status"]


def test_the_answer_cache_is_scoped_by_person():
    content = "A reading club for the office %s." % uuid.uuid4().hex[:8]
    first, _ = user_and_project()
    second, _ = user_and_project()
    assert _classifier_status(first, "One", content) == "ok"
    # The same person asking the same thing again is answered from the cache.
    assert _classifier_status(first, "Two", content) == "cached"
    # Someone else never learns from a cache hit that it was asked before.
    assert _classifier_status(second, "Three", content) == "ok"


def test_a_turn_whose_save_fails_is_marked_failed():
    auth, project = user_and_project()
    # The final transaction loses its connection while it writes. psql
    # does not interpolate inside $$: the uuid (checked) goes in as text.
    project = str(uuid.UUID(project))
    helpers.psql("""
        CREATE FUNCTION test_kill_save() RETURNS trigger AS $$
        BEGIN
            IF NEW.project_id = '%s'::uuid THEN
                PERFORM pg_terminate_backend(pg_backend_pid());
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_kill_save BEFORE INSERT ON agent_runs
            FOR EACH ROW EXECUTE FUNCTION test_kill_save();
    """ % project)
    try:
        r = post_message(auth, project, "We will open on Mondays.")
    finally:
        helpers.psql("DROP TRIGGER test_kill_save ON agent_runs; "
                     "DROP FUNCTION test_kill_save();")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "failed", body
    assert "could not be saved" in body["error"], body["error"]
    status = helpers.psql("SELECT status FROM turns WHERE id = :'turn'",
                          turn=body["turn_id"])
    assert status == [["failed"]], status
    # Failed, not running: it can be retried at once.
    r = retry_turn(auth, project, body["turn_id"])
    assert r.status == 202 and r.json()["status"] == "done", r


def _gauges(worker):
    """The claude_model* lines of one worker's /metrics, by series."""
    status, _ = worker.call("GET", "/api/health")
    assert status == 200
    import fcgi_client
    status, _, out = fcgi_client.request(("127.0.0.1", worker.port), "GET",
                                         "/metrics", timeout=10)
    assert status == 200, status
    found = {}
    for line in out.decode().splitlines():
        if line.startswith("claude_model"):
            series, value = line.rsplit(" ", 1)
            found[series] = float(value)
    return found


def _lifecycle(model, lifecycle):
    return 'claude_model_lifecycle{model="%s",lifecycle="%s"}' % (
        model, lifecycle)


def _retires(model):
    return 'claude_model_retires_at_seconds{model="%s"}' % model


def _day(text):
    import calendar
    import time
    return calendar.timegm(time.strptime(text, "%Y-%m-%d"))


def test_a_running_worker_learns_of_deprecations_and_retirements():
    """CLAUDE_MODELS_CHECK_INTERVAL: a worker asks the Models API about its
    models again while it runs. A deprecation and a retirement are logged
    once and shown in the claude_model_* gauges; a turn whose reply model
    was retired fails with words the person can act on."""
    opus45 = "claude-opus-4-5-20251101"
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    _reset()
    worker = Worker("models-watch", {"CLAUDE_MODELS_CHECK_INTERVAL": "1",
                                     "CLAUDE_MODEL": opus45})
    try:
        # What the start learned is in the gauges at once.
        g = _gauges(worker)
        assert g[_lifecycle(opus45, "deprecated")] == 1, g
        assert g[_lifecycle(opus45, "active")] == 0, g
        assert g[_retires(opus45)] == _day("2027-01-22"), g
        assert g[_lifecycle("claude-haiku-5-5", "active")] == 1, g
        assert _retires("claude-haiku-5-5") not in g, g
        assert g["claude_models_checked_at_seconds"] > 0, g

        # Anthropic announces that Haiku 5.5 will retire.
        double("POST", "/_double/models", {"id": "claude-haiku-5-5",
                                           "deprecated_at": "2026-12-01",
                                           "retires_at": "2027-06-01"})
        wait_until("the worker to learn of the deprecation", lambda:
                   _gauges(worker).get(_lifecycle("claude-haiku-5-5",
                                                  "deprecated")) == 1,
                   timeout=20, interval=0.2)
        assert _gauges(worker)[_retires("claude-haiku-5-5")] == \
            _day("2027-06-01")

        # Opus 4.5's retirement date comes.
        double("POST", "/_double/config", {"today": "2027-01-22"})
        wait_until("the worker to learn of the retirement", lambda:
                   _gauges(worker).get(_lifecycle(opus45, "retired")) == 1,
                   timeout=20, interval=0.2)
        r = worker.post("/api/projects/%s/messages" % project,
                        {"content": "Should we open a second shop?"}, token)
        assert r[0] == 202, r
        body = turn_result(auth, project, r[1]["turn_id"])
        assert body["status"] == "failed", body
        assert "(%s) is no longer available" % opus45 in body["error"], body
        reply = [a for a in body["agents"] if a["agent"] == "conversation"]
        assert reply[0]["error"].startswith("not_found"), reply

        # Each change is logged once, however often the worker asks.
        import time
        time.sleep(2.5)
        lines = [json.loads(x) for x in worker.log().splitlines()
                 if x.startswith("{")]
        said = [(x["level"], x["msg"]) for x in lines
                if "claude-haiku-5-5 is now" in x["msg"] or
                "%s is now" % opus45 in x["msg"]]
        assert len(said) == 2, said
        assert said[0][0] == "warn" and "retires at 2027-06-01T00:00:00Z" \
            in said[0][1], said
        # No newer Haiku is listed: where to look, not an older one.
        assert "GET /v1/models lists them" in said[0][1], said
        assert "claude-haiku-4-5" not in said[0][1], said
        assert said[1][0] == "error" and "is now retired: its calls fail" \
            in said[1][1], said
        # The successor, as the Models API lists it.
        assert "the newest active opus model is claude-opus-5-5" \
            in said[1][1], said
    finally:
        worker.stop()
        _reset()


def test_a_call_to_a_retired_model_makes_the_worker_ask_at_once():
    """A worker asks the Models API every 6 hours by default; a model can
    retire in between. A call answered 404 makes it ask again within
    seconds, so the retirement is logged and alerted on while people see
    their turns fail, not hours later."""
    opus45 = "claude-opus-4-5-20251101"
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    _reset()
    worker = Worker("models-poke", {"CLAUDE_MODEL": opus45})
    try:
        assert _gauges(worker)[_lifecycle(opus45, "deprecated")] == 1
        double("POST", "/_double/config", {"today": "2027-01-22"})
        r = worker.post("/api/projects/%s/messages" % project,
                        {"content": "Shall we bake on Sundays?"}, token)
        assert r[0] == 202, r
        body = turn_result(auth, project, r[1]["turn_id"])
        assert body["status"] == "failed", body
        wait_until("the worker to ask after the 404", lambda:
                   _gauges(worker).get(_lifecycle(opus45, "retired")) == 1,
                   timeout=30, interval=0.5)
        assert "%s is now retired" % opus45 in worker.log()
    finally:
        worker.stop()
        _reset()


def test_a_document_whose_model_is_retired_says_so():
    from test_documents import generation_result
    opus45 = "claude-opus-4-5-20251101"
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    _reset()
    worker = Worker("models-document", {"AGENT_MODELS":
                                        "brief_writer=" + opus45})
    try:
        double("POST", "/_double/config", {"today": "2027-01-22"})
        status, body = worker.post("/api/projects/%s/documents" % project,
                                   {"kind": "brief"}, token)
        assert status == 202, (status, body)
        g = generation_result(auth, project, body["generation_id"])
        assert g["status"] == "failed" and g["version"] is None, g
        assert "The model that writes documents here (%s) is no longer " \
            "available" % opus45 in g["error"], g
    finally:
        worker.stop()
        _reset()
