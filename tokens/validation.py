"""Cleaning what the token services are given: the rules of what a token may hold.

Names, scopes the role allows, resources in the token's reach, IP allow-lists,
expiry, and the plan's grant. Each check raises TokenValidationError (with the
service keyword the message belongs to) or returns the cleaned value; the
services call them before writing anything, so the panel and the API get the
same answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.dates import plus_years
from accounts.models import Account
from tokens.constants import MAX_ALLOWED_IPS, MAX_EXPIRY_YEARS, MAX_NAME_LENGTH
from tokens.models import RESOURCE_MODELS, Token, TokenType
from tokens.permissions import (
    KIND_LABELS,
    SCOPE_OPERATIONS,
    SCOPES,
    Kind,
    plan_allows_scoped,
    scopes_allowed_for_role,
    scopes_allowed_for_roles,
)
from tokens.record_rules import (
    RecordRulesError,
    clean_record_rules,
    record_rules_widen,
    rules_from_json,
    rules_json,
)
from tokens.selectors import TokenReach

# "All resources" in a resources mapping; otherwise a collection of ids.
ALL: Final = "all"

Resources = Mapping[str, Any]


class TokenValidationError(ValidationError):
    """Bad input for a token service; `message_dict` maps field names to messages.

    Field names are the service's keyword names (`name`, `scopes`, `resources.zones`,
    `allowed_ips`, `expires_at`, ...) or "__all__".
    """

    def __init__(self, errors: Mapping[str, str | list[str]], code: str = "invalid") -> None:
        super().__init__({field: _as_list(msgs) for field, msgs in errors.items()}, code=code)
        self.error_code = code


def _as_list(messages: str | list[str]) -> list[str]:
    return [messages] if isinstance(messages, str) else list(messages)


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise TokenValidationError({"name": "Give the token a name, e.g. “CI deploys”."})
    if len(name) > MAX_NAME_LENGTH:
        raise TokenValidationError(
            {"name": f"Keep the name to {MAX_NAME_LENGTH} characters or fewer."}
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        # PostgreSQL refuses NUL in text; no name needs any control character.
        raise TokenValidationError({"name": "The name may not contain control characters."})
    return name


def clean_scopes(scopes: Iterable[str] | None, allowed: Collection[str]) -> list[str]:
    if scopes is None or isinstance(scopes, str):
        raise TokenValidationError({"scopes": "Scopes must be a list of scope names."})
    chosen = []
    for scope in scopes:
        if not isinstance(scope, str) or scope not in SCOPES:
            raise TokenValidationError({"scopes": f"Unknown scope: {str(scope)[:40]!r}."})
        if scope not in allowed:
            raise TokenValidationError({"scopes": f"The role does not allow the scope {scope!r}."})
        if scope not in chosen:
            chosen.append(scope)
    if not chosen:
        raise TokenValidationError({"scopes": "Choose at least one scope."})
    return [scope for scope in SCOPES if scope in chosen]


def clean_resources(
    resources: Resources | None, account_ids: Sequence[int]
) -> dict[Kind, list[int] | None]:
    """Per kind: None for all, or the selected ids (each checked to be in reach)."""
    if resources is None:
        return dict.fromkeys(Kind)
    if not isinstance(resources, Mapping):
        raise TokenValidationError({"resources": "Resources must map a type to “all” or ids."})
    unknown = sorted(str(key) for key in resources if key not in set(Kind))
    if unknown:
        raise TokenValidationError(
            {"resources": f"Unknown resource type: {', '.join(unknown)[:80]}."}
        )
    cleaned: dict[Kind, list[int] | None] = {}
    errors: dict[str, str] = {}
    for kind in Kind:
        value = resources.get(str(kind), ALL)
        if value == ALL or value is None:
            cleaned[kind] = None
            continue
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            errors[f"resources.{kind}"] = "Use “all” or a list of ids."
            continue
        try:
            ids = sorted({int(item) for item in value if not isinstance(item, bool)})
        except (TypeError, ValueError):
            errors[f"resources.{kind}"] = "Ids must be whole numbers."
            continue
        found = set(
            RESOURCE_MODELS[kind]
            .objects.filter(
                pk__in=[item for item in ids if 0 < item < 2**63],  # beyond: no such row
                account_id__in=account_ids,
            )
            .values_list("pk", flat=True)
        )
        missing = [item for item in ids if item not in found]
        if missing:
            shown = ", ".join(str(item) for item in missing[:10])
            errors[f"resources.{kind}"] = (
                f"{KIND_LABELS[kind]}: no such resource in the token's accounts (id {shown})."
            )
            continue
        cleaned[kind] = ids
    if errors:
        raise TokenValidationError(errors)
    return cleaned


def clean_allowed_ips(entries: Iterable[str] | str | None) -> list[str]:
    """Normalised networks from addresses or CIDRs (IPv4 and IPv6), one per entry."""
    if entries is None:
        return []
    if isinstance(entries, str):
        entries = entries.splitlines()
    networks: list[str] = []
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise TokenValidationError(
                {"allowed_ips": f"“{entry[:60]}” is not an IP address or CIDR range."}
            ) from None
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
            mapped = network.network_address.ipv4_mapped
            network = ipaddress.ip_network(f"{mapped}/{max(0, network.prefixlen - 96)}")
        if str(network) not in networks:
            networks.append(str(network))
    if len(networks) > MAX_ALLOWED_IPS:
        raise TokenValidationError(
            {"allowed_ips": f"At most {MAX_ALLOWED_IPS} entries in the IP allow-list."}
        )
    return networks


def clean_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if timezone.is_naive(expires_at):
        raise TokenValidationError({"expires_at": "Give the expiry with a time zone."})
    if expires_at <= now:
        raise TokenValidationError({"expires_at": "The expiry date must be in the future."})
    if expires_at > plus_years(now, MAX_EXPIRY_YEARS):
        raise TokenValidationError(
            {"expires_at": f"Choose an expiry within {MAX_EXPIRY_YEARS} years, or “never”."}
        )
    return expires_at


def solo_plan_grant(
    account: Account, scopes: Sequence[str] | None, resources: Resources | None
) -> tuple[list[str], dict[Kind, list[int] | None]]:
    """The only grant of an automation token on a plan that does not scope them (Solo).

    `global` on all resources, capped by the token's role (SPEC 4, Plans). No
    scopes or exactly `global`, and "all" of every kind, are accepted (the panel
    sends no scopes, as the wizard shows none); anything narrower is refused.
    """
    narrowed_scopes = scopes is not None and list(scopes) not in ([], ["global"])
    narrowed_resources = resources is not None and (
        not isinstance(resources, Mapping)
        or any(value not in (ALL, None) for value in resources.values())
    )
    if narrowed_scopes or narrowed_resources:
        raise TokenValidationError(
            {
                "scopes": (
                    f"On the {account.get_plan_display()} plan automation tokens have the scope "
                    "'global' on all resources, capped by their role. Upgrade to Teams to "
                    "choose scopes and resources."
                )
            }
        )
    return ["global"], dict.fromkeys(Kind)


def clean_grant(
    *,
    token_type: str,
    account: Account | None,
    role: str,
    reach: TokenReach,
    scopes: Sequence[str] | None,
    resources: Resources | None,
) -> tuple[list[str], dict[Kind, list[int] | None]]:
    """The scopes and resources a token gets: its plan's, or those asked within role and reach."""
    if token_type == TokenType.AUTOMATION:
        assert account is not None  # an automation token always has one (checked on create)
        if not plan_allows_scoped(account.plan, token_type):
            return solo_plan_grant(account, scopes, resources)
        allowed = scopes_allowed_for_role(role)
    else:
        allowed = scopes_allowed_for_roles(reach.owner_roles)
    return clean_scopes(scopes, allowed), clean_resources(resources, reach.account_ids)


def clean_token_record_rules(
    record_rules: Iterable[Any] | None, *, account: Account | None, token_type: str
) -> list[dict[str, object]]:
    """SPEC 14's record rules as stored (a 422 naming the bad rule otherwise)."""
    try:
        rules = clean_record_rules(record_rules)
    except RecordRulesError as error:
        raise TokenValidationError({error.field: error.message}) from None
    if (
        rules
        and token_type == TokenType.AUTOMATION
        and account is not None
        and not plan_allows_scoped(account.plan, token_type)
    ):
        raise TokenValidationError(
            {
                "record_rules": f"On the {account.get_plan_display()} plan automation tokens "
                "touch every record. Upgrade to Teams to limit them to some records."
            }
        )
    return rules_json(rules)


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


def permissions_widen(before: Token, after: Token, after_resources: Mapping) -> bool:
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
