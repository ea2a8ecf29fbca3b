"""Reads of a person's second factors, for the security page, sudo, sign-in and support."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from accounts.constants import RECOVERY_CODE_COUNT, AuthMethod
from accounts.factors import engine
from accounts.factors.engine import Authenticator, FactorType
from accounts.models import User
from tokens.models import Event, EventKind


@dataclass(frozen=True)
class FactorRow:
    """One factor as people and support see it: never its secret."""

    id: int
    type: str
    label: str
    name: str
    added: datetime
    last_used: datetime | None
    detail: str = ""


@dataclass(frozen=True)
class Factors:
    """A person's factors, as the security page shows them."""

    app: FactorRow | None
    passkeys: list[FactorRow]
    recovery_codes: FactorRow | None
    codes_left: int

    @property
    def on(self) -> bool:
        """Two-factor authentication is on (an app or a key)."""
        return self.app is not None or bool(self.passkeys)


def factor_row(authenticator: Authenticator) -> FactorRow:
    """One authenticator as a row: its kind, name and dates."""
    if authenticator.type == FactorType.WEBAUTHN:
        passkey = engine.passkey_is_passwordless(authenticator)
        label = "Passkey" if passkey else "Security key"
        detail = "Signs in alone, or after your password" if passkey else "After your password"
        name = engine.factor_name(authenticator)
    elif authenticator.type == FactorType.TOTP:
        label, name, detail = "Authenticator app", "Authenticator app", "A 6-digit code"
    else:
        label, name, detail = "Recovery codes", "Recovery codes", "Single-use codes"
    return FactorRow(
        id=authenticator.pk,
        type=authenticator.type,
        label=label,
        name=name,
        added=authenticator.created_at,
        last_used=authenticator.last_used_at,
        detail=detail,
    )


def factors_of(user: User) -> Factors:
    """The person's authenticator app, passkeys (oldest first) and recovery codes."""
    authenticators = list(
        Authenticator.objects.filter(user_id=user.pk).order_by("created_at", "pk")
    )
    app = next((a for a in authenticators if a.type == FactorType.TOTP), None)
    codes = next((a for a in authenticators if a.type == FactorType.RECOVERY_CODES), None)
    return Factors(
        app=factor_row(app) if app else None,
        passkeys=[factor_row(a) for a in authenticators if a.type == FactorType.WEBAUTHN],
        recovery_codes=factor_row(codes) if codes else None,
        codes_left=len(engine.recovery_codes_unused(codes)) if codes else 0,
    )


def factor_rows_of(user: User) -> list[FactorRow]:
    """Every factor of the person in one list (support's view in the admin)."""
    factors = factors_of(user)
    rows = [*([factors.app] if factors.app else []), *factors.passkeys]
    if factors.recovery_codes:
        detail = f"{factors.codes_left} of {RECOVERY_CODE_COUNT} unused"
        rows.append(replace(factors.recovery_codes, detail=detail))
    return rows


def factor_types_of(user: User) -> set[str]:
    """Which kinds of factor the person has ("totp", "webauthn", "recovery_codes")."""
    return set(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))


def recovery_codes_of(user: User) -> Authenticator | None:
    return Authenticator.objects.filter(user_id=user.pk, type=FactorType.RECOVERY_CODES).first()


def method_words(method: str) -> str:
    """ "a password", "an authenticator app": what follows "with" in the event's words."""
    label = AuthMethod(method).label
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _method_text(details: dict[str, Any]) -> str:
    method, second = details.get("method"), details.get("second_factor")
    if method not in AuthMethod.values:
        return ""
    text = f" with {method_words(method)}"
    if second in AuthMethod.values:
        text += f" and {method_words(second)}"
    return text


def activity_text(event: Event) -> str:
    """What a personal event says on the person's profile ("Signed in with a passkey")."""
    details = event.details if isinstance(event.details, dict) else {}
    name = details.get("name") or "Passkey"
    if event.kind == EventKind.SIGN_IN:
        return "Signed in" + _method_text(details)
    if event.kind == EventKind.SUDO:
        method = details.get("method", AuthMethod.PASSWORD)
        if method == AuthMethod.PASSWORD:
            return "Password confirmed"
        return "Confirmed" + _method_text(details)
    if event.kind == EventKind.FACTOR_ADDED:
        return "Authenticator app added" if details.get("type") == "totp" else f"“{name}” added"
    if event.kind == EventKind.FACTOR_REMOVED:
        if details.get("all"):
            text = "All second factors removed by Keyward support"
        elif details.get("type") == "totp":
            text = "Authenticator app removed"
        else:
            text = f"“{name}” removed"
        return text + (": two-factor authentication is off" if details.get("last") else "")
    if event.kind == EventKind.RECOVERY_CODES_REGENERATED:
        return "Recovery codes generated"
    if event.kind == EventKind.RECOVERY_CODE_USED:
        return f"Recovery code used ({details.get('left', '?')} left)"
    return event.summary
