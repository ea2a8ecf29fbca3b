"""Domain writes: registering, renewing and removing domains, and their auto-renewal."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from accounts.dates import DateOutOfRange, day_text, plus_years
from accounts.models import Account, Domain
from accounts.services.resources import ResourceValidationError, log_write
from tokens.events import Actor

DOMAIN_RENEWAL_YEARS = 1
_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@transaction.atomic
def domain_create(*, actor: Actor, account: Account, name: str, auto_renew: bool = False) -> Domain:
    """Register a domain for `account` for one year."""
    name = (name or "").strip().lower().rstrip(".")
    if len(name) > 253 or not _DOMAIN_RE.match(name):
        raise ResourceValidationError({"name": "Give a domain name such as “example.com”."})
    Account.objects.select_for_update().filter(pk=account.pk).first()
    if Domain.objects.filter(account=account, name=name).exists():
        raise ResourceValidationError({"name": f"{name} is already registered in this account."})
    now = timezone.now()
    domain = Domain.objects.create(
        account=account,
        name=name,
        registered_at=now,
        expires_at=plus_years(now, DOMAIN_RENEWAL_YEARS),
        auto_renew=bool(auto_renew),
    )
    log_write(
        actor=actor,
        account=account,
        summary=f"registered the domain {name}",
        details={"action": "domain.created", "domain": {"id": domain.pk, "name": name}},
    )
    return domain


@transaction.atomic
def domain_delete(*, actor: Actor, domain: Domain) -> None:
    """Remove a domain from its account (and from every token's selection)."""
    deleted, _ = Domain.objects.filter(pk=domain.pk).delete()
    if not deleted:
        return
    log_write(
        actor=actor,
        account=domain.account,
        summary=f"deleted the domain {domain.name}",
        details={"action": "domain.deleted", "domain": {"id": domain.pk, "name": domain.name}},
    )


@transaction.atomic
def domain_renew(*, actor: Actor, domain: Domain) -> Domain:
    """Renew a registration for a year, from its current expiry (or from now if lapsed).

    ResourceValidationError (`expires_at`) when that would pass the year 9999.
    """
    domain = Domain.objects.select_for_update().select_related("account").get(pk=domain.pk)
    before = domain.expires_at
    try:
        domain.expires_at = plus_years(max(before, timezone.now()), DOMAIN_RENEWAL_YEARS)
    except DateOutOfRange as out_of_range:
        raise ResourceValidationError(
            {"expires_at": f"{domain.name} is registered as far ahead as possible. {out_of_range}"}
        ) from None
    domain.save(update_fields=["expires_at"])
    log_write(
        actor=actor,
        account=domain.account,
        summary=f"renewed the domain {domain.name} until {day_text(domain.expires_at)}",
        details={
            "action": "domain.renewed",
            "domain": {"id": domain.pk, "name": domain.name},
            "before": {"expires_at": before.isoformat()},
            "after": {"expires_at": domain.expires_at.isoformat()},
        },
    )
    return domain


@transaction.atomic
def domain_auto_renew_set(*, actor: Actor, domain: Domain, enabled: bool) -> Domain:
    """Turn a domain's auto-renewal on or off (logged only when it changes)."""
    domain = Domain.objects.select_for_update().select_related("account").get(pk=domain.pk)
    if domain.auto_renew == enabled:
        return domain
    domain.auto_renew = enabled
    domain.save(update_fields=["auto_renew"])
    log_write(
        actor=actor,
        account=domain.account,
        summary=f"turned auto-renewal {'on' if enabled else 'off'} for {domain.name}",
        details={
            "action": "domain.auto_renewal",
            "domain": {"id": domain.pk, "name": domain.name},
            "before": {"auto_renew": not enabled},
            "after": {"auto_renew": enabled},
        },
    )
    return domain
