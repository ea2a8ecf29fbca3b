"""Scopes in words for the role at hand: what a scope gives, and why a role cannot have it.

`global` and `global:read` mean "everything the role allows" (SPEC 4), so their
description depends on the role: an engineer's `global` purges, a billing
member's does not. The other scopes mean the same for every role; the role
only decides whether they are offered (permissions.scope_fits_role).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from accounts.constants import Role
from accounts.models import Membership
from accounts.roles import BILLING_READ, ROLE_OPERATIONS
from tokens.kinds import KINDS
from tokens.permissions import (
    ROLE_WIDE_SCOPES,
    SCOPE_DESCRIPTIONS,
    SCOPE_OPERATIONS,
    TLS_OPERATIONS,
    role_operations,
    scope_fits_role,
)


@dataclass(frozen=True)
class RoleIn:
    """A role and where it holds: an account's name, or None for an automation token's own."""

    role: str
    account_name: str | None = None
    tls_access: bool = False  # an automation token with TLS management

    @property
    def label(self) -> str:
        return Role(self.role).label.lower()


def roles_in_accounts(memberships: Iterable[Membership]) -> list[RoleIn]:
    """A user token's roles, one per account it acts in (memberships with their accounts)."""
    return [RoleIn(membership.role, membership.account.name) for membership in memberships]


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _what_operations_allow(operations: frozenset[str], *, reads_only: bool) -> str:
    """The operations of a role in a few words ("read and change DNS zones; purge caches")."""
    changed = [] if reads_only else [kind.noun for kind in KINDS if kind.write in operations]
    read = [kind.noun for kind in KINDS if kind.read in operations and kind.noun not in changed]
    parts = []
    if len(changed) == len(KINDS):
        parts.append("read and change every resource")
    elif changed:
        parts.append(f"read and change {_join(changed)}")
    if read:
        parts.append(f"read {_join(read)}")
    if not reads_only and operations & {"purge_select", "purge_all"}:
        parts.append("purge caches")
    if BILLING_READ in operations:
        parts.append("read billing details")
    return "; ".join(parts) or "nothing"


def role_in_words(role: str, *, tls_access: bool = False) -> str:
    """What a token with `role` may do at most ("read and change DNS zones; purge caches")."""
    operations = role_operations(role, tls_access=tls_access)
    return _what_operations_allow(operations, reads_only=False)


def scope_description(scope: str, roles: Iterable[RoleIn] = ()) -> str:
    """What `scope` gives a token capped by `roles` (the best of them for a user token).

    Without roles the description is the role-neutral one.
    """
    roles = list(roles)
    if scope not in ROLE_WIDE_SCOPES or not roles:
        return SCOPE_DESCRIPTIONS.get(scope, scope)
    operations = frozenset().union(
        *(role_operations(item.role, tls_access=item.tls_access) for item in roles)
    )
    reads_only = scope == "global:read"
    what = _what_operations_allow(operations, reads_only=reads_only)
    lead = "Read everything" if reads_only else "Everything"
    if len({item.role for item in roles}) == 1:
        whose = f"the {roles[0].label} role" if roles[0].account_name is None else "your role"
        return f"{lead} {whose} allows: {what}"
    return f"{lead} your role in each account allows; at most: {what}"


def _missing_words(scope: str, role: str) -> str:
    """What `role` lacks for `scope`, as a verb phrase ("change DNS zones and records")."""
    missing = [op for op in SCOPE_OPERATIONS[scope] if op not in ROLE_OPERATIONS[role]]
    # The scope's own operation first: zones:write reads "change zones", not "read zones".
    op = scope if scope in missing else sorted(missing)[0]
    words = SCOPE_DESCRIPTIONS.get(op, op)
    return words[0].lower() + words[1:]


def scope_refusal(scope: str, roles: Sequence[RoleIn]) -> str | None:
    """Why no role of `roles` can have `scope`, in words; None when one can.

    An automation token's role: "The user role cannot change DNS zones and records".
    A user token's roles, one per account: "Your role in Acme Hosting (user) cannot ...".
    """
    if not roles:
        return "The token acts in no account, so no role allows it."
    if any(scope_fits_role(scope, item.role, tls_access=item.tls_access) for item in roles):
        return None
    first = roles[0]
    if first.account_name is None:
        tls = " without TLS management" if set(SCOPE_OPERATIONS[scope]) <= TLS_OPERATIONS else ""
        return f"The {first.label} role cannot {_missing_words(scope, first.role)}{tls}."
    if len(roles) == 1:
        return (
            f"Your role in {first.account_name} ({first.label}) cannot "
            f"{_missing_words(scope, first.role)}."
        )
    where = ", ".join(f"{item.label} in {item.account_name}" for item in roles)
    return f"None of your roles ({where}) can {_missing_words(scope, first.role)}."
