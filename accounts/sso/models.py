"""An enterprise account's identity provider (SPEC 17)."""

from __future__ import annotations

from django.db import models

from accounts.models import Account

PROVIDER_ID_PREFIX = "sso-"


class AccountSso(models.Model):
    """The OpenID Connect provider an account's members sign in with.

    The client secret is stored sealed (accounts.sso.crypto) and never shown again.
    `tested_at` is the last successful Test sign-in of the current settings: changing
    the issuer, the client ID or the secret clears it and turns SSO (and force SSO) off
    until a new test succeeds. `Account.force_sso` stays off while SSO is not enabled.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="sso")
    issuer = models.URLField("issuer URL", max_length=300)
    client_id = models.CharField("client ID", max_length=255)
    client_secret_sealed = models.BinaryField(editable=False)
    domains = models.JSONField(
        "email domains", default=list, help_text="Email domains the provider vouches for."
    )
    tested_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "single sign-on"
        verbose_name_plural = "single sign-on"

    def __str__(self) -> str:
        return f"SSO of {self.account_id} via {self.issuer}"

    @property
    def provider_id(self) -> str:
        """allauth's provider id of this account's app: `sso-<slug>`, in the callback URL."""
        return f"{PROVIDER_ID_PREFIX}{self.account.slug}"
