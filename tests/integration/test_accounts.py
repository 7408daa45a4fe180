"""Accounts: register, login, refresh rotation with reuse detection,
logout, disabled accounts (brainstormctl user disable|enable|create) and
the validation of every field. Every test makes its own accounts."""

import re
import secrets
import uuid

from helpers import api, auth_post, brainstormctl, expect_error, \
    expect_invalid, expect_unauthorized, login, logout, new_email, \
    new_password, psql, refresh, register_user, remember_secret

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                    r"(Z|[+-]\d\d:\d\d)$")


def _check_session(doc, email):
    assert set(doc) == {"user", "access_token", "token_type", "expires_in",
                        "refresh_token", "refresh_expires_in"}, doc
    user = doc["user"]
    assert set(user) == {"id", "email", "display_name", "created_at"}, user
    assert UUID_RE.match(user["id"]), user
    assert user["email"] == email, (user, email)
    assert ISO_RE.match(user["created_at"]), user
    assert doc["token_type"] == "Bearer", doc
    assert doc["expires_in"] == 900, doc
    assert doc["refresh_expires_in"] == 2592000, doc
    assert doc["access_token"].count(".") == 2, doc
    assert isinstance(doc["refresh_token"], str) and \
        len(doc["refresh_token"]) >= 32, doc


def _me(token):
    return api("GET", "/api/auth/me", token)


def _expect_refresh_refused(resp):
    expect_error(resp, 401, "invalid_refresh_token")


# ---- sessions ---------------------------------------------------------------

def test_register_login_me():
    email = new_email("acct")
    password = new_password()
    resp = auth_post("/api/auth/register", {
        "email": email, "password": password, "display_name": "Ada L."})
    assert resp.status == 201, resp
    assert resp.header("Cache-Control") == "no-store", \
        resp.header("Cache-Control")
    doc = resp.json()
    _check_session(doc, email)
    assert doc["user"]["display_name"] == "Ada L.", doc
    assert "password" not in resp.body.decode(), resp
    assert password not in resp.body.decode(), resp

    resp = _me(doc["access_token"])
    assert resp.status == 200, resp
    assert resp.json() == {"user": doc["user"]}, resp

    resp = login(email, password)
    assert resp.status == 200, resp
    again = resp.json()
    _check_session(again, email)
    assert again["user"] == doc["user"], (again, doc)
    assert again["refresh_token"] != doc["refresh_token"], again
    assert _me(again["access_token"]).status == 200


def test_display_name_defaults_to_empty():
    user = register_user("acct")
    assert user.session["user"]["display_name"] == "", user.session


def test_login_wrong_password_or_unknown_email():
    user = register_user("acct")
    for email, password in ((user.email, user.password + "x"),
                            (user.email, user.password.upper()),
                            (new_email("nobody"), user.password),
                            ("not-an-email", user.password)):
        expect_error(login(email, password), 401, "invalid_credentials")


def test_email_normalised():
    local = "Ada-%s" % uuid.uuid4().hex
    typed = "  %s@Example.COM " % local
    normal = "%s@example.com" % local.lower()
    password = new_password()
    resp = auth_post("/api/auth/register", {"email": typed,
                                            "password": password})
    assert resp.status == 201, resp
    assert resp.json()["user"]["email"] == normal, resp
    rows = psql("SELECT email FROM users WHERE lower(email) = lower(:'e')",
                e=normal)
    assert rows == [[normal]], rows
    # Another case, other spaces: the same account.
    for other in (normal.upper(), " %s@EXAMPLE.com" % local.upper(),
                  "%s@example.com" % local):
        resp = auth_post("/api/auth/register", {"email": other,
                                                "password": new_password()})
        expect_error(resp, 409, "email_taken")
    resp = login(typed.upper(), password)
    assert resp.status == 200, resp
    assert resp.json()["user"]["email"] == normal, resp


# ---- refresh tokens ---------------------------------------------------------

def test_refresh_rotates():
    user = register_user("acct")
    old = user.refresh_token
    resp = refresh(old)
    assert resp.status == 200, resp
    doc = resp.json()
    _check_session(doc, user.email)
    assert doc["refresh_token"] != old, doc
    assert doc["access_token"] != user.token, doc
    assert doc["user"]["id"] == user.id, doc
    assert _me(doc["access_token"]).status == 200
    # The old refresh token is spent.
    _expect_refresh_refused(refresh(old))


