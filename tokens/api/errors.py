"""ApiError and SPEC 7's error bodies and headers, and the handlers that write them.

Every error leaves the API as `{"error": CODE, "message": TEXT, ...}` with its
status and headers; the writer cannot fail (a string it cannot encode is
replaced, never raised), so no answer ever becomes Django's HTML 500 page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import orjson
from django.core.exceptions import ObjectDoesNotExist, SuspiciousOperation, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from tokens.api.parser import RepeatedKeyError
from tokens.auth.bearer import AuthenticationFailed
from tokens.permissions import required_scope
from tokens.services.common import NotPermitted, TokenLimitReached

logger = logging.getLogger(__name__)

REALM = 'Bearer realm="keyward"'


class ErrorCode(StrEnum):
    """The `error` of every error answer: stable codes a client may branch on.

    tokens.api.error_bodies documents which of them each status of each route answers.
    """

    INVALID_REQUEST = "invalid_request"  # 400, 422
    INVALID_TOKEN = "invalid_token"  # 401, bearer routes
    INVALID_CREDENTIALS = "invalid_credentials"  # 401, HTTP Basic (POST /tokens)
    INVALID_SIGNATURE = "invalid_signature"  # 401, GitHub's secret scanning alerts
    INSUFFICIENT_SCOPE = "insufficient_scope"  # 403
    POLICY_VIOLATION = "policy_violation"  # 403, an account's token policy (SPEC 15)
    RECORD_NOT_ALLOWED = "record_not_allowed"  # 403, the token's record rules (SPEC 14)
    FORBIDDEN = "forbidden"  # 403
    TWO_FACTOR_REQUIRED = "two_factor_required"  # 403, HTTP Basic for a person with 2FA
    INVALID_GRANT = "invalid_grant"  # 403, a trusted publisher's grant no longer fits (SPEC 18)
    NOT_FOUND = "not_found"  # 404
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    TOKEN_LIMIT_REACHED = "token_limit_reached"  # 409
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 500: a bug, never bad input
    UNAVAILABLE = "unavailable"  # 503: the database cannot be reached


# While the database cannot be reached, clients are asked to come back this much later.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """An answer other than success, with SPEC 7's JSON body and headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        self.extra = extra


def not_found() -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, "Not found, or the token cannot act on it.")


def insufficient_scope(operation: str, message: str | None = None) -> ApiError:
    scope = required_scope(operation)
    return ApiError(
        403,
        ErrorCode.INSUFFICIENT_SCOPE,
        message or f"None of the token's scopes allows this; it needs “{scope}”.",
        headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
        required_scope=scope,
    )


def record_not_allowed(rules_in_words: str) -> ApiError:
    """SPEC 14: a record write outside the token's record rules."""
    return ApiError(
        403,
        ErrorCode.RECORD_NOT_ALLOWED,
        f"The token may only touch {rules_in_words}.",
    )


def _printable(value: Any) -> Any:
    """`value` with every string made encodable (lone surrogates become U+FFFD)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_printable(key): _printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(item) for item in value]
    return value


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    """The JSON error answer, never stored by a cache. Never raises: unencodable text is
    replaced."""
    body = {"error": code, "message": message, **extra}
    try:
        content = orjson.dumps(body)
    except TypeError:
        content = orjson.dumps(_printable(body), default=str)
    response = HttpResponse(content, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"  # like every API answer (tokens.api.responses)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def method_not_allowed(allowed: set[str] | list[str]) -> HttpResponse:
    methods = sorted(allowed)
    return error_response(
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        f"Use {', '.join(methods)} on this path.",
        {"Allow": ", ".join(methods)},
    )


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under /api/: a JSON 404, like every other error (config/urls.py)."""
    return error_response(404, ErrorCode.NOT_FOUND, "No such API route.")


api_not_found.csrf_exempt = True  # type: ignore[attr-defined]  # no cookies, nothing changes


def json_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap one of the API's URL views so a wrong method answers JSON, with `Allow`."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = [method.strip() for method in response["Allow"].split(",")]
            if "GET" in allowed:  # HEAD is answered as GET (tokens.api.lean.head_as_get)
                allowed.append("HEAD")
            return method_not_allowed(allowed)
        return response

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]  # bearer only: no cookies
    return wrapped


# pydantic's names for where in a type it looked, not fields: a dict's `[key]`, and the
# member of a union each error comes from (`str-enum[All]`, `list[int]`).
_TYPE_TAG = re.compile(r"[a-z-]*\[.*\]")


