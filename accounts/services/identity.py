"""Who someone is: signing in (throttled), sudo mode (the password re-check), deleting users."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.constants import SUDO_DURATION
from accounts.http import AuthenticatedRequest, client_ip
from accounts.models import User
from accounts.ratelimit import PasswordLimits, minutes_text
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
    SIGN_IN_LIMITS.succeeded(email_key, ip_key)
    return user


# --------------------------------------------------------------------------- sudo mode

SUDO_SESSION_KEY = "sudo"
SUDO_LIMITS = PasswordLimits.named("sudo")


class SudoRejected(CredentialsRejected):
    """The password re-check failed; the message is safe to show."""


def sudo_enter(*, request: AuthenticatedRequest, password: str) -> None:
    """Re-check the signed-in user's password and open sudo mode for SUDO_DURATION.

    Throttled like sign-in, per user instead of email (raises Throttled while
    blocked, SudoRejected for a wrong password). Logs an `auth.sudo` event.
    """
    user, ip, ip_key = request.user, client_ip(request), _ip_key(request)
    user_key = str(user.pk)
    wait = SUDO_LIMITS.retry_after(user_key, ip_key)
    if wait:
        raise Throttled(wait)
    if not password or not user.check_password(password):
        SUDO_LIMITS.failed(user_key, ip_key)
        raise SudoRejected("That password is not right. Try again.")
    SUDO_LIMITS.succeeded(user_key, ip_key)
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
