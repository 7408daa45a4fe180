"""Who may call what: every route that needs an access token (ROUTE_AUTH)
or the caller's own project (ROUTE_PROJECT), from one table. Without a
token: 401 with a Bearer challenge. Another user's project, a nonexistent
one and a malformed id: 404, never 403 (nobody learns which ids exist).
The owner: the route's success status.

Adding such a route to src/api_routes.c is adding a row to ROUTES below;
test_table_covers_every_guarded_route fails until it is there. A route
whose path names something else than {id} and {item} also needs that in
_fixture and _path."""

import collections
import http.client as httpclient
import os
import re
import threading
import uuid

from helpers import Response, api, base_address, bearer, create_item, \
    create_project, expect_error, expect_unauthorized, fresh_source, \
    register_user
from test_turns import turn_result

HERE = os.path.dirname(os.path.abspath(__file__))
ROUTES_C = os.path.join(HERE, "..", "..", "src", "api_routes.c")

MALFORMED_IDS = ["not-a-uuid", "12345",
                 "0b6b8a1e-0000-4000-8000-00000000000g",   # a non-hex digit
                 "0b6b8a1e-0000-4000-8000-0000000000000",  # 37 characters
                 "x%27%20OR%20%271%27%3D%271"]             # x' OR '1'='1


def _no_body(fixture):
    return None


def _project_patch(fixture):
    return {"title": "renamed", "version": fixture["project"]["version"]}


def _item_patch(fixture):
    return {"text": "changed", "version": fixture["item"]["version"]}


# method, path ({id}: a project, {item}: an item of it), the body a call
# sends (made from the fixture), the owner's success status, whether the
# route names a project (ROUTE_PROJECT) or needs a token only (ROUTE_AUTH),
# whether its success is a stream (Server-Sent Events: only the status
# and headers are read, then the connection is closed), and its query.
Route = collections.namedtuple(
    "Route", "method path body status project stream query",
    defaults=(False, ""))

ROUTES = [
    Route("GET", "/api/auth/me", _no_body, 200, False),
    Route("GET", "/api/projects", _no_body, 200, False),
    Route("POST", "/api/projects", lambda f: {"title": "authz"}, 201, False),
    Route("GET", "/api/projects/{id}", _no_body, 200, True),
    Route("PATCH", "/api/projects/{id}", _project_patch, 200, True),
    Route("DELETE", "/api/projects/{id}", _no_body, 204, True),
    Route("GET", "/api/projects/{id}/items", _no_body, 200, True),
    Route("POST", "/api/projects/{id}/items", lambda f: {"text": "authz"},
          201, True),
    Route("PATCH", "/api/projects/{id}/items/{item}", _item_patch, 200, True),
    Route("DELETE", "/api/projects/{id}/items/{item}", _no_body, 204, True),
    Route("GET", "/api/projects/{id}/items/{item}/history", _no_body, 200,
          True),
    Route("GET", "/api/projects/{id}/messages", _no_body, 200, True),
    Route("POST", "/api/projects/{id}/messages",
          lambda f: {"content": "authz [no-changes]"}, 202, True),
    Route("POST", "/api/projects/{id}/turns/{turn}/retry", _no_body, 202, True),
    Route("GET", "/api/projects/{id}/turns/{turn}", _no_body, 200, True),
    # The fixture's turn has ended: its stream is gone (410, JSON).
    Route("GET", "/api/projects/{id}/turns/{turn}/events", _no_body, 410, True),
    Route("GET", "/api/projects/{id}/events", _no_body, 200, True, True),
    Route("GET", "/api/projects/{id}/activity", _no_body, 200, True),
    Route("POST", "/api/projects/{id}/documents", lambda f: {"kind": "risks"},
          201, True),
    Route("GET", "/api/projects/{id}/documents", _no_body, 200, True),
    Route("GET", "/api/projects/{id}/documents/{kind}", _no_body, 200, True),
    Route("GET", "/api/projects/{id}/documents/{kind}/versions", _no_body,
          200, True),
    Route("GET", "/api/projects/{id}/documents/{kind}/versions/{n}",
          _no_body, 200, True),
    Route("GET", "/api/projects/{id}/documents/{kind}/diff", _no_body, 200,
          True, query="from=1&to=1"),
    Route("GET", "/api/projects/{id}/export", _no_body, 200, True),
    Route("POST", "/api/projects/import",
          lambda f: {"format": "brainstorm.project", "format_version": 1,
                     "project": {"title": "authz"}}, 201, False),
    Route("GET", "/api/agents", _no_body, 200, False),
    Route("GET", "/api/usage", _no_body, 200, False),
]

