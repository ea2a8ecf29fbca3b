"""View decorators: signed-in users, and views scoped to one of the user's accounts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import render, resolve_url
from django_htmx.http import HttpResponseClientRedirect

from accounts.http import AccountRequest, AuthenticatedRequest, HtmxRequest
from accounts.selectors import membership_get
from accounts.sso.session import sso_session_valid

View = Callable[..., HttpResponse]


def signed_in_required(view: View) -> View:
    """Like login_required, but an htmx request gets a client-side redirect.

    Swapping the sign-in page into a table cell would be confusing; the htmx
    client follows HX-Redirect with a full page load instead.
    """

    @wraps(view)
    def wrapper(request: HtmxRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if getattr(request, "htmx", False):
            current = request.htmx.current_url_abs_path or request.get_full_path()
            login = resolve_url(settings.LOGIN_URL)
            return HttpResponseClientRedirect(f"{login}?next={current}")
        return redirect_to_login(request.get_full_path())

    return wrapper


def account_view(view: View) -> View:
    """Resolve `slug` to the signed-in user's membership (404 for any other account).

    The view receives an AccountRequest: `request.membership` and `request.account`;
    the page's top bar is that account's. Visiting a page of another account (a
    link from a token's page to its plan) does not change the account the person
    chose in the switcher: only the switcher does (accounts.views.overview).
    """

    @signed_in_required
    @wraps(view)
    def wrapper(
        request: AuthenticatedRequest, slug: str, *args: object, **kwargs: object
    ) -> HttpResponse:
        membership = membership_get(user=request.user, slug=slug)
        # This is where an AuthenticatedRequest becomes an AccountRequest.
        account_request = cast(AccountRequest, request)
        account_request.membership = membership
        account_request.account = membership.account
        if membership.account.require_2fa and not request.user.has_second_factor:
            # SPEC 16: in an account that requires it, a member without a second factor
            # sees only the way to add one.
            return render(
                account_request,
                "accounts/two_factor_required.html",
                {"account": membership.account},
                status=403,
            )
        if membership.account.force_sso and not sso_session_valid(request, membership.account_id):
            # SPEC 17: only a session that came through the account's SSO works in it.
            return render(
                account_request,
                "accounts/sso_required.html",
                {"account": membership.account, "next": request.get_full_path()},
                status=403,
            )
        return view(account_request, *args, **kwargs)

    return wrapper
