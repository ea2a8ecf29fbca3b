"""Races on PostgreSQL: the 100-token limit holds (SPEC 9: 20 simultaneous creations make
100), and a roll racing a revoke or a leak report answers as usual, never a 500."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    MembershipFactory,
    UserFactory,
    issue_user_token,
)
from tests.tokens.conftest import call
from tokens.events import Actor
from tokens.models import Token
from tokens.services.common import TokenLimitReached
from tokens.services.issue import token_create
from tokens.tombstones.models import RevokedToken

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test "
        "(run with DATABASE_URL=postgres://...)",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_creations_stop_at_exactly_one_hundred():
    user = UserFactory()
    MembershipFactory(user=user, account=AccountFactory())
    actor = Actor.person(user)
    for n in range(95):
        token_create(actor=actor, token_type="user", owner=user, name=f"existing {n}")

    start = threading.Barrier(20)
    created, refused, failures = [], [], []

    def create(n: int) -> None:
        try:
            start.wait()
            token_create(actor=actor, token_type="user", owner=user, name=f"racer {n}")
            created.append(n)
        except TokenLimitReached:
            refused.append(n)
        except Exception as exc:  # any other outcome fails the test below
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(created) == 5 and len(refused) == 15
    assert Token.objects.filter(user=user).active().count() == 100


ROUNDS = 20


def at_once(*requests: Callable[[Client], object]) -> list[object]:
    """Send each request from its own thread and client, released together; their statuses."""
    start = threading.Barrier(len(requests))
    statuses: list[object] = [None] * len(requests)

    def send(n: int) -> None:
        client = Client(raise_request_exception=False)  # an escaped error is a 500
        try:
            start.wait()
            statuses[n] = requests[n](client).status_code  # type: ignore[attr-defined]
        except Exception as exc:
            statuses[n] = repr(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.fixture
def owner():
    user = UserFactory()
    MembershipFactory(user=user, account=AccountFactory(), role="superuser")
    return user


@pytest.mark.django_db(transaction=True)
def test_an_api_roll_racing_a_revoke_answers_201_or_404(owner):
    caller = issue_user_token(owner, name="caller").secret
    outcomes = set()
    for n in range(ROUNDS):
        target = issue_user_token(owner, name=f"target {n}").token.pk
        roll, revoke = at_once(
            lambda c, t=target: call(c, "POST", f"/tokens/{t}/roll", caller),
            lambda c, t=target: call(c, "DELETE", f"/tokens/{t}", caller),
        )
        outcomes.add((roll, revoke))
        assert roll in (201, 404) and revoke == 204, (roll, revoke)
    assert not Token.objects.filter(name__startswith="target").exists()


@pytest.mark.django_db(transaction=True)
def test_a_panel_roll_racing_a_revoke_shows_the_reveal_or_the_404_page(owner, password):
    caller = issue_user_token(owner, name="caller").secret
    panel = Client()
    panel.force_login(owner)
    panel.post(reverse("accounts:sudo"), {"password": password})
    session = panel.cookies
    for n in range(ROUNDS):
        target = issue_user_token(owner, name=f"target {n}").token.pk

        def roll(client, t=target):
            client.cookies = session
            return client.post(reverse("tokens:roll", args=[t]), {"grace_period": "0"})

        rolled, revoke = at_once(
            roll, lambda c, t=target: call(c, "DELETE", f"/tokens/{t}", caller)
        )
        assert rolled in (302, 404) and revoke == 204, (rolled, revoke)


@pytest.mark.django_db(transaction=True)
def test_a_leak_report_racing_a_roll_always_answers_202(owner):
    for n in range(ROUNDS):
        created = issue_user_token(owner, name=f"leaked {n}")
        report = json.dumps({"credentials": [created.secret]})
        leak, roll = at_once(
            lambda c, r=report: c.post(
                "/api/v1/credentials/revoke", r, "application/json", REMOTE_ADDR=f"198.51.100.{n}"
            ),
            lambda c, s=created.secret: call(
                c, "POST", "/tokens/self/roll", s, {"grace_period": 3600}
            ),
        )
        assert leak == 202 and roll in (201, 401, 404), (leak, roll)
        assert not Token.objects.filter(pk=created.token.pk).exists()  # revoked, rolled or not
        assert RevokedToken.objects.filter(token_id=created.token.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_token_creations_with_the_right_password_all_succeed(owner, password):
    """Issue 18: they gave 15 x 429, as every attempt counted until it was checked."""
    basic = "Basic " + base64.b64encode(f"{owner.email}:{password}".encode()).decode()
    statuses = at_once(
        *[
            lambda c, n=n: c.post(
                "/api/v1/tokens",
                json.dumps({"name": f"racer {n}"}),
                "application/json",
                HTTP_AUTHORIZATION=basic,
            )
            for n in range(20)
        ]
    )
    assert statuses == [201] * 20
