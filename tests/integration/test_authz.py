"""Who may call what: every route that needs an access token (ROUTE_AUTH)
or a role in a project (ROUTE_VIEWER, ROUTE_EDITOR, ROUTE_OWNER), from one
table. Without a token: 401 with a Bearer challenge. A project the caller
is not a member of, a nonexistent one and a malformed id: 404, never 403
(nobody learns which ids exist). A member below the route's role: 403
forbidden, and nothing changes. At or above it: the route's success
status (test_role_matrix runs every project route as a stranger, a
viewer, an editor and an owner).

Adding such a route to src/api_routes.c is adding a row to ROUTES below,
with the same role; test_table_covers_every_guarded_route fails until it
is there. A route whose path names something else than {id} and {item}
also needs that in _fixture and _path."""

import collections
import http.client as httpclient
import os
import re
import threading
import uuid

from helpers import Response, api, base_address, bearer, create_item, \
    create_project, expect_error, expect_unauthorized, fresh_source, psql, \
    register_user, wait_until
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


def _password(fixture):
    return {"password": fixture["password"]}


def _password_change(fixture):
    return {"current_password": fixture["password"],
            "new_password": "authz-" + uuid.uuid4().hex}


def _member_add(fixture):
    return {"email": _outsider().email, "role": "viewer"}


# method, path ({id}: a project, {item}: an item of it, {user}: a member
# of it, {invitation}: an invitation to it), the body a call sends (made
# from the fixture), the success status, the least role the route needs
# in the project (None: a token only, ROUTE_AUTH), whether its success is
# a stream (Server-Sent Events: only the status and headers are read,
# then the connection is closed), its query, and whether a call needs an
# account of its own (the route changes or deletes the caller's account).
Route = collections.namedtuple(
    "Route", "method path body status role stream query own_account",
    defaults=(False, "", False))

VIEWER, EDITOR, OWNER = "viewer", "editor", "owner"
ROLES = [None, VIEWER, EDITOR, OWNER]    # None: not a member
RANK = {None: 0, VIEWER: 1, EDITOR: 2, OWNER: 3}

ROUTES = [
    Route("GET", "/api/auth/me", _no_body, 200, None),
    Route("PATCH", "/api/auth/me", lambda f: {"display_name": "Authz"}, 200,
          None),
    Route("DELETE", "/api/auth/me", _password, 204, None, own_account=True),
    Route("POST", "/api/auth/password", _password_change, 204, None,
          own_account=True),
    Route("GET", "/api/projects", _no_body, 200, None),
    Route("POST", "/api/projects", lambda f: {"title": "authz"}, 201, None),
    Route("GET", "/api/projects/{id}", _no_body, 200, VIEWER),
    Route("PATCH", "/api/projects/{id}", _project_patch, 200, OWNER),
    Route("DELETE", "/api/projects/{id}", _no_body, 204, OWNER),
    Route("GET", "/api/projects/{id}/members", _no_body, 200, VIEWER),
    Route("POST", "/api/projects/{id}/members", _member_add, 201, OWNER),
    Route("PATCH", "/api/projects/{id}/members/{user}",
          lambda f: {"role": "viewer"}, 200, OWNER),
    Route("DELETE", "/api/projects/{id}/members/{user}", _no_body, 204,
          OWNER),
    Route("DELETE", "/api/projects/{id}/membership", _no_body, 204, VIEWER),
    Route("DELETE", "/api/projects/{id}/invitations/{invitation}", _no_body,
          204, OWNER),
    Route("GET", "/api/projects/{id}/items", _no_body, 200, VIEWER),
    Route("POST", "/api/projects/{id}/items", lambda f: {"text": "authz"},
          201, EDITOR),
    Route("PATCH", "/api/projects/{id}/items/{item}", _item_patch, 200,
          EDITOR),
    Route("DELETE", "/api/projects/{id}/items/{item}", _no_body, 204, EDITOR),
    Route("GET", "/api/projects/{id}/items/{item}/history", _no_body, 200,
          VIEWER),
    Route("GET", "/api/projects/{id}/messages", _no_body, 200, VIEWER),
    Route("POST", "/api/projects/{id}/messages",
          lambda f: {"content": "authz [no-changes]"}, 202, EDITOR),
    Route("POST", "/api/projects/{id}/turns/{turn}/retry", _no_body, 202,
          EDITOR),
    Route("GET", "/api/projects/{id}/turns/{turn}", _no_body, 200, VIEWER),
    # The fixture's turn has ended: its stream is gone (410, JSON).
    Route("GET", "/api/projects/{id}/turns/{turn}/events", _no_body, 410,
          VIEWER),
    Route("GET", "/api/projects/{id}/events", _no_body, 200, VIEWER, True),
    Route("GET", "/api/projects/{id}/activity", _no_body, 200, VIEWER),
    Route("POST", "/api/projects/{id}/documents", lambda f: {"kind": "risks"},
          202, EDITOR),
    Route("GET", "/api/projects/{id}/documents/generations/{generation}",
          _no_body, 200, VIEWER),
    # The fixture's generation has ended: its stream is gone (410, JSON).
    Route("GET", "/api/projects/{id}/documents/generations/{generation}/"
          "events", _no_body, 410, VIEWER),
    Route("GET", "/api/projects/{id}/documents", _no_body, 200, VIEWER),
    Route("GET", "/api/projects/{id}/documents/{kind}", _no_body, 200,
          VIEWER),
    Route("GET", "/api/projects/{id}/documents/{kind}/versions", _no_body,
          200, VIEWER),
    Route("GET", "/api/projects/{id}/documents/{kind}/versions/{n}",
          _no_body, 200, VIEWER),
    Route("GET", "/api/projects/{id}/documents/{kind}/diff", _no_body, 200,
          VIEWER, query="from=1&to=1"),
    Route("GET", "/api/projects/{id}/export", _no_body, 200, VIEWER),
    Route("POST", "/api/projects/import",
          lambda f: {"format": "brainstorm.project", "format_version": 1,
                     "project": {"title": "authz"}}, 201, None),
    Route("GET", "/api/agents", _no_body, 200, None),
    Route("GET", "/api/usage", _no_body, 200, None),
]