def test_refresh_reuse_revokes_the_family():
    user = register_user("acct")
    first = user.refresh_token
    # A second session (another login) is another family.
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    other_family = resp.json()["refresh_token"]

    resp = refresh(first)
    assert resp.status == 200, resp
    second = resp.json()["refresh_token"]
    resp = refresh(second)
    assert resp.status == 200, resp
    newest = resp.json()["refresh_token"]

    # Someone presents a token that was already rotated: the family ends.
    _expect_refresh_refused(refresh(first))
    _expect_refresh_refused(refresh(newest))
    _expect_refresh_refused(refresh(second))
    rows = psql("SELECT count(*), count(revoked_at) FROM refresh_tokens t "
                "JOIN users u ON u.id = t.user_id WHERE u.email = :'e'",
                e=user.email)
    total, revoked = int(rows[0][0]), int(rows[0][1])
    assert total == 4 and revoked == 3, rows    # 3 of the family, 1 other

    # The other session goes on.
    resp = refresh(other_family)
    assert resp.status == 200, resp


def test_refresh_unknown_token():
    for token in (secrets.token_urlsafe(32), "x", "a" * 200,
                  "not base64 !!!"):
        _expect_refresh_refused(refresh(token))


def test_logout_revokes():
    user = register_user("acct")
    resp = refresh(user.refresh_token)
    assert resp.status == 200, resp
    current = resp.json()["refresh_token"]

    resp = logout(current)
    assert resp.status == 204, resp
    assert resp.body == b"", resp
    _expect_refresh_refused(refresh(current))
    # Logging out again, or with a token nobody knows, is still a 204.
    assert logout(current).status == 204
    assert logout(user.refresh_token).status == 204
    assert logout(secrets.token_urlsafe(32)).status == 204
    # Logging in again starts a new session.
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    assert refresh(resp.json()["refresh_token"]).status == 200


# ---- brainstormctl user -----------------------------------------------------

def _ctl(*args, stdin=None):
    done = brainstormctl(*args, stdin=stdin)
    assert done.returncode == 0, "brainstormctl %s: %d\n%s%s" % (
        " ".join(args), done.returncode, done.stdout, done.stderr)
    return done


def test_disabled_user_is_locked_out():
    user = register_user("acct-disabled")
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    second = resp.json()
    assert _me(user.token).status == 200

    _ctl("user", "disable", user.email)
    expect_error(login(user.email, user.password), 401, "invalid_credentials")
    _expect_refresh_refused(refresh(user.refresh_token))
    _expect_refresh_refused(refresh(second["refresh_token"]))
    # Access tokens issued before stop working at once.
    expect_unauthorized(_me(user.token), token_given=True)
    expect_unauthorized(_me(second["access_token"]), token_given=True)
    expect_unauthorized(api("GET", "/api/projects", user.token),
                        token_given=True)

    _ctl("user", "enable", user.email)
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    assert _me(resp.json()["access_token"]).status == 200
    # Disabling ended the old sessions for good.
    _expect_refresh_refused(refresh(second["refresh_token"]))


def test_disable_is_case_insensitive():
    user = register_user("acct-disabled")
    _ctl("user", "disable", user.email.upper())
    expect_error(login(user.email, user.password), 401, "invalid_credentials")
    _ctl("user", "enable", user.email.upper())
    assert login(user.email, user.password).status == 200


def test_ctl_user_create():
    email = new_email("acct-ctl")
    password = new_password()
    done = _ctl("user", "create", email, "Grace H.", stdin=password + "\n")
    assert email in done.stdout, done.stdout
    assert password not in done.stdout + done.stderr, "password echoed"
    resp = login(email, password)
    assert resp.status == 200, resp
    doc = resp.json()
    _check_session(doc, email)
    assert doc["user"]["display_name"] == "Grace H.", doc
    # The same email again is refused.
    done = brainstormctl("user", "create", email.upper(), "Again",
                         stdin=new_password() + "\n")
    assert done.returncode != 0, done.stdout
    # A short password is refused, and no account is made.
    email2 = new_email("acct-ctl")
    done = brainstormctl("user", "create", email2, stdin="short\n")
    assert done.returncode != 0, done.stdout
    expect_error(login(email2, "short"), 401, "invalid_credentials")


