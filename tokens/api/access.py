"""What the calling token may reach: authorize() before every account operation,
visible() and one() to keep reads and writes inside the token's selection.

The account and the token's role there come with the principal (read in the
authentication query); permissions.decide() is the one decision (SPEC 4). A
token's selection of resources is applied in SQL, to lists and to single
resources alike, so a resource outside it is simply not found (404).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from tokens import selectors
from tokens.api.errors import insufficient_scope, not_found
from tokens.auth import AccountAccess, AuthenticationFailed, Principal
from tokens.events import Actor
from tokens.permissions import Kind, Outcome, decide, selection_is_total

M = TypeVar("M", bound=Model)


def principal_of(request: HttpRequest) -> Principal:
    """The authenticated token (set by the BearerToken security class)."""
    # django-ninja sets `request.auth` at run time: HttpRequest's stub does not declare it.
    return request.auth  # type: ignore[attr-defined]


def authorize(
    request: HttpRequest, operation: str, *, creates: Kind | None = None
) -> AccountAccess:
    """The route's account if the token may perform `operation` there.

    404 when the token does not act in the account; 403 insufficient_scope when
    its role or scopes fall short, or when it `creates` a resource of a kind it
    does not hold in full (a new resource would fall outside its selection).
    """
    principal = principal_of(request)
    access = principal.access
    decision = decide(
        principal.grant,
        role=access.role if access else None,
        operation=operation,
        now=timezone.now(),
        client_ip=principal.client_ip,
    )
    if decision.outcome in (Outcome.ROLE, Outcome.SCOPE):
        raise insufficient_scope(operation)
    if decision.outcome is Outcome.INACTIVE:
        raise AuthenticationFailed("The token may not be used now.", credentials_sent=True)
    if not decision.allowed or access is None:
        raise not_found()
    if creates is not None and not selection_is_total(principal.grant, creates):
        raise insufficient_scope(
            operation, f"Adding {creates} needs a token with access to all {creates}."
        )
    return access


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
        label=f"Token “{principal.name}” ({principal.display})",
        ip=principal.client_ip,
    )
