"""The Claude client inside a turn, against every fault of the double:
what is retried and what is not, retry-after, the turn's budget; the
cache of deterministic calls; the recovery of a turn whose worker died."""

import uuid

from helpers import psql, request, wait_until
from test_turns import double, post_message, turn_result, user_and_project


def agent_run(body, name):
    return [a for a in body["agents"] if a["agent"] == name][0]


def runs_of(auth, project, turn, agent):
    r = request("GET", "/api/projects/%s/activity" % project, headers=auth)
    return [x for x in r.json()["runs"]
            if x["turn_id"] == turn and x["agent"] == agent]


def fault_turn(faults):
    """A turn of a new project with faults queued in the double; its text
    is new each time, so no cached answer stands in for a call."""
    auth, project = user_and_project()
    double("POST", "/_double/faults", {"faults": faults})
    r = post_message(auth, project, "Some thoughts on a reading club %s."
                     % uuid.uuid4().hex[:8])
    assert r.status == 202, r
    return auth, project, r.json()


def test_retried_faults_succeed():
    for kind in ("overloaded", "server_error", "drop", "malformed"):
        count = 1
        auth, project, body = fault_turn([{
            "kind": kind, "count": count,
            "match": {"tool": "classify_intent"}}])
        run = runs_of(auth, project, body["turn_id"], "context_manager")[0]
        if kind == "malformed":
            # A 200 that breaks the protocol is not retried.
            assert run["status"] == "error" and run["attempts"] == 1, run
        elif kind == "drop":
            # A connection closed without a word: on a kept-alive
            # connection curl itself asks again on a new one, else the
            # client's retry does.
            assert run["status"] == "ok" and run["attempts"] <= 2, (kind, run)
        else:
            assert run["status"] == "ok" and run["attempts"] == 2, (kind, run)


def test_rate_limit_waits_for_retry_after():
    auth, project, body = fault_turn([{
        "kind": "rate_limit", "retry_after": 1, "count": 1,
        "match": {"tool": "record_changes"}}])
    run = runs_of(auth, project, body["turn_id"], "recorder")[0]
    assert run["status"] == "ok" and run["attempts"] == 2, run
    # The retry came after retry-after: the run took at least that long.
    assert run["latency_ms"] >= 1000, run


def test_client_errors_are_not_retried():
    auth, project, body = fault_turn([{
        "kind": "bad_request", "count": 1,
        "match": {"tool": "classify_intent"}}])
    run = runs_of(auth, project, body["turn_id"], "context_manager")[0]
    assert run["status"] == "error" and run["attempts"] == 1, run
    assert "bad_request" in run["error"], run
    assert body["status"] == "done", body


def test_persistent_server_errors_stop_at_max_attempts():
    auth, project, body = fault_turn([{
        "kind": "server_error", "count": 10,
        "match": {"tool": "record_changes"}}])
    run = runs_of(auth, project, body["turn_id"], "recorder")[0]
    assert run["status"] == "error" and run["attempts"] == 3, run
    double("POST", "/_double/reset")


def test_stream_error_before_text_is_retried():
    auth, project, body = fault_turn([{
        "kind": "stream_error", "count": 1, "match": {"tool": "text"}}])
    run = runs_of(auth, project, body["turn_id"], "conversation")[0]
    # The double sends some deltas before its error event: whether a retry
    # is allowed depends on whether text reached the person.
    assert run["status"] in ("ok", "error"), run
    if run["status"] == "ok":
        assert run["attempts"] == 2, run
    else:
        assert body["status"] == "failed", body


def test_a_hang_ends_at_the_turn_budget():
    # The worker's per-call timeout is CLAUDE_TIMEOUT_MS; the test stack
    # keeps it short so a hang costs seconds, not minutes.
    auth, project, body = fault_turn([{
        "kind": "hang", "seconds": 120, "count": 5,
        "match": {"tool": "classify_intent"}}])
    double("POST", "/_double/reset")
    run = runs_of(auth, project, body["turn_id"], "context_manager")[0]
    assert run["status"] == "error", run
    assert "timeout" in run["error"] or "budget" in run["error"], run
    assert body["status"] == "done", body


def test_identical_deterministic_calls_are_cached():
    # The same person, the same question in two new projects (another
    # person's is never a hit: test_models.py).
    text = "A cached question about %s" % uuid.uuid4().hex[:8]
    auth1, project1 = user_and_project()
    auth2 = auth1
    r = request("POST", "/api/projects", {"title": "Cached"}, headers=auth1)
    assert r.status == 201, r
    project2 = r.json()["id"]
    first = post_message(auth1, project1, text).json()
    second = post_message(auth2, project2, text).json()
    assert agent_run(first, "context_manager")["status"] == "ok", first
    assert agent_run(second, "context_manager")["status"] == "cached", second
    runs = runs_of(auth2, project2, second["turn_id"], "context_manager")
    assert runs[0]["status"] == "cached", runs


def test_an_expired_lease_is_taken_over():
    auth, project = user_and_project()
    r = post_message(auth, project, "A turn whose engine will stop. "
                     "[no-changes]")
    turn = r.json()["turn_id"]
    # As an engine that died mid-turn leaves it: running under a lease that
    # ran out, nothing of its results saved (they go in one transaction).
    psql("BEGIN; DELETE FROM agent_runs WHERE turn_id = :'turn'; "
         "DELETE FROM messages WHERE turn_id = :'turn' AND role = 'assistant'; "
         "UPDATE turns SET status = 'running', finished_at = NULL, "
         "lease_owner = 'gone:1:dead', lease_until = now() - interval '1 s' "
         "WHERE id = :'turn'; COMMIT", turn=turn)
    body = turn_result(auth, project, turn)
    assert body["status"] == "done" and body["runs"] == 2, body
    r = request("GET", "/api/projects/%s/messages" % project, headers=auth)
    replies = [m for m in r.json()["messages"]
               if m["turn_id"] == turn and m["agent"] == "conversation"]
    users = [m for m in r.json()["messages"]
             if m["turn_id"] == turn and m["role"] == "user"]
    assert len(replies) == 1 and len(users) == 1, r.json()["messages"]
