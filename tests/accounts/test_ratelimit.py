"""Failure counters (accounts.ratelimit): atomic under concurrency, on local memory and Redis."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import RequestFactory

from accounts.constants import SIGN_IN_MAX_FAILURES_PER_EMAIL, SIGN_IN_WINDOW_SECONDS
from accounts.ratelimit import Limit, count_attempt
from accounts.services.identity import CredentialsRejected, Throttled, credentials_check

BACKENDS = ["locmem", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param


def at_once(count: int, work) -> list:
    """Run `work()` in `count` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list = []

    def run():
        barrier.wait()
        results.append(work())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_attempts_go_ahead_only_up_to_the_limit(backend):
    limit = Limit("test", 5, 60)
    attempts = at_once(40, lambda: count_attempt((limit, "someone")))
    assert sum(1 for a in attempts if a.retry_after is None) == 5
    assert all(0 < a.retry_after <= 60 for a in attempts if a.retry_after is not None)
    assert limit.retry_after("someone")


def test_concurrent_failures_are_all_counted(backend):
    limit = Limit("test", 30, 60)
    at_once(29, lambda: limit.record_failure("203.0.113.7"))
    assert limit.retry_after("203.0.113.7") is None
    limit.record_failure("203.0.113.7")
    assert 0 < limit.retry_after("203.0.113.7") <= 60


def test_a_successful_attempt_is_taken_back(backend):
    limit = Limit("test", 2, 60)
    for _ in range(10):
        attempt = count_attempt((limit, "me"))
        assert attempt.retry_after is None
        attempt.succeeded()
    assert count_attempt((limit, "me")).retry_after is None  # a failure: 1 of 2
    assert count_attempt((limit, "me")).retry_after is None  # 2 of 2
    assert count_attempt((limit, "me")).retry_after


def test_a_refused_attempt_uses_none_of_the_other_limits_allowance(backend):
    per_ip, per_email = Limit("ip", 1, 60), Limit("email", 3, 60)
    assert count_attempt((per_email, "a@example.org"), (per_ip, "ip")).retry_after is None
    for _ in range(5):
        assert count_attempt((per_email, "a@example.org"), (per_ip, "ip")).retry_after
    # The email was tried once, from a blocked address: two attempts left from elsewhere.
    assert count_attempt((per_email, "a@example.org"), (per_ip, "other")).retry_after is None
    assert count_attempt((per_email, "a@example.org"), (per_ip, "other2")).retry_after is None
    assert count_attempt((per_email, "a@example.org"), (per_ip, "other3")).retry_after


def test_the_window_opens_at_the_first_attempt_and_closes_after_it(backend, monkeypatch):
    limit = Limit("test", 1, 60)
    limit.record_failure("k")
    assert 59 <= limit.retry_after("k") <= 60
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 45)
    assert limit.retry_after("k") <= 15
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert limit.retry_after("k") is None


def test_reset_forgets_the_failures(backend):
    limit = Limit("test", 2, 60)
    limit.record_failure("k")
    limit.record_failure("k")
    assert limit.retry_after("k")
    limit.reset("k")
    assert limit.retry_after("k") is None
    limit.record_failure("k")
    assert limit.retry_after("k") is None


def test_forty_concurrent_wrong_passwords_check_five(backend, monkeypatch):
    """The real sign-in service: 40 simultaneous wrong passwords, at most 5 password checks."""
    checks = []

    def slow_wrong_password(request, **credentials):
        checks.append(credentials["email"])
        time.sleep(0.02)  # a password hash takes a while: let the others pile up
        return None

    monkeypatch.setattr("accounts.services.identity.authenticate", slow_wrong_password)
    request = RequestFactory().post("/sign-in/", REMOTE_ADDR="203.0.113.8")

    def sign_in():
        try:
            credentials_check(request=request, email="victim@example.org", password="guess")
        except CredentialsRejected as rejected:
            return rejected

    outcomes = at_once(40, sign_in)
    # Never more checks than the limit. Under heavy load a few fewer may run: an attempt
    # within the email limit but over the per-IP one gives its email slot back only after
    # concurrent attempts were already refused (conservative, never generous).
    assert 1 <= len(checks) <= SIGN_IN_MAX_FAILURES_PER_EMAIL
    throttled = [o for o in outcomes if isinstance(o, Throttled)]
    assert len(throttled) == 40 - len(checks)
    assert all(0 < o.retry_after <= SIGN_IN_WINDOW_SECONDS for o in throttled)
