"""Accounts that force single sign-on (SPEC 17), on the token side.

A member's user token is refused in such an account (403 policy_violation,
"sso_required"), read in the one authentication query, until its owner authorizes it
for the account's SSO; automation tokens and the member's other accounts are
unaffected. The SSO sign-in itself is tested against the real OpenID provider
(tests/accounts/sso/, tests/browser/test_sso.py); here the session's SSO mark is what
that flow leaves.
"""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.constants import Plan
from accounts.sso.services import sso_configure, sso_force_set, sso_test_passed
from accounts.sso.session import SSO_SESSION_KEY
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import call
from tokens.events import Actor
from tokens.models import Event, EventKind
from tokens.services.issue import token_create
from tokens.sso.models import TokenSsoAuthorization
from tokens.sso.services import token_sso_authorize

pytestmark = pytest.mark.django_db


def forced(account, owner) -> None:
    actor = Actor.person(owner)
    sso_configure(
        actor=actor,
        account=account,
        issuer="https://idp.example",
        client_id="keyward",
        client_secret="s3cret",
        domains=["example.org"],
    )
    sso_test_passed(actor=actor, account=account)
    sso_force_set(actor=actor, account=account, force=True)
    account.refresh_from_db()


@pytest.fixture
def strict(member_factory):
    """Acme (enterprise) forces SSO; the engineer is also a member of Other."""
    acme = AccountFactory(slug="acme", name="Acme Hosting", plan=Plan.ENTERPRISE)
    other = AccountFactory(slug="other", name="Other")
    boss = member_factory(acme, "superuser")
    engineer = member_factory(acme, "engineer")
    MembershipFactory(user=engineer, account=other, role="engineer")
    for account in (acme, other):
        ZoneFactory(account=account)
    forced(acme, boss)
    return acme, other, engineer


def test_a_members_token_is_refused_where_sso_is_forced_and_works_elsewhere(client, strict):
    acme, other, engineer = strict
    secret = issue_user_token(engineer).secret

    refused = call(client, "GET", f"/accounts/{acme.pk}/zones", secret)

    assert refused.status_code == 403
    body = refused.json()
    assert body["error"] == "policy_violation" and body["policy"] == "sso_required"
    assert "Authorize for SSO" in body["message"]
    assert call(client, "GET", f"/accounts/{other.pk}/zones", secret).status_code == 200
    assert call(client, "GET", "/whoami", secret).status_code == 200


def test_an_authorized_token_works(client, strict):
    acme, _, engineer = strict
    created = issue_user_token(engineer)
    assert call(client, "GET", f"/accounts/{acme.pk}/zones", created.secret).status_code == 403

    token_sso_authorize(actor=Actor.person(engineer), token=created.token, account=acme)

    assert call(client, "GET", f"/accounts/{acme.pk}/zones", created.secret).status_code == 200
    event = Event.objects.get(kind=EventKind.TOKEN_SSO_AUTHORIZED)
    assert event.account_id == acme.pk and event.token_id == created.token.pk


def test_stopping_force_sso_lets_every_token_in(client, strict):
    acme, _, engineer = strict
    secret = issue_user_token(engineer).secret
    boss = acme.memberships.get(role="superuser").user

    sso_force_set(actor=Actor.person(boss), account=acme, force=False)

    assert call(client, "GET", f"/accounts/{acme.pk}/zones", secret).status_code == 200


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


def test_an_authorized_token_takes_the_same_two_queries(client, strict):
    acme, _, engineer = strict
    created = issue_user_token(engineer)
    token_sso_authorize(actor=Actor.person(engineer), token=created.token, account=acme)
    zone = acme.zones.first()
    path = f"/accounts/{acme.pk}/zones/{zone.pk}"
    assert call(client, "GET", path, created.secret).status_code == 200  # writes last_used
    with CaptureQueriesContext(connection) as queries:
        assert call(client, "GET", path, created.secret).status_code == 200
    assert len(queries.captured_queries) == 2
    assert "sso" in queries.captured_queries[0]["sql"]


def test_a_token_created_in_a_session_through_sso_is_authorized_at_creation(strict):
    acme, other, engineer = strict
    created = token_create(
        actor=Actor.person(engineer),
        token_type="user",
        name="made after SSO",
        owner=engineer,
        scopes=["zones:read"],
        sso_accounts={acme.pk, other.pk},
    )
    authorized = TokenSsoAuthorization.objects.filter(token=created.token)
    assert sorted(authorized.values_list("account_id", flat=True)) == sorted([acme.pk, other.pk])


