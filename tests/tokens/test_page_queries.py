"""Token pages cost the same number of queries for 1 token as for 100 tokens x 500 zones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.constants import Role
from accounts.models import Zone
from tests.factories import MembershipFactory, UserFactory, issue_automation_token
from tokens.events import Actor
from tokens.models import Token
from tokens.services import token_create

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
    assert response.content.decode().count('<tr id="token-') == 100
    assert large == small, f"{small} queries for 1 token, {large} for 100 x 500 zones"
    assert small <= 9
