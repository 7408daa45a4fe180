"""The read paths of issue #13: the project and item lists carry the guard
in their own statement and write their JSON without json-c, and item
counts live on the project row (migration 0012). Same answers as the
single-object routes, same refusals, counts right under concurrent writers
and deletes."""

import threading
import uuid

from helpers import api, brainstormctl, create_item, create_project, \
    expect_error, expect_invalid, expect_unauthorized, logout, \
    memberships_out_of_step, psql, register_user

STATES = ("decided", "exploring", "parked", "rejected")


def _counts_in_db(project_id):
    """{state: n} counted from the items table itself."""
    rows = psql("SELECT state, count(*) FROM items WHERE project_id = :'p'"
                " GROUP BY state", p=project_id)
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: int(n) for state, n in rows})
    return counts


def _listed(token, project_id):
    resp = api("GET", "/api/projects?limit=100", token)
    assert resp.status == 200, resp
    for project in resp.json()["projects"]:
        if project["id"] == project_id:
            return project
    raise AssertionError("project %s not listed" % project_id)


def _pages(token, path, key):
    """The list at path read two at a time, cursor to cursor."""
    paged, cursor = [], ""
    while True:
        page = api("GET", "%s?limit=2&cursor=%s" % (path, cursor),
                   token).json()
        assert len(page[key]) <= 2, page
        paged += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return paged


def test_lists_answer_as_the_single_routes():
    """Each listed project is the object GET /api/projects/{id} answers,
    members in the same order; each listed item is the one its last write
    answered. Text that needs escaping comes out the same both ways."""
    user = register_user("reads")
    odd = 'quote " backslash \\ slash / tab \t newline \n \u00e9 \u20ac \U0001f600'
    # A title is one line (test_person_text): the same without its breaks.
    project = create_project(user.token, title=" ".join(odd.split())[:60],
                             description=odd)
    items = [create_item(user.token, project["id"], text=odd + state,
                         state=state, user_quote="said: " + odd)
             for state in STATES]
    resp = api("PATCH", "/api/projects/%s/items/%s" % (project["id"],
                                                        items[1]["id"]),
               user.token, {"state": "decided", "version": 1})
    assert resp.status == 200, resp
    items[1] = resp.json()

    got = api("GET", "/api/projects/%s" % project["id"], user.token).json()
    listed = _listed(user.token, project["id"])
    assert listed == got, (listed, got)
    assert list(listed) == list(got), (list(listed), list(got))
    assert listed["item_counts"] == {"decided": 2, "exploring": 0,
                                     "parked": 1, "rejected": 1}, listed

    resp = api("GET", "/api/projects/%s/items" % project["id"], user.token)
    assert resp.status == 200, resp
    assert resp.header("Content-Type").startswith("application/json"), resp
    by_id = {item["id"]: item for item in resp.json()["items"]}
    for item in items:
        assert by_id[item["id"]] == item, (by_id[item["id"]], item)
        assert list(by_id[item["id"]]) == list(item)


def test_empty_lists():
    user = register_user("reads")
    resp = api("GET", "/api/projects", user.token)
    assert resp.status == 200, resp
    assert resp.json() == {"projects": [], "next_cursor": None}, resp
    project = create_project(user.token)
    resp = api("GET", "/api/projects/%s/items" % project["id"], user.token)
    assert resp.status == 200, resp
    assert resp.json() == {"items": [], "next_cursor": None}, resp
    resp = api("GET", "/api/projects/%s/items?state=parked" % project["id"],
               user.token)
    assert resp.json() == {"items": [], "next_cursor": None}, resp


def test_disabled_user_with_projects_is_refused():
    """The lists' own statement refuses a disabled owner: no projects, no
    items, a 401 (before a 422 for a bad parameter)."""
    user = register_user("reads-disabled")
    project = create_project(user.token)
    create_item(user.token, project["id"])
    other = register_user("reads-other")
    assert len(api("GET", "/api/projects", user.token).json()["projects"]) == 1

    done = brainstormctl("user", "disable", user.email)
    assert done.returncode == 0, done.stderr
    try:
        for path in ("/api/projects", "/api/projects?limit=0",
                     "/api/projects?cursor=zzz",
                     "/api/projects/%s/items" % project["id"],
                     "/api/projects/%s/items?state=nope" % project["id"]):
            expect_unauthorized(api("GET", path, user.token), token_given=True)
        # Another user: the project does not exist for them.
        for path in ("/api/projects/%s/items" % project["id"],
                     "/api/projects/%s/items?state=nope" % project["id"]):
            expect_error(api("GET", path, other.token), 404, "not_found")
    finally:
        brainstormctl("user", "enable", user.email)


