"""Signing in with a second factor (SPEC 16): the step after the password, and a passkey alone.

`second_factor` is allauth's login stage "mfa_authenticate" (accounts/factors/urls.py
gives it that URL name): the password was right, the person has an authenticator app
or a passkey, and this page asks for it. `passkey_sign_in` signs in with a passkey
alone, from the sign-in page's "Sign in with a passkey" button.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.factors import engine
from accounts.factors.engine import FactorType
from accounts.factors.forms import FactorForm
from accounts.factors.selectors import factor_types_of
from accounts.forms import SignInForm
from accounts.http import form_error_status, safe_next_url, throttled_answer
from accounts.models import User
from accounts.services.identity import (
    CredentialsRejected,
    Throttled,
    passkey_sign_in_check,
    second_factor_check,
)


def factor_choices(user: User) -> dict[str, bool]:
    """What the person can confirm with: an app, recovery codes, a passkey."""
    types = factor_types_of(user)
    return {
        "has_app": FactorType.TOTP in types,
        "has_codes": FactorType.RECOVERY_CODES in types,
        "has_passkey": FactorType.WEBAUTHN in types,
    }


def with_challenge(choices: dict[str, bool], user: User) -> dict[str, Any]:
    """`choices` and, for a person with a passkey, a fresh challenge for the page.

    Made when the page is drawn (after any answer was checked): the session keeps
    one challenge, and an answer to an older one never matches it.
    """
    options = engine.passkey_request_options(user) if choices["has_passkey"] else None
    return {**choices, "passkey_options": options}


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Sign-in's second step: a code or a passkey, for the person whose password was right.

    Without a sign-in waiting for it (none, or older than 15 minutes) it sends the
    person back to the password.
    """
    if request.user.is_authenticated:
        return redirect("accounts:home")
    stage = engine.login_pending(request)
    user = stage.login.user if stage is not None else None
    if stage is None or not isinstance(user, User):
        return redirect("accounts:sign-in")
    choices = factor_choices(user)
    form = FactorForm(request.POST or None, has_app=choices["has_app"])
    throttled: Throttled | None = None
    if request.method == "POST" and form.is_valid():
        try:
            second_factor_check(
                request=request,
                user=user,
                code=form.cleaned_data["code"],
                credential=form.cleaned_data["credential"],
            )
        except CredentialsRejected as rejected:
            form.add_error(None, str(rejected))
            throttled = rejected if isinstance(rejected, Throttled) else None
        else:
            return engine.login_finish(stage)
    context = {"form": form, "email": user.email, **with_challenge(choices, user)}
    response = render(request, "accounts/sign_in_second_factor.html", context)
    return throttled_answer(response, throttled)


class PasskeySignInForm(forms.Form):
    credential = forms.JSONField()


@never_cache
@require_http_methods(["GET", "POST"])
def passkey_sign_in(request: HttpRequest) -> HttpResponse:
    """GET: a challenge for any passkey (JSON, for static/js/passkeys.js). POST: its answer."""
    if request.method == "GET":
        return JsonResponse({"request_options": engine.passkey_request_options(None)})
    next_url = safe_next_url(request) or ""
    form = PasskeySignInForm(request.POST)
    throttled: Throttled | None = None
    if not form.is_valid():
        error = "Your browser did not send a passkey. Try again."
    else:
        try:
            authenticator = passkey_sign_in_check(
                request=request, credential=form.cleaned_data["credential"]
            )
        except CredentialsRejected as rejected:
            error = str(rejected)
            throttled = rejected if isinstance(rejected, Throttled) else None
        else:
            return engine.passkey_login(request, authenticator, next_url)
    context = {"form": SignInForm(), "next": next_url, "passkey_error": error}
    response = render(request, "accounts/sign_in.html", context, status=form_error_status(request))
    return throttled_answer(response, throttled)
