"""The token page (SPEC 13): reach, what it shows, its query count, and narrowing."""

from __future__ import annotations

import html
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Plan
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tokens.usage.models import TokenDenial, TokenUsage
from tokens.usage.rules import COUNTED_OPERATIONS, Denial
from tokens.usage.services import usage_record
from tokens.views.common import managed_account_ids, token_changes_allowed

pytestmark = pytest.mark.django_db

OPERATIONS_14 = [op for op in COUNTED_OPERATIONS if op != "accounts"]


@pytest.fixture
def people(account, member_factory):
    return {
        "owner": member_factory(account, "superuser"),
        "engineer": member_factory(account, "engineer"),
        "stranger": member_factory(AccountFactory(slug="other"), "superuser"),
    }


def page(client, user, token):
    client.force_login(user)
    return client.get(reverse("tokens:detail", args=[token.pk]))


def test_reach_is_the_lists(client, account, people):
    mine = issue_user_token(people["engineer"], name="Mine").token
    bot = issue_automation_token(account, name="Bot", creator=people["owner"]).token
    assert page(client, people["engineer"], mine).status_code == 200
    assert page(client, people["engineer"], bot).status_code == 404
    assert page(client, people["owner"], mine).status_code == 200  # a member's token
    assert page(client, people["owner"], bot).status_code == 200
    assert page(client, people["stranger"], mine).status_code == 404
    assert page(client, people["stranger"], bot).status_code == 404
    client.logout()
    assert client.get(reverse("tokens:detail", args=[mine.pk])).status_code == 302


def test_the_lists_link_to_the_page(client, account, people):
    mine = issue_user_token(people["owner"], name="Deploy").token
    client.force_login(people["owner"])
    href = f'href="{reverse("tokens:detail", args=[mine.pk])}"'
    assert href in client.get(reverse("tokens:list")).content.decode()
    account_list = client.get(reverse("tokens:account-list", args=[account.slug]))
    assert href in account_list.content.decode()


def test_the_page_says_what_it_can_do_did_and_was_refused(client, account, people):
    created = issue_user_token(people["engineer"], name="CI", scopes=["zones:write"])
    token = created.token
    now = timezone.now()
    for _ in range(3):
        usage_record(token_id=token.pk, operation="zones:read", allowed=True, now=now)
    usage_record(
        token_id=token.pk,
        operation="purge_all",
        allowed=False,
        now=now,
        denial=Denial("purge_all", "purge_all", account.pk, 42, "198.51.100.4"),
    )
    client.get("/", HTTP_USER_AGENT="x")  # nothing written yet: the page flushes first
    body = html.unescape(page(client, people["engineer"], token).content.decode())
    assert "What it can do" in body and "What it did" in body and "Recent denials" in body
    assert "Change DNS zones and records" in body  # allowed, in words
    assert "The owner's role (engineer) in Acme Test does not allow it." in body
    assert "None of the token's scopes covers it (it needs “purge_all”)." in body
    # Used on one day only: the days in a table, not a chart of one bar.
    assert "too little for a chart" in body and "<svg" not in body and "style=" not in body
    assert "198.51.100.4" in body
    assert "Narrow to what it used" in body


def test_the_header(client, account, people):
    token = issue_automation_token(account, name="Bot", creator=people["owner"]).token
    token.last_used_at = timezone.now() - timedelta(hours=2)
    token.last_used_ip = "203.0.113.50"
    token.last_used_user_agent = "terraform/1.9"
    token.save()
    body = page(client, people["owner"], token).content.decode()
    for text in ("Automation token", "Acme Test", "203.0.113.50", "terraform/1.9", "Expires"):
        assert text in body
    assert "Narrow to what it used" not in body  # it did nothing: nothing to suggest


def _usage(token, days):
    today = timezone.now().astimezone(UTC).date()
    TokenUsage.objects.bulk_create(
        TokenUsage(
            token=token,
            day=today - timedelta(days=age),
            operation=op,
            allowed=age + 1,
            denied=age % 3,
            last_at=timezone.now() - timedelta(days=age),
        )
        for age in range(days)
        for op in OPERATIONS_14
    )
    TokenDenial.objects.bulk_create(
        TokenDenial(
            token=token, at=timezone.now() - timedelta(minutes=n), seq=n, operation="purge_all",
            required_scope="purge_all",
        )
        for n in range(50 if days > 1 else 1)
    )  # fmt: skip


