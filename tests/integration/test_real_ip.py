"""The client's address behind a proxy (#12), through the stack's nginx,
which script/test renders with TRUSTED_PROXIES=127.0.0.1: a request from
127.0.0.1 is a proxy's, and X-Forwarded-For names its client; from any
other address the header is ignored. The per-address login limit
(AUTH_RATE_LIMIT_IP) then counts clients behind the proxy one by one, and
a client cannot escape its own bucket by sending the header itself."""

import os
import random

from helpers import env, expect_error, fresh_source, new_email, request, \
    worker_env

PROXY = "127.0.0.1"


def _per_ip():
    return int(worker_env().get("AUTH_RATE_LIMIT_IP") or 50)


def _client():
    """An address of the benchmarking range no other test uses."""
    return "198.18.%d.%d" % (random.randrange(0, 256), random.randrange(1, 255))


def _login(source, forwarded=None):
    """A failed login (a new email each time, so the per-email limit never
    trips) from source, with X-Forwarded-For when given."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return request("POST", "/api/auth/login",
                   {"email": new_email("realip"),
                    "password": "not the password 123"},
                   headers=headers, source=source)


def _exhaust(source, forwarded):
    """AUTH_RATE_LIMIT_IP failed logins, then one more: 429."""
    for n in range(_per_ip()):
        resp = _login(source, forwarded)
        assert resp.status == 401, "attempt %d: %r" % (n + 1, resp)
    expect_error(_login(source, forwarded), 429, "rate_limited")


def test_the_stack_trusts_the_loopback_proxy_only():
    with open(os.path.join(env("BS_RUN_DIR"), "nginx.conf"),
              encoding="utf-8") as f:
        conf = f.read()
    lines = [line.strip() for line in conf.splitlines()]
    assert [line for line in lines
            if line.startswith("set_real_ip_from")] == \
        ["set_real_ip_from %s;" % PROXY], "other proxies trusted"
    assert "real_ip_header X-Forwarded-For;" in lines
    assert "real_ip_recursive on;" in lines


def test_clients_behind_a_trusted_proxy_have_their_own_login_buckets():
    first, second = _client(), _client()
    while second == first:
        second = _client()
    _exhaust(PROXY, first)
    # Another client of the same proxy is not locked out.
    expect_error(_login(PROXY, second), 401, "invalid_credentials")
    # A chain: the proxy appended the address it saw last; what the client
    # wrote before it is not believed.
    expect_error(_login(PROXY, "%s, %s" % (first, second)), 401,
                 "invalid_credentials")
    expect_error(_login(PROXY, "%s, %s" % (second, first)), 429,
                 "rate_limited")


def test_the_header_is_ignored_from_an_untrusted_peer():
    locked = _client()
    _exhaust(PROXY, locked)
    # From an address that is not a trusted proxy, X-Forwarded-For names
    # nobody: the locked client's address does not lock this peer out...
    peer = fresh_source()
    expect_error(_login(peer, locked), 401, "invalid_credentials")
    # ... and a new address in each header does not spread this peer's
    # attempts over many buckets: they all count against the peer.
    peer = fresh_source()
    for n in range(_per_ip()):
        resp = _login(peer, _client())
        assert resp.status == 401, "attempt %d: %r" % (n + 1, resp)
    expect_error(_login(peer, _client()), 429, "rate_limited")
