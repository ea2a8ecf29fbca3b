"""CDN writes: changing a service's settings, and purging its cache (by URL, key or all)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from accounts.models import Purge, Service
from accounts.services.resources import ResourceValidationError, hostname_problem, log_write
from tokens.events import Actor

SERVICE_TTL_MAX = 365 * 86400
MAX_PURGE_URL_LENGTH = 2000
MAX_SURROGATE_KEY_LENGTH = 256
_SURROGATE_KEY_RE = re.compile(r"^[\x21-\x7e]+$")


class Unset:
    """A field not given to `service_update` (None is refused, it does not mean "unchanged")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


def _clean_service_name(service: Service, name: str) -> tuple[str, str | None]:
    name = name.strip()
    if not name or len(name) > 100 or any(ord(char) < 32 for char in name):
        return name, "Give the service a name of 1 to 100 characters (no control characters)."
    others = Service.objects.filter(account_id=service.account_id, name=name)
    if others.exclude(pk=service.pk).exists():
        return name, f"Another service in this account is called “{name}”."
    return name, None


def _clean_hostname(service: Service, hostname: str) -> tuple[str, str | None]:
    hostname = hostname.strip().lower().rstrip(".")
    return hostname, hostname_problem(hostname, "the hostname")


def _clean_origin(service: Service, origin: str) -> tuple[str, str | None]:
    origin = origin.strip().lower().rstrip(".")
    return origin, hostname_problem(origin, "the origin")


def _clean_default_ttl(service: Service, ttl: int) -> tuple[int, str | None]:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= SERVICE_TTL_MAX:
        return ttl, f"The default TTL is a number of seconds from 0 to {SERVICE_TTL_MAX}."
    return ttl, None


# The fields a service update may change, each with its check (the value, or a problem).
_SERVICE_FIELDS: dict[str, Callable[[Service, Any], tuple[Any, str | None]]] = {
    "name": _clean_service_name,
    "hostname": _clean_hostname,
    "origin": _clean_origin,
    "default_ttl": _clean_default_ttl,
}


def _check_given(given: dict[str, object]) -> None:
    """A change names at least one field, and sets none of them to None."""
    nulls = [field for field, value in given.items() if value is None]
    if nulls:
        raise ResourceValidationError(dict.fromkeys(nulls, "May not be null."))
    if not given:
        raise ResourceValidationError(
            {"__all__": f"Send at least one of {', '.join(_SERVICE_FIELDS)}."}
        )


@transaction.atomic
def service_update(
    *,
    actor: Actor,
    service: Service,
    name: str | Unset | None = UNSET,
    hostname: str | Unset | None = UNSET,
    origin: str | Unset | None = UNSET,
    default_ttl: int | Unset | None = UNSET,
) -> Service:
    """Change a CDN service's name, hostname, origin or default TTL: the fields given.

    At least one field must be given and none may be None (ResourceValidationError,
    nothing written: this is the PATCH rule of the API). Only fields whose value
    changes are written and logged.
    """
    fields: dict[str, object] = {
        "name": name,
        "hostname": hostname,
        "origin": origin,
        "default_ttl": default_ttl,
    }
    given = {field: value for field, value in fields.items() if value is not UNSET}
    _check_given(given)
    service = Service.objects.select_for_update().select_related("account").get(pk=service.pk)
    changes: dict[str, object] = {}
    errors: dict[str, str] = {}
    for field, value in given.items():
        cleaned, problem = _SERVICE_FIELDS[field](service, value)
        if problem:
            errors[field] = problem
        else:
            changes[field] = cleaned
    if errors:
        raise ResourceValidationError(errors)
    before = {field: getattr(service, field) for field in changes}
    changed = {field: value for field, value in changes.items() if before[field] != value}
    if not changed:
        return service
    for field, value in changed.items():
        setattr(service, field, value)
    service.updated_at = timezone.now()
    service.save(update_fields=[*changed, "updated_at"])
    log_write(
        actor=actor,
        account=service.account,
        summary=f"changed {', '.join(changed)} of the service {service.name}",
        details={
            "action": "service.updated",
            "service": {"id": service.pk, "name": service.name},
            "before": {field: before[field] for field in changed},
            "after": changed,
        },
    )
    return service


def _clean_purge_url(url: str, service: Service) -> str:
    url = url.strip()
    if len(url) > MAX_PURGE_URL_LENGTH:
        raise ResourceValidationError(
            {"url": f"Keep the URL to {MAX_PURGE_URL_LENGTH} characters or fewer."}
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ord(char) < 32 or ord(char) == 127 for char in url)
    ):
        raise ResourceValidationError(
            {"url": f"Give a full URL, e.g. https://{service.hostname}/index.html."}
        )
    if parts.hostname != service.hostname.lower():
        raise ResourceValidationError(
            {"url": f"The URL must be on the service's hostname, {service.hostname}."}
        )
    return url


@transaction.atomic
def service_purge(
    *, actor: Actor, service: Service, url: str | None = None, surrogate_key: str | None = None
) -> Purge:
    """Purge one URL or one surrogate key from a service's cache (exactly one of them)."""
    if (url is None) == (surrogate_key is None):
        raise ResourceValidationError(
            {"__all__": "Give either a URL or a surrogate key to purge, not both."}
        )
    if url is not None:
        kind, value = Purge.Kind.URL, _clean_purge_url(url, service)
    else:
        assert surrogate_key is not None  # exactly one of the two, checked above
        value = surrogate_key.strip()
        if not (1 <= len(value) <= MAX_SURROGATE_KEY_LENGTH) or not _SURROGATE_KEY_RE.match(value):
            raise ResourceValidationError(
                {
                    "surrogate_key": "A surrogate key is 1 to "
                    f"{MAX_SURROGATE_KEY_LENGTH} visible characters without spaces."
                }
            )
        kind = Purge.Kind.SURROGATE_KEY
    purge = Purge.objects.create(service=service, kind=kind, value=value, requested_by=actor.label)
    log_write(
        actor=actor,
        account=service.account,
        summary=f"purged {value[:120]} from the service {service.name}",
        details={
            "action": "service.purged",
            "service": {"id": service.pk, "name": service.name},
            "purge": {"id": purge.pk, "kind": kind, "value": value},
        },
    )
    return purge


@transaction.atomic
def service_purge_all(*, actor: Actor, service: Service) -> Purge:
    """Purge everything a service has cached."""
    purge = Purge.objects.create(service=service, kind=Purge.Kind.ALL, requested_by=actor.label)
    log_write(
        actor=actor,
        account=service.account,
        summary=f"purged everything from the service {service.name}",
        details={
            "action": "service.purged_all",
            "service": {"id": service.pk, "name": service.name},
            "purge": {"id": purge.pk, "kind": Purge.Kind.ALL},
        },
    )
    return purge
