"""Second factors (SPEC 16): every write of a person's authenticators, with its event.

An authenticator app (TOTP), passkeys and security keys (WebAuthn) and recovery
codes are allauth's `Authenticator` rows, written here and only here: each change
is an event on the person's profile (SPEC 9), and keeps `User.has_second_factor`
true exactly while the person has an app or a key (recovery codes stand in for
those; alone they are not a factor). Views put every change behind sudo mode.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.constants import AuthMethod
from accounts.factors import engine
from accounts.factors.engine import Authenticator, FactorType
from accounts.http import client_ip
from accounts.models import User
from tokens.events import Actor, event_record
from tokens.models import EventKind

# The factors that make two-factor authentication "on".
SECOND_FACTOR_TYPES = (FactorType.TOTP, FactorType.WEBAUTHN)
PASSKEY_NAME_MAX_LENGTH = 60

_METHODS = {
    FactorType.TOTP: AuthMethod.TOTP,
    FactorType.RECOVERY_CODES: AuthMethod.RECOVERY_CODE,
    FactorType.WEBAUTHN: AuthMethod.PASSKEY,
}


class FactorRefused(Exception):
    """The change cannot be made; the message is safe to show, nothing changed."""


class FactorNotFound(FactorRefused):
    """No such factor among the person's own (the page answers 404)."""


def factor_method(factor_type: str) -> str:
    """The AuthMethod of a factor type ("totp" -> authenticator app)."""
    return _METHODS[FactorType(factor_type)]


def _lock(user: User) -> None:
    """Serialise factor changes of one person (two tabs adding the first factor at once)."""
    User.objects.select_for_update().filter(pk=user.pk).first()


def _flag_sync(user: User) -> None:
    """`User.has_second_factor` follows the person's authenticators (read by the API's query)."""
    has = Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()
    User.objects.filter(pk=user.pk).update(has_second_factor=has)
    user.has_second_factor = has


def _record(kind: str, actor: Actor, summary: str, details: dict[str, Any]) -> None:
    event_record(kind=kind, actor=actor, summary=summary, details=details)


def _first_recovery_codes(actor: Actor, user: User) -> Authenticator | None:
    """Recovery codes come with the first factor (a lost phone must not lock anyone out)."""
    if Authenticator.objects.filter(user_id=user.pk, type=FactorType.RECOVERY_CODES).exists():
        return None
    codes = engine.recovery_codes_create(user)
    _record(
        EventKind.RECOVERY_CODES_REGENERATED,
        actor,
        f"{user.email} got recovery codes with their first second factor",
        {"first": True},
    )
    return codes


@transaction.atomic
def totp_add(
    *, actor: Actor, user: User, secret: str, request: HttpRequest | None = None
) -> Authenticator | None:
    """Set up an authenticator app whose first code was checked against `secret`.

    Returns the recovery codes made with it when it is the person's first factor
    (to be shown once), else None. One app per person: a second is refused.
    """
    _lock(user)
    if Authenticator.objects.filter(user_id=user.pk, type=FactorType.TOTP).exists():
        raise FactorRefused(
            "An authenticator app is already set up. Remove it first to set up another one."
        )
    engine.totp_save(request, user, secret)
    _record(
        EventKind.FACTOR_ADDED,
        actor,
        f"{user.email} added an authenticator app",
        {"type": FactorType.TOTP},
    )
    codes = _first_recovery_codes(actor, user)
    _flag_sync(user)
    return codes


@transaction.atomic
def passkey_add(
    *, actor: Actor, user: User, name: str, credential: dict[str, Any]
) -> tuple[Authenticator, Authenticator | None]:
    """Store a passkey or security key whose registration was verified (engine).

    Returns it and, when it is the person's first factor, their new recovery codes.
    """
    _lock(user)
    name = " ".join(name.split())[:PASSKEY_NAME_MAX_LENGTH] or "Passkey"
    authenticator = engine.passkey_save(user, name, credential)
    kind = "passkey" if engine.passkey_is_passwordless(authenticator) else "security key"
    _record(
        EventKind.FACTOR_ADDED,
        actor,
        f"{user.email} added the {kind} “{name}”",
        {"type": FactorType.WEBAUTHN, "name": name, "id": authenticator.pk},
    )
    codes = _first_recovery_codes(actor, user)
    _flag_sync(user)
    return authenticator, codes


def factor_get(*, user: User, factor_id: int) -> Authenticator:
    """One of the person's own apps or keys (FactorNotFound for anyone else's)."""
    authenticator = Authenticator.objects.filter(
        user_id=user.pk, pk=factor_id, type__in=SECOND_FACTOR_TYPES
    ).first()
    if authenticator is None:
        raise FactorNotFound("That factor does not exist, or was removed already.")
    return authenticator


@transaction.atomic
def factor_remove(*, actor: Actor, user: User, factor_id: int) -> str:
    """Remove one of the person's apps or keys; returns what it was, in words.

    Removing the last one turns two-factor authentication off: the recovery codes
    go with it (allauth's rule), and sudo mode asks for the password again.
    """
    _lock(user)
    authenticator = factor_get(user=user, factor_id=factor_id)
    if authenticator.type == FactorType.TOTP:
        what = "the authenticator app"
    else:
        what = f"the passkey “{engine.factor_name(authenticator)}”"
    authenticator.delete()
    last = not Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()
    if last:
        Authenticator.objects.filter(user_id=user.pk).delete()
    _record(
        EventKind.FACTOR_REMOVED,
        actor,
        f"{user.email} removed {what}" + (": two-factor authentication is off" if last else ""),
        {"type": authenticator.type, "name": engine.factor_name(authenticator), "last": last},
    )
    _flag_sync(user)
    return what


@transaction.atomic
def recovery_codes_regenerate(*, actor: Actor, user: User) -> Authenticator:
    """New recovery codes; the old ones stop working at once."""
    _lock(user)
    if not Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists():
        raise FactorRefused(
            "Add an authenticator app or a passkey first: recovery codes stand in for them."
        )
    codes = engine.recovery_codes_create(user)
    _record(
        EventKind.RECOVERY_CODES_REGENERATED,
        actor,
        f"{user.email} generated new recovery codes (the old ones no longer work)",
        {"first": False},
    )
    return codes


@transaction.atomic
def factors_remove_all(*, actor: Actor, user: User) -> int:
    """Support: remove every second factor of a locked-out person (logged as support)."""
    _lock(user)
    removed = Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).count()
    Authenticator.objects.filter(user_id=user.pk).delete()
    if removed:
        _record(
            EventKind.FACTOR_REMOVED,
            actor,
            f"{actor.label} removed all second factors of {user.email}: two-factor"
            " authentication is off",
            {"all": True, "person": user.email, "count": removed, "last": True},
        )
    _flag_sync(user)
    return removed


def factor_used(
    *, request: HttpRequest, user: User, authenticator: Authenticator, passwordless: bool = False
) -> None:
    """A factor proved who the person is (sign-in or sudo): its last-used date; a recovery
    code used up is an event that says how many are left."""
    engine.factor_used(request, authenticator, passwordless=passwordless)
    if authenticator.type == FactorType.RECOVERY_CODES:
        left = len(engine.recovery_codes_unused(authenticator))
        _record(
            EventKind.RECOVERY_CODE_USED,
            Actor.person(user, ip=client_ip(request)),
            f"{user.email} used a recovery code ({left} left)",
            {"left": left},
        )
