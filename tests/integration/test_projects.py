"""Projects: create, list (newest first, cursor pages, item counts), read,
change with a version, delete (with its items and their history), and the
validation of bodies and query strings. Every test has its own account."""

import base64
import re

from helpers import api, create_item, create_project, expect_error, \
    expect_invalid, psql, register_user

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
PROJECT_KEYS = {"id", "title", "description", "status", "version",
                "created_at", "updated_at", "role", "item_counts"}
NO_ITEMS = {"decided": 0, "exploring": 0, "parked": 0, "rejected": 0}


def _get(token, project_id):
    return api("GET", "/api/projects/%s" % project_id, token)


def _patch(token, project_id, body):
    return api("PATCH", "/api/projects/%s" % project_id, token, body)


def _list(token, query=""):
    return api("GET", "/api/projects" + query, token)


def test_create_and_get():
    user = register_user("proj")
    resp = api("POST", "/api/projects", user.token,
               {"title": "Garden  planner",
                "description": "Beds & \u00e9t\u00e9"})
    assert resp.status == 201, resp
    project = resp.json()
    assert set(project) == PROJECT_KEYS, project
    assert UUID_RE.match(project["id"]), project
    assert project["title"] == "Garden  planner", project
    assert project["description"] == "Beds & \u00e9t\u00e9", project
    assert project["status"] == "active", project
    assert project["version"] == 1, project
    assert project["item_counts"] == NO_ITEMS, project
    assert project["created_at"] == project["updated_at"], project

    resp = _get(user.token, project["id"])
    assert resp.status == 200, resp
    assert resp.json() == project, (resp.json(), project)

    bare = create_project(user.token, title="t")
    assert bare["description"] == "", bare


def test_list_newest_first_with_item_counts():
    user = register_user("proj")
    assert _list(user.token).json() == {"projects": [], "next_cursor": None}
    first = create_project(user.token, title="first")
    second = create_project(user.token, title="second")
    third = create_project(user.token, title="third")
    for state, n in (("decided", 2), ("parked", 1), ("rejected", 3)):
        for _ in range(n):
            create_item(user.token, second["id"], state=state)
    create_item(user.token, second["id"])       # exploring, the default

    resp = _list(user.token)
    assert resp.status == 200, resp
    doc = resp.json()
    assert set(doc) == {"projects", "next_cursor"}, doc
    assert doc["next_cursor"] is None, doc
    projects = doc["projects"]
    assert [p["id"] for p in projects] == \
        [third["id"], second["id"], first["id"]], projects
    for p in projects:
        assert set(p) == PROJECT_KEYS, p
    counts = {p["id"]: p["item_counts"] for p in projects}
    assert counts[second["id"]] == {"decided": 2, "exploring": 1,
                                    "parked": 1, "rejected": 3}, counts
    assert counts[first["id"]] == NO_ITEMS, counts
    assert counts[third["id"]] == NO_ITEMS, counts
    # The single project shows the same counts.
    assert _get(user.token, second["id"]).json()["item_counts"] == \
        counts[second["id"]]


def test_cursor_pagination():
    user = register_user("proj")
    created = [create_project(user.token, title="p%02d" % i)["id"]
               for i in range(25)]
    newest_first = list(reversed(created))

    pages, cursor = [], ""
    for _ in range(10):
        resp = _list(user.token, "?limit=10&cursor=%s" % cursor)
        assert resp.status == 200, resp
        doc = resp.json()
        pages.append([p["id"] for p in doc["projects"]])
        if doc["next_cursor"] is None:
            break
        cursor = doc["next_cursor"]
        assert isinstance(cursor, str) and cursor, doc
    assert [len(p) for p in pages] == [10, 10, 5], pages
    seen = [i for page in pages for i in page]
    assert len(seen) == len(set(seen)), "duplicates across pages: %r" % seen
    assert seen == newest_first, "pages are not the projects newest " \
        "first: %r" % seen

    # The default limit is 20; 100 fits them all.
    doc = _list(user.token).json()
    assert len(doc["projects"]) == 20 and doc["next_cursor"], doc
    assert [p["id"] for p in doc["projects"]] == newest_first[:20]
    doc = _list(user.token, "?limit=100").json()
    assert [p["id"] for p in doc["projects"]] == newest_first, doc
    assert doc["next_cursor"] is None, doc
    # An exact fit has no next page... or an empty one; never a duplicate.
    doc = _list(user.token, "?limit=25").json()
    assert [p["id"] for p in doc["projects"]] == newest_first, doc
    if doc["next_cursor"] is not None:
        rest = _list(user.token, "?cursor=" + doc["next_cursor"]).json()
        assert rest["projects"] == [], rest


