"""Teams and accounts: members and their roles, invitations under each
REGISTRATION policy, the lost-access event, changing the password (every
other session ends), deleting the account, brainstormctl user
reset-password, and the monthly token limit (USER_MONTHLY_TOKEN_LIMIT).

The stack under test registers openly with no token limit; the policies
and the limit are tested on one more worker with its own environment,
reached over FastCGI like test_models does."""

import json
import subprocess
import uuid

from helpers import Worker, api, auth_post, bearer, \
    brainstormctl, create_item, create_project, env, expect_error, \
    expect_invalid, expect_unauthorized, jwt_claims, login, \
    memberships_out_of_step, new_email, new_password, psql, refresh, \
    register_user, wait_until, worker_env
from test_turns import EventStream as LiveStream


def _members(token, project):
    resp = api("GET", "/api/projects/%s/members" % project, token)
    assert resp.status == 200, resp
    return resp.json()


def _add(token, project, email, role):
    return api("POST", "/api/projects/%s/members" % project, token,
               {"email": email, "role": role})


# ---- members -----------------------------------------------------------------

def test_members_add_change_remove():
    owner = register_user("team-owner")
    editor = register_user("team-editor")
    project = create_project(owner.token)["id"]

    doc = _members(owner.token, project)
    assert doc["role"] == "owner", doc
    assert [(m["user_id"], m["role"]) for m in doc["members"]] == \
        [(owner.id, "owner")], doc
    assert doc["invitations"] == [], doc

    # The email as the person typed it, in any case.
    resp = _add(owner.token, project, editor.email.upper(), "editor")
    assert resp.status == 201, resp
    member = resp.json()["member"]
    assert member["user_id"] == editor.id and member["role"] == "editor", member
    assert member["email"] == editor.email and member["added_by"] == owner.id
    expect_error(_add(owner.token, project, editor.email, "viewer"), 409,
                 "already_member")
    expect_error(_add(owner.token, project, owner.email, "viewer"), 409,
                 "already_member")
    # Nobody has this email, and the stack registers openly: no invitation.
    err = expect_error(_add(owner.token, project, new_email("nobody"),
                            "viewer"), 404, "account_not_found")
    assert "sign up" in err["message"], err
    expect_invalid(_add(owner.token, project, "not an email", "viewer"),
                   "email")
    expect_invalid(_add(owner.token, project, editor.email, "admin"), "role")
    expect_invalid(api("POST", "/api/projects/%s/members" % project,
                       owner.token, {"email": editor.email}), "role")

    # The editor sees the project, its role and the team.
    resp = api("GET", "/api/projects/%s" % project, editor.token)
    assert resp.status == 200 and resp.json()["role"] == "editor", resp
    doc = _members(editor.token, project)
    assert doc["role"] == "editor", doc
    assert {m["user_id"] for m in doc["members"]} == {owner.id, editor.id}

    # The last owner can be neither demoted nor removed, nor leave.
    path = "/api/projects/%s/members/%s" % (project, owner.id)
    expect_error(api("PATCH", path, owner.token, {"role": "editor"}), 409,
                 "last_owner")
    expect_error(api("DELETE", path, owner.token), 409, "last_owner")
    expect_error(api("DELETE", "/api/projects/%s/membership" % project,
                     owner.token), 409, "last_owner")
    # With a second owner, the first may step down.
    resp = api("PATCH", "/api/projects/%s/members/%s" % (project, editor.id),
               owner.token, {"role": "owner"})
    assert resp.status == 200 and resp.json()["member"]["role"] == "owner"
    resp = api("PATCH", path, owner.token, {"role": "viewer"})
    assert resp.status == 200 and resp.json()["member"]["role"] == "viewer"
    expect_error(api("PATCH", path, owner.token, {"role": "owner"}), 403,
                 "forbidden")
    # Unknown members and malformed ids.
    for bad in (str(uuid.uuid4()), "not-a-uuid"):
        expect_error(api("PATCH", "/api/projects/%s/members/%s" % (
            project, bad), editor.token, {"role": "viewer"}), 404,
            "not_found")
        expect_error(api("DELETE", "/api/projects/%s/members/%s" % (
            project, bad), editor.token), 404, "not_found")
    # Removed: the project is gone for them, and from their list.
    resp = api("DELETE", path, editor.token)
    assert resp.status == 204, resp
    expect_error(api("GET", "/api/projects/%s" % project, owner.token), 404,
                 "not_found")
    resp = api("GET", "/api/projects?limit=100", owner.token)
    assert project not in [p["id"] for p in resp.json()["projects"]], resp
    # A member may leave.
    _add(editor.token, project, owner.email, "viewer")
    resp = api("DELETE", "/api/projects/%s/membership" % project, owner.token)
    assert resp.status == 204, resp
    expect_error(api("GET", "/api/projects/%s" % project, owner.token), 404,
                 "not_found")


