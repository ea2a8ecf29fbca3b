"""What the API answers besides success, as its OpenAPI document states it (SPEC 7).

Each error status of a route has one schema here, whose `error` lists the codes
(tokens.api.errors.ErrorCode) that status can carry on that route, and whose
`HEADERS` are the headers it comes with. Routes declare them in groups:
`response={200: Data[ZoneOut], **ACCOUNT_ERRORS}`; what every route can answer
(405, 503) and the headers of every answer are added by tokens.api.openapi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ninja import Schema
from pydantic import Field

from tokens.api.access import ACCEPTED_SCOPES_HEADER
from tokens.api.errors import ErrorCode
from tokens.permissions import Scope
from tokens.policies.rules import PolicyName


@dataclass(frozen=True)
class Header:
    """A response header, as OpenAPI documents it (`key`: its name among the document's
    components, where one header name may have several meanings)."""

    key: str
    name: str
    description: str
    required: bool = True  # on every answer it is declared for

    def openapi(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "required": self.required,
            "schema": {"type": "string"},
        }


CACHE_CONTROL = Header(
    "CacheControl", "Cache-Control", "`no-store`: no answer of the API may be cached."
)
ACCEPTED_SCOPES = Header(
    "AcceptedScopes",
    ACCEPTED_SCOPES_HEADER,
    "The scopes that allow the route's operation, narrowest first (SPEC 13).",
    required=False,  # not on an answer given before the operation is known (a 401, a 422)
)
RETRY_AFTER = Header("RetryAfter", "Retry-After", "Seconds to wait before trying again.")
ALLOW = Header("Allow", "Allow", "The methods this path answers, e.g. `GET, HEAD`.")
BEARER_CHALLENGE = Header(
    "BearerChallenge",
    "WWW-Authenticate",
    '`Bearer realm="keyward"`, with `error="invalid_token"` when a token was sent.',
)
BASIC_CHALLENGE = Header(
    "BasicChallenge", "WWW-Authenticate", '`Basic realm="keyward", charset="UTF-8"`.'
)
SCOPE_CHALLENGE = Header(
    "ScopeChallenge",
    "WWW-Authenticate",
    '`Bearer realm="keyward", error="insufficient_scope", scope="<required_scope>"`.',
)
SCOPE_CHALLENGE_IF_SCOPE = Header(
    "ScopeChallengeIfScope",
    "WWW-Authenticate",
    "With `insufficient_scope`: " + SCOPE_CHALLENGE.description,
    required=False,
)


class ErrorOut(Schema):
    """An error answer (SPEC 7)."""

    error: str = Field(description="A stable code to branch on.")
    message: str = Field(description="For people: what went wrong, and what to do.")

    HEADERS: ClassVar[tuple[Header, ...]] = ()


class BadRequestOut(ErrorOut):
    """400: the body is not JSON, or the request cannot be read."""

    error: Literal[ErrorCode.INVALID_REQUEST]


class InvalidOut(ErrorOut):
    """422: fields that are missing, unknown or invalid; nothing was changed."""

    error: Literal[ErrorCode.INVALID_REQUEST]
    fields: dict[str, list[str]] = Field(description="Messages per field (`__all__`: general).")


class InvalidTokenOut(ErrorOut):
    """401: no token, or a malformed, unknown, expired or revoked one."""

    error: Literal[ErrorCode.INVALID_TOKEN]

    HEADERS = (BEARER_CHALLENGE,)


class InvalidCredentialsOut(ErrorOut):
    """401: no HTTP Basic email and password, or a wrong pair."""

    error: Literal[ErrorCode.INVALID_CREDENTIALS]

    HEADERS = (BASIC_CHALLENGE,)


class InvalidSignatureOut(ErrorOut):
    """401: a missing or bad signature, or an unknown key; nothing was revoked."""

    error: Literal[ErrorCode.INVALID_SIGNATURE]


class ScopeErrorOut(ErrorOut):
    """403: none of the token's scopes allows this."""

    error: Literal[ErrorCode.INSUFFICIENT_SCOPE]
    required_scope: Scope = Field(description="The narrowest scope that would allow it.")

    HEADERS = (SCOPE_CHALLENGE,)