_users = {}
_users_lock = threading.Lock()


def _owner_and_other():
    """Two accounts, made on first use (whichever test comes first)."""
    with _users_lock:
        if not _users:
            _users["owner"] = register_user("authz-owner")
            _users["other"] = register_user("authz-other")
        return _users["owner"], _users["other"]


def _fixture(owner):
    """A project of owner's with one item, new for every call: some routes
    delete what they are given."""
    project = create_project(owner.token)
    item = create_item(owner.token, project["id"])
    return {"project": project, "item": item, "token": owner.token}


def _failed_turn(fixture):
    """A turn of the fixture's project whose reply failed (the double is
    told to fail the streamed reply), made on first use: retry needs one."""
    if "turn" not in fixture:
        project = fixture["project"]["id"]
        resp = api("POST", "/api/projects/%s/messages" % project,
                   fixture["token"],
                   {"content": "authz [fault:bad_request] [fault-agent:text]"})
        assert resp.status == 202, resp
        turn = turn_result(bearer(fixture["token"]), project,
                           resp.json()["turn_id"])
        assert turn["status"] == "failed", turn
        fixture["turn"] = turn["turn_id"]
    return fixture["turn"]


def _document(fixture):
    """Version 1 of the fixture project's brief, made on first use: the
    routes that read a document need one."""
    if "document" not in fixture:
        resp = api("POST", "/api/projects/%s/documents" %
                   fixture["project"]["id"], fixture["token"],
                   {"kind": "brief"})
        assert resp.status == 201, resp
        fixture["document"] = resp.json()["version"]
    return fixture["document"]


def _path(template, project_id, item_id, turn_id=""):
    return template.replace("{id}", project_id).replace(
        "{item}", item_id).replace("{turn}", turn_id).replace(
        "{kind}", "brief").replace("{n}", "1")


def _stream_head(method, path, token):
    """Status and headers of a streaming answer; its body is not read."""
    host, port = base_address()
    conn = httpclient.HTTPConnection(host, port, timeout=60)
    try:
        headers = bearer(token) if token is not None else {}
        headers["Accept"] = "text/event-stream"
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        if resp.status < 300:
            return Response(resp.status, resp.headers, b"")
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def _call(route, token, fixture, project_id=None, item_id=None):
    if project_id is None:
        project_id = fixture["project"]["id"]
    if item_id is None:
        item_id = fixture["item"]["id"]
    turn_id = _failed_turn(fixture) if "{turn}" in route.path else ""
    # Only the owner's own call needs the document to be there.
    if "{kind}" in route.path and token == fixture["token"] and \
            project_id == fixture["project"]["id"]:
        _document(fixture)
    path = _path(route.path, project_id, item_id, turn_id)
    if route.query:
        path += "?" + route.query
    if route.stream:
        return _stream_head(route.method, path, token)
    # Each call from its own address: nginx limits POSTs per address.
    return api(route.method, path, token, route.body(fixture),
               source=fresh_source())


def _name(route):
    return "%s %s" % (route.method, route.path)


def _check_each(check):
    """Run check(route) for every row; report every failing row at once."""
    failures = []
    for route in ROUTES:
        try:
            check(route)
        except AssertionError as e:
            failures.append("%s: %s" % (_name(route), e))
    assert not failures, "\n".join(failures)


def test_table_covers_every_guarded_route():
    with open(ROUTES_C, encoding="utf-8") as f:
        source = f.read()
    rows = re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*([^}]*)\}',
                      source)
    assert rows, "no routes found in %s" % ROUTES_C
    guarded = {(method, path) for method, path, flags in rows
               if "ROUTE_AUTH" in flags or "ROUTE_PROJECT" in flags}
    project = {(method, path) for method, path, flags in rows
               if "ROUTE_PROJECT" in flags}
    table = {(r.method, r.path) for r in ROUTES}
    missing = sorted(guarded - table)
    assert not missing, "routes of api_routes.c without a row in " \
        "test_authz.ROUTES: %s" % missing
    extra = sorted(table - guarded)
    assert not extra, "rows for routes that are not guarded: %s" % extra
    wrong = sorted((r.method, r.path) for r in ROUTES
                   if r.project != ((r.method, r.path) in project))
    assert not wrong, "rows whose ROUTE_PROJECT column is wrong: %s" % wrong


