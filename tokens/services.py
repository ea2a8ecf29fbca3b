"""Every write about tokens: create, change permissions, revoke, and the event log.

Each service is keyword-only, runs in one transaction and writes its Event in
that transaction. The panel and the API call the same services, so every rule
(scopes the role allows, resources in reach, plan limits, expiry, the token
limit) is enforced once: here, with the input checks of tokens.validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account, User
from accounts.selectors import memberships_managing
from tokens import crypto, policies, tombstones
from tokens.constants import DEFAULT_EXPIRY, MAX_ACTIVE_TOKENS_PER_USER, MAX_ROLL_GRACE_PERIOD
from tokens.events import Actor, event_record
from tokens.models import (
    ALL_FIELDS,
    SELECTION_FIELDS,
    ActorKind,
    EventKind,
    Token,
    TokenRemoval,
    TokenType,
)
from tokens.permissions import AUTOMATION_ROLES, Kind
from tokens.selectors import token_reach
from tokens.validation import (
    Resources,
    TokenValidationError,
    clean_token_input,
    permissions_widen,
)


class _Default(Enum):
    """A typed sentinel: "argument not given" (None means never, for `expires_at`)."""

    DEFAULT = "default"


_DEFAULT: Final = _Default.DEFAULT


class TokenLimitReached(TokenValidationError):
    """The user already has the maximum number of active tokens."""

    def __init__(self) -> None:
        super().__init__(
            {
                "__all__": (
                    f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens, the most "
                    "allowed. Delete tokens you no longer use, then try again."
                )
            },
            code="token_limit_reached",
        )


class SudoRequired(Exception):
    """Widening a token's permissions needs a recent password re-check."""


class NotPermitted(Exception):
    """The actor may not do this (the caller shows 403 or 404 as it sees fit)."""


class TokenGone(Http404):
    """The token was revoked while a change to it was under way: nothing was changed.

    An Http404, like the selectors' "no such token": the panel shows its 404 page
    and the API answers 404 `not_found`, as they would a moment later.
    """


def _locked(token: Token) -> Token:
    """`token`'s row, locked until the transaction ends; TokenGone when it was revoked."""
    row = Token.objects.select_for_update().filter(pk=token.pk).first()
    if row is None:
        raise TokenGone("The token was revoked meanwhile.")
    return row


@dataclass(frozen=True)
class CreatedToken:
    """A new token and its secret: the only time the secret exists outside the client."""

    token: Token
    secret: str


