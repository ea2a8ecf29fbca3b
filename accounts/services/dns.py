"""DNS writes: records in an account's zones (create and delete).

Each record type's rules are a row of `_RECORD_RULES` (what its content must be,
whether it takes a priority); the checks common to all types are small functions.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

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
MAX_CONTENT_LENGTH = 1000
_RECORD_NAME_RE = re.compile(rf"^(?:\*|{LABEL})(?:\.{LABEL})*$")


def _ipv4_problem(content: str) -> str | None:
    try:
        ipaddress.IPv4Address(content)
    except ValueError:
        return "An A record points to an IPv4 address, e.g. 203.0.113.10."
    return None


def _ipv6_problem(content: str) -> str | None:
    try:
        ipaddress.IPv6Address(content)
    except ValueError:
        return "An AAAA record points to an IPv6 address, e.g. 2001:db8::1."
    return None


def _target_problem(type: str) -> Callable[[str], str | None]:
    """The check of a record whose content names another host (CNAME, MX, NS)."""
    return lambda content: hostname_problem(content, f"a {type} record's target")


@dataclass(frozen=True)
class _RecordRule:
    """What one record type asks of its content and priority."""

    content_problem: Callable[[str], str | None] | None = None
    lowercase: bool = False  # host names are stored in lower case
    takes_priority: bool = False


_RECORD_RULES: dict[str, _RecordRule] = {
    RecordType.A: _RecordRule(_ipv4_problem),
    RecordType.AAAA: _RecordRule(_ipv6_problem),
    RecordType.CNAME: _RecordRule(_target_problem(RecordType.CNAME), lowercase=True),
    RecordType.MX: _RecordRule(_target_problem(RecordType.MX), lowercase=True, takes_priority=True),
    RecordType.TXT: _RecordRule(),
    RecordType.NS: _RecordRule(_target_problem(RecordType.NS), lowercase=True),
    RecordType.SRV: _RecordRule(takes_priority=True),
    RecordType.CAA: _RecordRule(),
}


def _relative_name(name: str, zone: Zone) -> str:
    """The name relative to the zone: "" for the apex ("@", the zone's own name)."""
    name = (name or "").strip().lower().rstrip(".")
    if name == "@" or name == zone.name:
        return ""
    suffix = f".{zone.name}"
    return name[: -len(suffix)] if name.endswith(suffix) else name


def record_relative_name(name: str, zone: Zone) -> str:
    """The zone-relative name a record sent as `name` would be stored under ("" for the apex)."""
    return _relative_name(name, zone)


def _name_problem(name: str) -> str | None:
    if name and (len(name) > 253 or not _RECORD_NAME_RE.match(name)):
        return "Give the name relative to the zone, e.g. “www”, or “@” for the apex."
    return None


def _content_problem(content: str, rule: _RecordRule | None) -> str | None:
    """What is wrong with the (stripped) content for its type, or None."""
    if not content:
        return "Give the record's content."
    if len(content) > MAX_CONTENT_LENGTH:
        return f"Keep the content to {MAX_CONTENT_LENGTH} characters or fewer."
    if any(ord(char) < 32 for char in content):
        return "The content may not contain control characters."
    if rule is None or rule.content_problem is None:
        return None
    return rule.content_problem(content.lower() if rule.lowercase else content)


def _ttl_problem(ttl: int) -> str | None:
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int)
        or not RECORD_TTL_MIN <= ttl <= RECORD_TTL_MAX
    ):
        return f"The TTL is a number of seconds from {RECORD_TTL_MIN} to {RECORD_TTL_MAX}."
    return None


def _priority_problem(priority: int | None, type: str, rule: _RecordRule | None) -> str | None:
    if rule is None:
        return None  # the type is wrong already
    if not rule.takes_priority:
        return "Only MX and SRV records take a priority." if priority is not None else None
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 65535:
        return f"A {type} record needs a priority from 0 to 65535."
    return None


def _placement_problems(*, zone: Zone, type: str, name: str, content: str) -> dict[str, str]:
    """Where the record may not go: a CNAME at the apex or beside other records, a duplicate."""
    if type == RecordType.CNAME and not name:
        return {"name": "The zone apex cannot be a CNAME."}
    same_name = Record.objects.filter(zone=zone, name=name)
    if type == RecordType.CNAME and same_name.exists():
        return {"name": f"“{name}” already has records; a CNAME must stand alone."}
    if same_name.filter(type=RecordType.CNAME).exists():
        return {"name": f"“{name}” is a CNAME; it cannot have other records."}
    if same_name.filter(type=type, content=content).exists():
        return {"content": "This zone already has exactly this record."}
    return {}


def _clean_record(
    *, zone: Zone, type: str, name: str, content: str, ttl: int, priority: int | None
) -> tuple[str, str, str]:
    """The record's type, zone-relative name and content, normalised; or every problem."""
    type = (type or "").strip().upper()
    rule = _RECORD_RULES.get(type)
    name = _relative_name(name, zone)
    content = (content or "").strip()
    problems = {
        "type": None if rule else f"Choose one of {', '.join(RecordType.values)}.",
        "name": _name_problem(name),
        "content": _content_problem(content, rule),
        "ttl": _ttl_problem(ttl),
        "priority": _priority_problem(priority, type, rule),
    }
    errors = {field: problem for field, problem in problems.items() if problem}
    if rule is not None and rule.lowercase:
        content = content.lower()
    if not errors:
        errors = _placement_problems(zone=zone, type=type, name=name, content=content)
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
        priority=priority if _RECORD_RULES[type].takes_priority else None,
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