def test_history_says_whose_change_each_was():
    """On a board the team shares, each person's change names its person
    (display name, else email); the agents' and imported ones name none."""
    owner = register_user("team-history", display_name="Ann Owner")
    editor = register_user("team-history")
    project = create_project(owner.token)["id"]
    assert _add(owner.token, project, editor.email, "editor").status == 201
    item = create_item(owner.token, project, "shared card")
    resp = api("PATCH", "/api/projects/%s/items/%s" % (project, item["id"]),
               editor.token, {"state": "decided", "version": 1})
    assert resp.status == 200, resp
    for reader in (owner, editor):
        resp = api("GET", "/api/projects/%s/items/%s/history" % (
            project, item["id"]), reader.token)
        assert resp.status == 200, resp
        events = resp.json()["events"]
        assert [(e["action"], e["actor"], e["actor_user_id"],
                 e["actor_name"]) for e in events] == [
            ("created", "user", owner.id, "Ann Owner"),
            ("moved", "user", editor.id, editor.email)], events


def test_projects_made_without_a_membership_get_their_owner():
    """The release before teams inserts projects with owner_id only (during
    a rolling update): migration 0009's trigger makes the owner a member."""
    owner = register_user("team-legacy")
    rows = psql("INSERT INTO projects (owner_id, title) VALUES (:'owner',"
                " 'made by the previous release') RETURNING id",
                owner=owner.id)
    project = rows[0][0]
    resp = api("GET", "/api/projects/%s" % project, owner.token)
    assert resp.status == 200 and resp.json()["role"] == "owner", resp
    assert [(m["user_id"], m["role"]) for m in _members(
        owner.token, project)["members"]] == [(owner.id, "owner")]


def test_members_are_bounded():
    """PROJECT_MEMBERS_MAX (default 100) members and invitations together."""
    limit = int(worker_env().get("PROJECT_MEMBERS_MAX") or 100)
    owner = register_user("team-bounded")
    project = create_project(owner.token)["id"]
    # Fill the project directly: a hundred registrations would take long.
    psql("INSERT INTO project_invitations (project_id, email, role)"
         " SELECT :'project', 'filler-' || g || '@example.com', 'viewer'"
         " FROM generate_series(1, :count) g", project=project,
         count=str(limit - 1))
    other = register_user("team-bounded-extra")
    err = expect_error(_add(owner.token, project, other.email, "viewer"), 422,
                       "member_limit")
    assert str(limit) in err["message"], err
    # One invitation fewer, and the member fits.
    invitation = _members(owner.token, project)["invitations"][0]["id"]
    resp = api("DELETE", "/api/projects/%s/invitations/%s" % (
        project, invitation), owner.token)
    assert resp.status == 204, resp
    expect_error(api("DELETE", "/api/projects/%s/invitations/%s" % (
        project, invitation), owner.token), 404, "not_found")
    assert _add(owner.token, project, other.email, "viewer").status == 201


def test_viewer_reads_but_does_not_write():
    owner = register_user("team-w-owner")
    viewer = register_user("team-w-viewer")
    project = create_project(owner.token)["id"]
    item = create_item(owner.token, project)
    assert _add(owner.token, project, viewer.email, "viewer").status == 201
    resp = api("GET", "/api/projects/%s/items" % project, viewer.token)
    assert resp.status == 200, resp
    err = expect_error(api("PATCH", "/api/projects/%s/items/%s" % (
        project, item["id"]), viewer.token, {"text": "no", "version": 1}),
        403, "forbidden")
    assert "editor" in err["message"] and "viewer" in err["message"], err
    expect_error(api("POST", "/api/projects/%s/messages" % project,
                     viewer.token, {"content": "hello"}), 403, "forbidden")


