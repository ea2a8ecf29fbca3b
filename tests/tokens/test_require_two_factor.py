"""Accounts that require two-factor authentication (SPEC 16), on the token side.

A member without a second factor sees only a page asking them to add one, and their
personal tokens are refused in that account (403 policy_violation,
"two_factor_required") from the one authentication query; automation tokens and the
member's other accounts are unaffected. The second factor comes from the real factor
service (an authenticator app), never from setting the flag by hand.
"""

from __future__ import annotations

import pytest

from accounts.factors import engine
from accounts.factors.services import factors_remove_all, totp_add
from accounts.models import Account
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import basic, call
from tokens.events import Actor
from tokens.models import Event, EventKind, Token

pytestmark = pytest.mark.django_db


def add_authenticator_app(person) -> None:
    totp_add(actor=Actor.person(person), user=person, secret=engine.totp_generate_secret())
    person.refresh_from_db()


@pytest.fixture
def strict(member_factory):
    """Acme requires 2FA; the engineer (no second factor) is also a member of Other."""
    acme = AccountFactory(slug="acme", name="Acme Hosting", require_2fa=True)
    other = AccountFactory(slug="other", name="Other")
    engineer = member_factory(acme, "engineer")
    MembershipFactory(user=engineer, account=other, role="engineer")
    for account in (acme, other):
        ZoneFactory(account=account)
    return acme, other, engineer


def test_a_members_token_is_refused_where_2fa_is_required_and_works_elsewhere(client, strict):
    acme, other, engineer = strict
    secret = issue_user_token(engineer).secret
    refused = call(client, "GET", f"/accounts/{acme.pk}/zones", secret)
    assert refused.status_code == 403
    body = refused.json()
    assert body["error"] == "policy_violation" and body["policy"] == "two_factor_required"
    assert "two-factor" in body["message"]
    assert call(client, "GET", f"/accounts/{other.pk}/zones", secret).status_code == 200


def test_the_token_works_once_its_owner_adds_a_second_factor(client, strict):
    acme, _, engineer = strict
    secret = issue_user_token(engineer).secret
    assert call(client, "GET", f"/accounts/{acme.pk}/zones", secret).status_code == 403
    add_authenticator_app(engineer)
    assert call(client, "GET", f"/accounts/{acme.pk}/zones", secret).status_code == 200
    factors_remove_all(actor=Actor.person(engineer), user=engineer)
    assert call(client, "GET", f"/accounts/{acme.pk}/zones", secret).status_code == 403


def test_automation_tokens_are_unaffected(client, strict):
    acme, _, _ = strict
    secret = issue_automation_token(acme).secret
    assert call(client, "GET", f"/accounts/{acme.pk}/zones", secret).status_code == 200


def test_the_refusal_costs_no_extra_query(client, strict, django_assert_max_num_queries):
    acme, _, engineer = strict
    secret = issue_user_token(engineer).secret
    call(client, "GET", "/whoami", secret)  # the first use is written now
    with django_assert_max_num_queries(1):  # authentication only: refused before the read
        assert call(client, "GET", f"/accounts/{acme.pk}/zones", secret).status_code == 403


def test_creating_a_token_with_a_password_is_refused_for_a_person_with_a_second_factor(
    client, member_factory, password
):
    relaxed = AccountFactory(slug="relaxed")
    person = member_factory(relaxed, "engineer")
    add_authenticator_app(person)
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "ci"},
        HTTP_AUTHORIZATION=basic(person.email, password),
    )
    assert response.status_code == 403
    assert response.json()["error"] == "two_factor_required"
    assert not Token.objects.filter(user=person).exists()


def test_a_member_without_a_second_factor_sees_only_the_page_asking_for_one(client, strict):
    acme, other, engineer = strict
    client.force_login(engineer)
    page = client.get(f"/a/{acme.slug}/")
    assert page.status_code == 403
    assert b"Acme Hosting requires two-factor authentication" in page.content
    assert b'href="/security/"' in page.content
    assert client.get(f"/a/{other.slug}/").status_code == 200
    add_authenticator_app(engineer)
    assert client.get(f"/a/{acme.slug}/").status_code == 200


@pytest.fixture
def superuser(member_factory):
    account = AccountFactory(slug="acme", name="Acme Hosting")
    boss = member_factory(account, "superuser", email="boss@example.org")
    member_factory(account, "user", email="nofactor@example.org")
    return account, boss


def policies_post(client, account, **data):
    return client.post(f"/a/{account.slug}/policies/", data)


def test_a_superuser_without_a_second_factor_cannot_turn_it_on(client, superuser):
    account, boss = superuser
    client.force_login(boss)
    page = policies_post(client, account, require_2fa="on", step="preview")
    assert b"Add a second factor to your own sign-in first" in page.content
    assert not Account.objects.get(pk=account.pk).require_2fa


def test_the_preview_names_the_members_it_would_shut_out(client, superuser):
    account, boss = superuser
    add_authenticator_app(boss)
    client.force_login(boss)
    page = policies_post(client, account, require_2fa="on", step="preview")
    assert page.status_code == 200
    text = page.content.decode()
    assert "nofactor@example.org" in text and "would see only a page asking them" in text
    assert "boss@example.org (" not in text  # they have one
    assert not Account.objects.get(pk=account.pk).require_2fa  # a preview changes nothing


def test_the_members_page_shows_each_members_two_factor_status(client, superuser):
    account, boss = superuser
    add_authenticator_app(boss)
    client.force_login(boss)
    page = client.get(f"/a/{account.slug}/members/").content.decode()
    assert "Two-factor" in page
    assert page.count(">On<") == 1 and page.count(">Off<") == 1


def test_turning_it_on_is_an_event_with_before_and_after(superuser):
    from tokens.policies.rules import Policy
    from tokens.policies.services import account_policies_update

    account, boss = superuser
    account_policies_update(
        actor=Actor.person(boss), account=account, policy=Policy(require_2fa=True)
    )
    assert Account.objects.get(pk=account.pk).require_2fa
    event = Event.objects.get(kind=EventKind.POLICIES_CHANGED)
    assert event.details["before"]["require_2fa"] is False
    assert event.details["after"]["require_2fa"] is True
