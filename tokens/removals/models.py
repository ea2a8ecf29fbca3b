"""A member's user token cut off from one account (SPEC 6): where a token no longer acts.

Written by tokens.services.revoke.token_remove_from_account; the bearer query
(tokens.auth.principal), the API's account list and the selectors read it. Part of the
tokens app: tokens/models.py imports this module so Django registers it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account
from tokens.models import Token


class TokenRemoval(models.Model):
    """A member's user token cut off from one account by a superuser of it (SPEC 6).

    The token stops working in that account at once (it answers 404 there, as for
    any account it does not act in) and keeps working in its owner's other accounts.
    """

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="removals")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed_by_label = models.CharField(max_length=200, help_text="Who, for humans.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account__name"]
        constraints = [
            models.UniqueConstraint(fields=["token", "account"], name="token_removal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.token_id} removed from {self.account_id}"
