"""Request helpers shared by the panel and the API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The caller's IP: REMOTE_ADDR, or the address our trusted proxies saw.

    With KEYWARD_TRUSTED_PROXIES = n, the n-th address from the right of
    X-Forwarded-For is the client (entries further left are caller-controlled).
    """
    trusted = settings.KEYWARD_TRUSTED_PROXIES
    if trusted:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 (unknown peer)
