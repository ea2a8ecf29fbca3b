"""The bearer query and what it reads: the token, its owner, and an account it acts in.

ONE indexed query joins the token to its owner and, for account routes, to the
account named by the route and the role that caps the token there, with that
account's token policies (SPEC 15). Its columns are declared once here and its
row is read by name (tokens.auth.columns) into a `Principal`.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.models import Account, Membership, User
from tokens.auth.columns import (
    Column,
    Select,
    aware,
    json_array,
    model_columns,
    record_rules_of,
)
from tokens.kinds import BY_KIND, Kind
from tokens.models import Token, TokenType
from tokens.permissions import Grant
from tokens.policies.rules import NO_POLICY, Policy
from tokens.records.rules import rules_json
from tokens.removals.models import TokenRemoval
from tokens.sso.models import TokenSsoAuthorization

_KINDS = tuple(Kind)
_FLAGS = tuple(BY_KIND[kind].all_field for kind in _KINDS)

TOKEN_COLUMNS = model_columns(
    Token,
    "t",
    (
        "id",
        "type",
        "name",
        "display",
        "user_id",
        "account_id",
        "role",
        "scopes",
        *_FLAGS,
        "tls_access",
        "allowed_ips",
        "record_rules",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "imported_at",
        "digest",
        "previous_secret_expires_at",
        "previous_secret_last_used_at",
        "minted_run",
    ),
)
OWNER_COLUMNS = model_columns(
    User, "u", ("is_active", "email", "name", "has_second_factor"), prefix="owner__"
)
# The account the token acts in (a), the owner's membership there (m, user tokens) and
# the account's token policies (SPEC 15).
ACCOUNT_COLUMNS = (
    *model_columns(
        Account,
        "a",
        (
            "id",
            "slug",
            "name",
            "plan",
            "max_lifetime_days",
            "max_idle_days",
            "automation_requires_ip_allow_list",
            "allowed_networks",
            "require_2fa",
            "force_sso",
        ),
        prefix="account__",
    ),
    Column("membership__role", "m.role"),
    # SPEC 17: where the account forces SSO, whether the token is authorized for it (the
    # subquery runs only there; one unique index serves it).
    Column(
        "sso_authorized",
        "CASE WHEN a.force_sso THEN EXISTS (SELECT 1 FROM "  # noqa: S608 (no user input)
        f"{TokenSsoAuthorization._meta.db_table} s "
        "WHERE s.token_id = t.id AND s.account_id = a.id) ELSE TRUE END",
    ),
)
BEARER_ROW = Select(TOKEN_COLUMNS, OWNER_COLUMNS, ACCOUNT_COLUMNS)
ACCOUNT_ROW = Select(ACCOUNT_COLUMNS)


def acting_join(account_condition: str) -> str:
    """Join the account(s) `a.id {account_condition}` names where the token `t` acts in it.

    An automation token acts in its own account; a user token in an account where
    its owner is a member (m, whose role caps it) and from which no superuser
    removed the token.
    """
    return (
        f"LEFT JOIN {Account._meta.db_table} a ON a.id {account_condition} "  # noqa: S608
        "AND (t.account_id IS NULL OR t.account_id = a.id) "
        f"AND NOT EXISTS (SELECT 1 FROM {TokenRemoval._meta.db_table} r "
        "WHERE r.token_id = t.id AND r.account_id = a.id) "
        f"LEFT JOIN {Membership._meta.db_table} m ON m.account_id = a.id AND m.user_id = t.user_id "
    )


@functools.cache
def digest_params(pepper_count: int) -> tuple[str, ...]:
    """The query's parameter names for the credential's digests, one per pepper."""
    return tuple(f"d{n}" for n in range(pepper_count))


@functools.cache
def bearer_sql(pepper_count: int, *, in_account: bool) -> str:
    """The one query: the token, its owner, an account and the token's role there.

    With `in_account`, the account is the route's (`%(account)s`), joined only
    where the token acts in it (acting_join). Without, an automation token's own
    account is joined (whoami and the token routes show it).
    """
    # Named parameters: Django's SQLite backend rewrites positional `%s` with a
    # regular expression over the whole statement on every execution.
    placeholders = ", ".join(f"%({name})s" for name in digest_params(pepper_count))
    if in_account:
        account_join = acting_join("= %(account)s")
    else:
        account_join = (
            f"LEFT JOIN {Account._meta.db_table} a ON a.id = t.account_id "
            f"LEFT JOIN {Membership._meta.db_table} m ON m.id IS NULL AND m.id IS NOT NULL "
        )
    return (
        f"SELECT {BEARER_ROW.sql} "  # noqa: S608
        f"FROM {Token._meta.db_table} t LEFT JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"{account_join}"
        # Both unique indexes serve this (SQLite: MULTI-INDEX OR; PostgreSQL: BitmapOr).
        f"WHERE t.digest IN ({placeholders}) OR t.previous_digest IN ({placeholders})"
    )


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """An account a token acts in, the role that caps it there and the account's policies."""

    id: int
    slug: str
    name: str
    plan: str
    role: str
    policy: Policy = NO_POLICY
    # The account's policy the token breaks (a PolicyName), judged once per request:
    # authorize() refuses it there (403), and the refused request is not a use.
    blocked_by: str | None = None
    # The token is authorized for the account's SSO, or the account does not force it (SPEC 17).
    sso_authorized: bool = True

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "slug": self.slug, "name": self.name, "plan": self.plan}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated token, as the API sees it for the rest of the request.

    Its attribute names match the Token model's where they overlap, so the
    token's JSON is built by one function from either.
    """

    id: int
    type: str
    name: str
    display: str
    user_id: int | None
    user_email: str | None
    user_name: str | None
    account_id: int | None
    role: str
    grant: Grant
    created_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    previous_secret_expires_at: datetime | None
    previous_secret_last_used_at: datetime | None
    client_ip: str | None
    # The route's account when the token acts in it (account routes), else an
    # automation token's own account; None otherwise.
    access: AccountAccess | None
    imported_at: datetime | None = None  # legacy keys: the idle clock starts at the import
    # The owner has a second factor (SPEC 16: accounts that require it), from the user row.
    owner_has_second_factor: bool = False
    run: dict[str, str] | None = None  # minted by a trusted publisher: its CI run (SPEC 18)

    @property
    def is_automation(self) -> bool:
        return self.type == TokenType.AUTOMATION

    @property
    def scopes(self) -> frozenset[str]:
        return self.grant.scopes

    @property
    def tls_access(self) -> bool:
        return self.grant.tls_access

    @property
    def expires_at(self) -> datetime | None:
        return self.grant.expires_at

    @property
    def record_rules(self) -> list[dict[str, object]]:
        return rules_json(self.grant.record_rules)


@functools.lru_cache(maxsize=1024)
def _scope_set(scopes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(scopes)


# The `all_<kind>` flags of a row, as the frozenset of kinds granted in full.
_flags_of = operator.attrgetter(*_FLAGS)
_ALL_KINDS_BY_FLAGS: dict[tuple[bool, ...], frozenset[Kind]] = {
    flags: frozenset(kind for kind, flag in zip(_KINDS, flags, strict=True) if flag)
    for flags in itertools.product((False, True), repeat=len(_KINDS))
}


def _policy(row: Any) -> Policy:
    """The account's token policies from its columns; accounts without any share NO_POLICY."""
    lifetime, idle = row.account__max_lifetime_days, row.account__max_idle_days
    needs_allow_list = row.account__automation_requires_ip_allow_list
    networks = json_array(row.account__allowed_networks)
    require_2fa = bool(row.account__require_2fa)
    require_sso = bool(row.account__force_sso)
    if (
        lifetime is None
        and idle is None
        and not needs_allow_list
        and not networks
        and not require_2fa
        and not require_sso
    ):
        return NO_POLICY
    return Policy(
        max_lifetime_days=lifetime,
        max_idle_days=idle,
        automation_requires_ip_allow_list=bool(needs_allow_list),
        allowed_networks=networks,
        require_2fa=require_2fa,
        require_sso=require_sso,
    )


