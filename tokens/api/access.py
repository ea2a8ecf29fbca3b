"""What the calling token may reach: authorize() before every account operation,
visible() and one() to keep reads and writes inside the token's selection.

The account and the token's role there come with the principal (read in the
authentication query); permissions.decide() is the one decision (SPEC 4). A
token's selection of resources is applied in SQL, to lists and to single
resources alike, so a resource outside it is simply not found (404).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.constants import Plan, Role
from accounts.models import User
from tokens import selectors
from tokens.api.errors import ApiError, insufficient_scope, not_found
from tokens.auth import AccountAccess, AuthenticationFailed, Principal
from tokens.events import Actor
from tokens.models import TokenType
from tokens.permissions import (
    Decision,
    Kind,
    Outcome,
    accepted_scopes,
    decide,
    required_scope,
    selection_is_total,
)
from tokens.policy_rules import policy_message
from tokens.usage import Denial, usage_record

M = TypeVar("M", bound=Model)


def principal_of(request: HttpRequest) -> Principal:
    """The authenticated token (set by the BearerToken security class)."""
    # django-ninja sets `request.auth` at run time: HttpRequest's stub does not declare it.
    return request.auth  # type: ignore[attr-defined]


@functools.cache
def accepted_scopes_header(operation: str) -> str:
    """`X-Accepted-Scopes` for `operation` (SPEC 13)."""
    return ", ".join(accepted_scopes(operation))


def authorize(
    request: HttpRequest, operation: str, *, creates: Kind | None = None
) -> AccountAccess:
    """The route's account if the token may perform `operation` there.

    404 when the token does not act in the account; 403 policy_violation when it
    breaks a policy of the account (SPEC 15); 403 insufficient_scope when its
    role, the account's plan or its scopes fall short, or when it `creates` a
    resource of a kind it does not hold in full (a new resource would fall
    outside its selection). Every answer of the route then carries
    `X-Accepted-Scopes` (ACCEPTED_SCOPES_HEADER), and the request is counted
    (tokens.usage: cache only).
    """
    principal = principal_of(request)
    access = principal.access
    now = timezone.now()
    accepted = accepted_scopes_header(operation)
    request.accepted_scopes = accepted  # type: ignore[attr-defined]  # see AcceptedScopes
    decision = decide(
        principal.grant,
        role=access.role if access else None,
        operation=operation,
        now=now,
        client_ip=principal.client_ip,
        plan=access.plan if access else None,
    )
    if decision.outcome is Outcome.INACTIVE:
        raise AuthenticationFailed("The token may not be used now.", credentials_sent=True)
    refusal: ApiError | None = None
    if access is not None and access.blocked_by is not None:
        refusal = ApiError(
            403,
            "policy_violation",
            f"Blocked by a policy of {access.name}: "
            f"{policy_message(access.policy, access.blocked_by)}",
            policy=access.blocked_by,
        )
    elif decision.outcome in (Outcome.ROLE, Outcome.PLAN, Outcome.SCOPE):
        refusal = insufficient_scope(operation, _refusal_message(decision, principal, access))
    elif not decision.allowed or access is None:
        refusal = not_found()
    elif creates is not None and not selection_is_total(principal.grant, creates):
        refusal = insufficient_scope(
            operation, f"Adding {creates} needs a token with access to all {creates}."
        )
    _count(request, principal, operation, now, refused=refusal is not None)
    if refusal is not None:
        refusal.headers[ACCEPTED_SCOPES_HEADER] = accepted
        raise refusal
    return access  # type: ignore[return-value]  # None is refused above


def _refusal_message(
    decision: Decision, principal: Principal, access: AccountAccess | None
) -> str | None:
    """What refuses the operation in words: the role, the plan, or (None) the scopes."""
    if access is None:
        return None
    role = Role(access.role).label.lower() if access.role in Role.values else access.role
    if decision.outcome is Outcome.ROLE:
        if principal.type == TokenType.AUTOMATION:
            return (
                f"The token's role ({role}) does not allow {decision.operation} in "
                f"{access.name}, whatever its scopes."
            )
        return (
            f"Your role in {access.name} ({role}) does not allow {decision.operation}, "
            "whatever the token's scopes."
        )
    if decision.outcome is Outcome.PLAN:
        return (
            f"On the {Plan(access.plan).label} plan automation tokens have the scope “global” "
            "on all resources; this token's chosen scopes are refused. Upgrade the account to "
            "Teams, or create the token again."
        )
    return None


def _count(
    request: HttpRequest, principal: Principal, operation: str, now: datetime, *, refused: bool
) -> None:
    denial = None
    if refused:
        kwargs = request.resolver_match.kwargs if request.resolver_match else {}
        ids = [value for name, value in kwargs.items() if name.endswith("_id")]
        denial = Denial(
            operation=operation,
            required_scope=required_scope(operation),
            account_id=kwargs.get("account_id"),
            resource_id=ids[1] if len(ids) > 1 else None,
            ip=principal.client_ip,
        )
    usage_record(
        token_id=principal.id, operation=operation, allowed=not refused, now=now, denial=denial
    )


def count_request(principal: Principal, operation: str, *, refused_for: str | None = None) -> None:
    """Count a request of a route that authorize() does not guard (token routes, accounts).

    `refused_for`: the scope the request lacked (it is then a denial).
    """
    denial = None
    if refused_for is not None:
        denial = Denial(
            operation=operation,
            required_scope=refused_for,
            account_id=None,
            resource_id=None,
            ip=principal.client_ip,
        )
    usage_record(
        token_id=principal.id,
        operation=operation,
        allowed=refused_for is None,
        now=timezone.now(),
        denial=denial,
    )


ACCEPTED_SCOPES_HEADER = "X-Accepted-Scopes"


class AcceptedScopes:
    """Middleware: an account route's answer names the scopes that allow its operation.

    authorize() knows the operation and notes the header's value on the request;
    every answer of that request (2xx, 403, 404) then carries it (SPEC 13).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        accepted = getattr(request, "accepted_scopes", None)
        if accepted is not None:
            response[ACCEPTED_SCOPES_HEADER] = accepted
        return response


def visible(queryset: QuerySet[M], principal: Principal, kind: Kind) -> QuerySet[M]:
    """`queryset` limited to the token's selection of `kind` (in SQL), unless it has them all."""
    if selection_is_total(principal.grant, kind):
        return queryset
    return queryset.filter(
        id__in=selectors.token_selection_subquery(token_id=principal.id, kind=kind)
    )


def one(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one row matching `lookup`, or 404."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise not_found()
    return found


def actor(principal: Principal) -> Actor:
    """The calling token as the event log records it."""
    owner = None
    if principal.user_id is not None:
        owner = User(
            pk=principal.user_id, email=principal.user_email or "", name=principal.user_name or ""
        )
    return Actor.api_token(
        token_id=principal.id,
        token_type=principal.type,
        owner=owner,
        name=principal.name,
        display=principal.display,
        ip=principal.client_ip,
    )