class AccountForbiddenOut(ErrorOut):
    """403 on an account: `insufficient_scope`, or `policy_violation` (SPEC 15)."""

    error: Literal[ErrorCode.INSUFFICIENT_SCOPE, ErrorCode.POLICY_VIOLATION]
    required_scope: Scope | None = Field(
        None, description="insufficient_scope: the narrowest scope that would allow it."
    )
    policy: PolicyName | None = Field(
        None, description="policy_violation: the account's policy the token breaks."
    )

    HEADERS = (SCOPE_CHALLENGE_IF_SCOPE,)


class RecordForbiddenOut(AccountForbiddenOut):
    """403 on a DNS record: as on any account route, or `record_not_allowed` (SPEC 14)."""

    error: Literal[  # type: ignore[assignment]
        ErrorCode.INSUFFICIENT_SCOPE, ErrorCode.POLICY_VIOLATION, ErrorCode.RECORD_NOT_ALLOWED
    ]


class PasswordForbiddenOut(ErrorOut):
    """403: the person has a second factor, which the API cannot ask for
    (`two_factor_required`), or an account of theirs enforces single sign-on or
    two-factor authentication (`forbidden`)."""

    error: Literal[ErrorCode.TWO_FACTOR_REQUIRED, ErrorCode.FORBIDDEN]


class ExchangeForbiddenOut(ErrorOut):
    """403: the trusted publisher matched, but its grant no longer fits the account (a policy
    `policy_violation`, or a role or resource `invalid_grant`); nothing was minted."""

    error: Literal[ErrorCode.POLICY_VIOLATION, ErrorCode.INVALID_GRANT]


class NotFoundOut(ErrorOut):
    """404: no such resource or account, or the token cannot act on it (not revealed which)."""

    error: Literal[ErrorCode.NOT_FOUND]


class MethodNotAllowedOut(ErrorOut):
    """405: the path exists, not with this method."""

    error: Literal[ErrorCode.METHOD_NOT_ALLOWED]

    HEADERS = (ALLOW,)


class TokenLimitOut(ErrorOut):
    """409: 100 active tokens already (SPEC 9)."""

    error: Literal[ErrorCode.TOKEN_LIMIT_REACHED]


class RateLimitedOut(ErrorOut):
    """429: too many requests; wait `Retry-After` seconds."""

    error: Literal[ErrorCode.RATE_LIMITED]

    HEADERS = (RETRY_AFTER,)


class UnavailableOut(ErrorOut):
    """503: the database cannot be reached; try again after `Retry-After` seconds."""

    error: Literal[ErrorCode.UNAVAILABLE]

    HEADERS = (RETRY_AFTER,)


# --------------------------------------------------------------------------- per route

Responses = dict[int, Any]

# Every route of the API, whatever it is: tokens.api.openapi adds these to each.
EVERY_ROUTE: Responses = {405: MethodNotAllowedOut, 503: UnavailableOut}
# Every route that takes a bearer token.
ERRORS: Responses = {401: InvalidTokenOut, 404: NotFoundOut, 429: RateLimitedOut}
# Every route that reads a JSON body.
BODY_ERRORS: Responses = {400: BadRequestOut, 422: InvalidOut}
# Every route of an account (`/accounts/{account_id}/...`): authorize() refuses with 403.
ACCOUNT_ERRORS: Responses = {**ERRORS, 403: AccountForbiddenOut, 422: InvalidOut}
# Writes to DNS records, which the token's record rules may refuse.
RECORD_ERRORS: Responses = {**ACCOUNT_ERRORS, 403: RecordForbiddenOut}
# POST /tokens, with HTTP Basic email and password.
PASSWORD_ERRORS: Responses = {
    401: InvalidCredentialsOut,
    403: PasswordForbiddenOut,
    409: TokenLimitOut,
    429: RateLimitedOut,
}