def mark_sso(client, account, user) -> None:
    session = client.session
    session[SSO_SESSION_KEY] = {str(account.pk): {"user": user.pk, "at": time.time()}}
    session.save()


def test_the_token_page_says_it_needs_authorization_and_authorizes_it(client, strict):
    acme, _, engineer = strict
    created = issue_user_token(engineer)
    client.force_login(engineer)
    page = client.get(f"/tokens/{created.token.pk}/")
    assert b"Needs SSO authorization for Acme Hosting" in page.content
    assert b"Sign in with SSO to authorize it" in page.content
    listed = client.get("/tokens/")
    assert b"Needs SSO authorization for Acme Hosting" in listed.content

    # Without a session through Acme's SSO the button refuses, and nothing changes.
    refused = client.post(f"/tokens/{created.token.pk}/sso/{acme.slug}/", follow=True)
    assert b"Sign in with Acme Hosting&#x27;s SSO first" in refused.content
    assert not TokenSsoAuthorization.objects.exists()

    mark_sso(client, acme, engineer)
    assert b"Authorize for SSO" in client.get(f"/tokens/{created.token.pk}/").content
    done = client.post(f"/tokens/{created.token.pk}/sso/{acme.slug}/", follow=True)
    assert "now works in Acme Hosting" in done.content.decode()
    assert TokenSsoAuthorization.objects.filter(token=created.token, account=acme).exists()
    assert b"Needs SSO authorization" not in client.get(f"/tokens/{created.token.pk}/").content


def test_another_persons_token_cannot_be_authorized(client, strict, member_factory):
    acme, _, engineer = strict
    created = issue_user_token(engineer)
    boss = acme.memberships.get(role="superuser").user
    client.force_login(boss)
    mark_sso(client, acme, boss)
    assert client.post(f"/tokens/{created.token.pk}/sso/{acme.slug}/").status_code == 404
    assert not TokenSsoAuthorization.objects.exists()


def test_the_panel_shows_only_the_sso_page_to_a_session_not_through_sso(client, strict):
    acme, other, engineer = strict
    client.force_login(engineer)
    page = client.get(f"/a/{acme.slug}/")
    assert page.status_code == 403
    assert b"Acme Hosting requires single sign-on" in page.content
    assert client.get(f"/a/{other.slug}/").status_code == 200
    mark_sso(client, acme, engineer)
    assert client.get(f"/a/{acme.slug}/").status_code == 200


def _ability(page, account) -> str:
    """The "What it can do" part of a token page for one account, as text."""
    content = page.content.decode()
    start = content.index(f"<h3>In {account.name} ")
    end = content.find("<h3>In ", start + 1)
    return content[start : end if end != -1 else None]


def test_what_it_can_do_says_it_can_do_nothing_where_sso_refuses_it(client, strict):
    acme, other, engineer = strict
    created = issue_user_token(engineer, scopes=["zones:read"])
    client.force_login(engineer)

    page = client.get(f"/tokens/{created.token.pk}/")

    in_acme = _ability(page, acme)
    assert "Needs SSO authorization for Acme Hosting." in in_acme
    assert "It can do nothing there until you authorize it for SSO" in in_acme
    assert "It may:" not in in_acme and "Within the policy" not in in_acme
    assert "Once authorized, it may (1)" in in_acme
    assert "It may:" in _ability(page, other)  # its other account is untouched

    # The same rule as the API's: once authorized, the page lists what it may do there.
    mark_sso(client, acme, engineer)
    client.post(f"/tokens/{created.token.pk}/sso/{acme.slug}/")
    in_acme = _ability(client.get(f"/tokens/{created.token.pk}/"), acme)
    assert "It may:" in in_acme and "Needs SSO authorization" not in in_acme


def test_the_sso_need_shows_even_when_another_policy_blocks_the_token_first(client, strict):
    acme, _, engineer = strict
    created = issue_user_token(engineer, scopes=["zones:read"])  # never expires
    acme.max_lifetime_days = 30
    acme.save(update_fields=["max_lifetime_days"])
    client.force_login(engineer)

    page = client.get(f"/tokens/{created.token.pk}/")

    in_acme = _ability(page, acme)
    assert "Maximum lifetime" in in_acme  # what the API names first
    assert "Needs SSO authorization for Acme Hosting." in in_acme
    assert b"Sign in with SSO to authorize it" in page.content
