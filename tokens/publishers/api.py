"""Trusted publishers in the HTTP API (SPEC 18): the exchange, and an account's publishers.

`POST /oidc/exchange` takes no bearer token: the ID token is the credential. Its refusals are
401 `invalid_token` naming the first failed check; it is rate limited per client IP.
The publishers routes are account routes for a superuser's token with `global` on all
resources (MANAGE_TOKENS, as for managing the account's tokens).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import StrictBool, StrictInt

from accounts.http import client_ip
from accounts.models import Account
from accounts.ratelimit import Limit, count_attempt
from accounts.roles import MANAGE_TOKENS
from tokens.api.access import actor, authorize, not_found, principal_of
from tokens.api.answers import (
    ACCOUNT_ERRORS,
    BODY_ERRORS,
    ExchangeForbiddenOut,
    InvalidTokenOut,
    RateLimitedOut,
)
from tokens.api.errors import REALM, error_response
from tokens.api.responses import no_content, ok
from tokens.api.schemas import (
    Data,
    Name,
    RecordRuleIn,
    RecordRuleOut,
    StrictIn,
    Text,
    TokenOut,
)
from tokens.api.security import ApiRequest
from tokens.api.tokens import row_json
from tokens.permissions import AUTOMATION_ROLES, SCOPES
from tokens.publishers.exchange import ExchangeRefused, id_token_verify
from tokens.publishers.models import DEFAULT_LIFETIME_MINUTES, Provider
from tokens.publishers.selectors import publisher_in, publishers_of
from tokens.publishers.services import (
    PublisherLimitReached,
    publisher_create,
    publisher_delete,
    publisher_json,
    publisher_token_mint,
)
from tokens.publishers.validation import publisher_input_clean
from tokens.validation import TokenValidationError

router = Router(tags=["trusted publishers"])

EXCHANGES_PER_IP = Limit("oidc-exchange", 60, 60)  # per client IP and minute
PUBLISHERS = "/accounts/{id:account_id}/publishers"

# --------------------------------------------------------------------------- schemas

ConditionValue = Text | StrictInt | StrictBool


class GrantIn(StrictIn):
    role: Literal["engineer", "user", "billing"] = Field(
        default="engineer", description="Caps the minted token, as an automation token's role."
    )
    scopes: list[Text] = Field(default=["global"], description='Defaults to ["global"].')
    resources: dict[Text, Text | list[int]] | None = Field(
        default=None, description='Per type "all" or a list of ids; defaults to all.'
    )
    record_rules: list[RecordRuleIn] = Field(default=[], description="SPEC 14; empty: all.")
    tls_access: bool = False
    lifetime_minutes: StrictInt = Field(
        default=DEFAULT_LIFETIME_MINUTES, description="How long minted tokens live: 5 to 60."
    )


class PublisherIn(StrictIn):
    name: Name
    provider: Provider
    issuer: Text | None = Field(
        default=None,
        description="The ID tokens' iss; github and gitlab default to GitHub's and gitlab.com.",
    )
    conditions: dict[Text, ConditionValue] = Field(
        description="github: repository, repository_id, repository_owner_id, and optionally "
        "workflow, caller_workflow, environment, ref; gitlab: project_path, project_id, and "
        "optionally ref, environment; custom: sub and exact claims."
    )
    grant: GrantIn = Field(default_factory=GrantIn)


class GrantOut(Schema):
    role: Literal["engineer", "user", "billing"]
    scopes: list[Literal[SCOPES]]  # type: ignore[valid-type]
    resources: dict[str, Literal["all"] | list[int]]
    record_rules: list[RecordRuleOut]
    tls_access: bool
    lifetime_minutes: int


class PublisherOut(Schema):
    id: int
    name: str
    provider: Provider
    issuer: str
    conditions: dict[str, str]
    grant: GrantOut
    created_at: datetime


class ExchangeIn(StrictIn):
    token: Annotated[Text, Field(min_length=1, max_length=16 * 1024)] = Field(
        description="The CI job's OIDC ID token."
    )
    publisher: StrictInt | None = Field(
        default=None,
        description="Only when the ID token matches several publishers: the one to use.",
    )


class MintedByOut(Schema):
    publisher: int
    name: str


class MintedTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown this once; it works for minutes.")
    minted_by: MintedByOut


assert set(AUTOMATION_ROLES) == {"engineer", "user", "billing"}  # GrantIn's role literal

# --------------------------------------------------------------------------- the exchange

_CHALLENGE = {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}


@router.post(
    "/oidc/exchange",
    auth=None,
    response={
        201: Data[MintedTokenOut],
        401: InvalidTokenOut,
        403: ExchangeForbiddenOut,
        429: RateLimitedOut,
        **BODY_ERRORS,
    },
)
def oidc_exchange(request: HttpRequest, payload: ExchangeIn) -> HttpResponse:
    """Trade a CI job's OIDC ID token for a short-lived automation token (trusted publishers).

    No authentication: the ID token (GitHub Actions, GitLab CI or another OpenID issuer) is
    checked (signature, issuer, audience, expiry, age, replay) and matched against the trusted
    publishers; the matching one's grant makes a `kwa_` token that lives 5 to 60 minutes.
    401 `invalid_token` names the first failed check; 429 beyond 60 exchanges a minute per
    client IP, or 50 live tokens per publisher.
    """
    ip = client_ip(request)
    wait = count_attempt((EXCHANGES_PER_IP, ip or "unknown"))
    if wait:
        return error_response(
            429,
            "rate_limited",
            "Too many exchanges from this address; try again later.",
            {"Retry-After": str(wait)},
        )
    try:
        verified = id_token_verify(payload.token, now=timezone.now())
        minted = publisher_token_mint(id_token=verified, publisher_id=payload.publisher, ip=ip)
    except ExchangeRefused as refused:
        return error_response(401, "invalid_token", refused.message, _CHALLENGE)
    except PublisherLimitReached as limit:
        return error_response(
            429, "rate_limited", str(limit), {"Retry-After": str(limit.retry_after)}
        )
    except TokenValidationError as refused:  # the grant no longer fits (a policy, a role)
        code = "policy_violation" if refused.error_code == "policy_violation" else "invalid_grant"
        message = "The trusted publisher's grant is refused: " + " ".join(refused.messages)
        return error_response(403, code, message)
    token = minted.created.token
    minted_by = {"publisher": minted.publisher.pk, "name": minted.publisher.name}
    data = {**row_json(token, minted.selections), "token": minted.created.secret}
    return ok({**data, "minted_by": minted_by}, 201)


# --------------------------------------------------------------------------- publishers


def _account(request: ApiRequest) -> Account:
    """The route's account, for a token that may manage it (else 404 or 403)."""
    access = authorize(request, MANAGE_TOKENS)
    return Account.objects.get(pk=access.id)


