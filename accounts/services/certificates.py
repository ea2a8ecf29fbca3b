"""Certificate writes: renewing (reissuing) a TLS certificate."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Certificate
from accounts.services.resources import log_write
from tokens.events import Actor

CERTIFICATE_VALIDITY = timedelta(days=90)


@transaction.atomic
def certificate_renew(*, actor: Actor, certificate: Certificate) -> Certificate:
    """Reissue a certificate: valid 90 days more, from its expiry (or from now if lapsed)."""
    certificate = (
        Certificate.objects.select_for_update().select_related("account").get(pk=certificate.pk)
    )
    before = certificate.expires_at
    now = timezone.now()
    certificate.issued_at = now
    certificate.expires_at = max(before, now) + CERTIFICATE_VALIDITY
    certificate.save(update_fields=["issued_at", "expires_at"])
    log_write(
        actor=actor,
        account=certificate.account,
        summary=f"renewed the certificate {certificate.name} until "
        f"{certificate.expires_at:%Y-%m-%d}",
        details={
            "action": "certificate.renewed",
            "certificate": {"id": certificate.pk, "name": certificate.name},
            "before": {"expires_at": before.isoformat()},
            "after": {"expires_at": certificate.expires_at.isoformat()},
        },
    )
    return certificate