def test_no_token_401():
    owner, _ = _owner_and_other()
    fixture = _fixture(owner)

    def check(route):
        expect_unauthorized(_call(route, None, fixture), token_given=False)
        # A scheme other than Bearer is no token either.
        turn = _failed_turn(fixture) if "{turn}" in route.path else ""
        resp = api(route.method, _path(route.path, fixture["project"]["id"],
                                       fixture["item"]["id"], turn),
                   body=route.body(fixture),
                   headers={"Authorization": "Basic YWRhOnB3"})
        expect_unauthorized(resp, token_given=False)
        # A malformed id does not tell a caller without a token anything.
        expect_unauthorized(_call(route, None, fixture, "not-a-uuid",
                                  "not-a-uuid"), token_given=False)
    _check_each(check)
    # Nothing was changed: the owner still sees the project and item.
    resp = api("GET", "/api/projects/%s/items/%s/history" % (
        fixture["project"]["id"], fixture["item"]["id"]), owner.token)
    assert resp.status == 200, resp
    assert [e["action"] for e in resp.json()["events"]] == ["created"], resp


def test_invalid_token_401():
    owner, _ = _owner_and_other()
    fixture = _fixture(owner)

    def check(route):
        expect_unauthorized(_call(route, "not.a.token", fixture),
                            token_given=True)
    _check_each(check)


def test_other_users_project_404():
    owner, other = _owner_and_other()

    def check(route):
        if not route.project:
            return
        fixture = _fixture(owner)
        expect_error(_call(route, other.token, fixture), 404, "not_found")
        # Still there, unchanged, for its owner.
        resp = api("GET", "/api/projects/%s/items/%s/history" % (
            fixture["project"]["id"], fixture["item"]["id"]), owner.token)
        assert resp.status == 200, "owner after another's call: %r" % resp
        assert [e["action"] for e in resp.json()["events"]] == ["created"], \
            "another user's call changed the item: %r" % resp
        resp = api("GET", "/api/projects/%s" % fixture["project"]["id"],
                   owner.token)
        assert resp.status == 200 and resp.json()["version"] == 1, resp
    _check_each(check)


def test_other_user_sees_only_own_projects():
    owner, other = _owner_and_other()
    fixture = _fixture(owner)
    mine = create_project(other.token)
    resp = api("GET", "/api/projects?limit=100", other.token)
    assert resp.status == 200, resp
    ids = [p["id"] for p in resp.json()["projects"]]
    assert fixture["project"]["id"] not in ids, "another user's project " \
        "listed: %r" % ids
    assert mine["id"] in ids, ids
    resp = api("GET", "/api/auth/me", other.token)
    assert resp.status == 200, resp
    assert resp.json()["user"]["id"] == other.id, resp


def test_nonexistent_project_404():
    owner, _ = _owner_and_other()

    def check(route):
        if not route.project:
            return
        fixture = _fixture(owner)
        expect_error(_call(route, owner.token, fixture, str(uuid.uuid4())),
                     404, "not_found")
    _check_each(check)


def test_malformed_project_id_404():
    owner, _ = _owner_and_other()

    def check(route):
        if not route.project:
            return
        fixture = _fixture(owner)
        for bad in MALFORMED_IDS:
            resp = _call(route, owner.token, fixture, bad)
            try:
                expect_error(resp, 404, "not_found")
            except AssertionError as e:
                raise AssertionError("id %r: %s" % (bad, e))
    _check_each(check)


def test_nonexistent_and_malformed_item_404():
    owner, _ = _owner_and_other()

    def check(route):
        if "{item}" not in route.path:
            return
        fixture = _fixture(owner)
        # An item of another of the owner's projects is not this project's.
        elsewhere = _fixture(owner)
        others = [str(uuid.uuid4()), elsewhere["item"]["id"]]
        for bad in others + MALFORMED_IDS:
            resp = _call(route, owner.token, fixture, item_id=bad)
            try:
                expect_error(resp, 404, "not_found")
            except AssertionError as e:
                raise AssertionError("item %r: %s" % (bad, e))
        resp = api("GET", "/api/projects/%s/items/%s/history" % (
            elsewhere["project"]["id"], elsewhere["item"]["id"]), owner.token)
        assert [e["action"] for e in resp.json()["events"]] == ["created"], \
            "a call through another project changed the item: %r" % resp
    _check_each(check)


def test_owner_succeeds():
    owner, _ = _owner_and_other()

    def check(route):
        fixture = _fixture(owner)
        resp = _call(route, owner.token, fixture)
        assert resp.status == route.status, "expected %d, got %r" % (
            route.status, resp)
        if route.stream:
            assert (resp.header("Content-Type") or "").startswith(
                "text/event-stream"), resp.header("Content-Type")
        elif resp.status == 204:
            assert resp.body == b"", resp
        else:
            assert (resp.header("Content-Type") or "").startswith(
                "application/json"), resp.header("Content-Type")
            assert isinstance(resp.json(), dict), resp
    _check_each(check)
