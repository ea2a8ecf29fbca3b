"""Every write about webhooks (SPEC 19), for the page and the API alike.

The caller checked that the actor manages the account (and, in the panel, is in
sudo mode). Each change writes its event (`webhook.*`, never the secret nor the
URL's query string); the new or rolled secret is returned once and stored sealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.dates import when_text
from accounts.models import Account, Membership
from accounts.roles import MANAGING_ROLES
from tokens.events import Actor, event_record
from tokens.models import EventKind
from tokens.tasks import email_after_commit
from tokens.webhooks.constants import (
    MAX_ENDPOINTS_PER_ACCOUNT,
    PREVIOUS_SECRET_SIGNS_FOR,
    TEST_EVENT_TYPE,
    WebhookEventType,
)
from tokens.webhooks.emit import delivery_queue_after_commit, message_id, webhook_emit
from tokens.webhooks.guard import Refused, resolve_target, url_for_log, url_problem
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint
from tokens.webhooks.signing import secret_generate, secret_seal


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint (or one whose secret was rolled) and its secret, shown once."""

    endpoint: WebhookEndpoint
    secret: str


def clean_url(url: str) -> str:
    """The URL, if its form and the addresses its host resolves to now are allowed."""
    url = (url or "").strip()
    problem = url_problem(url)
    if problem is None:
        try:
            resolve_target(url)
        except Refused as refused:
            problem = str(refused)
    if problem:
        raise ValidationError({"url": problem})
    return url


def clean_event_types(event_types: Iterable[object]) -> list[str]:
    """The event types, known and each once, in the order of WebhookEventType; at least one."""
    wanted = list(event_types)
    unknown = [str(value) for value in wanted if value not in WebhookEventType.values]
    if unknown:
        raise ValidationError(
            {
                "events": f"Unknown event type(s): {', '.join(unknown)[:200]}. Known: "
                f"{', '.join(WebhookEventType.values)}."
            }
        )
    if not wanted:
        raise ValidationError({"events": "Choose at least one event type."})
    return [value for value in WebhookEventType.values if value in wanted]


