"""What the calling token may reach: authorize() before every account operation,
visible(), one() and target() to keep reads and writes inside the token's selection.

The account and the token's role there come with the principal (read in the
authentication query); permissions.decide() is the one decision (SPEC 4). A
token's selection of resources is applied in SQL, to lists and to single
resources alike, so a resource outside it is simply not found (404).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.constants import Plan, Role
from accounts.models import Account, User
from tokens.api.errors import ApiError, insufficient_scope, not_found
from tokens.api.security import ApiRequest
from tokens.auth.bearer import AuthenticationFailed
from tokens.auth.principal import AccountAccess, Principal
from tokens.events import Actor
from tokens.kinds import BY_KIND, Kind
from tokens.models import TokenType
from tokens.permissions import (
    Decision,
    Outcome,
    accepted_scopes,
    decide,
    required_scope,
    selection_is_total,
)
from tokens.policies.rules import policy_message
from tokens.selections.selectors import token_selection_subquery
from tokens.usage.rules import Denial, DenialReason
from tokens.usage.services import usage_record

M = TypeVar("M", bound=Model)


def principal_of(request: ApiRequest) -> Principal:
    """The authenticated token (set by the BearerToken security class)."""
    return request.auth


@functools.cache
def accepted_scopes_header(operation: str) -> str:
    """`X-Accepted-Scopes` for `operation` (SPEC 13)."""
    return ", ".join(accepted_scopes(operation))


def authorize(request: ApiRequest, operation: str, *, creates: Kind | None = None) -> AccountAccess:
    """The route's account if the token may perform `operation` there.

    404 when the token does not act in the account; 403 policy_violation when it
    breaks a policy of the account (SPEC 15); 403 insufficient_scope when its
    role, the account's plan or its scopes fall short, or when it `creates` a
    resource of a kind it does not hold in full (a new resource would fall
    outside its selection). Every answer of the route then carries
    `X-Accepted-Scopes` (ACCEPTED_SCOPES_HEADER).

    A refusal is counted as denied here (tokens.usage.services: cache only). What is
    allowed is counted when the answer is known (`usage_settle`): the read or
    write may still find its resource outside the token's selection or record
    rules (`deny`), or find nothing at all (a 404: counted neither way).
    """
    principal = principal_of(request)
    access = principal.access
    now = timezone.now()
    accepted = accepted_scopes_header(operation)
    request.accepted_scopes = accepted  # see AcceptedScopes
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
    refusal, reason = _refusal(request, decision, principal, creates)
    if refusal is None:
        assert access is not None  # _refusal refuses a token that does not act here
        setattr(request, _PENDING, _Pending(principal, operation, now))
        return access
    if reason is not None:
        _count_denied(request, principal, operation, now, reason)
    refusal.headers[ACCEPTED_SCOPES_HEADER] = accepted
    raise refusal


def _refusal(
    request: ApiRequest, decision: Decision, principal: Principal, creates: Kind | None
) -> tuple[ApiError | None, DenialReason | None]:
    """Why authorize() refuses, and the reason it is counted as denied (None: not counted)."""
    access = principal.access
    operation = decision.operation
    if access is not None and access.blocked_by is not None:
        return policy_refusal(access), DenialReason.POLICY
    if decision.outcome in (Outcome.ROLE, Outcome.PLAN, Outcome.SCOPE):
        message = _refusal_message(decision, principal, access)
        return insufficient_scope(operation, message), DenialReason(decision.outcome)
    if not decision.allowed or access is None:
        # Only here, refused, is it asked whether the account exists at all.
        account_id = _path_ids(request).get("account_id")
        exists = account_id is not None and Account.objects.filter(pk=account_id).exists()
        return not_found(), DenialReason.NOT_IN_ACCOUNT if exists else None
    if creates is not None and not selection_is_total(principal.grant, creates):
        message = f"Adding {creates} needs a token with access to all {creates}."
        return insufficient_scope(operation, message), DenialReason.NOT_SELECTED
    return None, None


def policy_refusal(access: AccountAccess) -> ApiError:
    """403 policy_violation: the token breaks `access.blocked_by`, a policy of the account."""
    assert access.blocked_by is not None
    return ApiError(
        403,
        "policy_violation",
        f"Blocked by a policy of {access.name}: {policy_message(access.policy, access.blocked_by)}",
        policy=access.blocked_by,
    )


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


# The request's allowed operation, counted once its answer is known (usage_settle).
_PENDING = "keyward_usage_pending"


@dataclass(frozen=True, slots=True)
class _Pending:
    principal: Principal
    operation: str
    now: datetime


def _path_ids(request: ApiRequest) -> dict[str, Any]:
    return request.resolver_match.kwargs if request.resolver_match else {}


def _count_denied(
    request: ApiRequest,
    principal: Principal,
    operation: str,
    now: datetime,
    reason: DenialReason,
) -> None:
    kwargs = _path_ids(request)
    ids = [value for name, value in kwargs.items() if name.endswith("_id")]
    denial = Denial(
        operation=operation,
        required_scope=required_scope(operation),
        account_id=kwargs.get("account_id"),
        resource_id=ids[1] if len(ids) > 1 else None,
        ip=principal.client_ip,
        reason=reason,
    )
    usage_record(token_id=principal.id, operation=operation, allowed=False, now=now, denial=denial)


def deny(request: ApiRequest, reason: DenialReason) -> None:
    """Count the operation authorize() allowed as denied after all: the token's selection
    or its record rules refused the resource (SPEC 13, "What counts as denied")."""
    pending: _Pending | None = getattr(request, _PENDING, None)
    if pending is not None:
        setattr(request, _PENDING, None)
        _count_denied(request, pending.principal, pending.operation, pending.now, reason)


def usage_settle(request: HttpRequest, response: HttpResponse) -> None:
    """Count the allowed operation of an answered request (AcceptedScopes, after the view).

    A 404 found nothing (what does not exist is neither allowed nor denied);
    what the selection hid was counted as denied by not_found_in_reach().
    """
    pending: _Pending | None = getattr(request, _PENDING, None)
    if pending is None:
        return
    setattr(request, _PENDING, None)
    if response.status_code != 404:
        usage_record(
            token_id=pending.principal.id,
            operation=pending.operation,
            allowed=True,
            now=pending.now,
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
            reason=DenialReason.SCOPE,
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
    """Middleware: an account route's answer names the scopes that allow its operation,
    and its allowed operation is counted once the answer is known (usage_settle).

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
            usage_settle(request, response)
        return response


