"""A token's page (SPEC 13): what it can do, what it did, its recent denials, and narrowing it.

"What it can do" is permissions.decide() for every operation (tokens.usage.selectors),
put in words here; "What it did" is the written usage (flushed first) drawn as
server-rendered SVG bars with the same numbers in a table. A fixed number of
queries whatever the volume of usage.
"""

from __future__ import annotations

from datetime import UTC

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest
from accounts.models import Account
from accounts.sso.session import sso_session_accounts
from tokens import selectors
from tokens.networks.selectors import token_known_networks, token_network_alerts
from tokens.permissions import plan_allows_scoped
from tokens.policies.selectors import blocked_in
from tokens.sso.selectors import token_sso_needs
from tokens.usage.models import TokenDenial
from tokens.usage.selectors import (
    denial_names,
    token_explanations,
    token_grant,
    token_usage_summary,
)
from tokens.usage.services import usage_flush
from tokens.views.abilities import DENIAL_WORDS, abilities_of, operation_label
from tokens.views.common import (
    managed_account_ids,
    replacement_url,
    token_changeable,
    token_changes_allowed,
)
from tokens.views.usage_chart import usage_view

CHART_DAYS = 30


def _denial_rows(
    summary_denials: list[TokenDenial], accounts: list[Account]
) -> list[dict[str, object]]:
    """The recent denials with names: the account's, the resource's, the reason's words."""
    account_names, resource_names = denial_names(summary_denials, accounts)
    rows = []
    for denial in summary_denials:
        if denial.account_id is None:
            account = ""
        else:
            account = account_names.get(denial.account_id, "An account it does not act in")
        resource = ""  # none named, or in an account the token does not act in
        if denial.resource_id is not None and denial.account_id in account_names:
            key = (denial.account_id, denial.resource_id)
            resource = resource_names.get(key, "one deleted since")
        rows.append(
            {
                "denial": denial,
                "label": operation_label(denial.operation),
                "account": account,
                "resource": resource,
                "why": DENIAL_WORDS.get(denial.reason, ""),
            }
        )
    return rows


@require_GET
@signed_in_required
def token_detail(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """A token's page: the reach of the token lists (a foreign id is a 404)."""
    revocation = selectors.token_get_revocable(request.user, token_id)
    token = revocation.token
    now = timezone.now()
    usage_flush(token_id=token.pk, now=now)
    summary = token_usage_summary(token_id=token.pk, days=CHART_DAYS, now=now, daily=True)
    grant = token_grant(token)
    explanations = token_explanations(
        token_id=token.pk, grant=grant, user_id=token.user_id, role=token.role
    )
    if token.user_id is not None and token.user_id != request.user.pk:
        # A member's token seen by a superuser of one of its accounts: only the accounts
        # the viewer belongs to are shown by name; the owner's others are counted.
        mine = set(request.user.memberships.values_list("account_id", flat=True))
        shown = [item for item in explanations if item.account.pk in mine]
        elsewhere = len(explanations) - len(shown)
        explanations = shown
    else:
        elsewhere = 0
    accounts = [explanation.account for explanation in explanations]
    blocked = blocked_in(token, accounts, now=now)
    # SPEC 17: accounts forcing SSO where this user token is not authorized yet.
    sso_needs = token_sso_needs(token, accounts, sso_session_accounts(request))
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
            "abilities": abilities_of(
                explanations, grant, token, blocked, {need.account.pk for need in sso_needs}
            ),
            "blocked": blocked,
            "elsewhere": elsewhere,
            "summary": summary,
            "usage": usage_view(summary, now.astimezone(UTC).date(), operation_label),
            "denials": _denial_rows(summary.denials, accounts),
            "can_edit": can_edit,
            "narrowable": narrowable,
            "sso_needs": sso_needs,
            # Delete: in the name of the account a superuser acts for (a member's token).
            "revocation": revocation,
            # Recent activity: new-network alerts and the networks it is known to use (SPEC 19).
            "network_alerts": token_network_alerts(token.pk),
            "known_networks": token_known_networks(token.pk, now),
        },
    )