# ---- lost access ---------------------------------------------------------------

class EventStream:
    """GET .../events through nginx (held by nchan), read as it comes."""

    def __init__(self, token, project):
        self.stream = LiveStream("/api/projects/%s/events" % project,
                                 bearer(token))
        assert self.stream.status == 200, self.stream.status

    def wait_for(self, name):
        """The data of the next event called name (JSON)."""
        return json.loads(self.stream.wait_for(name, timeout=30)[-1][2])

    def wait_end(self):
        """Until nchan ends the stream."""
        self.stream.wait_end(timeout=30)

    def close(self):
        self.stream.close()


def test_removed_member_and_deleted_project_revoke_access():
    owner = register_user("team-ev-owner")
    viewer = register_user("team-ev-viewer")
    project = create_project(owner.token)["id"]
    assert _add(owner.token, project, viewer.email, "viewer").status == 201
    stream = EventStream(viewer.token, project)
    try:
        resp = api("DELETE", "/api/projects/%s/members/%s" % (
            project, viewer.id), owner.token)
        assert resp.status == 204, resp
        data = stream.wait_for("access.revoked")
        assert data == {"user_id": viewer.id, "reason": "member_removed"}, data
        stream.wait_end()       # and the removed member's stream ends
    finally:
        stream.close()
    stream = EventStream(owner.token, project)
    try:
        assert api("DELETE", "/api/projects/%s" % project,
                   owner.token).status == 204
        data = stream.wait_for("access.revoked")
        assert data == {"user_id": None, "reason": "project_deleted"}, data
        stream.wait_end()
    finally:
        stream.close()


def test_a_role_change_reaches_that_members_open_page():
    """PATCH of a member's role: member.role_changed {user_id, role} on the
    member's own channel, so their open project page shows the new role;
    the other members' streams do not get it."""
    owner = register_user("team-rc-owner")
    viewer = register_user("team-rc-viewer")
    project = create_project(owner.token)["id"]
    assert _add(owner.token, project, viewer.email, "viewer").status == 201
    mine = EventStream(viewer.token, project)
    theirs = EventStream(owner.token, project)
    try:
        resp = api("PATCH", "/api/projects/%s/members/%s" % (
            project, viewer.id), owner.token, {"role": "editor"})
        assert resp.status == 200, resp
        data = mine.wait_for("member.role_changed")
        assert data == {"user_id": viewer.id, "role": "editor"}, data
        # Published before this item: the owner's stream would have it first.
        resp = api("POST", "/api/projects/%s/items" % project, owner.token,
                   {"text": "After the change", "state": "exploring"})
        assert resp.status == 201, resp
        seen = theirs.stream.wait_for("items.changed", timeout=30)
        assert "member.role_changed" not in [e[1] for e in seen], seen
    finally:
        mine.close()
        theirs.close()
    resp = api("GET", "/api/projects/%s" % project, viewer.token)
    assert resp.json()["role"] == "editor", resp


def test_disabled_and_deleted_accounts_revoke_access():
    """brainstormctl user disable (through Redis, from another process) and
    DELETE /api/auth/me tell every project the account was a member of."""
    owner = register_user("team-ev2-owner")
    disabled = register_user("team-ev2-disabled")
    leaving = register_user("team-ev2-leaving")
    project = create_project(owner.token)["id"]
    for user in (disabled, leaving):
        assert _add(owner.token, project, user.email, "editor").status == 201
    stream = EventStream(owner.token, project)
    try:
        done = brainstormctl("user", "disable", disabled.email)
        assert done.returncode == 0, done.stderr
        data = stream.wait_for("access.revoked")
        assert data == {"user_id": disabled.id, "reason": "user_disabled"}, \
            data
        resp = api("DELETE", "/api/auth/me", leaving.token,
                   {"password": leaving.password})
        assert resp.status == 204, resp
        data = stream.wait_for("access.revoked")
        assert data == {"user_id": leaving.id, "reason": "user_deleted"}, data
    finally:
        stream.close()
    expect_unauthorized(api("GET", "/api/projects/%s" % project,
                            disabled.token), token_given=True)


