"""What a token may do: the scope table and the one decision (SPEC 4).

The role table (SPEC 4, "Roles cap everything") is kept once, in accounts.roles,
because the account pages ask it too: who manages the account, which resources
a member sees. This module adds the scopes on top of it.

Everything here is plain data and pure functions. The API asks `decide()`
before every operation; the panel uses the same tables to enable scope
checkboxes and the token services use them to validate what is granted.

An *operation* is a string such as "zones:read", "purge_all" or "billing:read".
A *kind* is a resource type that can be granted all-or-selected (tokens.kinds).
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from accounts.constants import Role, plan_scopes_automation_tokens
from accounts.roles import MANAGE_TOKENS, OPERATIONS, ROLE_OPERATIONS
from tokens.kinds import BY_KIND, KINDS, OPERATION_KIND, Kind
from tokens.records.rules import RecordRule

# Roles an automation token may be given (SPEC 3), and the one it gets unless told.
AUTOMATION_ROLES: tuple[str, ...] = (Role.ENGINEER, Role.USER, Role.BILLING)
DEFAULT_AUTOMATION_ROLE = Role.ENGINEER

# Scopes that are not one kind's read or write, with what they give.
_BROAD_SCOPES: dict[str, str] = {
    "global": "Full access: everything the role allows",
    "global:read": "Read everything the role allows",
    "purge_select": "Purge by URL or surrogate key",
    "purge_all": "Purge a whole service",
}
# SPEC 4, "Scopes": the exact strings, in the order the panel lists them.
SCOPES: tuple[str, ...] = (
    *_BROAD_SCOPES,
    *(scope for entry in KINDS for scope in (entry.read, entry.write)),
)
SCOPE_DESCRIPTIONS: dict[str, str] = {
    **_BROAD_SCOPES,
    **{entry.read: entry.read_words for entry in KINDS},
    **{entry.write: entry.write_words for entry in KINDS},
}
# The scopes as an enum, for the API's schemas and document (a generated client names its
# members: Scope.ZONES_READ). Built from SCOPES: the kinds registry stays the one list.
Scope = StrEnum(  # type: ignore[misc]  # the functional API, from the registry's scopes
    "Scope", [(scope.upper().replace(":", "_"), scope) for scope in SCOPES]
)

# What each scope covers. `x:write` implies `x:read`.
SCOPE_OPERATIONS: dict[str, frozenset[str]] = {
    "global": frozenset(OPERATIONS),
    "global:read": frozenset(op for op in OPERATIONS if op.endswith(":read")),
    "purge_select": frozenset({"purge_select"}),
    "purge_all": frozenset({"purge_all"}),
    **{entry.read: frozenset({entry.read}) for entry in KINDS},
    **{entry.write: frozenset({entry.write, entry.read}) for entry in KINDS},
}


# Scopes that mean "everything the role allows" (SPEC 4): offered to every role.
ROLE_WIDE_SCOPES: frozenset[str] = frozenset({"global", "global:read"})


# TLS management lets an automation token read and write certificates whatever its role.
_CERTIFICATES = BY_KIND[Kind.CERTIFICATES]
TLS_OPERATIONS: frozenset[str] = frozenset({_CERTIFICATES.read, _CERTIFICATES.write})


def role_operations(role: str, *, tls_access: bool = False) -> frozenset[str]:
    """What a token capped by `role` may do at most; with TLS management, certificates too."""
    return ROLE_OPERATIONS[role] | (TLS_OPERATIONS if tls_access else frozenset())


def scope_fits_role(scope: str, role: str, *, tls_access: bool = False) -> bool:
    """The role can use every operation `scope` grants (`global`/`global:read`: any of them).

    `zones:write` also grants `zones:read`, so it fits a role that may write
    zones; a role that only reads them is not offered it (SPEC 6). With TLS
    management (`tls_access`) the certificate scopes fit every role.
    """
    allowed = role_operations(role, tls_access=tls_access)
    if scope in ROLE_WIDE_SCOPES:
        return bool(SCOPE_OPERATIONS[scope] & allowed)
    return SCOPE_OPERATIONS[scope] <= allowed


def scopes_allowed_for_role(role: str) -> tuple[str, ...]:
    """Scopes whose every operation the role can use, in display order."""
    return tuple(scope for scope in SCOPES if scope_fits_role(scope, role))


def scopes_allowed_for_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Scopes usable with at least one of `roles` (a user token is capped per account at
    request time)."""
    allowed: set[str] = set()
    for role in roles:
        allowed.update(scopes_allowed_for_role(role))
    return tuple(scope for scope in SCOPES if scope in allowed)


