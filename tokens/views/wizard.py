"""The create-token wizard (sudo mode first), then the one-time reveal of the secret."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.constants import Role
from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest, form_error_status
from accounts.models import Account
from accounts.selectors import accounts_managed_by, memberships_of
from accounts.sso.session import sso_session_accounts
from accounts.sudo import sudo_gate, sudo_resumable
from tokens import selectors
from tokens.forms import TokenCreateForm
from tokens.models import TokenType
from tokens.permissions import AUTOMATION_ROLES, DEFAULT_AUTOMATION_ROLE, plan_allows_scoped
from tokens.policies.selectors import token_blocked_in
from tokens.reveal.services import reveal_attach, reveal_take
from tokens.scope_words import RoleIn, role_in_words, roles_in_accounts
from tokens.services.common import CreatedToken, NotPermitted
from tokens.services.issue import token_create, token_create_check
from tokens.validation import TokenValidationError
from tokens.views.common import FORM_TEMPLATE, actor_of, back_url
from tokens.views.form import (
    error_summary,
    initial_from,
    pickers,
    rule_rows,
    scope_options,
    value_of,
    values_of,
)
from tokens.views.policy_hints import policy_context
from tokens.views.prefill import prefill, templates_for
from tokens.views.review import new_token_review, stored_token_review


def _chosen(form: TokenCreateForm, superuser_accounts: list[Account]) -> tuple[str, Account | None]:
    """The type chosen so far, and the account of an automation token."""
    token_type = value_of(form, "token_type")
    if token_type != TokenType.AUTOMATION or not superuser_accounts:
        return TokenType.USER, None
    chosen = str(value_of(form, "account") or "")
    account = next((a for a in superuser_accounts if str(a.pk) == chosen), None)
    return TokenType.AUTOMATION, account or superuser_accounts[0]


def _name_warning(
    request: AuthenticatedRequest, form: TokenCreateForm, superuser_accounts: list[Account]
) -> str | None:
    """A warning (never a refusal) when an active token of the same kind has the name."""
    name = str(value_of(form, "name") or "").strip()
    _, account = _chosen(form, superuser_accounts)
    if not selectors.token_name_in_use(
        name=name, owner_id=request.user.pk, account_id=account.pk if account else None
    ):
        return None
    if account is not None:
        return (
            f"{account.name} already has an active automation token named “{name}”. "
            "You can still create this one; a distinct name tells them apart in lists and logs."
        )
    return (
        f"You already have an active token named “{name}”. You can still create this one; "
        "a distinct name tells them apart in lists and logs."
    )


REVIEW_TEMPLATE = "tokens/token_review.html"


def _wizard_context(
    request: AuthenticatedRequest, form: TokenCreateForm, superuser_accounts: list[Account]
) -> dict[str, Any]:
    """What the create form shows for the type, account and role chosen so far."""
    token_type, account = _chosen(form, superuser_accounts)
    role = value_of(form, "role")
    if role not in AUTOMATION_ROLES:
        role = DEFAULT_AUTOMATION_ROLE

    if token_type == TokenType.AUTOMATION and account is not None:
        reach = selectors.token_reach(token_type=token_type, account_id=account.pk)
        roles = [RoleIn(role, tls_access=bool(value_of(form, "tls_access")))]
        scoped = plan_allows_scoped(account.plan, token_type)
    else:
        reach = selectors.token_reach(token_type=token_type, owner_id=request.user.pk)
        roles = roles_in_accounts(reach.memberships)
        scoped = True
    policy_accounts = [account] if account else [m.account for m in reach.memberships]
    return {
        **policy_context(form, token_type, policy_accounts),
        "mode": "create",
        "form": form,
        "token_type": token_type,
        "chosen_account": account,
        "chosen_role": role,
        "role_label": Role(role).label,
        "role_scope_words": role_in_words(role, tls_access=bool(value_of(form, "tls_access"))),
        "superuser_accounts": superuser_accounts,
        "memberships": reach.memberships,
        "scoped": scoped,
        "scope_options": scope_options(roles, values_of(form, "scopes")),
        "error_summary": error_summary(form),
        "pickers": pickers(form, reach) if scoped else [],
        "record_rules": rule_rows(form) if scoped else None,
        "name_warning": _name_warning(request, form, superuser_accounts),
        "permissions_url": reverse("tokens:new-permissions"),
        "picker_url": reverse("tokens:resource-picker"),
        "cancel_url": reverse("tokens:list"),
    }


@sudo_resumable
@require_http_methods(["GET", "POST"])
@signed_in_required
def token_new(request: AuthenticatedRequest) -> HttpResponse:
    """The create-token wizard (sudo mode first), then the one-time reveal.

    A GET goes to /sudo/ and back to the same address (a template or prefill link
    keeps its values); a form sent after sudo mode lapsed is carried out once the
    person confirmed it is them (accounts.sudo).
    """
    detour = sudo_gate(request, cancel_url=reverse("tokens:list"))
    if detour is not None:
        return detour

    superuser_accounts = list(accounts_managed_by(request.user))
    memberships = list(memberships_of(request.user))
    data: QueryDict | None = request.POST if request.method == "POST" else None
    if data is None:
        initial, dropped = prefill(request.GET, superuser_accounts, memberships)
        if dropped:
            messages.info(
                request,
                f"Some values of the link were not used: {', '.join(dropped)}. "
                "Check the form before you generate the token.",
            )
        form = TokenCreateForm(initial=initial, superuser_accounts=superuser_accounts)
    elif data.get("_refresh") or data.get("step") == "edit":
        # No-JS "show the scopes for this choice", or "Change something" on the review:
        # redraw with what was entered, without judging it yet.
        form = TokenCreateForm(
            initial=initial_from(data, TokenCreateForm), superuser_accounts=superuser_accounts
        )
    else:
        form = TokenCreateForm(data, superuser_accounts=superuser_accounts)
        answer = _submitted(request, form, superuser_accounts)
        if answer is not None:
            return answer
    context = _wizard_context(request, form, superuser_accounts)
    context["templates"] = templates_for(superuser_accounts, memberships)
    context["chosen_template"] = (data or request.GET).get("template", "")
    status = form_error_status(request) if form.is_bound and form.errors else 200
    return render(request, FORM_TEMPLATE, context, status=status)


def _submitted(
    request: AuthenticatedRequest, form: TokenCreateForm, superuser_accounts: list[Account]
) -> HttpResponse | None:
    """A sent wizard: its review, or (`step=generate`, from the review) the token and its
    reveal; None when the form has errors to show (added to `form`)."""
    if not form.is_valid():
        _judge_the_rest(request, form, superuser_accounts)
        return None
    if form.data.get("step") == "generate":
        created = _create(request, form, superuser_accounts)
        return to_reveal(request, created) if created is not None else None
    try:
        new = token_create_check(**_service_arguments(request, form, superuser_accounts))
    except TokenValidationError as error:
        form.add_service_errors(error)
        return None
    except NotPermitted as refusal:
        form.add_error(None, str(refusal))
        return None
    sent = cast(QueryDict, form.data)
    context = {
        "review": new_token_review(new),
        "name": new.input.name,
        "account": new.account,
        "role_label": Role(new.role).label.lower() if new.role else "",
        "fields": [
            (name, value)
            for name in sent
            if name not in ("csrfmiddlewaretoken", "step", "_refresh")
            for value in sent.getlist(name)
        ],
        "cancel_url": reverse("tokens:list"),
    }
    return render(request, REVIEW_TEMPLATE, context)


def _service_arguments(
    request: AuthenticatedRequest,
    form: TokenCreateForm,
    superuser_accounts: list[Account],
    *,
    expiry_known: bool = True,
) -> dict[str, Any]:
    """token_create's arguments from the form's (cleaned) values; `expiry_known=False`:
    the form refused the expiry (it is then None, to be left unjudged)."""
    data = form.cleaned_data
    automation = data.get("token_type") == TokenType.AUTOMATION
    account = next((a for a in superuser_accounts if a.pk == data.get("account")), None)
    return {
        "actor": actor_of(request),
        "token_type": data["token_type"],
        "name": data.get("name", ""),
        "owner": None if automation else request.user,
        "account": account if automation else None,
        "role": data.get("role") or None if automation else None,
        "scopes": data.get("scopes", []),
        "resources": form.resources(),
        "tls_access": bool(data.get("tls_access")) if automation else False,
        "allowed_ips": data.get("allowed_ips", ""),
        "record_rules": form.record_rules(),
        "expires_at": form.expires_at() if expiry_known else None,
    }


def _create(
    request: AuthenticatedRequest, form: TokenCreateForm, superuser_accounts: list[Account]
) -> CreatedToken | None:
    try:
        arguments = _service_arguments(request, form, superuser_accounts)
        # SPEC 17: created in a session through an account's SSO: authorized there at once.
        sso_accounts = set() if arguments["owner"] is None else sso_session_accounts(request)
        return token_create(**arguments, sso_accounts=sso_accounts)
    except TokenValidationError as error:
        form.add_service_errors(error)
    except NotPermitted as refusal:
        form.add_error(None, str(refusal))
    return None


def _judge_the_rest(
    request: AuthenticatedRequest, form: TokenCreateForm, superuser_accounts: list[Account]
) -> None:
    """The form refused a field (a missing date): judge the others as token_create would
    (token_create_check), so every problem shows at once. Nothing is created."""
    data = form.cleaned_data
    automation = data.get("token_type") == TokenType.AUTOMATION
    account_known = any(a.pk == data.get("account") for a in superuser_accounts)
    if "token_type" in form.errors or (automation and (not account_known or "role" in form.errors)):
        return  # what the token is remains unknown: nothing more to judge
    expiry_known = not ({"expiration", "expires_on"} & set(form.errors))
    arguments = _service_arguments(request, form, superuser_accounts, expiry_known=expiry_known)
    try:
        token_create_check(**arguments, check_expiry=expiry_known)
    except TokenValidationError as error:
        form.add_service_errors(error, keep_form_errors=True)
    except NotPermitted as refusal:
        form.add_error(None, str(refusal))


def to_reveal(
    request: AuthenticatedRequest, created: CreatedToken, page: str = "tokens:reveal"
) -> HttpResponse:
    """Redirect to the reveal page, the secret riding along in its encrypted, scoped cookie.

    `page`: "tokens:reveal" after creation, "tokens:rolled" after a roll (same view).
    """
    response = redirect(page, token_id=created.token.pk)
    reveal_attach(
        response,
        request=request,
        token_id=created.token.pk,
        secret=created.secret,
        path=response["Location"],
    )
    return response


@require_GET
@signed_in_required
def token_new_permissions(request: AuthenticatedRequest) -> HttpResponse:
    """htmx: the scopes and resources section, redrawn for another type, account or role."""
    superuser_accounts = list(accounts_managed_by(request.user))
    form = TokenCreateForm(
        initial=initial_from(request.GET, TokenCreateForm), superuser_accounts=superuser_accounts
    )
    context = _wizard_context(request, form, superuser_accounts)
    context["limits_out_of_band"] = True  # the account's policies may change the expiry choices
    return render(request, f"{FORM_TEMPLATE}#permissions", context)


@require_GET
@signed_in_required
def token_name_check(request: AuthenticatedRequest) -> HttpResponse:
    """htmx: the duplicate-name warning under the wizard's name field."""
    superuser_accounts = list(accounts_managed_by(request.user))
    form = TokenCreateForm(
        initial=initial_from(request.GET, TokenCreateForm), superuser_accounts=superuser_accounts
    )
    warning = _name_warning(request, form, superuser_accounts)
    return render(request, f"{FORM_TEMPLATE}#name-warning", {"name_warning": warning})


@never_cache
@require_GET
@signed_in_required
def token_reveal(
    request: AuthenticatedRequest, token_id: int, rolled: bool = False
) -> HttpResponse:
    """The secret, exactly once: read from the reveal cookie, which this answer deletes.

    `rolled`: the secret is a token's new one after a roll (tokens:rolled).
    """
    token = selectors.token_get_manageable(request.user, token_id)
    response = HttpResponse()
    secret = reveal_take(request, response, token_id=token.pk)
    response.content = render_to_string(
        "tokens/token_reveal.html",
        {
            "token": token,
            "secret": secret,
            "rolled": rolled,
            "whoami_url": request.build_absolute_uri("/api/v1/whoami"),
            "back_url": back_url(token),
            "blocked": token_blocked_in(token),
            "review": stored_token_review(token) if secret else None,
        },
        request=request,
    )
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0, private"
    return response
