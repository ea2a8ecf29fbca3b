"""A user token authorized for one account's single sign-on (SPEC 17)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account
from tokens.models import Token


class TokenSsoAuthorization(models.Model):
    """The token's owner authorized it for `account`'s SSO (it then works there under force SSO)."""

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="sso_authorizations")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    authorized_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "account"], name="token_sso_once_per_account")
        ]

    def __str__(self) -> str:
        return f"token {self.token_id} authorized for SSO of account {self.account_id}"
