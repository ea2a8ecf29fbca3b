"""Fixtures shared by every test module."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest
import redis
from django.core.cache import cache

from accounts import oidc
from tests.factories import PASSWORD, AccountFactory, MembershipFactory, UserFactory
from tests.support.issuer import OidcIssuer
from tests.support.oidc_provider import OidcProvider
from tests.support.receiver import WebhookReceiver
from tokens.usage.services import usage_push


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


@pytest.fixture(autouse=True, scope="session")
def _queue_runs_inline():
    """A queued task runs at once, in the test's thread (huey's immediate mode, in memory).

    Tests that run a real worker on a real queue say so (tests/tokens/conftest.py).
    """
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    usage_push()  # this process's usage tally goes to the cache, and with it
    cache.clear()


@pytest.fixture(autouse=True)
def _no_keys_cached(monkeypatch):
    """Every test starts with no issuer's keys cached, as a new app server would: a later
    test's issuer (SSO's or a CI's) may get an earlier one's port, hence its URL, with other
    keys, and the cache fetches again at most once a minute."""
    monkeypatch.setattr(oidc, "KEYS", oidc.KeyCache())


# A Redis database of Keyward's tests' own; each test also gets its own key prefix.
TEST_REDIS_URL = os.environ.get("KEYWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture
def redis_server():
    """A client of the tests' Redis database (KEYWARD_TEST_REDIS_URL).

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
    yield client
    client.close()


@pytest.fixture
def redis_cache(settings, redis_server):
    """The default cache on a real Redis, as in production (REDIS_URL)."""
    client = redis_server
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


# Real counterparts (tests/support/README.md): an OpenID provider, a CI issuer, a webhook receiver.


@pytest.fixture(scope="session")
def oidc_provider():
    """panva's oidc-provider under Node on 127.0.0.1 for the whole session (SPEC 17).

    Add what a test needs with oidc_provider.add_client(...) and .add_user(...).
    """
    provider = OidcProvider()
    try:
        provider.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    yield provider
    provider.stop()


@pytest.fixture
def oidc_issuer():
    """A CI ID-token issuer on 127.0.0.1 with RS256 and ES256 keys made for this test (SPEC 18).

    Its default audience is settings.KEYWARD_OIDC_AUDIENCE when that exists.
    """
    from django.conf import settings

    with OidcIssuer(audience=getattr(settings, "KEYWARD_OIDC_AUDIENCE", "keyward")) as issuer:
        yield issuer


@pytest.fixture
def webhook_receiver():
    """A webhook endpoint on 127.0.0.1 that verifies Standard Webhooks signatures (SPEC 19).

    Set webhook_receiver.secret to the endpoint's whsec_ secret; script answers with .script().
    """
    with WebhookReceiver() as receiver:
        yield receiver


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
