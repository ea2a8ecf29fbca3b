"""`webhook_emit`: the one way something that happened becomes webhook deliveries (SPEC 19).

It writes one WebhookDelivery per enabled endpoint of the account that wants the
type, in the caller's transaction, and queues their first attempt once that
commits (nothing is sent for a write that rolls back; a request never waits for a
receiver). The event writer (tokens.events.event_record) calls `webhook_emit_event`
for every event whose kind is a webhook type, so services emit by writing their event.

Imports nothing above models, so tokens.events may use it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from django.db import connection, transaction
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


_WANTING_SQL = (
    f"SELECT id, event_types FROM {WebhookEndpoint._meta.db_table} "  # noqa: S608 (no input)
    "WHERE account_id = %s AND enabled"
)


def _endpoints_wanting(account: Account | int, type: str) -> list[int]:
    """The ids of the account's enabled endpoints that want `type`.

    Every event of an account asks this, and most accounts have no endpoint: one
    plain query of two columns, no model built (the ORM's cost several times this).
    """
    account_id = account if isinstance(account, int) else account.pk
    with connection.cursor() as cursor:
        cursor.execute(_WANTING_SQL, [account_id])
        rows = cursor.fetchall()
    return [
        endpoint_id
        for endpoint_id, event_types in rows
        if WebhookEndpoint.types_want(
            json.loads(event_types) if isinstance(event_types, str | bytes) else event_types,
            type,
        )
    ]


def webhook_wanted(account: Account | int, type: str) -> bool:
    """Some enabled endpoint of the account wants `type` (to skip work nobody receives)."""
    return bool(_endpoints_wanting(account, type))


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
    targets: list[dict[str, Any]] = (
        [{"endpoint_id": pk} for pk in _endpoints_wanting(account, type)]
        if endpoints is None
        else [{"endpoint": endpoint} for endpoint in endpoints]
    )
    return _deliveries_write(targets, type, data, at=at, forced=forced)


def _deliveries_write(
    targets: list[dict[str, Any]],
    type: str,
    data: Mapping[str, Any],
    *,
    at: datetime,
    forced: bool = False,
) -> list[WebhookDelivery]:
    """One delivery per target endpoint (`endpoint` or `endpoint_id`), queued after commit."""
    if not targets:
        return []
    body = webhook_body(type, data, at)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                **target,
                message_id=message_id(),
                event_type=type,
                body=body,
                created_at=at,
                forced=forced,
                next_attempt_at=at,
            )
            for target in targets
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
    wanting = _endpoints_wanting(account, event_type)
    if not wanting:  # most accounts: nothing to build
        return []
    return _deliveries_write(
        [{"endpoint_id": pk} for pk in wanting],
        event_type,
        event_webhook_data(event, account),
        at=event.created_at,
    )
