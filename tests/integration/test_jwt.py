"""Forged and broken access tokens against GET /api/auth/me: each is a 401
with an invalid_token challenge. The tokens are made here with the
workers' own JWT_SECRET (run/worker.env), and a correctly forged one is
accepted, so each refusal is for the one thing the case gets wrong."""

import json
import time
import uuid

from helpers import api, b64url, b64url_decode, expect_unauthorized, \
    jwt_claims, jwt_encode, jwt_secret, logout, refresh, register_user, \
    remember_secret

HS256 = {"alg": "HS256", "typ": "JWT"}
TTL = 900


def _claims(user, **changes):
    """Claims of a valid token of user (a registered User: its session's
    sid too), with changes (None removes a claim)."""
    now = int(time.time())
    user_id = getattr(user, "id", user)
    sid = jwt_claims(user.token)["sid"] if hasattr(user, "token") else \
        str(uuid.uuid4())
    claims = {"sub": user_id, "sid": sid, "iss": "brainstorm",
              "aud": "brainstorm-api", "iat": now, "exp": now + TTL,
              "jti": uuid.uuid4().hex}
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _me(token):
    return api("GET", "/api/auth/me", token)


def _refused(token, what):
    resp = _me(token)
    try:
        expect_unauthorized(resp, token_given=True)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (what, e))


def _accepted(token, user, what):
    resp = _me(token)
    assert resp.status == 200, "%s: %r" % (what, resp)
    assert resp.json()["user"]["id"] == user.id, resp


def test_issued_token_claims():
    user = register_user("jwt")
    header, payload, signature = user.token.split(".")
    assert json.loads(b64url_decode(header))["alg"] == "HS256", header
    claims = jwt_claims(user.token)
    assert claims["sub"] == user.id, claims
    assert claims["iss"] == "brainstorm", claims
    assert claims["aud"] == "brainstorm-api", claims
    assert claims["exp"] - claims["iat"] == TTL, claims
    assert isinstance(claims.get("jti"), str) and claims["jti"], claims
    assert user.session["expires_in"] == TTL, user.session
    assert signature, user.token


def test_forged_with_the_secret_is_accepted():
    """The control: with the workers' key and right claims, a token made
    here works. (If this fails, the cases below prove nothing.)"""
    user = register_user("jwt")
    token = remember_secret("access_token",
                            jwt_encode(HS256, _claims(user), jwt_secret()))
    _accepted(token, user, "a correctly forged token")
    # typ is optional, and an nbf in the past is fine.
    token = remember_secret("access_token", jwt_encode(
        {"alg": "HS256"}, _claims(user, nbf=int(time.time()) - 60),
        jwt_secret()))
    _accepted(token, user, "no typ, nbf in the past")


def test_alg_none():
    user = register_user("jwt")
    claims = _claims(user)
    for alg in ("none", "None", "NONE"):
        token = jwt_encode({"alg": alg, "typ": "JWT"}, claims, None)
        _refused(token, "alg %s, empty signature" % alg)
        _refused(token[:-1], "alg %s, no signature part" % alg)
        # The right signature does not make alg none acceptable either.
        signed = jwt_encode({"alg": alg, "typ": "JWT"}, claims, jwt_secret())
        _refused(signed, "alg %s, signed" % alg)
    # An HS256 header with the signature left off.
    _refused(jwt_encode(HS256, claims, None), "HS256 without a signature")


def test_signed_with_another_key():
    user = register_user("jwt")
    claims = _claims(user)
    for key in ("another-key-" + uuid.uuid4().hex, "", jwt_secret() + "x",
                jwt_secret()[:-1]):
        _refused(jwt_encode(HS256, claims, key), "HS256 with key %r" % key)


def test_other_algorithms():
    user = register_user("jwt")
    claims = _claims(user)
    for alg in ("RS256", "ES256", "HS384", "HS512", "PS256", "hs256"):
        # Signed with the HMAC secret: the classic RS256/HS256 confusion.
        _refused(jwt_encode({"alg": alg, "typ": "JWT"}, claims, jwt_secret()),
                 "alg %s" % alg)
    _refused(jwt_encode({"alg": "HS256", "typ": "JWS"}, claims, jwt_secret()),
             "typ JWS")
    _refused(jwt_encode({"typ": "JWT"}, claims, jwt_secret()), "no alg")


def test_header_parameters_we_do_not_understand():
    """RFC 7515 4.1.11: a crit naming an extension the server does not
    understand is refused; so is every header parameter beyond alg and typ,
    correctly signed or not."""
    user = register_user("jwt")
    claims = _claims(user)
    for extra in ({"crit": ["exp"], "exp": 1}, {"crit": ["b64"], "b64": False},
                  {"crit": []}, {"kid": "key-1"},
                  {"jku": "https://evil.example/keys"},
                  {"x5u": "https://evil.example/cert"}, {"cty": "JWT"}):
        header = dict(HS256, **extra)
        _refused(jwt_encode(header, claims, jwt_secret()),
                 "header %s" % json.dumps(extra))


def test_expired():
    user = register_user("jwt")
    now = int(time.time())
    _refused(jwt_encode(HS256, _claims(user, iat=now - TTL - 60,
                                       exp=now - 60), jwt_secret()),
             "expired a minute ago")
    _refused(jwt_encode(HS256, _claims(user, iat=now - 2 * TTL,
                                       exp=now - TTL), jwt_secret()),
             "expired 15 minutes ago")
    _refused(jwt_encode(HS256, _claims(user, exp=None), jwt_secret()),
             "no exp")
    _refused(jwt_encode(HS256, _claims(user, exp=str(now + 60)),
                        jwt_secret()), "exp a string")


