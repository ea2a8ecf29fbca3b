"""Token routes: whoami, tokens/self, listing, creating, rolling and revoking tokens.

Listing tokens and managing one by id need the `global` scope; the `tokens/self` routes
need none (SPEC 7, 11). Managing *another* token by id (revoke, roll, usage) is the
operation `manage_tokens` in that token's account, decided by managed.managed_token():
the calling token must act there unblocked, with `global` on all resources and no
record rules.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router

from accounts.http import client_ip
from accounts.models import User
from tokens import selectors
from tokens.api.access import actor, count_request, one, principal_of
from tokens.api.answers import (
    ACCOUNT_ERRORS,
    BODY_ERRORS,
    ERRORS,
    PASSWORD_ERRORS,
    InvalidOut,
    ScopeErrorOut,
)
from tokens.api.errors import insufficient_scope
from tokens.api.lean import lean_get
from tokens.api.managed import managed_token
from tokens.api.responses import PAGE, PER_PAGE, no_content, ok
from tokens.api.schemas import (
    ALL_RESOURCES,
    CreatedTokenOut,
    Data,
    Page,
    PermissionsOut,
    RolledTokenOut,
    TokenCreateIn,
    TokenOut,
    TokenRollIn,
    UsageOut,
    WhoamiOut,
    token_json,
)
from tokens.api.security import ApiRequest, EmailPassword, PasswordRequest
from tokens.api.token_rows import token_page
from tokens.auth.principal import Principal
from tokens.events import Actor, EventChannel
from tokens.kinds import Kind
from tokens.models import Token, TokenType
from tokens.permissions import required_scope, scopes_cover
from tokens.policies.selectors import token_blocked_in
from tokens.selections.selectors import token_resources_json, token_selections
from tokens.services.issue import token_create
from tokens.services.revoke import token_remove_from_account, token_revoke
from tokens.services.roll import token_roll
from tokens.usage.rules import TOKENS_OPERATION
from tokens.usage.selectors import DEFAULT_DAYS, MAX_DAYS, token_explanations, token_usage_summary
from tokens.usage.services import usage_flush

router = Router(tags=["tokens"])

MANAGE_ERRORS: dict[int, Any] = {**ERRORS, 403: ScopeErrorOut, 422: InvalidOut}
# The `{id}` routes are account operations of the token's account: 403 insufficient_scope
# or policy_violation, as on the account routes.
BY_ID_ERRORS: dict[int, Any] = ACCOUNT_ERRORS


def _require_global(principal: Principal) -> None:
    """Listing tokens, or managing itself by id, needs the `global` scope (SPEC 7); counted."""
    if not scopes_cover(principal.grant.scopes, "manage_tokens"):
        count_request(principal, TOKENS_OPERATION, refused_for=required_scope("manage_tokens"))
        raise insufficient_scope("manage_tokens")
    count_request(principal, TOKENS_OPERATION)


def _token_route(request: ApiRequest) -> Principal:
    """The calling token of a `tokens/self` route (needs no scope), counted as `tokens`."""
    principal = principal_of(request)
    count_request(principal, TOKENS_OPERATION)
    return principal


# --------------------------------------------------------------------------- JSON


def _user_json(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "email": user.email, "name": user.name}


def row_json(token: Token, selections: dict[Kind, list[int]] | None = None) -> dict[str, Any]:
    """A Token row's JSON (`selections` from token_selections spares queries)."""
    account = token.account
    return token_json(
        token,
        account=None
        if account is None
        else {
            "id": account.pk,
            "slug": account.slug,
            "name": account.name,
            "plan": account.plan,
        },
        user=_user_json(token.user),
        resources=token_resources_json(token, selections),
    )


def principal_json(principal: Principal) -> dict[str, Any]:
    """The calling token's JSON straight from the authentication row (no model instances)."""
    grant = principal.grant
    if len(grant.all_kinds) == len(Kind):
        resources: dict[str, Any] = dict(ALL_RESOURCES)
    else:
        partial = [kind for kind in Kind if kind not in grant.all_kinds]
        selected = token_selections(token_ids=[principal.id], kinds=partial)
        mine = selected.get(principal.id, {})
        resources = {
            str(kind): "all" if kind in grant.all_kinds else mine.get(kind, []) for kind in Kind
        }
    access = principal.access
    return token_json(
        principal,
        account=access.as_json() if access and principal.is_automation else None,
        user=_principal_user(principal),
        resources=resources,
    )


