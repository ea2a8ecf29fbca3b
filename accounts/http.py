"""Request helpers shared by the panel and the API."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django_htmx.middleware import HtmxDetails

    from accounts.models import Account, Membership, User
    from accounts.services.identity import Throttled


class HtmxRequest(HttpRequest):
    """A request that went through django-htmx's middleware (every panel request does)."""

    htmx: HtmxDetails


class AuthenticatedRequest(HtmxRequest):
    """A request from a signed-in User: behind `signed_in_required`, or in the admin."""

    user: User


class AccountRequest(AuthenticatedRequest):
    """A request behind `account_view`: the user's membership of the account in the URL."""

    membership: Membership
    account: Account


# The account a person chose in the switcher: the top bar of the pages that belong to no
# account (Personal tokens, Profile) shows its links, and `/` leads to it.
CHOSEN_ACCOUNT_SESSION_KEY = "account_slug"


def account_choose(request: HttpRequest, slug: str) -> None:
    """Remember `slug` as the account the person chose (written only when it changes)."""
    if request.session.get(CHOSEN_ACCOUNT_SESSION_KEY) != slug:
        request.session[CHOSEN_ACCOUNT_SESSION_KEY] = slug


def chosen_account_slug(request: HttpRequest) -> str | None:
    return request.session.get(CHOSEN_ACCOUNT_SESSION_KEY)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's IP: REMOTE_ADDR, or the address our trusted proxies saw; None if unknown.

    With KEYWARD_TRUSTED_PROXIES = n, the n-th address from the right of
    X-Forwarded-For is the client (entries further left are caller-controlled);
    when that entry is not an IP address (`not-an-ip`, `999.1.1.1`, `1.2.3.4%eth0`,
    empty), it is ignored and the socket's address is used. An unknown address is
    None, never a placeholder: it matches no IP allow-list and is logged as no address.
    """
    trusted = settings.KEYWARD_TRUSTED_PROXIES
    if trusted:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= trusted:
            address = _ip_address(forwarded[-trusted])
            if address is not None:
                return address
    return request.META.get("REMOTE_ADDR") or None


def _ip_address(value: str) -> str | None:
    """`value` as an IP address in its canonical text, or None when it is not one.

    A scoped IPv6 address (`fe80::1%eth0`) is refused too: neither the database's
    address columns nor an allow-list can hold its zone.
    """
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return None
    return str(address)


def safe_next_url(request: HttpRequest, param: str = "next") -> str | None:
    """The URL in the `param` parameter (POST, else query string) if it stays on this site.

    None for anything else: another host, a scheme other than http(s), or plain
    http from an https page. Redirecting only to this keeps `?next=` from being
    an open redirect.
    """
    url = request.POST.get(param) or request.GET.get(param)
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def throttled_answer(response: HttpResponse, throttled: Throttled | None) -> HttpResponse:
    """A throttled form answers 429 with Retry-After, as the API does (SPEC 7)."""
    if throttled is not None:
        response.status_code = 429
        response["Retry-After"] = str(throttled.retry_after)
    return response


def form_error_status(request: HttpRequest) -> int:
    """The status of a page that shows a submitted form with its errors.

    200 for a normal submit: the page is the answer, and a browser logs no error for
    it. 422 for an htmx submit, which base.html's htmx-config swaps in all the same.
    """
    return 422 if getattr(request, "htmx", False) else 200
