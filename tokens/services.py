"""Every write about tokens: create, change permissions, revoke, and the event log.

Each service is keyword-only, runs in one transaction and writes its Event in
that transaction. The panel and the API call the same services, so every rule
(scopes the role allows, resources in reach, plan limits, expiry, the token
limit) is enforced once, here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account, Membership, User
from accounts.roles import manages_account
from tokens import crypto, policies
from tokens.constants import (
    DEFAULT_EXPIRY,
    MAX_ACTIVE_TOKENS_PER_USER,
    MAX_ALLOWED_IPS,
    MAX_NAME_LENGTH,
)
from tokens.events import Actor, event_record
from tokens.models import (
    ALL_FIELDS,
    RESOURCE_MODELS,
    SELECTION_FIELDS,
    ActorKind,
    EventKind,
    Token,
    TokenType,
)
from tokens.permissions import (
    AUTOMATION_ROLES,
    KIND_LABELS,
    SCOPE_OPERATIONS,
    SCOPES,
    Kind,
    plan_allows_scoped,
    scopes_allowed_for_role,
    scopes_allowed_for_roles,
)
from tokens.selectors import TokenReach, token_reach

# "All resources" in a resources mapping; otherwise a collection of ids.
ALL: Final = "all"
_DEFAULT: Final = object()

Resources = Mapping[str, Any]


class TokenValidationError(ValidationError):
    """Bad input for a token service; `message_dict` maps field names to messages.

    Field names are the service's keyword names (`name`, `scopes`, `resources.zones`,
    `allowed_ips`, `expires_at`, ...) or "__all__".
    """

    def __init__(self, errors: Mapping[str, str | list[str]], code: str = "invalid") -> None:
        super().__init__({field: _as_list(msgs) for field, msgs in errors.items()}, code=code)
        self.error_code = code


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


def _as_list(messages: str | list[str]) -> list[str]:
    return [messages] if isinstance(messages, str) else list(messages)


@dataclass(frozen=True)
class CreatedToken:
    """A new token and its secret: the only time the secret exists outside the client."""

    token: Token
    secret: str


# --------------------------------------------------------------------------- validation


def _clean_name(name: str) -> str:
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


def _clean_scopes(scopes: Iterable[str] | None, allowed: Collection[str]) -> list[str]:
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


def _clean_resources(
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


def _clean_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if timezone.is_naive(expires_at):
        raise TokenValidationError({"expires_at": "Give the expiry with a time zone."})
    if expires_at <= now:
        raise TokenValidationError({"expires_at": "The expiry date must be in the future."})
    if expires_at > now.replace(year=now.year + 10):
        raise TokenValidationError({"expires_at": "Choose an expiry within 10 years, or “never”."})
    return expires_at


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
    }
    if token.is_automation:
        snapshot["role"] = token.role
        snapshot["tls_access"] = token.tls_access
    return snapshot


def _may_manage_account_tokens(user: User, account: Account) -> bool:
    return manages_account(
        Membership.objects.filter(user=user, account=account).values_list("role", flat=True).first()
    )


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


def _solo_plan_grant(
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


def _clean_grant(
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
        if not plan_allows_scoped(account.plan, token_type):
            return _solo_plan_grant(account, scopes, resources)
        allowed = scopes_allowed_for_role(role)
    else:
        allowed = scopes_allowed_for_roles(reach.owner_roles)
    return _clean_scopes(scopes, allowed), _clean_resources(resources, reach.account_ids)


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
    expires_at: datetime | object | None = _DEFAULT,
    legacy_key: str | None = None,
) -> CreatedToken:
    """Issue a token and return it with its secret (the only time the secret is seen).

    User tokens belong to `owner` and act in each of the owner's accounts, capped
    by the owner's role there. Automation tokens act in `account` only, capped by
    `role`, and only superusers of that account create them. `expires_at` defaults
    to 90 days from now; None means never. `legacy_key` imports an old key string
    as the secret (SPEC 9). Raises TokenValidationError (nothing is written).
    """
    now = timezone.now()
    if token_type not in TokenType.values:
        raise TokenValidationError({"type": "Choose a user token or an automation token."})
    name = _clean_name(name)
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
    clean_scopes, clean_resources = _clean_grant(
        token_type=token_type,
        account=account,
        role=role,
        reach=reach,
        scopes=["global"] if scopes is None else scopes,
        resources=resources,
    )
    networks = clean_allowed_ips(allowed_ips)
    expiry = _clean_expiry(now + DEFAULT_EXPIRY if expires_at is _DEFAULT else expires_at, now)
    if token_type == TokenType.AUTOMATION:
        _refuse_by_policy(policies.token_refusal(account, token_type, now, expiry, networks))
    if limit_holder is not None:
        _check_token_limit(limit_holder, now)

    secret = legacy_key if legacy_key is not None else crypto.generate(token_type)
    token = Token(
        type=token_type,
        name=name,
        user=owner,
        account=account,
        created_by=actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None,
        role=role,
        scopes=clean_scopes,
        tls_access=bool(tls_access) and token_type == TokenType.AUTOMATION,
        allowed_ips=networks,
        digest=crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0]),
        display=crypto.display_hint(secret),
        is_legacy=legacy_key is not None,
        created_at=now,
        expires_at=expiry,
    )
    _apply_resources(token, clean_resources)
    token.save()
    _save_selections(token, clean_resources)

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


def _networks_within(new: Sequence[str], old: Sequence[str]) -> bool:
    """Every network in `new` lies inside one in `old` (an empty list allows any IP)."""
    if not old:
        return True
    if not new:
        return False
    old_networks = [ipaddress.ip_network(entry) for entry in old]
    for entry in new:
        network = ipaddress.ip_network(entry)
        if not any(
            network.version == outer.version and network.subnet_of(outer) for outer in old_networks
        ):
            return False
    return True


def permissions_widen(before: Token, after: Token, after_resources: Mapping) -> bool:
    """True when `after` may do something `before` could not (sudo needed)."""
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
    sudo: bool,
) -> Token:
    """Change a token's name, scopes, resources, IP allow-list (and TLS management).

    The secret never changes. Anything that widens what the token can do needs
    `sudo=True` (the caller re-checked the password recently); narrowing does
    not. Logs before and after.
    """
    token = Token.objects.select_for_update().get(pk=token.pk)
    before = token_permissions_snapshot(token)
    reach = token_reach(token_type=token.type, owner_id=token.user_id, account_id=token.account_id)
    updated = Token(pk=token.pk, type=token.type, role=token.role)
    updated.name = _clean_name(name)
    updated.scopes, clean_resources = _clean_grant(
        token_type=token.type,
        account=token.account,
        role=token.role,
        reach=reach,
        scopes=scopes,
        resources=resources,
    )
    updated.allowed_ips = clean_allowed_ips(allowed_ips)
    updated.tls_access = token.tls_access if tls_access is None else bool(tls_access)
    if updated.tls_access and not token.is_automation:
        raise TokenValidationError({"tls_access": "TLS management is for automation tokens only."})

    if token.is_automation:
        _refuse_by_policy(policies.edit_refusal(token, allowed_ips=updated.allowed_ips))
    if not sudo and permissions_widen(token, updated, clean_resources):
        raise SudoRequired()

    token.name, token.scopes = updated.name, updated.scopes
    token.allowed_ips, token.tls_access = updated.allowed_ips, updated.tls_access
    _apply_resources(token, clean_resources)
    token.save(update_fields=["name", "scopes", "allowed_ips", "tls_access", *ALL_FIELDS.values()])
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
    "expiry": "expiry",
}


@transaction.atomic
def token_revoke(
    *, actor: Actor, token: Token, revoked_by: str, account: Account | None = None
) -> None:
    """Revoke a token: its row is deleted, so it stops working at once.

    `revoked_by` is one of REVOKED_BY's keys. `account` names the account in
    whose name a superuser acted (for the event log).
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
    }
    deleted, _ = Token.objects.filter(pk=token.pk).delete()
    if not deleted:
        return  # someone else revoked it first; log nothing twice
    event_record(
        kind=EventKind.TOKEN_REVOKED,
        actor=actor,
        account=event_account,
        token=snapshot,
        summary=f"“{token.name}” ({token.display}) revoked by {REVOKED_BY[revoked_by]}"
        + (f" ({actor.label})" if actor.label and revoked_by != "self" else ""),
        details=details,
    )
