"""The security page (/security/, SPEC 16): a person's second factors, each change behind sudo.

An authenticator app (QR code and secret, confirmed by a first code), passkeys and
security keys (several, named), recovery codes (shown once, downloadable as text).
Each change is a service of accounts.factors.services, and an event on the profile.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import signed_in_required
from accounts.factors import engine, selectors
from accounts.factors.forms import PasskeyAddForm, TotpConfirmForm
from accounts.factors.services import (
    FactorNotFound,
    FactorRefused,
    factor_get,
    factor_remove,
    passkey_add,
    recovery_codes_regenerate,
    totp_add,
)
from accounts.http import AuthenticatedRequest, client_ip, form_error_status
from accounts.services.identity import sudo_is_active
from accounts.sudo import sudo_detour, sudo_required, sudo_resumable
from tokens.events import Actor

SECURITY = "accounts:security"


def _actor(request: AuthenticatedRequest) -> Actor:
    return Actor.person(request.user, ip=client_ip(request))


def _after_adding(request: AuthenticatedRequest, codes: object | None) -> HttpResponse:
    """A first factor comes with recovery codes: show them (once) before anything else."""
    if codes is not None:
        return redirect("accounts:security-recovery-codes")
    return redirect(SECURITY)


@require_GET
@signed_in_required
def security(request: AuthenticatedRequest) -> HttpResponse:
    """The person's second factors and what they can do with them."""
    factors = selectors.factors_of(request.user)
    return render(
        request,
        "accounts/security.html",
        {"factors": factors, "sudo_active": sudo_is_active(request)},
    )


def _group(secret: str) -> str:
    """The secret in blocks of four, as people copy it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@require_http_methods(["GET", "POST"])
@signed_in_required
@sudo_required(cancel=SECURITY)
def totp_add_page(request: AuthenticatedRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the secret), enter a first code."""
    user = request.user
    if selectors.factors_of(user).app is not None:
        messages.info(request, "An authenticator app is already set up.")
        return redirect(SECURITY)
    form = TotpConfirmForm(request.POST or None)
    secret = engine.totp_pending_secret(request) if form.is_bound else None
    if form.is_bound and secret is None:
        messages.error(request, "That set-up expired. Scan this new QR code and try again.")
        return redirect("accounts:security-totp")
    secret = secret or engine.totp_start(request)
    if form.is_valid():
        if engine.totp_code_matches(secret, form.cleaned_data["code"]):
            try:
                codes = totp_add(actor=_actor(request), user=user, secret=secret, request=request)
            except FactorRefused as refusal:
                messages.error(request, str(refusal))
                return redirect(SECURITY)
            messages.success(request, "Authenticator app added: two-factor authentication is on.")
            return _after_adding(request, codes)
        form.add_error(
            "code",
            "That code is not right. Check that the app shows Keyward, and enter the code it"
            " shows now.",
        )
    uri = engine.totp_uri(user, secret)
    context = {
        "form": form,
        "secret": _group(secret),
        # allauth's QR code (qrcode's SVG path factory): markup Keyward made, no user input.
        "qr_svg": mark_safe(engine.totp_qr_svg(uri)),  # noqa: S308
    }
    return render(
        request,
        "accounts/security_totp.html",
        context,
        status=form_error_status(request) if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@signed_in_required
@sudo_required(cancel=SECURITY)
def passkey_add_page(request: AuthenticatedRequest) -> HttpResponse:
    """Add a passkey or security key: name it, then the browser asks the authenticator."""
    user = request.user
    form = PasskeyAddForm(
        request.POST or None,
        initial={"name": engine.passkey_default_name(user)},
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            engine.passkey_registration_verify(
                data["credential"], passwordless=data["passwordless"]
            )
        except ValidationError:
            form.add_error(
                None, "Your passkey's answer did not match this page. Try adding it again."
            )
        else:
            _, codes = passkey_add(
                actor=_actor(request), user=user, name=data["name"], credential=data["credential"]
            )
            messages.success(request, f"“{' '.join(data['name'].split())}” added.")
            return _after_adding(request, codes)
    context = {"form": form, "creation_options": engine.passkey_creation_options(user)}
    return render(
        request,
        "accounts/security_passkey.html",
        context,
        status=form_error_status(request) if form.errors else 200,
    )


@sudo_resumable
@require_http_methods(["GET", "POST"])
@signed_in_required
def factor_remove_page(request: AuthenticatedRequest, factor_id: int) -> HttpResponse:
    """Confirm, then remove an app or a key (the POST needs sudo mode, and is kept across it)."""
    user = request.user
    try:
        factor = factor_get(user=user, factor_id=factor_id)
    except FactorNotFound as missing:
        raise Http404(str(missing)) from missing
    if request.method == "POST":
        if not sudo_is_active(request):
            return sudo_detour(request, cancel_url=reverse(SECURITY))
        what = factor_remove(actor=_actor(request), user=user, factor_id=factor.pk)
        off = "" if user.has_second_factor else " Two-factor authentication is off."
        messages.success(request, f"Removed {what}.{off}")
        return redirect(SECURITY)
    factors = selectors.factors_of(user)
    last = (factors.app is not None) + len(factors.passkeys) == 1
    context = {"factor": selectors.factor_row(factor), "last": last}
    return render(request, "accounts/security_remove.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@signed_in_required
@sudo_required(cancel=SECURITY)
def recovery_codes_page(request: AuthenticatedRequest) -> HttpResponse:
    """Recovery codes: shown once, right after they are made; POST makes new ones."""
    user = request.user
    if request.method == "POST":
        try:
            recovery_codes_regenerate(actor=_actor(request), user=user)
        except FactorRefused as refusal:
            messages.error(request, str(refusal))
            return redirect(SECURITY)
        messages.success(request, "New recovery codes generated: the old ones no longer work.")
        return redirect("accounts:security-recovery-codes")
    authenticator = selectors.recovery_codes_of(user)
    if authenticator is None:
        return redirect(SECURITY)
    codes: list[str] = []
    if not engine.recovery_codes_were_shown(authenticator):
        # 1234-5678: easier to copy; the dash is optional when typed (CodeField drops it).
        codes = [f"{code[:4]}-{code[4:]}" for code in engine.recovery_codes_unused(authenticator)]
        engine.recovery_codes_mark_shown(authenticator)
    # Downloaded from the page itself (a data: link): the codes are never sent again.
    text = f"Keyward recovery codes for {user.email}\nEach code works once.\n\n"
    text += "".join(f"{code}\n" for code in codes)
    context = {
        "codes": codes,
        "download_href": "data:text/plain;charset=utf-8," + quote(text) if codes else "",
        "codes_left": len(engine.recovery_codes_unused(authenticator)),
    }
    return render(request, "accounts/security_recovery_codes.html", context)
