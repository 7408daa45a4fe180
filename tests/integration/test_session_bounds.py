"""Sessions have bounds, through nginx: an account keeps at most
SESSIONS_MAX_PER_USER open sessions (a new sign-in ends the one used least
recently), a sign-in deletes the tokens of its account's sessions that had
ended, a session is given at most REFRESH_RATE_LIMIT tokens an hour (a
refresh past it answers 429 and the token stays good) and a refresh deletes
its session's expired rotated tokens; a worker hashes one password per core
at once.

Sessions and tokens are added with psql, not sign-in by sign-in: sign-ins
are rate limited, and the behaviour under test is what happens at the
bound."""

import os
import threading

from helpers import api, expect_error, jwt_claims, login, logout, psql, \
    refresh, register_user, worker_env, worker_pids


def _setting(name, default):
    return int(worker_env().get(name) or default)


def _sid(session):
    return jwt_claims(session["access_token"])["sid"]


def _live(user):
    return int(psql("SELECT count(*) FROM refresh_tokens"
                    " WHERE user_id = :'uid' AND revoked_at IS NULL"
                    " AND expires_at > now()", uid=user.id)[0][0])


def _rows(sid):
    return int(psql("SELECT count(*) FROM refresh_tokens"
                    " WHERE family_id = :'sid'", sid=sid)[0][0])


def _open_sessions(user, n):
    """n open sessions of user's, each newer than those before."""
    psql("INSERT INTO refresh_tokens (user_id, family_id, token_hash,"
         " expires_at, created_at)"
         " SELECT :'uid', gen_random_uuid(), md5(random()::text || g),"
         " now() + interval '30 days', now() + g * interval '1 microsecond'"
         " FROM generate_series(1, :n) g", uid=user.id, n=n)


def test_a_sign_in_past_the_cap_ends_the_least_recently_used():
    cap = _setting("SESSIONS_MAX_PER_USER", 100)
    user = register_user("sessions")
    first = user.session
    _open_sessions(user, cap - 1)
    assert _live(user) == cap
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    newest = resp.json()
    assert _live(user) == cap
    # The registration's session was used least recently: it has ended,
    # its access token with it.
    expect_error(api("GET", "/api/auth/me", first["access_token"]), 401,
                 "unauthorized")
    expect_error(refresh(first["refresh_token"]), 401,
                 "invalid_refresh_token")
    resp = api("GET", "/api/auth/me", newest["access_token"])
    assert resp.status == 200, resp


def test_a_sign_in_deletes_the_tokens_of_ended_sessions():
    user = register_user("sessions")
    ended = user.session
    assert logout(ended["refresh_token"]).status == 204
    assert _rows(_sid(ended)) == 1
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    kept = resp.json()
    assert _rows(_sid(ended)) == 0
    expect_error(refresh(ended["refresh_token"]), 401,
                 "invalid_refresh_token")
    # An open session's rotated tokens stay, so that an old one presented
    # again still gives the theft away.
    resp = refresh(kept["refresh_token"])
    assert resp.status == 200, resp
    rotated = resp.json()
    resp = login(user.email, user.password)
    assert resp.status == 200, resp
    assert _rows(_sid(kept)) == 2
    expect_error(refresh(kept["refresh_token"]), 401,
                 "invalid_refresh_token")
    expect_error(refresh(rotated["refresh_token"]), 401,
                 "invalid_refresh_token")


def test_a_session_refreshed_too_often_is_429_and_keeps_its_token():
    limit = _setting("REFRESH_RATE_LIMIT", 60)
    user = register_user("sessions")
    sid = _sid(user.session)
    # The sign-in's token and limit - 1 more given within the hour.
    psql("INSERT INTO refresh_tokens (user_id, family_id, token_hash,"
         " expires_at, revoked_at, created_at)"
         " SELECT :'uid', :'sid', md5(random()::text || g),"
         " now() + interval '30 days', now(),"
         " now() - interval '50 minutes'"
         " FROM generate_series(1, :n) g", uid=user.id, sid=sid, n=limit - 1)
    resp = refresh(user.refresh_token)
    expect_error(resp, 429, "rate_limited")
    retry = int(resp.header("Retry-After"))
    assert 0 < retry <= 600, retry
    # The token was not used up: once the hour has passed, it refreshes.
    psql("UPDATE refresh_tokens SET created_at = created_at"
         " - interval '1 hour' WHERE family_id = :'sid'", sid=sid)
    resp = refresh(user.refresh_token)
    assert resp.status == 200, resp
    assert _sid(resp.json()) == sid


def test_a_refresh_deletes_its_sessions_expired_rotated_tokens():
    """A session's rotated tokens stay while they could still be used, so
    that a stolen one presented again ends the session; once one has
    expired, the session's next refresh deletes it, and presented again it
    is refused like any unknown token, the session going on."""
    user = register_user("sessions")
    sid = _sid(user.session)
    old = user.refresh_token
    resp = refresh(old)
    assert resp.status == 200, resp
    current = resp.json()["refresh_token"]
    # The rotated token made 31 days ago: expired a day ago.
    psql("UPDATE refresh_tokens SET created_at = now() - interval '31 days',"
         " expires_at = now() - interval '1 day'"
         " WHERE family_id = :'sid' AND replaced_by IS NOT NULL", sid=sid)
    assert _rows(sid) == 2
    resp = refresh(current)
    assert resp.status == 200, resp
    current = resp.json()["refresh_token"]
    assert _rows(sid) == 2, "the expired rotated token is still there"
    expect_error(refresh(old), 401, "invalid_refresh_token")
    resp = refresh(current)
    assert resp.status == 200, resp
    assert _sid(resp.json()) == sid


def _peak_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM for %d" % pid)


def test_password_hashes_at_once_are_bounded_per_worker():
    """Each password hash (Argon2id) takes 64 MiB for its 0.1 s. A worker
    runs one per core at once, whatever its request threads: a flood of
    sign-ins from many addresses leaves each worker's peak memory at about
    a hash per core, where eight threads hashing at once took it to
    540 MB. The peak is the process's since it started, so every sign-in
    of the tests before counts too."""
    threads = int(worker_env().get("WORKER_THREADS") or 8)
    slots = max(1, min(os.cpu_count() or 1, 8))
    if threads <= slots + 1:
        return  # as many threads as hashes: nothing to tell apart
    user = register_user("sessions")
    statuses = []
    lock = threading.Lock()

    def attempt(i):
        resp = login("nobody-%d-%s" % (i, user.email), "not the password")
        with lock:
            statuses.append(resp.status)
    flood = [threading.Thread(target=attempt, args=(i,))
             for i in range(4 * threads * len(worker_pids()))]
    for t in flood:
        t.start()
    for t in flood:
        t.join(120)
    assert set(statuses) == {401}, sorted(set(statuses))
    bound = (slots + 1) * 64 + 48
    for pid in worker_pids():
        assert _peak_mib(pid) < bound, \
            "worker %d peaked at %.0f MiB (bound %d)" % (
                pid, _peak_mib(pid), bound)
