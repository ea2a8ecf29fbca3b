"""The cache wrapper (accounts.cache), and the app with its cache down (SPEC 1).

With Redis unreachable, limits fail open: requests are served, an error is
logged at most once a minute, /healthz says "cache": "unavailable" and answers 200.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import subprocess
import sys
import threading
import time

import pytest

from accounts import cache
from tests.factories import issue_user_token
from tokens import crypto

pytestmark = pytest.mark.django_db

SIGN_IN = "/sign-in/"


def basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


def cache_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "accounts.cache" and r.levelno >= logging.ERROR]


# ---------------------------------------------------------------- the wrapper, cache up


@pytest.mark.parametrize("backend", ["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def test_counters_open_with_add_and_count_with_incr(backend, request):
    if backend == "redis":
        request.getfixturevalue("redis_cache")
    assert cache.incr("c", timeout=60) == 1
    assert cache.incr("c", 4, timeout=60) == 5
    assert cache.decr("c") == 4
    assert cache.decr("missing") is None and cache.get("missing") is None
    assert cache.add("a", 7, 60) is True and cache.add("a", 8, 60) is False
    cache.set("s", {"x": 1}, 60)
    assert cache.get_many(["a", "s", "nope"]) == {"a": 7, "s": {"x": 1}}
    cache.delete("a", "s", "c")
    assert cache.get_many(["a", "s", "c"]) == {}
    assert cache.status() == "ok"


@pytest.mark.redis
def test_concurrent_increments_are_never_lost(redis_cache):
    barrier = threading.Barrier(40)

    def bump():
        barrier.wait()
        cache.incr("hits", timeout=60)

    threads = [threading.Thread(target=bump) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("hits") == 40


# ---------------------------------------------------------------- the wrapper, cache down


def test_every_operation_answers_a_neutral_value_when_redis_is_down(cache_down, caplog):
    assert cache.incr("c", timeout=60) is None
    assert cache.decr("c") is None
    assert cache.add("a", 1, 60) is False
    assert cache.get("a", "default") == "default"
    assert cache.get_many(["a"]) == {}
    cache.set("s", 1, 60)
    cache.delete("s")
    assert cache.status() == "unavailable"
    assert len(cache_errors(caplog)) == 1


def test_the_error_is_logged_at_most_once_a_minute(cache_down, caplog, monkeypatch):
    monkeypatch.setattr(cache, "BREAKER_SECONDS", 0)  # try the cache on every call
    for _ in range(20):
        assert cache.incr("c", timeout=60) is None
    assert len(cache_errors(caplog)) == 1
    later = time.monotonic() + cache.LOG_INTERVAL_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    cache.get("c")
    assert len(cache_errors(caplog)) == 2


def test_the_cache_is_used_again_once_it_answers(settings, caplog, monkeypatch):
    from django.core.cache.backends.locmem import LocMemCache
    from redis.exceptions import ConnectionError as RedisConnectionError

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    monkeypatch.setattr(cache, "BREAKER_SECONDS", 0)
    working_get = LocMemCache.get

    def broken_get(self, *args, **kwargs):
        raise RedisConnectionError("refused")

    monkeypatch.setattr(LocMemCache, "get", broken_get)
    assert cache.get("k", "neutral") == "neutral" and cache.status() == "unavailable"
    monkeypatch.setattr(LocMemCache, "get", working_get)
    cache.set("k", "v", 60)
    assert cache.get("k") == "v" and cache.status() == "ok"
    assert [r.levelname for r in caplog.records if r.name == "accounts.cache"] == [
        "ERROR",
        "WARNING",
    ]


@pytest.fixture
def silent_redis(settings):
    """A 'Redis' that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
            "OPTIONS": settings.REDIS_OPTIONS,
        }
    }
    yield
    listener.close()


def test_the_redis_cache_has_short_socket_timeouts():
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://cache.internal:6379/0"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
            " django.setup(); from django.conf import settings;"
            " print(json.dumps(settings.CACHES['default']))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    configured = json.loads(result.stdout)
    assert configured["LOCATION"] == "redis://cache.internal:6379/0"
    assert 0 < configured["OPTIONS"]["socket_connect_timeout"] <= 1
    assert 0 < configured["OPTIONS"]["socket_timeout"] <= 1


def test_a_hung_cache_costs_one_timeout_then_is_skipped(silent_redis):
    """Short socket timeouts, then the breaker: 50 calls do not wait 50 timeouts."""
    results: list[object] = []

    def calls():
        for _ in range(50):
            results.append(cache.incr("c", timeout=60))

    worker = threading.Thread(target=calls, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=10)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), "50 cache calls took over 10 s"
    assert results == [None] * 50
    assert elapsed < 2, f"50 cache calls took {elapsed:.1f} s"


# ---------------------------------------------------------------- the app, cache down


def test_sign_in_is_served_when_redis_is_down(client, cache_down, account, member_factory, caplog):
    user = member_factory(account)
    for _ in range(8):
        wrong = client.post(SIGN_IN, {"email": user.email, "password": "wrong"})
        assert wrong.status_code == 200 and b"do not match" in wrong.content
    right = client.post(SIGN_IN, {"email": user.email, "password": "correct horse battery staple"})
    assert right.status_code == 302
    assert len(cache_errors(caplog)) == 1


def test_the_api_is_served_when_redis_is_down(
    client, cache_down, account, member_factory, password, caplog
):
    user = member_factory(account)
    created = client.post(
        "/api/v1/tokens",
        data={"name": "CI"},
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(user.email, password),
    )
    assert created.status_code == 201
    secret = created.json()["data"]["token"]

    for _ in range(40):
        bad = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {crypto.generate('user')}")
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    other = issue_user_token(user).secret
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200
    assert len(cache_errors(caplog)) == 1


def test_sudo_is_served_when_redis_is_down(client, cache_down, account, member_factory, password):
    client.force_login(member_factory(account))
    assert client.post("/sudo/", {"password": "wrong"}).status_code == 200
    assert client.post("/sudo/", {"password": password}).status_code == 302


def test_healthz_reports_the_cache_and_still_answers_200(client, cache_down):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "cache": "unavailable"}


def test_healthz_reports_the_cache_ok_normally(client):
    assert client.get("/healthz").json() == {"status": "ok", "cache": "ok"}


def test_healthz_touches_the_cache_at_most_once_every_few_seconds(client, monkeypatch):
    from django.core.cache.backends.locmem import LocMemCache

    calls = []
    original = LocMemCache.get
    monkeypatch.setattr(
        LocMemCache, "get", lambda self, *a, **kw: calls.append(a) or original(self, *a, **kw)
    )
    for _ in range(20):
        assert client.get("/healthz").json()["cache"] == "ok"
    assert len(calls) <= 1
