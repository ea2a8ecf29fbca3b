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

from accounts.constants import Role
from accounts.models import Account, Membership
from tokens.constants import EXPIRY_CHOICES_DAYS, MAX_NAME_LENGTH
from tokens.forms import resource_mode_name
from tokens.kinds import Kind
from tokens.models import TokenType
from tokens.permissions import DEFAULT_AUTOMATION_ROLE, SCOPES
from tokens.scope_words import RoleIn, roles_in_accounts, scope_refusal


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
    role: str = ""  # an automation template's role: the least that does the job
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
        role=Role.USER,  # with TLS management: renews certificates, changes nothing else
        tls_access=True,
    ),
)
TEMPLATES_BY_SLUG = {template.slug: template for template in TEMPLATES}

PREFILL_KEYS = ("template", "name", "scopes", "expires", "type", "account")
EXPIRES_VALUES = (*(str(days) for days in EXPIRY_CHOICES_DAYS), "never")


@dataclass(frozen=True)
class TemplateOffer:
    """A template card: the template, and why this person cannot use it (None: they can)."""

    template: TokenTemplate
    refusal: str | None = None


def template_refusal(
    template: TokenTemplate,
    superuser_accounts: Sequence[Account],
    memberships: Sequence[Membership],
) -> str | None:
    """Why the template does not fit this person's roles, in words naming both; None if it
    fits (every scope it ticks is one their role allows, as the wizard's checkboxes say)."""
    if template.superusers_only and not superuser_accounts:
        held = ", ".join(f"{m.get_role_display().lower()} in {m.account.name}" for m in memberships)
        return (
            f"{template.title} makes an automation token, which only a superuser of an account "
            f"creates; your role is {held or 'none'}."
        )
    if template.token_type == TokenType.AUTOMATION:
        roles = [RoleIn(template.role or DEFAULT_AUTOMATION_ROLE, tls_access=template.tls_access)]
    else:
        roles = roles_in_accounts(memberships)
    for scope in template.scopes:
        refusal = scope_refusal(scope, roles)
        if refusal is not None:
            return f"{template.title} is not for your role: {refusal[0].lower()}{refusal[1:]}"
    return None


def templates_for(
    superuser_accounts: Sequence[Account], memberships: Sequence[Membership]
) -> list[TemplateOffer]:
    """The template cards, each offered or disabled with the reason."""
    return [
        TemplateOffer(t, template_refusal(t, superuser_accounts, memberships)) for t in TEMPLATES
    ]


def _from_template(template: TokenTemplate) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": template.name,
        "token_type": template.token_type,
        "scopes": list(template.scopes),
        "tls_access": template.tls_access,
        "rule_rows": [dict(rule) for rule in template.record_rules],
    }
    if template.role:
        initial["role"] = template.role
    for kind in Kind:
        initial[resource_mode_name(kind)] = "selected" if kind in template.selected else "all"
    if template.expiration:
        initial["expiration"] = template.expiration
    return initial


def _account(value: str, superuser_accounts: Sequence[Account]) -> Account | None:
    return next((a for a in superuser_accounts if value in (a.slug, str(a.pk))), None)


def _template_prefill(
    slug: str,
    superuser_accounts: Sequence[Account],
    memberships: Sequence[Membership],
    initial: dict[str, Any],
    dropped: list[str],
) -> None:
    """Fill `initial` from the template `slug`, or say in `dropped` why it was not used."""
    template = TEMPLATES_BY_SLUG.get(slug)
    if template is None:
        dropped.append(f"template “{slug[:40]}”")
        return
    refusal = template_refusal(template, superuser_accounts, memberships)
    if refusal is not None:
        dropped.append(refusal.rstrip("."))
        return
    initial.update(_from_template(template))


def prefill(
    query: QueryDict, superuser_accounts: Sequence[Account], memberships: Sequence[Membership]
) -> tuple[dict[str, Any], list[str]]:
    """The wizard's initial values from the link, and a notice per value dropped."""
    initial: dict[str, Any] = {}
    dropped: list[str] = []
    slug = query.get("template", "")
    if slug:
        _template_prefill(slug, superuser_accounts, memberships, initial, dropped)
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
