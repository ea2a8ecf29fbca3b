"""Keyset paging, newest first, on (created_at, id): the event log and the token lists.

A page is read from where the previous one stopped (`?before=<cursor>` for
"Older", `?after=<cursor>` for "Newer") instead of skipping rows with OFFSET,
and paging counts nothing: a page costs the same at the millionth row as at the
first (a list that shows a total counts its own filtered set). The cursor is the
created_at (microseconds since the epoch) and the id of a row, readable and
harmless: it only says where to resume within what the viewer may already see. A
malformed or out-of-range cursor is ignored (the first page is shown), never an error.

Rows may come from several querysets ("streams", each an ordered range of one
index): each gives at most one page past the cursor and the pages are merged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from django.db.models import Q, QuerySet
from django.utils.http import urlencode

PER_PAGE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"([0-9]{1,18})-([0-9]{1,19})")
_MAX_ID = 2**63 - 1  # the largest bigint: a larger id would be an error in the database


class Keyed(Protocol):
    pk: Any
    created_at: datetime


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first list: just after or before this row."""

    created_at: datetime
    id: int

    @classmethod
    def of(cls, row: Keyed) -> Cursor:
        return cls(row.created_at, row.pk)

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """The cursor in `value`, or None when it is missing or malformed."""
        match = _CURSOR.fullmatch(value or "")
        if not match:
            return None
        micros, pk = int(match[1]), int(match[2])
        if pk > _MAX_ID:
            return None
        try:
            return cls(EPOCH + timedelta(microseconds=micros), pk)
        except OverflowError:  # past the year 9999
            return None

    def __str__(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}-{self.id}"

    def older(self) -> Q:
        """Rows after this one in newest-first order (the bound on created_at is what
        lets the database start its index scan at the cursor)."""
        return Q(created_at__lte=self.created_at) & (
            Q(created_at__lt=self.created_at) | Q(id__lt=self.id)
        )

    def newer(self) -> Q:
        return Q(created_at__gte=self.created_at) & (
            Q(created_at__gt=self.created_at) | Q(id__gt=self.id)
        )


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, newest first, and the links to the pages around it."""

    rows: list[Any]
    newer: Cursor | None = None
    older: Cursor | None = None
    params: Mapping[str, str] = field(default_factory=dict)  # the filters to keep

    def _url(self, direction: str, cursor: Cursor) -> str:
        kept = {key: value for key, value in self.params.items() if value}
        return "?" + urlencode({**kept, direction: str(cursor)})

    @property
    def newer_url(self) -> str | None:
        return self._url("after", self.newer) if self.newer else None

    @property
    def older_url(self) -> str | None:
        return self._url("before", self.older) if self.older else None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.newer or self.older)


@dataclass(frozen=True)
class _Key:
    """A row's position alone, when rows are read narrow first."""

    pk: Any
    created_at: datetime


def _merged(
    streams: Sequence[QuerySet],
    condition: Q | None,
    *,
    newest_first: bool,
    count: int,
    narrow: bool,
) -> list[Any]:
    """The first `count` rows of the union of `streams` past `condition`, in order."""
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    found: dict[Any, Any] = {}
    for stream in streams:
        if condition is not None:
            stream = stream.filter(condition)
        stream = stream.order_by(*order)
        if narrow:
            rows = [_Key(pk, at) for pk, at in stream.values_list("pk", "created_at")[:count]]
        else:
            rows = list(stream[:count])
        for row in rows:
            found[row.pk] = row  # streams may overlap: each row once
    rows = sorted(found.values(), key=lambda row: (row.created_at, row.pk), reverse=newest_first)
    return rows[:count]


def keyset_page(
    streams: Sequence[QuerySet],
    query: Mapping[str, str],
    *,
    params: Mapping[str, str] | None = None,
    per_page: int = PER_PAGE,
    load: QuerySet | None = None,
) -> KeysetPage:
    """The page of the union of `streams` that `query` (the request's GET) asks for.

    `params` are the filters the Newer and Older links carry along. One query
    per stream, whatever the page. With `load`, the streams are read narrow (id
    and created_at: no joins, no wide columns while the database sorts) and the
    page's rows are then loaded from `load` in one more query; worth it when a
    stream has to sort many rows, as a list of tokens in an account does.
    """
    narrow = load is not None
    rows, newer, older = _page(streams, query, per_page=per_page, narrow=narrow)
    if load is not None and rows:
        loaded = load.in_bulk([key.pk for key in rows])
        rows = [loaded[key.pk] for key in rows if key.pk in loaded]
    return KeysetPage(rows, newer, older, params or {})


Window = tuple[list[Any], Cursor | None, Cursor | None]  # rows, newer, older


def _page(
    streams: Sequence[QuerySet], query: Mapping[str, str], *, per_page: int, narrow: bool
) -> Window:
    after = Cursor.parse(query.get("after"))
    before = None if after else Cursor.parse(query.get("before"))
    more = per_page + 1  # one row past the page says whether there is a next one
    if after:
        rows = _merged(streams, after.newer(), newest_first=False, count=more, narrow=narrow)
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            return rows, Cursor.of(rows[0]), Cursor.of(rows[-1])
        # Less than a page is newer: that is the first page.
    if before:
        rows = _merged(streams, before.older(), newest_first=True, count=more, narrow=narrow)
        if rows:
            older = Cursor.of(rows[per_page - 1]) if len(rows) > per_page else None
            return rows[:per_page], Cursor.of(rows[0]), older
        # Nothing is older (a stale or forged cursor): show the first page.
    rows = _merged(streams, None, newest_first=True, count=more, narrow=narrow)
    older = Cursor.of(rows[per_page - 1]) if len(rows) > per_page else None
    return rows[:per_page], None, older
