"""Token pages cost the same number of queries for 1 token as for 100 tokens x 500 zones."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.constants import Role
from accounts.models import Account, User, Zone
from tests.factories import MembershipFactory, UserFactory, issue_automation_token
from tokens.events import Actor
from tokens.models import Token
from tokens.selectors import tokens_acting_in
from tokens.services.issue import token_create

pytestmark = pytest.mark.django_db


def _zones(account, count):
    return Zone.objects.bulk_create(
        Zone(account=account, name=f"zone{n:04}.example") for n in range(count)
    )


def _user_tokens(user, count, zones):
    """`count` user tokens, each selecting every zone given (bulk, through the service once)."""
    first = token_create(
        actor=Actor.person(user),
        token_type="user",
        owner=user,
        name="Token 0",
        scopes=["zones:read", "domains:read"],
        resources={"zones": [zones[0].pk]},
    ).token
    through = Token.zones.through
    tokens = [first]
    for n in range(1, count):
        token = Token.objects.get(pk=first.pk)
        token.pk = None
        token.name = f"Token {n}"
        token.digest = f"{user.pk:08x}{n:056x}"
        token.save()
        tokens.append(token)
    through.objects.filter(token_id__in=[t.pk for t in tokens]).delete()
    through.objects.bulk_create(
        through(token_id=token.pk, zone_id=zone.pk) for token in tokens for zone in zones
    )
    return tokens


def _count(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


@pytest.fixture
def superuser(account):
    user = UserFactory()
    MembershipFactory(user=user, account=account, role=Role.SUPERUSER)
    return user


def test_personal_page_queries_do_not_grow(client, account, superuser):
    zones = _zones(account, 500)
    client.force_login(superuser)
    _user_tokens(superuser, 1, zones[:1])
    small, _ = _count(client, reverse("tokens:list"))

    Token.objects.all().delete()
    _user_tokens(superuser, 100, zones)
    large, response = _count(client, reverse("tokens:list"))
    body = response.content.decode()
    assert body.count('<tr id="token-') == 100
    assert "+497 more" in body  # 3 zone names shown, the rest counted
    assert large == small, f"{small} queries for 1 token, {large} for 100 x 500 zones"
    # session, user, nav, tokens, limit count, removals, policies, one per selected kind
    assert small <= 8


def test_account_page_queries_do_not_grow(client, account, superuser):
    zones = _zones(account, 500)
    members = [UserFactory() for _ in range(4)]
    for member in members:
        MembershipFactory(user=member, account=account, role=Role.ENGINEER)
    client.force_login(superuser)
    url = reverse("tokens:account-list", args=[account.slug])

    _user_tokens(members[0], 1, zones[:1])
    _count(client, url)  # the first visit also remembers the account in the session
    small, _ = _count(client, url)

    Token.objects.all().delete()
    for member in members:
        _user_tokens(member, 20, zones)
    for n in range(20):
        issue_automation_token(
            account,
            f"Bot {n}",
            creator=superuser,
            scopes=["zones:read"],
            resources={"zones": [zone.pk for zone in zones]},
        )
    large, response = _count(client, url)
    assert response.content.decode().count('<tr id="token-') == 25  # one page of the 100
    assert large == small, f"{small} queries for 1 token, {large} for 100 x 500 zones"
    assert small <= 10  # 9, and the count of the filtered tokens


def test_big_account_page_costs_what_a_small_one_does(client):
    """600 tokens (bulk-seeded) page with the same queries as 1, first, deep or filtered."""
    call_command("seed_scale", slug="small", tokens=1, zones=3, events=0, stdout=StringIO())
    call_command("seed_scale", slug="big", tokens=600, zones=40, events=0, stdout=StringIO())
    # Like some of the big account's tokens, the small one's selects zones (a query per kind).
    token = tokens_acting_in(Account.objects.get(slug="small")).get()
    token.all_zones = False
    token.save()
    token.zones.set(Zone.objects.filter(account__slug="small")[:2])
    counts = {}
    for slug in ("small", "big"):
        client.force_login(User.objects.get(email=f"{slug}-owner@example.com"))
        url = reverse("tokens:account-list", args=[slug])
        _count(client, url)  # the first visit also remembers the account in the session
        first, response = _count(client, url)
        older = response.context["pager"].older_url or ""
        deep, _ = _count(client, url + older)
        filtered, _ = _count(client, f"{url}?state=active&type=automation")
        counts[slug] = (first, deep, filtered)
        if slug == "big":
            assert response.content.decode().count('<tr id="token-') == 25
            assert older
    assert counts["big"] == counts["small"], counts