def test_cursor_survives_changes():
    """A project created after the first page does not shift the next one;
    one deleted on a later page is simply gone."""
    user = register_user("proj")
    created = [create_project(user.token, title="p%d" % i)["id"]
               for i in range(6)]
    doc = _list(user.token, "?limit=3").json()
    assert [p["id"] for p in doc["projects"]] == created[::-1][:3], doc
    create_project(user.token, title="newer")
    assert api("DELETE", "/api/projects/%s" % created[1], user.token).status \
        == 204
    doc = _list(user.token, "?limit=3&cursor=" + doc["next_cursor"]).json()
    assert [p["id"] for p in doc["projects"]] == [created[2], created[0]], doc
    assert doc["next_cursor"] is None, doc


def test_list_query_validation():
    user = register_user("proj")
    create_project(user.token)
    failures = []
    good = _list(user.token, "?limit=1").json()["next_cursor"]
    assert good is None          # one project
    for query, field in [
            ("?limit=0", "limit"), ("?limit=101", "limit"),
            ("?limit=-1", "limit"), ("?limit=abc", "limit"),
            ("?limit=1.5", "limit"), ("?limit=10abc", "limit"),
            ("?limit=99999999999999999999", "limit"),
            ("?cursor=garbage!", "cursor"), ("?cursor=abc", "cursor"),
            ("?cursor=" + base64.urlsafe_b64encode(b"12:not-a-uuid")
             .decode().rstrip("="), "cursor"),
            ("?cursor=" + base64.urlsafe_b64encode(
                b"x:00000000-0000-4000-8000-000000000000")
             .decode().rstrip("="), "cursor"),
            ("?cursor=" + base64.urlsafe_b64encode(
                b"99999999999999999999:00000000-0000-4000-8000-000000000000")
             .decode().rstrip("="), "cursor"),
            ("?cursor=" + "A" * 500, "cursor")]:
        try:
            expect_invalid(_list(user.token, query), field)
        except AssertionError as e:
            failures.append("%s: %s" % (query, e))
    assert not failures, "\n".join(failures)
    # An empty cursor is the first page; limits 1 and 100 are fine.
    for query in ("?cursor=", "?limit=1", "?limit=100", "?limit=1&cursor="):
        resp = _list(user.token, query)
        assert resp.status == 200, (query, resp)
        assert len(resp.json()["projects"]) == 1, (query, resp)


def test_create_validation():
    user = register_user("proj")
    failures = []
    for what, body, field in [
            ("no title", {}, "title"),
            ("no title, a description", {"description": "d"}, "title"),
            ("title null", {"title": None}, "title"),
            ("title a number", {"title": 5}, "title"),
            ("title a list", {"title": ["t"]}, "title"),
            ("title empty", {"title": ""}, "title"),
            ("title of 256 characters", {"title": "t" * 256}, "title"),
            ("title of 256 two-byte characters", {"title": "\u00fc" * 256},
             "title"),
            ("title of 256 four-byte characters",
             {"title": "\U0001f600" * 256}, "title"),
            ("description null", {"title": "t", "description": None},
             "description"),
            ("description a number", {"title": "t", "description": 1},
             "description"),
            ("description of 10001 characters",
             {"title": "t", "description": "d" * 10001}, "description"),
            ("description of 10001 two-byte characters",
             {"title": "t", "description": "\u00e9" * 10001}, "description"),
            ("unknown field", {"title": "t", "owner_id": user.id}, "owner_id"),
            ("status is not a create field", {"title": "t",
                                              "status": "archived"}, "status"),
            ("version is not a create field", {"title": "t", "version": 3},
             "version"),
            ("title with a NUL", {"title": "a\u0000b"}, "title")]:
        try:
            expect_invalid(api("POST", "/api/projects", user.token, body),
                           field)
        except AssertionError as e:
            failures.append("%s: %s" % (what, e))
    assert not failures, "\n".join(failures)
    # Nothing was created.
    assert _list(user.token).json()["projects"] == []


