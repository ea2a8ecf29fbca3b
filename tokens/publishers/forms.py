"""The trusted publisher form and the tester's form: parse what the browser sent.

The publisher form is the token permissions form (scopes, resources, record rules, TLS
management: the same fields and parsing as the wizard's) plus the provider, issuer,
conditions, role and lifetime; tokens.publishers.rules judges all of it, and its
TokenValidationError comes back onto these fields.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from accounts.constants import Role
from tokens.forms import TokenPermissionsForm, resource_field_name
from tokens.kinds import Kind
from tokens.permissions import AUTOMATION_ROLES
from tokens.publishers.exchange import ExchangeRefused, unverified_claims
from tokens.publishers.models import (
    DEFAULT_ISSUERS,
    DEFAULT_LIFETIME_MINUTES,
    LIFETIME_RANGE,
    Provider,
    Publisher,
)
from tokens.publishers.rules import CONDITIONS, CUSTOM_SUB
from tokens.validation import TokenValidationError

CLAIMS_FIELD = "claims"


def condition_field_name(name: str) -> str:
    return f"condition_{name}"


class PublisherForm(TokenPermissionsForm):
    """A publisher of one provider: its conditions, and the grant of the tokens it mints."""

    issuer = forms.CharField(label="Issuer", required=False, max_length=300)
    role = forms.ChoiceField(
        label="Role",
        choices=[(role, Role(role).label) for role in AUTOMATION_ROLES],
        initial=Role.ENGINEER,
        help_text="Caps everything a minted token can do, whatever its scopes.",
    )
    lifetime_minutes = forms.IntegerField(
        label="Lifetime (minutes)",
        initial=DEFAULT_LIFETIME_MINUTES,
        help_text=f"How long each minted token works: {LIFETIME_RANGE[0]} to "
        f"{LIFETIME_RANGE[1]} minutes.",
    )

    SERVICE_FIELDS: dict[str, str] = {
        "name": "name",
        "issuer": "issuer",
        "grant.role": "role",
        "grant.scopes": "scopes",
        "grant.tls_access": "tls_access",
        "grant.lifetime_minutes": "lifetime_minutes",
        **{f"grant.resources.{kind}": resource_field_name(kind) for kind in Kind},
    }

    def __init__(self, *args: Any, provider: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["allowed_ips"]  # a minted token has none (its lifetime is minutes)
        self.provider = provider
        self.fields["name"].help_text = "What this CI identity is, e.g. “Deploys from main”."
        self.fields["name"].widget.attrs["placeholder"] = "Deploys from main"
        default = DEFAULT_ISSUERS.get(provider)
        self.fields["issuer"].help_text = (
            f"The ID tokens' iss. Leave empty for {default}." if default else
            "The issuer's URL (its discovery document is read from there), e.g. "
            "https://ci.example.com."
        )  # fmt: skip
        self.fields["issuer"].required = default is None
        for condition in CONDITIONS.get(provider, (CUSTOM_SUB,)):
            self.fields[condition_field_name(condition.name)] = forms.CharField(
                label=condition.label,
                required=False,
                max_length=255,
                help_text=condition.help + ("" if condition.required else " Optional."),
            )
            self.SERVICE_FIELDS = {
                **self.SERVICE_FIELDS,
                f"conditions.{condition.name}": condition_field_name(condition.name),
            }
        if provider == Provider.CUSTOM:
            self.fields[CLAIMS_FIELD] = forms.CharField(
                label="Other claims",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
                help_text="One claim per line, name=value: each must be exactly that.",
            )

    def condition_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("condition_")]

    def conditions(self) -> dict[str, Any]:
        """The conditions entered (blank ones left out); custom claims from their lines."""
        data = self.cleaned_data
        found: dict[str, Any] = {}
        for name in self.fields:
            if name.startswith("condition_") and (data.get(name) or "").strip():
                found[name.removeprefix("condition_")] = data[name].strip()
        for line in (data.get(CLAIMS_FIELD) or "").splitlines():
            claim, _, value = line.partition("=")
            if claim.strip():
                found[claim.strip()] = value.strip()
        return found

    def grant(self) -> dict[str, Any]:
        """The grant as tokens.publishers.rules.publisher_input_clean takes it."""
        data = self.cleaned_data
        return {
            "role": data.get("role"),
            "scopes": data.get("scopes") or [],
            "resources": self.resources(),
            "record_rules": self.record_rules(),
            "tls_access": bool(data.get("tls_access")),
            "lifetime_minutes": data.get("lifetime_minutes"),
        }

    def add_service_errors(
        self, error: TokenValidationError, *, keep_form_errors: bool = False
    ) -> None:
        """Per-field messages beside their fields; the others (a policy, a custom claim, a
        record rule) at the top of the form, each naming what it is about."""
        for key, messages in error.message_dict.items():
            field = self.SERVICE_FIELDS.get(key)
            if field is not None and field in self.fields:
                for message in messages:
                    self.add_error(field, message)
            elif key == "__all__":
                for message in messages:
                    self.add_error(None, message)
            else:
                label = key.removeprefix("grant.").removeprefix("conditions.")
                for message in messages:
                    self.add_error(None, f"{label}: {message}")

    @staticmethod
    def initial_for(publisher: Publisher) -> dict[str, Any]:
        """A saved publisher as the form's initial values."""
        initial: dict[str, Any] = {
            "name": publisher.name,
            "issuer": publisher.issuer,
            "role": publisher.role,
            "scopes": list(publisher.scopes),
            "tls_access": publisher.tls_access,
            "lifetime_minutes": publisher.lifetime_minutes,
            "rule_rows": [
                {"name": rule["name"], "types": list(rule.get("types") or [])}
                for rule in publisher.record_rules
            ],
        }
        for kind in Kind:
            value = publisher.resources.get(str(kind), "all")
            initial[f"{kind}_mode"] = "all" if value == "all" else "selected"
            initial[resource_field_name(kind)] = [] if value == "all" else list(value)
        known = {condition.name for condition in CONDITIONS.get(publisher.provider, (CUSTOM_SUB,))}
        for name, value in publisher.conditions.items():
            if name in known:
                initial[condition_field_name(name)] = value
        extra = {k: v for k, v in publisher.conditions.items() if k not in known}
        initial[CLAIMS_FIELD] = "\n".join(f"{name}={value}" for name, value in extra.items())
        return initial


class TesterForm(forms.Form):
    """The tester: an ID token, or its claims as a JSON object."""

    id_token = forms.CharField(
        label="ID token or claims",
        max_length=16 * 1024,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
        help_text="Paste an ID token from a CI job, or its claims as JSON. Nothing is minted, "
        "and a pasted token is not used up.",
    )

    def claims(self) -> dict[str, Any]:
        """The claims to compare (an ID token's are read without checking its signature)."""
        text = self.cleaned_data["id_token"].strip()
        if text.startswith("{"):
            try:
                claims = json.loads(text)
            except ValueError:
                raise forms.ValidationError("That is not valid JSON.") from None
            if not isinstance(claims, dict):
                raise forms.ValidationError("Give the claims as a JSON object.")
            return claims
        try:
            return unverified_claims(text)
        except ExchangeRefused:
            raise forms.ValidationError(
                "That is neither an ID token (header.claims.signature) nor a JSON object."
            ) from None