@router.get(PUBLISHERS, response={200: Data[list[PublisherOut]], **ACCOUNT_ERRORS})
def publishers_list(request: ApiRequest, account_id: int) -> HttpResponse:
    """The account's trusted publishers (a superuser's token with `global`)."""
    account = _account(request)
    return ok([publisher_json(publisher) for publisher in publishers_of(account)])


@router.post(PUBLISHERS, response={201: Data[PublisherOut], **ACCOUNT_ERRORS, **BODY_ERRORS})
def publishers_create(request: ApiRequest, account_id: int, payload: PublisherIn) -> HttpResponse:
    """Trust a CI identity: conditions on its ID tokens, and the grant of what it mints.

    422 `invalid_request` names each bad field: a grant the token services would refuse
    (role, scopes, resources, record rules), one a policy of the account forbids, or a
    grant that can write without pinning `environment` or an exact `ref`.
    """
    account = _account(request)
    grant: dict[str, Any] = payload.grant.model_dump()
    grant["record_rules"] = [rule.model_dump() for rule in payload.grant.record_rules]
    cleaned = publisher_input_clean(
        account,
        name=payload.name,
        provider=payload.provider,
        issuer=payload.issuer,
        conditions=payload.conditions,
        grant=grant,
    )
    publisher = publisher_create(
        actor=actor(principal_of(request)), account=account, cleaned=cleaned
    )
    return ok(publisher_json(publisher), 201)


@router.get(PUBLISHERS + "/{id:publisher_id}", response={200: Data[PublisherOut], **ACCOUNT_ERRORS})
def publisher_get(request: ApiRequest, account_id: int, publisher_id: int) -> HttpResponse:
    """One trusted publisher of the account."""
    publisher = publisher_in(_account(request), publisher_id)
    if publisher is None:
        raise not_found()
    return ok(publisher_json(publisher))


@router.delete(PUBLISHERS + "/{id:publisher_id}", response={204: None, **ACCOUNT_ERRORS})
def publisher_remove(request: ApiRequest, account_id: int, publisher_id: int) -> HttpResponse:
    """Stop trusting a CI identity; the tokens it minted that still work are revoked."""
    publisher = publisher_in(_account(request), publisher_id)
    if publisher is None:
        raise not_found()
    publisher_delete(actor=actor(principal_of(request)), publisher=publisher)
    return no_content()
