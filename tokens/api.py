"""The HTTP API of SPEC 7: django-ninja, mounted at /api/v1/.

Every route but POST /tokens authenticates with `Authorization: Bearer`
(tokens.auth.authenticate: one query). Account routes then resolve the account
and the role capping the token there (one query) and ask permissions.decide();
single resources of a kind the token only partly selected load that
selection first (one query). Reads go through selectors, writes through the
same services the panel uses, which log an `api.write` event with the token as
actor.

Errors are `{"error": CODE, "message": TEXT}` with the status and headers of
SPEC 7; no exception ever reaches the client as a stack trace.
"""

from __future__ import annotations

import binascii
import functools
import logging
import math
from base64 import b64decode
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import orjson
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import register_converter
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBasicAuth, HttpBearer
from pydantic import Field

from accounts import services as account_services
from accounts.constants import PLAN_MONTHLY_PRICE_USD
from accounts.http import client_ip
from accounts.models import Account, Certificate, Domain, Membership, Record, Service, User, Zone
from accounts.services import CredentialsRejected, Throttled, credentials_check
from tokens import selectors
from tokens.auth import AccountAccess, AuthenticationFailed, Principal, account_access, authenticate
from tokens.events import Actor
from tokens.models import Token, TokenType
from tokens.permissions import (
    OPERATION_KIND,
    SCOPES,
    Grant,
    Kind,
    Outcome,
    decide,
    required_scope,
    selection_is_total,
)
from tokens.services import (
    NotPermitted,
    TokenLimitReached,
    token_create,
    token_revoke,
)

logger = logging.getLogger(__name__)

REALM = 'Bearer realm="keyward"'
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
MAX_BASIC_HEADER_LENGTH = 1024


class IdConverter:
    """Path ids: 1 to 18 digits (fits a 64-bit column); anything else is not a route (404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An answer other than success, with SPEC 7's JSON body and headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.extra = extra


def not_found() -> ApiError:
    return ApiError(404, "not_found", "Not found, or the token cannot act on it.")


def insufficient_scope(operation: str, message: str | None = None) -> ApiError:
    scope = required_scope(operation)
    return ApiError(
        403,
        "insufficient_scope",
        message or f"The token's role or scopes do not allow this; it needs “{scope}”.",
        headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
        required_scope=scope,
    )


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> HttpResponse:
    response = HttpResponse(
        orjson.dumps({"error": code, "message": message, **extra}),
        status=status,
        content_type="application/json",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc: tuple | list) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        source = parts.pop(0)
        if source == "body" and len(parts) > 1:
            parts.pop(0)  # the body parameter's own name
    return ".".join(parts) or "body"


# --------------------------------------------------------------------------- authentication


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`, checked by tokens.auth (never a query string or cookie)."""

    def __call__(self, request: HttpRequest) -> Principal:
        return authenticate(request)

    def authenticate(self, request: HttpRequest, token: str) -> Principal:  # pragma: no cover
        return authenticate(request)


class EmailPassword(HttpBasicAuth):
    """HTTP Basic email and password, for creating a token; throttled like the sign-in page."""

    def __call__(self, request: HttpRequest) -> User:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        challenge = {"WWW-Authenticate": 'Basic realm="keyward", charset="UTF-8"'}
        scheme, _, encoded = header.strip().partition(" ")
        try:
            if scheme.lower() != "basic" or len(header) > MAX_BASIC_HEADER_LENGTH:
                raise ValueError
            email, password = (
                b64decode(encoded.strip(), validate=True).decode("utf-8").split(":", 1)
            )
            if "\x00" in email or "\x00" in password:  # PostgreSQL refuses NUL in text
                raise ValueError
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ApiError(
                401,
                "invalid_credentials",
                "Send your email and password with HTTP Basic authentication.",
                headers=challenge,
            ) from None
        try:
            return credentials_check(request=request, email=email, password=password)
        except Throttled as throttled:
            raise ApiError(
                429,
                "rate_limited",
                str(throttled),
                headers={"Retry-After": str(throttled.retry_after)},
            ) from None
        except CredentialsRejected as rejected:
            raise ApiError(401, "invalid_credentials", str(rejected), headers=challenge) from None

    def authenticate(
        self, request: HttpRequest, username: str, password: str
    ) -> User:  # pragma: no cover
        return self(request)


class Renderer:
    """JSON through orjson, as every answer of this API."""

    media_type = "application/json"
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data, option=orjson.OPT_UTC_Z)


api = NinjaAPI(
    title="Keyward API",
    version="1",
    description=(
        "Issue and use API access tokens. Authenticate with `Authorization: Bearer <token>`; "
        "create a token with `POST /api/v1/tokens` and HTTP Basic email and password."
    ),
    urls_namespace="api",
    auth=BearerToken(),
    renderer=Renderer(),
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)


