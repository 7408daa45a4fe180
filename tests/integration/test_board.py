"""The board: items in their four states, the ?state= filter, changes with
a version (text, state, position), the history every change writes, delete,
validation, and concurrent PATCHes of one item (exactly one wins)."""

import re
import threading
import uuid

from helpers import api, create_item, create_project, expect_error, \
    expect_invalid, psql, register_user

STATES = ("decided", "exploring", "parked", "rejected")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
ITEM_KEYS = {"id", "project_id", "text", "state", "confidence", "user_quote",
             "source_message_id", "created_by", "position", "version",
             "created_at", "updated_at"}
EVENT_KEYS = {"id", "item_id", "action", "from_state", "to_state", "old_text",
              "new_text", "actor", "reason", "turn_id", "message_id",
              "created_at", "actor_user_id", "actor_name"}
PARALLEL = 12


def _board():
    user = register_user("board")
    return user, create_project(user.token)["id"]


def _items_path(pid, item_id=None):
    path = "/api/projects/%s/items" % pid
    return path + "/" + item_id if item_id else path


def _list(user, pid, query=""):
    resp = api("GET", _items_path(pid) + query, user.token)
    assert resp.status == 200, resp
    assert set(resp.json()) == {"items", "next_cursor"}, resp
    assert resp.json()["next_cursor"] is None, resp
    return resp.json()["items"]


def _patch(user, pid, item_id, body):
    return api("PATCH", _items_path(pid, item_id), user.token, body)


def _history(user, pid, item_id):
    resp = api("GET", _items_path(pid, item_id) + "/history", user.token)
    assert resp.status == 200, resp
    events = resp.json()["events"]
    for e in events:
        assert set(e) == EVENT_KEYS, e
        assert e["item_id"] == item_id, e
    return events


def test_create_in_each_state():
    user, pid = _board()
    resp = api("POST", _items_path(pid), user.token, {"text": "Use SQLite"})
    assert resp.status == 201, resp
    item = resp.json()
    assert set(item) == ITEM_KEYS, item
    assert UUID_RE.match(item["id"]), item
    assert item["project_id"] == pid, item
    assert item["text"] == "Use SQLite", item
    assert item["state"] == "exploring", item      # the default
    assert item["confidence"] == 100, item         # the default
    assert item["user_quote"] == "", item
    assert item["source_message_id"] is None, item
    assert item["created_by"] == "user", item
    assert item["version"] == 1, item
    assert isinstance(item["position"], int) and item["position"] >= 0, item

    made = {}
    for state in STATES:
        made[state] = create_item(user.token, pid, text="in " + state,
                                  state=state, confidence=42,
                                  user_quote="\u201cquote\u201d " + state)
        assert made[state]["state"] == state, made[state]
        assert made[state]["confidence"] == 42, made[state]
        assert made[state]["user_quote"] == "\u201cquote\u201d " + state
    project = api("GET", "/api/projects/%s" % pid, user.token).json()
    assert project["item_counts"] == {"decided": 1, "exploring": 2,
                                      "parked": 1, "rejected": 1}, project
    events = _history(user, pid, made["parked"]["id"])
    assert len(events) == 1, events
    e = events[0]
    assert (e["action"], e["actor"], e["to_state"], e["new_text"],
            e["from_state"], e["old_text"]) == \
        ("created", "user", "parked", "in parked", None, None), e