def _apply_resources(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    for kind, ids in resources.items():
        setattr(token, ALL_FIELDS[kind], ids is None)


def _save_selections(token: Token, resources: Mapping[Kind, list[int] | None]) -> None:
    for kind, ids in resources.items():
        getattr(token, SELECTION_FIELDS[kind]).set(ids or [])


def token_permissions_snapshot(token: Token) -> dict[str, Any]:
    """What a token may do, for before/after in the event log (never the secret)."""
    snapshot: dict[str, Any] = {
        "name": token.name,
        "scopes": list(token.scopes),
        "resources": token.resources_json(),
        "allowed_ips": list(token.allowed_ips),
        "record_rules": list(token.record_rules),
    }
    if token.is_automation:
        snapshot["role"] = token.role
        snapshot["tls_access"] = token.tls_access
    return snapshot


def _may_manage_account_tokens(user: User | None, account: Account) -> bool:
    return user is not None and memberships_managing(user).filter(account=account).exists()


def _user_token_owner(*, actor: Actor, owner: User | None, tls_access: bool) -> User:
    """The owner of a new user token: people create user tokens for themselves only."""
    if owner is None:
        raise TokenValidationError({"__all__": "A user token needs an owner."})
    if actor.kind == ActorKind.USER and actor.user != owner:
        raise NotPermitted("People create user tokens for themselves only.")
    if tls_access:
        raise TokenValidationError({"tls_access": "TLS management is for automation tokens only."})
    return owner


def _automation_token_role(*, actor: Actor, account: Account | None, role: str | None) -> str:
    """The role of a new automation token (engineer by default); its account's managers only."""
    if account is None:
        raise TokenValidationError({"account": "Choose the account the token acts in."})
    role = role or Role.ENGINEER
    if role not in AUTOMATION_ROLES:
        raise TokenValidationError(
            {"role": "An automation token's role is engineer, user or billing."}
        )
    if actor.kind == ActorKind.USER and not _may_manage_account_tokens(actor.user, account):
        raise NotPermitted("Only superusers of the account create automation tokens.")
    return role


def _check_token_limit(person: User, now: datetime) -> None:
    """Refuse a token beyond the person's limit of active tokens (SPEC 9)."""
    # Lock the person's row so concurrent creations count one after another.
    User.objects.select_for_update().filter(pk=person.pk).first()
    if Token.objects.counting_towards_limit(person).active(now).count() >= (
        MAX_ACTIVE_TOKENS_PER_USER
    ):
        raise TokenLimitReached()


def _refuse_by_policy(refusal: tuple[str, str] | None) -> None:
    """An automation token that breaks a policy of its account is not made (SPEC 15)."""
    if refusal is not None:
        field, message = refusal
        raise TokenValidationError({field: message}, code="policy_violation")


# --------------------------------------------------------------------------- services


@transaction.atomic
def token_create(
    *,
    actor: Actor,
    token_type: str,
    name: str,
    owner: User | None = None,
    account: Account | None = None,
    role: str | None = None,
    scopes: Sequence[str] | None = None,
    resources: Resources | None = None,
    tls_access: bool = False,
    allowed_ips: Iterable[str] | str | None = None,
    expires_at: datetime | _Default | None = _DEFAULT,
    legacy_key: str | None = None,
    record_rules: Iterable[Any] | None = None,
) -> CreatedToken:
    """Issue a token and return it with its secret (the only time the secret is seen).

    User tokens belong to `owner` and act in each of the owner's accounts, capped
    by the owner's role there. Automation tokens act in `account` only, capped by
    `role`, and only superusers of that account create them. `expires_at` defaults
    to 90 days from now; None means never. `legacy_key` imports an old key string
    as the secret (SPEC 9). `record_rules` limit its DNS records (SPEC 14; none:
    every record). Raises TokenValidationError (nothing is written).
    """
    now = timezone.now()
    if token_type not in TokenType.values:
        raise TokenValidationError({"type": "Choose a user token or an automation token."})
    limit_holder: User | None
    if token_type == TokenType.USER:
        owner = _user_token_owner(actor=actor, owner=owner, tls_access=tls_access)
        account, role, limit_holder = None, "", owner
    else:
        role = _automation_token_role(actor=actor, account=account, role=role)
        owner, limit_holder = None, actor.user

    reach = token_reach(
        token_type=token_type,
        owner_id=owner.pk if owner else None,
        account_id=account.pk if account else None,
    )
    if token_type == TokenType.USER and not reach.account_ids:
        raise TokenValidationError(
            {"__all__": "You are not a member of any account, so a token could not act anywhere."}
        )
    cleaned = clean_token_input(
        token_type=token_type,
        account=account,
        role=role,
        reach=reach,
        name=name,
        scopes=["global"] if scopes is None else scopes,
        resources=resources,
        allowed_ips=allowed_ips,
        record_rules=record_rules,
        expires_at=now + DEFAULT_EXPIRY if expires_at is _DEFAULT else expires_at,
        now=now,
        tls_access=bool(tls_access),
    )
    expiry, networks = cleaned.expires_at, cleaned.allowed_ips
    if token_type == TokenType.AUTOMATION:
        assert account is not None  # _automation_token_role refused a missing one
        _refuse_by_policy(policies.token_refusal(account, token_type, now, expiry, networks))
    if limit_holder is not None:
        _check_token_limit(limit_holder, now)

    secret = legacy_key if legacy_key is not None else crypto.generate(token_type)
    token = Token(
        type=token_type,
        name=cleaned.name,
        user=owner,
        account=account,
        created_by=actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None,
        role=role,
        scopes=cleaned.scopes,
        tls_access=bool(tls_access) and token_type == TokenType.AUTOMATION,
        allowed_ips=networks,
        record_rules=cleaned.record_rules,
        digest=crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0]),
        display=crypto.display_hint(secret),
        is_legacy=legacy_key is not None,
        created_at=now,
        expires_at=expiry,
    )
    _apply_resources(token, cleaned.resources)
    token.save()
    _save_selections(token, cleaned.resources)

    event_record(
        kind=EventKind.TOKEN_CREATED,
        actor=actor,
        account=token.account,
        token=token,
        summary=f"{actor.label or 'Someone'} created {token.get_type_display().lower()} "
        f"“{token.name}” ({token.display})",
        details={"permissions": token_permissions_snapshot(token)},
    )
    return CreatedToken(token=token, secret=secret)


