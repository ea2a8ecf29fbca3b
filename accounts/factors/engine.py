"""The one module that reaches into django-allauth's internals (SPEC 16).

Keyward's pages drive allauth's login stages and its authenticators (TOTP, recovery
codes, WebAuthn through fido2) from here: the cryptography is allauth's and fido2's,
never Keyward's. An allauth upgrade that moves these internals changes this module
only; everything else imports the names below.

Calls that read or write the session (a pending TOTP secret, a WebAuthn challenge)
need allauth's request context, which `allauth.account.middleware.AccountMiddleware`
sets for every request.
"""

from __future__ import annotations

from typing import Any, cast

from allauth.account.internal.flows.login import (
    get_authentication_records,
    perform_login,
    perform_password_login,
    record_authentication,
)
from allauth.account.internal.stagekit import clear_login
from allauth.account.models import Login
from allauth.account.stages import LoginStage, LoginStageController
from allauth.mfa.adapter import get_adapter
from allauth.mfa.base.internal.flows import post_authentication
from allauth.mfa.internal.constants import LoginStageKey
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal import auth as totp
from allauth.mfa.utils import decrypt
from allauth.mfa.webauthn.internal import auth as webauthn
from allauth.mfa.webauthn.internal.flows import perform_passwordless_login
from django.http import HttpRequest, HttpResponse

from accounts.cache import CACHE_ERRORS
from accounts.models import User

__all__ = [
    "Authenticator",
    "FactorType",
    "LoginStage",
    "code_verify",
    "factor_name",
    "factor_used",
    "login_abandon",
    "login_begin",
    "login_finish",
    "login_pending",
    "passkey_creation_options",
    "passkey_default_name",
    "passkey_is_passwordless",
    "passkey_login",
    "passkey_registration_verify",
    "passkey_request_options",
    "passkey_save",
    "passkey_verify",
    "recovery_codes_create",
    "recovery_codes_mark_shown",
    "recovery_codes_unused",
    "recovery_codes_were_shown",
    "sign_in_records",
    "sso_login",
    "sso_reauthenticated",
    "totp_code_matches",
    "totp_generate_secret",
    "totp_pending_secret",
    "totp_qr_svg",
    "totp_save",
    "totp_secret_of",
    "totp_start",
    "totp_uri",
]

FactorType = Authenticator.Type
# What fido2 raises on an answer that is not a WebAuthn answer at all (a missing field,
# a list instead of an object): allauth catches some of them, Keyward all of them.
MALFORMED = (AttributeError, KeyError, TypeError, ValueError)
MFA_STAGE = LoginStageKey.MFA_AUTHENTICATE.value


# --------------------------------------------------------------------------- sign-in stages


def login_begin(request: HttpRequest, *, user: User, email: str, redirect_url: str) -> HttpResponse:
    """The password was right: run allauth's login stages (the second factor, if any).

    Answers the redirect to the second-factor page, or, for a person without one,
    signs them in (the account adapter's `post_login` records the event).
    """
    login = Login(user=user, email=email, redirect_url=redirect_url or None)
    return perform_password_login(request, {"email": email}, login)


def sso_login(
    request: HttpRequest, *, user: User, provider_id: str, redirect_url: str
) -> HttpResponse:
    """An account's identity provider vouched for the person (SPEC 17): run the login stages.

    Recorded as allauth's "socialaccount" method; a person with a second factor is asked
    for it next, as after a password.
    """
    record_authentication(request, user, method="socialaccount", provider=provider_id)
    login = Login(user=user, email=user.email, redirect_url=redirect_url or None)
    return perform_login(request, login)


def sso_reauthenticated(request: HttpRequest, *, user: User, provider_id: str) -> None:
    """A signed-in person came through an account's identity provider again (SPEC 17)."""
    record_authentication(request, user, method="socialaccount", provider=provider_id)


def login_pending(request: HttpRequest) -> LoginStage | None:
    """The sign-in waiting for its second factor in this session, or None (none, or expired)."""
    return LoginStageController.enter(request, MFA_STAGE)


def login_finish(stage: LoginStage) -> HttpResponse:
    """The second factor was right: finish the sign-in (the redirect to where it goes)."""
    return stage.exit()


def login_abandon(request: HttpRequest) -> None:
    """Forget a half-done sign-in (the person starts again from the password)."""
    clear_login(request)


def passkey_login(
    request: HttpRequest, authenticator: Authenticator, redirect_url: str
) -> HttpResponse:
    """Sign in with a passkey alone: it is both factors (the authenticator verified the person)."""
    login = Login(user=authenticator.user, redirect_url=redirect_url or None)
    return perform_passwordless_login(request, authenticator, login)


def sign_in_records(request: HttpRequest, user: User) -> list[dict[str, Any]]:
    """How the person proved who they are in this session, oldest first (allauth's records)."""
    return get_authentication_records(request, user)


def factor_used(
    request: HttpRequest, authenticator: Authenticator, *, passwordless: bool = False
) -> None:
    """Record that `authenticator` was used: its last-used date and the session's record."""
    post_authentication(request, authenticator, passwordless=passwordless)


# --------------------------------------------------------------------------- codes


