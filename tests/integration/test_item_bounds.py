"""A project's items have bounds (#12), through nginx: at most
ITEMS_MAX_PER_PROJECT of them (409 items_limit past it, two creations at
once cannot both pass it, a turn skips the recorder's additions past it
with a note, an import with more answers 422 with the path), the board read
in pages with an opaque cursor, an item's history answered up to its
newest 1000 events, a project's whole history kept at
ITEM_EVENTS_MAX_PER_PROJECT events (a change past it removes the oldest;
an import with more answers 422 with the path), a turn that loads at most CONTEXT_ITEMS_MAX
items (decided first, then the most recently changed) and says how many it
left out, and ITEM_RATE_LIMIT creations per user and minute (429).

Boards are filled up to the cap with psql, not item by item: the rate limit
would take minutes, and the behaviour under test is what happens at the cap."""

import base64
import http.client
import inspect
import json
import uuid

from helpers import api, base_address, create_item, create_project, \
    expect_error, expect_invalid, psql, race_behind_lock, register_user, \
    wait_until, worker_env
from test_turns import double, post_message, user_and_project
import helpers

DECISION = "Maybe a weekly digest by email. Let's go with a web app for " \
    "designers."


def _cap():
    return int(worker_env().get("ITEMS_MAX_PER_PROJECT") or 2000)


def _items_path(pid):
    return "/api/projects/%s/items" % pid


def _fill(pid, n, state="exploring", prefix="filler", age_minutes=0,
          position=None):
    """n items straight into the table: "<prefix> 00001" (the newest) to
    "<prefix> n", each a minute older than the one before."""
    if n <= 0:
        return
    psql("INSERT INTO items (project_id, text, state, position, created_at,"
         " updated_at) SELECT :'pid'::uuid, :'prefix' || ' ' ||"
         " lpad(g::text, 5, '0'), :'state', %s,"
         " now() - make_interval(mins => :age + g),"
         " now() - make_interval(mins => :age + g)"
         " FROM generate_series(1, :n) g"
         % ("g" if position is None else int(position)),
         pid=pid, prefix=prefix, state=state, n=n, age=age_minutes)


def _count(pid):
    return int(psql("SELECT count(*) FROM items WHERE project_id = :'pid'",
                    pid=pid)[0][0])


def _pages(user, pid, query):
    """Every page of the board with query; the items in order, the number
    of requests."""
    items, cursor, requests = [], None, 0
    while True:
        q = query
        if cursor:
            q += ("&" if q else "?") + "cursor=" + cursor
        resp = api("GET", _items_path(pid) + q, user.token)
        assert resp.status == 200, resp
        doc = resp.json()
        assert set(doc) == {"items", "next_cursor"}, doc
        requests += 1
        items += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return items, requests
        assert isinstance(cursor, str) and cursor, doc
        assert requests < 100, "the pages never end"


def _settled():
    wait_until("the double to settle",
               lambda: double("GET", "/_double/stats")["in_flight"] == 0,
               timeout=10, interval=0.02)


# ---- pages ---------------------------------------------------------------

