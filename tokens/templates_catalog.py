"""Token templates (SPEC 14): ready-made forms for common integrations, as data.

Each template only fills the create-token wizard (`/tokens/new/?template=SLUG`);
the person can change everything before **Generate token**, and the services
judge the result like any other token.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