def account_access(row: Any, *, token_type: str, token_role: str) -> AccountAccess | None:
    """The joined account (ACCOUNT_COLUMNS) as an AccountAccess, or None where the token
    does not act: an automation token is capped by its own role, a user token by its
    owner's membership role."""
    role = token_role if token_type == TokenType.AUTOMATION else row.membership__role
    if row.account__id is None or not role:
        return None
    return AccountAccess(
        row.account__id,
        row.account__slug,
        row.account__name,
        row.account__plan,
        role=role,
        policy=_policy(row),
        sso_authorized=bool(row.sso_authorized),
    )


def _run(value: object) -> dict[str, str] | None:
    """The minted_run column: JSON text on SQLite, a dict on PostgreSQL; None when not minted."""
    if value is None:
        return None
    run = json.loads(value) if isinstance(value, str | bytes) else value
    return run if isinstance(run, dict) else None


def principal_from(row: Any, ip: str | None) -> Principal:
    """The bearer query's row (BEARER_ROW) as the Principal of a request from `ip`."""
    grant = Grant(
        token_type=row.type,
        scopes=_scope_set(json_array(row.scopes)),
        all_kinds=_ALL_KINDS_BY_FLAGS[_flags_of(row)],
        tls_access=bool(row.tls_access),
        expires_at=aware(row.expires_at),
        owner_active=row.user_id is None or bool(row.owner__is_active),
        allowed_ips=json_array(row.allowed_ips),
        account_id=row.account_id,
        record_rules=record_rules_of(row.record_rules),
    )
    created_at = aware(row.created_at)
    assert created_at is not None  # a NOT NULL column
    return Principal(
        id=row.id,
        type=row.type,
        name=row.name,
        display=row.display,
        user_id=row.user_id,
        user_email=row.owner__email,
        user_name=row.owner__name,
        account_id=row.account_id,
        role=row.role,
        grant=grant,
        created_at=created_at,
        last_used_at=aware(row.last_used_at),
        last_used_ip=row.last_used_ip,
        previous_secret_expires_at=aware(row.previous_secret_expires_at),
        previous_secret_last_used_at=aware(row.previous_secret_last_used_at),
        client_ip=ip,
        access=account_access(row, token_type=row.type, token_role=row.role),
        imported_at=aware(row.imported_at),
        owner_has_second_factor=bool(row.owner__has_second_factor),
        run=_run(row.minted_run),
    )