def test_counts_follow_every_change():
    user = register_user("reads")
    project = create_project(user.token)
    pid = project["id"]
    made = [create_item(user.token, pid, state=STATES[i % 4])
            for i in range(9)]
    for item in made[:3]:
        resp = api("PATCH", "/api/projects/%s/items/%s" % (pid, item["id"]),
                   user.token, {"state": "rejected", "version": 1})
        assert resp.status == 200, resp
    # A change of text alone moves no count.
    resp = api("PATCH", "/api/projects/%s/items/%s" % (pid, made[4]["id"]),
               user.token, {"text": "new words", "version": 1})
    assert resp.status == 200, resp
    for item in made[5:7]:
        resp = api("DELETE", "/api/projects/%s/items/%s" % (pid, item["id"]),
                   user.token)
        assert resp.status == 204, resp
    want = _counts_in_db(pid)
    assert sum(want.values()) == 7, want
    assert _listed(user.token, pid)["item_counts"] == want
    got = api("GET", "/api/projects/%s" % pid, user.token).json()
    assert got["item_counts"] == want, got


def test_counts_under_concurrent_writers_and_delete():
    """Writers on one project at once (creating, moving, deleting items)
    never fail for each other (no deadlock between an item's lock and the
    project row's), and the counts on the row equal the items. Then the
    project is deleted while writers run: each write succeeds or finds no
    project, none fails otherwise."""
    user = register_user("reads-concurrent")
    pid = create_project(user.token)["id"]
    seed = [create_item(user.token, pid, state="exploring") for _ in range(8)]
    failures = []
    lock = threading.Lock()

    def writer(n, rounds, allow_gone):
        for r in range(rounds):
            calls = []
            created = api("POST", "/api/projects/%s/items" % pid, user.token,
                          {"text": "w%d-%d" % (n, r),
                           "state": STATES[(n + r) % 4]})
            calls.append(created)
            target = seed[(n + r) % len(seed)]
            for _ in range(3):
                current = api("GET", "/api/projects/%s/items" % pid,
                              user.token)
                calls.append(current)
                if current.status != 200:
                    break
                mine = [i for i in current.json()["items"]
                        if i["id"] == target["id"]]
                if not mine:
                    break
                moved = api("PATCH", "/api/projects/%s/items/%s" % (
                    pid, target["id"]), user.token,
                    {"state": STATES[(n + r + 1) % 4],
                     "version": mine[0]["version"]})
                calls.append(moved)
                if moved.status != 409:
                    break
            if created.status == 201 and r % 2 == 0:
                calls.append(api("DELETE", "/api/projects/%s/items/%s" % (
                    pid, created.json()["id"]), user.token))
            ok = (200, 201, 204, 409) + ((404,) if allow_gone else ())
            bad = [c for c in calls if c.status not in ok]
            if bad:
                with lock:
                    failures.extend(bad)

    threads = [threading.Thread(target=writer, args=(n, 6, False))
               for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    want = _counts_in_db(pid)
    assert _listed(user.token, pid)["item_counts"] == want, want
    rows = psql("SELECT decided_count, exploring_count, parked_count,"
                " rejected_count FROM projects WHERE id = :'p'", p=pid)
    assert rows == [[str(want[s]) for s in STATES]], (rows, want)

    threads = [threading.Thread(target=writer, args=(n, 4, True))
               for n in range(4)]
    for t in threads:
        t.start()
    resp = api("DELETE", "/api/projects/%s" % pid, user.token)
    for t in threads:
        t.join()
    assert resp.status == 204, resp
    assert not failures, failures[:3]
    assert psql("SELECT count(*) FROM items WHERE project_id = :'p'",
                p=pid) == [["0"]]


def test_guard_of_unknown_project_and_user():
    user = register_user("reads")
    expect_error(api("GET", "/api/projects/%s/items" % uuid.uuid4(),
                     user.token), 404, "not_found")


def _add_member(token, project_id, email, role):
    resp = api("POST", "/api/projects/%s/members" % project_id, token,
               {"email": email, "role": role})
    assert resp.status == 201, resp


def test_ended_session_is_refused_by_the_lists():
    """The lists' own statement checks the token's session as the guard
    does: after a logout its access token lists nothing, a 401 (before a
    422 for a bad parameter), though the user is enabled."""
    user = register_user("reads-logout")
    project = create_project(user.token)
    create_item(user.token, project["id"])
    assert api("GET", "/api/projects", user.token).status == 200
    assert logout(user.refresh_token).status == 204
    for path in ("/api/projects", "/api/projects?limit=0",
                 "/api/projects/%s/items" % project["id"],
                 "/api/projects/%s/items?limit=0" % project["id"],
                 "/api/projects/%s/items?cursor=zzz" % project["id"]):
        expect_unauthorized(api("GET", path, user.token), token_given=True)


def test_items_by_membership():
    """A viewer lists the board (with its own role on the project list);
    a non-member, and a member removed, find no project: a 404, also for a
    bad parameter, so nobody learns which ids exist."""
    owner = register_user("reads-owner")
    viewer = register_user("reads-viewer")
    stranger = register_user("reads-stranger")
    pid = create_project(owner.token)["id"]
    made = create_item(owner.token, pid)
    _add_member(owner.token, pid, viewer.email, "viewer")

    resp = api("GET", "/api/projects/%s/items" % pid, viewer.token)
    assert resp.status == 200, resp
    assert [i["id"] for i in resp.json()["items"]] == [made["id"]], resp
    listed = api("GET", "/api/projects", viewer.token).json()["projects"]
    assert [(p["id"], p["role"]) for p in listed] == [(pid, "viewer")]
    expect_invalid(api("GET", "/api/projects/%s/items?state=nope" % pid,
                       viewer.token), "state")

    for path in ("/api/projects/%s/items" % pid,
                 "/api/projects/%s/items?state=nope" % pid,
                 "/api/projects/%s/items?limit=5000" % pid):
        expect_error(api("GET", path, stranger.token), 404, "not_found")
    assert api("GET", "/api/projects", stranger.token).json() == \
        {"projects": [], "next_cursor": None}

    resp = api("DELETE", "/api/projects/%s/members/%s" % (pid, viewer.id),
               owner.token)
    assert resp.status == 204, resp
    expect_error(api("GET", "/api/projects/%s/items" % pid, viewer.token),
                 404, "not_found")
    assert api("GET", "/api/projects", viewer.token).json()["projects"] == []


def test_pages_join_into_the_whole_list():
    """Pages of the written lists, cursor to cursor, are the whole list in
    order, the same objects as one large page."""
    user = register_user("reads-pages")
    pids = [create_project(user.token)["id"] for _ in range(5)]
    for i, state in enumerate(STATES * 2 + ("decided",)):
        create_item(user.token, pids[0], text="item %d" % i, state=state)

    whole = api("GET", "/api/projects/%s/items?limit=1000" % pids[0],
                user.token).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 9, whole
    assert _pages(user.token, "/api/projects/%s/items" % pids[0],
                  "items") == whole["items"]
    state_page = api("GET", "/api/projects/%s/items?state=decided&limit=2"
                     % pids[0], user.token).json()
    assert state_page["items"] == [i for i in whole["items"]
                                   if i["state"] == "decided"][:2]
    assert state_page["next_cursor"] is not None

    whole = api("GET", "/api/projects?limit=100", user.token).json()
    assert [p["id"] for p in whole["projects"]] == pids[::-1], whole
    assert _pages(user.token, "/api/projects", "projects") == \
        whole["projects"]


def test_a_members_list_is_in_the_projects_order():
    """The list is newest project first, whenever the caller joined each:
    projects shared with them long after they were made sit among their
    own by creation time, page after page. Every way a membership is
    written (a creation, an import in the project's own statement, an
    owner adding a member, a project inserted without one) copies its
    project's created_at, from which the list reads its order."""
    owner, member = register_user("order-owner"), register_user("order-member")
    shared = [create_project(owner.token, title="shared %d" % i)["id"]
              for i in range(3)]
    own = create_project(member.token, title="own")["id"]
    # Shared in the reverse of their creation, after the member's own.
    for project in reversed(shared):
        resp = api("POST", "/api/projects/%s/members" % project, owner.token,
                   {"email": member.email, "role": "viewer"})
        assert resp.status == 201, resp
    # An import keeps the exported project's created_at (in milliseconds).
    resp = api("GET", "/api/projects/%s/export?format=json" % own,
               member.token)
    assert resp.status == 200, resp
    resp = api("POST", "/api/projects/import", member.token, resp.json())
    assert resp.status == 201, resp
    imported = resp.json()["id"]
    # The release before teams inserted projects without a membership.
    legacy = psql("INSERT INTO projects (owner_id, title) VALUES (:'u',"
                  " 'legacy') RETURNING id", u=member.id)[0][0]

    made = {row[0]: row[1] for row in psql(
        "SELECT id, to_char(created_at AT TIME ZONE 'UTC',"
        " 'YYYYMMDDHH24MISSUS') FROM projects WHERE id IN (:'a', :'b', :'c',"
        " :'d', :'e', :'f')", a=shared[0], b=shared[1], c=shared[2], d=own,
        e=imported, f=legacy)}
    # The file's time (to the millisecond), not the import's.
    assert made[imported][:17] == made[own][:17] < made[legacy], made
    expected = sorted(made, key=lambda p: (made[p], uuid.UUID(p)),
                      reverse=True)
    whole = api("GET", "/api/projects?limit=100", member.token).json()
    assert [p["id"] for p in whole["projects"]] == expected, (whole, made)
    paged = _pages(member.token, "/api/projects", "projects")
    assert paged == whole["projects"]
    assert {p["id"]: p["role"] for p in paged} == dict(
        [(p, "viewer") for p in shared]
        + [(p, "owner") for p in (own, imported, legacy)])
    assert memberships_out_of_step() == []
