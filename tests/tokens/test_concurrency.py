"""The 100-token limit holds under concurrency (SPEC 9): 20 simultaneous creations make 100."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tokens.events import Actor
from tokens.models import Token
from tokens.services import TokenLimitReached, token_create

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
