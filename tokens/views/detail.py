"""A token's page (SPEC 13): what it can do, what it did, its recent denials, and narrowing it.

"What it can do" is permissions.decide() for every operation (tokens.usage.selectors),
put in words here; "What it did" is the written usage (flushed first) drawn as
server-rendered SVG bars with the same numbers in a table. A fixed number of
queries whatever the volume of usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest
from accounts.roles import BILLING_READ, MANAGE_TOKENS
from accounts.sso.session import sso_session_accounts
from tokens import selectors
from tokens.models import Token
from tokens.networks.selectors import token_known_networks, token_network_alerts
from tokens.permissions import SCOPE_DESCRIPTIONS, Decision, Outcome, plan_allows_scoped
from tokens.sso.selectors import token_sso_needs
from tokens.usage.rules import ACCOUNTS_OPERATION, TOKENS_OPERATION
from tokens.usage.selectors import (
    AccountExplanation,
    UsageSummary,
    token_explanations,
    token_grant,
    token_usage_summary,
)
from tokens.usage.services import usage_flush
from tokens.views.common import (
    managed_account_ids,
    replacement_url,
    token_changeable,
    token_changes_allowed,
)

CHART_DAYS = 30
# The chart's drawing box (SVG user units; the SVG scales to the page width).
BAR_WIDTH = 10
BAR_GAP = 2
CHART_HEIGHT = 40

OPERATION_LABELS: dict[str, str] = {
    **{op: text for op, text in SCOPE_DESCRIPTIONS.items() if op not in ("global", "global:read")},
    BILLING_READ: "Read billing details",
    MANAGE_TOKENS: "Manage account tokens and members",
    TOKENS_OPERATION: "Token routes (whoami, tokens)",
    ACCOUNTS_OPERATION: "List its accounts",
}


def operation_label(operation: str) -> str:
    return OPERATION_LABELS.get(operation, operation)


def _reason(decision: Decision, explanation: AccountExplanation, token: Token) -> str:
    """Why `decision` refuses, in words."""
    role = explanation.role
    if decision.outcome is Outcome.ROLE:
        whose = "The token's role" if token.is_automation else "The owner's role"
        return f"{whose} ({role}) in {explanation.account.name} does not allow it."
    if decision.outcome is Outcome.PLAN:
        return (
            f"On the {explanation.account.get_plan_display()} plan automation tokens cannot have "
            "chosen scopes: upgrade the account, or create the token again."
        )
    if decision.operation == MANAGE_TOKENS:
        return "It needs “global” on all resources and no record rules: it manages only itself."
    return f"None of the token's scopes covers it (it needs “{decision.required_scope}”)."


@dataclass(frozen=True)
class Bar:
    x: int
    allowed_y: int
    allowed_height: int
    denied_y: int
    denied_height: int
    title: str


@dataclass(frozen=True)
class Chart:
    """One operation's daily bars over the window, and its numbers for the table."""

    operation: str
    label: str
    allowed: int
    denied: int
    bars: list[Bar]
    width: int
    height: int = CHART_HEIGHT


def _charts(summary: UsageSummary, days: list[date]) -> list[Chart]:
    charts = []
    for usage in summary.operations:
        per_day = summary.daily.get(usage.operation, {})
        peak = max((sum(per_day.get(day, (0, 0))) for day in days), default=0) or 1
        bars = []
        for n, day in enumerate(days):
            allowed, denied = per_day.get(day, (0, 0))
            allowed_height = round(CHART_HEIGHT * allowed / peak)
            denied_height = round(CHART_HEIGHT * denied / peak)
            bars.append(
                Bar(
                    x=n * (BAR_WIDTH + BAR_GAP),
                    allowed_y=CHART_HEIGHT - allowed_height,
                    allowed_height=allowed_height,
                    denied_y=CHART_HEIGHT - allowed_height - denied_height,
                    denied_height=denied_height,
                    title=f"{day:%b %-d}: {allowed} allowed, {denied} denied",
                )
            )
        charts.append(
            Chart(
                operation=usage.operation,
                label=operation_label(usage.operation),
                allowed=usage.allowed,
                denied=usage.denied,
                bars=bars,
                width=len(days) * (BAR_WIDTH + BAR_GAP) - BAR_GAP,
            )
        )
    return charts


def _abilities(explanations: list[AccountExplanation], token: Token) -> list[dict[str, Any]]:
    return [
        {
            "account": explanation.account,
            "role": explanation.role,
            "allowed": [
                operation_label(op) for op, d in explanation.decisions.items() if d.allowed
            ],
            "refused": [
                {"label": operation_label(op), "reason": _reason(d, explanation, token)}
                for op, d in explanation.decisions.items()
                if not d.allowed
            ],
            "resources": explanation.resources,
        }
        for explanation in explanations
    ]


@require_GET
@signed_in_required
def token_detail(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """A token's page: the reach of the token lists (a foreign id is a 404)."""
    token = selectors.token_get_revocable(request.user, token_id).token
    now = timezone.now()
    usage_flush(token_id=token.pk, now=now)
    summary = token_usage_summary(token_id=token.pk, days=CHART_DAYS, now=now, daily=True)
    days = [summary.first_day + timedelta(days=n) for n in range(CHART_DAYS)]
    explanations = token_explanations(
        token_id=token.pk, grant=token_grant(token), user_id=token.user_id, role=token.role
    )
    expired = token.is_expired(now)
    managed = managed_account_ids(request.user, [token])
    can_edit = token_changeable(token, request.user, managed, now)
    narrowable = (
        can_edit
        and (
            not token.is_automation
            or (token.account is not None and plan_allows_scoped(token.account.plan, token.type))
        )
        and bool(summary.suggested_scopes)
        and set(summary.suggested_scopes) != set(token.scopes)
    )
    return render(
        request,
        "tokens/token_detail.html",
        {
            "token": token,
            "now": now,
            "expired": expired,
            "replacement_url": replacement_url(token)
            if expired and token_changes_allowed(token, request.user, managed)
            else None,
            "abilities": _abilities(explanations, token),
            "summary": summary,
            "charts": _charts(summary, days),
            "first_day": days[0],
            "last_day": days[-1],
            "denials": [
                {"denial": denial, "label": operation_label(denial.operation)}
                for denial in summary.denials
            ],
            "can_edit": can_edit,
            "narrowable": narrowable,
            # SPEC 17: accounts forcing SSO where this user token is not authorized yet.
            "sso_needs": token_sso_needs(token, sso_session_accounts(request)),
            # Recent activity: new-network alerts and the networks it is known to use (SPEC 19).
            "network_alerts": token_network_alerts(token.pk),
            "known_networks": token_known_networks(token.pk, now),
        },
    )