def _described(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint.pk,
        "url": url_for_log(endpoint.url),
        "events": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


def _record(
    kind: str, actor: Actor, endpoint: WebhookEndpoint, summary: str, **details: Any
) -> None:
    event_record(
        kind=kind,
        actor=actor,
        account=endpoint.account,
        summary=summary,
        details={**_described(endpoint), **details},
    )


@transaction.atomic
def webhook_create(
    *, actor: Actor, account: Account, url: str, event_types: Iterable[object], enabled: bool = True
) -> CreatedEndpoint:
    """Add an endpoint to the account; its `whsec_` secret is returned once."""
    errors: dict[str, list[str]] = {}
    try:
        url = clean_url(url)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        wanted = clean_event_types(event_types)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    account = Account.objects.select_for_update().get(pk=account.pk)
    if WebhookEndpoint.objects.filter(account=account).count() >= MAX_ENDPOINTS_PER_ACCOUNT:
        raise ValidationError(
            {"url": f"An account has at most {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints."}
        )
    secret = secret_generate()
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        account=account,
        url=url,
        event_types=wanted,
        enabled=enabled,
        secret_sealed=secret_seal(secret, account_id=account.pk),
        created_by=actor.user if actor.user and actor.user.pk else None,
        created_at=now,
        updated_at=now,
    )
    _record(
        EventKind.WEBHOOK_CREATED,
        actor,
        endpoint,
        f"{actor.label or 'Someone'} added the webhook endpoint {url_for_log(endpoint.url)}",
    )
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_update(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: Iterable[object] | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint's URL, event types or on/off (None: unchanged); logs before/after.

    Switching an endpoint on clears its failing clock; switching it off cancels the
    deliveries still waiting for a retry.
    """
    endpoint = (
        WebhookEndpoint.objects.select_for_update().select_related("account").get(pk=endpoint.pk)
    )
    before = _described(endpoint)
    errors: dict[str, list[str]] = {}
    if url is not None and url.strip() != endpoint.url:
        try:
            endpoint.url = clean_url(url)
        except ValidationError as error:
            errors.update(error.message_dict)
    if event_types is not None:
        try:
            endpoint.event_types = clean_event_types(event_types)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.failing_since = None
        endpoint.disabled_reason = WebhookEndpoint.DisabledReason.NONE
        if not enabled:
            _cancel_waiting(endpoint)
    after = _described(endpoint)
    if after == before:
        return endpoint
    endpoint.updated_at = timezone.now()
    endpoint.save()
    _record(
        EventKind.WEBHOOK_UPDATED,
        actor,
        endpoint,
        f"{actor.label or 'Someone'} changed the webhook endpoint {url_for_log(endpoint.url)}",
        before=before,
        after=after,
    )
    return endpoint


def _cancel_waiting(endpoint: WebhookEndpoint) -> None:
    WebhookDelivery.objects.filter(
        endpoint=endpoint, state=WebhookDelivery.State.PENDING, forced=False
    ).update(state=WebhookDelivery.State.CANCELLED, next_attempt_at=None)


@transaction.atomic
def webhook_roll_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> CreatedEndpoint:
    """Give the endpoint a new signing secret (returned once). The previous one also signs
    for PREVIOUS_SECRET_SIGNS_FOR, so the receiver can switch without losing deliveries."""
    endpoint = (
        WebhookEndpoint.objects.select_for_update().select_related("account").get(pk=endpoint.pk)
    )
    secret = secret_generate()
    now = timezone.now()
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_SIGNS_FOR
    endpoint.secret_sealed = secret_seal(secret, account_id=endpoint.account_id)
    endpoint.updated_at = now
    endpoint.save()
    _record(
        EventKind.WEBHOOK_SECRET_ROLLED,
        actor,
        endpoint,
        f"{actor.label or 'Someone'} rolled the signing secret of {url_for_log(endpoint.url)}",
        previous_secret_signs_until=endpoint.previous_secret_expires_at.isoformat(),
    )
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its delivery log; nothing more is sent to it."""
    _record(
        EventKind.WEBHOOK_DELETED,
        actor,
        endpoint,
        f"{actor.label or 'Someone'} deleted the webhook endpoint {url_for_log(endpoint.url)}",
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def webhook_send_test(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    """**Send test event**: one `webhook.test` delivery to this endpoint, even if it is off."""
    data = {
        "account": {
            "id": endpoint.account.pk,
            "slug": endpoint.account.slug,
            "name": endpoint.account.name,
        },
        "endpoint_id": endpoint.pk,
        "sent_by": actor.label,
        "message": "A test event from Keyward. Your endpoint verified its signature if it "
        "answers 2xx.",
    }
    with transaction.atomic():
        [delivery] = webhook_emit(
            endpoint.account, TEST_EVENT_TYPE, data, endpoints=[endpoint], forced=True
        )
    return delivery


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """**Redeliver**: the same message (same `webhook-id` and body) once more, now."""
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint,
            message_id=delivery.message_id or message_id(),
            event_type=delivery.event_type,
            body=delivery.body,
            forced=True,
            next_attempt_at=timezone.now(),
        )
        delivery_queue_after_commit([again.pk])
    return again


def _superusers(account: Account) -> list[Any]:
    memberships = Membership.objects.filter(
        account=account, role__in=MANAGING_ROLES, user__is_active=True
    ).select_related("user")
    return [m.user for m in memberships if not m.user.is_synthetic]


@transaction.atomic
def webhook_switch_off_failing(*, endpoint_id: int, now: datetime) -> bool:
    """Switch off an endpoint whose deliveries failed for DISABLE_AFTER_FAILING_FOR, cancel
    what waits for it, log it, and email the account's superusers (from the queue)."""
    endpoint = (
        WebhookEndpoint.objects.select_for_update()
        .select_related("account")
        .filter(pk=endpoint_id, enabled=True)
        .first()
    )
    if endpoint is None:
        return False
    failing_since = endpoint.failing_since or now
    endpoint.enabled = False
    endpoint.disabled_reason = WebhookEndpoint.DisabledReason.FAILING
    endpoint.updated_at = now
    endpoint.save()
    _cancel_waiting(endpoint)
    shown = url_for_log(endpoint.url)
    _record(
        EventKind.WEBHOOK_DISABLED,
        Actor.system("webhook deliveries", channel="command"),
        endpoint,
        f"The webhook endpoint {shown} was switched off: its deliveries failed for 3 days",
        failing_since=failing_since.isoformat(),
    )
    page = settings.KEYWARD_SITE_URL + reverse("webhooks:endpoints", args=[endpoint.account.slug])
    for person in _superusers(endpoint.account):
        email_after_commit(
            to=person.email,
            subject=f"Keyward switched off a webhook endpoint of {endpoint.account.name}",
            body="\n".join(
                [
                    f"Hello {person.get_short_name()},",
                    "",
                    f"Deliveries to the webhook endpoint {shown} of {endpoint.account.name} "
                    f"have failed since {when_text(failing_since)} UTC, so Keyward switched "
                    "it off. Nothing more is sent to it.",
                    "",
                    "What to do next: check that the endpoint answers 2xx (its delivery log "
                    "shows each answer), then switch it on again and use Send test event.",
                    "",
                    f"Webhooks of {endpoint.account.name}: {page}",
                    "",
                    "— Keyward",
                ]
            ),
        )
    return True
