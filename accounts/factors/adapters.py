"""django-allauth's two adapters, set to Keyward's rules (ACCOUNT_ADAPTER, MFA_ADAPTER).

Keyward has no sign-up and no email verification; signing in ends with Keyward's
sign-in event and lands where the person was going; a second factor's secret is
stored encrypted; WebAuthn names the relying party "Keyward".
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse

from accounts.http import client_ip

SITE_NAME = "Keyward"


class AccountAdapter(DefaultAccountAdapter):
    """allauth.account as Keyward uses it: the login stages behind /sign-in/, nothing else."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # support creates people (SPEC 2)

    def get_login_stages(self) -> list[str]:
        # Only the second factor: no email verification, no login by code, no
        # "trust this browser" (every sign-in of a person with 2FA asks for it).
        return ["allauth.mfa.stages.AuthenticateStage"]

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request) or ""

    def pre_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> Any:
        if getattr(user, "is_synthetic", False):  # login-less owners of legacy keys
            return self.respond_user_inactive(request, user)
        return super().pre_login(request, user, **kwargs)

    def respond_user_inactive(self, request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
        from allauth.account.internal.stagekit import clear_login

        clear_login(request)
        messages.error(request, "That account cannot sign in. Ask Keyward support.")
        return redirect("accounts:sign-in")

    def post_login(
        self,
        request: HttpRequest,
        user: AbstractBaseUser,
        *,
        redirect_url: str | None,
        **kwargs: Any,
    ) -> HttpResponse:
        """Signed in: the event (with the method), then on to where the person was going.

        Replaces allauth's "Successfully signed in" message and its own redirect
        rules: `redirect_url` was checked to stay on this site by the sign-in view.
        """
        from accounts.models import User
        from accounts.services.identity import sign_in_record

        assert isinstance(user, User)  # AUTH_USER_MODEL
        sign_in_record(request=request, user=user)
        return HttpResponseRedirect(redirect_url or resolve_url(settings.LOGIN_REDIRECT_URL))

    def get_reauthentication_methods(self, user: AbstractBaseUser | AnonymousUser) -> list[dict]:
        # Reauthentication is Keyward's sudo mode (it asks for the right factor).
        if not user.is_authenticated:
            return []
        return [{"id": "sudo", "description": "Confirm it is you", "url": reverse("accounts:sudo")}]


@cache
def _sealer(keys: tuple[str, ...]) -> MultiFernet:
    """Fernet keys derived from SECRET_KEY and its fallbacks (newest first)."""

    def derive(secret: str) -> Fernet:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"keyward second factors"
        ).derive(secret.encode())
        return Fernet(base64.urlsafe_b64encode(key))

    return MultiFernet([derive(secret) for secret in keys])


def _keys() -> tuple[str, ...]:
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", []))


class FactorAdapter(DefaultMFAAdapter):
    """allauth.mfa as Keyward uses it: clear messages, encrypted secrets, "Keyward" as issuer."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": "That code is not right, or it was used already. Try again.",
    }

    def _get_site_name(self) -> str:
        return SITE_NAME

    def get_totp_issuer(self) -> str:
        return SITE_NAME

    def encrypt(self, text: str) -> str:
        """TOTP secrets and recovery-code seeds are stored encrypted (Fernet, from SECRET_KEY)."""
        return _sealer(_keys()).encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return _sealer(_keys()).decrypt(encrypted_text.encode()).decode()

    def generate_authenticator_name(self, user: AbstractBaseUser, type: Authenticator.Type) -> str:
        count = Authenticator.objects.filter(user_id=user.pk, type=type).count()
        return "Passkey" if count == 0 else f"Passkey {count + 1}"