def test_create_limits_accepted():
    user = register_user("proj")
    for body in ({"title": "\u00fc" * 255},
                 {"title": "\U0001f600" * 255},
                 {"title": "x", "description": "\u00e9" * 10000},
                 {"title": "x", "description": ""}):
        resp = api("POST", "/api/projects", user.token, body)
        assert resp.status == 201, (body, resp)
        project = resp.json()
        for name, value in body.items():
            assert project[name] == value, (name, project[name][:20])


def test_bad_json_and_media_type():
    user = register_user("proj")
    project = create_project(user.token)
    failures = []
    for method, path in (("POST", "/api/projects"),
                         ("PATCH", "/api/projects/%s" % project["id"])):
        for what, body, ctype, status, code in [
                ("truncated JSON", b'{"title": ', "application/json", 400,
                 "invalid_json"),
                ("single quotes", b"{'title': 't'}", "application/json", 400,
                 "invalid_json"),
                ("empty body", b"", "application/json", 400, "invalid_json"),
                ("text", b'{"title": "t"}', "text/plain", 415,
                 "unsupported_media_type"),
                ("no content type", b'{"title": "t"}', None, 415,
                 "unsupported_media_type"),
                ("a JSON list", b'[{"title": "t"}]', "application/json", 422,
                 "validation_failed")]:
            headers = {"Content-Type": ctype} if ctype else {}
            resp = api(method, path, user.token, body, headers=headers)
            try:
                expect_error(resp, status, code)
            except AssertionError as e:
                failures.append("%s %s: %s" % (method, what, e))
    assert not failures, "\n".join(failures)
    assert _get(user.token, project["id"]).json() == project


def test_patch_with_version():
    user = register_user("proj")
    project = create_project(user.token, title="before", description="d0")
    resp = _patch(user.token, project["id"], {"title": "after", "version": 1})
    assert resp.status == 200, resp
    v2 = resp.json()
    assert v2["version"] == 2 and v2["title"] == "after", v2
    assert v2["description"] == "d0" and v2["status"] == "active", v2
    assert v2["created_at"] == project["created_at"], v2
    assert v2["updated_at"] >= project["updated_at"], v2

    resp = _patch(user.token, project["id"], {"description": "",
                                              "status": "archived",
                                              "version": 2})
    assert resp.status == 200, resp
    v3 = resp.json()
    assert (v3["version"], v3["title"], v3["description"], v3["status"]) == \
        (3, "after", "", "archived"), v3
    resp = _patch(user.token, project["id"], {"status": "active",
                                              "version": 3})
    assert resp.status == 200 and resp.json()["status"] == "active", resp
    assert _get(user.token, project["id"]).json() == resp.json()


def test_patch_stale_version_409():
    user = register_user("proj")
    project = create_project(user.token, title="one")
    assert _patch(user.token, project["id"],
                  {"title": "two", "version": 1}).status == 200
    for stale in (1, 3, 1000):
        resp = _patch(user.token, project["id"], {"title": "three",
                                                  "version": stale})
        expect_error(resp, 409, "version_conflict")
        current = resp.json().get("current")
        assert isinstance(current, dict), resp
        assert current == _get(user.token, project["id"]).json(), current
        assert current["version"] == 2 and current["title"] == "two", current