def test_query_count_does_not_grow_with_usage(client, account, people):
    # A selection (of one zone: "selected" with none is refused since issue 14).
    zones = {"zones": [ZoneFactory(account=account).pk]}
    small = issue_user_token(people["owner"], name="Small", resources=zones).token
    large = issue_user_token(people["owner"], name="Large", resources=zones).token
    _usage(small, 1)
    _usage(large, 90)
    client.force_login(people["owner"])
    page(client, people["owner"], small)  # warm the session
    counts = []
    for token in (small, large):
        with CaptureQueriesContext(connection) as captured:
            assert page(client, people["owner"], token).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1], f"{counts[0]} queries for 1 day, {counts[1]} for 90 x 14"


def test_narrow_opens_edit_permissions_with_the_suggested_scopes(client, account, people):
    token = issue_user_token(people["owner"], name="Wide").token
    now = timezone.now()
    usage_record(token_id=token.pk, operation="zones:read", allowed=True, now=now)
    usage_record(token_id=token.pk, operation="services:write", allowed=True, now=now)
    usage_record(token_id=token.pk, operation="domains:read", allowed=False, now=now)
    client.force_login(people["owner"])
    body = page(client, people["owner"], token).content.decode()
    narrow = reverse("tokens:edit", args=[token.pk]) + "?narrow=1"
    assert f'href="{narrow}"' in body
    form = client.get(narrow)
    checked = [
        field.data["value"] for field in form.context["form"]["scopes"] if field.data["selected"]
    ]
    assert checked == ["zones:read", "services:write"]
    token.refresh_from_db()
    assert token.scopes == ["global"]  # nothing saved until Update token


def test_solo_plan_refusal_in_words(client, people):
    account = AccountFactory(slug="solo-x", name="Solo X", plan=Plan.TEAMS)
    bot = issue_automation_token(account, name="Bot", scopes=["zones:read"]).token
    account.plan = Plan.SOLO
    account.save()
    owner = people["owner"]
    MembershipFactory(user=owner, account=account, role="superuser")
    body = html.unescape(page(client, owner, bot).content.decode())
    assert "On the Solo plan automation tokens cannot have chosen scopes" in body


def test_no_narrowing_where_the_plan_gives_automation_tokens_global(client, people):
    solo = AccountFactory(slug="solo-y", name="Solo Y", plan=Plan.SOLO)
    MembershipFactory(user=people["owner"], account=solo, role="superuser")
    bot = issue_automation_token(solo, name="Bot").token
    usage_record(token_id=bot.pk, operation="zones:read", allowed=True, now=timezone.now())
    body = page(client, people["owner"], bot).content.decode()
    assert "<code>zones:read</code>" in body  # what it did is shown
    assert "Narrow to what it used" not in body


def test_the_token_pages_link_to_the_api_docs(client, account, member_factory):
    owner = member_factory(account, "superuser")
    token = issue_user_token(owner, name="docs link").token
    client.force_login(owner)
    for url in (
        reverse("tokens:list"),
        reverse("tokens:account-list", args=[account.slug]),
        reverse("tokens:detail", args=[token.pk]),
    ):
        html = client.get(url).content.decode()
        assert f'href="{reverse("api:openapi-view")}"' in html, url
    assert client.get(reverse("api:openapi-view")).status_code == 200


def test_who_may_change_a_token_is_decided_whatever_showed_it(account, people):
    """views.common.token_changes_allowed stands on its own: an automation token is its
    account's superusers' to change, not anyone's a page happened to show it to."""
    robot = issue_automation_token(account, creator=people["owner"]).token
    mine = issue_user_token(people["engineer"]).token
    for user, expected in ((people["owner"], True), (people["stranger"], False)):
        managed = managed_account_ids(user, [robot])
        assert token_changes_allowed(robot, user, managed) is expected
    nobody_manages = managed_account_ids(people["engineer"], [robot])
    assert not token_changes_allowed(robot, people["engineer"], nobody_manages)
    assert token_changes_allowed(mine, people["engineer"], frozenset())
    assert not token_changes_allowed(mine, people["owner"], {account.pk})  # not theirs
