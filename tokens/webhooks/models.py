"""Webhook endpoints, their deliveries, and each attempt of a delivery (SPEC 19).

They belong to the tokens app (its migrations); tokens.models imports them.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account


class WebhookEndpoint(models.Model):
    """Where an account's events are delivered: a URL, the event types it wants, on/off.

    The signing secret is stored sealed (AES-GCM, tokens.webhooks.signing), never in
    clear: Keyward must sign with it, so it cannot be a one-way digest like a token's.
    After a roll the previous secret keeps signing until `previous_secret_expires_at`.
    `failing_since` is the first failed attempt with no success after it; three days
    of that switch the endpoint off (`disabled_reason` "failing").
    """

    class DisabledReason(models.TextChoices):
        NONE = "", "Enabled or switched off by a person"
        FAILING = "failing", "Switched off after 3 days of failed deliveries"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField("URL", max_length=2000)
    event_types = models.JSONField(default=list, help_text="The event types it receives.")
    enabled = models.BooleanField(default=True)
    secret_sealed = models.BinaryField(editable=False)
    previous_secret_sealed = models.BinaryField(null=True, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(
        max_length=10, blank=True, choices=DisabledReason.choices, default=DisabledReason.NONE
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.types_want(self.event_types, event_type)

    @staticmethod
    def types_want(event_types: list[str], event_type: str) -> bool:
        """Whether an endpoint subscribed to `event_types` receives `event_type`."""
        return event_type in event_types

    def previous_secret_signs(self, now: datetime) -> bool:
        return (
            self.previous_secret_sealed is not None
            and self.previous_secret_expires_at is not None
            and self.previous_secret_expires_at > now
        )


class WebhookDelivery(models.Model):
    """One message to one endpoint: its body, as signed and sent at every attempt.

    `message_id` is the `webhook-id` header: the same at every attempt and on a
    redelivery, so a receiver can tell a message it already handled. `attempts` counts
    the attempts made; `next_attempt_at` is when the next one is due (None: no more).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled (endpoint off)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    body = models.TextField(help_text="The JSON body: type, timestamp, data. Never a secret.")
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Sent even while the endpoint is off: Send test event and Redeliver.
    forced = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_log"),
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One try of a delivery: when, the answer's status (None: no answer), how long it
    took, the start of the answer's body, or why there was no answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