@transaction.atomic
def token_update_permissions(
    *,
    actor: Actor,
    token: Token,
    name: str,
    scopes: Sequence[str] | None,
    resources: Resources | None,
    allowed_ips: Iterable[str] | str | None,
    tls_access: bool | None = None,
    record_rules: Iterable[Any] | None = None,
    sudo: bool,
) -> Token:
    """Change a token's name, scopes, resources, IP allow-list, record rules (and TLS).

    `record_rules` None keeps the token's rules; an empty list removes them.

    The secret never changes. Anything that widens what the token can do needs
    `sudo=True` (the caller re-checked the password recently); narrowing does
    not. Logs before and after. TokenGone when it was revoked meanwhile.
    """
    token = _locked(token)
    before = token_permissions_snapshot(token)
    reach = token_reach(
        token_type=token.type,
        owner_id=token.user_id,
        account_id=token.account_id,
        token_id=token.pk,
    )
    updated = Token(pk=token.pk, type=token.type, role=token.role)
    cleaned = clean_token_input(  # every field's problem at once
        token_type=token.type,
        account=token.account,
        role=token.role,
        reach=reach,
        name=name,
        scopes=scopes,
        resources=resources,
        allowed_ips=allowed_ips,
        record_rules=record_rules or [],
        expires_at=None,
        now=timezone.now(),
        tls_access=token.tls_access if tls_access is None else bool(tls_access),
        check_expiry=False,  # an edit keeps the expiry
    )
    updated.name, updated.scopes = cleaned.name, cleaned.scopes
    updated.allowed_ips, clean_resources = cleaned.allowed_ips, cleaned.resources
    updated.tls_access = token.tls_access if tls_access is None else bool(tls_access)
    updated.record_rules = token.record_rules if record_rules is None else cleaned.record_rules
    if updated.tls_access and not token.is_automation:
        raise TokenValidationError({"tls_access": "TLS management is for automation tokens only."})

    if token.is_automation:
        _refuse_by_policy(policies.edit_refusal(token, allowed_ips=updated.allowed_ips))
    if not sudo and permissions_widen(token, updated, clean_resources):
        raise SudoRequired()

    token.name, token.scopes = updated.name, updated.scopes
    token.allowed_ips, token.tls_access = updated.allowed_ips, updated.tls_access
    token.record_rules = updated.record_rules
    _apply_resources(token, clean_resources)
    token.save(
        update_fields=[
            "name",
            "scopes",
            "allowed_ips",
            "tls_access",
            "record_rules",
            *ALL_FIELDS.values(),
        ]
    )
    _save_selections(token, clean_resources)
    after = token_permissions_snapshot(token)
    if after != before:
        event_record(
            kind=EventKind.TOKEN_UPDATED,
            actor=actor,
            account=token.account,
            token=token,
            summary=f"{actor.label or 'Someone'} changed the permissions of “{token.name}” "
            f"({token.display})",
            details={"before": before, "after": after},
        )
    return token


REVOKED_BY = {
    "owner": "its owner",
    "superuser": "a superuser",
    "support": "support staff",
    "self": "the token itself",
    "cleanup": "the stale-token cleanup",
    "max_idle": "the stale-token cleanup (policy: Maximum idle time)",
    "leak_report": "a leak report",
}


