"""DNS writes: records in an account's zones (create and delete)."""

from __future__ import annotations

import ipaddress
import re

from django.db import transaction

from accounts.constants import RecordType
from accounts.models import Record, Zone
from accounts.services.resources import (
    LABEL,
    ResourceValidationError,
    hostname_problem,
    log_write,
)
from tokens.events import Actor

RECORD_TTL_MIN, RECORD_TTL_MAX = 60, 7 * 86400
_RECORD_NAME_RE = re.compile(rf"^(?:\*|{LABEL})(?:\.{LABEL})*$")
_PRIORITY_TYPES = {RecordType.MX, RecordType.SRV}


def _clean_record(
    *, zone: Zone, type: str, name: str, content: str, ttl: int, priority: int | None
) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    type = (type or "").strip().upper()
    if type not in RecordType.values:
        errors["type"] = f"Choose one of {', '.join(RecordType.values)}."
    name = (name or "").strip().lower().rstrip(".")
    if name == "@":
        name = ""
    suffix = f".{zone.name}"
    if name.endswith(suffix) or name == zone.name:
        name = name[: -len(suffix)] if name != zone.name else ""
    if name and (len(name) > 253 or not _RECORD_NAME_RE.match(name)):
        errors["name"] = "Give the name relative to the zone, e.g. “www”, or “@” for the apex."
    content = (content or "").strip()
    if not content:
        errors["content"] = "Give the record's content."
    elif len(content) > 1000:
        errors["content"] = "Keep the content to 1000 characters or fewer."
    elif any(ord(ch) < 32 for ch in content):
        errors["content"] = "The content may not contain control characters."
    elif type == RecordType.A:
        try:
            ipaddress.IPv4Address(content)
        except ValueError:
            errors["content"] = "An A record points to an IPv4 address, e.g. 203.0.113.10."
    elif type == RecordType.AAAA:
        try:
            ipaddress.IPv6Address(content)
        except ValueError:
            errors["content"] = "An AAAA record points to an IPv6 address, e.g. 2001:db8::1."
    elif type in (RecordType.CNAME, RecordType.MX, RecordType.NS):
        content = content.lower()
        problem = hostname_problem(content, f"a {type} record's target")
        if problem:
            errors["content"] = problem
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int)
        or not (RECORD_TTL_MIN <= ttl <= RECORD_TTL_MAX)
    ):
        errors["ttl"] = f"The TTL is a number of seconds from {RECORD_TTL_MIN} to {RECORD_TTL_MAX}."
    if type in _PRIORITY_TYPES:
        if priority is None or isinstance(priority, bool) or not 0 <= priority <= 65535:
            errors["priority"] = f"A {type} record needs a priority from 0 to 65535."
    elif priority is not None and type in RecordType.values:
        errors["priority"] = "Only MX and SRV records take a priority."
    if not errors and type == RecordType.CNAME and not name:
        errors["name"] = "The zone apex cannot be a CNAME."
    if not errors:
        same_name = Record.objects.filter(zone=zone, name=name)
        if type == RecordType.CNAME and same_name.exists():
            errors["name"] = f"“{name}” already has records; a CNAME must stand alone."
        elif same_name.filter(type=RecordType.CNAME).exists():
            errors["name"] = f"“{name}” is a CNAME; it cannot have other records."
        elif same_name.filter(type=type, content=content).exists():
            errors["content"] = "This zone already has exactly this record."
    if errors:
        raise ResourceValidationError(errors)
    return type, name, content


@transaction.atomic
def record_create(
    *,
    actor: Actor,
    zone: Zone,
    type: str,
    name: str,
    content: str,
    ttl: int = 3600,
    priority: int | None = None,
) -> Record:
    """Add a DNS record to `zone` (name relative to the zone, "" or "@" for the apex)."""
    Zone.objects.select_for_update().filter(pk=zone.pk).first()
    type, name, content = _clean_record(
        zone=zone, type=type, name=name, content=content, ttl=ttl, priority=priority
    )
    record = Record.objects.create(
        zone=zone,
        type=type,
        name=name,
        content=content,
        ttl=ttl,
        priority=priority if type in _PRIORITY_TYPES else None,
    )
    log_write(
        actor=actor,
        account=zone.account,
        summary=f"created {type} record {name or '@'} in {zone.name}",
        details={
            "action": "record.created",
            "zone": {"id": zone.pk, "name": zone.name},
            "record": {"id": record.pk, "type": type, "name": name, "content": content},
        },
    )
    return record


@transaction.atomic
def record_delete(*, actor: Actor, record: Record) -> None:
    """Delete one DNS record."""
    zone = record.zone
    deleted, _ = Record.objects.filter(pk=record.pk).delete()
    if not deleted:
        return
    log_write(
        actor=actor,
        account=zone.account,
        summary=f"deleted {record.type} record {record.name or '@'} in {zone.name}",
        details={
            "action": "record.deleted",
            "zone": {"id": zone.pk, "name": zone.name},
            "record": {
                "id": record.pk,
                "type": record.type,
                "name": record.name,
                "content": record.content,
            },
        },
    )
