"""The start and the end of a sign-in through an account's SSO (SPEC 17).

`sso_start` sends the browser to the identity provider (allauth: PKCE, state, and
Keyward's nonce). allauth's callback checks the state, trades the code and verifies
the ID token; then `sso_finish` (the adapter's pre_social_login) checks the nonce,
the issuer and the verified email, finds the member with that email, and:

- `sign_in`: notes the SSO in the session and signs the person in (a person with a
  second factor is asked for it next), or, already signed in as that person, sends
  them on;
- `test`: the superuser who pressed Test sign-in came back as themselves: SSO is enabled.

Anything else is a clear page and nothing changes: SSO never creates a person or a
membership.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base.constants import AuthError
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from requests import RequestException

from accounts.factors import engine
from accounts.http import client_ip
from accounts.models import Membership, User
from accounts.roles import manages_account
from accounts.services.identity import sign_in_record
from accounts.sso.models import AccountSso
from accounts.sso.selectors import email_domain, member_for_sso, sso_by_provider_id
from accounts.sso.services import sso_test_passed
from accounts.sso.session import sso_session_mark
from tokens.events import Actor

logger = logging.getLogger(__name__)

SIGN_IN = "sign_in"
TEST = "test"


class SsoRefused(Exception):
    """The identity provider's answer cannot sign anyone in here (title and words for the page)."""

    def __init__(self, message: str, *, title: str = "Single sign-on did not work") -> None:
        super().__init__(message)
        self.title = title
        self.message = message


def sso_start(
    request: HttpRequest, sso: AccountSso, *, purpose: str, next_url: str = "", email: str = ""
) -> HttpResponse:
    """Send the browser on to `sso`'s identity provider for `purpose` (SIGN_IN or TEST)."""
    provider = get_adapter(request).get_provider(request, sso.provider_id)
    auth_params = provider.get_auth_params()
    if email:
        auth_params["login_hint"] = email
    data = {
        "purpose": purpose,
        "account": sso.account_id,
        "user": request.user.pk if request.user.is_authenticated else None,
    }
    try:
        response = provider.redirect(
            request, "login", next_url=next_url or None, data=data, auth_params=auth_params
        )
    except (RequestException, ValueError, KeyError):  # its discovery document, fetched now
        logger.warning("SSO provider of account %s unreachable", sso.account_id)
        refused = SsoRefused(
            f"{sso.account.name}'s identity provider ({sso.issuer}) cannot be reached or did "
            "not answer with its discovery document. Nothing changed; try again later.",
            title="The identity provider is not answering",
        )
        return refusal_page(request, refused, status=502)
    if response.status_code != 302:
        return response
    # The page's CSP allows forms to post only here (form-action 'self'), and browsers
    # apply it to the redirects that follow a post: a page on this site goes on instead.
    context = {"url": response["Location"], "account": sso.account, "issuer": sso.issuer}
    return render(request, "accounts/sso_redirect.html", context)


def refusal_page(request: HttpRequest, refused: SsoRefused, *, status: int = 403) -> HttpResponse:
    return render(
        request,
        "accounts/sso_error.html",
        {"title": refused.title, "message": refused.message},
        status=status,
    )


def sso_failed(
    request: HttpRequest, *, error: str | None, exception: Exception | None, context: dict[str, Any]
) -> HttpResponse:
    """allauth stopped the flow: say why in words (never the provider's raw answer)."""
    if error == AuthError.CANCELLED:
        message = "You cancelled the sign-in at the identity provider. Nothing changed."
    elif "state_id" in context and context.get("state") is None:
        message = (
            "This answer does not belong to a sign-in started in this browser: its state is "
            "unknown, expired or already used. Nothing changed; start again."
        )
    elif exception is not None and "id_token" in str(exception):
        message = (
            "The identity provider's ID token did not pass the checks (signature, issuer, "
            "audience or expiry). Nothing changed."
        )
    elif exception is not None:
        logger.warning("SSO sign-in failed: %s", type(exception).__name__)
        message = (
            "The identity provider did not complete the sign-in (the code could not be "
            "exchanged, or the provider could not be reached). Nothing changed."
        )
    else:
        message = "The identity provider answered with an error. Nothing changed."
    return refusal_page(request, SsoRefused(message), status=400)