def test_patch_validation():
    user = register_user("proj")
    project = create_project(user.token, title="keep")
    pid = project["id"]
    failures = []
    for what, body, field in [
            ("unknown field", {"title": "x", "version": 1, "owner_id": "x"},
             "owner_id"),
            ("id is not changeable", {"id": pid, "version": 1}, "id"),
            ("created_at is not changeable", {"created_at": "x",
                                              "version": 1}, "created_at"),
            ("item_counts", {"item_counts": {}, "version": 1}, "item_counts"),
            ("no version", {"title": "x"}, "version"),
            ("version null", {"title": "x", "version": None}, "version"),
            ("version a string", {"title": "x", "version": "1"}, "version"),
            ("version a fraction", {"title": "x", "version": 1.5}, "version"),
            ("version 0", {"title": "x", "version": 0}, "version"),
            ("version negative", {"title": "x", "version": -1}, "version"),
            ("title null", {"title": None, "version": 1}, "title"),
            ("title empty", {"title": "", "version": 1}, "title"),
            ("title a number", {"title": 1, "version": 1}, "title"),
            ("title of 256 two-byte characters",
             {"title": "\u00fc" * 256, "version": 1}, "title"),
            ("description of 10001 characters",
             {"description": "d" * 10001, "version": 1}, "description"),
            ("description null", {"description": None, "version": 1},
             "description"),
            ("status unknown", {"status": "deleted", "version": 1}, "status"),
            ("status in capitals", {"status": "ARCHIVED", "version": 1},
             "status"),
            ("status a number", {"status": 1, "version": 1}, "status")]:
        try:
            expect_invalid(_patch(user.token, pid, body), field)
        except AssertionError as e:
            failures.append("%s: %s" % (what, e))
    assert not failures, "\n".join(failures)
    # Nothing to change is refused too (with or without a field name).
    resp = _patch(user.token, pid, {"version": 1})
    expect_error(resp, 422, "validation_failed")
    assert _get(user.token, pid).json() == project
    # The limits themselves are fine.
    resp = _patch(user.token, pid, {"title": "\u00fc" * 255,
                                    "description": "\u00e9" * 10000,
                                    "version": 1})
    assert resp.status == 200, resp


def test_delete_removes_items_and_history():
    user = register_user("proj")
    project = create_project(user.token)
    keep = create_project(user.token)
    pid = project["id"]
    items = [create_item(user.token, pid, state=s)["id"]
             for s in ("decided", "exploring", "parked", "rejected")]
    resp = api("PATCH", "/api/projects/%s/items/%s" % (pid, items[0]),
               user.token, {"state": "parked", "version": 1})
    assert resp.status == 200, resp
    resp = api("DELETE", "/api/projects/%s/items/%s" % (pid, items[1]),
               user.token)
    assert resp.status == 204, resp
    kept_item = create_item(user.token, keep["id"])
    rows = psql("SELECT (SELECT count(*) FROM items WHERE project_id = :'p'),"
                " (SELECT count(*) FROM item_events WHERE project_id = :'p')",
                p=pid)
    assert rows == [["3", "6"]], rows

    resp = api("DELETE", "/api/projects/%s" % pid, user.token)
    assert resp.status == 204, resp
    assert resp.body == b"", resp
    expect_error(_get(user.token, pid), 404, "not_found")
    expect_error(api("DELETE", "/api/projects/%s" % pid, user.token), 404,
                 "not_found")
    expect_error(_patch(user.token, pid, {"title": "x", "version": 1}), 404,
                 "not_found")
    expect_error(api("GET", "/api/projects/%s/items" % pid, user.token), 404,
                 "not_found")
    expect_error(api("GET", "/api/projects/%s/items/%s/history" % (
        pid, items[0]), user.token), 404, "not_found")
    ids = [p["id"] for p in _list(user.token).json()["projects"]]
    assert ids == [keep["id"]], ids

    rows = psql("SELECT (SELECT count(*) FROM projects WHERE id = :'p'),"
                " (SELECT count(*) FROM items WHERE project_id = :'p'),"
                " (SELECT count(*) FROM item_events WHERE project_id = :'p'),"
                " (SELECT count(*) FROM item_events WHERE item_id = ANY("
                "  string_to_array(:'items', ',')::uuid[])),"
                " (SELECT count(*) FROM items WHERE id = ANY("
                "  string_to_array(:'items', ',')::uuid[]))",
                p=pid, items=",".join(items))
    assert rows == [["0", "0", "0", "0", "0"]], rows
    # The other project is untouched.
    resp = api("GET", "/api/projects/%s/items" % keep["id"], user.token)
    assert [i["id"] for i in resp.json()["items"]] == [kept_item["id"]], resp
