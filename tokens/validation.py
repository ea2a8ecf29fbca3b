"""Cleaning what the token services are given: the rules of what a token may hold.

Names, scopes the role allows, resources in the token's reach, IP allow-lists,
expiry, and the plan's grant. Each check raises TokenValidationError (with the
service keyword the message belongs to) or returns the cleaned value; the
services call them before writing anything, so the panel and the API get the
same answers.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.dates import plus_years
from accounts.models import Account
from tokens.constants import MAX_ALLOWED_IPS, MAX_EXPIRY_YEARS, MAX_NAME_LENGTH
from tokens.kinds import BY_KIND, Kind
from tokens.models import TokenType
from tokens.permissions import SCOPES, kinds_for_scopes, plan_allows_scoped
from tokens.records.rules import (
    RecordRulesError,
    clean_record_rules,
    rules_json,
)
from tokens.scope_words import RoleIn, roles_in_accounts, scope_refusal
from tokens.selectors import TokenReach, resources_in_accounts

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


T = TypeVar("T")


class Problems:
    """Runs several checks and keeps every TokenValidationError, so all are reported at once.

    `check(...)` returns the cleaned value, or None when the check failed (then
    `raise_any()` raises one TokenValidationError holding every message).
    """

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.code = "invalid"

    def check(self, clean: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return clean(*args, **kwargs)
        except TokenValidationError as error:
            self.add(error)
            return None

    def add(self, error: TokenValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.errors.setdefault(field, []).extend(messages)
        if error.error_code != "invalid":
            self.code = error.error_code

    def raise_any(self) -> None:
        if self.errors:
            raise TokenValidationError(self.errors, code=self.code)


# Control (Cc) and format (Cf) characters, and the line and paragraph separators:
# invisible, they let a name spoof another (U+202E reverses what follows, U+200D
# joins unseen) or break the line it is shown on. PostgreSQL refuses NUL besides.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def clean_name(name: str) -> str:
    """A token's name, trimmed: the one rule for the wizard, the edit page and the API."""
    name = (name or "").strip()
    if not name:
        raise TokenValidationError({"name": "Give the token a name, e.g. “CI deploys”."})
    if len(name) > MAX_NAME_LENGTH:
        raise TokenValidationError(
            {"name": f"Keep the name to {MAX_NAME_LENGTH} characters or fewer."}
        )
    invisible = [char for char in name if unicodedata.category(char) in _INVISIBLE_CATEGORIES]
    if invisible:
        raise TokenValidationError(
            {
                "name": "The name may not contain invisible control or format characters "
                f"(found U+{ord(invisible[0]):04X})."
            }
        )
    return name


def clean_scopes(scopes: Iterable[str] | None, roles: Sequence[RoleIn]) -> list[str]:
    """The scopes asked, each one the token's roles can use (SPEC 6); every problem at once."""
    if scopes is None or isinstance(scopes, str):
        raise TokenValidationError({"scopes": "Scopes must be a list of scope names."})
    chosen: list[str] = []
    errors: list[str] = []
    for scope in scopes:
        if not isinstance(scope, str) or scope not in SCOPES:
            errors.append(f"Unknown scope: {str(scope)[:40]!r}.")
            continue
        refusal = scope_refusal(scope, roles)
        if refusal is not None:
            errors.append(f"{scope} is not available: {refusal}")
        elif scope not in chosen:
            chosen.append(scope)
    if errors:
        raise TokenValidationError({"scopes": errors})
    if not chosen:
        raise TokenValidationError({"scopes": "Choose at least one scope."})
    return [scope for scope in SCOPES if scope in chosen]


