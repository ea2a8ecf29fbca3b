"""Fixtures shared by every test module."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest
import redis
from django.core.cache import cache

from tests.factories import PASSWORD, AccountFactory, MembershipFactory, UserFactory
from tokens.usage import usage_push


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Argon2 at production cost takes ~100 ms a hash; tests use a cheap Argon2."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    original = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher", *original]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
    yield
    settings.PASSWORD_HASHERS = original
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    usage_push()  # this process's usage tally goes to the cache, and with it
    cache.clear()


# A Redis database of Keyward's tests' own; each test also gets its own key prefix.
TEST_REDIS_URL = os.environ.get("KEYWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture
def redis_cache(settings):
    """The default cache on a real Redis, as in production (REDIS_URL).

    Skipped when no Redis answers, except where KEYWARD_REQUIRE_REDIS=1 (CI):
    there a missing Redis is a failure, not a silent skip.
    """
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        if os.environ.get("KEYWARD_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required (KEYWARD_REQUIRE_REDIS=1): {error}")
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    prefix = f"kwtest-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": REDIS_BACKEND,
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
            "OPTIONS": settings.REDIS_OPTIONS,
        }
    }
    yield client
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def cache_down(settings):
    """The default cache is a Redis that cannot be reached (a closed port)."""
    settings.CACHES = {
        "default": {
            "BACKEND": REDIS_BACKEND,
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": settings.REDIS_OPTIONS,
        }
    }


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def account(db):
    return AccountFactory(name="Acme Test", slug="acme-test")


@pytest.fixture
def member_factory(db):
    """member_factory(account, role) -> a user with that role in the account."""

    def make(account, role="engineer", **user_fields):
        user = UserFactory(**user_fields)
        MembershipFactory(user=user, account=account, role=role)
        return user

    return make


@contextlib.contextmanager
def _unreachable_database():
    from django.db import OperationalError, connection

    if connection.vendor == "postgresql":
        saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.update(saved)
        return

    def refuse(execute, sql, params, many, context):
        raise OperationalError("unable to open database file")

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture
def database_down(transactional_db):
    """`with database_down():` the database cannot be reached, and afterwards it can again.

    On PostgreSQL the connection is closed and pointed at a closed port, as when the
    server is gone: every connection attempt is refused. SQLite's in-memory test
    database cannot be closed without losing it, so there every statement fails as
    a lost file does, through Django's query instrumentation (`execute_wrapper`).
    """
    return _unreachable_database
