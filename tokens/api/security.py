"""The API's two ways in: a bearer token (every route) and HTTP Basic (creating a token).

Bearer authentication is tokens.auth.bearer (one query, which for account routes also
reads the account named by the path and the token's role there). Basic
authentication checks the email and password with the sign-in throttles, and
refuses people whose accounts demand single sign-on or two-factor
authentication: they create tokens in the control panel.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

from django.http import HttpRequest
from ninja.security import HttpBasicAuth, HttpBearer

from accounts.models import User
from accounts.selectors import accounts_requiring_sso_or_2fa
from accounts.services.identity import (
    CredentialsRejected,
    Throttled,
    credentials_check,
    password_alone_suffices,
)
from tokens.api.errors import ApiError
from tokens.auth.bearer import authenticate
from tokens.auth.principal import Principal

MAX_BASIC_HEADER_LENGTH = 1024
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="keyward", charset="UTF-8"'}


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` (never a query string or a cookie)."""

    def __call__(self, request: HttpRequest) -> Principal:
        match = request.resolver_match
        account_id = match.kwargs.get("account_id") if match else None
        return authenticate(request, account_id)

    def authenticate(self, request: HttpRequest, token: str) -> Principal:  # pragma: no cover
        return self(request)  # ninja's hook; __call__ does the work


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.strip().partition(" ")
    try:
        if scheme.lower() != "basic" or len(header) > MAX_BASIC_HEADER_LENGTH:
            raise ValueError
        email, password = b64decode(encoded.strip(), validate=True).decode("utf-8").split(":", 1)
        if "\x00" in email or "\x00" in password:  # PostgreSQL refuses NUL in text
            raise ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            401,
            "invalid_credentials",
            "Send your email and password with HTTP Basic authentication.",
            headers=BASIC_CHALLENGE,
        ) from None
    return email, password


class EmailPassword(HttpBasicAuth):
    """HTTP Basic email and password, throttled like the sign-in page."""

    def __call__(self, request: HttpRequest) -> User:
        email, password = _basic_credentials(request)
        try:
            user = credentials_check(request=request, email=email, password=password)
        except Throttled as throttled:
            raise ApiError(
                429,
                "rate_limited",
                str(throttled),
                headers={"Retry-After": str(throttled.retry_after)},
            ) from None
        except CredentialsRejected as rejected:
            raise ApiError(
                401, "invalid_credentials", str(rejected), headers=BASIC_CHALLENGE
            ) from None
        if not password_alone_suffices(user):
            raise ApiError(
                403,
                "two_factor_required",
                "You use two-factor authentication, which the API cannot ask for: create "
                "tokens in the control panel.",
            )
        strict = accounts_requiring_sso_or_2fa(user)
        if strict:
            raise ApiError(
                403,
                "forbidden",
                f"{', '.join(strict)} requires single sign-on or two-factor authentication: "
                "create tokens in the control panel.",
            )
        return user

    def authenticate(
        self, request: HttpRequest, username: str, password: str
    ) -> User:  # pragma: no cover
        return self(request)  # ninja's hook; __call__ does the work
