"""The live path off the request threads (#10), through nginx and nchan:
more open streams than all worker threads together while the API still
answers; the per-user and per-address stream caps; streams that end with their account or
project; one turn at a time per project and a few per user; a full queue;
a turn taken over by another engine after its engine was SIGKILLed."""

import json
import os
import signal
import subprocess
import threading
import uuid

import helpers
from helpers import Worker, brainstormctl, expect_error, psql, \
    register_user, request, wait_until, worker_env
from test_turns import EventStream, double, post_message, turn_result, \
    user_and_project


def _events(user, project):
    return EventStream("/api/projects/%s/events" % project, user.headers())


def test_more_streams_than_threads_leave_the_api_free():
    threads = sum(int(worker_env().get("WORKER_THREADS", "8"))
                  for _ in helpers.worker_pids())
    users = [register_user("streams") for _ in range(3)]
    projects = [helpers.create_project(u.token)["id"] for u in users]
    per_user = threads // len(users) + 4
    streams = []
    try:
        for u, p in zip(users, projects):
            for _ in range(per_user):
                s = _events(u, p)
                assert s.status == 200, s.status
                streams.append((p, s))
        assert len(streams) > threads, (len(streams), threads)
        # Every worker thread would be taken by a stream held in a worker.
        r = request("GET", "/api/health", timeout=10)
        assert r.status == 200, r
        r = request("GET", "/api/projects", headers=users[0].headers(),
                    timeout=10)
        assert r.status == 200, r
        newcomer = register_user("streams-new")
        assert newcomer.token
        # And every stream still gets what happens in its project.
        for p, u in zip(projects, users):
            r = request("POST", "/api/projects/%s/items" % p,
                        {"text": "Seen by every tab"}, headers=u.headers())
            assert r.status == 201, r
        for p, s in streams:
            seen = s.wait_for("items.changed", timeout=30)
            assert json.loads(seen[-1][2])["items"][0]["text"] == \
                "Seen by every tab"
        print("    %d streams open against %d worker threads; health, a "
              "read and a registration answered" % (len(streams), threads))
    finally:
        for _, s in streams:
            s.close()


