"""Failure counters (accounts.ratelimit): atomic under concurrency, on local memory and Redis;
passwords count failures only, per person and address with a looser per-person ceiling."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.test import RequestFactory

from accounts.constants import (
    SIGN_IN_MAX_FAILURES_PER_EMAIL,
    SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP,
    SIGN_IN_MAX_FAILURES_PER_IP,
    SIGN_IN_WINDOW_SECONDS,
)
from accounts.ratelimit import Limit, PasswordLimits, count_attempt
from accounts.services.identity import CredentialsRejected, Throttled, credentials_check
from tests.factories import UserFactory

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
        try:
            barrier.wait()
            results.append(work())
        finally:
            connections.close_all()  # a thread's own database connection, if it made one

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_attempts_go_ahead_only_up_to_the_limit(backend):
    limit = Limit("test", 5, 60)
    waits = at_once(40, lambda: count_attempt((limit, "someone")))
    assert sum(1 for wait in waits if wait is None) == 5
    assert all(0 < wait <= 60 for wait in waits if wait is not None)
    assert limit.retry_after("someone")


def test_concurrent_failures_are_all_counted(backend):
    limit = Limit("test", 30, 60)
    at_once(29, lambda: limit.record_failure("203.0.113.7"))
    assert limit.retry_after("203.0.113.7") is None
    limit.record_failure("203.0.113.7")
    assert 0 < limit.retry_after("203.0.113.7") <= 60


def test_a_refused_attempt_uses_none_of_the_other_limits_allowance(backend):
    per_ip, per_email = Limit("ip", 1, 60), Limit("email", 3, 60)
    assert count_attempt((per_email, "a@example.org"), (per_ip, "ip")) is None
    for _ in range(5):
        assert count_attempt((per_email, "a@example.org"), (per_ip, "ip"))
    # The email was tried once, from a blocked address: two attempts left from elsewhere.
    assert count_attempt((per_email, "a@example.org"), (per_ip, "other")) is None
    assert count_attempt((per_email, "a@example.org"), (per_ip, "other2")) is None
    assert count_attempt((per_email, "a@example.org"), (per_ip, "other3"))


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


def test_password_failures_lock_the_person_at_that_address_only(backend):
    limits = PasswordLimits.named("test")
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP):
        assert limits.retry_after("ana@example.org", "203.0.113.1") is None
        limits.failed("ana@example.org", "203.0.113.1")
    assert 0 < limits.retry_after("ana@example.org", "203.0.113.1") <= SIGN_IN_WINDOW_SECONDS
    assert limits.retry_after("ana@example.org", "198.51.100.2") is None  # Ana, at home
    assert limits.retry_after("bo@example.org", "203.0.113.1") is None  # others, there


def test_the_per_person_ceiling_holds_across_addresses(backend):
    limits = PasswordLimits.named("test")
    addresses = [f"203.0.113.{n}" for n in range(SIGN_IN_MAX_FAILURES_PER_EMAIL)]
    for ip in addresses:
        limits.failed("ana@example.org", ip)
    assert limits.retry_after("ana@example.org", "198.51.100.2")  # from anywhere now
    assert limits.retry_after("bo@example.org", "198.51.100.2") is None


def test_the_per_address_limit_holds_across_people(backend):
    limits = PasswordLimits.named("test")
    for n in range(SIGN_IN_MAX_FAILURES_PER_IP):
        limits.failed(f"user{n}@example.org", "203.0.113.9")
    assert limits.retry_after("ana@example.org", "203.0.113.9")
    assert limits.retry_after("ana@example.org", "203.0.113.10") is None


def test_a_right_password_forgets_the_typos_but_not_the_ceiling(backend):
    limits = PasswordLimits.named("test")
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1):
        limits.failed("ana@example.org", "203.0.113.1")
    limits.succeeded("ana@example.org", "203.0.113.1")
    for _ in range(SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP - 1):
        limits.failed("ana@example.org", "203.0.113.1")
    assert limits.retry_after("ana@example.org", "203.0.113.1") is None
    limits.failed("ana@example.org", "203.0.113.1")
    assert limits.retry_after("ana@example.org", "203.0.113.1")


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_right_passwords_all_sign_in(backend, password):
    """Issue 18: 20 concurrent correct `POST /api/v1/tokens` for one email gave 15 x 429."""
    user = UserFactory()
    request = RequestFactory().post("/sign-in/", REMOTE_ADDR="203.0.113.8")

    def sign_in():
        try:
            return credentials_check(request=request, email=user.email, password=password)
        except CredentialsRejected as rejected:
            return rejected

    outcomes = at_once(20, sign_in)
    assert outcomes == [user] * 20


@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_passwords_block_every_later_attempt(backend, password):
    user = UserFactory()
    request = RequestFactory().post("/sign-in/", REMOTE_ADDR="203.0.113.8")

    def sign_in(secret):
        try:
            return credentials_check(request=request, email=user.email, password=secret)
        except CredentialsRejected as rejected:
            return rejected

    outcomes = at_once(20, lambda: sign_in("guess"))
    assert all(isinstance(outcome, CredentialsRejected) for outcome in outcomes)
    later = sign_in(password)  # even the right password, until the window ends
    assert isinstance(later, Throttled)
    assert 0 < later.retry_after <= SIGN_IN_WINDOW_SECONDS
