"""Sign-in, sign-out, the account overview, members (superusers) and the profile."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors
from accounts.constants import (
    PLAN_MONTHLY_PRICE_USD,
    Plan,
    Role,
    plan_scopes_automation_tokens,
)
from accounts.decorators import account_view, signed_in_required
from accounts.forms import DeleteAccountForm, MemberRoleForm, SignInForm, SudoForm
from accounts.http import AccountRequest, AuthenticatedRequest, client_ip, safe_next_url
from accounts.models import Membership
from accounts.roles import manages_account, role_can_read
from accounts.services.identity import (
    CredentialsRejected,
    Throttled,
    UserDeletionBlocked,
    credentials_check,
    sudo_enter,
    sudo_is_active,
    user_delete,
)
from accounts.services.members import (
    MembershipChangeRefused,
    membership_change_role,
    membership_remove,
)
from tokens.events import Actor, event_record
from tokens.models import EventKind, Token


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next_url(request) or ""
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or "accounts:home")

    form = SignInForm(request.POST or None)
    throttled: Throttled | None = None
    if request.method == "POST" and form.is_valid():
        try:
            user = credentials_check(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except CredentialsRejected as rejected:
            form.add_error(None, str(rejected))
            throttled = rejected if isinstance(rejected, Throttled) else None
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            event_record(
                kind=EventKind.SIGN_IN,
                actor=Actor.person(user, ip=client_ip(request)),
                summary=f"{user.email} signed in",
            )
            return redirect(next_url or "accounts:home")
    response = render(request, "accounts/sign_in.html", {"form": form, "next": next_url})
    return _throttled_answer(response, throttled)


def _throttled_answer(response: HttpResponse, throttled: Throttled | None) -> HttpResponse:
    """A throttled form answers 429 with Retry-After, as the API does (SPEC 7)."""
    if throttled is not None:
        response.status_code = 429
        response["Retry-After"] = str(throttled.retry_after)
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:sign-in")


@signed_in_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Send the user to the account they used last, or their first one."""
    memberships = list(selectors.memberships_of(request.user))
    if not memberships:
        return render(request, "accounts/no_account.html")
    slug = request.session.get("account_slug")
    chosen = next((m for m in memberships if m.account.slug == slug), memberships[0])
    return redirect("accounts:overview", slug=chosen.account.slug)


@account_view
def overview(request: AccountRequest) -> HttpResponse:
    """The account's resources, as far as the member's role may read them."""
    account, role = request.account, request.membership.role
    sections: list[tuple[str, str, list[Model]]] = []
    if role_can_read(role, "zones"):
        sections.append(("zones", "DNS zones", list(selectors.zones_of(account))))
    if role_can_read(role, "domains") or role_can_read(role, "registrar"):
        sections.append(("domains", "Domains", list(selectors.domains_of(account))))
    if role_can_read(role, "certificates"):
        sections.append(
            ("certificates", "TLS certificates", list(selectors.certificates_of(account)))
        )
    if role_can_read(role, "services"):
        sections.append(("services", "CDN services", list(selectors.services_of(account))))
    return render(request, "accounts/overview.html", {"sections": sections})


@account_view
def plan(request: AccountRequest) -> HttpResponse:
    """The plans, the account's own, and what scoped automation tokens need (any member)."""
    plans = [
        {
            "value": value,
            "label": label,
            "price": PLAN_MONTHLY_PRICE_USD[value],
            "scoped_automation": plan_scopes_automation_tokens(value),
            "current": value == request.account.plan,
        }
        for value, label in Plan.choices
    ]
    scoped_here = plan_scopes_automation_tokens(request.account.plan)
    return render(request, "accounts/plan.html", {"plans": plans, "scoped_here": scoped_here})


# --------------------------------------------------------------------------- members


def _members_forbidden(request: HttpRequest) -> HttpResponse:
    """Members who do not manage the account get a 403 page that says so (nothing changes)."""
    return render(request, "accounts/members_forbidden.html", status=403)


