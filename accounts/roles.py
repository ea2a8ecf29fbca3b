"""What each role of a membership may do: SPEC 4's "Roles cap everything", as data.

This is the one copy of the table. The account pages ask it directly (who
manages the account, which resources a member sees); tokens.permissions adds
the scopes and the one decision on top of it (a token's role caps the token).

An *operation* is a string such as "zones:read", "purge_all" or "billing:read".
"""

from __future__ import annotations

from accounts.constants import Role

# The operations a token or member can be allowed, in the spec's order.
RESOURCE_OPERATIONS: tuple[str, ...] = (
    "zones:read",
    "zones:write",
    "domains:read",
    "domains:write",
    "registrar:read",
    "registrar:write",
    "certificates:read",
    "certificates:write",
    "services:read",
    "services:write",
    "purge_select",
    "purge_all",
)
BILLING_READ = "billing:read"
# "Manage account tokens and members": a superuser's alone.
MANAGE_TOKENS = "manage_tokens"
OPERATIONS: tuple[str, ...] = (*RESOURCE_OPERATIONS, BILLING_READ, MANAGE_TOKENS)

_READS = {"zones:read", "domains:read", "services:read"}
_WRITES = {"zones:write", "domains:write", "services:write"}

ROLE_OPERATIONS: dict[str, frozenset[str]] = {
    Role.SUPERUSER: frozenset(OPERATIONS),
    Role.ENGINEER: frozenset(
        _READS | _WRITES | {"certificates:read", "registrar:read", "purge_select", "purge_all"}
    ),
    Role.USER: frozenset(_READS | {"certificates:read", "registrar:read"}),
    Role.BILLING: frozenset({"registrar:read", "registrar:write", BILLING_READ}),
}


def manages_account(role: str | None) -> bool:
    """A member with `role` manages the account's tokens and members (None: not a member)."""
    return role is not None and MANAGE_TOKENS in ROLE_OPERATIONS.get(role, frozenset())


# The roles that manage an account, for queryset filters (`role__in=MANAGING_ROLES`).
MANAGING_ROLES: tuple[str, ...] = tuple(role for role in Role.values if manages_account(role))


def role_can_read(role: str, kind_name: str) -> bool:
    """A member with `role` sees resources of the kind `kind_name` ("zones", "registrar", ...)."""
    return f"{kind_name}:read" in ROLE_OPERATIONS[role]
