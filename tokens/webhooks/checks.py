"""`manage.py check --deploy` about webhooks (imported by TokensConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def private_webhooks_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """keyward.W002: the SSRF rule of webhook URLs is lifted in production."""
    if settings.DEBUG or not getattr(settings, "KEYWARD_WEBHOOKS_ALLOW_PRIVATE", False):
        return []
    return [
        Warning(
            "KEYWARD_WEBHOOKS_ALLOW_PRIVATE is on: webhook endpoints may point at this "
            "network's private and loopback addresses and the cloud metadata service, "
            "over http.",
            hint="Unset KEYWARD_WEBHOOKS_ALLOW_PRIVATE; it is for tests and a receiver on "
            "the same machine.",
            id="keyward.W002",
        )
    ]
