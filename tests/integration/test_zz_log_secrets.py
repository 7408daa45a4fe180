"""No secret reaches a log: every password, access token and refresh token
the tests used (helpers.SECRETS), every stored password hash and the
workers' JWT_SECRET are looked for in every worker log and nginx log of
the run directory. Runs last (RUN_LAST, and after test_logs by name), so
it sees what every other test made them log; it also makes a session of
its own, so it has something to look for when run alone."""

import glob
import json
import os
import urllib.parse
import uuid

from helpers import api, env, login, logout, psql, refresh, register_user, \
    remembered_secrets, wait_until, worker_env

RUN_LAST = True


def _log_files():
    run_dir = env("BS_RUN_DIR")
    files = set(glob.glob(os.path.join(run_dir, "*.log")))
    files |= set(glob.glob(os.path.join(run_dir, "logs", "*")))
    return sorted(f for f in files if os.path.isfile(f))


def _forms(value):
    """The ways value could be written: as is, JSON-escaped (json-c also
    escapes "/"), and URL-encoded (nginx's request URI)."""
    escaped = json.dumps(value)[1:-1]
    forms = {value, escaped, escaped.replace("/", "\\/"),
             value.replace("/", "\\/"), urllib.parse.quote(value, safe=""),
             urllib.parse.quote_plus(value)}
    return {f.encode("utf-8") for f in forms if f}


def _own_session():
    """A register, login, refresh, me and logout of this test's own."""
    user = register_user("logcheck")
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    resp = refresh(resp.json()["refresh_token"])
    assert resp.status == 200, resp
    session = resp.json()
    assert api("GET", "/api/auth/me", session["access_token"]).status == 200
    assert logout(session["refresh_token"]).status == 204
    # A failed login with the right email logs nothing of the password.
    assert login(user.email, user.password + "-wrong").status == 401
    return user


def test_no_secrets_in_logs():
    user = _own_session()
    files = _log_files()
    names = [os.path.basename(f) for f in files]
    assert any(n.startswith("worker-") for n in names), names
    assert "access.log" in names, names
    # A last request, answered by a worker: once nginx and the workers
    # have logged it, they have logged the ones before it.
    mark = "/api/logcheck-%s" % uuid.uuid4().hex
    resp = api("GET", mark)
    request_id = resp.header("X-Request-Id")
    assert resp.status == 404 and request_id, resp

    def logged():
        seen = set()
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            if request_id.encode() in data:
                seen.add(os.path.basename(path))
        return "access.log" in seen and \
            any(n.startswith("worker-") for n in seen)
    wait_until("request %s in the access and worker logs" % request_id,
               logged, timeout=10)

    secrets = [(kind, value) for kind, value in remembered_secrets()]
    for row in psql("SELECT email, password_hash FROM users"):
        email, password_hash = row
        secrets.append(("password hash of %s" % email, password_hash))
        # The digest alone (the last $-separated part) is secret too.
        digest = password_hash.rsplit("$", 1)[-1]
        if len(digest) >= 16:
            secrets.append(("password digest of %s" % email, digest))
    for name in ("JWT_SECRET", "JWT_REFRESH_SECRET"):
        value = worker_env().get(name)
        if value:
            secrets.append((name, value))
    # The signature of a JWT is what makes it a credential.
    for kind, value in list(secrets):
        if kind == "access_token" and value.count(".") == 2:
            signature = value.rsplit(".", 1)[1]
            if len(signature) >= 32:
                secrets.append(("access token signature", signature))
    kinds = {kind for kind, _ in secrets}
    assert {"password", "access_token", "refresh_token"} <= kinds, kinds
    assert user.password in {v for _, v in secrets}

    found = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for kind, value in secrets:
            for form in _forms(value):
                at = data.find(form)
                if at >= 0:
                    line_start = data.rfind(b"\n", 0, at) + 1
                    line_end = data.find(b"\n", at)
                    found.append("%s in %s: %r" % (
                        kind, os.path.relpath(path, env("BS_RUN_DIR")),
                        data[line_start:line_end if line_end >= 0 else None]
                        [:300]))
                    break
    assert not found, "%d secrets in the logs (of %d looked for):\n%s" % (
        len(found), len(secrets), "\n".join(found[:20]))
