"""Bearer authentication: the API's hot path (SPEC 5, 7 and 10).

One request costs, on the warm path: a cache read (the failure counter), an
offline format and checksum check, one HMAC per configured pepper, and one
indexed SQL query joining the token to its owner. Account routes add one more
query for the account and the caller's role in it. `last_used_*` is written by
one conditional UPDATE at most once a minute per token.

The queries are hand-written SQL returning tuples: building ORM model
instances is most of what an ORM lookup costs, and this path runs on every
API request.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.http import client_ip
from accounts.models import Account, Membership, User
from tokens import crypto, throttle
from tokens.constants import (
    LAST_USED_INTERVAL,
    MAX_CREDENTIAL_LENGTH,
)
from tokens.models import ALL_FIELDS, Token, TokenType
from tokens.permissions import Grant, Kind, token_is_usable

# Imported legacy keys have no fixed format; anything else that is not a
# well-formed Keyward token is refused without a query.
_LEGACY_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{16,128}$")
_KEYWARD_PREFIX_RE = re.compile(r"^kw[ua]_")

_KINDS = tuple(Kind)
_TOKEN_COLUMNS = (
    "id",
    "type",
    "name",
    "display",
    "user_id",
    "account_id",
    "role",
    "scopes",
    *(ALL_FIELDS[kind] for kind in _KINDS),
    "tls_access",
    "allowed_ips",
    "created_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "digest",
)


@functools.cache
def _digest_params(pepper_count: int) -> tuple[str, ...]:
    return tuple(f"d{n}" for n in range(pepper_count))


@functools.cache
def _token_sql(pepper_count: int) -> str:
    token_table = Token._meta.db_table
    user_table = User._meta.db_table
    columns = ", ".join(f"t.{column}" for column in _TOKEN_COLUMNS)
    # Named parameters: Django's SQLite backend rewrites positional `%s` with a
    # regular expression over the whole statement on every execution.
    placeholders = ", ".join(f"%({name})s" for name in _digest_params(pepper_count))
    return (
        f"SELECT {columns}, u.is_active, u.email, u.name "  # noqa: S608 (no user input)
        f"FROM {token_table} t LEFT JOIN {user_table} u ON u.id = t.user_id "
        f"WHERE t.digest IN ({placeholders})"
    )


_ACCOUNT_SQL = (
    f"SELECT a.id, a.slug, a.name, a.plan FROM {Account._meta.db_table} a "  # noqa: S608
    "WHERE a.id = %(account)s"
)
_MEMBER_ACCOUNT_SQL = (
    f"SELECT a.id, a.slug, a.name, a.plan, m.role FROM {Account._meta.db_table} a "  # noqa: S608
    f"JOIN {Membership._meta.db_table} m ON m.account_id = a.id "
    "WHERE a.id = %(account)s AND m.user_id = %(user)s"
)


class AuthenticationFailed(Exception):
    """The request carries no usable bearer token (401) or is throttled (429)."""

    def __init__(self, message: str, *, credentials_sent: bool, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.credentials_sent = credentials_sent
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated token, as the API sees it for the rest of the request."""

    token_id: int
    token_type: str
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
    client_ip: str

    @property
    def is_automation(self) -> bool:
        return self.token_type == TokenType.AUTOMATION


@dataclass(frozen=True, slots=True)
class AccountAccess:
    """An account a principal acts in, and the role that caps it there."""

    id: int
    slug: str
    name: str
    plan: str
    role: str

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "slug": self.slug, "name": self.name, "plan": self.plan}


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite without declared-type conversion
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1024)
def _json_text(value: str | bytes) -> tuple:
    # Scopes and allow-lists repeat across tokens: parse each distinct text once.
    return tuple(json.loads(value))


def _json(value: object) -> tuple:
    """A JSON array column: text on SQLite, already a list on PostgreSQL."""
    if isinstance(value, str | bytes):
        return _json_text(value)
    return tuple(value or ())


@functools.lru_cache(maxsize=1024)
def _scope_set(scopes: tuple) -> frozenset[str]:
    return frozenset(scopes)


# The `all_<kind>` flags of a row, as the frozenset of kinds granted in full.
_all_flags = operator.itemgetter(*(ALL_FIELDS[kind] for kind in _KINDS))
_ALL_KINDS_BY_FLAGS: dict[tuple[bool, ...], frozenset[Kind]] = {
    flags: frozenset(kind for kind, flag in zip(_KINDS, flags, strict=True) if flag)
    for flags in itertools.product((False, True), repeat=len(_KINDS))
}


def _fail(ip: str, message: str) -> AuthenticationFailed:
    throttle.record_failure(ip)
    return AuthenticationFailed(message, credentials_sent=True)