def field_name(loc: tuple | list) -> str:
    """`body.payload.scopes.0` -> `scopes.0`: the field as the client named it."""
    parts = [str(part) for part in loc if not _TYPE_TAG.fullmatch(str(part))]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the body parameter's own name: the body itself
    return ".".join(parts) or "body"


def invalid_request(fields: Mapping[str, list[str]], message: str | None = None) -> HttpResponse:
    return error_response(
        422,
        ErrorCode.INVALID_REQUEST,
        message or f"Some fields are invalid: {', '.join(fields)}.",
        fields=dict(fields),
    )


def authentication_failed(exc: AuthenticationFailed) -> HttpResponse:
    if exc.retry_after:
        return error_response(
            429, ErrorCode.RATE_LIMITED, exc.message, {"Retry-After": str(exc.retry_after)}
        )
    challenge = f'{REALM}, error="invalid_token"' if exc.credentials_sent else REALM
    return error_response(
        401, ErrorCode.INVALID_TOKEN, exc.message, {"WWW-Authenticate": challenge}
    )


def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return error_response(
        500, ErrorCode.SERVER_ERROR, "Something went wrong on our side. Please try again later."
    )


def _unavailable(request: HttpRequest, exc: OperationalError | InterfaceError) -> HttpResponse:
    """The database cannot be reached (or gave up on the statement): 503, try again soon."""
    logger.error("Database unavailable in %s %s: %s", request.method, request.path, exc)
    return error_response(
        503,
        ErrorCode.UNAVAILABLE,
        "Keyward cannot reach its database right now. Try again in a few seconds.",
        {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)


def _authentication_failed(request: HttpRequest, exc: AuthenticationFailed) -> HttpResponse:
    return authentication_failed(exc)


def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401, ErrorCode.INVALID_TOKEN, "Authentication required.", {"WWW-Authenticate": REALM}
    )


def _invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(field_name(error.get("loc", ())), []).append(
            str(error.get("msg", "Invalid value."))
        )
    return invalid_request(fields)


def _token_limit(request: HttpRequest, exc: TokenLimitReached) -> HttpResponse:
    return error_response(409, ErrorCode.TOKEN_LIMIT_REACHED, " ".join(exc.messages))


def _invalid_for_service(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return invalid_request({k: list(v) for k, v in fields.items()}, " ".join(exc.messages))


def _not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
    return error_response(403, ErrorCode.FORBIDDEN, str(exc))


def repeated_key(exc: RepeatedKeyError) -> HttpResponse:
    """A body naming a key twice: refused, never read as its last value (tokens.api.parser)."""
    return invalid_request({exc.key: [str(exc)]}, str(exc))


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, RepeatedKeyError):  # ninja's 400 for what its parser raised
        return repeated_key(exc.__cause__)
    if exc.status_code == 400:  # a body that is not JSON
        return error_response(400, ErrorCode.INVALID_REQUEST, "The request body is not valid JSON.")
    return error_response(exc.status_code, "error", str(exc))


def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return error_response(400, ErrorCode.INVALID_REQUEST, "The request could not be read.")


def _http404(request: HttpRequest, exc: Http404 | ObjectDoesNotExist) -> HttpResponse:
    return _api_error(request, not_found())


# Every exception the API can meet, and the answer it gets (most specific first:
# ninja picks the handler of the exception's nearest class).
HANDLERS: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
    ApiError: _api_error,
    AuthenticationFailed: _authentication_failed,
    AuthenticationError: _authentication_error,
    NinjaValidationError: _invalid_input,
    TokenLimitReached: _token_limit,
    ValidationError: _invalid_for_service,
    NotPermitted: _not_permitted,
    HttpError: _http_error,
    SuspiciousOperation: _suspicious,
    Http404: _http404,  # tokens.services.common.TokenGone too: revoked during a roll or an edit
    ObjectDoesNotExist: _http404,  # a row deleted between two reads of one request
    OperationalError: _unavailable,
    InterfaceError: _unavailable,
    Exception: unexpected,
}


def handle_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The answer to `exc` from HANDLERS (its nearest class), for views outside ninja."""
    for cls in type(exc).__mro__:
        handler = HANDLERS.get(cls)
        if handler is not None:
            return handler(request, exc)
    return unexpected(request, exc)  # pragma: no cover  # Exception is in HANDLERS


def install(api: NinjaAPI) -> None:
    """Register the handler of every exception the API can meet."""
    for exception, handler in HANDLERS.items():
        api.exception_handler(exception)(handler)
