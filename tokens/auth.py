"""Bearer authentication: the API's hot path (SPEC 5, 7 and 10).

One request costs, on the warm path: an offline format and checksum check,
one HMAC per configured pepper, and ONE indexed SQL query that joins the token
to its owner and, for account routes, to the account named by the route and
the role that caps the token there. A route then runs one more query for its
resource(s). `last_used_*` is written by one conditional UPDATE at most once a
minute per token.

The query is hand-written SQL returning a tuple: building ORM model instances
is most of what an ORM lookup costs, and this path runs on every API request.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import DateTimeField, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.http import client_ip
from accounts.models import Account, Membership, User
from tokens import crypto, throttle
from tokens.constants import LAST_USED_INTERVAL, MAX_CREDENTIAL_LENGTH
from tokens.models import ALL_FIELDS, Token, TokenRemoval, TokenType
from tokens.permissions import Grant, Kind, RecordRule, token_is_usable
from tokens.policy_rules import NO_POLICY, Policy, policy_violation
from tokens.record_rules import rules_from_json, rules_json
from tokens.usage import buffered_days, usage_flush

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
    "record_rules",
    "created_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "imported_at",
    "digest",
    "previous_secret_expires_at",
    "previous_secret_last_used_at",
)
_TIME_COLUMNS = frozenset(
    field.column
    for field in Token._meta.concrete_fields
    if isinstance(field, DateTimeField) and field.column in _TOKEN_COLUMNS
)
_OWNER_AT = len(_TOKEN_COLUMNS)  # u.is_active, u.email, u.name
_ACCOUNT_AT = _OWNER_AT + 3  # _ACCOUNT_COLUMNS
_DIGEST_AT = _TOKEN_COLUMNS.index("digest")


def time_column(column: str) -> str:
    """A datetime column as a SELECT expression that skips SQLite's slow conversion.

    SQLite keeps a datetime as the text `2026-11-23 08:00:00.500000` (UTC), and
    its driver parses every one it returns with a Python function (a page of 30
    services has 60). Turned into RFC 3339 in SQL (`2026-11-23T08:00:00.500000Z`)
    it comes back as text: `datetime.fromisoformat` reads it in C, and it is exactly
    what orjson writes for that datetime. PostgreSQL's driver converts in C: unchanged.
    """
    if connection.vendor == "sqlite":
        return f"replace({column}, ' ', 'T') || 'Z'"
    return column


@functools.cache
def _digest_params(pepper_count: int) -> tuple[str, ...]:
    return tuple(f"d{n}" for n in range(pepper_count))


# The account the token acts in (a), the owner's membership there (m, user tokens), and
# its token policies (SPEC 15): read by _access() and _policy() in this order.
_ACCOUNT_COLUMNS = (
    "a.id, a.slug, a.name, a.plan, m.role, "
    "a.max_lifetime_days, a.max_idle_days, a.automation_requires_ip_allow_list, "
    "a.allowed_networks"
)


def _acting_join(account_condition: str) -> str:
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
def _token_sql(pepper_count: int, *, in_account: bool) -> str:
    """The one query: the token, its owner, an account and the token's role there.

    With `in_account`, the account is the route's (`%(account)s`), joined only
    where the token acts in it (_acting_join). Without, an automation token's own
    account is joined (whoami and the token routes show it).
    """
    token_table = Token._meta.db_table
    columns = ", ".join(
        time_column(f"t.{column}") if column in _TIME_COLUMNS else f"t.{column}"
        for column in _TOKEN_COLUMNS
    )
    # Named parameters: Django's SQLite backend rewrites positional `%s` with a
    # regular expression over the whole statement on every execution.
    placeholders = ", ".join(f"%({name})s" for name in _digest_params(pepper_count))
    if in_account:
        account_join = _acting_join("= %(account)s")
    else:
        account_join = (
            f"LEFT JOIN {Account._meta.db_table} a ON a.id = t.account_id "
            f"LEFT JOIN {Membership._meta.db_table} m ON m.id IS NULL AND m.id IS NOT NULL "
        )
    return (
        f"SELECT {columns}, u.is_active, u.email, u.name, {_ACCOUNT_COLUMNS} "  # noqa: S608
        f"FROM {token_table} t LEFT JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"{account_join}"
        # Both unique indexes serve this (SQLite: MULTI-INDEX OR; PostgreSQL: BitmapOr).
        f"WHERE t.digest IN ({placeholders}) OR t.previous_digest IN ({placeholders})"
    )


class AuthenticationFailed(Exception):
    """The request carries no usable bearer token (401) or is throttled (429)."""

    def __init__(self, message: str, *, credentials_sent: bool, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.credentials_sent = credentials_sent
        self.retry_after = retry_after


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


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: see time_column()
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1024)
def _json_text(value: str | bytes) -> tuple:
    # Scopes and allow-lists repeat across tokens: parse each distinct text once.
    return tuple(json.loads(value))


def _json(value: str | bytes | Iterable[object] | None) -> tuple:
    """A JSON array column: text on SQLite, already a list on PostgreSQL."""
    if isinstance(value, str | bytes):
        return _json_text(value)
    return tuple(value or ())


@functools.lru_cache(maxsize=1024)
def _rules_text(value: str | bytes) -> tuple[RecordRule, ...]:
    return rules_from_json(json.loads(value))


def _record_rules(value: object) -> tuple[RecordRule, ...]:
    """The record rules column (SPEC 14): text on SQLite, a list on PostgreSQL."""
    if not value:
        return ()
    if isinstance(value, str | bytes):
        return () if value in ("[]", b"[]") else _rules_text(value)
    return rules_from_json(value)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1024)
def _scope_set(scopes: tuple) -> frozenset[str]:
    return frozenset(scopes)


# The `all_<kind>` flags of a row, as the frozenset of kinds granted in full.
_all_flags = operator.itemgetter(*(ALL_FIELDS[kind] for kind in _KINDS))
_ALL_KINDS_BY_FLAGS: dict[tuple[bool, ...], frozenset[Kind]] = {
    flags: frozenset(kind for kind, flag in zip(_KINDS, flags, strict=True) if flag)
    for flags in itertools.product((False, True), repeat=len(_KINDS))
}


def _fail(ip: str | None, message: str) -> AuthenticationFailed:
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


def _well_formed(credential: str) -> bool:
    """A Keyward token with a good checksum, or something shaped like an imported legacy key."""
    if _KEYWARD_PREFIX_RE.match(credential):
        return crypto.is_well_formed(credential)
    return crypto.is_legacy_key_shaped(credential)


def authenticate(request: HttpRequest, account_id: int | None = None) -> Principal:
    """The Principal for the request's bearer token, or AuthenticationFailed.

    `account_id`: the account an account route names; the principal's `access`
    is then that account if the token acts in it (None otherwise), read in the
    same query as the token.
    """
    ip = client_ip(request)
    try:
        credential = credential_from(request)
    except AuthenticationFailed:
        throttle.record_failure(ip)
        raise
    if credential is None:
        raise AuthenticationFailed("Authentication required.", credentials_sent=False)
    digests = crypto.digests(credential, settings.KEYWARD_TOKEN_PEPPERS)
    wait = throttle.retry_after(ip, digests)
    if wait:
        raise AuthenticationFailed(
            "Too many failed authentication attempts.", credentials_sent=True, retry_after=wait
        )
    if not _well_formed(credential):
        raise _fail(ip, "The token is malformed.")
    params: dict[str, str | int] = dict(zip(_digest_params(len(digests)), digests, strict=True))
    if account_id is not None:
        params["account"] = account_id
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(len(digests), in_account=account_id is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise _fail(ip, "The token is invalid or has been revoked.")

    principal = _principal(row, ip)
    now = timezone.now()
    by_previous = row[_DIGEST_AT] not in digests
    if by_previous and not (
        principal.previous_secret_expires_at and principal.previous_secret_expires_at > now
    ):
        raise _fail(ip, "The token is invalid or has been revoked.")
    problem = token_is_usable(principal.grant, now=now, client_ip=ip)
    if problem:
        raise _fail(ip, problem)
    access = principal.access
    if access is not None and not access.policy.is_off:  # no cost for accounts without one
        blocked_by = _policy_violation(principal, access.policy, now)
        if blocked_by is not None:
            # Blocked in this account (never revoked); a refused request is not a use,
            # so it neither refreshes the idle clock nor records the address.
            return replace(principal, access=replace(access, blocked_by=blocked_by))
    if by_previous:
        _touch_previous(principal, request, now, digest=digests[0])
    else:
        stale_pepper = row[_DIGEST_AT] != digests[0]
        _touch(principal, request, now, digest=digests[0], rehash=stale_pepper)
    return principal


def access_in_accounts(
    principal: Principal, account_ids: Collection[int]
) -> dict[int, AccountAccess]:
    """Where the authenticated token acts among `account_ids`, as an account route would find it.

    The same join as authentication's (_acting_join: not removed, the owner's role
    there) and the same policy judgement (`blocked_by`), keyed by account id; an
    account the token does not act in is absent. One query (token management routes,
    not the hot path).
    """
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    params: dict[str, int] = {f"a{n}": pk for n, pk in enumerate(ids)}
    listed = ", ".join(f"%({name})s" for name in params)
    params["token"] = principal.id
    sql = (
        f"SELECT {_ACCOUNT_COLUMNS} FROM {Token._meta.db_table} t "  # noqa: S608 (no user input)
        f"{_acting_join(f'IN ({listed})')}WHERE t.id = %(token)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    now = timezone.now()
    found: dict[int, AccountAccess] = {}
    for row in rows:
        access = _access(row, token_type=principal.type, token_role=principal.role)
        if access is None:
            continue
        if not access.policy.is_off:
            blocked_by = _policy_violation(principal, access.policy, now)
            if blocked_by is not None:
                access = replace(access, blocked_by=blocked_by)
        found[access.id] = access
    return found


def _policy_violation(principal: Principal, policy: Policy, now: datetime) -> str | None:
    grant = principal.grant
    return policy_violation(
        policy,
        token_type=principal.type,
        created_at=principal.created_at,
        expires_at=grant.expires_at,
        last_used_at=principal.last_used_at or principal.imported_at,  # legacy: since import
        allowed_ips=grant.allowed_ips,
        now=now,
        client_ip=principal.client_ip,
    )


def _policy(columns: tuple) -> Policy:
    """The account's token policies from its columns; accounts without any share NO_POLICY."""
    lifetime, idle, needs_allow_list, networks_json = columns
    networks = _json(networks_json)
    if lifetime is None and idle is None and not needs_allow_list and not networks:
        return NO_POLICY
    return Policy(
        max_lifetime_days=lifetime,
        max_idle_days=idle,
        automation_requires_ip_allow_list=bool(needs_allow_list),
        allowed_networks=networks,
    )