# ---- accounts ------------------------------------------------------------------

def test_display_name_change():
    user = register_user("acct-name", display_name="Ada")
    resp = api("PATCH", "/api/auth/me", user.token, {"display_name": "Ada L."})
    assert resp.status == 200, resp
    assert resp.json()["user"]["display_name"] == "Ada L.", resp
    resp = api("GET", "/api/auth/me", user.token)
    assert resp.json()["user"]["display_name"] == "Ada L.", resp
    expect_invalid(api("PATCH", "/api/auth/me", user.token,
                       {"display_name": "x" * 101}), "display_name")
    expect_invalid(api("PATCH", "/api/auth/me", user.token, {}),
                   "display_name")
    expect_invalid(api("PATCH", "/api/auth/me", user.token,
                       {"display_name": "Ada", "email": "x@example.com"}),
                   "email")


def test_password_change_ends_other_sessions():
    user = register_user("acct-pw")
    other = login(user.email, user.password)
    assert other.status == 200, other
    other = other.json()
    new = new_password()
    err = expect_error(api("POST", "/api/auth/password", user.token,
                           {"current_password": "not it at all",
                            "new_password": new}), 403, "wrong_password")
    assert "password" in err["message"], err
    expect_invalid(api("POST", "/api/auth/password", user.token,
                       {"current_password": user.password,
                        "new_password": "short"}), "new_password")
    resp = api("POST", "/api/auth/password", user.token,
               {"current_password": user.password, "new_password": new})
    assert resp.status == 204, resp
    # This session goes on: its access token and its refresh token.
    assert api("GET", "/api/auth/me", user.token).status == 200
    resp = refresh(user.refresh_token)
    assert resp.status == 200, resp
    assert jwt_claims(resp.json()["access_token"])["sid"] == \
        jwt_claims(user.token)["sid"]
    # The other ended: its access token at once, its refresh token too.
    expect_unauthorized(api("GET", "/api/auth/me", other["access_token"]),
                        token_given=True)
    expect_error(refresh(other["refresh_token"]), 401,
                 "invalid_refresh_token")
    # Only the new password signs in.
    expect_error(login(user.email, user.password), 401, "invalid_credentials")
    assert login(user.email, new).status == 200


def test_account_deletion():
    user = register_user("acct-del")
    partner = register_user("acct-del-partner")
    own = create_project(user.token)["id"]           # only owner: goes
    shared = create_project(user.token)["id"]        # another owner: stays
    assert _add(user.token, shared, partner.email, "owner").status == 201
    theirs = create_project(partner.token)["id"]     # a member: leaves
    assert _add(partner.token, theirs, user.email, "editor").status == 201
    create_item(user.token, own)

    err = expect_error(api("DELETE", "/api/auth/me", user.token,
                           {"password": "not the password"}), 403,
                       "wrong_password")
    assert "password" in err["message"], err
    expect_invalid(api("DELETE", "/api/auth/me", user.token, {}), "password")
    assert api("GET", "/api/auth/me", user.token).status == 200

    resp = api("DELETE", "/api/auth/me", user.token,
               {"password": user.password})
    assert resp.status == 204, resp
    expect_unauthorized(api("GET", "/api/auth/me", user.token),
                        token_given=True)
    expect_error(login(user.email, user.password), 401, "invalid_credentials")
    assert psql("SELECT count(*) FROM projects WHERE id = :'id'",
                id=own) == [["0"]]
    resp = api("GET", "/api/projects/%s" % shared, partner.token)
    assert resp.status == 200 and resp.json()["role"] == "owner", resp
    assert [m["user_id"] for m in _members(partner.token, shared)[
        "members"]] == [partner.id]
    assert [m["user_id"] for m in _members(partner.token, theirs)[
        "members"]] == [partner.id]
    assert psql("SELECT owner_id FROM projects WHERE id = :'id'",
                id=shared) == [[partner.id]]
    # The email is free again.
    resp = auth_post("/api/auth/register",
                     {"email": user.email, "password": new_password()})
    assert resp.status == 201, resp