def visible(queryset: QuerySet[M], principal: Principal, kind: Kind) -> QuerySet[M]:
    """`queryset` limited to the token's selection of `kind` (in SQL), unless it has them all."""
    if selection_is_total(principal.grant, kind):
        return queryset
    return queryset.filter(id__in=token_selection_subquery(token_id=principal.id, kind=kind))


def one(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one row matching `lookup`, or 404."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise not_found()
    return found


def target(request: ApiRequest, operation: str, kind: Kind, resource_id: int) -> Any:
    """The account's resource `resource_id` of `kind` (its model in tokens.kinds), if the
    token may perform `operation` on it: authorize(), then the row through the token's
    selection (one query), or 404."""
    access = authorize(request, operation)
    model = BY_KIND[kind].model
    rows = visible(model._default_manager.select_related("account"), principal_of(request), kind)
    found = rows.filter(pk=resource_id, account_id=access.id).first()
    if found is None:
        raise not_found_in_reach(request, model, resource_id, account_id=access.id, kind=kind)
    return found


def not_found_in_reach(
    request: ApiRequest, model: type[Model], resource_id: int, *, account_id: int, kind: Kind
) -> ApiError:
    """The 404 of a resource an allowed read or write did not find through the selection.

    Only here, on the way to a 404 and never on success, is it asked whether the
    resource exists in the account: if it does, the selection hid it and the
    request is denied (`not_selected`); if not, it asked for nothing (not counted).
    """
    hidden = not selection_is_total(principal_of(request).grant, kind)
    if hidden and model._default_manager.filter(pk=resource_id, account_id=account_id).exists():
        deny(request, DenialReason.NOT_SELECTED)
    return not_found()


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
        run=principal.run,
    )
