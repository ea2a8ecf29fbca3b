"""Sign-in, sign-out, sudo mode, the account overview, members (superusers) and the profile.

A person with a second factor signs in with their password, then with it (allauth's
login stage: accounts.factors.sign_in_views), or with a passkey alone.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors
from accounts.constants import (
    PLAN_ADDS,
    PLAN_MONTHLY_PRICE_USD,
    Plan,
    Role,
    plan_scopes_automation_tokens,
)
from accounts.decorators import account_view, signed_in_required
from accounts.factors import engine
from accounts.factors.forms import FactorForm
from accounts.factors.selectors import activity_text
from accounts.factors.sign_in_views import factor_choices, with_challenge
from accounts.forms import DeleteAccountForm, MemberRoleForm, SignInForm, SudoForm
from accounts.http import (
    AccountRequest,
    AuthenticatedRequest,
    account_choose,
    chosen_account_slug,
    client_ip,
    safe_next_url,
    throttled_answer,
)
from accounts.models import Membership
from accounts.roles import manages_account, role_can_read
from accounts.services.identity import (
    CredentialsRejected,
    Throttled,
    UserDeletionBlocked,
    credentials_check,
    password_alone_suffices,
    sudo_enter,
    sudo_is_active,
    user_delete,
)
from accounts.services.members import (
    MembershipChangeRefused,
    membership_change_role,
    membership_remove,
)
from accounts.sudo import sudo_kept_form_arm, sudo_kept_form_waiting
from tokens.events import Actor
from tokens.models import Token


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
            # allauth's login stages: the second factor's page for a person who has one,
            # else signed in (the account adapter records the event) and sent on.
            return engine.login_begin(request, user=user, email=user.email, redirect_url=next_url)
    response = render(request, "accounts/sign_in.html", {"form": form, "next": next_url})
    return throttled_answer(response, throttled)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:sign-in")


@signed_in_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Send the user to the account they chose last, or their first one."""
    memberships = list(selectors.memberships_of(request.user))
    if not memberships:
        return render(request, "accounts/no_account.html")
    slug = chosen_account_slug(request)
    chosen = next((m for m in memberships if m.account.slug == slug), memberships[0])
    return redirect("accounts:overview", slug=chosen.account.slug)


@account_view
def overview(request: AccountRequest) -> HttpResponse:
    """The account's resources, as far as the member's role may read them.

    The account's home, where the switcher leads: arriving here chooses the account
    for the pages that belong to none (Personal tokens, Profile).
    """
    account, role = request.account, request.membership.role
    account_choose(request, account.slug)
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
    """The plans, the account's own, and what scoped automation tokens need (any member).

    Each plan card says what it adds to the one before it (PLAN_ADDS).
    """
    labels = dict(Plan.choices)
    plans = [
        {
            "value": value,
            "label": label,
            "price": PLAN_MONTHLY_PRICE_USD[value],
            "scoped_automation": plan_scopes_automation_tokens(value),
            "current": value == request.account.plan,
            "below": labels[Plan.values[index - 1]] if index else "",
            "adds": PLAN_ADDS[value],
        }
        for index, (value, label) in enumerate(Plan.choices)
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
            "sign_ins": [(event, activity_text(event)) for event in selectors.sign_ins_of(user)],
        },
        status=409 if blocked else 200,
    )


@require_http_methods(["GET", "POST"])
@signed_in_required
def sudo(request: AuthenticatedRequest) -> HttpResponse:
    """Sudo mode: confirm it is you before sensitive changes (10 minutes).

    A person with a second factor confirms with it (passkey or code), anyone else
    with their password. Then the action that sent them here is carried out
    (accounts.sudo: the kept form is armed for `next`) and they land on its result.
    """
    next_url = safe_next_url(request) or reverse("accounts:home")
    cancel_url = safe_next_url(request, "cancel") or reverse("accounts:home")
    if request.method == "GET" and sudo_is_active(request):
        return redirect(next_url)
    with_factor = not password_alone_suffices(request.user)
    choices = factor_choices(request.user) if with_factor else {}
    form: FactorForm | SudoForm = (
        FactorForm(request.POST or None, has_app=choices["has_app"])
        if with_factor
        else SudoForm(request.POST or None)
    )
    throttled: Throttled | None = None
    if request.method == "POST" and form.is_valid():
        try:
            sudo_enter(request=request, **form.cleaned_data)
        except CredentialsRejected as rejected:
            form.add_error(None if with_factor else "password", str(rejected))
            throttled = rejected if isinstance(rejected, Throttled) else None
        else:
            sudo_kept_form_arm(request, next_url)
            return redirect(next_url)
    context = {
        "form": form,
        "next": next_url,
        "cancel": cancel_url,
        "kept": sudo_kept_form_waiting(request, next_url),
        "with_factor": with_factor,
        **(with_challenge(choices, request.user) if with_factor else {}),
    }
    response = render(request, "accounts/sudo.html", context)
    return throttled_answer(response, throttled)
