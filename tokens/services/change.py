"""Changing a token's permissions: name, scopes, resources, IP allow-list, record rules, TLS."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from django.db import transaction
from django.utils import timezone

from tokens.events import Actor, event_record
from tokens.models import ALL_FIELDS, EventKind, Token
from tokens.permissions import SCOPE_OPERATIONS, Kind
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
    token = token_locked(token)
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
        refuse_by_policy(edit_refusal(token, allowed_ips=updated.allowed_ips))
    if not sudo and _permissions_widen(token, updated, clean_resources):
        raise SudoRequired()

    token.name, token.scopes = updated.name, updated.scopes
    token.allowed_ips, token.tls_access = updated.allowed_ips, updated.tls_access
    token.record_rules = updated.record_rules
    token_flags_set(token, clean_resources)
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
    token_selections_save(token, clean_resources)
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
