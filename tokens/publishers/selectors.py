"""Reads of trusted publishers that the page, the API and the exchange share."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from tokens.models import Token
from tokens.publishers.models import Publisher


def publishers_trusting(issuer: str) -> list[Publisher]:
    """Every publisher, of any account, that trusts ID tokens from `issuer` (one query)."""
    return list(Publisher.objects.filter(issuer=issuer).select_related("account").order_by("pk"))


def publishers_of(account: Account, *, now: datetime | None = None) -> QuerySet[Publisher]:
    """An account's publishers, by name, each with `live_tokens`: its minted tokens alive now."""
    now = now or timezone.now()
    return Publisher.objects.filter(account=account).annotate(
        live_tokens=Count("minted_tokens", filter=Q(minted_tokens__expires_at__gt=now))
    )


def publisher_in(account: Account, publisher_id: int) -> Publisher | None:
    """The account's publisher `publisher_id` (None for another account's: not found)."""
    return Publisher.objects.filter(account=account, pk=publisher_id).first()


@functools.cache
def _locked_sql(for_update: bool) -> str:
    publishers, tokens = Publisher._meta.db_table, Token._meta.db_table
    return (
        f"SELECT p.updated_at, (SELECT COUNT(*) FROM {tokens} t WHERE t.minted_by_id = p.id "  # noqa: S608 (no input)
        "AND (t.expires_at IS NULL OR t.expires_at > %(now)s)) "
        f"FROM {publishers} p WHERE p.id = %(publisher)s" + (" FOR UPDATE" if for_update else "")
    )


@dataclass(frozen=True)
class Locked:
    """A publisher's row, locked: when it was last changed, and its minted tokens alive now."""

    updated_at: datetime
    live_tokens: int


def publisher_lock(publisher_id: int, *, now: datetime) -> Locked | None:
    """Lock a publisher's row (FOR UPDATE, where the database has it) and count its live
    tokens, in one query (None when it is gone). Hand-written: on the exchange's path the
    ORM's subquery would cost more than the rest of the read."""
    params = {"now": connection.ops.adapt_datetimefield_value(now), "publisher": publisher_id}
    with connection.cursor() as cursor:
        cursor.execute(_locked_sql(connection.features.has_select_for_update), params)
        row = cursor.fetchone()
    if row is None:
        return None
    updated_at = row[0]
    if isinstance(updated_at, str):
        updated_at = datetime.fromisoformat(updated_at)
    if timezone.is_naive(updated_at):  # SQLite keeps UTC without its zone
        updated_at = updated_at.replace(tzinfo=UTC)
    return Locked(updated_at=updated_at, live_tokens=int(row[1]))


def minted_live(publisher: Publisher, *, now: datetime) -> QuerySet[Token]:
    """The tokens a publisher minted that still work."""
    return Token.objects.filter(minted_by=publisher).active(now)


def minted_expired_before(cutoff: datetime) -> QuerySet[Token]:
    """Minted tokens that expired before `cutoff` (the cleanup deletes them a day on)."""
    return Token.objects.filter(minted_run__isnull=False, expires_at__lt=cutoff).order_by("pk")