# ---- validation -------------------------------------------------------------

def _multibyte_password(chars):
    """chars characters, most of them two bytes long, ending in a random
    part so that the log check can look for it."""
    tail = secrets.token_hex(3)          # 6 characters
    return remember_secret("password", "\u00e9" * (chars - len(tail)) + tail)


def _register_cases():
    """(what, body, field): each body is refused with 422 naming field."""
    email = new_email("acct-v")
    pw = new_password()
    long_email = "%s%s@example.com" % (uuid.uuid4().hex, "a" * 211)
    assert len(long_email) == 255
    return [
        ("no email", {"password": pw}, "email"),
        ("email null", {"email": None, "password": pw}, "email"),
        ("email a number", {"email": 42, "password": pw}, "email"),
        ("email a list", {"email": [email], "password": pw}, "email"),
        ("email an object", {"email": {"a": email}, "password": pw}, "email"),
        ("email true", {"email": True, "password": pw}, "email"),
        ("email empty", {"email": "", "password": pw}, "email"),
        ("email spaces", {"email": "   ", "password": pw}, "email"),
        ("email without @", {"email": "ada.example.com", "password": pw},
         "email"),
        ("email with two @", {"email": "ada@b@example.com", "password": pw},
         "email"),
        ("email without a dot in the domain",
         {"email": "ada@localhost", "password": pw}, "email"),
        ("email with nothing before @", {"email": "@example.com",
                                         "password": pw}, "email"),
        ("email with a space inside", {"email": "ada lovelace@example.com",
                                       "password": pw}, "email"),
        ("email of 255 characters", {"email": long_email, "password": pw},
         "email"),
        ("email of 321 characters",
         {"email": "a" * 309 + "@example.com", "password": pw}, "email"),
        ("no password", {"email": email}, "password"),
        ("password null", {"email": email, "password": None}, "password"),
        ("password a number", {"email": email, "password": 1234567890},
         "password"),
        ("password a list", {"email": email, "password": [pw]}, "password"),
        ("password empty", {"email": email, "password": ""}, "password"),
        ("password of 9 characters", {"email": email,
                                      "password": "abcdefghi"}, "password"),
        ("password of 9 two-byte characters (18 bytes)",
         {"email": email, "password": "\u00e9" * 9}, "password"),
        ("password of 1025 characters",
         {"email": email, "password": "p" * 1025}, "password"),
        ("password of 1025 two-byte characters",
         {"email": email, "password": "\u00e9" * 1025}, "password"),
        ("password equal to the email", {"email": email, "password": email},
         "password"),
        ("password equal to the email in another case",
         {"email": email, "password": email.upper()}, "password"),
        ("password equal to the typed email",
         {"email": " %s " % email.upper(), "password": email}, "password"),
        ("display_name null", {"email": email, "password": pw,
                               "display_name": None}, "display_name"),
        ("display_name a number", {"email": email, "password": pw,
                                   "display_name": 7}, "display_name"),
        ("display_name of 101 characters",
         {"email": email, "password": pw, "display_name": "d" * 101},
         "display_name"),
        ("display_name of 101 three-byte characters",
         {"email": email, "password": pw, "display_name": "\u65e5" * 101},
         "display_name"),
        ("unknown field", {"email": email, "password": pw, "role": "admin"},
         "role"),
        ("unknown field is_admin", {"email": email, "password": pw,
                                    "is_admin": True}, "is_admin"),
    ]


def test_register_validation():
    failures = []
    for what, body, field in _register_cases():
        resp = auth_post("/api/auth/register", body)
        try:
            expect_invalid(resp, field)
        except AssertionError as e:
            failures.append("%s: %s" % (what, e))
    assert not failures, "\n".join(failures)