_users = {}
_users_lock = threading.Lock()


def _account(name):
    """An account of this module, made on first use."""
    with _users_lock:
        if name not in _users:
            _users[name] = register_user("authz-" + name)
        return _users[name]


def _owner_and_other():
    return _account("owner"), _account("other")


def _outsider():
    """The account POST .../members adds: a member of no fixture."""
    return _account("outsider")


def _add_member(token, project_id, user, role):
    resp = api("POST", "/api/projects/%s/members" % project_id, token,
               {"email": user.email, "role": role})
    assert resp.status == 201, "add %s as %s: %r" % (user.email, role, resp)


def _fixture(owner, team=None):
    """A project of owner's with one item, new for every call: some routes
    delete what they are given. team: {role: account} to add as members;
    a second owner (the target of the member routes) is always added."""
    project = create_project(owner.token)
    item = create_item(owner.token, project["id"])
    target = _account("co-owner")
    _add_member(owner.token, project["id"], target, OWNER)
    for role, user in sorted((team or {}).items()):
        _add_member(owner.token, project["id"], user, role)
    return {"project": project, "item": item, "token": owner.token,
            "password": owner.password, "target": target}


def _invitation(fixture):
    """An invitation to the fixture's project, made on first use (written
    directly: the stack under test registers openly, so the API makes
    none)."""
    if "invitation" not in fixture:
        rows = psql("INSERT INTO project_invitations (project_id, email, role)"
                    " VALUES (:'project', :'email', 'viewer') RETURNING id",
                    project=fixture["project"]["id"],
                    email="invited-%s@example.com" % uuid.uuid4().hex)
        fixture["invitation"] = rows[0][0]
    return fixture["invitation"]


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
        assert resp.status == 202, resp
        generation = resp.json()["generation_id"]
        found = {}

        def ended():
            r = api("GET", resp.json()["url"], fixture["token"])
            assert r.status == 200, r
            found["g"] = r.json()
            return found["g"]["status"] in ("done", "failed")
        wait_until("the fixture's document", ended, timeout=60,
                   interval=0.05)
        assert found["g"]["status"] == "done", found
        fixture["document"] = found["g"]["version"]
        fixture["generation"] = generation
    return fixture["document"]


def _path(template, project_id, item_id, turn_id="", fixture=None):
    path = template.replace("{id}", project_id).replace(
        "{item}", item_id).replace("{turn}", turn_id).replace(
        "{kind}", "brief").replace("{n}", "1")
    if fixture is not None and "{generation}" in path:
        path = path.replace("{generation}", fixture.setdefault(
            "generation", str(uuid.uuid4())))
    if fixture is not None and "{user}" in path:
        path = path.replace("{user}", fixture["target"].id)
    if fixture is not None and "{invitation}" in path:
        path = path.replace("{invitation}", _invitation(fixture))
    return path


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
    # Only the owner's own call needs the document to be there (others
    # get a generation id that names nothing: a 401 or 404 either way).
    if ("{kind}" in route.path or "{generation}" in route.path) and \
            token == fixture["token"] and \
            project_id == fixture["project"]["id"]:
        _document(fixture)
    path = _path(route.path, project_id, item_id, turn_id, fixture)
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


def _route_table():
    """{(method, path): role or None} of every guarded row of api_routes.c."""
    with open(ROUTES_C, encoding="utf-8") as f:
        source = f.read()
    rows = re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*([^}]*)\}',
                      source)
    assert rows, "no routes found in %s" % ROUTES_C
    table = {}
    for method, path, flags in rows:
        roles = [role for role in (VIEWER, EDITOR, OWNER)
                 if "ROUTE_" + role.upper() in flags]
        assert len(roles) <= 1, "%s %s names %d roles" % (method, path,
                                                         len(roles))
        if roles or "ROUTE_AUTH" in flags:
            table[(method, path)] = roles[0] if roles else None
    return table


