"""The read paths of issue #13: the project and item lists carry the guard
in their own statement and write their JSON without json-c, and item
counts live on the project row (migration 0007). Same answers as the
single-object routes, same refusals, counts right under concurrent writers
and deletes."""

import threading
import uuid

from helpers import api, brainstormctl, create_item, create_project, \
    expect_error, expect_unauthorized, psql, register_user

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


def test_lists_answer_as_the_single_routes():
    """Each listed project is the object GET /api/projects/{id} answers,
    members in the same order; each listed item is the one its last write
    answered. Text that needs escaping comes out the same both ways."""
    user = register_user("reads")
    odd = 'quote " backslash \\ slash / tab \t newline \n \u00e9 \u20ac \U0001f600'
    project = create_project(user.token, title=odd[:60], description=odd)
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
    assert resp.json() == {"items": []}, resp
    resp = api("GET", "/api/projects/%s/items?state=parked" % project["id"],
               user.token)
    assert resp.json() == {"items": []}, resp


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