def test_board_in_pages_follows_the_cursor():
    user = register_user("pages")
    pid = create_project(user.token)["id"]
    for state in ("decided", "exploring", "parked", "rejected"):
        create_item(user.token, pid, "%s by hand" % state, state=state)
    # Ties in every key but the id: same position, same time.
    psql("INSERT INTO items (project_id, text, state, position, created_at)"
         " SELECT :'pid'::uuid, 'tie ' || g, 'exploring', 0,"
         " timestamptz '2026-12-01 10:00:00+00'"
         " FROM generate_series(1, 7) g", pid=pid)
    whole, requests = _pages(user, pid, "?limit=1000")
    assert requests == 1 and len(whole) == 11, whole
    for limit in (1, 2, 3, 10):
        paged, requests = _pages(user, pid, "?limit=%d" % limit)
        assert [i["id"] for i in paged] == [i["id"] for i in whole], limit
        assert requests == -(-11 // limit), (limit, requests)
    paged, _ = _pages(user, pid, "?state=exploring&limit=2")
    assert [i["id"] for i in paged] == \
        [i["id"] for i in whole if i["state"] == "exploring"], paged
    assert len(paged) == 8, paged
    # Without ?limit=, one page holds 500.
    _fill(pid, 600)
    resp = api("GET", _items_path(pid), user.token)
    assert resp.status == 200, resp
    assert len(resp.json()["items"]) == 500, len(resp.json()["items"])
    assert resp.json()["next_cursor"], resp
    paged, requests = _pages(user, pid, "")
    assert requests == 2 and len(paged) == 611, (requests, len(paged))
    assert len({i["id"] for i in paged}) == 611


def test_bad_limits_and_cursors_are_refused():
    user = register_user("pages")
    pid = create_project(user.token)["id"]
    create_item(user.token, pid)
    for limit in ("0", "1001", "-1", "x", "1.5", "99999999999999999999"):
        expect_invalid(api("GET", _items_path(pid) + "?limit=" + limit,
                           user.token), "limit")

    def b64(raw):
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    good_id = str(uuid.uuid4())
    for cursor in ("nope!", "AAAA", b64("exploring:0:0"),
                   b64("maybe:0:0:" + good_id),
                   b64("exploring:-1:0:" + good_id),
                   b64("exploring:0:99999999999999999999:" + good_id),
                   b64("exploring:0:0:" + good_id + "x"),
                   b64("exploring:0:0:" + good_id + "\0"), "A" * 400):
        expect_invalid(api("GET", _items_path(pid) + "?cursor=" + cursor,
                           user.token), "cursor")
    # A well-formed cursor past the end is an empty last page.
    resp = api("GET", _items_path(pid) + "?cursor=" +
               b64("rejected:1000000:0:" + good_id), user.token)
    assert resp.status == 200, resp
    assert resp.json() == {"items": [], "next_cursor": None}, resp


# ---- the cap ---------------------------------------------------------------

def test_creating_past_the_cap_is_409():
    cap = _cap()
    user = register_user("cap")
    pid = create_project(user.token)["id"]
    _fill(pid, cap - 1)
    last = create_item(user.token, pid, "the last one that fits")
    err = expect_error(api("POST", _items_path(pid), user.token,
                           {"text": "one too many"}), 409, "items_limit")
    assert str(cap) in err["message"], err
    assert _count(pid) == cap
    # A removed item makes room again.
    resp = api("DELETE", _items_path(pid) + "/" + last["id"], user.token)
    assert resp.status == 204, resp
    create_item(user.token, pid, "room again")
    assert _count(pid) == cap


def test_creations_at_once_do_not_pass_the_cap():
    """Ten creations held at the same point, then let go together: a
    transaction of the test's own locks the project's row, so each
    creation waits either for its turn (the cap's lock) or, had it counted
    without one, at its insert's foreign-key check, after counting."""
    cap = _cap()
    user = register_user("cap")
    pid = create_project(user.token)["id"]
    _fill(pid, cap - 2)
    statuses = race_behind_lock(
        "SELECT 1 FROM projects WHERE id = '%s' FOR UPDATE" % pid,
        "%%%s%%FOR UPDATE%%" % pid, "%INSERT INTO items%",
        lambda n: api("POST", _items_path(pid), user.token,
                      {"text": "racer %d" % n}, timeout=120))
    assert sorted(statuses) == [201] * 2 + [409] * 8, statuses
    assert _count(pid) == cap


def test_a_turn_skips_additions_past_the_cap():
    cap = _cap()
    # The premise: this message makes the recorder add to the board.
    auth, pid = user_and_project()
    r = post_message(auth, pid, DECISION)
    assert r.status == 202 and r.json()["status"] == "done", r
    assert r.json()["items"], "the recorder added nothing: %r" % r.json()
    # The same on a full board: the turn is done, the board stays full.
    auth, pid = user_and_project()
    _fill(pid, cap)
    r = post_message(auth, pid, DECISION)
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "done", body
    skipped = [n for n in body["notes"] if "its limit" in n]
    assert skipped and str(cap) in skipped[0], body["notes"]
    assert _count(pid) == cap


def test_import_past_the_cap_is_422_with_the_path():
    cap = _cap()
    user = register_user("cap")
    pid = create_project(user.token)["id"]
    create_item(user.token, pid, "exported")
    resp = api("GET", "/api/projects/%s/export" % pid, user.token)
    assert resp.status == 200, resp
    doc = resp.json()
    assert len(doc["items"]) == 1, doc
    before = len(api("GET", "/api/projects?limit=100", user.token)
                 .json()["projects"])
    doc["items"] = doc["items"] * (cap + 1)
    resp = api("POST", "/api/projects/import", user.token, doc)
    err = expect_invalid(resp, "items[%d]" % cap)
    assert err["path"] == "items[%d]" % cap, err
    assert str(cap) in err["message"] and str(cap + 1) in err["message"], err
    after = len(api("GET", "/api/projects?limit=100", user.token)
                .json()["projects"])
    assert after == before, "a project was created anyway"
    # At the cap exactly, the file is judged on its own merits (its
    # duplicated item ids), not refused for its size.
    doc["items"] = doc["items"][:cap]
    resp = api("POST", "/api/projects/import", user.token, doc)
    err = expect_error(resp, 422, "validation_failed")
    assert err["path"] != "items[%d]" % cap, err


# ---- an item's history -------------------------------------------------------

def test_a_long_history_answers_its_newest_events():
    user = register_user("history")
    pid = create_project(user.token)["id"]
    item = create_item(user.token, pid, "edited a lot")
    path = _items_path(pid) + "/" + item["id"] + "/history"
    resp = api("GET", path, user.token)
    assert resp.status == 200, resp
    assert resp.json()["omitted"] == 0 and len(resp.json()["events"]) == 1
    psql("INSERT INTO item_events (project_id, item_id, action, old_text,"
         " new_text, actor) SELECT :'pid'::uuid, :'item'::uuid, 'updated',"
         " 'text ' || (g - 1), 'text ' || g, 'user'"
         " FROM generate_series(1, 1204) g", pid=pid, item=item["id"])
    resp = api("GET", path, user.token)
    assert resp.status == 200, resp
    doc = resp.json()
    events = doc["events"]
    assert len(events) == 1000 and doc["omitted"] == 205, \
        (len(events), doc["omitted"])
    ids = [e["id"] for e in events]
    assert ids == sorted(ids), "not oldest first"
    assert events[-1]["new_text"] == "text 1204", events[-1]
    assert events[0]["new_text"] == "text 205", events[0]


# ---- a project's history -----------------------------------------------------

def _history_cap():
    return int(worker_env().get("ITEM_EVENTS_MAX_PER_PROJECT") or 20000)


def _fill_history(pid, n):
    """n events of a deleted item straight into the table, older than
    anything the API writes."""
    psql("INSERT INTO item_events (project_id, item_id, action, old_text,"
         " actor, created_at) SELECT :'pid'::uuid, gen_random_uuid(),"
         " 'deleted', 'old ' || g, 'user', now() - interval '1 day'"
         " FROM generate_series(1, :n) g", pid=pid, n=n)


def _assert_history(pid, n):
    """The project's count on its row and its events in the table are n."""
    got = tuple(int(v) for v in psql(
        "SELECT item_event_count, (SELECT count(*) FROM item_events"
        " WHERE project_id = :'pid') FROM projects WHERE id = :'pid'",
        pid=pid)[0])
    assert got == (n, n), "line %d: count on the row, rows: %r, expected" \
        " %d" % (inspect.currentframe().f_back.f_lineno, got, n)


def test_a_full_history_drops_its_oldest_events():
    """A project keeps ITEM_EVENTS_MAX_PER_PROJECT events: a creation, a
    change or a deletion that finds it full removes the project's oldest,
    in the same statement, and the count on the project's row stays the
    number of rows. Ten changes held behind the project's lock and let go
    together leave it exact too."""
    cap = _history_cap()
    auth, pid = user_and_project()
    token = auth["Authorization"].split(" ", 1)[1]
    first = create_item(token, pid, "the oldest event's item")
    _fill_history(pid, cap - 2)
    _assert_history(pid, cap - 1)
    second = create_item(token, pid, "fills the history")
    _assert_history(pid, cap)
    path = _items_path(pid) + "/" + first["id"]
    resp = api("PATCH", path, token, {"text": "changed", "version": 1})
    assert resp.status == 200, resp
    _assert_history(pid, cap)
    # The oldest event is the one written first: the first item's
    # creation (the fillers say they are older, but came after it).
    events = api("GET", path + "/history", token).json()["events"]
    assert [e["action"] for e in events] == ["updated"], events
    left = int(psql("SELECT count(*) FROM item_events WHERE project_id ="
                    " :'pid' AND action = 'deleted'", pid=pid)[0][0])
    assert left == cap - 2, left
    resp = api("DELETE", _items_path(pid) + "/" + second["id"], token)
    assert resp.status == 204, resp
    _assert_history(pid, cap)

    items = [create_item(token, pid, "racer %d" % n) for n in range(10)]
    _assert_history(pid, cap)
    statuses = race_behind_lock(
        "SELECT 1 FROM projects WHERE id = '%s' FOR UPDATE" % pid,
        "%%%s%%FOR UPDATE%%" % pid, "%UPDATE items t SET%",
        lambda n: api("PATCH", _items_path(pid) + "/" + items[n]["id"],
                      token, {"state": "decided", "version": 1},
                      timeout=120))
    assert statuses == [200] * 10, statuses
    _assert_history(pid, cap)
    # A turn's changes keep the bound as well.
    resp = post_message(auth, pid, DECISION)
    assert resp.status == 202 and resp.json()["status"] == "done", resp
    assert resp.json()["items"], resp.json()
    _assert_history(pid, cap)


def test_import_past_the_history_bound_is_422_with_the_path():
    cap = _history_cap()
    user = register_user("history-cap")
    pid = create_project(user.token)["id"]
    item = create_item(user.token, pid, "exported")
    resp = api("PATCH", _items_path(pid) + "/" + item["id"], user.token,
               {"text": "exported, changed", "version": 1})
    assert resp.status == 200, resp
    doc = api("GET", "/api/projects/%s/export" % pid, user.token).json()
    events = doc["items"][0]["events"]
    assert len(events) == 2, events
    # cap events in all: the first item's two, the rest on deleted items.
    gone = [{"id": str(uuid.uuid4()), "events": [dict(
        events[0], id=10 ** 6 + 1000 * k + j, action="deleted",
        from_state="exploring", to_state=None)
        for j in range(min(1000, cap - 2 - 1000 * k))]}
        for k in range((cap - 2 + 999) // 1000)]
    doc["deleted_items"] = gone
    resp = api("POST", "/api/projects/import", user.token, doc, timeout=120)
    assert resp.status == 201, resp
    imported = resp.json()["id"]
    _assert_history(imported, cap)
    gone[-1]["events"].append(dict(gone[-1]["events"][0], id=10 ** 9))
    resp = api("POST", "/api/projects/import", user.token, doc, timeout=120)
    where = "deleted_items[%d].events[%d]" % (len(gone) - 1,
                                              len(gone[-1]["events"]) - 1)
    err = expect_invalid(resp, where)
    assert "ITEM_EVENTS_MAX_PER_PROJECT" in err["message"], err


# ---- what a turn loads -------------------------------------------------------

def test_a_turn_loads_a_bounded_board():
    limit = int(worker_env().get("CONTEXT_ITEMS_MAX") or 200)
    auth, pid = user_and_project()
    # Decided items older than everything else, then many newer ones, and
    # rejected ones the board never shows.
    _fill(pid, 5, state="decided", prefix="settled", age_minutes=100000)
    _fill(pid, limit + 30, prefix="recent")
    _fill(pid, 10, state="rejected", prefix="gone")
    total = 5 + limit + 30
    _settled()
    double("POST", "/_double/reset")
    r = post_message(auth, pid, "What do we have so far?")
    assert r.status == 202 and r.json()["status"] in ("done", "failed"), r
    _settled()
    prompts = []
    for x in double("GET", "/_double/requests")["requests"]:
        content = x["body"]["messages"][0]["content"]
        if not isinstance(content, str):
            content = "".join(b.get("text", "") for b in content)
        if "What do we have so far?" in content and "<board>" in content:
            prompts.append(content)
    assert prompts, "no request of the turn carried the board"
    board = prompts[0].split("<board>", 1)[1].split("</board>", 1)[0]
    for n in range(1, 6):
        assert "settled %05d" % n in board, board[:500]
    # The newest limit - 5 of the others are there, the oldest are not.
    for n in (1, limit - 5):
        assert "recent %05d" % n in board, n
    for n in (limit - 4, limit + 30):
        assert "recent %05d" % n not in board, n
    assert "gone " not in board
    assert "(%d more items left out of %d" % (total - limit, total) in board, \
        board[-300:]
    assert board.count("\n[i") == limit, board.count("\n[i")


# ---- the rate --------------------------------------------------------------

def test_item_writes_are_rate_limited_per_user():
    rate = int(worker_env().get("ITEM_RATE_LIMIT") or 600)
    user = register_user("itemrate")
    pid = create_project(user.token)["id"]
    other = register_user("itemrate")
    other_pid = create_project(other.token)["id"]
    host, port = base_address()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    created, limited = 0, None
    body = json.dumps({"text": "fast idea"})
    headers = {"Authorization": "Bearer " + user.token,
               "Content-Type": "application/json"}
    try:
        # A fixed window: however long the loop takes, a 429 comes within
        # two windows' worth.
        for _ in range(2 * rate + 1):
            conn.request("POST", _items_path(pid), body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 429:
                limited = helpers.Response(resp.status, resp.headers, data)
                break
            assert resp.status == 201, (resp.status, data[:200])
            created += 1
    finally:
        conn.close()
    assert limited is not None, "no 429 in %d creations" % created
    assert created >= rate, "limited after %d of %d" % (created, rate)
    err = expect_error(limited, 429, "rate_limited")
    assert "item" in err["message"], err
    retry = limited.header_all("Retry-After")
    assert len(retry) == 1 and 0 < int(retry[0]) <= 60, retry
    # Changes and deletions count in the same window: each one is a row
    # of the item's history.
    item = api("GET", _items_path(pid) + "?limit=1", user.token) \
        .json()["items"][0]
    path = _items_path(pid) + "/" + item["id"]
    expect_error(api("PATCH", path, user.token,
                     {"state": "parked", "version": item["version"]}),
                 429, "rate_limited")
    expect_error(api("DELETE", path, user.token), 429, "rate_limited")
    assert _count(pid) == created
    # Another user is not held back.
    create_item(other.token, other_pid)


# ---- a conversation ------------------------------------------------------

def test_a_conversation_is_bounded():
    # A worker of its own, whose conversations hold 10 messages.
    worker = helpers.Worker("messages-cap", {"MESSAGES_MAX_PER_PROJECT": "10"})
    try:
        user = register_user("talker")
        pid = create_project(user.token)["id"]
        psql("INSERT INTO messages (project_id, role, content) SELECT "
             ":'pid', 'user', 'earlier ' || n FROM generate_series(1, 8) n",
             pid=pid)
        # 8 stored: room for a message and its reply.
        status, body = worker.call("POST", "/api/projects/%s/messages" % pid,
                                   {"content": "One more thought."},
                                   user.token)
        assert status == 202, (status, body)
        wait_until("the turn to end", lambda: psql(
            "SELECT count(*) FROM turns WHERE project_id = :'pid' AND "
            "status IN ('queued', 'running')", pid=pid) == [["0"]],
            timeout=60)
        count = int(psql("SELECT count(*) FROM messages WHERE "
                         "project_id = :'pid'", pid=pid)[0][0])
        assert count == 10, count
        status, body = worker.call("POST", "/api/projects/%s/messages" % pid,
                                   {"content": "And another."}, user.token)
        assert status == 409 and body["error"]["code"] == "messages_limit", \
            (status, body)
        assert "10 messages" in body["error"]["message"], body

        # A project file with more is refused, naming the first one past.
        status, doc = worker.call("GET", "/api/projects/%s/export" % pid,
                                  None, user.token)
        assert status == 200 and len(doc["messages"]) == 10, (status, doc)
        extra = dict(doc["messages"][-1])
        extra["id"] = str(uuid.uuid4())
        doc["messages"].append(extra)
        status, body = worker.call("POST", "/api/projects/import", doc,
                                   user.token)
        assert status == 422 and body["error"]["path"] == "messages[10]", \
            (status, body)
    finally:
        worker.stop()