def test_list_order_and_state_filter():
    user, pid = _board()
    made = []
    for i in range(3):
        for state in reversed(STATES):
            made.append(create_item(user.token, pid, text="%s %d" % (state, i),
                                    state=state))
    items = _list(user, pid)
    assert len(items) == 12, items
    order = [(STATES.index(i["state"]), i["position"]) for i in items]
    assert order == sorted(order), "not ordered by state, position: %r" % order
    for state in STATES:
        column = [i for i in items if i["state"] == state]
        # Each new item goes after the last of its state.
        assert [i["text"] for i in column] == \
            ["%s %d" % (state, n) for n in range(3)], column
        positions = [i["position"] for i in column]
        assert positions == sorted(set(positions)), positions

        only = _list(user, pid, "?state=" + state)
        assert only == column, (state, only, column)
    # An explicit position places an item; equal positions keep the order
    # of creation (the first parked item is at 0 already).
    assert column[0]["position"] == 0, column
    create_item(user.token, pid, text="also 0", state="parked", position=0)
    create_item(user.token, pid, text="at 1", state="parked", position=1)
    parked = _list(user, pid, "?state=parked")
    by_position = sorted(parked, key=lambda i: i["position"])
    assert [i["text"] for i in parked] == [i["text"] for i in by_position]
    assert [i["text"] for i in parked[:2]] == ["parked 0", "also 0"], parked


def test_state_filter_validation():
    user, pid = _board()
    create_item(user.token, pid)
    for query in ("?state=bogus", "?state=DECIDED", "?state=",
                  "?state=decided%20", "?state=decided,parked"):
        resp = api("GET", _items_path(pid) + query, user.token)
        try:
            expect_invalid(resp, "state")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (query, e))


def test_patch_text_state_position_and_history():
    user, pid = _board()
    item = create_item(user.token, pid, text="draft", state="exploring")
    create_item(user.token, pid, state="decided")
    create_item(user.token, pid, state="decided")
    iid = item["id"]

    resp = _patch(user, pid, iid, {"text": "final", "version": 1,
                                   "reason": "clearer"})
    assert resp.status == 200, resp
    v2 = resp.json()
    assert (v2["text"], v2["state"], v2["version"]) == \
        ("final", "exploring", 2), v2
    assert v2["created_at"] == item["created_at"], v2

    # A state change without a position: last in its new column.
    resp = _patch(user, pid, iid, {"state": "decided", "version": 2})
    assert resp.status == 200, resp
    v3 = resp.json()
    assert (v3["state"], v3["version"]) == ("decided", 3), v3
    decided = _list(user, pid, "?state=decided")
    assert decided[-1]["id"] == iid, decided
    assert v3["position"] > max(i["position"] for i in decided[:-1]), decided

    resp = _patch(user, pid, iid, {"position": 0, "version": 3})
    assert resp.status == 200, resp
    v4 = resp.json()
    assert (v4["position"], v4["version"], v4["state"]) == (0, 4, "decided")
    assert _list(user, pid, "?state=decided")[0]["id"] == iid

    resp = _patch(user, pid, iid, {"state": "parked", "position": 7,
                                   "text": "parked now", "version": 4,
                                   "reason": "later"})
    assert resp.status == 200, resp
    v5 = resp.json()
    assert (v5["state"], v5["position"], v5["text"], v5["version"]) == \
        ("parked", 7, "parked now", 5), v5

    events = _history(user, pid, iid)
    assert [e["action"] for e in events] == \
        ["created", "updated", "moved", "updated", "moved"], events
    assert all(e["actor"] == "user" for e in events), events
    created, text, moved, position, both = events
    assert (text["old_text"], text["new_text"], text["reason"]) == \
        ("draft", "final", "clearer"), text
    assert (moved["from_state"], moved["to_state"]) == \
        ("exploring", "decided"), moved
    assert (both["from_state"], both["to_state"], both["old_text"],
            both["new_text"], both["reason"]) == \
        ("decided", "parked", "final", "parked now", "later"), both
    ids = [e["id"] for e in events]
    assert ids == sorted(ids), "history is not oldest first: %r" % ids
    assert _list(user, pid, "?state=parked")[0] == v5


def test_patch_stale_version_409():
    user, pid = _board()
    item = create_item(user.token, pid, text="one")
    assert _patch(user, pid, item["id"], {"text": "two",
                                          "version": 1}).status == 200
    for stale in (1, 3, 99):
        resp = _patch(user, pid, item["id"], {"text": "three",
                                              "version": stale})
        expect_error(resp, 409, "version_conflict")
        current = resp.json().get("current")
        assert isinstance(current, dict), resp
        assert current["id"] == item["id"], current
        assert (current["text"], current["version"]) == ("two", 2), current
    assert [e["action"] for e in _history(user, pid, item["id"])] == \
        ["created", "updated"]


