"""What each token did, per day and operation, and its latest refused requests (SPEC 13).

Part of the tokens app: tokens/models.py imports this module so Django registers them.
"""

from __future__ import annotations

from django.db import models


class TokenUsage(models.Model):
    """What one token did on one UTC day, per operation: requests allowed and denied (SPEC 13).

    Counted in the cache on the request path and added here by tokens.usage.services.usage_flush
    (at most once a minute per token, or by `manage.py flush_usage`).
    """

    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    operation = models.CharField(max_length=40)
    allowed = models.PositiveIntegerField(default=0)
    denied = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "day", "operation"], name="token_usage_unique_day_operation"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="token_usage_day")]

    def __str__(self) -> str:
        return f"{self.token_id} {self.day} {self.operation}: {self.allowed}/{self.denied}"


class TokenDenial(models.Model):
    """One refused request of a token (the last 50 per token are kept, SPEC 13).

    `seq` is the denial's number in the cache buffer: (token, at, seq) is unique, so
    writing the same buffered denial twice keeps one row.
    """

    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="denials")
    at = models.DateTimeField()
    seq = models.PositiveBigIntegerField()
    operation = models.CharField(max_length=40)
    required_scope = models.CharField(max_length=40)
    # What refused it: scope, role, plan, policy, not_in_account, not_selected,
    # record_not_allowed (tokens.usage.rules.DenialReason); blank before reasons were kept.
    reason = models.CharField(max_length=40, blank=True, default="")
    account_id = models.BigIntegerField(null=True, blank=True)
    resource_id = models.BigIntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["token", "at", "seq"], name="token_denial_unique"),
        ]
        indexes = [models.Index(fields=["token", "-at"], name="token_denial_recent")]

    def __str__(self) -> str:
        return f"{self.token_id} {self.at:%Y-%m-%d %H:%M} {self.operation}"
