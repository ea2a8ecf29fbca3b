"""Reads of SPEC 13 shared by the API and the panel: what a token did, and what it can do.

`token_usage_summary` reads the written usage (flush first to include the
buffer); `token_explanations` asks permissions.explain(), that is decide(), for
every operation in every account the token acts in. A fixed number of queries
each, whatever the volume of usage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Max, Sum

from accounts.models import Account
from tokens.kinds import BY_KIND, OPERATION_KIND, Kind
from tokens.models import Token
from tokens.permissions import Decision, Grant, explain, suggest_scopes
from tokens.records.rules import rules_from_json
from tokens.selections.selectors import token_selections
from tokens.selectors import token_reach
from tokens.usage.models import TokenDenial, TokenUsage
from tokens.usage.rules import COUNTED_OPERATIONS

DEFAULT_DAYS = 30
MAX_DAYS = 90


@dataclass(frozen=True)
class OperationUsage:
    operation: str
    allowed: int
    denied: int
    last_at: datetime


@dataclass
class UsageSummary:
    """A token's usage over the last `days` UTC days (today included)."""

    days: int
    first_day: date
    operations: list[OperationUsage]
    denials: list[TokenDenial]
    suggested_scopes: list[str]
    # operation -> day -> (allowed, denied), for charts
    daily: dict[str, dict[date, tuple[int, int]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """SPEC 13's JSON of `GET /tokens/.../usage`."""
        return {
            "days": self.days,
            "operations": [
                {
                    "operation": usage.operation,
                    "allowed": usage.allowed,
                    "denied": usage.denied,
                    "last_at": usage.last_at,
                }
                for usage in self.operations
            ],
            "denials": [
                {
                    "at": denial.at,
                    "operation": denial.operation,
                    "required_scope": denial.required_scope,
                    "reason": denial.reason or None,  # None: denied before reasons were kept
                    "account_id": denial.account_id,
                    "resource_id": denial.resource_id,
                    "ip": denial.ip,
                }
                for denial in self.denials
            ],
            "suggested_scopes": self.suggested_scopes,
        }


def usage_window_start(days: int, now: datetime) -> date:
    """The first UTC day of a window of `days` days ending today."""
    return now.astimezone(UTC).date() - timedelta(days=days - 1)


def token_usage_summary(
    *, token_id: int, days: int, now: datetime, daily: bool = False
) -> UsageSummary:
    """What the token did in the window: 2 queries (3 with `daily` rows for charts)."""
    first_day = usage_window_start(days, now)
    rows = TokenUsage.objects.filter(token_id=token_id, day__gte=first_day)
    totals = {
        row["operation"]: row
        for row in rows.values("operation").annotate(
            allowed=Sum("allowed"), denied=Sum("denied"), last_at=Max("last_at")
        )
    }
    order = {op: n for n, op in enumerate(COUNTED_OPERATIONS)}
    operations = [
        OperationUsage(op, row["allowed"], row["denied"], row["last_at"])
        for op, row in sorted(totals.items(), key=lambda item: order.get(item[0], len(order)))
    ]
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    denials = list(TokenDenial.objects.filter(token_id=token_id, at__gte=start)[:50])
    summary = UsageSummary(
        days=days,
        first_day=first_day,
        operations=operations,
        denials=denials,
        suggested_scopes=suggest_scopes(u.operation for u in operations if u.allowed),
    )
    if daily:
        per_op: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
        for op, day, allowed, denied in rows.values_list("operation", "day", "allowed", "denied"):
            per_op[op][day] = (allowed, denied)
        summary.daily = dict(per_op)
    return summary


@dataclass(frozen=True)
class AccountExplanation:
    """What a token may do in one account: decide() for every operation."""

    account: Account
    role: str
    decisions: dict[str, Decision]
    resources: dict[str, str | list[int]]
    # The selected resources' names, per partially selected kind (the panel's words).
    resource_names: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        operations: dict[str, dict[str, object]] = {}
        for operation, decision in self.decisions.items():
            if decision.allowed:
                operations[operation] = {"allowed": True}
            else:
                operations[operation] = {
                    "allowed": False,
                    "reason": str(decision.outcome),
                    "required_scope": decision.required_scope,
                }
        account = self.account
        return {
            "account": {
                "id": account.pk,
                "slug": account.slug,
                "name": account.name,
                "plan": account.plan,
            },
            "role": self.role,
            "operations": operations,
            "resources": self.resources,
        }


def token_grant(token: Token) -> Grant:
    """The Grant of a Token row (what decide() reads), without its selections."""
    return Grant(
        token_type=token.type,
        scopes=frozenset(token.scopes),
        all_kinds=frozenset(kind for kind in Kind if getattr(token, BY_KIND[kind].all_field)),
        tls_access=token.tls_access,
        expires_at=token.expires_at,
        allowed_ips=tuple(token.allowed_ips or ()),
        account_id=token.account_id,
        record_rules=rules_from_json(token.record_rules),
    )


def token_explanations(
    *, token_id: int, grant: Grant, user_id: int | None, role: str
) -> list[AccountExplanation]:
    """Per account the token acts in (by name): every operation, and its selection per kind.

    A user token acts in its owner's accounts with the owner's role there; an
    automation token in its own account with its own role. At most 2 + one
    query per partially selected kind.
    """
    if grant.token_type == "automation":
        assert grant.account_id is not None  # an automation token always has its account
        accounts = [(account, role) for account in Account.objects.filter(pk=grant.account_id)]
    else:
        assert user_id is not None  # a user token always has an owner
        # Where it acts: its owner's accounts, less those a superuser removed it from.
        reach = token_reach(token_type=grant.token_type, owner_id=user_id, token_id=token_id)
        accounts = [(m.account, m.role) for m in reach.memberships]
    partial = [kind for kind in Kind if kind not in grant.all_kinds]
    selected = token_selections(token_ids=[token_id], kinds=partial).get(token_id, {})
    owners: dict[Kind, list[tuple[int, int, str]]] = {}
    for kind in partial:
        ids = selected.get(kind, [])
        model = BY_KIND[kind].model
        owners[kind] = list(
            model.objects.filter(pk__in=ids)
            .order_by("name", "pk")
            .values_list("pk", "account_id", "name")
        )
    explanations = []
    for account, account_role in accounts:
        resources: dict[str, str | list[int]] = {}
        names: dict[str, list[str]] = {}
        for kind in Kind:
            if kind in grant.all_kinds:
                resources[str(kind)] = "all"
            else:
                here = [(pk, name) for pk, owner, name in owners[kind] if owner == account.pk]
                resources[str(kind)] = sorted(pk for pk, _name in here)
                names[str(kind)] = [name for _pk, name in here]
        decisions = explain(grant, role=account_role, plan=account.plan)
        explanations.append(AccountExplanation(account, account_role, decisions, resources, names))
    return explanations


def denial_names(
    denials: list[TokenDenial], accounts: list[Account]
) -> tuple[dict[int, str], dict[tuple[int, int], str]]:
    """Names for the recent denials: of their accounts, and of their resources.

    Only names within `accounts` (those the token acts in, already read) are given:
    a denial in another account names nothing the viewer could not see. One query
    per kind of resource the denials name, at most one per kind.
    """
    account_names = {account.pk: account.name for account in accounts}
    wanted: dict[Kind, set[int]] = defaultdict(set)
    for denial in denials:
        kind = OPERATION_KIND.get(denial.operation)
        resource_id = denial.resource_id
        if kind is not None and resource_id is not None and denial.account_id in account_names:
            wanted[kind].add(resource_id)
    resource_names: dict[tuple[int, int], str] = {}
    for kind, ids in wanted.items():
        rows = BY_KIND[kind].model.objects.filter(pk__in=ids, account_id__in=account_names)
        for pk, account_id, name in rows.values_list("pk", "account_id", "name"):
            resource_names[(account_id, pk)] = name
    return account_names, resource_names
