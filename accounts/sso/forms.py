"""The SSO settings form and the email of Sign in with SSO (SPEC 17)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from accounts.sso.discovery import DiscoveryFailed, discovery_check, issuer_normalize
from accounts.sso.selectors import domains_vouched_elsewhere

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SsoSettingsForm(forms.Form):
    """The identity provider's settings; the issuer's discovery document is checked on save."""

    issuer = forms.URLField(
        label="Issuer URL",
        max_length=300,
        assume_scheme="https",
        help_text="The identity provider's issuer, e.g. https://login.example.com/realms/acme. "
        "Keyward reads its /.well-known/openid-configuration.",
    )
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again.",
    )
    domains = forms.CharField(
        label="Email domains",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The domains whose addresses this provider vouches for, one per line or "
        "separated by commas (example.com).",
    )

    def __init__(
        self, *args: Any, has_secret: bool = False, account_id: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        self.account_id = account_id
        if has_secret:
            self.fields["client_secret"].help_text = (
                "A secret is stored (encrypted, never shown). Leave empty to keep it; "
                "type a new one to replace it."
            )

    def clean_issuer(self) -> str:
        return issuer_normalize(self.cleaned_data["issuer"])

    def clean_client_secret(self) -> str | None:
        secret = self.cleaned_data.get("client_secret") or None
        if secret is None and not self.has_secret:
            raise forms.ValidationError("Enter the client secret the identity provider gave you.")
        return secret

    def clean_domains(self) -> list[str]:
        words = [word.strip().lower() for word in re.split(r"[\s,]+", self.cleaned_data["domains"])]
        domains = sorted({word.removeprefix("@") for word in words if word})
        bad = [domain for domain in domains if not DOMAIN_RE.match(domain)]
        if bad:
            raise forms.ValidationError(f"Not a domain: {', '.join(bad[:5])}.")
        if not domains:
            raise forms.ValidationError("Enter at least one email domain.")
        if len(domains) > 50:
            raise forms.ValidationError("At most 50 domains.")
        taken = sorted(set(domains) & domains_vouched_elsewhere(self.account_id))
        if taken:
            raise forms.ValidationError(
                f"Another account's single sign-on already vouches for {', '.join(taken)}: "
                "a domain signs in through one identity provider. Ask Keyward support."
            )
        return domains

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and data.get("issuer"):
            try:
                discovery_check(data["issuer"])
            except DiscoveryFailed as failed:
                self.add_error("issuer", str(failed))
        return data


class SsoSignInForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
