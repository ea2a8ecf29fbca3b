"""Bearer authentication: the API's hot path (SPEC 5, 7 and 10).

One request costs, on the warm path: an offline format and checksum check,
one HMAC per configured pepper, and ONE indexed SQL query (tokens.auth.principal)
that joins the token to its owner and, for account routes, to the account named by
the route and the role that caps the token there. A route then runs one more query
for its resource(s). `last_used_*` is written by one conditional UPDATE at most once
a minute per token.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.http import client_ip
from tokens import crypto
from tokens.auth import throttle
from tokens.auth.columns import kept_cursor
from tokens.auth.principal import (
    ACCOUNT_ROW,
    BEARER_ROW,
    AccountAccess,
    Principal,
    account_access,
    acting_join,
    bearer_sql,
    digest_params,
    principal_from,
)
from tokens.constants import LAST_USED_INTERVAL, MAX_CREDENTIAL_LENGTH
from tokens.models import Token
from tokens.networks.buffer import network_note
from tokens.permissions import token_is_usable
from tokens.policies.rules import policy_violation
from tokens.usage.services import buffered_days, usage_flush

_KEYWARD_PREFIX_RE = re.compile(r"^kw[ua]_")


class AuthenticationFailed(Exception):
    """The request carries no usable bearer token (401) or is throttled (429)."""

    def __init__(self, message: str, *, credentials_sent: bool, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.credentials_sent = credentials_sent
        self.retry_after = retry_after


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
    params: dict[str, str | int] = dict(zip(digest_params(len(digests)), digests, strict=True))
    if account_id is not None:
        params["account"] = account_id
    cursor = kept_cursor()
    cursor.execute(bearer_sql(len(digests), in_account=account_id is not None), params)
    found = cursor.fetchone()
    if found is None:
        raise _fail(ip, "The token is invalid or has been revoked.")

    row = BEARER_ROW.read(found)
    principal = principal_from(row, ip)
    now = timezone.now()
    by_previous = row.digest not in digests
    if by_previous and not (
        principal.previous_secret_expires_at and principal.previous_secret_expires_at > now
    ):
        raise _fail(ip, "The token is invalid or has been revoked.")
    problem = token_is_usable(principal.grant, now=now, client_ip=ip)
    if problem:
        raise _fail(ip, problem)
    access = principal.access
    if access is not None and not access.policy.is_off:  # no cost for accounts without one
        blocked_by = _policy_violation(principal, access, now)
        if blocked_by is not None:
            # Blocked in this account (never revoked); a refused request is not a use,
            # so it neither refreshes the idle clock nor records the address.
            return replace(principal, access=replace(access, blocked_by=blocked_by))
    # New-network alerts (SPEC 19): the network goes to the cache, judged at the flush.
    network_note(principal.id, ip)
    if by_previous:
        _touch_previous(principal, request, now, digest=digests[0])
    else:
        stale_pepper = row.digest != digests[0]
        _touch(principal, request, now, digest=digests[0], rehash=stale_pepper)
    return principal


def access_in_accounts(
    principal: Principal, account_ids: Collection[int]
) -> dict[int, AccountAccess]:
    """Where the authenticated token acts among `account_ids`, as an account route would find it.

    The same join as authentication's (acting_join: not removed, the owner's role
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
        f"SELECT {ACCOUNT_ROW.sql} FROM {Token._meta.db_table} t "  # noqa: S608 (no user input)
        f"{acting_join(f'IN ({listed})')}WHERE t.id = %(token)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    now = timezone.now()
    found: dict[int, AccountAccess] = {}
    for row in rows:
        access = account_access(
            ACCOUNT_ROW.read(row), token_type=principal.type, token_role=principal.role
        )
        if access is None:
            continue
        if not access.policy.is_off:
            blocked_by = _policy_violation(principal, access, now)
            if blocked_by is not None:
                access = replace(access, blocked_by=blocked_by)
        found[access.id] = access
    return found


def _policy_violation(principal: Principal, access: AccountAccess, now: datetime) -> str | None:
    grant = principal.grant
    return policy_violation(
        access.policy,
        token_type=principal.type,
        created_at=principal.created_at,
        expires_at=grant.expires_at,
        last_used_at=principal.last_used_at or principal.imported_at,  # legacy: since import
        allowed_ips=grant.allowed_ips,
        now=now,
        client_ip=principal.client_ip,
        owner_has_second_factor=principal.owner_has_second_factor,
        sso_authorized=access.sso_authorized,
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