def _principal_user(principal: Principal) -> dict[str, Any] | None:
    if principal.user_id is None:
        return None
    return {"id": principal.user_id, "email": principal.user_email, "name": principal.user_name}


# --------------------------------------------------------------------------- whoami


def _whoami(principal: Principal) -> HttpResponse:
    token = principal_json(principal)
    return ok({"token": token, "user": token["user"], "account": token["account"]})


@lean_get("/whoami")
@router.get("/whoami", response={200: Data[WhoamiOut], **ERRORS})
def whoami(request: ApiRequest) -> HttpResponse:
    """The token making the request, its owner (user tokens) or account (automation tokens)."""
    return _whoami(_token_route(request))


# --------------------------------------------------------------------------- tokens/self


def _self_row(principal: Principal) -> Token:
    return one(Token.objects.select_related("user", "account"), pk=principal.id)


@router.get("/tokens/self", response={200: Data[TokenOut], **ERRORS})
def token_self(request: ApiRequest) -> HttpResponse:
    """The token making the request."""
    return ok(principal_json(_token_route(request)))


@router.delete("/tokens/self", response={204: None, **ERRORS})
def token_self_revoke(request: ApiRequest) -> HttpResponse:
    """Revoke the token making the request. It stops working at once."""
    principal = _token_route(request)
    token_revoke(actor=actor(principal), token=_self_row(principal), revoked_by="self")
    return no_content()


# --------------------------------------------------------------------------- tokens


@lean_get("/tokens", paged=True)
@router.get("/tokens", response={200: Page[TokenOut], **MANAGE_ERRORS})
def tokens_list(
    request: ApiRequest,
    page: int = PAGE,
    per_page: int = PER_PAGE,
) -> HttpResponse:
    """The caller's tokens (`global`).

    A user token lists its owner's user tokens; an automation token, itself.
    """
    principal = principal_of(request)
    _require_global(principal)
    data, paging = token_page(
        user_id=None if principal.is_automation else principal.user_id,
        token_id=principal.id,
        page=page,
        per_page=per_page,
    )
    return ok(data, pagination=paging)


@router.post(
    "/tokens",
    auth=EmailPassword(),
    response={201: Data[CreatedTokenOut], **PASSWORD_ERRORS, **BODY_ERRORS},
)
def tokens_create(request: PasswordRequest, payload: TokenCreateIn) -> HttpResponse:
    """Create a user token for the person whose email and password are sent (HTTP Basic).

    Refused (403 `two_factor_required`) for a person with a second factor, which the
    API cannot ask for, and (403 `forbidden`) when an account of the person enforces
    single sign-on or two-factor authentication: create the token in the panel instead.
    """
    user = request.auth
    options: dict[str, Any] = {}
    if "expires_at" in payload.model_fields_set:
        options["expires_at"] = payload.expires_at
    if payload.resources is not None:
        options["resources"] = {str(kind): chosen for kind, chosen in payload.resources.items()}
    created = token_create(
        actor=Actor.person(user, ip=client_ip(request), channel=EventChannel.API_PASSWORD),
        token_type=TokenType.USER,
        name=payload.name,
        owner=user,
        scopes=payload.scopes,
        record_rules=[rule.model_dump() for rule in payload.record_rules],
        **options,
    )
    token = Token.objects.select_related("user", "account").get(pk=created.token.pk)
    blocked = [blocked.account.pk for blocked in token_blocked_in(token)]
    return ok({**row_json(token), "token": created.secret, "blocked_in": blocked}, status=201)


