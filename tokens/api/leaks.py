"""Leak reports (SPEC 12): no bearer token, since whoever finds a secret should kill it.

`POST /credentials/revoke` takes anyone's list of strings (rate limited per client
IP) and never says which were live; `POST /secret-scanning/github` takes GitHub's
signed alerts and labels each item. Both revoke through tokens.leaks.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from accounts.http import client_ip
from accounts.ratelimit import Limit, count_attempt
from tokens.api.errors import error_response, repeated_key
from tokens.api.parser import RepeatedKeyError, json_loads
from tokens.api.responses import ok
from tokens.api.schemas import BODY_ERRORS, Data, ErrorOut, StrictIn, Text
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
    token_raw: str
    token_type: str
    label: str = Field(description='"true_positive" or "false_positive".')


@router.post(
    "/credentials/revoke",
    response={202: Data[ReceivedOut], 429: ErrorOut, **BODY_ERRORS},
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
            "rate_limited",
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
    response={200: list[AlertResultOut], 401: ErrorOut, **BODY_ERRORS},
    openapi_extra=_GITHUB_BODY,
)
def github_secret_scanning(request: HttpRequest) -> HttpResponse:
    """GitHub secret scanning partner alerts: verified, then every live secret is revoked.

    The body must be signed (ECDSA P-256, SHA-256) by a key in
    KEYWARD_SECRET_SCANNING_KEYS; otherwise 401 and nothing is revoked.
    """
    body = request.body
    if not github_signature_valid(
        body,
        request.headers.get("Github-Public-Key-Identifier", ""),
        request.headers.get("Github-Public-Key-Signature", ""),
    ):
        return error_response(
            401, "invalid_signature", "Missing or bad signature, or an unknown key."
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
            "invalid_request",
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
            "token_raw": alert["token"],
            "token_type": alert["type"],
            "label": "true_positive" if is_live else "false_positive",
        }
        for alert, is_live in zip(alerts, live, strict=True)
    ]
    return HttpResponse(orjson.dumps(results), content_type="application/json")
