"""SPEC 15 at creation and edit, the preview, saving policies, and blocked_in."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from tests.factories import (
    PASSWORD,
    AccountFactory,
    MembershipFactory,
    issue_automation_token,
    issue_user_token,
)
from tokens.events import Actor
from tokens.models import Event, EventKind, Token
from tokens.policies.rules import NO_POLICY, Policy
from tokens.policies.selectors import policy_preview, token_blocked_in
from tokens.policies.services import account_policies_update
from tokens.services.change import token_update_permissions
from tokens.validation import TokenValidationError

pytestmark = pytest.mark.django_db


def set_policy(account: Account, **policy) -> None:
    Account.objects.filter(pk=account.pk).update(**policy)
    account.refresh_from_db()


def test_an_automation_token_beyond_the_maximum_lifetime_is_refused(account):
    set_policy(account, max_lifetime_days=30)
    with pytest.raises(TokenValidationError) as refused:
        issue_automation_token(account, expires_at=None)
    assert "Maximum lifetime" in refused.value.message_dict["expires_at"][0]
    with pytest.raises(TokenValidationError):
        issue_automation_token(account, expires_at=timezone.now() + timedelta(days=31))
    # The default (90 days) is beyond it too; 30 days is within.
    issue_automation_token(account, expires_at=timezone.now() + timedelta(days=30))
    assert Token.objects.count() == 1


def test_an_automation_token_without_a_required_allow_list_is_refused(account):
    set_policy(account, automation_requires_ip_allow_list=True)
    with pytest.raises(TokenValidationError) as refused:
        issue_automation_token(account)
    assert "Automation tokens need an IP allow-list" in refused.value.message_dict["allowed_ips"][0]
    issue_automation_token(account, allowed_ips=["192.0.2.0/24"])


def test_editing_away_a_required_allow_list_is_refused(account):
    token = issue_automation_token(account, allowed_ips=["192.0.2.0/24"]).token
    set_policy(account, automation_requires_ip_allow_list=True)
    token.refresh_from_db()
    with pytest.raises(TokenValidationError) as refused:
        token_update_permissions(
            actor=Actor.system("tests"),
            token=token,
            name="CI",
            scopes=["global"],
            resources=None,
            allowed_ips="",
            sudo=True,
        )
    assert "allowed_ips" in refused.value.message_dict
    token.refresh_from_db()
    assert token.allowed_ips == ["192.0.2.0/24"]


def test_a_token_already_outside_a_policy_stays_editable(account):
    token = issue_automation_token(account, expires_at=None).token
    set_policy(account, max_lifetime_days=30)
    token.refresh_from_db()
    updated = token_update_permissions(
        actor=Actor.system("tests"),
        token=token,
        name="Renamed",
        scopes=["global"],
        resources=None,
        allowed_ips="",
        sudo=True,
    )
    assert updated.name == "Renamed"


def test_a_user_token_is_created_anyway_and_says_where_it_is_blocked(member_factory):
    strict, relaxed = AccountFactory(name="Strict"), AccountFactory(name="Relaxed")
    person = member_factory(strict)
    MembershipFactory(user=person, account=relaxed)
    set_policy(strict, max_lifetime_days=30)
    set_policy(relaxed, max_lifetime_days=365)
    created = issue_user_token(person, expires_at=timezone.now() + timedelta(days=90))
    blocked = token_blocked_in(created.token)
    assert [(b.account.pk, b.policy, b.label) for b in blocked] == [
        (strict.pk, "max_lifetime", "Maximum lifetime")
    ]


def test_post_tokens_answers_blocked_in(client, member_factory):
    strict, relaxed = AccountFactory(), AccountFactory()
    person = member_factory(strict)
    MembershipFactory(user=person, account=relaxed)
    set_policy(strict, max_lifetime_days=30)
    credentials = base64.b64encode(f"{person.email}:{PASSWORD}".encode()).decode()
    response = client.post(
        "/api/v1/tokens",
        {"name": "deploy", "scopes": ["global:read"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert response.status_code == 201, response.content
    body = response.json()["data"]
    assert body["blocked_in"] == [strict.pk] and body["token"].startswith("kwu_")


def test_the_preview_lists_the_tokens_a_policy_would_block(account, member_factory):
    person = member_factory(account)
    forever = issue_user_token(person, name="forever", expires_at=None).token
    issue_user_token(person, name="short", expires_at=timezone.now() + timedelta(days=10))
    ci = issue_automation_token(account, name="ci").token
    elsewhere = issue_automation_token(AccountFactory(), expires_at=None).token
    preview = policy_preview(account, Policy(max_lifetime_days=30))
    assert [(token.pk, policy) for token, policy in preview] == [
        (ci.pk, "max_lifetime"),  # 90 days by default
        (forever.pk, "max_lifetime"),
    ]
    assert elsewhere.pk not in {token.pk for token, _ in preview}
    assert policy_preview(account, NO_POLICY) == []


def test_the_preview_judges_networks_by_the_last_used_address(account, member_factory):
    person = member_factory(account)
    token = issue_user_token(person).token
    policy = Policy(allowed_networks=("10.0.0.0/8",))
    assert policy_preview(account, policy) == []  # never used: nothing to judge
    Token.objects.filter(pk=token.pk).update(last_used_ip="192.0.2.1")
    assert [policy for _, policy in policy_preview(account, policy)] == ["allowed_networks"]


def test_saving_policies_logs_before_and_after(account, member_factory):
    boss = member_factory(account, role="superuser")
    account_policies_update(
        actor=Actor.person(boss),
        account=account,
        policy=Policy(max_idle_days=30, allowed_networks=("10.0.0.0/8",)),
    )
    account.refresh_from_db()
    assert (account.max_idle_days, account.allowed_networks) == (30, ["10.0.0.0/8"])
    event = Event.objects.get(kind=EventKind.POLICIES_CHANGED)
    assert event.account == account
    assert event.details["before"]["max_idle_days"] is None
    assert event.details["after"]["max_idle_days"] == 30
    account_policies_update(actor=Actor.person(boss), account=account, policy=Policy.of(account))
    assert Event.objects.filter(kind=EventKind.POLICIES_CHANGED).count() == 1  # unchanged


@pytest.mark.parametrize(
    "policy", [Policy(max_lifetime_days=0), Policy(max_idle_days=6), Policy(max_idle_days=731)]
)
def test_out_of_range_policies_are_refused(account, policy):
    with pytest.raises(ValueError):
        account_policies_update(actor=Actor.system("tests"), account=account, policy=policy)


@pytest.mark.parametrize(
    "values",
    [{"max_lifetime_days": 3651}, {"max_lifetime_days": 0}, {"max_idle_days": 6}],
)
def test_the_database_refuses_out_of_range_policies(account, values):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(**values)


# --------------------------------------------------------------------------- idle cleanup


def _idle(created, days: float) -> Token:
    Token.objects.filter(pk=created.token.pk).update(
        created_at=timezone.now() - timedelta(days=days), last_used_at=None
    )
    return created.token


def test_the_cleanup_revokes_automation_tokens_past_max_idle_and_only_blocks_user_tokens(
    account, member_factory
):
    from io import StringIO

    from django.core.management import call_command

    from tokens.models import ActorKind

    person = member_factory(account)
    idle_bot = _idle(issue_automation_token(account, name="idle bot"), 31)
    fresh_bot = _idle(issue_automation_token(account, name="fresh bot"), 29)
    idle_user = _idle(issue_user_token(person, name="idle person"), 31)
    other = _idle(issue_automation_token(AccountFactory(), name="no policy"), 31)
    set_policy(account, max_idle_days=30)

    out = StringIO()
    call_command("delete_stale_tokens", "--dry-run", stdout=out)
    assert "would revoke (policy: Maximum idle time)" in out.getvalue()
    assert Token.objects.filter(pk=idle_bot.pk).exists()

    out = StringIO()
    call_command("delete_stale_tokens", stdout=out)
    assert "1 idle automation token revoked (policy: Maximum idle time)." in out.getvalue()
    remaining = set(Token.objects.values_list("pk", flat=True))
    assert idle_bot.pk not in remaining
    assert {fresh_bot.pk, idle_user.pk, other.pk} <= remaining
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED, token_id=idle_bot.pk)
    assert event.actor_kind == ActorKind.SYSTEM
    assert "Maximum idle time" in event.summary and event.details["revoked_by"] == "max_idle"
    assert token_blocked_in(Token.objects.get(pk=idle_user.pk))[0].policy == "max_idle"


def test_user_tokens_are_never_refused_at_creation_or_edit(account, member_factory):
    person = member_factory(account)
    set_policy(account, max_lifetime_days=1, automation_requires_ip_allow_list=True)
    token = issue_user_token(person, expires_at=None, allowed_ips=["192.0.2.0/24"]).token
    updated = token_update_permissions(
        actor=Actor.person(person),
        token=token,
        name="still mine",
        scopes=["global"],
        resources=None,
        allowed_ips="",
        sudo=True,
    )
    assert updated.allowed_ips == []
    assert [b.policy for b in token_blocked_in(updated)] == ["max_lifetime"]
