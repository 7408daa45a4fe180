"""nginx's rate limits on POSTs to /api/auth/ and message posts. Each test
sends from its own loopback address, so its bucket is its own and the
other tests (from 127.0.0.1) are not limited by it."""

from helpers import expect_error, request


def _post_until_limited(path, source, attempts):
    statuses = []
    for _ in range(attempts):
        resp = request("POST", path, body={"email": "a@example.com"},
                       source=source)
        statuses.append(resp.status)
        if resp.status == 429:
            return statuses, resp
    return statuses, None


def test_auth_posts_rate_limited():
    statuses, limited = _post_until_limited("/api/auth/login", "127.0.0.3", 200)
    assert limited is not None, "no 429 in %d POSTs" % len(statuses)
    assert 429 not in statuses[:20], statuses
    expect_error(limited, 429, "rate_limited")
    assert limited.header("Retry-After"), "no Retry-After on 429"


def test_auth_gets_not_rate_limited():
    for _ in range(80):
        resp = request("GET", "/api/auth/me", source="127.0.0.4")
        assert resp.status != 429, resp


def test_message_posts_rate_limited():
    statuses, limited = _post_until_limited(
        "/api/projects/0b6b8a1e/messages", "127.0.0.5", 100)
    assert limited is not None, "no 429 in %d POSTs" % len(statuses)
    expect_error(limited, 429, "rate_limited")
