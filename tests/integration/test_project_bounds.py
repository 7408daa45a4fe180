"""An account owns at most PROJECTS_MAX_PER_USER projects, through nginx:
creating or importing one more answers 409 projects_limit and creates
nothing, projects shared with the account by others do not count, deleting
one makes room, and creations at once cannot pass the cap.

Accounts are filled up to the cap with psql, not project by project: the
behaviour under test is what happens at the cap."""

from helpers import api, create_project, expect_error, psql, \
    race_behind_lock, register_user, worker_env


def _cap():
    return int(worker_env().get("PROJECTS_MAX_PER_USER") or 1000)


def _fill(user, n):
    """n projects of user's, straight into the tables."""
    if n <= 0:
        return
    psql("WITH p AS (INSERT INTO projects (owner_id, title)"
         " SELECT :'uid'::uuid, 'filler ' || g FROM generate_series(1, :n) g"
         " RETURNING id)"
         " INSERT INTO project_members (project_id, user_id, role, added_by)"
         " SELECT id, :'uid'::uuid, 'owner', :'uid'::uuid FROM p",
         uid=user.id, n=n)


def _owned(user):
    return int(psql("SELECT count(*) FROM projects WHERE owner_id = :'uid'",
                    uid=user.id)[0][0])


def _limit(resp):
    err = expect_error(resp, 409, "projects_limit")
    assert "delete" in err["message"], err
    return err


def test_creating_and_importing_past_the_cap_is_409():
    cap = _cap()
    user = register_user("projects-cap")
    _fill(user, cap - 1)
    last = create_project(user.token, "the last one that fits")
    _limit(api("POST", "/api/projects", user.token, {"title": "one too many"}))
    assert _owned(user) == cap
    resp = api("GET", "/api/projects/%s/export" % last["id"], user.token)
    assert resp.status == 200, resp
    _limit(api("POST", "/api/projects/import", user.token, resp.json()))
    assert _owned(user) == cap
    # A removed project makes room again.
    resp = api("DELETE", "/api/projects/" + last["id"], user.token)
    assert resp.status == 204, resp
    create_project(user.token, "room again")
    assert _owned(user) == cap


def test_a_deletion_makes_room_for_an_import():
    cap = _cap()
    user = register_user("projects-cap")
    _fill(user, cap - 1)
    last = create_project(user.token, "exported")
    doc = api("GET", "/api/projects/%s/export" % last["id"], user.token).json()
    resp = api("DELETE", "/api/projects/" + last["id"], user.token)
    assert resp.status == 204, resp
    resp = api("POST", "/api/projects/import", user.token, doc)
    assert resp.status == 201, resp
    assert resp.json()["title"] == "exported", resp
    assert _owned(user) == cap


def test_projects_shared_by_others_do_not_count():
    cap = _cap()
    owner = register_user("projects-cap")
    user = register_user("projects-cap")
    shared = create_project(owner.token, "shared with the user")
    resp = api("POST", "/api/projects/%s/members" % shared["id"], owner.token,
               {"email": user.email, "role": "editor"})
    assert resp.status == 201, resp
    _fill(user, cap - 1)
    create_project(user.token, "their own last one")
    assert _owned(user) == cap
    _limit(api("POST", "/api/projects", user.token, {"title": "one too many"}))


def test_creations_at_once_do_not_pass_the_cap():
    """Ten creations held at the same point, then let go together: a
    transaction of the test's own locks the account's row, so each
    creation waits either for its turn (the cap's lock) or, had it counted
    without one, at its insert's foreign-key check, after counting."""
    cap = _cap()
    user = register_user("projects-cap")
    _fill(user, cap - 2)
    statuses = race_behind_lock(
        "SELECT 1 FROM users WHERE id = '%s' FOR UPDATE" % user.id,
        "%%%s%%FOR UPDATE%%" % user.id, "%INSERT INTO projects%",
        lambda n: api("POST", "/api/projects", user.token,
                      {"title": "racer %d" % n}, timeout=120))
    assert sorted(statuses) == [201] * 2 + [409] * 8, statuses
    assert _owned(user) == cap
