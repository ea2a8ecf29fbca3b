"""Changing a token: edit its permissions (widening needs sudo), or delete (revoke) it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.constants import Role
from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest, form_error_status, safe_next_url
from accounts.models import Account
from accounts.services.identity import sudo_is_active
from accounts.sudo import sudo_detour, sudo_resumable
from tokens import selectors
from tokens.forms import TokenEditForm, resource_field_name, resource_mode_name
from tokens.kinds import Kind
from tokens.models import Token
from tokens.permissions import plan_allows_scoped
from tokens.policies.rules import NO_POLICY, Policy, PolicyName
from tokens.policies.selectors import Blocked, blocked_in
from tokens.records.rules import record_rules_text, rules_from_json
from tokens.scope_words import RoleIn, roles_in_accounts
from tokens.services.change import token_update_permissions
from tokens.services.common import SudoRequired
from tokens.services.revoke import token_remove_from_account, token_revoke
from tokens.usage.selectors import token_usage_summary
from tokens.usage.services import usage_flush
from tokens.validation import TokenValidationError
from tokens.views.common import (
    FORM_TEMPLATE,
    LIST_TEMPLATE,
    actor_of,
    back_url,
    replacement_url,
)
from tokens.views.form import (
    error_summary,
    initial_from,
    pickers,
    rule_rows,
    scope_options,
    value_of,
    values_of,
)
from tokens.views.lists import token_rows

# --------------------------------------------------------------------------- edit


def _edit_initial(token: Token) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": token.name,
        "scopes": list(token.scopes),
        "allowed_ips": "\n".join(token.allowed_ips),
        "tls_access": token.tls_access,
        "rule_rows": [dict(rule) for rule in token.record_rules],
    }
    for kind in Kind:
        initial[resource_mode_name(kind)] = "all" if token.has_all(kind) else "selected"
        initial[resource_field_name(kind)] = [str(pk) for pk in token.selected_ids(kind)]
    return initial


def _edit_context(request: HttpRequest, form: TokenEditForm, token: Token) -> dict[str, Any]:
    reach = selectors.token_reach(
        token_type=token.type,
        owner_id=token.user_id,
        account_id=token.account_id,
        token_id=token.pk,
    )
    accounts: list[Account]
    if token.is_automation and token.account is not None:
        roles = [RoleIn(token.role, tls_access=bool(value_of(form, "tls_access")))]
        scoped = plan_allows_scoped(token.account.plan, token.type)
        accounts = [token.account]
    else:
        roles = roles_in_accounts(reach.memberships)
        scoped = True
        accounts = [m.account for m in reach.memberships]
    policy = Policy.of(token.account) if token.is_automation else NO_POLICY
    blocked = blocked_in(token, accounts, now=timezone.now())
    return {
        "blocked": blocked,
        "expiry_limits": _expiry_limits(token, blocked),
        "allow_list_required": policy.automation_requires_ip_allow_list,
        "policy_account": token.account,
        "mode": "edit",
        "form": form,
        "token": token,
        "token_type": token.type,
        "chosen_account": token.account,
        "chosen_role": token.role,
        "role_label": Role(token.role).label if token.role else "",
        "memberships": reach.memberships,
        "scoped": scoped,
        "scope_options": scope_options(roles, values_of(form, "scopes")),
        "error_summary": error_summary(form),
        "pickers": pickers(form, reach) if scoped else [],
        "record_rules": rule_rows(form) if scoped else None,
        "rules_in_words": record_rules_text(rules_from_json(token.record_rules)),
        "picker_url": reverse("tokens:resource-picker"),
        "cancel_url": safe_next_url(request) or back_url(token),
        "sudo_active": sudo_is_active(request),
        # Reached by its address only (lists hide Edit on expired tokens): say what works.
        "replacement_url": replacement_url(token) if token.is_expired(timezone.now()) else None,
    }


def _expiry_limits(token: Token, blocked: list[Blocked]) -> list[tuple[Account, datetime]]:
    """Per account whose maximum lifetime blocks the token: the latest expiry it allows,
    so the person can bring the token within it (Edit may shorten the expiry)."""
    limits = []
    for item in blocked:
        if item.policy != PolicyName.MAX_LIFETIME:
            continue
        latest = Policy.of(item.account).latest_expiry(token.created_at)
        if latest is not None:
            limits.append((item.account, latest))
    return limits


@sudo_resumable
@require_http_methods(["GET", "POST"])
@signed_in_required
def token_edit(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """Edit a token's name, scopes, resources and IP allow-list (widening needs sudo).

    A widening sent without sudo mode goes to /sudo/ and is saved once the person
    confirmed it is them (accounts.sudo), after the same checks as any submit.
    """
    token = selectors.token_get_manageable(request.user, token_id)
    if request.method == "GET":
        initial = _edit_initial(token)
        if request.GET.get("narrow"):
            initial["scopes"] = _narrowed_scopes(request, token)
        form = TokenEditForm(initial=initial)
        return render(request, FORM_TEMPLATE, _edit_context(request, form, token))

    if request.POST.get("_refresh"):
        # Enter in a text field (a resource search without JS): redraw, change nothing.
        form = TokenEditForm(initial=initial_from(request.POST, TokenEditForm))
        return render(request, FORM_TEMPLATE, _edit_context(request, form, token))
    form = TokenEditForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            token_update_permissions(
                actor=actor_of(request),
                token=token,
                name=data["name"],
                scopes=data["scopes"],
                resources=form.resources(),
                allowed_ips=data["allowed_ips"],
                tls_access=bool(data["tls_access"]) if token.is_automation else None,
                record_rules=form.record_rules(),
                expires_at=form.expires_at(),
                sudo=sudo_is_active(request),
            )
        except SudoRequired:
            return sudo_detour(request, cancel_url=reverse("tokens:edit", args=[token.pk]))
        except TokenValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Token “{data['name'].strip()}” updated.")
            return redirect("tokens:detail", token_id=token.pk)
    context = _edit_context(request, form, token)
    return render(request, FORM_TEMPLATE, context, status=form_error_status(request))


def _narrowed_scopes(request: HttpRequest, token: Token) -> list[str]:
    """ "Narrow to what it used": the scopes suggested by its last 30 days (SPEC 13)."""
    now = timezone.now()
    usage_flush(token_id=token.pk, now=now)
    suggested = token_usage_summary(token_id=token.pk, days=30, now=now).suggested_scopes
    if not suggested:
        return list(token.scopes)
    messages.info(
        request,
        "The scopes below are what this token used in the last 30 days. "
        "Press Update token to keep only those.",
    )
    return suggested


# --------------------------------------------------------------------------- delete


def _row_context(request: AuthenticatedRequest, token: Token) -> dict[str, Any]:
    slug = request.GET.get("account") or request.POST.get("account") or ""
    return {
        "row": token_rows([token], request.user)[0],
        "page": "account" if slug else "personal",
        "account": {"slug": slug} if slug else None,
    }


@require_GET
@signed_in_required
def token_row(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """htmx: one table row again (Cancel on an inline delete confirmation)."""
    revocation = selectors.token_get_revocable(
        request.user, token_id, request.GET.get("account", "")
    )
    return render(request, f"{LIST_TEMPLATE}#token-row", _row_context(request, revocation.token))


def _revoke(request: AuthenticatedRequest, revocation: selectors.Revocation) -> str:
    """Revoke the token, or remove a member's token from the account only; say which."""
    token = revocation.token
    if revocation.remove_only and revocation.account is not None:
        token_remove_from_account(actor=actor_of(request), token=token, account=revocation.account)
        return (
            f"Token “{token.name}” ({token.display}) removed from {revocation.account.name}. "
            "It keeps working in its owner's other accounts."
        )
    token_revoke(
        actor=actor_of(request),
        token=token,
        revoked_by=revocation.revoked_by,
        account=revocation.account,
    )
    return f"Token “{token.name}” ({token.display}) deleted. It no longer works."


@require_http_methods(["GET", "POST"])
@signed_in_required
def token_delete(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """Confirm, then revoke: the owner for their own, a superuser for their account's."""
    slug = request.GET.get("account") or request.POST.get("account") or ""
    revocation = selectors.token_get_revocable(request.user, token_id, slug)
    token = revocation.token
    listed = (
        reverse("tokens:account-list", args=[slug])
        if slug
        else reverse("tokens:list")
        if revocation.revoked_by == "owner"
        else back_url(token)
    )
    back = safe_next_url(request) or listed  # Cancel goes back where the person came from
    # Once deleted, the token's own page is a 404: the person lands on its list instead.
    done = listed if back == reverse("tokens:detail", args=[token.pk]) else back
    if request.method == "POST":
        message = _revoke(request, revocation)
        if request.htmx:
            return render(request, f"{LIST_TEMPLATE}#deleted", {"message": message})
        messages.success(request, message)
        return redirect(done)
    context = {
        **_row_context(request, token),
        "token": token,
        "revocation": revocation,
        "back_url": back,
        "slug": slug,
    }
    if request.htmx:
        return render(request, f"{LIST_TEMPLATE}#delete-confirm", context)
    return render(request, "tokens/token_delete.html", context)