def _access(account_row: tuple, *, token_type: str, token_role: str) -> AccountAccess | None:
    """The joined account (_ACCOUNT_COLUMNS) as an AccountAccess, or None where the token
    does not act: an automation token is capped by its own role, a user token by its
    owner's membership role."""
    account_id, slug, name, plan, member_role = account_row[:5]
    role = token_role if token_type == TokenType.AUTOMATION else member_role
    if account_id is None or not role:
        return None
    return AccountAccess(account_id, slug, name, plan, role=role, policy=_policy(account_row[5:]))


def _principal(row: tuple, ip: str | None) -> Principal:
    values = dict(zip(_TOKEN_COLUMNS, row, strict=False))
    owner_active, email, user_name = row[_OWNER_AT:_ACCOUNT_AT]
    account_row = row[_ACCOUNT_AT:]
    grant = Grant(
        token_type=values["type"],
        scopes=_scope_set(_json(values["scopes"])),
        all_kinds=_ALL_KINDS_BY_FLAGS[_all_flags(values)],
        tls_access=bool(values["tls_access"]),
        expires_at=_aware(values["expires_at"]),
        owner_active=values["user_id"] is None or bool(owner_active),
        allowed_ips=_json(values["allowed_ips"]),
        account_id=values["account_id"],
        record_rules=_record_rules(values["record_rules"]),
    )
    return Principal(
        id=values["id"],
        type=values["type"],
        name=values["name"],
        display=values["display"],
        user_id=values["user_id"],
        user_email=email,
        user_name=user_name,
        account_id=values["account_id"],
        role=values["role"],
        grant=grant,
        created_at=_aware(values["created_at"]),  # type: ignore[arg-type]
        last_used_at=_aware(values["last_used_at"]),
        last_used_ip=values["last_used_ip"],
        previous_secret_expires_at=_aware(values["previous_secret_expires_at"]),
        previous_secret_last_used_at=_aware(values["previous_secret_last_used_at"]),
        client_ip=ip,
        access=_access(account_row, token_type=values["type"], token_role=values["role"]),
        imported_at=_aware(values["imported_at"]),
    )