def kinds_for_scopes(scopes: Iterable[str]) -> frozenset[Kind]:
    """Resource kinds the scopes touch at all (selectors for the others are moot)."""
    kinds = set()
    for scope in scopes:
        for op in SCOPE_OPERATIONS.get(scope, ()):
            if op in OPERATION_KIND:
                kinds.add(OPERATION_KIND[op])
    return frozenset(kinds)


def required_scope(operation: str) -> str:
    """The narrowest scope that covers `operation`, named in 403 answers."""
    if operation == "billing:read":
        return "global:read"
    if operation == MANAGE_TOKENS:
        return "global"
    return operation


def scopes_cover(scopes: Iterable[str], operation: str) -> bool:
    """True when one of `scopes` covers `operation` (whatever the role allows)."""
    return any(operation in SCOPE_OPERATIONS.get(scope, ()) for scope in scopes)


def plan_allows_scoped(plan: str, token_type: str) -> bool:
    """Solo accounts cannot scope automation tokens; user tokens are scoped on every plan."""
    return token_type != "automation" or plan_scopes_automation_tokens(plan)


def grant_is_scoped(grant: Grant) -> bool:
    """True when the grant is narrower than `global` on every resource."""
    return grant.scopes != {"global"} or grant.all_kinds != frozenset(Kind)


def grant_is_unrestricted(grant: Grant) -> bool:
    """`global` on every resource of every kind, with no record rules.

    Only such a token manages other tokens (MANAGE_TOKENS): rolling another token
    hands its caller a secret without the caller's own limits, so a token narrowed
    in any way (selected resources, record rules, a narrower scope) manages nothing
    but itself.
    """
    return (
        scopes_cover(grant.scopes, MANAGE_TOKENS)
        and grant.all_kinds == frozenset(Kind)
        and not grant.record_rules
    )


def plan_refuses(grant: Grant, plan: str | None) -> bool:
    """The account's plan refuses a scoped automation token (SPEC 4, Plans).

    Solo accounts give automation tokens `global` on everything; a scoped one
    there (left from a higher plan) is refused rather than silently widened.
    """
    return (
        plan is not None
        and not plan_allows_scoped(plan, grant.token_type)
        and (grant_is_scoped(grant))
    )


@functools.cache  # a pure function of the operation, asked on every request
def accepted_scopes(operation: str) -> tuple[str, ...]:
    """The scopes that would allow `operation` (SPEC 13, `X-Accepted-Scopes`).

    Narrowest first: the operation's own scopes in SCOPES order, then
    `global:read`, then `global`.
    """
    covering = [scope for scope in SCOPES if operation in SCOPE_OPERATIONS[scope]]
    specific = [scope for scope in covering if scope not in ("global", "global:read")]
    return (*specific, *(scope for scope in ("global:read", "global") if scope in covering))


def ip_allowed(ip: str, networks: Collection[str]) -> bool:
    """True when there is no allow-list or `ip` falls in one of its networks.

    IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`) match IPv4 networks.
    """
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class Grant:
    """What one token carries, independent of any account.

    `all_kinds` are the kinds granted on every resource. For the others,
    `selections` holds the selected ids once they are loaded (they are loaded
    only when a single resource is checked; lists filter in SQL instead).
    """

    token_type: str
    scopes: frozenset[str]
    all_kinds: frozenset[Kind] = frozenset(Kind)
    selections: dict[Kind, frozenset[int]] = field(default_factory=dict)
    tls_access: bool = False
    expires_at: datetime | None = None
    owner_active: bool = True
    allowed_ips: tuple[str, ...] = ()
    account_id: int | None = None  # automation tokens: the one account they act in
    record_rules: tuple[RecordRule, ...] = ()  # SPEC 14; empty: every record

    def selection(self, kind: Kind) -> frozenset[int] | None:
        """None for "all", else the selected ids (which must have been loaded)."""
        if kind in self.all_kinds:
            return None
        return self.selections[kind]


class Outcome(StrEnum):
    ALLOWED = "allowed"
    INACTIVE = "inactive"  # expired, owner disabled or IP not allowed: 401
    NOT_IN_ACCOUNT = "not_in_account"  # 404, existence not revealed
    ROLE = "role"  # the role caps the operation: 403
    PLAN = "plan"  # the account's plan refuses this token's scoped grant: 403
    SCOPE = "scope"  # no scope covers the operation: 403
    NOT_SELECTED = "not_selected"  # resource outside the selection: 404


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    operation: str

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    @property
    def required_scope(self) -> str:
        return required_scope(self.operation)


