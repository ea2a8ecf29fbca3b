"""Fixtures shared by every test module."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import PASSWORD, AccountFactory, MembershipFactory, UserFactory


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
    cache.clear()


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
