"""Leak reports (SPEC 12): no bearer token, since whoever finds a secret should kill it.

`POST /credentials/revoke` takes anyone's list of strings (rate limited per client
IP) and never says which were live; `POST /secret-scanning/github` takes GitHub's
signed alerts and labels each item, naming it by its hash: never echo a secret.
Both revoke through tokens.leaks.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import orjson
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from accounts.http import client_ip
from accounts.ratelimit import Limit, count_attempt
from tokens.api.answers import BODY_ERRORS, InvalidSignatureOut, RateLimitedOut
from tokens.api.errors import ErrorCode, error_response, repeated_key
from tokens.api.parser import RepeatedKeyError, json_loads
from tokens.api.responses import ok
from tokens.api.schemas import Data, StrictIn, Text
from tokens.constants import MAX_REPORTED_CREDENTIALS
from tokens.leaks.github import github_alerts, github_signature_valid
from tokens.leaks.services import Finding, credentials_revoke_later, live_tokens

router = Router(tags=["leak response"], auth=None)

REPORTS_PER_IP = Limit("credential-reports", 60, 60 * 60)


class CredentialsIn(StrictIn):
    credentials: Annotated[list[Text], Field(min_length=1, max_length=MAX_REPORTED_CREDENTIALS)] = (
        Field(description="1 to 1000 strings that may be Keyward secrets.")
    )


class ReceivedOut(Schema):
    received: int


class AlertResultOut(Schema):
    """GitHub's feedback format, with the token's hash: the secret is never echoed."""

    token_hash: str = Field(description="SHA-256 of the token as sent, in lower-case hex.")
    token_type: str = Field(description="The `type` of the alert item.")
    label: Literal["true_positive", "false_positive"] = Field(
        description="`true_positive`: a live Keyward secret, now revoked."
    )


def token_hash(token: str) -> str:
    """How GitHub's feedback names a token without its secret: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@router.post(
    "/credentials/revoke",
    response={202: Data[ReceivedOut], 429: RateLimitedOut, **BODY_ERRORS},
)
def credentials_report(request: HttpRequest, payload: CredentialsIn) -> HttpResponse:
    """Report leaked secrets: every live Keyward secret among them is revoked within seconds.

    No authentication. Always 202 with the number of strings received, whatever
    they are: the answer never says which were valid. 60 requests per hour per IP.
    """
    wait = count_attempt((REPORTS_PER_IP, client_ip(request) or "unknown"))
    if wait:
        return error_response(
            429,
            ErrorCode.RATE_LIMITED,
            "Too many reports from this address; try again later.",
            {"Retry-After": str(wait)},
        )
    credentials_revoke_later(credentials=payload.credentials)
    return ok({"received": len(payload.credentials)}, status=202)


_GITHUB_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string"} for name in ("token", "type", "url", "source")
                        },
                        "required": ["token"],
                    },
                }
            }
        },
    },
    "parameters": [
        {"in": "header", "name": name, "required": True, "schema": {"type": "string"}}
        for name in ("Github-Public-Key-Identifier", "Github-Public-Key-Signature")
    ],
}


@router.post(
    "/secret-scanning/github",
    response={200: list[AlertResultOut], 401: InvalidSignatureOut, **BODY_ERRORS},
    openapi_extra=_GITHUB_BODY,
)
def github_secret_scanning(request: HttpRequest) -> HttpResponse:
    """GitHub secret scanning partner alerts: verified, then every live secret is revoked.

    The body must be signed (ECDSA P-256, SHA-256) by a key in
    KEYWARD_SECRET_SCANNING_KEYS; otherwise 401 and nothing is revoked. Each item is
    answered with the SHA-256 of its token (`token_hash`), never the token.
    """
    body = request.body
    if not github_signature_valid(
        body,
        request.headers.get("Github-Public-Key-Identifier", ""),
        request.headers.get("Github-Public-Key-Signature", ""),
    ):
        return error_response(
            401, ErrorCode.INVALID_SIGNATURE, "Missing or bad signature, or an unknown key."
        )
    try:
        payload = orjson.loads(body)  # strict: no lone surrogates, no NaN
        json_loads(body)  # and no key twice (tokens.api.parser)
        alerts = github_alerts(payload)
    except RepeatedKeyError as repeated:
        return repeated_key(repeated)
    except ValueError:  # not JSON
        alerts = None
    if alerts is None:
        return error_response(
            422,
            ErrorCode.INVALID_REQUEST,
            "Send a JSON array of 1 to 1000 {token, type, url, source} objects.",
            fields={"body": ["Expected GitHub's alert format."]},
        )
    credentials = [alert["token"] for alert in alerts]
    found = live_tokens(credentials)  # GitHub is told which were live; they are revoked next
    live = [position in found for position in range(len(credentials))]
    credentials_revoke_later(
        credentials=credentials,
        findings=[Finding(url=alert["url"], source=alert["source"]) for alert in alerts],
        reporter="GitHub secret scanning",
    )
    results = [
        {
            "token_hash": token_hash(alert["token"]),
            "token_type": alert["type"],
            "label": "true_positive" if is_live else "false_positive",
        }
        for alert, is_live in zip(alerts, live, strict=True)
    ]
    response = HttpResponse(orjson.dumps(results), content_type="application/json")
    response["Cache-Control"] = "no-store"  # like every API answer
    return response