@account_view
def members(request: AccountRequest) -> HttpResponse:
    """Superusers: the account's members, their roles and how many active tokens each has."""
    if not manages_account(request.membership.role):
        return _members_forbidden(request)
    rows = [
        (membership, MemberRoleForm(initial={"role": membership.role}, prefix=f"m{membership.pk}"))
        for membership in selectors.members_of(request.account)
    ]
    return render(request, "accounts/members.html", {"rows": rows})


@require_POST
@account_view
def member_role(request: AccountRequest, membership_id: int) -> HttpResponse:
    """Change a member's role; their user tokens follow on the next API request."""
    if not manages_account(request.membership.role):
        return _members_forbidden(request)
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, account=request.account
    )
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        messages.error(request, "Choose superuser, engineer, user or billing.")
        return redirect("accounts:members", slug=request.account.slug)
    try:
        membership_change_role(
            actor=Actor.person(request.user, ip=client_ip(request)),
            membership=membership,
            role=form.cleaned_data["role"],
        )
    except MembershipChangeRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            f"{membership.user.email} is now {Role(form.cleaned_data['role']).label.lower()}.",
        )
    if membership.user_id == request.user.pk and not manages_account(
        Membership.objects.filter(pk=membership.pk).values_list("role", flat=True).first()
    ):  # they demoted themselves: the members page is no longer theirs
        return redirect("accounts:overview", slug=request.account.slug)
    return redirect("accounts:members", slug=request.account.slug)


@require_http_methods(["GET", "POST"])
@account_view
def member_remove(request: AccountRequest, membership_id: int) -> HttpResponse:
    """Confirm, then remove a member: their user tokens stop acting in this account."""
    if not manages_account(request.membership.role):
        return _members_forbidden(request)
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, account=request.account
    )
    if request.method == "POST":
        try:
            membership_remove(
                actor=Actor.person(request.user, ip=client_ip(request)), membership=membership
            )
        except MembershipChangeRefused as refused:
            messages.error(request, str(refused))
            return redirect("accounts:members", slug=request.account.slug)
        messages.success(request, f"{membership.user.email} was removed from the account.")
        if membership.user_id == request.user.pk:
            return redirect("accounts:home")
        return redirect("accounts:members", slug=request.account.slug)
    token_count = Token.objects.filter(user_id=membership.user_id).active().count()
    return render(
        request,
        "accounts/member_remove.html",
        {"member": membership, "token_count": token_count},
    )


# --------------------------------------------------------------------------- profile


@require_http_methods(["GET", "POST"])
@signed_in_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    """The signed-in person: their accounts, tokens, recent sign-ins, "Delete my account".

    What blocks a deletion is said only when the person tries it (409), not on every visit.
    """
    user = request.user
    form = DeleteAccountForm(request.POST or None, user=user)
    blocked = None
    if request.method == "POST" and form.is_valid():
        try:
            user_delete(user=user)
        except UserDeletionBlocked as refusal:
            blocked = refusal
        else:
            logout(request)
            messages.success(request, "Your account was deleted.")
            return redirect("accounts:sign-in")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "blocked": blocked,
            "token_count": selectors.personal_tokens_of(user).count(),
            "memberships": selectors.memberships_of(user),
            "sign_ins": selectors.sign_ins_of(user),
        },
        status=409 if blocked else 200,
    )


@require_http_methods(["GET", "POST"])
@signed_in_required
def sudo(request: AuthenticatedRequest) -> HttpResponse:
    """Sudo mode: re-enter the password before sensitive token changes (10 minutes)."""
    next_url = safe_next_url(request) or reverse("accounts:home")
    cancel_url = safe_next_url(request, "cancel") or reverse("accounts:home")
    if request.method == "GET" and sudo_is_active(request):
        return redirect(next_url)
    form = SudoForm(request.POST or None)
    throttled: Throttled | None = None
    if request.method == "POST" and form.is_valid():
        try:
            sudo_enter(request=request, password=form.cleaned_data["password"])
        except CredentialsRejected as rejected:
            form.add_error("password", str(rejected))
            throttled = rejected if isinstance(rejected, Throttled) else None
        else:
            return redirect(next_url)
    response = render(
        request, "accounts/sudo.html", {"form": form, "next": next_url, "cancel": cancel_url}
    )
    return _throttled_answer(response, throttled)
