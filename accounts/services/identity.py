"""Who someone is: signing in (throttled), sudo mode (the re-check), deleting users.

A person with a second factor (SPEC 16) proves it after the password at sign-in, and
with it alone in sudo mode; failures of either count against the same limits as
passwords (accounts.ratelimit).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.constants import (
    SIGN_IN_MAX_FAILURES_PER_IP,
    SIGN_IN_WINDOW_SECONDS,
    SUDO_DURATION,
    AuthMethod,
)
from accounts.factors import engine
from accounts.factors.selectors import method_words
from accounts.factors.services import factor_method, factor_used
from accounts.http import AuthenticatedRequest, client_ip
from accounts.models import User
from accounts.ratelimit import Limit, PasswordLimits, minutes_text
from accounts.roles import MANAGING_ROLES
from accounts.selectors import memberships_managing, personal_tokens_of
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token

SIGN_IN_LIMITS = PasswordLimits.named("sign-in")


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


def password_alone_suffices(user: User) -> bool:
    """The person's password alone proves it is them (SPEC 16): not once they have a second
    factor. Sudo mode then asks for the factor; so must anything else that takes a password
    in place of a sign-in (`POST /api/v1/tokens` answers 403 `two_factor_required`)."""
    return not user.has_second_factor


def credentials_check(*, request: HttpRequest, email: str, password: str) -> User:
    """The active user with this email and password, or CredentialsRejected.

    Wrong passwords are counted per email and client IP, per email and per IP
    (accounts.ratelimit.PasswordLimits); once a limit is hit the password is not
    even checked until the window closes. A right password never counts.
    """
    email_key, ip_key = email.strip().lower(), _ip_key(request)
    wait = SIGN_IN_LIMITS.retry_after(email_key, ip_key)
    if wait:
        raise Throttled(wait)
    user = authenticate(request, email=email_key, password=password)
    if user is None or user.is_synthetic:
        SIGN_IN_LIMITS.failed(email_key, ip_key)
        raise CredentialsRejected("That email and password do not match an account.")
    if password_alone_suffices(user):
        # Signed in. With a second factor, only once that is right too
        # (second_factor_check): else each right password would give another round of
        # guesses at the code.
        SIGN_IN_LIMITS.succeeded(email_key, ip_key)
    return user


def _factor_check(
    *, user: User, code: str, credential: Any, limits: PasswordLimits, person: str, ip: str
) -> engine.Authenticator:
    """The person's factor accepting `code` or the passkey `credential`, counted like a password.

    Raises Throttled while a limit is reached (nothing is checked), CredentialsRejected
    for a wrong, reused or expired code or a passkey that does not answer the challenge.
    """
    wait = limits.retry_after(person, ip)
    if wait:
        raise Throttled(wait)
    try:
        if credential is not None:
            authenticator = engine.passkey_verify(user, credential)
        else:
            authenticator = engine.code_verify(user, code)
    except ValidationError as refusal:
        limits.failed(person, ip)
        raise CredentialsRejected(
            "That passkey was not accepted. Try again, or use a code."
            if credential is not None
            else " ".join(refusal.messages)
        ) from refusal
    limits.succeeded(person, ip)
    return authenticator


def second_factor_check(
    *, request: HttpRequest, user: User, code: str = "", credential: Any = None
) -> engine.Authenticator:
    """Sign-in's second step: a code (app or recovery) or a passkey of `user`.

    Counted per email and per client IP with the password failures (SPEC 16:
    "failures are rate limited like passwords"); a success clears the email's count.
    """
    email_key = user.email.lower()
    authenticator = _factor_check(
        user=user,
        code=code,
        credential=credential,
        limits=SIGN_IN_LIMITS,
        person=email_key,
        ip=_ip_key(request),
    )
    factor_used(request=request, user=user, authenticator=authenticator)
    return authenticator


PASSKEY_SIGN_IN_PER_IP = Limit("passkey-ip", SIGN_IN_MAX_FAILURES_PER_IP, SIGN_IN_WINDOW_SECONDS)


def passkey_sign_in_check(*, request: HttpRequest, credential: Any) -> engine.Authenticator:
    """Sign in with a passkey alone: the passkey that answered, or CredentialsRejected.

    Counted per client IP only: the passkey names its owner, and an attacker's
    payload must not lock someone else out.
    """
    ip_key = _ip_key(request)
    wait = PASSKEY_SIGN_IN_PER_IP.retry_after(ip_key)
    if wait:
        raise Throttled(wait)
    try:
        authenticator = engine.passkey_verify(None, credential)
    except ValidationError as refusal:
        PASSKEY_SIGN_IN_PER_IP.record_failure(ip_key)
        raise CredentialsRejected(
            "That passkey was not accepted. Try again, or sign in with your password."
        ) from refusal
    owner = authenticator.user
    if not owner.is_active or owner.is_synthetic:
        raise CredentialsRejected("That account cannot sign in. Ask Keyward support.")
    return authenticator


def sign_in_record(*, request: HttpRequest, user: User) -> None:
    """The sign-in event on the person's profile, with how they proved who they are.

    Read from the session's authentication records (allauth's): the password and
    the second factor after it, or a passkey alone.
    """
    method, second = _sign_in_method(engine.sign_in_records(request, user))
    words = f"{method_words(method)} and {method_words(second)}" if second else method_words(method)
    event_record(
        kind=EventKind.SIGN_IN,
        actor=Actor.person(user, ip=client_ip(request)),
        summary=f"{user.email} signed in with {words}",
        details={"method": method, **({"second_factor": second} if second else {})},
    )


def _sign_in_method(records: list[dict[str, Any]]) -> tuple[str, str]:
    """(method, second factor) of the latest sign-in in allauth's records."""
    latest = records[-1] if records else {}
    # An account's identity provider (allauth's "socialaccount"), maybe then a factor.
    by_sso = any(record.get("method") == "socialaccount" for record in records[-2:])
    first = AuthMethod.SSO if by_sso else AuthMethod.PASSWORD
    if latest.get("method") != "mfa":
        return first, ""
    if latest.get("passwordless"):
        return AuthMethod.PASSKEY, ""
    return first, factor_method(str(latest.get("type")))


