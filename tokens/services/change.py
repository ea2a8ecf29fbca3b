"""Changing a token's permissions: name, scopes, resources, IP allow-list, record rules, TLS."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from django.db import transaction
from django.utils import timezone

from tokens.events import Actor, event_record
from tokens.kinds import KINDS, Kind
from tokens.models import EventKind, Token
from tokens.permissions import SCOPE_OPERATIONS
from tokens.policies.selectors import edit_refusal
from tokens.records.rules import record_rules_widen, rules_from_json
from tokens.selections.services import token_flags_set, token_selections_save
from tokens.selectors import token_reach
from tokens.services.common import (
    SudoRequired,
    refuse_by_policy,
    token_locked,
    token_permissions_snapshot,
)
from tokens.validation import Resources, TokenValidationError, clean_token_input


@transaction.atomic(durable=True)
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
    expires_at: datetime | None = None,
    sudo: bool,
) -> Token:
    """Change a token's name, scopes, resources, IP allow-list, record rules (and TLS).

    `record_rules` None keeps the token's rules; an empty list removes them.
    `expires_at` None keeps the expiry; a moment brings it earlier (never later: an
    edit cannot extend a token, but it can bring one within a maximum lifetime).

    The secret never changes. Anything that widens what the token can do needs
    `sudo=True` (the caller re-checked the password recently); narrowing does
    not. Logs before and after. TokenGone when it was revoked meanwhile.
    """
    token = token_locked(token)
    before = token_permissions_snapshot(token)
    expiry_before = token.expires_at
    new_expiry = _shortened_expiry(token, expires_at)
    updated, resources_now = _token_changed(
        token,
        name=name,
        scopes=scopes,
        resources=resources,
        allowed_ips=allowed_ips,
        tls_access=tls_access,
        record_rules=record_rules,
    )
    updated.expires_at = new_expiry
    if token.is_automation:
        refuse_by_policy(edit_refusal(token, allowed_ips=updated.allowed_ips))
    if not sudo and _permissions_widen(token, updated, resources_now):
        raise SudoRequired()
    _token_save(token, updated, resources_now)
    after = token_permissions_snapshot(token)
    if token.expires_at != expiry_before:
        before["expires_at"] = expiry_before.isoformat() if expiry_before else None
        after["expires_at"] = token.expires_at.isoformat() if token.expires_at else None
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


def _shortened_expiry(token: Token, expires_at: datetime | None) -> datetime | None:
    """The token's expiry after the edit: `expires_at` if it shortens it, else a refusal."""
    if expires_at is None:
        return token.expires_at
    if expires_at <= timezone.now():
        raise TokenValidationError({"expires_at": "Choose a date in the future."})
    if token.expires_at is not None and expires_at > token.expires_at:
        until = f"{token.expires_at:%b} {token.expires_at.day}, {token.expires_at.year}"
        raise TokenValidationError(
            {
                "expires_at": f"An edit can only bring the expiry earlier: this token expires "
                f"{until}. To keep it working longer, create a replacement."
            }
        )
    return expires_at


def _token_changed(
    token: Token,
    *,
    name: str,
    scopes: Sequence[str] | None,
    resources: Resources | None,
    allowed_ips: Iterable[str] | str | None,
    tls_access: bool | None,
    record_rules: Iterable[Any] | None,
) -> tuple[Token, dict[Kind, list[int] | None]]:
    """The token as the change would leave it (unsaved), and its resources: every field's
    problem at once (TokenValidationError). The expiry stays as it is."""
    tls = token.tls_access if tls_access is None else bool(tls_access)
    cleaned = clean_token_input(
        token_type=token.type,
        account=token.account,
        role=token.role,
        reach=token_reach(
            token_type=token.type,
            owner_id=token.user_id,
            account_id=token.account_id,
            token_id=token.pk,
        ),
        name=name,
        scopes=scopes,
        resources=resources,
        allowed_ips=allowed_ips,
        record_rules=record_rules or [],
        expires_at=None,
        now=timezone.now(),
        tls_access=tls,
        check_expiry=False,  # an edit keeps the expiry
    )
    if tls and not token.is_automation:
        raise TokenValidationError({"tls_access": "TLS management is for automation tokens only."})
    updated = Token(
        pk=token.pk,
        type=token.type,
        role=token.role,
        name=cleaned.name,
        scopes=cleaned.scopes,
        allowed_ips=cleaned.allowed_ips,
        tls_access=tls,
        record_rules=token.record_rules if record_rules is None else cleaned.record_rules,
    )
    return updated, cleaned.resources


def _token_save(token: Token, updated: Token, resources: dict[Kind, list[int] | None]) -> None:
    """Write the change to the (locked) token's row and its selections."""
    token.name, token.scopes = updated.name, updated.scopes
    token.allowed_ips, token.tls_access = updated.allowed_ips, updated.tls_access
    token.record_rules, token.expires_at = updated.record_rules, updated.expires_at
    token_flags_set(token, resources)
    token.save(
        update_fields=[
            "name",
            "scopes",
            "allowed_ips",
            "tls_access",
            "record_rules",
            "expires_at",
            *(entry.all_field for entry in KINDS),
        ]
    )
    token_selections_save(token, resources)


# --------------------------------------------------------------------------- widening


def _networks_within(new: Sequence[str], old: Sequence[str]) -> bool:
    """Every network in `new` lies inside one in `old` (an empty list allows any IP)."""
    if not old:
        return True
    if not new:
        return False
    old_networks = [ipaddress.ip_network(entry) for entry in old]
    for entry in new:
        network = ipaddress.ip_network(entry)
        if not any(_subnet_of(network, outer) for outer in old_networks):
            return False
    return True


def _subnet_of(inner: IPv4Network | IPv6Network, outer: IPv4Network | IPv6Network) -> bool:
    """`inner` lies inside `outer` (never across IP versions)."""
    if isinstance(inner, IPv4Network) and isinstance(outer, IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, IPv6Network) and isinstance(outer, IPv6Network):
        return inner.subnet_of(outer)
    return False


def _permissions_widen(before: Token, after: Token, after_resources: Mapping) -> bool:
    """True when `after` may do something `before` could not (sudo needed)."""
    if record_rules_widen(
        rules_from_json(before.record_rules), rules_from_json(after.record_rules)
    ):
        return True
    old_ops = set().union(*(SCOPE_OPERATIONS[s] for s in before.scopes))
    new_ops = set().union(*(SCOPE_OPERATIONS[s] for s in after.scopes))
    if new_ops - old_ops:
        return True
    if after.tls_access and not before.tls_access:
        return True
    for kind in Kind:
        new_ids = after_resources[kind]
        if before.has_all(kind):
            continue
        if new_ids is None or set(new_ids) - set(before.selected_ids(kind)):
            return True
    return not _networks_within(after.allowed_ips, before.allowed_ips)
