"""The token page tells the whole truth (SPEC 13): record rules, selected resources by name,
the IP allow-list, the policies that block it and where, accounts where it can do nothing,
denials by name, Delete on the page, and a usage chart readable at any age."""

from __future__ import annotations

import html
import re
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Role
from tests.factories import AccountFactory, ZoneFactory, issue_automation_token, issue_user_token
from tests.tokens.conftest import set_policy
from tokens.models import Token
from tokens.usage.models import TokenDenial, TokenUsage

pytestmark = pytest.mark.django_db

ACME_RULES = [
    {"name": "_acme-challenge", "types": ["TXT"]},
    {"name": "_acme-challenge.*", "types": ["TXT"]},
]


def page(client, user, token, **query) -> str:
    client.force_login(user)
    response = client.get(reverse("tokens:detail", args=[token.pk]), query)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def section(body: str, heading: str) -> str:
    """The text of the page from `heading` to the next account's heading (or the card's end)."""
    start = body.index(heading)
    markers = ('<div class="ability">', "</section>")
    ends = [body.find(marker, start + len(heading)) for marker in markers]
    return body[start : min(end for end in ends if end != -1)]


@pytest.fixture
def certbot(account, member_factory):
    """SPEC 14's ACME token: zones:write on one zone, only its challenge records, one host;
    its owner is also an engineer of a second account, where it selects nothing."""
    owner = member_factory(account, Role.SUPERUSER)
    other = AccountFactory(slug="side", name="Side Project")
    from accounts.models import Membership

    Membership.objects.create(user=owner, account=other, role=Role.ENGINEER)
    web1 = ZoneFactory(account=account, name="web1.example")
    ZoneFactory(account=other, name="side.example")
    token = issue_user_token(
        owner,
        name="certbot on web1",
        scopes=["zones:write"],
        resources={"zones": [web1.pk]},
        record_rules=ACME_RULES,
        allowed_ips=["203.0.113.7"],
    ).token
    return owner, token, other


def test_record_rules_resources_and_addresses_in_words(client, account, certbot):
    owner, token, _other = certbot
    body = page(client, owner, token)
    acme = section(body, f"In {account.name}")
    assert "✓ Change DNS zones and records" in acme
    assert "DNS zones: only web1.example" in acme
    assert "TXT records named _acme-challenge or _acme-challenge.*" in acme
    assert "it creates, deletes, lists and reads no other record" in acme
    assert "Addresses: only 203.0.113.7/32 (its IP allow-list)" in acme
    assert "selected" not in body  # never "zones: 0 selected"
    assert f">{token.zones.get().pk}<" not in body  # names, not ids


def test_an_account_where_its_selection_is_empty_says_it_can_do_nothing(client, certbot):
    owner, token, other = certbot
    side = section(page(client, owner, token), f"In {other.name}")
    assert (
        f"It can do nothing in {other.name}: none of the DNS zones it selects is in this account."
        in side
    )
    assert "It may:" not in side and "✓" not in side
    assert f"None of the DNS zones it selects is in {other.name}." in side  # under "It may not"


def test_all_resources_are_said_to_be_all(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="Reader", scopes=["zones:read"]).token
    acme = section(page(client, owner, token), f"In {account.name}")
    assert f"DNS zones: all of them in {account.name}" in acme
    assert "Addresses: any (it has no IP allow-list)" in acme