def test_delete_keeps_history():
    user, pid = _board()
    item = create_item(user.token, pid, text="gone soon", state="parked")
    other = create_item(user.token, pid)
    resp = api("DELETE", _items_path(pid, item["id"]), user.token)
    assert resp.status == 204, resp
    assert resp.body == b"", resp
    assert [i["id"] for i in _list(user, pid)] == [other["id"]]
    events = _history(user, pid, item["id"])
    assert [e["action"] for e in events] == ["created", "deleted"], events
    assert events[-1]["actor"] == "user", events
    assert (events[-1]["from_state"], events[-1]["old_text"]) == \
        ("parked", "gone soon"), events
    expect_error(api("DELETE", _items_path(pid, item["id"]), user.token),
                 404, "not_found")
    expect_error(_patch(user, pid, item["id"], {"text": "x", "version": 1}),
                 404, "not_found")
    # An item that never existed has no history.
    expect_error(api("GET", _items_path(pid, str(uuid.uuid4())) + "/history",
                     user.token), 404, "not_found")
    project = api("GET", "/api/projects/%s" % pid, user.token).json()
    assert project["item_counts"]["parked"] == 0, project


def test_create_validation():
    user, pid = _board()
    failures = []
    for what, body, field in [
            ("no text", {}, "text"),
            ("text null", {"text": None}, "text"),
            ("text a number", {"text": 1}, "text"),
            ("text an object", {"text": {}}, "text"),
            ("text empty", {"text": ""}, "text"),
            ("text of 2001 characters", {"text": "t" * 2001}, "text"),
            ("text of 2001 three-byte characters", {"text": "\u65e5" * 2001},
             "text"),
            ("state unknown", {"text": "t", "state": "done"}, "state"),
            ("state in capitals", {"text": "t", "state": "Decided"}, "state"),
            ("state null", {"text": "t", "state": None}, "state"),
            ("state a number", {"text": "t", "state": 1}, "state"),
            ("confidence -1", {"text": "t", "confidence": -1}, "confidence"),
            ("confidence 101", {"text": "t", "confidence": 101}, "confidence"),
            ("confidence a string", {"text": "t", "confidence": "50"},
             "confidence"),
            ("confidence a fraction", {"text": "t", "confidence": 50.5},
             "confidence"),
            ("confidence null", {"text": "t", "confidence": None},
             "confidence"),
            ("confidence true", {"text": "t", "confidence": True},
             "confidence"),
            ("position -1", {"text": "t", "position": -1}, "position"),
            ("position 1000001", {"text": "t", "position": 1000001},
             "position"),
            ("position huge", {"text": "t", "position": 2 ** 63}, "position"),
            ("position a string", {"text": "t", "position": "1"}, "position"),
            ("user_quote of 2001 characters",
             {"text": "t", "user_quote": "\u00e9" * 2001}, "user_quote"),
            ("user_quote a number", {"text": "t", "user_quote": 1},
             "user_quote"),
            ("unknown field", {"text": "t", "colour": "red"}, "colour"),
            ("created_by is not the client's",
             {"text": "t", "created_by": "planner"}, "created_by"),
            ("source_message_id is not the client's",
             {"text": "t", "source_message_id": str(uuid.uuid4())},
             "source_message_id"),
            ("version is not a create field", {"text": "t", "version": 1},
             "version"),
            ("id is not a create field", {"text": "t",
                                          "id": str(uuid.uuid4())}, "id")]:
        try:
            expect_invalid(api("POST", _items_path(pid), user.token, body),
                           field)
        except AssertionError as e:
            failures.append("%s: %s" % (what, e))
    assert not failures, "\n".join(failures)
    assert _list(user, pid) == []
    # The limits themselves are fine.
    for body in ({"text": "\u65e5" * 2000, "user_quote": "\u00e9" * 2000,
                  "confidence": 0, "position": 1000000},
                 {"text": "x", "confidence": 100, "position": 0,
                  "user_quote": ""}):
        resp = api("POST", _items_path(pid), user.token, body)
        assert resp.status == 201, resp
        for name, value in body.items():
            assert resp.json()[name] == value, name