@api.exception_handler(AuthenticationFailed)
def _authentication_failed(request: HttpRequest, exc: AuthenticationFailed) -> HttpResponse:
    if exc.retry_after:
        return _error_response(
            429, "rate_limited", exc.message, {"Retry-After": str(exc.retry_after)}
        )
    challenge = f'{REALM}, error="invalid_token"' if exc.credentials_sent else REALM
    return _error_response(401, "invalid_token", exc.message, {"WWW-Authenticate": challenge})


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error_response(
        401, "invalid_token", "Authentication required.", {"WWW-Authenticate": REALM}
    )


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(
            str(error.get("msg", "Invalid value."))
        )
    return _error_response(
        422,
        "invalid_request",
        f"Some fields are invalid: {', '.join(fields)}.",
        fields=fields,
    )


@api.exception_handler(TokenLimitReached)
def _token_limit(request: HttpRequest, exc: TokenLimitReached) -> HttpResponse:
    return _error_response(409, "token_limit_reached", " ".join(exc.messages))


@api.exception_handler(ValidationError)
def _invalid_for_service(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return _error_response(
        422,
        "invalid_request",
        " ".join(exc.messages),
        fields={k: list(v) for k, v in fields.items()},
    )


@api.exception_handler(NotPermitted)
def _not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
    return _error_response(403, "forbidden", str(exc))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # e.g. a body that is not JSON
        return _error_response(400, "invalid_request", "The request body is not valid JSON.")
    return _error_response(exc.status_code, "error", str(exc))


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return _error_response(400, "invalid_request", "The request could not be read.")


@api.exception_handler(Http404)
def _http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _api_error(request, not_found())


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return _error_response(
        500, "server_error", "Something went wrong on our side. Please try again later."
    )


# --------------------------------------------------------------------------- schemas
# They document the answers in OpenAPI; tests check real answers against them.

T = TypeVar("T")


class ErrorOut(Schema):
    error: str
    message: str


class ScopeErrorOut(ErrorOut):
    required_scope: str


class InvalidOut(ErrorOut):
    fields: dict[str, list[str]]


class Pagination(Schema):
    current_page: int
    per_page: int
    total_entries: int
    total_pages: int


class Data(Schema, Generic[T]):
    data: T


class Page(Schema, Generic[T]):
    data: list[T]
    pagination: Pagination


class AccountOut(Schema):
    id: int
    slug: str
    name: str
    plan: str


class UserOut(Schema):
    id: int
    email: str
    name: str


class TokenOut(Schema):
    id: int
    name: str
    type: Literal["user", "automation"]
    role: str | None = Field(description="Automation tokens: their role; user tokens: null.")
    account: AccountOut | None
    user: UserOut | None
    scopes: list[str]
    resources: dict[str, Literal["all"] | list[int]]
    tls_access: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    display: str


class CreatedTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown this once: store it now.")


class WhoamiOut(Schema):
    token: TokenOut
    user: UserOut | None
    account: AccountOut | None


class BillingOut(Schema):
    account: AccountOut
    plan: str
    monthly_price: int
    currency: str
    billing_email: str


class ZoneOut(Schema):
    id: int
    name: str
    record_count: int
    created_at: datetime


class RecordOut(Schema):
    id: int
    zone_id: int
    name: str
    type: str
    content: str
    ttl: int
    priority: int | None
    created_at: datetime


class DomainOut(Schema):
    id: int
    name: str
    registered_at: datetime
    expires_at: datetime
    auto_renew: bool


class CertificateOut(Schema):
    id: int
    name: str
    issuer: str
    issued_at: datetime
    expires_at: datetime


class ServiceOut(Schema):
    id: int
    name: str
    hostname: str
    origin: str
    default_ttl: int
    created_at: datetime
    updated_at: datetime


class PurgeOut(Schema):
    id: int
    service_id: int
    kind: str
    value: str
    created_at: datetime


class TokenCreateIn(Schema):
    name: str
    scopes: list[str] = Field(default=["global"], description='Defaults to ["global"].')
    resources: dict[str, str | list[int]] | None = Field(
        default=None, description='Per type "all" or a list of ids; defaults to all.'
    )
    expires_at: datetime | None = Field(
        default=None, description="ISO-8601 with a time zone; null: never; omitted: 90 days."
    )


class RecordIn(Schema):
    type: str
    name: str = Field(default="", description='Relative to the zone; "" or "@" for the apex.')
    content: str
    ttl: int = 3600
    priority: int | None = None


class DomainIn(Schema):
    name: str
    auto_renew: bool = False


class ServicePatchIn(Schema):
    name: str | None = None
    hostname: str | None = None
    origin: str | None = None
    default_ttl: int | None = None


class PurgeIn(Schema):
    url: str | None = None
    surrogate_key: str | None = None


ERRORS = {401: ErrorOut, 404: ErrorOut, 429: ErrorOut}
ACCOUNT_ERRORS = {**ERRORS, 403: ScopeErrorOut, 422: InvalidOut}


# --------------------------------------------------------------------------- JSON


def _json(payload: Any) -> bytes:
    """JSON bytes; datetimes as RFC 3339 in UTC with "Z" (orjson: the API's hot path
    spends a quarter of its budget in json.dumps otherwise)."""
    return orjson.dumps(payload, option=orjson.OPT_UTC_Z)


def _ok(data: Any, status: int = 200, **beside: Any) -> HttpResponse:
    """A success answer; never cached (tokens, and once a secret, travel in API answers)."""
    response = HttpResponse(
        _json({"data": data, **beside}), status=status, content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    return response


def _account_json(account: Account | AccountAccess) -> dict[str, Any]:
    return {"id": account.id, "slug": account.slug, "name": account.name, "plan": account.plan}


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.pk, "email": user.email, "name": user.name}


def _token_json(token: Token, selections: dict[Kind, list[int]] | None = None) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "type": token.type,
        "role": token.role or None,
        "account": _account_json(token.account) if token.account_id else None,
        "user": _user_json(token.user) if token.user_id else None,
        "scopes": [scope for scope in SCOPES if scope in token.scopes],
        "resources": selectors.token_resources_json(token, selections),
        "tls_access": token.tls_access,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "last_used_ip": token.last_used_ip,
        "display": token.display,
    }


