"""Reads of webhooks shared by the page and the API, always through the account (SPEC 19).

An endpoint or a delivery is found only inside the account it belongs to: a
foreign id is simply not found (404).
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Account
from tokens.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

LOG_PAGE = 30


def webhooks_of(account: Account | int) -> QuerySet[WebhookEndpoint]:
    """The account's endpoints, oldest first."""
    account_id = account if isinstance(account, int) else account.pk
    return WebhookEndpoint.objects.filter(account_id=account_id).select_related("account")


def webhook_get(account: Account | int, endpoint_id: int) -> WebhookEndpoint | None:
    """One endpoint of the account, or None."""
    return webhooks_of(account).filter(pk=endpoint_id).first()


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")


def delivery_log(endpoint: WebhookEndpoint, limit: int = LOG_PAGE) -> list[WebhookDelivery]:
    """The newest deliveries with their attempts (two queries whatever their number)."""
    attempts = Prefetch("tries", queryset=WebhookAttempt.objects.order_by("number"))
    return list(deliveries_of(endpoint).prefetch_related(attempts)[:limit])


def delivery_get(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery | None:
    """One delivery of the endpoint, or None."""
    return (
        deliveries_of(endpoint).select_related("endpoint__account").filter(pk=delivery_id).first()
    )