def sso_finish(request: HttpRequest, sociallogin: SocialLogin) -> HttpResponse:
    """The verified answer of the identity provider: sign in, or record a passed test."""
    state = sociallogin.state or {}
    data = state.get("data") or {}
    try:
        sso = _sso_of(sociallogin, data)
        user = _member(sso, state, sociallogin.account.extra_data or {})
        if request.user.is_authenticated and request.user.pk != user.pk:
            raise SsoRefused(
                f"You are signed in here as {request.user.email}, but the identity provider "
                f"signed in {user.email}. Nothing changed.",
                title="A different person",
            )
        if data.get("purpose") == TEST:
            return _test_passed(request, sso, user, data)
        if not sso.enabled:
            raise SsoRefused(f"Single sign-on of {sso.account.name} is not switched on yet.")
    except SsoRefused as refused:
        return refusal_page(request, refused)
    sso_session_mark(request, account_id=sso.account_id, user_id=user.pk)
    next_url = str(state.get("next") or "")
    if request.user.is_authenticated:  # the button of "<Account> requires single sign-on"
        engine.sso_reauthenticated(request, user=user, provider_id=sso.provider_id)
        sign_in_record(request=request, user=user)
        return redirect(next_url or reverse("accounts:overview", args=[sso.account.slug]))
    request.session["account_slug"] = sso.account.slug
    return engine.sso_login(request, user=user, provider_id=sso.provider_id, redirect_url=next_url)


def _sso_of(sociallogin: SocialLogin, data: dict[str, Any]) -> AccountSso:
    sso = sso_by_provider_id(sociallogin.account.provider)
    if sso is None or data.get("account") != sso.account_id:
        raise SsoRefused("This sign-in was not started for this account. Nothing changed.")
    return sso


def _member(sso: AccountSso, state: dict[str, Any], extra: dict[str, Any]) -> User:
    """The member the verified ID token names, or SsoRefused."""
    claims = extra.get("id_token") or {}
    nonce = str(claims.get("nonce") or "")
    if not state.get("nonce") or not constant_time_compare(nonce, str(state["nonce"])):
        raise SsoRefused("The ID token was not issued for this sign-in (its nonce differs).")
    if claims.get("iss") != sso.issuer:
        raise SsoRefused("The ID token comes from another issuer than the account's.")
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") not in (True, "true"):
        raise SsoRefused("The identity provider did not vouch for an email address.")
    account = sso.account
    if email_domain(email) not in sso.domains:
        raise SsoRefused(
            f"{account.name}'s single sign-on does not vouch for addresses at "
            f"{email_domain(email)}. Nothing changed."
        )
    user = member_for_sso(sso, email)
    if user is None:
        raise SsoRefused(
            f"{email} is not a member of {account.name}. Single sign-on never adds anyone: "
            f"ask a superuser of {account.name} to add you.",
            title=f"Not a member of {account.name}",
        )
    return user


def _test_passed(
    request: HttpRequest, sso: AccountSso, user: User, data: dict[str, Any]
) -> HttpResponse:
    """The Test sign-in came back: the same superuser who started it enables SSO."""
    role = (
        Membership.objects.filter(account_id=sso.account_id, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if data.get("user") != user.pk or not manages_account(role):
        raise SsoRefused(
            "A Test sign-in is for the superuser who started it: the identity provider signed "
            f"in {user.email}. Sign in there as yourself. Nothing changed."
        )
    sso_test_passed(actor=Actor.person(user, ip=client_ip(request)), account=sso.account)
    sso_session_mark(request, account_id=sso.account_id, user_id=user.pk)
    messages.success(
        request,
        f"Test sign-in worked: the identity provider signed you in as {user.email}. "
        f"Single sign-on of {sso.account.name} is on.",
    )
    return redirect("accounts:sso", slug=sso.account.slug)
