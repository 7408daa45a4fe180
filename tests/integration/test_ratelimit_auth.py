"""The workers' own login limit per email (AUTH_RATE_LIMIT_EMAIL attempts
per AUTH_RATE_WINDOW seconds): counted in Redis across the workers, and in
each worker's memory while Redis is down. Each test uses a fresh email and
its own source address, so neither nginx's limit_req nor the per-address
limit of another test gets in the way."""

from helpers import expect_error, fresh_source, login, new_email, \
    register_user, request, shell, wait_until, worker_env, \
    worker_pids


def _limits():
    wenv = worker_env()
    return (int(wenv.get("AUTH_RATE_LIMIT_EMAIL") or 10),
            int(wenv.get("AUTH_RATE_LIMIT_IP") or 50),
            int(wenv.get("AUTH_RATE_WINDOW") or 300))


def _expect_limited(resp, window):
    expect_error(resp, 429, "rate_limited")
    values = resp.header_all("Retry-After")
    assert len(values) == 1, "Retry-After headers: %r" % values
    assert 0 < int(values[0]) <= window, "Retry-After %r" % values[0]


def _redis_ready():
    for _ in range(10):     # every worker answers (nginx takes turns)
        resp = request("GET", "/api/ready", timeout=30)
        if resp.status != 200 or resp.json().get("status") != "ready":
            return False
    return True


def test_login_limited_per_email_with_redis():
    per_email, per_ip, window = _limits()
    assert per_email + 3 < per_ip, "the test needs the email limit to " \
        "trip first (AUTH_RATE_LIMIT_EMAIL %d, AUTH_RATE_LIMIT_IP %d)" % (
            per_email, per_ip)
    wait_until("Redis to be up", _redis_ready)
    source = fresh_source()
    user = register_user("ratelimit", source=fresh_source())
    # The registration was an attempt for this email too; with Redis every
    # worker counts in one place, so per_email - 1 wrong passwords are
    # refused for what they are.
    statuses = []
    for _ in range(per_email - 1):
        resp = login(user.email, "wrong-" + user.password, source=source)
        statuses.append(resp.status)
    assert statuses == [401] * (per_email - 1), statuses
    resp = login(user.email, "wrong-" + user.password, source=source)
    _expect_limited(resp, window)
    # Now even the right password waits, from any address.
    _expect_limited(login(user.email, user.password, source=source), window)
    _expect_limited(login(user.email, user.password, source=fresh_source()),
                    window)
    # Another email from the same address is not limited.
    resp = login(new_email("ratelimit-other"), "whatever-password",
                 source=source)
    expect_error(resp, 401, "invalid_credentials")


def test_login_limited_in_memory_without_redis():
    per_email, per_ip, window = _limits()
    # Each worker counts on its own: with N workers, N * limit + 2
    # attempts make one of them see more than limit, however nginx
    # shares them out.
    attempts = len(worker_pids()) * per_email + 2
    assert attempts < per_ip, "per-address limit %d too low" % per_ip
    email = new_email("ratelimit-noredis")
    source = fresh_source()
    shell("BS_REDIS_STOP")
    try:
        statuses, limited = [], []
        for _ in range(attempts):
            resp = login(email, "wrong-password-123", source=source)
            statuses.append(resp.status)
            if resp.status == 429:
                limited.append(resp)
        assert not [s for s in statuses if s >= 500], \
            "server errors without Redis: %r" % statuses
        assert set(statuses) <= {401, 429}, statuses
        assert limited, "no 429 in %d attempts without Redis: %r" % (
            attempts, statuses)
        assert statuses[:per_email] == [401] * per_email, \
            "limited before %d attempts: %r" % (per_email, statuses)
        for resp in limited:
            _expect_limited(resp, window)
    finally:
        shell("BS_REDIS_START")
    wait_until("ready again after Redis is back", _redis_ready, timeout=30)