_KIND_NAMES = tuple((kind, str(kind)) for kind in Kind)


@functools.lru_cache(maxsize=1024)
def _ordered_scopes(scopes: frozenset[str]) -> tuple[str, ...]:
    return tuple(scope for scope in SCOPES if scope in scopes)


_ALL_RESOURCES = dict.fromkeys((name for _, name in _KIND_NAMES), "all")  # never mutated


def _principal_json(
    principal: Principal, account: dict[str, Any] | None, user: dict[str, Any] | None
) -> dict[str, Any]:
    """The authenticated token's JSON straight from the auth row (no model instances)."""
    grant = principal.grant
    all_kinds = grant.all_kinds
    if len(all_kinds) == len(_KIND_NAMES):
        resources = _ALL_RESOURCES
    else:
        partial = [kind for kind in Kind if kind not in all_kinds]
        selected = selectors.token_selections(token_ids=[principal.token_id], kinds=partial)
        mine = selected.get(principal.token_id, {})
        resources = {
            name: "all" if kind in all_kinds else mine.get(kind, []) for kind, name in _KIND_NAMES
        }
    return {
        "id": principal.token_id,
        "name": principal.name,
        "type": principal.token_type,
        "role": principal.role or None,
        "account": account,
        "user": user,
        "scopes": _ordered_scopes(grant.scopes),
        "resources": resources,
        "tls_access": grant.tls_access,
        "created_at": principal.created_at,
        "expires_at": grant.expires_at,
        "last_used_at": principal.last_used_at,
        "last_used_ip": principal.last_used_ip,
        "display": principal.display,
    }


def _principal_user(principal: Principal) -> dict[str, Any] | None:
    if principal.user_id is None:
        return None
    return {"id": principal.user_id, "email": principal.user_email, "name": principal.user_name}


def _zone_json(zone: Zone) -> dict[str, Any]:
    return {
        "id": zone.pk,
        "name": zone.name,
        "record_count": zone.record_count,
        "created_at": zone.created_at,
    }


def _record_json(record: Record) -> dict[str, Any]:
    return {
        "id": record.pk,
        "zone_id": record.zone_id,
        "name": record.name,
        "type": record.type,
        "content": record.content,
        "ttl": record.ttl,
        "priority": record.priority,
        "created_at": record.created_at,
    }


def _domain_json(domain: Domain) -> dict[str, Any]:
    return {
        "id": domain.pk,
        "name": domain.name,
        "registered_at": domain.registered_at,
        "expires_at": domain.expires_at,
        "auto_renew": domain.auto_renew,
    }


def _certificate_json(certificate: Certificate) -> dict[str, Any]:
    return {
        "id": certificate.pk,
        "name": certificate.name,
        "issuer": certificate.issuer,
        "issued_at": certificate.issued_at,
        "expires_at": certificate.expires_at,
    }


def _service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.pk,
        "name": service.name,
        "hostname": service.hostname,
        "origin": service.origin,
        "default_ttl": service.default_ttl,
        "created_at": service.created_at,
        "updated_at": service.updated_at,
    }


def _paginate(queryset: QuerySet, page: int, per_page: int) -> tuple[list, dict[str, int]]:
    """One page of `queryset` and its pagination; no COUNT query when the page tells the total."""
    offset = (page - 1) * per_page
    rows = list(queryset[offset : offset + per_page])
    if (rows and len(rows) < per_page) or (page == 1 and not rows):
        total = offset + len(rows)
    else:
        total = queryset.count()
    return rows, {
        "current_page": page,
        "per_page": per_page,
        "total_entries": total,
        "total_pages": max(1, math.ceil(total / per_page)),
    }


