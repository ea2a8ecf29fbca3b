"""Minted tokens are deleted a day after they expire, by the queue's scheduled job (SPEC 18);
the jtis of ID tokens are kept until those expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tokens.publishers.conftest import exchange
from tokens.models import Event, RevokedToken, Token
from tokens.publishers.models import UsedIdToken
from tokens.tasks import minted_cleanup_task

pytestmark = pytest.mark.django_db


def test_minted_tokens_go_a_day_after_they_expired_and_used_jtis_when_they_expire(
    client, issuer, world
):
    world.add(issuer)
    ids = [exchange(client, issuer.github_token()).json()["data"]["id"] for _ in range(3)]
    now = timezone.now()
    Token.objects.filter(pk=ids[0]).update(expires_at=now - timedelta(days=1, minutes=1))
    Token.objects.filter(pk=ids[1]).update(expires_at=now - timedelta(hours=23))
    kept_jti, old_jti = UsedIdToken.objects.order_by("pk")[:2]
    UsedIdToken.objects.filter(pk=old_jti.pk).update(expires_at=now - timedelta(seconds=1))
    minted_cleanup_task()  # huey runs it inline in tests

    assert set(Token.objects.values_list("pk", flat=True)) == {ids[1], ids[2]}
    revoked = Event.objects.get(kind="token.revoked", token_id=ids[0])
    assert revoked.details["revoked_by"] == "minted_expired"
    assert RevokedToken.objects.filter(token_id=ids[0]).exists()
    assert UsedIdToken.objects.filter(pk=kept_jti.pk).exists()
    assert not UsedIdToken.objects.filter(pk=old_jti.pk).exists()
    assert UsedIdToken.objects.count() == 2


def test_the_cleanup_leaves_other_expired_tokens_alone(client, issuer, world):
    from tests.factories import issue_automation_token

    other = issue_automation_token(world.account, creator=world.owner).token
    Token.objects.filter(pk=other.pk).update(expires_at=timezone.now() - timedelta(days=30))
    minted_cleanup_task()
    assert Token.objects.filter(pk=other.pk).exists()
