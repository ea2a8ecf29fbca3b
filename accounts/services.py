"""Writes and checks about identity: signing in (throttled), members and roles, deleting users."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.constants import (
    SIGN_IN_MAX_FAILURES_PER_EMAIL,
    SIGN_IN_MAX_FAILURES_PER_IP,
    SIGN_IN_WINDOW_SECONDS,
    SUDO_DURATION,
    RecordType,
    Role,
)
from accounts.http import client_ip
from accounts.models import (
    Account,
    Certificate,
    Domain,
    Membership,
    Purge,
    Record,
    Service,
    User,
    Zone,
)
from accounts.ratelimit import Limit, minutes_text
from accounts.roles import MANAGING_ROLES, manages_account
from accounts.selectors import memberships_managing
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token, TokenType

SIGN_IN_PER_EMAIL = Limit("sign-in-email", SIGN_IN_MAX_FAILURES_PER_EMAIL, SIGN_IN_WINDOW_SECONDS)
SIGN_IN_PER_IP = Limit("sign-in-ip", SIGN_IN_MAX_FAILURES_PER_IP, SIGN_IN_WINDOW_SECONDS)


class CredentialsRejected(Exception):
    """Sign-in refused; the message is safe to show (it never says which part was wrong)."""


class Throttled(CredentialsRejected):
    """Too many recent failures: the caller must wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Too many attempts. Try again in {minutes_text(retry_after)}.")


def _ip_key(request: HttpRequest) -> str:
    """The per-IP failure counter's key; clients whose address is unknown share one."""
    return client_ip(request) or "unknown"


def credentials_check(*, request: HttpRequest, email: str, password: str) -> User:
    """The active user with this email and password, or CredentialsRejected.

    Failures are counted per email and per client IP; once either limit is hit
    the password is not even checked until the window closes.
    """
    email_key, ip_key = email.strip().lower(), _ip_key(request)
    wait = max(
        SIGN_IN_PER_EMAIL.retry_after(email_key) or 0, SIGN_IN_PER_IP.retry_after(ip_key) or 0
    )
    if wait:
        raise Throttled(wait)
    user = authenticate(request, email=email_key, password=password)
    if user is None or user.is_synthetic:
        SIGN_IN_PER_EMAIL.record_failure(email_key)
        SIGN_IN_PER_IP.record_failure(ip_key)
        raise CredentialsRejected("That email and password do not match an account.")
    SIGN_IN_PER_EMAIL.reset(email_key)
    return user


# --------------------------------------------------------------------------- members


class MembershipChangeRefused(Exception):
    """A role change or removal that would break a rule; the message is safe to show."""