# --------------------------------------------------------------------------- sudo mode

SUDO_SESSION_KEY = "sudo"
SUDO_LIMITS = PasswordLimits.named("sudo")


class SudoRejected(CredentialsRejected):
    """The re-check failed; the message is safe to show."""


def sudo_enter(
    *, request: AuthenticatedRequest, password: str = "", code: str = "", credential: Any = None
) -> None:
    """Confirm it is the signed-in person and open sudo mode for SUDO_DURATION.

    A person with a second factor confirms with it (a code from their app, a recovery
    code or a passkey): their password alone no longer suffices. Anyone else gives
    their password. Throttled like sign-in (failures per user and per client IP;
    raises Throttled while blocked, SudoRejected when refused). Logs an `auth.sudo`
    event with the method.
    """
    user, ip, ip_key = request.user, client_ip(request), _ip_key(request)
    user_key = str(user.pk)
    if not password_alone_suffices(user):
        if not code and credential is None:
            raise SudoRejected(
                "Confirm with your passkey, a code from your authenticator app or a recovery"
                " code: your password alone is not enough once two-factor authentication is on."
            )
        try:
            authenticator = _factor_check(
                user=user,
                code=code,
                credential=credential,
                limits=SUDO_LIMITS,
                person=user_key,
                ip=ip_key,
            )
        except Throttled:
            raise
        except CredentialsRejected as refusal:
            raise SudoRejected(str(refusal)) from refusal
        factor_used(request=request, user=user, authenticator=authenticator)
        method = factor_method(authenticator.type)
        summary = f"{user.email} confirmed it was them with {method_words(method)}"
    else:
        wait = SUDO_LIMITS.retry_after(user_key, ip_key)
        if wait:
            raise Throttled(wait)
        if not password or not user.check_password(password):
            SUDO_LIMITS.failed(user_key, ip_key)
            raise SudoRejected("That password is not right. Try again.")
        SUDO_LIMITS.succeeded(user_key, ip_key)
        method, summary = AuthMethod.PASSWORD, f"{user.email} confirmed their password"
    until = timezone.now() + SUDO_DURATION
    request.session[SUDO_SESSION_KEY] = {"user": user.pk, "until": until.timestamp()}
    event_record(
        kind=EventKind.SUDO,
        actor=Actor.person(user, ip=ip),
        summary=f"{summary} (sudo mode)",
        details={"method": method},
    )


def sudo_is_active(request: HttpRequest) -> bool:
    """True when the signed-in person confirmed it was them within SUDO_DURATION."""
    state = request.session.get(SUDO_SESSION_KEY)
    if not request.user.is_authenticated or not isinstance(state, dict):
        return False
    if state.get("user") != request.user.pk:
        return False
    try:
        return float(state.get("until", 0)) > timezone.now().timestamp()
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- deleting users


class UserDeletionBlocked(Exception):
    """The user cannot be deleted yet.

    `reasons` says why, for support staff (in the third person); `tokens` are the user
    tokens to revoke and `sole_accounts` the accounts they are the only superuser of,
    for the person's own page to say it in the second person.
    """

    def __init__(
        self, reasons: list[str], tokens: list[Token], sole_accounts: list[str] | None = None
    ) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons
        self.tokens = tokens
        self.sole_accounts = sole_accounts or []


def user_deletion_blockers(user: User) -> UserDeletionBlocked | None:
    """Why `user` cannot be deleted now, or None.

    A user token never outlives its owner (SPEC 3): every user token must be
    revoked first. An account must keep a superuser, so its last one stays too.
    """
    reasons: list[str] = []
    tokens = list(personal_tokens_of(user))
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
    return UserDeletionBlocked(reasons, tokens, sole) if reasons else None


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
