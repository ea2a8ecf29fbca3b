"""The token lists: Personal tokens (a person's own) and an account's tokens (superusers)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import account_view, signed_in_required
from accounts.http import AccountRequest, AuthenticatedRequest
from accounts.models import Account, Membership, User
from accounts.roles import manages_account
from tokens import selectors
from tokens.constants import MAX_ACTIVE_TOKENS_PER_USER
from tokens.kinds import Kind
from tokens.models import Token, TokenType
from tokens.paging import keyset_page
from tokens.permissions import SCOPE_DESCRIPTIONS
from tokens.policies.selectors import Blocked, blocked_by_token, blocked_in
from tokens.records.rules import record_rules_text, rules_from_json
from tokens.selections.selectors import ResourceSummary, token_resource_summaries
from tokens.views.common import (
    LIST_TEMPLATE,
    managed_account_ids,
    replacement_url,
    token_changeable,
    token_changes_allowed,
)


@dataclass
class TokenRow:
    """One row of a token table, with what it shows in words."""

    token: Token
    resources: list[ResourceSummary]
    scopes: list[tuple[str, str]]
    records: str  # SPEC 14's record rules in words; "" when none
    expired: bool
    can_edit: bool  # and roll its secret (views.common.token_changeable); never when expired
    replacement_url: str | None  # expired, and the person may create its replacement
    previous_secret_works: bool
    blocked: list[Blocked] = field(default_factory=list)  # accounts whose policies block it

    @property
    def all_resources(self) -> bool:
        """Every kind of resource, all of them: shown as one line instead of five."""
        return len(self.resources) == len(Kind) and all(item.all for item in self.resources)


def token_rows(
    tokens: list[Token],
    user: User,
    account: Account | None = None,
    *,
    managed: Collection[int] | None = None,
) -> list[TokenRow]:
    """The rows of a token table as `user` sees them.

    "Blocked by policy" is judged in `account` only (the account's page), else in
    every account each token acts in (one query for all rows). `managed`: the
    accounts `user` manages, when the page knows them (else read when needed).
    """
    now = timezone.now()
    if managed is None:
        managed = managed_account_ids(user, tokens)
    summaries = token_resource_summaries(tokens)
    if account is None:
        blocked = blocked_by_token(tokens, now=now)
    else:
        blocked = {token.pk: blocked_in(token, [account], now=now) for token in tokens}
    return [
        TokenRow(
            token=token,
            resources=summaries[token.pk],
            scopes=[(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in token.scopes],
            records=record_rules_text(rules_from_json(token.record_rules)),
            expired=token.is_expired(now),
            can_edit=token_changeable(token, user, managed, now),
            replacement_url=replacement_url(token)
            if token.is_expired(now) and token_changes_allowed(token, user, managed)
            else None,
            previous_secret_works=token.previous_secret_works(now),
            blocked=blocked[token.pk],
        )
        for token in tokens
    ]


@require_GET
@signed_in_required
def token_list(request: AuthenticatedRequest) -> HttpResponse:
    """Personal tokens: the signed-in person's user tokens."""
    tokens = list(selectors.tokens_of_user(request.user))
    # One query: the tokens that count towards the limit, and how many are automation tokens
    # the person created (the counter names them only when there are some).
    counts = (
        Token.objects.counting_towards_limit(request.user)
        .active()
        .aggregate(active=Count("pk"), automation=Count("pk", filter=Q(type=TokenType.AUTOMATION)))
    )
    created: list[Token] = []
    if counts["automation"]:
        # The automation tokens the counter names, each linked to its page.
        created = list(
            Token.objects.counting_towards_limit(request.user)
            .active()
            .filter(type=TokenType.AUTOMATION)
            .select_related("account")
            .order_by("account__name", "name", "pk")
        )
    return render(
        request,
        LIST_TEMPLATE,
        {
            "rows": token_rows(tokens, request.user),
            "page": "personal",
            "active_count": counts["active"],
            "token_limit": MAX_ACTIVE_TOKENS_PER_USER,
            "automation_count": counts["automation"],
            "automation_created": created,
            "managed": managed_account_ids(request.user, created),
            "list_url": reverse("tokens:list"),
        },
    )


# A page of the account's tokens: 25 cards stay a reasonable scroll on a phone.
PER_PAGE = 25
MAX_SEARCH = 100

ACCOUNT_FILTERS = {
    "type": {"": "All types", TokenType.USER: "User tokens", TokenType.AUTOMATION: "Automation"},
    "state": {"": "Any state", "active": "Active", "expired": "Expired"},
}


@require_GET
@account_view
def account_token_list(request: AccountRequest) -> HttpResponse:
    """Account tokens: every token that can act in the account (superusers only)."""
    account: Account = request.account
    if not manages_account(request.membership.role):
        return render(request, "tokens/forbidden.html", {"account": account}, status=403)
    members = list(
        Membership.objects.filter(account=account).select_related("user").order_by("user__email")
    )
    filters = {
        "q": request.GET.get("q", "").strip()[:MAX_SEARCH],
        "type": request.GET.get("type", ""),
        "state": request.GET.get("state", ""),
        "owner": request.GET.get("owner", ""),
    }
    for key, choices in ACCOUNT_FILTERS.items():
        if filters[key] not in choices:
            filters[key] = ""
    member_ids = {str(m.user_id) for m in members}
    if filters["owner"] not in member_ids and filters["owner"] != "account":
        filters["owner"] = ""

    tokens = selectors.tokens_visible_to(request.user, account)
    if filters["type"]:
        tokens = tokens.filter(type=filters["type"])
    if filters["state"] == "active":
        tokens = tokens.active()
    elif filters["state"] == "expired":
        tokens = tokens.expired()
    if filters["owner"] == "account":
        tokens = tokens.filter(type=TokenType.AUTOMATION)
    elif filters["owner"]:
        tokens = tokens.filter(type=TokenType.USER, user_id=int(filters["owner"]))
    if filters["q"]:
        tokens = tokens.filter(name__icontains=filters["q"])
    pager = keyset_page([tokens], request.GET, params=filters, load=tokens, per_page=PER_PAGE)
    context = {
        # One COUNT of the filtered set (an account's tokens, not the event log's millions;
        # docs/performance.md measures it at 5,000 tokens).
        "count": tokens.count(),
        "per_page": PER_PAGE,
        # The account's superuser: its automation tokens are theirs to change.
        "rows": token_rows(pager.rows, request.user, account, managed={account.pk}),
        "pager": pager,
        "page": "account",
        "account": account,
        "members": members,
        "filters": filters,
        "filter_choices": ACCOUNT_FILTERS,
        "filtered": any(filters.values()),
        "list_url": reverse("tokens:account-list", args=[account.slug]),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{LIST_TEMPLATE}#token-table", context)
    return render(request, LIST_TEMPLATE, context)