def test_not_yet_valid():
    user = register_user("jwt")
    now = int(time.time())
    _refused(jwt_encode(HS256, _claims(user, nbf=now + 3600),
                        jwt_secret()), "nbf an hour ahead")
    _refused(jwt_encode(HS256, _claims(user, iat=now + 3600,
                                       exp=now + 3600 + TTL), jwt_secret()),
             "issued an hour ahead")
    _refused(jwt_encode(HS256, _claims(user, nbf="0"), jwt_secret()),
             "nbf a string")


def test_longer_lifetime_than_issued():
    user = register_user("jwt")
    now = int(time.time())
    _refused(jwt_encode(HS256, _claims(user, exp=now + 365 * 86400),
                        jwt_secret()), "a token for a year")
    _refused(jwt_encode(HS256, _claims(user, iat=None), jwt_secret()),
             "no iat")


def test_tampered_payload():
    victim = register_user("jwt-victim")
    attacker = register_user("jwt-attacker")
    header, payload, signature = attacker.token.split(".")
    claims = jwt_claims(attacker.token)
    claims["sub"] = victim.id
    forged = "%s.%s.%s" % (header, b64url(json.dumps(claims)), signature)
    _refused(forged, "sub changed to another user")
    claims = jwt_claims(attacker.token)
    claims["exp"] += 3600
    _refused("%s.%s.%s" % (header, b64url(json.dumps(claims)), signature),
             "exp moved on")
    # One flipped character in each part.
    for i, part in enumerate((header, payload, signature)):
        parts = [header, payload, signature]
        middle = len(part) // 2
        flipped = "A" if part[middle] != "A" else "B"
        parts[i] = part[:middle] + flipped + part[middle + 1:]
        _refused(".".join(parts), "part %d changed" % i)
    # The original still works.
    _accepted(attacker.token, attacker, "the untouched token")


def test_truncated():
    user = register_user("jwt")
    token = user.token
    header, payload, signature = token.split(".")
    cases = {
        "last character dropped": token[:-1],
        "half the signature": token[:-(len(signature) // 2)],
        "no signature": "%s.%s." % (header, payload),
        "two parts": "%s.%s" % (header, payload),
        "header only": header,
        "header and dot": header + ".",
        "half the token": token[:len(token) // 2],
        "four parts": token + "." + signature,
    }
    for what, bad in cases.items():
        _refused(bad, what)


def test_garbage():
    user = register_user("jwt")
    cases = ["garbage", "a.b.c", "...", ".", "x" * 5000,
             b64url(uuid.uuid4().bytes) * 3,
             "eyJ.eyJ.eyJ", user.token.replace(".", "", 1),
             b64url("{") + "." + b64url("{}") + ".",
             b64url("[]") + "." + b64url("{}") + ".abc",
             b64url('{"alg":"HS256"') + ".e30.abc",
             "%s.%s.%s" % (b64url(json.dumps(HS256)), "!!!!", "@@@@"),
             user.token + " trailing", "\u00e9t\u00e9.\u00e9t\u00e9.x"]
    for bad in cases:
        try:
            bad.encode("latin-1")
        except UnicodeEncodeError:
            bad = bad.encode("utf-8").decode("latin-1")
        _refused(bad, "garbage %r" % bad[:60])
    # "Bearer" and nothing after it.
    resp = api("GET", "/api/auth/me", headers={"Authorization": "Bearer "})
    assert resp.status == 401, resp


def test_wrong_audience():
    user = register_user("jwt")
    for aud in ("other-api", "brainstorm", "", "Brainstorm-API"):
        _refused(jwt_encode(HS256, _claims(user, aud=aud), jwt_secret()),
                 "aud %r" % aud)
    _refused(jwt_encode(HS256, _claims(user, aud=None), jwt_secret()),
             "no aud")


def test_wrong_issuer():
    user = register_user("jwt")
    for iss in ("evil", "brainstorm-api", "", "Brainstorm"):
        _refused(jwt_encode(HS256, _claims(user, iss=iss), jwt_secret()),
                 "iss %r" % iss)
    _refused(jwt_encode(HS256, _claims(user, iss=None), jwt_secret()),
             "no iss")


def test_subject_must_be_a_user():
    user = register_user("jwt")
    for sub in (str(uuid.uuid4()), "not-a-uuid", "", None):
        _refused(jwt_encode(HS256, _claims(user, sub=sub), jwt_secret()),
                 "sub %r" % sub)
    _refused(jwt_encode(HS256, _claims(user, sub=12345), jwt_secret()),
             "sub a number")


def test_session_must_be_open():
    """sid names the token's session (its refresh-token family): it is
    required, must be one of the subject's own sessions, and a session
    that ended (logout) takes its access tokens with it."""
    user = register_user("jwt")
    other = register_user("jwt-other")
    assert jwt_claims(user.token)["sid"] != jwt_claims(other.token)["sid"]
    for sid in (None, "", "not-a-uuid", str(uuid.uuid4()), 12345,
                jwt_claims(other.token)["sid"]):
        _refused(jwt_encode(HS256, _claims(user, sid=sid), jwt_secret()),
                 "sid %r" % (sid,))
    # A refresh continues the session: the new token has the same sid,
    # and the old access token keeps working until it expires.
    resp = refresh(user.refresh_token)
    assert resp.status == 200, resp
    rotated = resp.json()
    assert jwt_claims(rotated["access_token"])["sid"] == \
        jwt_claims(user.token)["sid"], rotated
    _accepted(user.token, user, "the token before the refresh")
    # Logging out ends the session's access tokens at once.
    assert logout(rotated["refresh_token"]).status == 204
    _refused(user.token, "an access token of a session that was logged out")
    _refused(rotated["access_token"], "the rotated token after logout")
    _accepted(other.token, other, "another user's session")