def credential_from(request: HttpRequest) -> str | None:
    """The bearer credential, or None when no Authorization header was sent.

    Raises AuthenticationFailed for a header that is present but not a single,
    reasonably sized `Bearer <token>`.
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None or not header.strip():
        return None
    if len(header) > MAX_CREDENTIAL_LENGTH:
        raise AuthenticationFailed("The Authorization header is too long.", credentials_sent=True)
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential or "," in credential:
        raise AuthenticationFailed(
            "Send the token as `Authorization: Bearer <token>`.", credentials_sent=True
        )
    return credential


def authenticate(request: HttpRequest) -> Principal:
    """The Principal for the request's bearer token, or AuthenticationFailed."""
    ip = client_ip(request)
    wait = throttle.retry_after(ip)
    if wait:
        raise AuthenticationFailed(
            "Too many failed authentication attempts.", credentials_sent=True, retry_after=wait
        )
    try:
        credential = credential_from(request)
    except AuthenticationFailed:
        throttle.record_failure(ip)
        raise
    if credential is None:
        raise AuthenticationFailed("Authentication required.", credentials_sent=False)

    if _KEYWARD_PREFIX_RE.match(credential):
        if not crypto.is_well_formed(credential):
            raise _fail(ip, "The token is malformed.")
    elif not _LEGACY_KEY_RE.match(credential):
        raise _fail(ip, "The token is malformed.")

    peppers = settings.KEYWARD_TOKEN_PEPPERS
    digests = crypto.digests(credential, peppers)
    with connection.cursor() as cursor:
        cursor.execute(
            _token_sql(len(digests)), dict(zip(_digest_params(len(digests)), digests, strict=True))
        )
        row = cursor.fetchone()
    if row is None:
        raise _fail(ip, "The token is invalid or has been revoked.")

    values = dict(zip(_TOKEN_COLUMNS, row, strict=False))
    owner_active, email, user_name = row[len(_TOKEN_COLUMNS) :]
    grant = Grant(
        token_type=values["type"],
        scopes=_scope_set(_json(values["scopes"])),
        all_kinds=_ALL_KINDS_BY_FLAGS[_all_flags(values)],
        tls_access=bool(values["tls_access"]),
        expires_at=_aware(values["expires_at"]),
        owner_active=values["user_id"] is None or bool(owner_active),
        allowed_ips=_json(values["allowed_ips"]),
        account_id=values["account_id"],
    )
    now = timezone.now()
    problem = token_is_usable(grant, now=now, client_ip=ip)
    if problem:
        raise _fail(ip, problem)

    principal = Principal(
        token_id=values["id"],
        token_type=values["type"],
        name=values["name"],
        display=values["display"],
        user_id=values["user_id"],
        user_email=email,
        user_name=user_name,
        account_id=values["account_id"],
        role=values["role"],
        grant=grant,
        created_at=_aware(values["created_at"]),
        last_used_at=_aware(values["last_used_at"]),
        last_used_ip=values["last_used_ip"],
        client_ip=ip,
    )
    _touch(
        principal, request, now, rehash_to=digests[0] if values["digest"] != digests[0] else None
    )
    return principal


def _touch(
    principal: Principal, request: HttpRequest, now: datetime, rehash_to: str | None
) -> None:
    """Record last use at most once a minute; move an old-pepper digest to the newest pepper."""
    cutoff = now - LAST_USED_INTERVAL
    if rehash_to is None and principal.last_used_at and principal.last_used_at > cutoff:
        return
    changes: dict[str, object] = {
        "last_used_at": now,
        "last_used_ip": principal.client_ip if principal.client_ip != "0.0.0.0" else None,  # noqa: S104
        "last_used_user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff)
    if rehash_to is not None:
        changes["digest"] = rehash_to
        stale = Q()
    Token.objects.filter(stale, pk=principal.token_id).update(**changes)


def account_access(principal: Principal, account_id: int) -> AccountAccess | None:
    """The account `account_id` if the token acts in it, with the role capping it there.

    Automation tokens act in their own account only (no query for any other);
    user tokens act where their owner is a member now, with the member's current
    role, so demotions and removals apply on the very next request.
    """
    with connection.cursor() as cursor:
        if principal.is_automation:
            if principal.account_id != account_id:
                return None
            cursor.execute(_ACCOUNT_SQL, {"account": account_id})
            row = cursor.fetchone()
            return AccountAccess(*row, role=principal.role) if row else None
        cursor.execute(_MEMBER_ACCOUNT_SQL, {"account": account_id, "user": principal.user_id})
        row = cursor.fetchone()
        return AccountAccess(*row) if row else None
