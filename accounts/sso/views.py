"""The SSO page of an enterprise account, and Sign in with SSO (SPEC 17).

`/a/<slug>/sso/` is for the account's superusers: the identity provider's settings,
Test sign-in, Force SSO (with a preview of the tokens it would block) and turning SSO
off; every change needs sudo mode (a kept form is carried out after it) and is in the
event log. `/sign-in/sso/` takes an email and hands over to the account whose SSO
vouches for its domain; `/a/<slug>/sso/sign-in/` is the button of the page a forced
account shows to a session that did not come through its SSO.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import account_view, signed_in_required
from accounts.http import (
    AccountRequest,
    AuthenticatedRequest,
    client_ip,
    form_error_status,
    safe_next_url,
)
from accounts.roles import manages_account
from accounts.selectors import membership_get
from accounts.services.identity import sudo_is_active
from accounts.sso import flow
from accounts.sso.forms import SsoSettingsForm, SsoSignInForm
from accounts.sso.models import AccountSso
from accounts.sso.selectors import (
    email_domain,
    sso_for_email,
    sso_of,
    sso_offered,
    tokens_needing_sso,
)
from accounts.sso.services import (
    SsoChangeRefused,
    sso_configure,
    sso_force_set,
    sso_turn_off,
)
from accounts.sso.session import sso_session_valid
from accounts.sudo import sudo_detour, sudo_resumable
from tokens.events import Actor

TEMPLATE = "accounts/sso.html"
CHANGES = {"save", "test", "force_on", "force_off", "turn_off"}


def _initial(sso: AccountSso | None) -> dict[str, object]:
    if sso is None:
        return {}
    return {"issuer": sso.issuer, "client_id": sso.client_id, "domains": "\n".join(sso.domains)}


def _page(
    request: AccountRequest,
    sso: AccountSso | None,
    form: SsoSettingsForm,
    *,
    preview: list | None = None,
    status: int = 200,
) -> HttpResponse:
    callback = None
    if sso is not None or request.account.slug:
        provider_id = sso.provider_id if sso else f"sso-{request.account.slug}"
        callback = request.build_absolute_uri(
            reverse("openid_connect_callback", args=[provider_id])
        )
    context = {"sso": sso, "form": form, "preview": preview, "callback_url": callback}
    return render(request, TEMPLATE, context, status=status)


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def sso_settings(request: AccountRequest) -> HttpResponse:
    """The account's identity provider, Test sign-in and Force SSO (superusers, enterprise)."""
    account = request.account
    if not manages_account(request.membership.role) or not sso_offered(account):
        return render(request, "accounts/sso_forbidden.html", status=403)
    sso = sso_of(account)
    here = reverse("accounts:sso", args=[account.slug])
    if request.method == "GET":
        return _page(
            request, sso, SsoSettingsForm(initial=_initial(sso), has_secret=sso is not None)
        )
    action = request.POST.get("action", "save")
    if action in CHANGES and not sudo_is_active(request):
        return sudo_detour(request, cancel_url=here)
    actor = Actor.person(request.user, ip=client_ip(request))
    if action == "save":
        form = SsoSettingsForm(request.POST, has_secret=sso is not None, account_id=account.pk)
        if not form.is_valid():
            return _page(request, sso, form, status=form_error_status(request))
        data = form.cleaned_data
        sso_configure(
            actor=actor,
            account=account,
            issuer=data["issuer"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            domains=data["domains"],
        )
        messages.success(
            request, "Single sign-on settings saved. Run Test sign-in to switch it on."
        )
        return redirect(here)
    blank = SsoSettingsForm(initial=_initial(sso), has_secret=sso is not None)
    if sso is None or action not in CHANGES | {"force_preview"}:
        return _page(request, sso, blank, status=400)
    if action == "test":
        return flow.sso_start(request, sso, purpose=flow.TEST, email=request.user.email)
    if action == "force_preview":
        return _page(request, sso, blank, preview=list(tokens_needing_sso(account)))
    if action == "force_on" and not sso_session_valid(request, account.pk):
        # Forcing from a session that did not come through SSO would shut its author out.
        messages.error(
            request,
            "Run Test sign-in first: force SSO is turned on from a session that came "
            "through the account's single sign-on.",
        )
        return redirect(here)
    try:
        if action == "turn_off":
            sso_turn_off(actor=actor, account=account)
            messages.success(
                request, "Single sign-on is off: members sign in with their passwords."
            )
        else:
            sso_force_set(actor=actor, account=account, force=action == "force_on")
            state = "requires" if action == "force_on" else "no longer requires"
            messages.success(request, f"{account.name} {state} single sign-on.")
    except SsoChangeRefused as refused:
        messages.error(request, str(refused))
    return redirect(here)


@require_http_methods(["GET", "POST"])
def sso_sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in with SSO: the email's domain names the account whose provider takes over."""
    next_url = safe_next_url(request) or ""
    form = SsoSignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        sso = sso_for_email(email)
        if sso is not None:
            return flow.sso_start(
                request, sso, purpose=flow.SIGN_IN, next_url=next_url, email=email
            )
        form.add_error(
            "email",
            f"No account signs in {email_domain(email)} addresses with single sign-on. "
            "Sign in with your password.",
        )
    status = form_error_status(request) if form.errors else 200
    return render(
        request, "accounts/sso_sign_in.html", {"form": form, "next": next_url}, status=status
    )


@require_POST
@signed_in_required
def sso_account_sign_in(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The button of "<Account> requires single sign-on": through its provider, then back."""
    account = membership_get(user=request.user, slug=slug).account
    sso = sso_of(account)
    if sso is None or not sso.enabled or not sso_offered(account):
        raise Http404("No single sign-on here.")
    next_url = safe_next_url(request) or reverse("accounts:overview", args=[slug])
    return flow.sso_start(
        request, sso, purpose=flow.SIGN_IN, next_url=next_url, email=request.user.email
    )
