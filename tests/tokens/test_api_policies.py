"""SPEC 15 at request time: a token that breaks a policy of an account is refused there only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    AccountFactory,
    MembershipFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import call, set_policy
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_accounts(member_factory):
    strict, relaxed = AccountFactory(slug="strict"), AccountFactory(slug="relaxed")
    person = member_factory(strict, role="superuser")
    MembershipFactory(user=person, account=relaxed, role="engineer")
    for account in (strict, relaxed):
        ZoneFactory(account=account)
    return strict, relaxed, person


def test_a_user_token_is_blocked_in_one_account_and_works_in_the_other(client, two_accounts):
    strict, relaxed, person = two_accounts
    secret = issue_user_token(person, expires_at=None).secret
    set_policy(strict, max_lifetime_days=90)
    set_policy(relaxed, max_idle_days=30)  # the token is fresh: no effect there

    refused = call(client, "GET", f"/accounts/{strict.pk}/zones", secret)
    assert refused.status_code == 403
    body = refused.json()
    assert body["error"] == "policy_violation" and body["policy"] == "max_lifetime"
    assert "90 days" in body["message"]
    assert call(client, "GET", f"/accounts/{relaxed.pk}/zones", secret).status_code == 200
    assert call(client, "GET", "/whoami", secret).status_code == 200
    assert Token.objects.filter(user=person).exists()  # never revoked silently


def test_max_lifetime_blocks_a_token_older_than_a_new_limit(client, account):
    ZoneFactory(account=account)
    token_secret = issue_automation_token(account, expires_at=timezone.now() + timedelta(days=60))
    path = f"/accounts/{account.pk}/zones"
    assert call(client, "GET", path, token_secret.secret).status_code == 200
    set_policy(account, max_lifetime_days=60)  # exactly at the limit: still allowed
    assert call(client, "GET", path, token_secret.secret).status_code == 200
    set_policy(account, max_lifetime_days=59)
    assert call(client, "GET", path, token_secret.secret).json()["policy"] == "max_lifetime"


def test_max_idle_blocks_an_unused_token(client, account):
    ZoneFactory(account=account)
    created = issue_automation_token(account)
    Token.objects.filter(pk=created.token.pk).update(
        created_at=timezone.now() - timedelta(days=40), last_used_at=None
    )
    set_policy(account, max_idle_days=30)
    response = call(client, "GET", f"/accounts/{account.pk}/zones", created.secret)
    assert (response.status_code, response.json()["policy"]) == (403, "max_idle")
    set_policy(account, max_idle_days=60)
    assert call(client, "GET", f"/accounts/{account.pk}/zones", created.secret).status_code == 200


def test_automation_tokens_without_an_allow_list_are_blocked_user_tokens_are_not(
    client, account, member_factory
):
    ZoneFactory(account=account)
    person = member_factory(account, role="engineer")
    automation = issue_automation_token(account).secret
    listed = issue_automation_token(account, allowed_ips=["127.0.0.0/8"]).secret
    user = issue_user_token(person).secret
    set_policy(account, automation_requires_ip_allow_list=True)
    path = f"/accounts/{account.pk}/zones"
    assert call(client, "GET", path, automation).json()["policy"] == "ip_allow_list_required"
    assert call(client, "GET", path, listed).status_code == 200
    assert call(client, "GET", path, user).status_code == 200


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("203.0.113.9", 200),
        ("::ffff:203.0.113.9", 200),
        ("2001:db8::5", 200),
        ("198.51.100.9", 403),
        ("2001:db9::5", 403),
    ],
)
def test_allowed_networks(client, account, member_factory, address, status):
    ZoneFactory(account=account)
    secret = issue_user_token(member_factory(account)).secret
    set_policy(account, allowed_networks=["203.0.113.0/24", "2001:db8::/32"])
    response = call(client, "GET", f"/accounts/{account.pk}/zones", secret, REMOTE_ADDR=address)
    assert response.status_code == status
    if status == 403:
        assert response.json()["policy"] == "allowed_networks"


@pytest.mark.parametrize("with_policy", [False, True])
def test_account_routes_take_two_queries_with_and_without_a_policy(
    client, account, member_factory, with_policy
):
    zone = ZoneFactory(account=account)
    secret = issue_user_token(member_factory(account)).secret
    if with_policy:
        set_policy(
            account,
            max_lifetime_days=365,
            max_idle_days=30,
            automation_requires_ip_allow_list=True,
            allowed_networks=["127.0.0.0/8"],
        )
    path = f"/accounts/{account.pk}/zones/{zone.pk}"
    assert call(client, "GET", path, secret).status_code == 200  # first use writes last_used
    with CaptureQueriesContext(connection) as queries:
        assert call(client, "GET", path, secret).status_code == 200
    assert len(queries.captured_queries) == 2
    assert "max_lifetime_days" in queries.captured_queries[0]["sql"]


def test_a_blocked_token_costs_no_extra_query(client, account, member_factory):
    secret = issue_user_token(member_factory(account), expires_at=None).secret
    set_policy(account, max_lifetime_days=30)
    path = f"/accounts/{account.pk}/zones"
    call(client, "GET", path, secret)
    with CaptureQueriesContext(connection) as queries:
        response = call(client, "GET", path, secret)
    assert response.status_code == 403 and json.loads(response.content)["policy"]
    assert len(queries.captured_queries) == 1


def test_a_refused_request_does_not_count_as_use(client, account):
    """Regression: the refused attempt once wrote last_used_at, which unblocked an idle token."""
    ZoneFactory(account=account)
    created = issue_automation_token(account)
    long_ago = timezone.now() - timedelta(days=40)
    Token.objects.filter(pk=created.token.pk).update(created_at=long_ago, last_used_at=long_ago)
    set_policy(account, max_idle_days=30)
    for _ in range(2):
        response = call(client, "GET", f"/accounts/{account.pk}/zones", created.secret)
        assert (response.status_code, response.json()["policy"]) == (403, "max_idle")
    assert call(client, "GET", "/whoami", created.secret).status_code == 200
    assert call(client, "GET", f"/accounts/{account.pk}/zones", created.secret).status_code == 403
    assert Token.objects.get(pk=created.token.pk).last_used_at == long_ago