def test_register_limits_accepted():
    """The edges that are allowed, in characters, not bytes."""
    cases = [
        ("email of 254 characters",
         "%s%s@example.com" % (uuid.uuid4().hex, "a" * 210),
         new_password(), None),
        ("password of 10 two-byte characters", new_email("acct-v"),
         _multibyte_password(10), None),
        ("password of 1024 two-byte characters", new_email("acct-v"),
         _multibyte_password(1024), None),
        ("display_name of 100 three-byte characters", new_email("acct-v"),
         new_password(), "\u65e5" * 100),
        ("display_name empty", new_email("acct-v"), new_password(), ""),
    ]
    failures = []
    for what, email, password, name in cases:
        body = {"email": email, "password": password}
        if name is not None:
            body["display_name"] = name
        resp = auth_post("/api/auth/register", body)
        if resp.status != 201:
            failures.append("%s: %r" % (what, resp))
            continue
        doc = resp.json()
        if doc["user"]["email"] != email or (
                name is not None and doc["user"]["display_name"] != name):
            failures.append("%s: stored as %r" % (what, doc["user"]))
        if login(email, password).status != 200:
            failures.append("%s: cannot log in" % what)
    assert not failures, "\n".join(failures)


def test_login_validation():
    email = new_email("acct-v")
    cases = [
        ("no email", {"password": "x" * 10}, "email"),
        ("email null", {"email": None, "password": "x" * 10}, "email"),
        ("email a number", {"email": 1, "password": "x" * 10}, "email"),
        ("no password", {"email": email}, "password"),
        ("password null", {"email": email, "password": None}, "password"),
        ("password a number", {"email": email, "password": 12345678901},
         "password"),
        ("password of 1025 characters", {"email": email,
                                         "password": "p" * 1025}, "password"),
        ("unknown field", {"email": email, "password": "x" * 10,
                           "remember_me": True}, "remember_me"),
    ]
    failures = []
    for what, body, field in cases:
        try:
            expect_invalid(auth_post("/api/auth/login", body), field)
        except AssertionError as e:
            failures.append("%s: %s" % (what, e))
    assert not failures, "\n".join(failures)


def test_refresh_and_logout_validation():
    failures = []
    for path in ("/api/auth/refresh", "/api/auth/logout"):
        for what, body, field in [
                ("no token", {}, "refresh_token"),
                ("token null", {"refresh_token": None}, "refresh_token"),
                ("token a number", {"refresh_token": 5}, "refresh_token"),
                ("token empty", {"refresh_token": ""}, "refresh_token"),
                ("token of 201 characters", {"refresh_token": "r" * 201},
                 "refresh_token"),
                ("unknown field", {"refresh_token": "abc", "user_id": "x"},
                 "user_id")]:
            try:
                expect_invalid(auth_post(path, body), field)
            except AssertionError as e:
                failures.append("%s %s: %s" % (path, what, e))
    assert not failures, "\n".join(failures)


def test_auth_bodies_bad_json_and_media_type():
    failures = []
    for path in ("/api/auth/register", "/api/auth/login",
                 "/api/auth/refresh", "/api/auth/logout"):
        for what, body, ctype, status, code in [
                ("truncated JSON", b'{"email": ', "application/json", 400,
                 "invalid_json"),
                ("not JSON at all", b"email=a&password=b", "application/json",
                 400, "invalid_json"),
                ("trailing garbage", b'{"email": "a"} x', "application/json",
                 400, "invalid_json"),
                ("empty body", b"", "application/json", 400, "invalid_json"),
                ("a form", b"email=a%40b.c&password=b",
                 "application/x-www-form-urlencoded", 415,
                 "unsupported_media_type"),
                ("text", b'{"email": "a"}', "text/plain", 415,
                 "unsupported_media_type"),
                ("no content type", b'{"email": "a"}', None, 415,
                 "unsupported_media_type"),
                ("JSON in Latin-1", b'{"email": "a"}',
                 "application/json; charset=iso-8859-1", 415,
                 "unsupported_media_type"),
                ("a JSON list", b"[]", "application/json", 422,
                 "validation_failed"),
                ("a JSON string", b'"x"', "application/json", 422,
                 "validation_failed")]:
            headers = {"Content-Type": ctype} if ctype else {}
            resp = auth_post(path, body, headers=headers)
            try:
                expect_error(resp, status, code)
            except AssertionError as e:
                failures.append("%s %s: %s" % (path, what, e))
    assert not failures, "\n".join(failures)


def test_json_with_utf8_charset_accepted():
    email = new_email("acct-v")
    password = new_password()
    resp = auth_post("/api/auth/register",
                     ('{"email": "%s", "password": "%s"}' % (email, password))
                     .encode(),
                     headers={"Content-Type":
                              "application/json; charset=UTF-8"})
    assert resp.status == 201, resp