def _page(queryset: QuerySet, page: int, per_page: int, to_json: Any) -> HttpResponse:
    rows, pagination = _paginate(queryset, page, per_page)
    return _ok([to_json(row) for row in rows], pagination=pagination)


# --------------------------------------------------------------------------- authorization


def _principal(request: HttpRequest) -> Principal:
    return request.auth  # set by BearerToken


def _actor(principal: Principal) -> Actor:
    owner = None
    if principal.user_id is not None:
        owner = User(pk=principal.user_id, email=principal.user_email, name=principal.user_name)
    return Actor.api_token(
        token_id=principal.token_id,
        token_type=principal.token_type,
        owner=owner,
        label=f"Token “{principal.name}” ({principal.display})",
        ip=principal.client_ip if principal.client_ip != "0.0.0.0" else None,  # noqa: S104
    )


def authorize(
    request: HttpRequest, account_id: int, operation: str, resource_id: int | None = None
) -> AccountAccess:
    """The account if the token may perform `operation` there (on `resource_id`).

    Raises 404 when the token does not act in the account or the resource is
    outside its selection, 403 insufficient_scope when its role or scopes fall short.
    """
    principal = _principal(request)
    access = account_access(principal, account_id)
    if access is None:
        raise not_found()
    grant: Grant = principal.grant
    kind = OPERATION_KIND.get(operation)
    if resource_id is not None and kind is not None and not selection_is_total(grant, kind):
        ids = selectors.token_selection_ids(token_id=principal.token_id, kind=kind)
        grant = replace(grant, selections={**grant.selections, kind: ids})
    decision = decide(
        grant,
        role=access.role,
        operation=operation,
        resource_id=resource_id,
        now=timezone.now(),
        client_ip=principal.client_ip,
    )
    if decision.outcome in (Outcome.ROLE, Outcome.SCOPE):
        raise insufficient_scope(operation)
    if decision.outcome is Outcome.INACTIVE:
        raise AuthenticationFailed("The token may not be used now.", credentials_sent=True)
    if not decision.allowed:
        raise not_found()
    return access


def _visible(queryset: QuerySet, principal: Principal, kind: Kind) -> QuerySet:
    """Filter a list to the token's selection of `kind` (in SQL), unless it has them all."""
    if selection_is_total(principal.grant, kind):
        return queryset
    return queryset.filter(
        id__in=selectors.token_selection_subquery(token_id=principal.token_id, kind=kind)
    )


def _one(queryset: QuerySet, **lookup: Any) -> Any:
    found = queryset.filter(**lookup).first()
    if found is None:
        raise not_found()
    return found


# --------------------------------------------------------------------------- tokens


def _whoami(principal: Principal) -> HttpResponse:
    account = None
    if principal.account_id is not None:
        access = account_access(principal, principal.account_id)
        account = _account_json(access) if access else None
    user = _principal_user(principal)
    return _ok(
        {"token": _principal_json(principal, account, user), "user": user, "account": account}
    )


@api.get("/whoami", response={200: Data[WhoamiOut], **ERRORS}, tags=["tokens"])
def whoami(request: HttpRequest) -> HttpResponse:
    """The token making the request, its owner (user tokens) or account (automation tokens)."""
    return _whoami(_principal(request))


