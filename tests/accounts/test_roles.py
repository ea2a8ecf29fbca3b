"""The role table of SPEC 4 ("Roles cap everything") and the one "manages the account" rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from accounts.roles import (
    MANAGING_ROLES,
    RESOURCE_OPERATIONS,
    ROLE_OPERATIONS,
    manages_account,
    role_can_read,
)
from tokens.kinds import OPERATION_KIND


@pytest.mark.parametrize(
    ("role", "manages"),
    [("superuser", True), ("engineer", False), ("user", False), ("billing", False), (None, False)],
)
def test_only_superusers_manage_the_accounts_tokens_and_members(role, manages):
    assert manages_account(role) is manages


def test_queryset_filters_use_the_same_rule():
    assert MANAGING_ROLES == ("superuser",)


@pytest.mark.parametrize(
    ("role", "readable"),
    [
        ("superuser", {"zones", "domains", "registrar", "certificates", "services"}),
        ("engineer", {"zones", "domains", "registrar", "certificates", "services"}),
        ("user", {"zones", "domains", "registrar", "certificates", "services"}),
        ("billing", {"registrar"}),
    ],
)
def test_what_each_role_reads(role, readable):
    kinds = {"zones", "domains", "registrar", "certificates", "services"}
    assert {kind for kind in kinds if role_can_read(role, kind)} == readable


def test_only_superusers_and_billing_read_billing():
    assert {role for role, ops in ROLE_OPERATIONS.items() if "billing:read" in ops} == {
        "superuser",
        "billing",
    }


def test_every_resource_operation_has_a_kind():
    assert set(OPERATION_KIND) == set(RESOURCE_OPERATIONS)


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "tokens":
            yield from (f"tokens.{alias.name}" for alias in node.names)  # from tokens import x
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_accounts_imports_nothing_of_tokens_but_events_and_models():
    """Dependencies point one way (STYLE.md): tokens uses accounts, not the reverse."""
    allowed = {"tokens.events", "tokens.models"}
    root = Path(__file__).resolve().parents[2] / "accounts"
    offenders = [
        f"{path.relative_to(root.parent)}: {module}"
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        for module in _imported_modules(ast.parse(path.read_text()))
        if module.split(".")[0] == "tokens" and module not in allowed
    ]
    assert offenders == []
