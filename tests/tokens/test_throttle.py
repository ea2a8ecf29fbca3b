"""Bearer throttling (tokens.auth.throttle), through the three calls tokens.auth.bearer makes.

One address's garbage must not lock out the tokens already working from that
address (behind a load balancer without KEYWARD_TRUSTED_PROXIES, every client
shares one), while guessing from it stays blocked.
"""

from __future__ import annotations

import time

import pytest

from tokens import crypto
from tokens.auth import throttle
from tokens.constants import BEARER_FAILURE_LIMIT, BEARER_FAILURE_WINDOW_SECONDS

ATTACKER = "203.0.113.66"
BACKENDS = ["locmem", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param


def digests_of(secret: str) -> tuple[str, ...]:
    return tuple(crypto.digests(secret, ("pepper-new", "pepper-old")))


def garbage_attempts(ip: str | None, count: int = BEARER_FAILURE_LIMIT) -> None:
    for _ in range(count):
        assert throttle.retry_after(ip, digests_of(crypto.generate("user"))) is None
        throttle.record_failure(ip)


def test_a_clean_address_costs_no_cache_read(backend, monkeypatch):
    from accounts import cache

    def no_read(*args, **kwargs):
        raise AssertionError("the cache was read for a clean address")

    monkeypatch.setattr(cache, "get", no_read)
    monkeypatch.setattr(cache, "get_many", no_read)
    assert throttle.retry_after("198.51.100.77", digests_of(crypto.generate("user"))) is None


def test_a_blocked_address_still_reaches_the_tokens_it_used_before(backend):
    known = digests_of(crypto.generate("user"))
    throttle.record_success(ATTACKER, known[0])
    garbage_attempts(ATTACKER)

    wait = throttle.retry_after(ATTACKER, digests_of(crypto.generate("user")))
    assert wait and 0 < wait <= BEARER_FAILURE_WINDOW_SECONDS
    assert throttle.retry_after(ATTACKER, known) is None
    assert throttle.retry_after(ATTACKER, ()) == wait


def test_a_token_used_before_under_an_older_pepper_is_recognised(backend):
    secret = crypto.generate("user")
    throttle.record_success(ATTACKER, digests_of(secret)[1])
    garbage_attempts(ATTACKER)
    assert throttle.retry_after(ATTACKER, digests_of(secret)) is None


def test_a_token_never_used_from_the_address_waits_for_the_window(backend, monkeypatch):
    fresh = digests_of(crypto.generate("user"))
    throttle.record_success("198.51.100.5", fresh[0])  # used, but from elsewhere
    garbage_attempts(ATTACKER)
    assert throttle.retry_after(ATTACKER, fresh)
    assert throttle.retry_after("198.51.100.5", fresh) is None

    later_wall = time.time() + BEARER_FAILURE_WINDOW_SECONDS + 1
    later = time.monotonic() + BEARER_FAILURE_WINDOW_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later_wall)
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert throttle.retry_after(ATTACKER, fresh) is None


def test_the_unknown_peer_is_throttled_as_one_address(backend):
    known = digests_of(crypto.generate("user"))
    throttle.record_success(None, known[0])
    garbage_attempts(None)
    assert throttle.retry_after(None, digests_of(crypto.generate("user")))
    assert throttle.retry_after(None, known) is None