def token_is_usable(grant: Grant, *, now: datetime, client_ip: str | None) -> str | None:
    """None when the token may be used at all now, from this IP; else why not.

    `client_ip` None means the caller's address is unknown: a token with an IP
    allow-list is then refused (its list cannot be checked).
    """
    if not grant.owner_active:
        return "The token's owner is deactivated."
    if grant.expires_at is not None and grant.expires_at <= now:
        return "The token has expired."
    if grant.allowed_ips and (client_ip is None or not ip_allowed(client_ip, grant.allowed_ips)):
        return "The token may not be used from this IP address."
    return None


def decide(
    grant: Grant,
    *,
    role: str | None,
    operation: str,
    resource_id: int | None = None,
    now: datetime,
    client_ip: str | None = None,
    plan: str | None = None,
    own_token: bool = False,
) -> Decision:
    """May a token with `grant` perform `operation` (on `resource_id`) in an account?

    `role` is the role that caps the token in that account: the owner's current
    membership role for a user token, the token's own role for an automation
    token, or None when the token does not act in the account. With
    `resource_id=None` the question is "on the resources of this kind at all"
    (used for lists, which are then filtered by `visible_ids`). `client_ip` is the
    caller's address; None (unknown) passes no IP allow-list. `plan` is the
    account's plan (None: not checked).

    MANAGE_TOKENS (another token, in that token's account) also needs the
    unrestricted grant (grant_is_unrestricted; else SCOPE). `own_token`: the token
    managed is one of the caller's owner's own user tokens, which the owner manages
    whatever their role, wherever the caller acts.
    """

    def result(outcome: Outcome) -> Decision:
        return Decision(outcome, operation)

    if token_is_usable(grant, now=now, client_ip=client_ip):
        return result(Outcome.INACTIVE)
    if role is None:
        return result(Outcome.NOT_IN_ACCOUNT)

    kind = OPERATION_KIND.get(operation)
    if grant.tls_access and kind is Kind.CERTIFICATES:
        # TLS management: all certificates of the token's account, whatever its role.
        return result(Outcome.ALLOWED)
    manages_tokens = operation == MANAGE_TOKENS
    if operation not in ROLE_OPERATIONS[role] and not (manages_tokens and own_token):
        return result(Outcome.ROLE)
    if plan_refuses(grant, plan):
        return result(Outcome.PLAN)
    if not scopes_cover(grant.scopes, operation):
        return result(Outcome.SCOPE)
    if manages_tokens and not grant_is_unrestricted(grant):
        return result(Outcome.SCOPE)
    if kind is not None and resource_id is not None:
        selected = grant.selection(kind)
        if selected is not None and resource_id not in selected:
            return result(Outcome.NOT_SELECTED)
    return result(Outcome.ALLOWED)


def selection_is_total(grant: Grant, kind: Kind) -> bool:
    """True when the grant covers every resource of `kind` (creating one needs this)."""
    if grant.tls_access and kind is Kind.CERTIFICATES:
        return True
    return kind in grant.all_kinds


def explain(grant: Grant, *, role: str, plan: str) -> dict[str, Decision]:
    """Every operation of SPEC 4 in an account where the token acts with `role`.

    `decide()` answers each one, as if the token were used now from an allowed
    address: whether it is expired or IP-restricted is shown apart.
    """
    usable = dataclasses.replace(grant, expires_at=None, owner_active=True, allowed_ips=())
    now = datetime.now().astimezone()
    return {
        operation: decide(usable, role=role, operation=operation, now=now, plan=plan)
        for operation in OPERATIONS
    }


def suggest_scopes(operations: Iterable[str]) -> list[str]:
    """The smallest set of scopes covering every operation in `operations` (SPEC 13).

    Never `global` or `global:read`: an operation only they cover (billing:read)
    or that needs no scope (token routes) is left out. A write covers its read.
    """
    used = set(operations)
    chosen: set[str] = set()
    for scope in SCOPES:
        if scope in ("global", "global:read") or scope not in used:
            continue
        write = scope.replace(":read", ":write")
        chosen.add(write if scope.endswith(":read") and write in used else scope)
    return [scope for scope in SCOPES if scope in chosen]