def test_table_covers_every_guarded_route():
    guarded = _route_table()
    table = {(r.method, r.path) for r in ROUTES}
    missing = sorted(set(guarded) - table)
    assert not missing, "routes of api_routes.c without a row in " \
        "test_authz.ROUTES: %s" % missing
    extra = sorted(table - set(guarded))
    assert not extra, "rows for routes that are not guarded: %s" % extra
    wrong = sorted((r.method, r.path, r.role, guarded[(r.method, r.path)])
                   for r in ROUTES if r.role != guarded[(r.method, r.path)])
    assert not wrong, "rows whose role differs from api_routes.c " \
        "(method, path, here, there): %s" % wrong


def test_no_token_401():
    owner, _ = _owner_and_other()
    fixture = _fixture(owner)

    def check(route):
        expect_unauthorized(_call(route, None, fixture), token_given=False)
        # A scheme other than Bearer is no token either.
        turn = _failed_turn(fixture) if "{turn}" in route.path else ""
        resp = api(route.method, _path(route.path, fixture["project"]["id"],
                                       fixture["item"]["id"], turn, fixture),
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
        if route.role is None:
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
        if route.role is None:
            return
        fixture = _fixture(owner)
        expect_error(_call(route, owner.token, fixture, str(uuid.uuid4())),
                     404, "not_found")
    _check_each(check)


def test_malformed_project_id_404():
    owner, _ = _owner_and_other()

    def check(route):
        if route.role is None:
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
        caller = register_user("authz-own") if route.own_account else owner
        fixture = _fixture(caller)
        resp = _call(route, caller.token, fixture)
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


# ---- roles -------------------------------------------------------------------

def _team():
    """The matrix's accounts: the owner of every fixture, a viewer and an
    editor of each, and a stranger (a member of none)."""
    return {OWNER: _account("matrix-owner"), VIEWER: _account("matrix-viewer"),
            EDITOR: _account("matrix-editor"),
            None: _account("matrix-stranger")}


def _matrix_fixture(team):
    return _fixture(team[OWNER], {VIEWER: team[VIEWER],
                                  EDITOR: team[EDITOR]})


def _snapshot(fixture):
    """What a refused call must leave as it was: the project's version,
    the item's history, the members and invitations."""
    owner = fixture["token"]
    project = fixture["project"]["id"]
    resp = api("GET", "/api/projects/%s" % project, owner)
    assert resp.status == 200, "project after a refused call: %r" % resp
    version = resp.json()["version"]
    resp = api("GET", "/api/projects/%s/items/%s/history" % (
        project, fixture["item"]["id"]), owner)
    assert resp.status == 200, "item after a refused call: %r" % resp
    history = [e["action"] for e in resp.json()["events"]]
    resp = api("GET", "/api/projects/%s/members" % project, owner)
    assert resp.status == 200, resp
    members = sorted((m["user_id"], m["role"])
                     for m in resp.json()["members"])
    invitations = sorted(i["id"] for i in resp.json()["invitations"])
    return version, history, members, invitations


def _expected(route, role):
    if role is None:
        return 404, "not_found"
    if RANK[role] < RANK[route.role]:
        return 403, "forbidden"
    return route.status, None


def test_role_matrix():
    """Every project route as a stranger, a viewer, an editor and an
    owner. Reads share one fixture; every call that may change something
    gets a fresh one, and a refused call must leave it as it was."""
    team = _team()
    shared = _matrix_fixture(team)
    _document(shared)

    def check(route):
        if route.role is None:
            return
        for role in ROLES:
            writes = route.method != "GET"
            fixture = _matrix_fixture(team) if writes else shared
            if "{invitation}" in route.path:
                _invitation(fixture)
            if "{turn}" in route.path:
                _failed_turn(fixture)
            before = _snapshot(fixture) if writes else None
            status, code = _expected(route, role)
            resp = _call(route, team[role].token, fixture)
            who = role or "a stranger"
            if code is not None:
                try:
                    err = expect_error(resp, status, code)
                except AssertionError as e:
                    raise AssertionError("as %s: %s" % (who, e))
                if code == "forbidden":
                    assert route.role in err["message"], \
                        "as %s: the message does not name the role: %r" % (
                            who, err)
                if writes:
                    assert _snapshot(fixture) == before, \
                        "as %s: a refused call changed the project" % who
            else:
                assert resp.status == status, "as %s: expected %d, got %r" % (
                    who, status, resp)
    _check_each(check)


def test_roles_in_project_and_list():
    """GET /api/projects lists every project the caller is a member of,
    each with the caller's role; GET of one project says it too."""
    team = _team()
    fixture = _matrix_fixture(team)
    project = fixture["project"]["id"]
    for role in (VIEWER, EDITOR, OWNER):
        resp = api("GET", "/api/projects/%s" % project, team[role].token)
        assert resp.status == 200 and resp.json()["role"] == role, resp
        resp = api("GET", "/api/projects?limit=100", team[role].token)
        assert resp.status == 200, resp
        listed = {p["id"]: p["role"] for p in resp.json()["projects"]}
        assert listed.get(project) == role, (role, listed.get(project))
    resp = api("GET", "/api/projects?limit=100", team[None].token)
    assert project not in [p["id"] for p in resp.json()["projects"]], resp
