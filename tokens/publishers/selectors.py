"""Reads of trusted publishers that the page, the API and the exchange share."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Field,
    JSONField,
    Model,
    Q,
    QuerySet,
)
from django.utils import timezone

from accounts.models import Account
from tokens.auth.columns import Select, aware, model_columns
from tokens.models import Token
from tokens.publishers.models import Publisher

M = TypeVar("M", bound=Model)


# The exchange's first read, in plain SQL (tokens.auth.columns): each publisher with its
# account, every column of both. On this path the ORM's join cost more than the rest of the
# verification.
def _fields(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


_PUBLISHER_FIELDS, _ACCOUNT_FIELDS = _fields(Publisher), _fields(Account)
_TRUSTING_ROW = Select(
    model_columns(Publisher, "p", _PUBLISHER_FIELDS),
    model_columns(Account, "a", _ACCOUNT_FIELDS, prefix="account__"),
)


@functools.cache
def _trusting_sql() -> str:
    return (
        f"SELECT {_TRUSTING_ROW.sql} FROM {Publisher._meta.db_table} p "  # noqa: S608 (no input)
        f"JOIN {Account._meta.db_table} a ON a.id = p.account_id "
        "WHERE p.issuer = %(issuer)s ORDER BY p.id"
    )


def _converter(field: Field) -> Callable[[Any], Any]:
    """How a raw column value becomes the model's (SQLite: JSON as text, booleans as 0/1;
    both databases: times as RFC 3339 text, through time_column)."""
    if isinstance(field, JSONField):
        return lambda value: json.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(field, BooleanField):
        return lambda value: value if value is None else bool(value)
    if isinstance(field, DateTimeField):
        return aware
    return lambda value: value


@functools.cache
def _converters(model: type[Model]) -> tuple[Callable[[Any], Any], ...]:
    return tuple(_converter(field) for field in model._meta.concrete_fields)


def _model(model: type[M], row: Any, names: tuple[str, ...], prefix: str = "") -> M:
    values = [
        convert(getattr(row, prefix + name))
        for convert, name in zip(_converters(model), names, strict=True)
    ]
    return model.from_db(connection.alias, list(names), values)


def publishers_trusting(issuer: str) -> list[Publisher]:
    """Every publisher, of any account, that trusts ID tokens from `issuer`, with its account
    (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_trusting_sql(), {"issuer": issuer})
        rows = [_TRUSTING_ROW.read(row) for row in cursor.fetchall()]
    found = []
    for row in rows:
        publisher = _model(Publisher, row, _PUBLISHER_FIELDS)
        publisher.account = _model(Account, row, _ACCOUNT_FIELDS, prefix="account__")
        found.append(publisher)
    return found


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
