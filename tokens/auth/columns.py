"""The columns of the plain-SQL token reads, declared once and read by name.

The bearer query (tokens.auth.principal) and the API's token list
(tokens.api.token_rows) skip the ORM: building model instances is most of what
an ORM read costs on these paths. Each declares its columns here as `Column`s,
a name and the SQL that yields it; `Select` writes the SELECT list from them and
reads each row as a named tuple with those names, so code says `row.expires_at`,
never `row[17]`: inserting a column shifts nothing.

A JSON array column is text on SQLite and a list on PostgreSQL: `json_array` and
`record_rules_of` read it on either, parsing each distinct text once.
"""

from __future__ import annotations

import functools
import json
from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, Model

from tokens.records.rules import RecordRule, rules_from_json

# RFC 3339 in UTC as orjson writes it: the fraction only when there is one.
_PG_RFC3339 = (
    "to_char({c} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {c}) = {c} "
    """THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
)


def time_column(column: str) -> str:
    """A datetime column as a SELECT expression that skips the drivers' slow conversion.

    It comes back as RFC 3339 text in UTC (`2026-11-23T08:00:00.500000Z`), exactly what
    orjson writes for that datetime, so an answer can carry it as it is and
    `datetime.fromisoformat` (aware()) reads it in C. Both drivers parse a datetime
    they return with a Python function: SQLite's the text it keeps
    (`2026-11-23 08:00:00.500000`, UTC), and Django's PostgreSQL backend through its
    time-zone loader (on PostgreSQL that cost a whoami a tenth of its time, for three
    datetimes). A page of 30 services has 60.
    """
    if connection.vendor == "sqlite":
        return f"replace({column}, ' ', 'T') || 'Z'"
    if connection.vendor == "postgresql":
        return _PG_RFC3339.format(c=column)
    return column


def kept_cursor() -> Any:
    """A cursor for one statement whose rows are fetched at once: on PostgreSQL one kept
    on the connection (config.postgresql: its loaders are ready), elsewhere a new one.
    Never used with `with` (that would close the kept one)."""
    kept = getattr(connection, "kept_cursor", None)
    return kept() if kept is not None else connection.cursor()


def aware(value: datetime | str | None) -> datetime | None:
    """A datetime column's value (RFC 3339 text through time_column, or a datetime) as an
    aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a plain-SQL read: the name the code reads it by, and its SQL."""

    name: str
    expression: str
    is_time: bool = False  # a datetime: selected through time_column()

    @property
    def sql(self) -> str:
        return time_column(self.expression) if self.is_time else self.expression


def model_columns(
    model: type[Model], alias: str, names: Iterable[str], *, prefix: str = ""
) -> tuple[Column, ...]:
    """Fields of `model` (by field name) as columns of the table aliased `alias`.

    Each column is named `prefix + field name` (`owner__email`) and selects the
    field's database column (`u.email`); datetimes come through time_column().
    """
    columns = []
    for name in names:
        field = model._meta.get_field(name)
        column = getattr(field, "column", None)
        assert isinstance(column, str), f"{model.__name__}.{name} is not a column"
        is_time = isinstance(field, DateTimeField)
        columns.append(Column(f"{prefix}{name}", f"{alias}.{column}", is_time=is_time))
    return tuple(columns)


class Select:
    """The SELECT list of some columns, and their rows read by name.

    `sql` is written when first asked (the database is known by then); `read()`
    turns a fetched tuple into a named tuple whose fields are the columns' names.
    """

    def __init__(self, *groups: Sequence[Column]) -> None:
        self.columns: tuple[Column, ...] = tuple(chain.from_iterable(groups))
        names = [column.name for column in self.columns]
        duplicates = {name for name in names if names.count(name) > 1}
        assert not duplicates, f"columns named twice: {sorted(duplicates)}"
        self.names: tuple[str, ...] = tuple(names)
        # Its fields are the columns given at run time: mypy cannot type it (read() is Any).
        self.row_type: Any = namedtuple("Row", names)  # type: ignore[misc]

    @functools.cached_property
    def sql(self) -> str:
        return ", ".join(column.sql for column in self.columns)

    def read(self, row: Sequence[Any]) -> Any:
        """A fetched row (one value per column, in order) as a named tuple."""
        return self.row_type._make(row)


@functools.lru_cache(maxsize=1024)
def _json_text(value: str | bytes) -> tuple[Any, ...]:
    # Scopes and allow-lists repeat across tokens: parse each distinct text once.
    return tuple(json.loads(value))


def json_array(value: str | bytes | Iterable[Any] | None) -> tuple[Any, ...]:
    """A JSON array column: text on SQLite, already a list on PostgreSQL."""
    if isinstance(value, str | bytes):
        return _json_text(value)
    return tuple(value or ())


@functools.lru_cache(maxsize=1024)
def _rules_text(value: str | bytes) -> tuple[RecordRule, ...]:
    return rules_from_json(json.loads(value))


def record_rules_of(value: object) -> tuple[RecordRule, ...]:
    """The record rules column (SPEC 14) as RecordRules: text on SQLite, a list on PostgreSQL."""
    if not value:
        return ()
    if isinstance(value, str | bytes):
        return () if value in ("[]", b"[]") else _rules_text(value)
    assert isinstance(value, list)  # PostgreSQL's driver decodes jsonb
    return rules_from_json(value)