@router.delete("/tokens/{id:token_id}", response={204: None, **BY_ID_ERRORS})
def token_revoke_one(request: ApiRequest, token_id: int) -> HttpResponse:
    """Revoke a token (`global`): itself, its owner's, or (superusers) one of their account.

    Another token needs a caller with `global` on all resources and no record rules,
    acting in that token's account(s): not removed (404), not blocked by a policy
    (403). A member's user token that also acts where the caller does not manage it
    is removed from the caller's account only (it answers 404 there from then on).
    """
    principal = principal_of(request)
    if token_id == principal.id:
        _require_global(principal)
        token_revoke(actor=actor(principal), token=_self_row(principal), revoked_by="self")
        return no_content()
    managed = managed_token(principal, token_id)
    revocation = selectors.token_revocation(
        managed.token, by_owner=managed.own, managed=managed.accounts, elsewhere=managed.elsewhere
    )
    if revocation.remove_only and revocation.account is not None:
        token_remove_from_account(
            actor=actor(principal), token=revocation.token, account=revocation.account
        )
    else:
        token_revoke(
            actor=actor(principal),
            token=revocation.token,
            revoked_by=revocation.revoked_by,
            account=revocation.account,
        )
    return no_content()


# --------------------------------------------------------------------------- roll (SPEC 11)

ROLL_RESPONSES: dict[int, Any] = {201: Data[RolledTokenOut], **BY_ID_ERRORS, **BODY_ERRORS}


def _rolled(principal: Principal, token: Token, payload: TokenRollIn | None) -> HttpResponse:
    grace = payload.grace_period if payload is not None else 0
    created = token_roll(actor=actor(principal), token=token, grace_period=timedelta(seconds=grace))
    token = Token.objects.select_related("user", "account").get(pk=created.token.pk)
    return ok({**row_json(token), "token": created.secret}, status=201)


@router.post("/tokens/self/roll", response=ROLL_RESPONSES)
def token_self_roll(request: ApiRequest, payload: TokenRollIn | None = None) -> HttpResponse:
    """Give the calling token a new secret; the old one works for `grace_period` seconds."""
    principal = principal_of(request)
    return _rolled(principal, _self_row(principal), payload)


@router.post("/tokens/{id:token_id}/roll", response=ROLL_RESPONSES)
def token_roll_one(
    request: ApiRequest, token_id: int, payload: TokenRollIn | None = None
) -> HttpResponse:
    """Give a token a new secret: itself, its owner's, or (superusers) an automation token.

    Same rule as revoke (a narrowed token rolls only itself); someone else's user
    token is never rolled: only its owner holds its secrets.
    """
    principal = principal_of(request)
    if token_id == principal.id:
        _require_global(principal)
        return _rolled(principal, _self_row(principal), payload)
    managed = managed_token(principal, token_id, members_tokens=False)
    return _rolled(principal, managed.token, payload)


# --------------------------------------------------------------------------- usage (SPEC 13)

DAYS = Query(DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="The window, in UTC days.")


def _usage(token_id: int, days: int) -> HttpResponse:
    now = timezone.now()
    usage_flush(token_id=token_id, now=now)  # include what is still buffered
    return ok(token_usage_summary(token_id=token_id, days=days, now=now).as_json())


@router.get("/tokens/self/usage", response={200: Data[UsageOut], **ERRORS, 422: InvalidOut})
def token_self_usage(request: ApiRequest, days: int = DAYS) -> HttpResponse:
    """What the token making the request did, per operation, and its latest denials."""
    return _usage(_token_route(request).id, days)


@router.get("/tokens/{id:token_id}/usage", response={200: Data[UsageOut], **BY_ID_ERRORS})
def token_usage(request: ApiRequest, token_id: int, days: int = DAYS) -> HttpResponse:
    """What a token did (`global`): itself, or a token it may revoke (same rule as revoke)."""
    principal = principal_of(request)
    if token_id == principal.id:
        _require_global(principal)
    else:
        managed_token(principal, token_id)
    return _usage(token_id, days)


@router.get("/tokens/self/permissions", response={200: Data[PermissionsOut], **ERRORS})
def token_self_permissions(request: ApiRequest) -> HttpResponse:
    """Per account the token acts in: every operation, allowed or why not, and its selection."""
    principal = _token_route(request)
    explanations = token_explanations(
        token_id=principal.id,
        grant=principal.grant,
        user_id=principal.user_id,
        role=principal.role,
    )
    return ok({"accounts": [explanation.as_json() for explanation in explanations]})