def whoami_view(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/whoami without ninja's per-request machinery (config/urls.py routes it).

    The API's hottest route; SPEC 10 allows it 25% over /healthz and ninja's
    dispatch alone costs about half of that (see bench/run.py). Same
    authentication, same answers and errors as the `whoami` operation above,
    which documents it in OpenAPI.
    """
    try:
        if request.method not in ("GET", "HEAD"):
            return _error_response(405, "method_not_allowed", "Use GET.", {"Allow": "GET, HEAD"})
        try:
            principal = authenticate(request)
        except AuthenticationFailed as failed:
            return _authentication_failed(request, failed)
        return _whoami(principal)
    except Exception as exc:  # never a stack trace, as for every other route
        return _unexpected(request, exc)


whoami_view.csrf_exempt = True  # bearer-authenticated: no cookies, no CSRF


@api.get("/tokens/self", response={200: Data[TokenOut], **ERRORS}, tags=["tokens"])
def token_self(request: HttpRequest) -> HttpResponse:
    """The token making the request."""
    principal = _principal(request)
    token = _one(Token.objects.select_related("user", "account"), pk=principal.token_id)
    return _ok(_token_json(token))


@api.delete("/tokens/self", response={204: None, **ERRORS}, tags=["tokens"])
def token_self_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke the token making the request. It stops working at once."""
    principal = _principal(request)
    token = _one(Token.objects.select_related("user", "account"), pk=principal.token_id)
    token_revoke(actor=_actor(principal), token=token, revoked_by="self")
    return HttpResponse(status=204)


@api.get("/tokens", response={200: Page[TokenOut], **ERRORS}, tags=["tokens"])
def tokens_list(
    request: HttpRequest,
    page: int = Query(1, ge=1, le=100_000),
    per_page: int = Query(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE),
) -> HttpResponse:
    """The caller's tokens: every user token of a user token's owner; an automation token itself."""
    principal = _principal(request)
    if principal.user_id is not None and not principal.is_automation:
        tokens = selectors.tokens_owned_by(user_id=principal.user_id)
    else:
        tokens = Token.objects.filter(pk=principal.token_id).select_related("user", "account")
    rows, pagination = _paginate(tokens, page, per_page)
    selections = selectors.token_selections(
        token_ids=[token.pk for token in rows if not all(token.has_all(k) for k in Kind)]
    )
    data = [_token_json(token, selections.get(token.pk, {})) for token in rows]
    return _ok(data, pagination=pagination)


@api.post(
    "/tokens",
    auth=EmailPassword(),
    response={
        201: Data[CreatedTokenOut],
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        422: InvalidOut,
        429: ErrorOut,
    },
    tags=["tokens"],
)
def tokens_create(request: HttpRequest, payload: TokenCreateIn) -> HttpResponse:
    """Create a user token for the person whose email and password are sent (HTTP Basic).

    Refused (403) when an account of the person enforces single sign-on or
    two-factor authentication: create the token in the control panel instead.
    """
    user: User = request.auth
    strict = list(
        Account.objects.filter(memberships__user=user)
        .filter(Q(force_sso=True) | Q(require_2fa=True))
        .values_list("name", flat=True)
    )
    if strict:
        raise ApiError(
            403,
            "forbidden",
            f"{', '.join(strict)} requires single sign-on or two-factor authentication: "
            "create tokens in the control panel.",
        )
    options: dict[str, Any] = {}
    if "expires_at" in payload.model_fields_set:
        options["expires_at"] = payload.expires_at
    created = token_create(
        actor=Actor.person(user, ip=client_ip(request)),
        token_type=TokenType.USER,
        name=payload.name,
        owner=user,
        scopes=payload.scopes,
        resources=payload.resources,
        **options,
    )
    token = Token.objects.select_related("user", "account").get(pk=created.token.pk)
    return _ok({**_token_json(token), "token": created.secret}, status=201)


@api.delete(
    "/tokens/{id:token_id}", response={204: None, **ERRORS, 403: ScopeErrorOut}, tags=["tokens"]
)
def token_revoke_one(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke a token: the caller's own, or (superusers, `global` scope) one in their account."""
    principal = _principal(request)
    token = _one(Token.objects.select_related("user", "account"), pk=token_id)
    actor = _actor(principal)
    if token.pk == principal.token_id:
        token_revoke(actor=actor, token=token, revoked_by="self")
        return HttpResponse(status=204)
    if (
        not principal.is_automation
        and token.type == TokenType.USER
        and token.user_id == principal.user_id
    ):
        token_revoke(actor=actor, token=token, revoked_by="owner")
        return HttpResponse(status=204)
    if token.type == TokenType.AUTOMATION:
        account_ids = [token.account_id]
    elif principal.is_automation:
        account_ids = [principal.account_id] if principal.account_id else []
    else:
        account_ids = list(
            Membership.objects.filter(user_id=token.user_id).values_list("account_id", flat=True)
        )
    for account_id in account_ids:
        access = account_access(principal, account_id)
        if access is None:
            continue
        decision = decide(
            principal.grant,
            role=access.role,
            operation="manage_tokens",
            now=timezone.now(),
            client_ip=principal.client_ip,
        )
        if decision.outcome is Outcome.SCOPE:
            raise insufficient_scope("manage_tokens")
        if decision.allowed:
            token_revoke(
                actor=actor,
                token=token,
                revoked_by="superuser",
                account=Account.objects.get(pk=access.id),
            )
            return HttpResponse(status=204)
    raise not_found()


# --------------------------------------------------------------------------- accounts

ACCOUNT = "/accounts/{id:account_id}"


@api.get("/accounts", response={200: Data[list[AccountOut]], **ERRORS}, tags=["accounts"])
def accounts_list(request: HttpRequest) -> HttpResponse:
    """The accounts the token acts in."""
    principal = _principal(request)
    if principal.is_automation:
        accounts = Account.objects.filter(pk=principal.account_id)
    else:
        accounts = Account.objects.filter(memberships__user_id=principal.user_id)
    rows = accounts.order_by("name", "id").values("id", "slug", "name", "plan")
    return _ok(list(rows))


@api.get(
    ACCOUNT + "/billing", response={200: Data[BillingOut], **ACCOUNT_ERRORS}, tags=["accounts"]
)
def billing(request: HttpRequest, account_id: int) -> HttpResponse:
    """The account's plan, price and billing contact (`billing:read`)."""
    access = authorize(request, account_id, "billing:read")
    billing_email = Account.objects.filter(pk=access.id).values_list("billing_email", flat=True)
    return _ok(
        {
            "account": _account_json(access),
            "plan": access.plan,
            "monthly_price": PLAN_MONTHLY_PRICE_USD[access.plan],
            "currency": "USD",
            "billing_email": billing_email.first() or "",
        }
    )


# --------------------------------------------------------------------------- zones and records

PAGE = Query(1, ge=1, le=100_000, description="Page number, from 1.")
PER_PAGE = Query(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE, description="At most 100.")


@api.get(ACCOUNT + "/zones", response={200: Page[ZoneOut], **ACCOUNT_ERRORS}, tags=["zones"])
def zones_list(
    request: HttpRequest, account_id: int, page: int = PAGE, per_page: int = PER_PAGE
) -> HttpResponse:
    """The account's DNS zones the token may see (`zones:read`)."""
    access = authorize(request, account_id, "zones:read")
    zones = Zone.objects.filter(account_id=access.id).annotate(record_count=Count("records"))
    zones = _visible(zones.order_by("name", "id"), _principal(request), Kind.ZONES)
    return _page(zones, page, per_page, _zone_json)


def _zone(request: HttpRequest, account_id: int, zone_id: int, operation: str) -> Zone:
    access = authorize(request, account_id, operation, zone_id)
    zones = Zone.objects.select_related("account").annotate(record_count=Count("records"))
    return _one(zones, pk=zone_id, account_id=access.id)


@api.get(
    ACCOUNT + "/zones/{id:zone_id}", response={200: Data[ZoneOut], **ACCOUNT_ERRORS}, tags=["zones"]
)
def zone_get(request: HttpRequest, account_id: int, zone_id: int) -> HttpResponse:
    """One DNS zone (`zones:read`)."""
    return _ok(_zone_json(_zone(request, account_id, zone_id, "zones:read")))


@api.get(
    ACCOUNT + "/zones/{id:zone_id}/records",
    response={200: Page[RecordOut], **ACCOUNT_ERRORS},
    tags=["zones"],
)
def records_list(
    request: HttpRequest, account_id: int, zone_id: int, page: int = PAGE, per_page: int = PER_PAGE
) -> HttpResponse:
    """A zone's DNS records (`zones:read`)."""
    zone = _zone(request, account_id, zone_id, "zones:read")
    records = Record.objects.filter(zone=zone).order_by("name", "type", "id")
    return _page(records, page, per_page, _record_json)


@api.post(
    ACCOUNT + "/zones/{id:zone_id}/records",
    response={201: Data[RecordOut], **ACCOUNT_ERRORS},
    tags=["zones"],
)
def record_create(
    request: HttpRequest, account_id: int, zone_id: int, payload: RecordIn
) -> HttpResponse:
    """Add a DNS record to a zone (`zones:write`)."""
    zone = _zone(request, account_id, zone_id, "zones:write")
    record = account_services.record_create(
        actor=_actor(_principal(request)),
        zone=zone,
        type=payload.type,
        name=payload.name,
        content=payload.content,
        ttl=payload.ttl,
        priority=payload.priority,
    )
    return _ok(_record_json(record), status=201)


@api.delete(
    ACCOUNT + "/zones/{id:zone_id}/records/{id:record_id}",
    response={204: None, **ACCOUNT_ERRORS},
    tags=["zones"],
)
def record_delete(
    request: HttpRequest, account_id: int, zone_id: int, record_id: int
) -> HttpResponse:
    """Delete a DNS record (`zones:write`)."""
    zone = _zone(request, account_id, zone_id, "zones:write")
    record = _one(Record.objects.all(), pk=record_id, zone_id=zone.pk)
    record.zone = zone
    account_services.record_delete(actor=_actor(_principal(request)), record=record)
    return HttpResponse(status=204)


# --------------------------------------------------------------------------- domains


@api.get(ACCOUNT + "/domains", response={200: Page[DomainOut], **ACCOUNT_ERRORS}, tags=["domains"])
def domains_list(
    request: HttpRequest, account_id: int, page: int = PAGE, per_page: int = PER_PAGE
) -> HttpResponse:
    """The account's domains the token may see (`domains:read`)."""
    access = authorize(request, account_id, "domains:read")
    domains = Domain.objects.filter(account_id=access.id).order_by("name", "id")
    return _page(_visible(domains, _principal(request), Kind.DOMAINS), page, per_page, _domain_json)


def _domain(request: HttpRequest, account_id: int, domain_id: int, operation: str) -> Domain:
    access = authorize(request, account_id, operation, domain_id)
    return _one(Domain.objects.select_related("account"), pk=domain_id, account_id=access.id)


@api.get(
    ACCOUNT + "/domains/{id:domain_id}",
    response={200: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["domains"],
)
def domain_get(request: HttpRequest, account_id: int, domain_id: int) -> HttpResponse:
    """One domain (`domains:read`)."""
    return _ok(_domain_json(_domain(request, account_id, domain_id, "domains:read")))


@api.post(ACCOUNT + "/domains", response={201: Data[DomainOut], **ACCOUNT_ERRORS}, tags=["domains"])
def domain_create(request: HttpRequest, account_id: int, payload: DomainIn) -> HttpResponse:
    """Register a domain (`domains:write` on all domains)."""
    access = authorize(request, account_id, "domains:write")
    principal = _principal(request)
    if not selection_is_total(principal.grant, Kind.DOMAINS):
        raise insufficient_scope(
            "domains:write", "Adding a domain needs a token with access to all domains."
        )
    domain = account_services.domain_create(
        actor=_actor(principal),
        account=Account.objects.get(pk=access.id),
        name=payload.name,
        auto_renew=payload.auto_renew,
    )
    return _ok(_domain_json(domain), status=201)


@api.delete(
    ACCOUNT + "/domains/{id:domain_id}", response={204: None, **ACCOUNT_ERRORS}, tags=["domains"]
)
def domain_delete(request: HttpRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Remove a domain (`domains:write`)."""
    domain = _domain(request, account_id, domain_id, "domains:write")
    account_services.domain_delete(actor=_actor(_principal(request)), domain=domain)
    return HttpResponse(status=204)


# --------------------------------------------------------------------------- registrar


@api.get(
    ACCOUNT + "/registrar/domains/{id:domain_id}",
    response={200: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def registration_get(request: HttpRequest, account_id: int, domain_id: int) -> HttpResponse:
    """A domain's registration: expiry and auto-renewal (`registrar:read`)."""
    return _ok(_domain_json(_domain(request, account_id, domain_id, "registrar:read")))


@api.post(
    ACCOUNT + "/registrar/domains/{id:domain_id}/renewals",
    response={201: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def registration_renew(request: HttpRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Renew a domain for one year (`registrar:write`)."""
    domain = _domain(request, account_id, domain_id, "registrar:write")
    domain = account_services.domain_renew(actor=_actor(_principal(request)), domain=domain)
    return _ok(_domain_json(domain), status=201)


@api.put(
    ACCOUNT + "/registrar/domains/{id:domain_id}/auto_renewal",
    response={200: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def auto_renewal_on(request: HttpRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Turn auto-renewal on (`registrar:write`)."""
    domain = _domain(request, account_id, domain_id, "registrar:write")
    domain = account_services.domain_auto_renew_set(
        actor=_actor(_principal(request)), domain=domain, enabled=True
    )
    return _ok(_domain_json(domain))


@api.delete(
    ACCOUNT + "/registrar/domains/{id:domain_id}/auto_renewal",
    response={200: Data[DomainOut], **ACCOUNT_ERRORS},
    tags=["registrar"],
)
def auto_renewal_off(request: HttpRequest, account_id: int, domain_id: int) -> HttpResponse:
    """Turn auto-renewal off (`registrar:write`)."""
    domain = _domain(request, account_id, domain_id, "registrar:write")
    domain = account_services.domain_auto_renew_set(
        actor=_actor(_principal(request)), domain=domain, enabled=False
    )
    return _ok(_domain_json(domain))


# --------------------------------------------------------------------------- certificates


@api.get(
    ACCOUNT + "/certificates",
    response={200: Page[CertificateOut], **ACCOUNT_ERRORS},
    tags=["certificates"],
)
def certificates_list(
    request: HttpRequest, account_id: int, page: int = PAGE, per_page: int = PER_PAGE
) -> HttpResponse:
    """The account's TLS certificates the token may see (`certificates:read`)."""
    access = authorize(request, account_id, "certificates:read")
    certificates = Certificate.objects.filter(account_id=access.id).order_by("name", "id")
    certificates = _visible(certificates, _principal(request), Kind.CERTIFICATES)
    return _page(certificates, page, per_page, _certificate_json)


def _certificate(
    request: HttpRequest, account_id: int, certificate_id: int, operation: str
) -> Certificate:
    access = authorize(request, account_id, operation, certificate_id)
    return _one(
        Certificate.objects.select_related("account"), pk=certificate_id, account_id=access.id
    )


@api.get(
    ACCOUNT + "/certificates/{id:certificate_id}",
    response={200: Data[CertificateOut], **ACCOUNT_ERRORS},
    tags=["certificates"],
)
def certificate_get(request: HttpRequest, account_id: int, certificate_id: int) -> HttpResponse:
    """One TLS certificate (`certificates:read`)."""
    certificate = _certificate(request, account_id, certificate_id, "certificates:read")
    return _ok(_certificate_json(certificate))


@api.post(
    ACCOUNT + "/certificates/{id:certificate_id}/renewals",
    response={201: Data[CertificateOut], **ACCOUNT_ERRORS},
    tags=["certificates"],
)
def certificate_renew(request: HttpRequest, account_id: int, certificate_id: int) -> HttpResponse:
    """Reissue a certificate for 90 more days (`certificates:write`, or TLS management)."""
    certificate = _certificate(request, account_id, certificate_id, "certificates:write")
    certificate = account_services.certificate_renew(
        actor=_actor(_principal(request)), certificate=certificate
    )
    return _ok(_certificate_json(certificate), status=201)


# --------------------------------------------------------------------------- services


@api.get(
    ACCOUNT + "/services", response={200: Page[ServiceOut], **ACCOUNT_ERRORS}, tags=["services"]
)
def services_list(
    request: HttpRequest, account_id: int, page: int = PAGE, per_page: int = PER_PAGE
) -> HttpResponse:
    """The account's CDN services the token may see (`services:read`)."""
    access = authorize(request, account_id, "services:read")
    services = Service.objects.filter(account_id=access.id).order_by("name", "id")
    return _page(
        _visible(services, _principal(request), Kind.SERVICES), page, per_page, _service_json
    )


def _service(request: HttpRequest, account_id: int, service_id: int, operation: str) -> Service:
    access = authorize(request, account_id, operation, service_id)
    return _one(Service.objects.select_related("account"), pk=service_id, account_id=access.id)


@api.get(
    ACCOUNT + "/services/{id:service_id}",
    response={200: Data[ServiceOut], **ACCOUNT_ERRORS},
    tags=["services"],
)
def service_get(request: HttpRequest, account_id: int, service_id: int) -> HttpResponse:
    """One CDN service (`services:read`)."""
    return _ok(_service_json(_service(request, account_id, service_id, "services:read")))


@api.patch(
    ACCOUNT + "/services/{id:service_id}",
    response={200: Data[ServiceOut], **ACCOUNT_ERRORS},
    tags=["services"],
)
def service_update(
    request: HttpRequest, account_id: int, service_id: int, payload: ServicePatchIn
) -> HttpResponse:
    """Change a service's name, hostname, origin or default TTL (`services:write`)."""
    service = _service(request, account_id, service_id, "services:write")
    sent = payload.model_fields_set
    nulls = sorted(field for field in sent if getattr(payload, field) is None)
    if nulls or not sent:
        fields = {field: ["May not be null."] for field in nulls} or {
            "__all__": ["Send at least one of name, hostname, origin, default_ttl."]
        }
        raise ValidationError(fields)
    service = account_services.service_update(
        actor=_actor(_principal(request)), service=service, **payload.model_dump(exclude_unset=True)
    )
    return _ok(_service_json(service))


def _purge_json(purge: Any) -> dict[str, Any]:
    return {
        "id": purge.pk,
        "service_id": purge.service_id,
        "kind": purge.kind,
        "value": purge.value,
        "created_at": purge.created_at,
    }


@api.post(
    ACCOUNT + "/services/{id:service_id}/purge",
    response={202: Data[PurgeOut], **ACCOUNT_ERRORS},
    tags=["services"],
)
def service_purge(
    request: HttpRequest, account_id: int, service_id: int, payload: PurgeIn
) -> HttpResponse:
    """Purge a URL or a surrogate key from a service's cache (`purge_select`)."""
    service = _service(request, account_id, service_id, "purge_select")
    purge = account_services.service_purge(
        actor=_actor(_principal(request)),
        service=service,
        url=payload.url,
        surrogate_key=payload.surrogate_key,
    )
    return _ok(_purge_json(purge), status=202)


@api.post(
    ACCOUNT + "/services/{id:service_id}/purge_all",
    response={202: Data[PurgeOut], **ACCOUNT_ERRORS},
    tags=["services"],
)
def service_purge_all(request: HttpRequest, account_id: int, service_id: int) -> HttpResponse:
    """Purge everything a service has cached (`purge_all`)."""
    service = _service(request, account_id, service_id, "purge_all")
    purge = account_services.service_purge_all(actor=_actor(_principal(request)), service=service)
    return _ok(_purge_json(purge), status=202)


# --------------------------------------------------------------------------- anything else


@api.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
)
def unknown_route(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /api/v1/: a JSON 404, like every other error."""
    raise not_found()


def _method_not_allowed(path_view: Any) -> HttpResponse:
    allowed = sorted({method for operation in path_view.operations for method in operation.methods})
    return _error_response(
        405,
        "method_not_allowed",
        f"Use {', '.join(allowed)} on this path.",
        {"Allow": ", ".join(allowed)},
    )


for _path_view in api.default_router.path_operations.values():
    # Summaries in the docs: each operation's first docstring line, not its function name.
    for _operation in _path_view.operations:
        _doc = (_operation.view_func.__doc__ or "").strip()
        if _doc:
            _operation.summary = _doc.splitlines()[0].rstrip(".")

# A wrong method answers JSON like every other error (ninja's own answer is plain text).
# The routes are served by the bound copies ninja makes of each path (cached, so
# the URLs use these same objects); tests/tokens/test_api.py checks the answer.
for _bound_router in api._get_bound_routers():
    for _path_view in _bound_router.path_operations.values():
        _path_view._not_allowed = functools.partial(_method_not_allowed, _path_view)
