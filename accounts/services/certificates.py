"""Certificate writes: renewing (reissuing) a TLS certificate."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.dates import DateOutOfRange, day_text, plus
from accounts.models import Certificate
from accounts.services.resources import ResourceValidationError, log_write
from tokens.events import Actor

CERTIFICATE_VALIDITY = timedelta(days=90)


@transaction.atomic
def certificate_renew(*, actor: Actor, certificate: Certificate) -> Certificate:
    """Reissue a certificate: valid 90 days more, from its expiry (or from now if lapsed).

    ResourceValidationError (`expires_at`) when that would pass the year 9999.
    """
    certificate = (
        Certificate.objects.select_for_update().select_related("account").get(pk=certificate.pk)
    )
    before = certificate.expires_at
    now = timezone.now()
    try:
        certificate.expires_at = plus(max(before, now), CERTIFICATE_VALIDITY)
    except DateOutOfRange as out_of_range:
        raise ResourceValidationError(
            {"expires_at": f"{certificate.name} is valid as far ahead as possible. {out_of_range}"}
        ) from None
    certificate.issued_at = now
    certificate.save(update_fields=["issued_at", "expires_at"])
    log_write(
        actor=actor,
        account=certificate.account,
        summary=f"renewed the certificate {certificate.name} until "
        f"{day_text(certificate.expires_at)}",
        details={
            "action": "certificate.renewed",
            "certificate": {"id": certificate.pk, "name": certificate.name},
            "before": {"expires_at": before.isoformat()},
            "after": {"expires_at": certificate.expires_at.isoformat()},
        },
    )
    return certificate