def _lock_managers(account_id: int) -> list[int]:
    """Lock the account's memberships and return the ids of those a human manages it with.

    The synthetic owner of legacy keys is a superuser member but cannot sign in,
    so it never counts as the superuser who keeps an account manageable.
    """
    rows = list(
        Membership.objects.select_for_update(of=("self",))
        .filter(account_id=account_id)
        .order_by("pk")
        .values_list("pk", "role", "user__is_synthetic")
    )
    return [pk for pk, role, synthetic in rows if manages_account(role) and not synthetic]


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    """Give a member another role in the account and log it.

    The member's user tokens follow on their next API request (bearer
    authentication reads the current role). The last superuser of an account
    cannot be demoted: someone must be able to manage it.
    """
    if role not in Role.values:
        raise MembershipChangeRefused("Choose superuser, engineer, user or billing.")
    managers = _lock_managers(membership.account_id)
    membership = Membership.objects.select_related("user", "account").get(pk=membership.pk)
    before = membership.role
    if before == role:
        return membership
    if manages_account(before) and not manages_account(role) and managers == [membership.pk]:
        raise MembershipChangeRefused(
            f"{membership.user.email} is the only superuser of {membership.account.name}. "
            "Make another member a superuser first."
        )
    membership.role = role
    membership.save(update_fields=["role"])
    event_record(
        kind=EventKind.ROLE_CHANGED,
        actor=actor,
        account=membership.account,
        summary=f"{actor.label or 'Someone'} changed the role of {membership.user.email} "
        f"from {Role(before).label.lower()} to {Role(role).label.lower()}",
        details={
            "member": membership.user.email,
            "before": {"role": before},
            "after": {"role": role},
        },
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    """Remove a member from the account and log it.

    Their user tokens stop acting in this account on the next request (they
    keep working in the member's other accounts). The last superuser cannot be removed.
    """
    managers = _lock_managers(membership.account_id)
    membership = Membership.objects.select_related("user", "account").get(pk=membership.pk)
    if manages_account(membership.role) and managers == [membership.pk]:
        raise MembershipChangeRefused(
            f"{membership.user.email} is the only superuser of {membership.account.name}. "
            "Make another member a superuser first."
        )
    membership.delete()
    event_record(
        kind=EventKind.MEMBER_REMOVED,
        actor=actor,
        account=membership.account,
        summary=f"{actor.label or 'Someone'} removed {membership.user.email} "
        f"({Role(membership.role).label.lower()}) from {membership.account.name}",
        details={"member": membership.user.email, "before": {"role": membership.role}},
    )


# --------------------------------------------------------------------------- deleting users


class UserDeletionBlocked(Exception):
    """The user cannot be deleted yet; `reasons` says why and `tokens` what to revoke."""

    def __init__(self, reasons: list[str], tokens: list[Token]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons
        self.tokens = tokens


def user_deletion_blockers(user: User) -> UserDeletionBlocked | None:
    """Why `user` cannot be deleted now, or None.

    A user token never outlives its owner (SPEC 3): every user token must be
    revoked first. An account must keep a superuser, so its last one stays too.
    """
    reasons: list[str] = []
    tokens = list(Token.objects.filter(user=user, type=TokenType.USER).order_by("name", "pk"))
    if tokens:
        names = ", ".join(f"“{token.name}” ({token.display})" for token in tokens[:20])
        more = f" and {len(tokens) - 20} more" if len(tokens) > 20 else ""
        reasons.append(
            f"{user.email} still has {len(tokens)} user token{pluralize(len(tokens))}: "
            f"{names}{more}. Revoke them first."
        )
    sole = [
        membership.account.name
        for membership in memberships_managing(user)
        .select_related("account")
        .annotate(
            managers=Count(
                "account__memberships",
                filter=Q(
                    account__memberships__role__in=MANAGING_ROLES,
                    account__memberships__user__is_synthetic=False,
                ),
            )
        )
        if membership.managers == 1
    ]
    if sole:
        reasons.append(
            f"{user.email} is the only superuser of {', '.join(sole)}. "
            "Make another member a superuser first."
        )
    return UserDeletionBlocked(reasons, tokens) if reasons else None


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete a person and their memberships, or raise UserDeletionBlocked (nothing deleted).

    Automation tokens they created keep working (the creator is recorded, not required).
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    blocked = user_deletion_blockers(user)
    if blocked:
        raise blocked
    user.delete()


# --------------------------------------------------------------------------- resource writes
# What the API (and any panel page) changes on an account's resources. Each is
# keyword-only and atomic, validates its input (ResourceValidationError, nothing
# written) and logs an `api.write` event whose summary starts with the actor's
# label, e.g. "Token “CI” (kwa_…x7Qa) created A record www in acme.example".

DOMAIN_RENEWAL_YEARS = 1
CERTIFICATE_VALIDITY = timedelta(days=90)
RECORD_TTL_MIN, RECORD_TTL_MAX = 60, 7 * 86400
SERVICE_TTL_MAX = 365 * 86400
MAX_PURGE_URL_LENGTH = 2000
MAX_SURROGATE_KEY_LENGTH = 256

_LABEL = r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)"
_RECORD_NAME_RE = re.compile(rf"^(?:\*|{_LABEL})(?:\.{_LABEL})*$")
_HOSTNAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SURROGATE_KEY_RE = re.compile(r"^[\x21-\x7e]+$")
_PRIORITY_TYPES = {RecordType.MX, RecordType.SRV}


class ResourceValidationError(ValidationError):
    """Bad input for a resource write; `message_dict` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__({field: [message] for field, message in errors.items()})


def _plus_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _log_write(*, actor: Actor, account: Account, summary: str, details: dict) -> None:
    event_record(
        kind=EventKind.API_WRITE,
        actor=actor,
        account=account,
        summary=f"{actor.label or 'Someone'} {summary}",
        details=details,
    )


def _hostname_error(value: str, what: str) -> str | None:
    if not value or len(value) > 253 or not _HOSTNAME_RE.match(value):
        return f"Give {what} as a host name, e.g. “origin.example.com”."
    return None


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
        problem = _hostname_error(content, f"a {type} record's target")
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
    _log_write(
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
    _log_write(
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
        expires_at=_plus_years(now, DOMAIN_RENEWAL_YEARS),
        auto_renew=bool(auto_renew),
    )
    _log_write(
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
    _log_write(
        actor=actor,
        account=domain.account,
        summary=f"deleted the domain {domain.name}",
        details={"action": "domain.deleted", "domain": {"id": domain.pk, "name": domain.name}},
    )


@transaction.atomic
def domain_renew(*, actor: Actor, domain: Domain) -> Domain:
    """Renew a registration for a year, from its current expiry (or from now if lapsed)."""
    domain = Domain.objects.select_for_update().select_related("account").get(pk=domain.pk)
    before = domain.expires_at
    domain.expires_at = _plus_years(max(before, timezone.now()), DOMAIN_RENEWAL_YEARS)
    domain.save(update_fields=["expires_at"])
    _log_write(
        actor=actor,
        account=domain.account,
        summary=f"renewed the domain {domain.name} until {domain.expires_at:%Y-%m-%d}",
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
    _log_write(
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
    _log_write(
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


@transaction.atomic
def service_update(
    *,
    actor: Actor,
    service: Service,
    name: str | None = None,
    hostname: str | None = None,
    origin: str | None = None,
    default_ttl: int | None = None,
) -> Service:
    """Change a CDN service's name, hostname, origin or default TTL (None: unchanged)."""
    service = Service.objects.select_for_update().select_related("account").get(pk=service.pk)
    errors: dict[str, str] = {}
    changes: dict[str, object] = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100 or any(ord(char) < 32 for char in name):
            errors["name"] = (
                "Give the service a name of 1 to 100 characters (no control characters)."
            )
        elif (
            Service.objects.filter(account_id=service.account_id, name=name)
            .exclude(pk=service.pk)
            .exists()
        ):
            errors["name"] = f"Another service in this account is called “{name}”."
        else:
            changes["name"] = name
    for field, value, what in (
        ("hostname", hostname, "the hostname"),
        ("origin", origin, "the origin"),
    ):
        if value is not None:
            value = value.strip().lower().rstrip(".")
            problem = _hostname_error(value, what)
            if problem:
                errors[field] = problem
            else:
                changes[field] = value
    if default_ttl is not None:
        if isinstance(default_ttl, bool) or not 0 <= default_ttl <= SERVICE_TTL_MAX:
            errors["default_ttl"] = (
                f"The default TTL is a number of seconds from 0 to {SERVICE_TTL_MAX}."
            )
        else:
            changes["default_ttl"] = default_ttl
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
    _log_write(
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
    _log_write(
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
    _log_write(
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


# --------------------------------------------------------------------------- sudo mode

SUDO_SESSION_KEY = "sudo"
SUDO_PER_USER = Limit("sudo-user", SIGN_IN_MAX_FAILURES_PER_EMAIL, SIGN_IN_WINDOW_SECONDS)
SUDO_PER_IP = Limit("sudo-ip", SIGN_IN_MAX_FAILURES_PER_IP, SIGN_IN_WINDOW_SECONDS)


class SudoRejected(CredentialsRejected):
    """The password re-check failed; the message is safe to show."""


def sudo_enter(*, request: HttpRequest, password: str) -> None:
    """Re-check the signed-in user's password and open sudo mode for SUDO_DURATION.

    Throttled like sign-in (failures per user and per client IP; raises Throttled
    while blocked, SudoRejected for a wrong password). Logs an `auth.sudo` event.
    """
    user, ip, ip_key = request.user, client_ip(request), _ip_key(request)
    user_key = str(user.pk)
    wait = max(SUDO_PER_USER.retry_after(user_key) or 0, SUDO_PER_IP.retry_after(ip_key) or 0)
    if wait:
        raise Throttled(wait)
    if not password or not user.check_password(password):
        SUDO_PER_USER.record_failure(user_key)
        SUDO_PER_IP.record_failure(ip_key)
        raise SudoRejected("That password is not right. Try again.")
    SUDO_PER_USER.reset(user_key)
    until = timezone.now() + SUDO_DURATION
    request.session[SUDO_SESSION_KEY] = {"user": user.pk, "until": until.timestamp()}
    event_record(
        kind=EventKind.SUDO,
        actor=Actor.person(user, ip=ip),
        summary=f"{user.email} confirmed their password (sudo mode)",
    )


def sudo_is_active(request: HttpRequest) -> bool:
    """True when the signed-in user re-entered their password within SUDO_DURATION."""
    state = request.session.get(SUDO_SESSION_KEY)
    if not request.user.is_authenticated or not isinstance(state, dict):
        return False
    if state.get("user") != request.user.pk:
        return False
    try:
        return float(state.get("until", 0)) > timezone.now().timestamp()
    except (TypeError, ValueError):
        return False
