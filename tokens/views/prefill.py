"""Filling the wizard from a link: a template (`?template=SLUG`) or prefill values.

`/tokens/new/?name=...&scopes=zones:read,zones:write&expires=30&type=automation&account=acme`
fills the form; values that are unknown or not the person's to choose are dropped
with a notice, never an error page. Nothing is created until **Generate token**.

Token templates (SPEC 14) are ready-made forms for common integrations, as data
(TEMPLATES): each only fills the wizard; the person can change everything before
**Generate token**, and the services judge the result like any other token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from accounts.models import Account
from tokens.constants import EXPIRY_CHOICES_DAYS, MAX_NAME_LENGTH
from tokens.forms import resource_mode_name
from tokens.models import TokenType
from tokens.permissions import SCOPES, Kind


@dataclass(frozen=True)
class TokenTemplate:
    slug: str
    title: str
    description: str
    scopes: tuple[str, ...]
    token_type: str = "user"
    superusers_only: bool = False
    selected: tuple[str, ...] = ()  # kinds set to "selected" (the person picks them)
    record_rules: tuple[dict[str, object], ...] = ()
    tls_access: bool = False
    expiration: str = ""  # "30", "60", "90", "never"; "" keeps the wizard's default
    name: str = field(default="")


TEMPLATES: tuple[TokenTemplate, ...] = (
    TokenTemplate(
        slug="acme-dns-01",
        title="ACME DNS-01 certificates",
        description="For certbot, lego, acme.sh, cert-manager or Caddy: writes only the "
        "_acme-challenge TXT records.",
        name="ACME DNS-01",
        scopes=("zones:write",),
        record_rules=(
            {"name": "_acme-challenge", "types": ["TXT"]},
            {"name": "_acme-challenge.*", "types": ["TXT"]},
        ),
        expiration="90",
    ),
    TokenTemplate(
        slug="cdn-purge",
        title="CDN purge from CI",
        description="Purges URLs and surrogate keys on the services you select.",
        name="CDN purge from CI",
        scopes=("purge_select",),
        selected=("services",),
        expiration="90",
    ),
    TokenTemplate(
        slug="read-only",
        title="Read-only monitoring",
        description="Reads everything your role allows, changes nothing.",
        name="Read-only monitoring",
        scopes=("global:read",),
    ),
    TokenTemplate(
        slug="certificate-renewer",
        title="Certificate renewer",
        description="An automation token that renews the account's TLS certificates.",
        name="Certificate renewer",
        scopes=("certificates:write",),
        token_type="automation",
        superusers_only=True,
        tls_access=True,
    ),
)
TEMPLATES_BY_SLUG = {template.slug: template for template in TEMPLATES}

PREFILL_KEYS = ("template", "name", "scopes", "expires", "type", "account")
EXPIRES_VALUES = (*(str(days) for days in EXPIRY_CHOICES_DAYS), "never")


def templates_for(superuser_accounts: Sequence[Account]) -> list[TokenTemplate]:
    """The template cards this person is offered."""
    return [t for t in TEMPLATES if not t.superusers_only or superuser_accounts]


def _from_template(template: TokenTemplate) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": template.name,
        "token_type": template.token_type,
        "scopes": list(template.scopes),
        "tls_access": template.tls_access,
        "rule_rows": [dict(rule) for rule in template.record_rules],
    }
    for kind in Kind:
        initial[resource_mode_name(kind)] = "selected" if kind in template.selected else "all"
    if template.expiration:
        initial["expiration"] = template.expiration
    return initial


def _account(value: str, superuser_accounts: Sequence[Account]) -> Account | None:
    return next((a for a in superuser_accounts if value in (a.slug, str(a.pk))), None)


def prefill(
    query: QueryDict, superuser_accounts: Sequence[Account]
) -> tuple[dict[str, Any], list[str]]:
    """The wizard's initial values from the link, and a notice per value dropped."""
    initial: dict[str, Any] = {}
    dropped: list[str] = []
    slug = query.get("template", "")
    if slug:
        template = TEMPLATES_BY_SLUG.get(slug)
        if template is None or template not in templates_for(superuser_accounts):
            dropped.append(f"template “{slug[:40]}”")
        else:
            initial.update(_from_template(template))
    name = query.get("name", "").strip()
    if name:
        if len(name) <= MAX_NAME_LENGTH and name.isprintable():
            initial["name"] = name
        else:
            dropped.append("name")
    if "scopes" in query:
        asked = [s.strip() for s in query.get("scopes", "").split(",") if s.strip()]
        initial["scopes"] = [s for s in SCOPES if s in asked]
        dropped += [f"scope “{s[:40]}”" for s in asked if s not in SCOPES]
    expires = query.get("expires", "")
    if expires:
        if expires in EXPIRES_VALUES:
            initial["expiration"] = expires
        else:
            dropped.append(f"expiry “{expires[:20]}”")
    token_type = query.get("type", "")
    if token_type:
        if token_type == TokenType.USER or (
            token_type == TokenType.AUTOMATION and superuser_accounts
        ):
            initial["token_type"] = token_type
        else:
            dropped.append(f"type “{token_type[:20]}”")
    account = query.get("account", "")
    if account:
        chosen = _account(account, superuser_accounts)
        if chosen is None:
            dropped.append(f"account “{account[:40]}”")
        else:
            initial["account"] = str(chosen.pk)
    return initial, dropped
