"""The decision of SPEC 4 over the whole role x scope x operation x selection table.

The expected tables are written out here from the SPEC, independently of
tokens.permissions, so a wrong entry in the code's tables fails a test.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tokens.kinds import Kind
from tokens.permissions import Grant, Outcome, decide, selection_is_total

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

OPERATIONS = [
    "zones:read",
    "zones:write",
    "domains:read",
    "domains:write",
    "services:read",
    "services:write",
    "certificates:read",
    "certificates:write",
    "registrar:read",
    "registrar:write",
    "purge_select",
    "purge_all",
    "billing:read",
    "manage_tokens",
]

# SPEC 4, "Roles cap everything", row by row: S=superuser, E=engineer, U=user, B=billing.
ROLE_TABLE = {
    "zones:read": "SEU",
    "domains:read": "SEU",
    "services:read": "SEU",
    "zones:write": "SE",
    "domains:write": "SE",
    "services:write": "SE",
    "certificates:read": "SEU",
    "certificates:write": "S",
    "registrar:read": "SEUB",
    "registrar:write": "SB",
    "purge_select": "SE",
    "purge_all": "SE",
    "billing:read": "SB",
    "manage_tokens": "S",
}
ROLE_LETTER = {"superuser": "S", "engineer": "E", "user": "U", "billing": "B"}

# SPEC 4, "Scopes": what each scope covers (write implies read; global:read reads everything).
SCOPE_TABLE = {
    "global": set(OPERATIONS),
    "global:read": {op for op in OPERATIONS if op.endswith(":read")},
    "purge_select": {"purge_select"},
    "purge_all": {"purge_all"},
    "zones:read": {"zones:read"},
    "zones:write": {"zones:read", "zones:write"},
    "domains:read": {"domains:read"},
    "domains:write": {"domains:read", "domains:write"},
    "registrar:read": {"registrar:read"},
    "registrar:write": {"registrar:read", "registrar:write"},
    "certificates:read": {"certificates:read"},
    "certificates:write": {"certificates:read", "certificates:write"},
    "services:read": {"services:read"},
    "services:write": {"services:read", "services:write"},
}

KIND_OF = {
    "zones:read": Kind.ZONES,
    "zones:write": Kind.ZONES,
    "domains:read": Kind.DOMAINS,
    "domains:write": Kind.DOMAINS,
    "registrar:read": Kind.REGISTRAR,
    "registrar:write": Kind.REGISTRAR,
    "certificates:read": Kind.CERTIFICATES,
    "certificates:write": Kind.CERTIFICATES,
    "services:read": Kind.SERVICES,
    "services:write": Kind.SERVICES,
    "purge_select": Kind.SERVICES,
    "purge_all": Kind.SERVICES,
}


def grant(scopes, *, selected=None, **extra) -> Grant:
    """A grant with `scopes`; `selected` maps kinds to the only ids the token has."""
    selected = selected or {}
    return Grant(
        token_type=extra.pop("token_type", "user"),
        scopes=frozenset(scopes),
        all_kinds=frozenset(kind for kind in Kind if kind not in selected),
        selections={kind: frozenset(ids) for kind, ids in selected.items()},
        **extra,
    )


def expected(role: str, scope: str, operation: str) -> Outcome:
    if ROLE_LETTER[role] not in ROLE_TABLE[operation]:
        return Outcome.ROLE
    if operation not in SCOPE_TABLE[scope]:
        return Outcome.SCOPE
    return Outcome.ALLOWED


@pytest.mark.parametrize(
    ("role", "scope", "operation"),
    list(itertools.product(ROLE_LETTER, SCOPE_TABLE, OPERATIONS)),
)
def test_role_and_scope_table(role, scope, operation):
    decision = decide(grant([scope]), role=role, operation=operation, now=NOW)
    assert decision.outcome is expected(role, scope, operation)


@pytest.mark.parametrize("operation", list(KIND_OF))
@pytest.mark.parametrize("selected", [True, False])
def test_selection_covers_single_resources(operation, selected):
    kind = KIND_OF[operation]
    token = grant(["global"], selected={kind: {7, 8}})
    decision = decide(
        token, role="superuser", operation=operation, resource_id=7 if selected else 9, now=NOW
    )
    assert decision.outcome is (Outcome.ALLOWED if selected else Outcome.NOT_SELECTED)
    # Another kind's selection never matters; and "all" covers every id.
    other = next(k for k in Kind if k is not kind)
    narrowed = grant(["global"], selected={other: set()})
    assert decide(narrowed, role="superuser", operation=operation, resource_id=9, now=NOW).allowed


def test_registrar_and_domain_selections_are_separate():
    token = grant(["global"], selected={Kind.DOMAINS: {1}, Kind.REGISTRAR: {2}})
    assert decide(token, role="engineer", operation="domains:read", resource_id=1, now=NOW).allowed
    assert (
        decide(token, role="engineer", operation="registrar:read", resource_id=1, now=NOW).outcome
        is Outcome.NOT_SELECTED
    )


def test_lists_are_decided_without_a_resource():
    token = grant(["zones:read"], selected={Kind.ZONES: set()})
    assert decide(token, role="user", operation="zones:read", now=NOW).allowed


@pytest.mark.parametrize("role", ["engineer", "user", "billing"])
def test_tls_management_writes_every_certificate_whatever_the_role(role):
    token = grant(
        ["global:read"],
        token_type="automation",
        selected={Kind.CERTIFICATES: set()},
        tls_access=True,
    )
    decision = decide(token, role=role, operation="certificates:write", resource_id=42, now=NOW)
    assert decision.allowed
    assert selection_is_total(token, Kind.CERTIFICATES)
    # ... and nothing else.
    assert not decide(token, role=role, operation="zones:write", now=NOW).allowed


def test_a_token_outside_the_account_is_not_in_it():
    assert (
        decide(grant(["global"]), role=None, operation="zones:read", now=NOW).outcome
        is Outcome.NOT_IN_ACCOUNT
    )


@pytest.mark.parametrize(
    ("extra", "client_ip"),
    [
        ({"expires_at": NOW}, None),
        ({"expires_at": NOW - timedelta(seconds=1)}, None),
        ({"owner_active": False}, None),
        ({"allowed_ips": ("10.0.0.0/8",)}, "192.0.2.1"),
        ({"allowed_ips": ("2001:db8::/32",)}, "2001:db9::1"),
    ],
)
def test_an_unusable_token_may_do_nothing(extra, client_ip):
    decision = decide(
        grant(["global"], **extra),
        role="superuser",
        operation="zones:read",
        now=NOW,
        client_ip=client_ip,
    )
    assert decision.outcome is Outcome.INACTIVE


@pytest.mark.parametrize(
    ("networks", "client_ip"),
    [
        (("10.0.0.0/8",), "10.1.2.3"),
        (("203.0.113.7/32",), "::ffff:203.0.113.7"),
        (("2001:db8::/32",), "2001:db8::1"),
    ],
)
def test_an_allow_listed_address_may_use_the_token(networks, client_ip):
    token = grant(["global"], allowed_ips=networks, expires_at=NOW + timedelta(days=1))
    assert decide(
        token, role="engineer", operation="zones:read", now=NOW, client_ip=client_ip
    ).allowed


def test_required_scope_names_the_narrowest_scope():
    token = grant(["zones:read"])
    decision = decide(token, role="engineer", operation="zones:write", now=NOW)
    assert decision.outcome is Outcome.SCOPE
    assert decision.required_scope == "zones:write"
    assert (
        decide(token, role="billing", operation="billing:read", now=NOW).required_scope
        == "global:read"
    )