def test_ctl_reset_password_ends_every_session():
    user = register_user("acct-reset")
    second = login(user.email, user.password).json()
    new = new_password()
    done = brainstormctl("user", "reset-password", user.email.upper(),
                         stdin=new + "\n")
    assert done.returncode == 0, done.stderr
    assert "every session ended" in done.stdout, done.stdout
    for token in (user.token, second["access_token"]):
        expect_unauthorized(api("GET", "/api/auth/me", token),
                            token_given=True)
    for token in (user.refresh_token, second["refresh_token"]):
        expect_error(refresh(token), 401, "invalid_refresh_token")
    expect_error(login(user.email, user.password), 401, "invalid_credentials")
    assert login(user.email, new).status == 200
    # Refusals: no such account, a short password, no password.
    done = brainstormctl("user", "reset-password", new_email("ghost"),
                         stdin="a long enough password\n")
    assert done.returncode == 1 and "no account" in done.stderr, done.stderr
    done = brainstormctl("user", "reset-password", user.email, stdin="short\n")
    assert done.returncode == 1 and "10 to 1024" in done.stderr, done.stderr
    done = brainstormctl("user", "reset-password", user.email)
    assert done.returncode == 1, done.stderr
    done = brainstormctl("user", "reset-password")
    assert done.returncode == 2, done.stderr
    assert login(user.email, new).status == 200


# ---- a worker with its own policy ------------------------------------------------

def _register(worker, email):
    return worker.call("POST", "/api/auth/register",
                       {"email": email, "password": new_password()})


def test_registration_invite_only():
    owner = register_user("invite-owner")
    project = create_project(owner.token)["id"]
    worker = Worker("invite", {"REGISTRATION": "invite"})
    try:
        stranger = new_email("uninvited")
        status, doc = _register(worker, stranger)
        assert status == 403, (status, doc)
        assert doc["error"]["code"] == "registration_invite_only", doc
        # An owner's invitation of an email without an account.
        invited = new_email("Invited").replace("invited", "InViTeD")
        status, doc = worker.call("POST", "/api/projects/%s/members" % project,
                                  {"email": invited, "role": "editor"},
                                  owner.token)
        assert status == 201, (status, doc)
        invitation = doc["invitation"]
        assert invitation["email"] == invited.lower(), invitation
        assert invitation["role"] == "editor", invitation
        status, doc = worker.call("POST", "/api/projects/%s/members" % project,
                                  {"email": invited, "role": "viewer"},
                                  owner.token)
        assert status == 409 and doc["error"]["code"] == "already_member", doc
        listed = _members(owner.token, project)["invitations"]
        assert [i["id"] for i in listed] == [invitation["id"]], listed
        # Registering takes the invitation: a member with its role.
        status, doc = _register(worker, invited.upper())
        assert status == 201, (status, doc)
        token = doc["access_token"]
        resp = api("GET", "/api/projects/%s" % project, token)
        assert resp.status == 200 and resp.json()["role"] == "editor", resp
        doc = _members(owner.token, project)
        assert doc["invitations"] == [], doc
        assert memberships_out_of_step() == []
        assert {m["role"] for m in doc["members"]} == {"owner", "editor"}
        # A withdrawn invitation admits nobody.
        withdrawn = new_email("withdrawn")
        status, doc = worker.call("POST", "/api/projects/%s/members" % project,
                                  {"email": withdrawn, "role": "viewer"},
                                  owner.token)
        assert status == 201, (status, doc)
        resp = api("DELETE", "/api/projects/%s/invitations/%s" % (
            project, doc["invitation"]["id"]), owner.token)
        assert resp.status == 204, resp
        status, doc = _register(worker, withdrawn)
        assert status == 403, (status, doc)
        # An operator still creates accounts, and they sign in.
        made = new_email("operator-made")
        password = new_password()
        done = brainstormctl("user", "create", made, stdin=password + "\n")
        assert done.returncode == 0, done.stderr
        status, doc = worker.call("POST", "/api/auth/login",
                                  {"email": made, "password": password})
        assert status == 200, (status, doc)
    finally:
        worker.stop()


