"""GET /api/v1/tokens in plain SQL: the caller's tokens, a page and its total in one query.

Composing the ORM query (a join to the owner and the account, its ordering, its
converters) cost several times a whole resource read; a token's JSON needs only
columns. One query reads the page with its total; `selectors.token_selections`
then reads, in one more, the ids of the tokens that select some resources.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.db import connection

from accounts.models import Account, User
from tokens import selectors
from tokens.api.responses import pagination
from tokens.api.schemas import token_json
from tokens.auth import time_column
from tokens.models import ALL_FIELDS, Token, TokenType
from tokens.permissions import Kind

_KINDS = tuple(Kind)
_COLUMNS = (
    "id",
    "name",
    "type",
    "role",
    "scopes",
    "record_rules",
    "tls_access",
    "created_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "display",
    "previous_secret_expires_at",
    "previous_secret_last_used_at",
)
_TIMES = frozenset(
    {
        "created_at",
        "expires_at",
        "last_used_at",
        "previous_secret_expires_at",
        "previous_secret_last_used_at",
    }
)
_FLAGS_AT = len(_COLUMNS)  # then one all_<kind> flag per kind
_ACCOUNT_AT = _FLAGS_AT + len(_KINDS)  # a.id, a.slug, a.name, a.plan
_USER_AT = _ACCOUNT_AT + 4  # u.id, u.email, u.name; then the total


def _where(*, own_tokens: bool) -> str:
    """A person's user tokens (`%(user)s`), or one token alone (`%(token)s`)."""
    return "t.type = %(user_type)s AND t.user_id = %(user)s" if own_tokens else "t.id = %(token)s"


@functools.cache
def _page_sql(*, own_tokens: bool) -> str:
    """The page, newest first (as the panel lists them), with the total on every row."""
    table, where = Token._meta.db_table, _where(own_tokens=own_tokens)
    columns = [time_column(f"t.{c}") if c in _TIMES else f"t.{c}" for c in _COLUMNS]
    columns += [f"t.{ALL_FIELDS[kind]}" for kind in _KINDS]
    return (
        f"SELECT {', '.join(columns)}, a.id, a.slug, a.name, a.plan, u.id, u.email, u.name, "  # noqa: S608 (no input)
        f"(SELECT COUNT(*) FROM {table} t WHERE {where}) "
        f"FROM {table} t LEFT JOIN {Account._meta.db_table} a ON a.id = t.account_id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"WHERE {where} ORDER BY t.created_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    )


@functools.cache
def _count_sql(*, own_tokens: bool) -> str:
    return f"SELECT COUNT(*) FROM {Token._meta.db_table} t WHERE {_where(own_tokens=own_tokens)}"  # noqa: S608


def _listed(value: Any) -> list[Any]:
    """A JSON array column: text on SQLite, already a list on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes) else list(value or [])


class _Row:
    """A token row with the attribute names `token_json` reads (those of Token)."""

    id: int
    name: str
    type: str
    role: str
    scopes: list[str]
    record_rules: list[dict[str, Any]]
    tls_access: bool
    created_at: Any  # RFC 3339 text on SQLite (time_column), a datetime on PostgreSQL
    expires_at: Any
    last_used_at: Any
    last_used_ip: str | None
    display: str
    previous_secret_expires_at: Any
    previous_secret_last_used_at: Any

    def __init__(self, row: tuple[Any, ...]) -> None:
        for name, value in zip(_COLUMNS, row, strict=False):
            setattr(self, name, value)
        self.scopes = _listed(self.scopes)
        self.record_rules = _listed(self.record_rules)
        self.tls_access = bool(self.tls_access)
        flags = row[_FLAGS_AT:_ACCOUNT_AT]
        self.partial = [kind for kind, flag in zip(_KINDS, flags, strict=True) if not flag]


def token_page(
    *, user_id: int | None, token_id: int, page: int, per_page: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The JSON of one page of a person's user tokens (`user_id`), or of one token alone."""
    params = {
        "user_type": TokenType.USER.value,
        "user": user_id,
        "token": token_id,
        "limit": per_page,
        "offset": (page - 1) * per_page,
    }
    own_tokens = user_id is not None
    with connection.cursor() as cursor:
        cursor.execute(_page_sql(own_tokens=own_tokens), params)
        rows = cursor.fetchall()
        if rows or page == 1:
            total = rows[0][-1] if rows else 0
        else:  # past the end: the total alone (rare: one more query)
            cursor.execute(_count_sql(own_tokens=own_tokens), params)
            total = cursor.fetchone()[0]
    tokens = [(_Row(row), row) for row in rows]
    selections = selectors.token_selections(
        token_ids=[token.id for token, _ in tokens if token.partial],
        kinds={kind for token, _ in tokens for kind in token.partial},
    )
    data = []
    for token, row in tokens:
        mine = selections.get(token.id, {})
        account_id, slug, name, plan = row[_ACCOUNT_AT:_USER_AT]
        owner_id, email, owner_name = row[_USER_AT:-1]
        data.append(
            token_json(
                token,
                account=None
                if account_id is None
                else {"id": account_id, "slug": slug, "name": name, "plan": plan},
                user=None
                if owner_id is None
                else {"id": owner_id, "email": email, "name": owner_name},
                resources={
                    str(kind): mine.get(kind, []) if kind in token.partial else "all"
                    for kind in _KINDS
                },
            )
        )
    return data, pagination(page, per_page, total)