def code_verify(user: User, code: str) -> Authenticator:
    """The person's authenticator app or recovery codes accepting `code`, or ValidationError.

    A TOTP code is accepted once (allauth remembers used codes in the cache) and a
    recovery code is used up. Without a cache a right TOTP code is accepted without
    that memory: an outage of the cache never locks anyone out (SPEC 1).
    """
    for authenticator in Authenticator.objects.filter(user_id=user.pk).exclude(
        type=FactorType.WEBAUTHN
    ):
        wrapper = authenticator.wrap()
        try:
            accepted = wrapper.validate_code(code)
        except CACHE_ERRORS:
            accepted = authenticator.type == FactorType.TOTP and totp.validate_totp_code(
                totp_secret_of(authenticator), code
            )
        if accepted:
            used = wrapper.instance  # recovery codes re-read their row to use one up
            used.user = user
            return used
    raise get_adapter().validation_error("incorrect_code")


def totp_generate_secret() -> str:
    """A new random TOTP secret (base32), kept nowhere yet."""
    return totp.generate_totp_secret()


def totp_start(request: HttpRequest) -> str:
    """A new TOTP secret, kept in the session until the person confirms a first code."""
    return totp.get_totp_secret(regenerate=True)


def totp_pending_secret(request: HttpRequest) -> str | None:
    """The secret `totp_start` kept in this session, if any."""
    secret = request.session.get(totp.SECRET_SESSION_KEY)
    return secret if isinstance(secret, str) and secret else None


def totp_code_matches(secret: str, code: str) -> bool:
    """`code` is the secret's code for now (RFC 6238, MFA_TOTP_TOLERANCE steps either side)."""
    return totp.validate_totp_code(secret, code)


def totp_save(request: HttpRequest | None, user: User, secret: str) -> Authenticator:
    """Store the authenticator app (its secret encrypted by the factor adapter)."""
    authenticator = totp.TOTP.activate(user, secret).instance
    if request is not None:
        totp.clear_totp_secret(request)
    return authenticator


def totp_secret_of(authenticator: Authenticator) -> str:
    """The stored secret of an authenticator app, decrypted (the demo prints its own)."""
    return decrypt(authenticator.data["secret"])


def totp_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return get_adapter().build_totp_url(user, secret)


def totp_qr_svg(uri: str) -> str:
    """The QR code of `uri` as SVG markup (qrcode's SVG path factory: no script, no style)."""
    return get_adapter().build_totp_svg(uri)


# --------------------------------------------------------------------------- recovery codes


def recovery_codes_create(user: User) -> Authenticator:
    """A new set of recovery codes for `user`, replacing any old one."""
    Authenticator.objects.filter(user_id=user.pk, type=FactorType.RECOVERY_CODES).delete()
    return RecoveryCodes.activate(user).instance


def recovery_codes_unused(authenticator: Authenticator) -> list[str]:
    """The codes not used yet."""
    return cast(RecoveryCodes, authenticator.wrap()).get_unused_codes()


def recovery_codes_were_shown(authenticator: Authenticator) -> bool:
    """The codes were shown once already (they are never shown again)."""
    return cast(RecoveryCodes, authenticator.wrap()).did_view


def recovery_codes_mark_shown(authenticator: Authenticator) -> None:
    cast(RecoveryCodes, authenticator.wrap()).mark_as_viewed()


# --------------------------------------------------------------------------- WebAuthn


def passkey_creation_options(user: User) -> dict[str, Any]:
    """Options for navigator.credentials.create(); the challenge is kept in the session.

    Asked for as a security key (no resident key, user verification preferred); the
    page's script asks for a passkey instead when the person keeps "Sign in with it
    alone" ticked, as allauth's own script does.
    """
    return webauthn.begin_registration(user, False)


def passkey_registration_verify(credential: Any, *, passwordless: bool) -> None:
    """Check the authenticator's answer against the session's challenge (ValidationError)."""
    try:
        webauthn.parse_registration_response(credential)
        binding = webauthn.complete_registration(credential)
    except MALFORMED as error:
        raise get_adapter().validation_error("incorrect_code") from error
    if passwordless and not binding.is_user_verified():
        raise get_adapter().validation_error("incorrect_code")


def passkey_default_name(user: User) -> str:
    """The name the add form suggests ("Passkey", "Passkey 2", ...)."""
    return get_adapter().generate_authenticator_name(user, FactorType.WEBAUTHN)


def passkey_save(user: User, name: str, credential: dict[str, Any]) -> Authenticator:
    return webauthn.WebAuthn.add(user, name, credential).instance


def passkey_request_options(user: User | None) -> dict[str, Any]:
    """Options for navigator.credentials.get(); the challenge is kept in the session.

    For `user`, their own keys; for None (sign in with a passkey alone) any
    discoverable passkey, with user verification required.
    """
    return webauthn.begin_authentication(user)


def passkey_verify(user: User | None, credential: Any) -> Authenticator:
    """The passkey that signed the session's challenge, or ValidationError.

    A challenge is used once: a replayed assertion finds none. With no `user`
    (a passkey alone), the passkey names its owner and must have verified them.
    """
    try:
        response = webauthn.parse_authentication_response(credential)
        owner = user if user is not None else webauthn.extract_user_from_response(credential)
        authenticator = webauthn.complete_authentication(owner, credential)
    except MALFORMED as error:
        raise get_adapter().validation_error("incorrect_code") from error
    if user is None and not response.response.authenticator_data.is_user_verified():
        raise get_adapter().validation_error("incorrect_code")
    return authenticator


def passkey_is_passwordless(authenticator: Authenticator) -> bool:
    """The key is a passkey (discoverable: it signs in alone), not only a security key."""
    return bool(authenticator.wrap().is_passwordless)


def factor_name(authenticator: Authenticator) -> str:
    """A passkey's own name; the other factors are named by their kind."""
    if authenticator.type == FactorType.WEBAUTHN:
        return str(authenticator.data.get("name") or "Passkey")
    return ""