def test_registration_closed():
    worker = Worker("closed", {"REGISTRATION": "closed"})
    try:
        status, doc = _register(worker, new_email("closed"))
        assert status == 403, (status, doc)
        assert doc["error"]["code"] == "registration_closed", doc
        assert "operator" in doc["error"]["message"], doc
        # Owners cannot invite either: only accounts can be added.
        owner = register_user("closed-owner")
        project = create_project(owner.token)["id"]
        status, doc = worker.call("POST", "/api/projects/%s/members" % project,
                                  {"email": new_email("x"), "role": "viewer"},
                                  owner.token)
        assert status == 404, (status, doc)
        assert doc["error"]["code"] == "account_not_found", doc
    finally:
        worker.stop()


def test_registration_policy_is_checked_at_start():
    wenv = worker_env()
    wenv["REGISTRATION"] = "sometimes"
    done = subprocess.run([env("BS_WORKER_BIN"), "--check-config"], env=wenv,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode != 0, done.stdout
    assert "REGISTRATION" in done.stdout + done.stderr, (done.stdout,
                                                         done.stderr)


# ---- the monthly token limit -------------------------------------------------------

def test_monthly_token_limit():
    user = register_user("limit")
    project = create_project(user.token)["id"]
    resp = api("GET", "/api/usage", user.token)
    assert resp.status == 200, resp
    month = resp.json()["month"]
    assert month["token_limit"] is None and month["tokens_remaining"] is None
    assert month["tokens_used"] == 0, month

    worker = Worker("limit", {"USER_MONTHLY_TOKEN_LIMIT": "1"})
    try:
        path = "/api/projects/%s/messages" % project
        status, doc = worker.call("POST", path, {"content": "One idea."},
                                  user.token)
        assert status == 202, (status, doc)
        # The turn's runs are counted once they are stored.
        def used():
            status, doc = worker.call("GET", "/api/usage", token=user.token)
            assert status == 200, (status, doc)
            return doc["month"] if doc["month"]["tokens_used"] > 0 else None
        month = wait_until("the turn's tokens counted", used)
        assert month["token_limit"] == 1, month
        assert month["tokens_remaining"] == 0, month
        for method, route, body in (
                ("POST", path, {"content": "Another idea."}),
                ("POST", "/api/projects/%s/documents" % project,
                 {"kind": "brief"}),
                ("POST", "/api/projects/%s/turns/%s/retry" % (
                    project, uuid.uuid4()), None)):
            status, doc = worker.call(method, route, body, user.token)
            assert status == 429, (route, status, doc)
            assert doc["error"]["code"] == "token_limit_reached", doc
            assert "this month" in doc["error"]["message"], doc
        # Reads are not metered; the stack without a limit still runs turns.
        status, doc = worker.call("GET", path, token=user.token)
        assert status == 200, (status, doc)
    finally:
        worker.stop()
    resp = api("POST", "/api/projects/%s/documents" % project, user.token,
               {"kind": "brief"})
    assert resp.status == 202, resp
    month = api("GET", "/api/usage", user.token).json()["month"]
    assert month["tokens_used"] > 0 and month["token_limit"] is None, month


def test_usage_outlives_the_project():
    """Tokens spent in a project stay counted when the project goes: its
    owner's and a member's, for the usage list and the monthly limit."""
    owner = register_user("ledger-owner")
    editor = register_user("ledger-editor")
    project = create_project(owner.token)["id"]
    assert _add(owner.token, project, editor.email, "editor").status == 201

    def finished():
        return psql("SELECT count(*) FROM turns WHERE project_id = :'p' "
                    "AND status IN ('queued', 'running')", p=project) == \
            [["0"]]
    for user in (owner, editor):
        resp = api("POST", "/api/projects/%s/messages" % project, user.token,
                   {"content": "An idea from %s." % user.email})
        assert resp.status == 202, resp
        wait_until("the turn finished", finished)

    def usage(user):
        doc = api("GET", "/api/usage", user.token).json()
        return doc["month"]["tokens_used"], sum(u["calls"]
                                                 for u in doc["usage"])
    before = {u.id: usage(u) for u in (owner, editor)}
    assert all(t > 0 and c > 0 for t, c in before.values()), before

    resp = api("DELETE", "/api/projects/%s" % project, owner.token)
    assert resp.status in (200, 204), resp
    assert psql("SELECT count(*) FROM agent_runs WHERE project_id = :'p'",
                p=project) == [["0"]]
    after = {u.id: usage(u) for u in (owner, editor)}
    assert after == before, (before, after)

    # The limit still counts them: a new project cannot start a turn.
    fresh = create_project(editor.token)["id"]
    worker = Worker("ledger", {"USER_MONTHLY_TOKEN_LIMIT":
                               str(before[editor.id][0])})
    try:
        status, doc = worker.call(
            "POST", "/api/projects/%s/messages" % fresh,
            {"content": "Another idea."}, editor.token)
        assert status == 429, (status, doc)
        assert doc["error"]["code"] == "token_limit_reached", doc
    finally:
        worker.stop()


def test_usage_prices_long_prompts():
    """A call whose prompt is over 100,000 tokens costs Haiku 5.5's long
    prices (five times, output included) and is counted apart; a call of
    exactly 100,000 is not long; Sonnet 5.5 has one price."""
    user = register_user("long-prompts")
    project = create_project(user.token)["id"]
    resp = api("POST", "/api/projects/%s/messages" % project, user.token,
               {"content": "An idea to count."})
    assert resp.status == 202, resp
    wait_until("the turn finished", lambda: psql(
        "SELECT count(*) FROM turns WHERE project_id = :'p' "
        "AND status IN ('queued', 'running')", p=project) == [["0"]])

    def rows():
        doc = api("GET", "/api/usage", user.token).json()
        return doc, {u["model"]: u for u in doc["usage"]}
    before, before_rows = rows()
    for row in before["usage"]:
        assert row["long_prompt_calls"] == 0, row
        assert not any(k.startswith("long_") and k != "long_prompt_calls"
                       for k in row), row

    # (model, input, output, cache read): long, not long, long, short.
    psql("INSERT INTO agent_runs (turn_id, project_id, user_id, agent, "
         "model, status, input_tokens, output_tokens, cache_read_tokens) "
         "SELECT t.id, t.project_id, t.user_id, 'recorder', m, 'ok', i, o, r "
         "FROM (SELECT * FROM turns WHERE project_id = :'p' LIMIT 1) t, "
         "(VALUES ('claude-haiku-5-5', 90000, 1000, 20000), "
         "('claude-haiku-5-5', 100000, 100, 0), "
         "('claude-sonnet-5-5', 150000, 1000, 0), "
         "('claude-sonnet-5-5', 1000, 100, 0)) v (m, i, o, r)", p=project)
    after, after_rows = rows()

    def grew(model, key):
        return after_rows[model][key] - \
            before_rows.get(model, {}).get(key, 0)
    assert grew("claude-haiku-5-5", "calls") == 2
    assert grew("claude-haiku-5-5", "long_prompt_calls") == 1
    assert grew("claude-sonnet-5-5", "long_prompt_calls") == 1
    # Haiku: 90,000 x 0.50 + 1,000 x 2.50 + 20,000 x 0.05, then
    # 100,000 x 0.10 + 100 x 0.50, per million.
    assert abs(grew("claude-haiku-5-5", "cost_usd") - 0.05855) < 1e-9
    # Sonnet: 151,000 x 2 + 1,100 x 10, per million.
    assert abs(grew("claude-sonnet-5-5", "cost_usd") - 0.313) < 1e-9
    assert abs(after["total_cost_usd"] - before["total_cost_usd"] -
               0.37155) < 1e-9
    # The month counts tokens alike, long or not.
    assert after["month"]["tokens_used"] - before["month"]["tokens_used"] \
        == 90000 + 1000 + 20000 + 100000 + 100 + 150000 + 1000 + 1000 + 100