def test_patch_validation():
    user, pid = _board()
    item = create_item(user.token, pid, text="keep")
    iid = item["id"]
    failures = []
    for what, body, field in [
            ("unknown field", {"text": "x", "version": 1, "colour": "red"},
             "colour"),
            ("confidence is not patchable", {"confidence": 5, "version": 1},
             "confidence"),
            ("project_id is not patchable", {"project_id": pid, "version": 1},
             "project_id"),
            ("no version", {"text": "x"}, "version"),
            ("version a string", {"text": "x", "version": "1"}, "version"),
            ("version null", {"text": "x", "version": None}, "version"),
            ("version 0", {"text": "x", "version": 0}, "version"),
            ("text empty", {"text": "", "version": 1}, "text"),
            ("text null", {"text": None, "version": 1}, "text"),
            ("text of 2001 two-byte characters",
             {"text": "\u00e9" * 2001, "version": 1}, "text"),
            ("state unknown", {"state": "archived", "version": 1}, "state"),
            ("position -1", {"position": -1, "version": 1}, "position"),
            ("position 1000001", {"position": 1000001, "version": 1},
             "position"),
            ("position a fraction", {"position": 1.5, "version": 1},
             "position"),
            ("reason of 501 characters",
             {"text": "x", "reason": "\u00e9" * 501, "version": 1}, "reason"),
            ("reason a number", {"text": "x", "reason": 1, "version": 1},
             "reason")]:
        try:
            expect_invalid(_patch(user, pid, iid, body), field)
        except AssertionError as e:
            failures.append("%s: %s" % (what, e))
    assert not failures, "\n".join(failures)
    # Nothing to change: a version alone, or with only a reason.
    for body in ({"version": 1}, {"version": 1, "reason": "why not"}):
        expect_error(_patch(user, pid, iid, body), 422, "validation_failed")
    assert [e["action"] for e in _history(user, pid, iid)] == ["created"]
    # The limits themselves are fine.
    resp = _patch(user, pid, iid, {"text": "\u00e9" * 2000,
                                   "reason": "\u00e9" * 500,
                                   "position": 1000000, "version": 1})
    assert resp.status == 200, resp


def test_concurrent_patches_one_wins():
    user, pid = _board()
    item = create_item(user.token, pid, text="contested")
    iid = item["id"]
    barrier = threading.Barrier(PARALLEL)
    results = [None] * PARALLEL

    def patch(i):
        body = {"version": 1}
        # Half change the text, half move the item: every kind of change
        # races for the same version.
        if i % 2:
            body["text"] = "writer %d" % i
        else:
            body["state"] = STATES[i % 4] if STATES[i % 4] != "exploring" \
                else "parked"
        try:
            barrier.wait(timeout=60)
            results[i] = _patch(user, pid, iid, body)
        except Exception as e:      # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=patch, args=(i,), daemon=True)
               for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    statuses = [r.status if hasattr(r, "status") else repr(r) for r in results]
    assert statuses.count(200) == 1, "expected exactly one 200: %r" % statuses
    assert statuses.count(409) == PARALLEL - 1, \
        "expected %d 409s: %r" % (PARALLEL - 1, statuses)
    winner = next(r for r in results if r.status == 200).json()
    assert winner["version"] == 2, winner
    for r in results:
        if r.status == 409:
            expect_error(r, 409, "version_conflict")
            current = r.json()["current"]
            assert current["id"] == iid and current["version"] == 2, current

    stored = [i for i in _list(user, pid) if i["id"] == iid]
    assert stored == [winner], (stored, winner)
    events = _history(user, pid, iid)
    assert [e["action"] for e in events][0] == "created", events
    assert len(events) == 2, "expected created and one change: %r" % events
    rows = psql("SELECT count(*) FROM item_events WHERE item_id = :'i'",
                i=iid)
    assert rows == [["2"]], rows