def clean_resources(
    resources: Resources | None,
    account_ids: Sequence[int],
    reached: Collection[Kind] = frozenset(Kind),
) -> dict[Kind, list[int] | None]:
    """Per kind: None for all, or the selected ids (each checked to be in reach).

    "Selected" with nothing selected is refused for the kinds the token's scopes
    reach (`reached`): such a token would reach nothing of that kind. For the
    others the selection is moot and kept as given.
    """
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
        if not ids and kind in reached:
            errors[f"resources.{kind}"] = (
                f"{BY_KIND[kind].label}: select at least one, or choose “All”. "
                "With none selected the token would reach none."
            )
            continue
        found = resources_in_accounts(kind, ids, account_ids)
        missing = [item for item in ids if item not in found]
        if missing:
            shown = ", ".join(str(item) for item in missing[:10])
            errors[f"resources.{kind}"] = (
                f"{BY_KIND[kind].label}: no such resource in the token's accounts (id {shown})."
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
    errors: list[str] = []
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            errors.append(f"“{entry[:60]}” is not an IP address or CIDR range.")
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
            mapped = network.network_address.ipv4_mapped
            network = ipaddress.ip_network(f"{mapped}/{max(0, network.prefixlen - 96)}")
        if str(network) not in networks:
            networks.append(str(network))
    if errors:
        raise TokenValidationError({"allowed_ips": errors})
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
    tls_access: bool = False,
) -> tuple[list[str], dict[Kind, list[int] | None]]:
    """The scopes and resources a token gets: its plan's, or those asked within role and reach.

    Scope and resource problems are reported together.
    """
    if token_type == TokenType.AUTOMATION:
        assert account is not None  # an automation token always has one (checked on create)
        if not plan_allows_scoped(account.plan, token_type):
            return solo_plan_grant(account, scopes, resources)
        roles = [RoleIn(role, tls_access=tls_access)]
    else:
        roles = roles_in_accounts(reach.memberships)
    problems = Problems()
    cleaned_scopes = problems.check(clean_scopes, scopes, roles)
    asked = [scope for scope in scopes or () if isinstance(scope, str) and scope in SCOPES]
    cleaned_resources = problems.check(
        clean_resources, resources, reach.account_ids, kinds_for_scopes(cleaned_scopes or asked)
    )
    problems.raise_any()
    assert cleaned_scopes is not None and cleaned_resources is not None  # else raised
    return cleaned_scopes, cleaned_resources


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


@dataclass(frozen=True)
class TokenInput:
    """A token's cleaned name, grant, IP allow-list, record rules and expiry."""

    name: str
    scopes: list[str]
    resources: dict[Kind, list[int] | None]
    allowed_ips: list[str]
    record_rules: list[dict[str, object]]
    expires_at: datetime | None


def clean_token_input(
    *,
    token_type: str,
    account: Account | None,
    role: str,
    reach: TokenReach,
    name: str,
    scopes: Sequence[str] | None,
    resources: Resources | None,
    allowed_ips: Iterable[str] | str | None,
    record_rules: Iterable[Any] | None,
    expires_at: datetime | None,
    now: datetime,
    tls_access: bool = False,
    check_expiry: bool = True,
) -> TokenInput:
    """Every input check of a new token at once (one TokenValidationError naming each field).

    `check_expiry=False` leaves the expiry unjudged (the wizard's own form
    already refused it), so the other fields' problems still show with it.
    """
    problems = Problems()
    cleaned_name = problems.check(clean_name, name)
    grant = problems.check(
        clean_grant,
        token_type=token_type,
        account=account,
        role=role,
        reach=reach,
        scopes=scopes,
        resources=resources,
        tls_access=tls_access,
    )
    networks = problems.check(clean_allowed_ips, allowed_ips)
    rules = problems.check(
        clean_token_record_rules, record_rules, account=account, token_type=token_type
    )
    expiry = problems.check(clean_expiry, expires_at, now) if check_expiry else None
    problems.raise_any()
    assert cleaned_name is not None and grant is not None  # else raised above
    return TokenInput(
        name=cleaned_name,
        scopes=grant[0],
        resources=grant[1],
        allowed_ips=networks or [],
        record_rules=rules or [],
        expires_at=expiry,
    )
