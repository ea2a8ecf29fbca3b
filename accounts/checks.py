"""Keyward's own `manage.py check --deploy` warnings (registered in AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

# Cache backends whose data lives in one process only.
_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """keyward.W001: in production without Redis, every worker keeps its own counts."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in _PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "The cache is this process's memory: rate limits (sign-in, failed bearer "
            "attempts and their block, leak reports) and usage counts live per process, "
            "so each worker allows the full limits and keeps its own counts.",
            hint="Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) so every worker and machine "
            "shares them.",
            id="keyward.W001",
        )
    ]