def _touch(
    principal: Principal, request: HttpRequest, now: datetime, *, digest: str, rehash: bool
) -> None:
    """Record last use at most once a minute; move an old-pepper digest to `digest`."""
    cutoff = now - LAST_USED_INTERVAL
    if not rehash and principal.last_used_at and principal.last_used_at > cutoff:
        return
    changes: dict[str, object] = {
        "last_used_at": now,
        "last_used_ip": principal.client_ip,
        "last_used_user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff)
    if rehash:
        changes["digest"] = digest
        stale = Q()
    if Token.objects.filter(stale, pk=principal.id).update(**changes):
        # This request writes the minute's last use: it also writes the usage
        # buffered since the previous one (SPEC 13: at most once a minute per token).
        since = principal.last_used_at or now
        days = (now.date() - since.date()).days
        usage_flush(token_id=principal.id, days=buffered_days(now)[: days + 1], now=now)
    throttle.record_success(principal.client_ip, digest)


def _touch_previous(
    principal: Principal, request: HttpRequest, now: datetime, *, digest: str
) -> None:
    """A use of the previous secret (SPEC 11): recorded at most once a minute, like last use."""
    cutoff = now - LAST_USED_INTERVAL
    last = principal.previous_secret_last_used_at
    if last and last > cutoff:
        return
    unrecorded = Q(previous_secret_last_used_at__isnull=True)
    stale = unrecorded | Q(previous_secret_last_used_at__lt=cutoff)
    Token.objects.filter(stale, pk=principal.id).update(
        previous_secret_last_used_at=now,
        last_used_at=now,
        last_used_ip=principal.client_ip,
        last_used_user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
    throttle.record_success(principal.client_ip, digest)