def test_a_policy_that_blocks_it_is_named_with_its_account(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_automation_token(account, name="Bot", creator=owner).token  # 90 days
    set_policy(account, max_lifetime_days=30, allowed_networks=["10.0.0.0/8"])
    body = page(client, owner, token)
    assert "Blocked by policy" in body
    acme = section(body, f"In {account.name}")
    assert "Maximum lifetime: The account allows tokens a maximum lifetime of 30 days" in acme
    assert f"It is refused in {account.name} until it fits." in acme
    assert f"{account.name} accepts tokens only from 10.0.0.0/8" in acme


def test_a_token_no_policy_blocks_says_nothing_of_policies(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_automation_token(account, name="Bot", creator=owner).token
    assert "Blocked by policy" not in page(client, owner, token)


def test_denials_name_accounts_and_resources_never_ids(client, account, certbot):
    owner, token, _other = certbot
    stranger = AccountFactory(slug="far", name="Far Away Ltd")
    hidden = ZoneFactory(account=account, name="secret.example")
    now = timezone.now()
    rows = [
        ("zones:write", "not_selected", account.pk, hidden.pk),
        ("zones:read", "not_in_account", stranger.pk, None),
        ("zones:write", "record_not_allowed", account.pk, token.zones.get().pk),
    ]
    TokenDenial.objects.bulk_create(
        TokenDenial(
            token=token, at=now - timedelta(minutes=n), seq=n, operation=op, reason=reason,
            required_scope=op, account_id=account_id, resource_id=resource_id,
        )
        for n, (op, reason, account_id, resource_id) in enumerate(rows)
    )  # fmt: skip
    body = page(client, owner, token)
    denials = body[body.index("Recent denials") :]
    assert f'data-label="Account">{account.name}<' in denials
    assert 'data-label="Account">An account it does not act in<' in denials
    assert "Far Away Ltd" not in body  # an account the token is not in stays unnamed
    assert 'data-label="Resource">secret.example<' in denials  # in its account: named
    assert 'data-label="Resource">web1.example<' in denials
    assert "Outside its record rules" in denials and "Outside the resources it selects" in denials
    assert not re.search(r'data-label="(Account|Resource)">\d+<', denials)


def test_delete_is_on_the_page_and_lands_on_the_list(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="Laptop").token
    detail = reverse("tokens:detail", args=[token.pk])
    body = page(client, owner, token)
    delete = f"{reverse('tokens:delete', args=[token.pk])}?next={detail}"
    assert f'href="{delete}"' in body.replace("%2F", "/")
    confirm = client.get(delete).content.decode()
    assert f'href="{detail}">Cancel' in confirm  # Cancel goes back to the token's page
    response = client.post(reverse("tokens:delete", args=[token.pk]), {"next": detail})
    assert response.status_code == 302 and response["Location"] == reverse("tokens:list")
    assert not Token.objects.filter(pk=token.pk).exists()


def test_a_superuser_removes_a_members_token_from_the_page(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    engineer = member_factory(account, Role.ENGINEER)
    from accounts.models import Membership

    Membership.objects.create(user=engineer, account=AccountFactory(slug="else"), role="user")
    token = issue_user_token(engineer, name="Theirs").token
    body = page(client, owner, token)
    assert f"Remove from {account.name}" in body
    assert f"account={account.slug}" in body


def test_a_members_token_shows_only_the_accounts_its_viewer_belongs_to(
    client, account, member_factory
):
    from accounts.models import Membership

    boss = member_factory(account, Role.SUPERUSER)
    engineer = member_factory(account, Role.ENGINEER)
    secret = AccountFactory(slug="secret-co", name="Secret Co")
    Membership.objects.create(user=engineer, account=secret, role="superuser")
    token = issue_user_token(engineer, name="Theirs").token

    seen_by_boss = page(client, boss, token)
    assert f"In {account.name} " in seen_by_boss
    assert "Secret Co" not in seen_by_boss and "secret-co" not in seen_by_boss
    assert "It also acts in 1 other account of its owner, which you do not belong to." in (
        seen_by_boss
    )
    seen_by_owner = page(client, engineer, token)
    assert "In Secret Co " in seen_by_owner and "It also acts in" not in seen_by_owner


def _use(token, ages: list[int], operation: str = "zones:read") -> None:
    today = timezone.now().astimezone(UTC).date()
    TokenUsage.objects.bulk_create(
        TokenUsage(
            token=token, day=today - timedelta(days=age), operation=operation, allowed=10 + age,
            denied=1, last_at=timezone.now() - timedelta(days=age),
        )
        for age in ages
    )  # fmt: skip


def test_the_chart_starts_at_the_first_use(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="Young").token
    _use(token, [0, 1, 11])  # first used 12 days ago (today included)
    body = page(client, owner, token)
    chart = body[body.index("<svg") : body.index("</svg>")]
    assert chart.count("<title>") == 12
    first = (timezone.now().astimezone(UTC).date() - timedelta(days=11)).strftime("%b %-d")
    assert f"<span>{first}</span>" in body
    assert "peak 22/day" in body  # 21 allowed and 1 denied, 11 days ago


def test_a_recent_first_use_still_shows_a_week(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="New").token
    _use(token, [0, 1, 2])
    body = page(client, owner, token)
    chart = body[body.index("<svg") : body.index("</svg>")]
    assert chart.count("<title>") == 7


def test_a_token_used_on_two_days_gets_a_table_of_them(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="Seldom").token
    _use(token, [0, 20])
    body = page(client, owner, token)
    assert "<svg" not in body
    assert "Used on 2 days in the last 30 days" in body
    assert body.count("<span>Read DNS zones and records <code") == 2


def test_dates_in_one_format_and_utc_said_once(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="Dated").token
    token.last_used_at = timezone.now()
    token.save()
    for url in (
        reverse("tokens:detail", args=[token.pk]),
        reverse("tokens:list"),
        reverse("tokens:account-list", args=[account.slug]),
        reverse("events:event-log", args=[account.slug]),
    ):
        client.force_login(owner)
        body = re.sub(r"<[^>]+>", " ", client.get(url).content.decode())
        assert body.count("UTC") == 1, url
        assert "Times are in UTC." in body
    # A page that shows no time says nothing about them (a profile with no sign-ins yet).
    for url in (
        reverse("tokens:new"),
        reverse("accounts:plan", args=[account.slug]),
        reverse("accounts:profile"),
    ):
        assert "UTC" not in client.get(url).content.decode(), url
    body = page(client, owner, token)
    created = token.created_at.astimezone(UTC)
    assert f"{created:%b} {created.day}, {created:%Y %H:%M}" in body


def test_a_token_on_everything_says_so_in_one_line(client, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    token = issue_user_token(owner, name="Everything", scopes=["global"]).token
    acme = section(page(client, owner, token), f"In {account.name}")
    assert f"Resources: all of them in {account.name}" in acme
    assert "DNS zones: all" not in acme
