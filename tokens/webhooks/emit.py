"""`webhook_emit`: the one way something that happened becomes webhook deliveries (SPEC 19).

It writes one WebhookDelivery per enabled endpoint of the account that wants the
type, in the caller's transaction, and queues their first attempt once that
commits (nothing is sent for a write that rolls back; a request never waits for a
receiver). The event writer (tokens.events.event_record) calls `webhook_emit_event`
for every event whose kind is a webhook type, so services emit by writing their event.

Imports nothing above models, so tokens.events may use it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from tokens.models import Event, Token
from tokens.webhooks.constants import EVENT_KIND_TO_WEBHOOK_TYPE
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def message_id() -> str:
    """A new `webhook-id`: `msg_` and 24 random url-safe characters."""
    return "msg_" + secrets.token_urlsafe(18)


def webhook_body(event_type: str, data: Mapping[str, Any], at: datetime) -> str:
    """The delivery body: `{"type", "timestamp", "data"}` (callers put no secret in data)."""
    return orjson.dumps(
        {"type": event_type, "timestamp": at, "data": dict(data)}, option=_JSON_OPTIONS
    ).decode("utf-8")


def webhook_wanted(account: Account | int, type: str) -> bool:
    """Some enabled endpoint of the account wants `type` (to skip work nobody receives)."""
    account_id = account if isinstance(account, int) else account.pk
    return any(
        endpoint.wants(type)
        for endpoint in WebhookEndpoint.objects.filter(account_id=account_id, enabled=True)
    )


def token_webhook_json(token: Token) -> dict[str, Any]:
    """A token in a webhook's data, as events name it (never a secret)."""
    return {
        "id": token.pk,
        "name": token.name,
        "display": token.display,
        "type": token.type,
        "owner_id": token.user_id,
        "account_id": token.account_id,
        "expires_at": token.expires_at,
    }


def webhook_emit(
    account: Account | int,
    type: str,
    data: Mapping[str, Any],
    *,
    at: datetime | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
    forced: bool = False,
) -> list[WebhookDelivery]:
    """Deliver `type` with `data` to the account's enabled endpoints that want it.

    `endpoints` names the endpoints instead (Send test event: `forced`, sent even
    to an endpoint that is off and whatever it subscribes to). Returns the
    deliveries written; their first attempts are queued after commit.
    """
    at = at or timezone.now()
    if endpoints is None:
        account_id = account if isinstance(account, int) else account.pk
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(account_id=account_id, enabled=True)
            if endpoint.wants(type)
        ]
    if not endpoints:
        return []
    body = webhook_body(type, data, at)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                message_id=message_id(),
                event_type=type,
                body=body,
                created_at=at,
                forced=forced,
                next_attempt_at=at,
            )
            for endpoint in endpoints
        ]
    )
    delivery_queue_after_commit([delivery.pk for delivery in deliveries])
    return deliveries


def delivery_queue_after_commit(delivery_ids: list[int]) -> None:
    """Queue an attempt of each delivery once the transaction commits."""
    transaction.on_commit(partial(_queue, delivery_ids))


def _queue(delivery_ids: list[int]) -> None:
    from tokens.webhooks.tasks import webhook_deliver_task

    for delivery_id in delivery_ids:
        try:
            webhook_deliver_task(delivery_id)
        except Exception:  # the retry job finds it due (next_attempt_at) and queues it
            logger.exception("Could not queue webhook delivery %s", delivery_id)


def event_webhook_data(event: Event, account: Account) -> dict[str, Any]:
    """An event of the log as a webhook's `data`: what the account's event log shows."""
    data: dict[str, Any] = {
        "event_id": event.pk,
        "account": {"id": account.pk, "slug": account.slug, "name": account.name},
        "actor": {
            "kind": event.actor_kind,
            "label": event.actor_label,
            "channel": event.channel,
            "token_id": event.actor_token_id,
            "ip": event.ip,
        },
        "summary": event.summary,
    }
    if event.token_id is not None:
        data["token"] = {
            "id": event.token_id,
            "name": event.token_name,
            "display": event.token_display,
            "type": event.token_type,
            "owner_id": event.token_owner_id,
        }
    details = dict(event.details or {})
    if "revoked_by" in details:
        data["revoked_by"] = details["revoked_by"]
        found = {key: details[key] for key in ("url", "source") if details.get(key)}
        if details["revoked_by"] == "leak_report":
            data["found"] = found
    data["details"] = details
    return data


def webhook_emit_event(event: Event, account: Account | None) -> list[WebhookDelivery]:
    """Emit `event` to its account's webhooks when its kind is a webhook type.

    Events without an account (a person's own: user tokens, sign-ins) go to no
    account's webhooks, as they are in no account's event log.
    """
    event_type = EVENT_KIND_TO_WEBHOOK_TYPE.get(event.kind)
    if event_type is None or account is None:
        return []
    return webhook_emit(
        account, event_type, event_webhook_data(event, account), at=event.created_at
    )
