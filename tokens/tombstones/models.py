"""What is left of a revoked token (its tombstone), and the event log's revocations.

Part of the tokens app: tokens/models.py imports this module so Django registers them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account
from tokens.models import Event, TokenType


class RevokedToken(models.Model):
    """What is left of a revoked token: enough for support to answer "revoked on … by …".

    Revoking deletes the Token row; this tombstone keeps its digest (the same
    HMAC of the secret, under the same pepper, so a pasted value still finds it)
    and, while a roll's grace period ran, the previous secret's digest too. No
    secret and no permissions: it cannot authenticate anything. Kept as long as
    the event log (forever, today). Written by tombstone_record (tokens.services.revoke calls it).
    """

    digest = models.CharField(max_length=64, unique=True)
    previous_digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    token_id = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=100)
    display = models.CharField(max_length=24)
    type = models.CharField(max_length=10, choices=TokenType.choices)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.CharField(max_length=20, help_text="Who in kind: owner, support, ….")
    revoked_by_label = models.CharField(max_length=300, help_text="Who, for humans.")
    reason = models.CharField(max_length=600, blank=True, help_text="Why, when known.")

    class Meta:
        ordering = ["-revoked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display}), revoked"


class RevokedTokenEvent(Event):
    """The event log's `token.revoked` entries: support's read-only "Revoked tokens" view."""

    class Meta:
        proxy = True
        verbose_name = "revoked token"
        verbose_name_plural = "revoked tokens"