@transaction.atomic
def token_revoke(
    *,
    actor: Actor,
    token: Token,
    revoked_by: str,
    account: Account | None = None,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Revoke a token: its row is deleted, so it stops working at once (every secret of it),
    and a tombstone (tokens.tombstones: no secret, no permissions) says when and by whom.

    `revoked_by` is one of REVOKED_BY's keys. `account` names the account in
    whose name a superuser acted (for the event log); `details` adds to the
    event's details (never a secret). False when it was already gone.
    """
    if revoked_by not in REVOKED_BY:
        raise ValueError(f"unknown revoker {revoked_by!r}")
    snapshot = Token(
        pk=token.pk,
        name=token.name,
        display=token.display,
        type=token.type,
        user_id=token.user_id,
    )
    event_account = token.account or account
    details = {
        "revoked_by": revoked_by,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "permissions": token_permissions_snapshot(token),
        **(details or {}),
    }
    secrets = tombstones.token_row_delete(token, now=timezone.now())
    if secrets is None:
        return False  # someone else revoked it first; log nothing twice
    event = event_record(
        kind=EventKind.TOKEN_REVOKED,
        actor=actor,
        account=event_account,
        token=snapshot,
        summary=f"“{token.name}” ({token.display}) revoked by {REVOKED_BY[revoked_by]}"
        + (f" ({actor.label})" if actor.label and revoked_by != "self" else ""),
        details=details,
    )
    tombstones.tombstone_record(secrets, event=event, by=REVOKED_BY[revoked_by])
    return True


@transaction.atomic
def token_remove_from_account(*, actor: Actor, token: Token, account: Account) -> None:
    """Cut a member's user token off from one account (SPEC 6, "Remove from <account>").

    The token stops working there at once and keeps working in its owner's other
    accounts; its owner sees who removed it. Logged in that account.
    """
    if token.type != TokenType.USER:
        raise ValueError("Only user tokens are removed from an account; revoke others.")
    if not Token.objects.select_for_update().filter(pk=token.pk).exists():
        return  # revoked meanwhile: gone everywhere, which is more than removed
    _, created = TokenRemoval.objects.get_or_create(
        token=token,
        account=account,
        defaults={"removed_by": actor.user, "removed_by_label": actor.label[:200]},
    )
    if not created:
        return  # removed already; log nothing twice
    event_record(
        kind=EventKind.TOKEN_REMOVED,
        actor=actor,
        account=account,
        token=token,
        summary=f"“{token.name}” ({token.display}) removed from {account.name}"
        + (f" by {actor.label}" if actor.label else ""),
        details={"permissions": token_permissions_snapshot(token)},
    )


@transaction.atomic
def token_roll(*, actor: Actor, token: Token, grace_period: timedelta) -> CreatedToken:
    """Give a token a new secret; everything else stays (SPEC 11). Returns the new secret.

    The old secret keeps working for `grace_period` (0: it stops at once) as the
    token's previous secret; a previous secret from an earlier roll ends now, so
    at most two secrets are live. The caller checks who may roll (the owner of a
    user token, the account's superusers for an automation token). TokenGone when
    the token was revoked meanwhile (nothing is written).
    """
    if not timedelta(0) <= grace_period <= MAX_ROLL_GRACE_PERIOD:
        raise TokenValidationError(
            {"grace_period": "The grace period is 0 seconds to 7 days (604800 seconds)."}
        )
    token = _locked(token)
    now = timezone.now()
    old_display = token.display
    secret = crypto.generate(token.type)
    if grace_period:
        token.previous_digest = token.digest
        token.previous_secret_expires_at = now + grace_period
    else:
        token.previous_digest = token.previous_secret_expires_at = None
    token.previous_secret_last_used_at = None
    token.digest = crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0])
    token.display = crypto.display_hint(secret)
    token.save(
        update_fields=[
            "digest",
            "display",
            "previous_digest",
            "previous_secret_expires_at",
            "previous_secret_last_used_at",
        ]
    )
    seconds = int(grace_period.total_seconds())
    event_record(
        kind=EventKind.TOKEN_ROLLED,
        actor=actor,
        account=token.account,
        token=token,
        summary=f"{actor.label or 'Someone'} rolled the secret of “{token.name}” "
        f"({old_display} → {token.display})"
        + (f", the old one works for {_duration_text(seconds)}" if seconds else ""),
        details={
            "grace_period": seconds,
            "previous_display": old_display,
            "previous_secret_expires_at": (
                token.previous_secret_expires_at.isoformat()
                if seconds and token.previous_secret_expires_at is not None
                else None
            ),
        },
    )
    return CreatedToken(token=token, secret=secret)


def _duration_text(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
