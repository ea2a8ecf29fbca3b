"""Webhooks in the API (SPEC 19): an account's endpoints and their delivery log.

Mounted under /accounts (tokens.api). Every route needs what managing the account's
tokens needs: a superuser's token with `global` on all resources (`authorize(request,
MANAGE_TOKENS)`); an endpoint of another account is 404. Bodies are strict: an unknown
key, a bad URL or an unknown event type is 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpResponse
from ninja import Field, Router, Schema
from pydantic import StrictBool

from accounts.models import Account
from accounts.roles import MANAGE_TOKENS
from tokens.api.access import actor, authorize, principal_of
from tokens.api.answers import ACCOUNT_ERRORS, BODY_ERRORS
from tokens.api.errors import not_found
from tokens.api.responses import PAGE, PER_PAGE, no_content, ok, pagination
from tokens.api.schemas import Data, Page, StrictIn, Text
from tokens.api.security import ApiRequest
from tokens.webhooks import selectors, services
from tokens.webhooks.constants import MAX_URL_LENGTH, WebhookEventType
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])

WEBHOOKS = "/{id:account_id}/webhooks"


class WebhookIn(StrictIn):
    url: Annotated[Text, Field(min_length=1, max_length=MAX_URL_LENGTH)] = Field(
        description="https://…; its host must resolve to public addresses only."
    )
    events: list[WebhookEventType] = Field(description="The event types it receives (1 or more).")
    enabled: StrictBool = True


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    failing_since: datetime | None = Field(
        description="First failed delivery with no success since (3 days: switched off)."
    )
    disabled_reason: str = Field(description='"failing" when Keyward switched it off; else "".')


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The `whsec_` signing secret: shown this once.")


class DeliveryOut(Schema):
    id: int
    event_type: str
    attempt: int = Field(description="Attempts made so far (at most 8).")
    status_code: int | None = Field(description="The last attempt's answer; null: none.")
    delivered_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried again; null: never.")
    created_at: datetime


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it (never its secret)."""
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
        "failing_since": endpoint.failing_since,
        "disabled_reason": endpoint.disabled_reason,
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event_type": delivery.event_type,
        "attempt": delivery.attempts,
        "status_code": delivery.status_code,
        "delivered_at": delivery.delivered_at,
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
    }


def _endpoint(request: ApiRequest, endpoint_id: int) -> WebhookEndpoint:
    access = authorize(request, MANAGE_TOKENS)
    endpoint = selectors.webhook_get(access.id, endpoint_id)
    if endpoint is None:
        raise not_found()
    return endpoint


@router.get(WEBHOOKS, response={200: Data[list[WebhookOut]], **ACCOUNT_ERRORS})
def webhooks_list(request: ApiRequest, account_id: int) -> HttpResponse:
    """The account's webhook endpoints (a superuser's token with `global`)."""
    access = authorize(request, MANAGE_TOKENS)
    return ok([endpoint_json(endpoint) for endpoint in selectors.webhooks_of(access.id)])


@router.post(WEBHOOKS, response={201: Data[WebhookCreatedOut], **ACCOUNT_ERRORS, **BODY_ERRORS})
def webhook_create(request: ApiRequest, account_id: int, payload: WebhookIn) -> HttpResponse:
    """Add a webhook endpoint; the answer carries its signing secret, once."""
    access = authorize(request, MANAGE_TOKENS)
    created = services.webhook_create(
        actor=actor(principal_of(request)),
        account=Account.objects.get(pk=access.id),
        url=payload.url,
        event_types=[str(event) for event in payload.events],
        enabled=payload.enabled,
    )
    return ok({**endpoint_json(created.endpoint), "secret": created.secret}, status=201)


@router.delete(WEBHOOKS + "/{id:webhook_id}", response={204: None, **ACCOUNT_ERRORS})
def webhook_delete(request: ApiRequest, account_id: int, webhook_id: int) -> HttpResponse:
    """Delete a webhook endpoint and its delivery log."""
    endpoint = _endpoint(request, webhook_id)
    services.webhook_delete(actor=actor(principal_of(request)), endpoint=endpoint)
    return no_content()


@router.get(
    WEBHOOKS + "/{id:webhook_id}/deliveries", response={200: Page[DeliveryOut], **ACCOUNT_ERRORS}
)
def webhook_deliveries(
    request: ApiRequest,
    account_id: int,
    webhook_id: int,
    page: int = PAGE,
    per_page: int = PER_PAGE,
) -> HttpResponse:
    """An endpoint's deliveries, newest first."""
    endpoint = _endpoint(request, webhook_id)
    deliveries = selectors.deliveries_of(endpoint)
    total = deliveries.count()
    start = (page - 1) * per_page
    rows = [delivery_json(d) for d in deliveries[start : start + per_page]]
    return ok(rows, pagination=pagination(page, per_page, total))
