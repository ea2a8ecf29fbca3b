"""GET /api/v1/tokens in plain SQL: the caller's tokens, a page and its total in one query.

Composing the ORM query (a join to the owner and the account, its ordering, its
converters) cost several times a whole resource read; a token's JSON needs only
columns. One query reads the page with its total; `token_selections`
then reads, in one more, the ids of the tokens that select some resources. Its
columns are declared as the bearer query's are, and read by name (tokens.auth.columns).
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from django.db import connection

from accounts.models import Account, User
from tokens.api.responses import pagination
from tokens.api.schemas import token_json
from tokens.auth.columns import Column, Select, json_array, model_columns
from tokens.models import ALL_FIELDS, Token, TokenType
from tokens.permissions import Kind
from tokens.selections.selectors import token_selections

_KINDS = tuple(Kind)
_FLAGS = tuple(ALL_FIELDS[kind] for kind in _KINDS)
_flags_of = operator.attrgetter(*_FLAGS)
# What TokenOut shows of the token (the attribute names token_json reads), then the
# `all_<kind>` flags; its account and its owner.
_TOKEN_COLUMNS = model_columns(
    Token,
    "t",
    (
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
        *_FLAGS,
    ),
)
_ACCOUNT_COLUMNS = model_columns(Account, "a", ("id", "slug", "name", "plan"), prefix="account__")
_OWNER_COLUMNS = model_columns(User, "u", ("id", "email", "name"), prefix="owner__")


def _where(*, own_tokens: bool) -> str:
    """A person's user tokens (`%(user)s`), or one token alone (`%(token)s`)."""
    return "t.type = %(user_type)s AND t.user_id = %(user)s" if own_tokens else "t.id = %(token)s"


@functools.cache
def _page_row(*, own_tokens: bool) -> Select:
    """The page's columns, with the total on every row."""
    total = f"(SELECT COUNT(*) FROM {Token._meta.db_table} t WHERE {_where(own_tokens=own_tokens)})"  # noqa: S608 (no input)
    return Select(_TOKEN_COLUMNS, _ACCOUNT_COLUMNS, _OWNER_COLUMNS, [Column("total", total)])


@functools.cache
def _page_sql(*, own_tokens: bool) -> str:
    """The page, newest first (as the panel lists them), with the total on every row."""
    table, where = Token._meta.db_table, _where(own_tokens=own_tokens)
    return (
        f"SELECT {_page_row(own_tokens=own_tokens).sql} "  # noqa: S608 (no input)
        f"FROM {table} t LEFT JOIN {Account._meta.db_table} a ON a.id = t.account_id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"WHERE {where} ORDER BY t.created_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    )


@functools.cache
def _count_sql(*, own_tokens: bool) -> str:
    return f"SELECT COUNT(*) FROM {Token._meta.db_table} t WHERE {_where(own_tokens=own_tokens)}"  # noqa: S608


def _partial(row: Any) -> list[Kind]:
    """The kinds the token selects some of (its `all_<kind>` flag is off)."""
    return [kind for kind, flag in zip(_KINDS, _flags_of(row), strict=True) if not flag]


def _account(row: Any) -> dict[str, Any] | None:
    if row.account__id is None:
        return None
    return {
        "id": row.account__id,
        "slug": row.account__slug,
        "name": row.account__name,
        "plan": row.account__plan,
    }


def _owner(row: Any) -> dict[str, Any] | None:
    if row.owner__id is None:
        return None
    return {"id": row.owner__id, "email": row.owner__email, "name": row.owner__name}


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
    read = _page_row(own_tokens=own_tokens).read
    with connection.cursor() as cursor:
        cursor.execute(_page_sql(own_tokens=own_tokens), params)
        rows = [read(row) for row in cursor.fetchall()]
        if rows or page == 1:
            total = rows[0].total if rows else 0
        else:  # past the end: the total alone (rare: one more query)
            cursor.execute(_count_sql(own_tokens=own_tokens), params)
            total = cursor.fetchone()[0]
    tokens = [(row, _partial(row)) for row in rows]
    selections = token_selections(
        token_ids=[row.id for row, partial in tokens if partial],
        kinds={kind for _, partial in tokens for kind in partial},
    )
    data = []
    for row, partial in tokens:
        mine = selections.get(row.id, {})
        token = row._replace(
            scopes=json_array(row.scopes),
            record_rules=json_array(row.record_rules),
            tls_access=bool(row.tls_access),
        )
        data.append(
            token_json(
                token,
                account=_account(row),
                user=_owner(row),
                resources={
                    str(kind): mine.get(kind, []) if kind in partial else "all" for kind in _KINDS
                },
            )
        )
    return data, pagination(page, per_page, total)