def test_streams_per_address_are_capped():
    """nginx's cap on one client address (BS_STREAMS_PER_ADDRESS, 64 unless
    set): the streams of three accounts from one address, each account
    under its own cap, up to the address's; one more is a JSON 429, while
    another address opens its stream, and a closed one frees its place."""
    cap = int(os.environ.get("BS_STREAMS_PER_ADDRESS") or 64)
    per_user = int(worker_env().get("EVENTS_MAX_STREAMS") or 32) - 2
    users = [register_user("addrcap") for _ in range(cap // per_user + 1)]
    projects = [helpers.create_project(u.token)["id"] for u in users]
    office = helpers.fresh_source()
    streams = []

    def open_one(i, source=office):
        return EventStream("/api/projects/%s/events" % projects[i],
                           users[i].headers(), source=source)
    try:
        while len(streams) < cap:
            s = open_one(len(streams) // per_user)
            assert s.status == 200, (len(streams), s.status)
            streams.append(s)
        refused = open_one(cap // per_user)
        body = refused.resp.read()
        refused.close()
        assert refused.status == 429, (refused.status, body)
        assert json.loads(body)["error"]["code"] == "rate_limited", body
        # The same account from another address is not held back.
        elsewhere = open_one(cap // per_user, source=helpers.fresh_source())
        assert elsewhere.status == 200, elsewhere.status
        streams.append(elsewhere)
        streams.pop(0).close()

        def room():
            s = open_one(cap // per_user)
            if s.status == 200:
                streams.append(s)
                return True
            s.close()
            return False
        wait_until("a closed stream to free its place", room, timeout=30,
                   interval=0.5)
    finally:
        for s in streams:
            s.close()


def test_streams_per_user_are_capped():
    cap = int(worker_env().get("EVENTS_MAX_STREAMS") or 32)
    user = register_user("streamcap")
    project = helpers.create_project(user.token)["id"]
    streams = []
    try:
        for _ in range(cap):
            s = _events(user, project)
            assert s.status == 200, s.status
            streams.append(s)
        # nchan counts the account's streams; its count catches up with
        # streams just opened within a moment, so the refusal is waited for.
        refused = {}

        def one_more():
            s = _events(user, project)
            if s.status == 200:
                s.close()
                return False
            refused["status"] = s.status
            refused["body"] = s.resp.read()
            refused["retry"] = s.resp.getheader("Retry-After")
            s.close()
            return True
        wait_until("the stream past the cap to be refused", one_more,
                   timeout=30, interval=0.5)
        assert refused["status"] == 429, refused
        assert json.loads(refused["body"])["error"]["code"] == \
            "too_many_streams", refused
        assert int(refused["retry"]) >= 1, refused
        # Nor is a turn's stream handed over past the cap: no turn started
        # only to be refused its stream.
        r = request("POST", "/api/projects/%s/messages" % project,
                    {"content": "One more tab"},
                    headers=dict(user.headers(), Accept="text/event-stream"))
        expect_error(r, 429, "too_many_streams")
        # Another account is not limited by this one's streams.
        other = register_user("streamcap-other")
        p2 = helpers.create_project(other.token)["id"]
        s = _events(other, p2)
        assert s.status == 200, s.status
        streams.append(s)
        # A closed stream frees its place.
        streams.pop(0).close()

        def room():
            s = _events(user, project)
            if s.status == 200:
                streams.append(s)
                return True
            s.close()
            return False
        wait_until("a place once a stream closed", room, timeout=60)
    finally:
        for s in streams:
            s.close()


def test_a_disabled_users_streams_end():
    user = register_user("streamdisable")
    project = helpers.create_project(user.token)["id"]
    s = _events(user, project)
    try:
        assert s.status == 200, s.status
        done = brainstormctl("user", "disable", user.email)
        assert done.returncode == 0, done.stderr
        assert "streams" not in done.stderr, done.stderr
        s.wait_end(timeout=30)
    finally:
        s.close()


def test_deleting_a_project_ends_its_streams():
    user = register_user("streamdelete")
    project = helpers.create_project(user.token)["id"]
    s = _events(user, project)
    try:
        assert s.status == 200, s.status
        r = request("DELETE", "/api/projects/%s" % project,
                    headers=user.headers())
        assert r.status == 204, r
        s.wait_end(timeout=30)
    finally:
        s.close()


def test_one_turn_per_project_and_a_few_per_user():
    user_max = int(worker_env().get("TURN_USER_MAX") or 4)
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    others = []
    for _ in range(user_max):
        r = request("POST", "/api/projects", {"title": "More turns"},
                    headers=auth)
        assert r.status == 201, r
        others.append(r.json()["id"])
    pace = double("GET", "/_double/config")
    double("POST", "/_double/config", {"latency_ms": 3000})
    queued = []
    try:
        r = request("POST", "/api/projects/%s/messages" % project,
                    {"content": "A slow turn [no-changes]"}, headers=auth,
                    source=auth["X-Test-Source"])
        assert r.status == 202, r
        queued.append((project, r.json()["turn_id"]))
        r = request("POST", "/api/projects/%s/messages" % project,
                    {"content": "Another while it runs"}, headers=auth,
                    source=auth["X-Test-Source"])
        expect_error(r, 409, "turn_running")
        for p in others[:user_max - 1]:
            r = request("POST", "/api/projects/%s/messages" % p,
                        {"content": "In parallel [no-changes]"}, headers=auth,
                        source=auth["X-Test-Source"])
            assert r.status == 202, r
            queued.append((p, r.json()["turn_id"]))
        r = request("POST", "/api/projects/%s/messages" % others[-1],
                    {"content": "One too many"}, headers=auth,
                    source=auth["X-Test-Source"])
        expect_error(r, 429, "too_many_turns")
        assert int(r.header("Retry-After")) >= 1, r
    finally:
        double("POST", "/_double/config", {"latency_ms": pace["latency_ms"]})
    for p, t in queued:
        assert turn_result({"Authorization": "Bearer " + token}, p, t)[
            "status"] == "done"


def test_the_user_limit_counts_the_request_it_waited_for():
    """Two requests of one user race for their last free place: the second
    waits for the first's lock, then counts what the first committed (its
    counts come from after the wait, not from when its statement began),
    and answers 429."""
    auth, project = user_and_project()
    user = psql("SELECT owner_id FROM projects WHERE id = :'p'", p=project)[0][0]
    user_max = int(worker_env().get("TURN_USER_MAX", "4"))
    ghosts = []
    sql = ["BEGIN;", "SELECT pg_advisory_xact_lock(hashtextextended("
           "'turns:' || '%s', 0));" % user]
    for _ in range(user_max):
        r = request("POST", "/api/projects", {"title": "Ghost"}, headers=auth)
        assert r.status == 201, r
        ghost = str(uuid.uuid4())
        ghosts.append(ghost)
        # Jobs of the user's for an engine nobody runs, in the first
        # request's transaction.
        sql += ["INSERT INTO document_generations (id, project_id, kind, "
                "user_id) VALUES ('%s', '%s', 'brief', '%s');" % (
                    ghost, r.json()["id"], user),
                "INSERT INTO turns (id, project_id, document_kind, status, "
                "user_id, queued_by, queued_at) VALUES ('%s', '%s', 'brief', "
                "'queued', '%s', 'nobody:0:0', now() + interval '1 hour');" % (
                    ghost, r.json()["id"], user)]
    first = subprocess.Popen(["psql", helpers.env("BS_DATABASE_URL"), "-X",
                              "-q", "-v", "ON_ERROR_STOP=1"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             text=True)
    answer = {}
    second = threading.Thread(target=lambda: answer.update(r=request(
        "POST", "/api/projects/%s/messages" % project,
        {"content": "The last free place?"}, headers=auth,
        source=auth["X-Test-Source"])))
    try:
        first.stdin.write("\n".join(sql) + "\n")
        first.stdin.flush()
        wait_until("the first request's jobs", lambda: psql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted") != [["0"]] and psql(
            "SELECT count(*) FROM pg_stat_activity WHERE state = "
            "'idle in transaction' AND query LIKE 'INSERT INTO turns%%'")
            != [["0"]], timeout=30)
        second.start()
        wait_until("the second request to wait for the lock", lambda: psql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND NOT granted") != [["0"]], timeout=30)
        first.stdin.write("COMMIT;\n")
        first.stdin.close()
        assert first.wait(timeout=30) == 0
        second.join(timeout=60)
        expect_error(answer["r"], 429, "too_many_turns")
    finally:
        if first.poll() is None:
            first.kill()
        psql("DELETE FROM turns WHERE id = ANY(:'g'::uuid[])",
             g="{%s}" % ",".join(ghosts))


def test_a_full_queue_answers_503():
    worker = Worker("queue-max", {"TURN_QUEUE_MAX": "1"})
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    # One turn that waits, for an engine nobody runs, for an hour.
    r = post_message(auth, project, "Something to wait behind [no-changes]")
    msg = r.json()["message"]["id"]
    ghost = str(uuid.uuid4())
    r = request("POST", "/api/projects", {"title": "Ghost"}, headers=auth)
    ghost_project = r.json()["id"]
    psql("INSERT INTO turns (id, project_id, user_message_id, status, user_id, "
         "queued_by, queued_at) SELECT :'ghost', :'project', :'msg', 'queued', "
         "NULL, 'nobody:0:0', now() + interval '1 hour'",
         ghost=ghost, project=ghost_project, msg=msg)
    try:
        status, body = worker.post("/api/projects/%s/messages" % project,
                                   {"content": "Behind a full queue"}, token)
        assert status == 503 and body["error"]["code"] == "queue_full", (
            status, body)
    finally:
        psql("DELETE FROM turns WHERE id = :'ghost'", ghost=ghost)
        worker.stop()


def test_a_killed_engines_turn_is_taken_over():
    """SIGKILL the process running a turn: once its lease expires another
    engine runs the turn from the stored message; one reply, the message
    kept, nothing left running."""
    doomed = Worker("doomed", {"TURN_LEASE": "5"})
    pace = double("GET", "/_double/config")
    auth, project = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    try:
        double("POST", "/_double/config", {"latency_ms": 4000})
        import fcgi_client
        status, _, data = fcgi_client.request(
            ("127.0.0.1", doomed.port), "POST",
            "/api/projects/%s/messages" % project,
            body=json.dumps({"content": "A turn whose engine dies "
                             "[no-changes]"}).encode(), timeout=30,
            headers={"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"})
        assert status == 202, (status, data)
        turn = json.loads(data)["turn_id"]
        pid = doomed.proc.pid

        def held():
            rows = psql("SELECT lease_owner FROM turns WHERE id = :'t' AND "
                        "status = 'running'", t=turn)
            return bool(rows) and (":%d:" % pid) in rows[0][0]
        wait_until("the doomed engine to hold the turn", held, timeout=30)
        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait(30)
        double("POST", "/_double/config", {"latency_ms": pace["latency_ms"]})
        body = turn_result(auth, project, turn, timeout=120)
    finally:
        double("POST", "/_double/config", {"latency_ms": pace["latency_ms"]})
        doomed.stop()
    assert body["status"] == "done" and body["runs"] == 2, body
    r = request("GET", "/api/projects/%s/messages" % project, headers=auth)
    mine = [m for m in r.json()["messages"] if m["turn_id"] == turn]
    assert [m["role"] for m in mine].count("user") == 1, mine
    assert [m["agent"] for m in mine].count("conversation") == 1, mine
    rows = psql("SELECT count(*) FROM turns WHERE project_id = :'p' AND "
                "status IN ('queued', 'running')", p=project)
    assert rows == [["0"]], rows
    print("    turn %s: its engine SIGKILLed while it ran; taken over after "
          "the 5 s lease, ended done on run 2" % turn[:8])


def test_an_engine_alone_runs_turns():
    """brainstorm-fcgi --engine-only runs turns: one queued for it alone
    (queued_by its lease name, for no other engine within the hour) ends;
    SIGTERM stops it cleanly."""
    auth, project = user_and_project()
    r = post_message(auth, project, "A turn to run again [no-changes]")
    turn = r.json()["turn_id"]
    engine = Worker("engine-only", {}, engine_only=True)
    try:
        wait_until("the engine to start", lambda: "turn engine " in
                   engine.log() or engine.proc.poll() is not None, timeout=30)
        assert engine.proc.poll() is None, engine.log()[-2000:]
        owner = engine.log().split("turn engine ", 1)[1].split(":", 3)
        owner = ":".join(owner[:2] + [owner[2][:8]])
        assert owner.split(":")[1] == str(engine.proc.pid), owner
        psql("BEGIN; DELETE FROM agent_runs WHERE turn_id = :'t'; "
             "DELETE FROM messages WHERE turn_id = :'t' AND role = 'assistant'; "
             "UPDATE turns SET status = 'queued', finished_at = NULL, runs = 0, "
             "queued_by = :'owner', queued_at = now() + interval '1 hour' "
             "WHERE id = :'t'; COMMIT", t=turn, owner=owner)
        body = turn_result(auth, project, turn)
        assert body["status"] == "done" and body["runs"] == 1, body
    finally:
        engine.stop()
    assert engine.proc.returncode == 0, engine.log()[-2000:]
    assert "turn engine %s stopped" % owner in engine.log(), \
        engine.log()[-2000:]


def test_a_full_engine_leaves_the_next_turn_to_any_engine():
    """A worker whose engine has room names itself on the turn it queues
    (the turn waits for it); once full (ENGINE_TURNS=1, its one turn still
    running) it names none, so any engine may take the next turn at once,
    and both turns end."""
    auth, first = user_and_project()
    r = request("POST", "/api/projects", {"title": "Second"}, headers=auth)
    assert r.status == 201, r
    second = r.json()["id"]
    token = auth["Authorization"].split(" ", 1)[1]
    worker = Worker("one-turn", {"ENGINE_TURNS": "1"})
    try:
        status, body = worker.post("/api/projects/%s/messages" % first, {
            "content": "A turn that takes its time [fault:delay] [no-changes]"},
            token)
        assert status == 202, (status, body)
        turns = [body["turn_id"]]
        wait_until("the worker's engine to run it", lambda: psql(
            "SELECT status FROM turns WHERE id = :'t'", t=turns[0]) ==
            [["running"]], timeout=30, interval=0.05)
        status, body = worker.post("/api/projects/%s/messages" % second, {
            "content": "A turn for any engine [no-changes]"}, token)
        assert status == 202, (status, body)
        turns.append(body["turn_id"])
        rows = dict(psql("SELECT id, coalesce(queued_by, '-') FROM turns "
                         "WHERE id IN (:'a', :'b')", a=turns[0], b=turns[1]))
        assert rows[turns[0]].split(":")[1] == str(worker.proc.pid), rows
        assert rows[turns[1]] == "-", rows
        for project, turn in zip((first, second), turns):
            assert turn_result(auth, project, turn)["status"] == "done"
    finally:
        worker.stop()


def test_an_engine_alone_answers_health_and_metrics():
    """brainstorm-fcgi --engine-only --listen: FastCGI on that address for
    /api/health, /api/ready and /metrics (with the engine's gauges), and
    nothing else; SIGTERM stops both."""
    import fcgi_client
    engine = Worker("engine-ops", {}, engine_only=True, ops=True)
    try:
        assert engine.proc.poll() is None, engine.log()[-2000:]
        status, body = engine.call("GET", "/api/health")
        assert status == 200, (status, body)
        status, body = engine.call("GET", "/api/ready")
        assert status == 200, (status, body)
        status, _, data = fcgi_client.request(("127.0.0.1", engine.port),
                                              "GET", "/metrics", timeout=10)
        text = data.decode()
        assert status == 200 and "\nengine_turns " in text, text[:500]
        status, body = engine.call("POST", "/api/auth/login",
                                   {"email": "x@example.com",
                                    "password": "not served here"})
        assert status == 404 and body["error"]["code"] == "not_found", body
        status, body = engine.call("GET", "/api/projects")
        assert status == 404, (status, body)
    finally:
        engine.stop()
    assert engine.proc.returncode == 0, engine.log()[-2000:]
    assert "turn engine" in engine.log() and "stopped" in engine.log(), \
        engine.log()[-2000:]


def test_a_frozen_redis_holds_no_turn():
    """Redis SIGSTOPped: the turn (its cache lookups, the rate limit of its
    post) waits at most REDIS_TIMEOUT_MS per attempt, then goes on without;
    its events still reach its stream, which no longer pass through Redis."""
    from test_zz_drills import redis_pid
    auth, project = user_and_project()
    frozen = redis_pid()
    os.kill(frozen, signal.SIGSTOP)
    try:
        r = post_message(auth, project, "A turn while Redis sleeps "
                         "[no-changes]", stream=True)
    finally:
        os.kill(frozen, signal.SIGCONT)
    assert r.status == 200, r
    names = [e[1] for e in _parse(r.body)]
    assert names[-1] == "turn.done", names
    assert '"status":"done"' in r.body.decode().rsplit("event: turn.done", 1)[1]


def _parse(body):
    from test_turns import parse_sse
    return parse_sse(body)
