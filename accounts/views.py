"""Sign-in, sign-out and the account overview."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors
from accounts.decorators import account_view, signed_in_required
from accounts.forms import SignInForm
from accounts.services import CredentialsRejected, credentials_check
from tokens.permissions import Kind, role_can_read


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or "accounts:home")

    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = credentials_check(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except CredentialsRejected as rejected:
            form.add_error(None, str(rejected))
            status = 429 if hasattr(rejected, "retry_after") else 200
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url or "accounts:home")
    return render(request, "accounts/sign_in.html", {"form": form, "next": next_url}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:sign-in")


@signed_in_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the account they used last, or their first one."""
    memberships = list(selectors.memberships_of(request.user))
    if not memberships:
        return render(request, "accounts/no_account.html")
    slug = request.session.get("account_slug")
    chosen = next((m for m in memberships if m.account.slug == slug), memberships[0])
    return redirect("accounts:overview", slug=chosen.account.slug)


@account_view
def overview(request: HttpRequest) -> HttpResponse:
    """The account's resources, as far as the member's role may read them."""
    account, role = request.account, request.membership.role
    sections = []
    if role_can_read(role, Kind.ZONES):
        sections.append(("zones", "DNS zones", list(selectors.zones_of(account))))
    if role_can_read(role, Kind.DOMAINS) or role_can_read(role, Kind.REGISTRAR):
        sections.append(("domains", "Domains", list(selectors.domains_of(account))))
    if role_can_read(role, Kind.CERTIFICATES):
        sections.append(
            ("certificates", "TLS certificates", list(selectors.certificates_of(account)))
        )
    if role_can_read(role, Kind.SERVICES):
        sections.append(("services", "CDN services", list(selectors.services_of(account))))
    return render(request, "accounts/overview.html", {"sections": sections})
