"""The token pages: lists, the create-token wizard, the one-time reveal, edit and delete.

Views parse input, call one selector or service, and render. Who may reach
which token is decided in tokens.selectors (a foreign id is a 404); what a
token may be given is decided by tokens.services (the same rules as the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.constants import Role
from accounts.decorators import account_view, signed_in_required
from accounts.http import client_ip
from accounts.models import Account, Membership, User
from accounts.services import sudo_is_active
from tokens import selectors
from tokens.constants import MAX_ACTIVE_TOKENS_PER_USER
from tokens.events import Actor
from tokens.forms import (
    TokenCreateForm,
    TokenPermissionsForm,
    resource_field_name,
    resource_mode_name,
)
from tokens.models import Token, TokenType
from tokens.paging import keyset_page
from tokens.permissions import (
    AUTOMATION_ROLES,
    KIND_LABELS,
    SCOPE_DESCRIPTIONS,
    SCOPES,
    Kind,
    plan_allows_scoped,
    scopes_allowed_for_role,
    scopes_allowed_for_roles,
)
from tokens.services import (
    NotPermitted,
    SudoRequired,
    TokenValidationError,
    token_create,
    token_revoke,
    token_update_permissions,
)

# The secret travels from the wizard to the reveal in a signed, HttpOnly cookie
# scoped to the reveal URL, never in the session store or any other table; the
# reveal deletes it. A secret left unclaimed this long is dropped.
REVEAL_COOKIE = "kw_reveal"
REVEAL_WITHIN_SECONDS = 5 * 60
STASH_SESSION_KEY = "token_form_stash"
FORM_TEMPLATE = "tokens/token_form.html"
LIST_TEMPLATE = "tokens/token_list.html"


# --------------------------------------------------------------------------- helpers


def _actor(request: HttpRequest) -> Actor:
    return Actor.person(request.user, ip=client_ip(request))


def _safe_url(request: HttpRequest, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that an htmx request follows with a full page load."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _to_sudo(request: HttpRequest, next_url: str, cancel_url: str) -> HttpResponse:
    query = urlencode({"next": next_url, "cancel": cancel_url})
    return _redirect(request, f"{reverse('accounts:sudo')}?{query}")


def _stash(request: HttpRequest, key: str, data: QueryDict) -> None:
    """Keep a submitted form across the sudo page, so nobody types it twice."""
    request.session[STASH_SESSION_KEY] = {
        "key": key,
        "data": {name: data.getlist(name) for name in data if name != "csrfmiddlewaretoken"},
    }


def _unstash(request: HttpRequest, key: str) -> QueryDict | None:
    stash = request.session.pop(STASH_SESSION_KEY, None)
    if not isinstance(stash, dict) or stash.get("key") != key:
        return None
    data = QueryDict(mutable=True)
    for name, values in stash.get("data", {}).items():
        data.setlist(name, [str(value) for value in values])
    return data


def _initial_from(data: QueryDict, form_class: type[TokenPermissionsForm]) -> dict[str, Any]:
    """Unvalidated values to redraw a form (type or role changed): no errors shown."""
    initial: dict[str, Any] = {}
    for name in form_class().fields:
        if name == "tls_access":
            initial[name] = bool(data.get(name))
        elif name in data:
            many = name == "scopes" or name.endswith("_ids")
            initial[name] = data.getlist(name) if many else data.get(name)
    for kind in Kind:
        initial[f"{kind}_q"] = data.get(f"{kind}_q", "")  # resource searches (no-JS)
    return initial


def _value(form: TokenPermissionsForm, name: str) -> Any:
    if form.is_bound:
        return form.data.get(name)
    return form.initial.get(name, form.fields[name].initial if name in form.fields else None)


def _values(form: TokenPermissionsForm, name: str) -> list[str]:
    if form.is_bound:
        return form.data.getlist(name)
    value = form.initial.get(name) or []
    return [str(item) for item in (value if isinstance(value, list | tuple) else [value])]


def _int_set(values: list[str]) -> frozenset[int]:
    ids = set()
    for value in values:
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            continue
    return frozenset(ids)


# --------------------------------------------------------------------------- lists


@dataclass
class TokenRow:
    """One row of a token table, with what it shows in words."""

    token: Token
    resources: list[selectors.ResourceSummary]
    scopes: list[tuple[str, str]]
    expired: bool
    can_edit: bool

    @property
    def all_resources(self) -> bool:
        """Every kind of resource, all of them: shown as one line instead of five."""
        return len(self.resources) == len(Kind) and all(item.all for item in self.resources)


def _rows(tokens: list[Token], user: User) -> list[TokenRow]:
    now = timezone.now()
    summaries = selectors.token_resource_summaries(tokens)
    return [
        TokenRow(
            token=token,
            resources=summaries[token.pk],
            scopes=[(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in token.scopes],
            expired=token.is_expired(now),
            can_edit=token.is_automation or token.user_id == user.pk,
        )
        for token in tokens
    ]


@require_GET
@signed_in_required
def token_list(request: HttpRequest) -> HttpResponse:
    """Personal tokens: the signed-in person's user tokens."""
    tokens = list(selectors.tokens_of_user(request.user))
    active = selectors.tokens_counting_towards_limit(user_id=request.user.pk).active().count()
    return render(
        request,
        LIST_TEMPLATE,
        {
            "rows": _rows(tokens, request.user),
            "page": "personal",
            "active_count": active,
            "token_limit": MAX_ACTIVE_TOKENS_PER_USER,
            "list_url": reverse("tokens:list"),
        },
    )


ACCOUNT_FILTERS = {
    "type": {"": "All types", TokenType.USER: "User tokens", TokenType.AUTOMATION: "Automation"},
    "state": {"": "Any state", "active": "Active", "expired": "Expired"},
}


@require_GET
@account_view
def account_token_list(request: HttpRequest) -> HttpResponse:
    """Account tokens: every token that can act in the account (superusers only).

    Paged by cursor, 50 at a time (tokens.paging): an account may have thousands.
    """
    account: Account = request.account
    if request.membership.role != Role.SUPERUSER:
        return render(request, "tokens/forbidden.html", {"account": account}, status=403)
    members = list(
        Membership.objects.filter(account=account).select_related("user").order_by("user__email")
    )
    filters = {
        "type": request.GET.get("type", ""),
        "state": request.GET.get("state", ""),
        "owner": request.GET.get("owner", ""),
    }
    for key, choices in ACCOUNT_FILTERS.items():
        if filters[key] not in choices:
            filters[key] = ""
    member_ids = {str(m.user_id) for m in members}
    if filters["owner"] not in member_ids and filters["owner"] != "account":
        filters["owner"] = ""

    tokens = selectors.tokens_visible_to(request.user, account)
    if filters["type"]:
        tokens = tokens.filter(type=filters["type"])
    if filters["state"] == "active":
        tokens = tokens.active()
    elif filters["state"] == "expired":
        tokens = tokens.expired()
    if filters["owner"] == "account":
        tokens = tokens.filter(type=TokenType.AUTOMATION)
    elif filters["owner"]:
        tokens = tokens.filter(type=TokenType.USER, user_id=int(filters["owner"]))
    pager = keyset_page([tokens], request.GET, params=filters, load=tokens)
    context = {
        "rows": _rows(pager.rows, request.user),
        "pager": pager,
        "page": "account",
        "account": account,
        "members": members,
        "filters": filters,
        "filter_choices": ACCOUNT_FILTERS,
        "filtered": any(filters.values()),
        "list_url": reverse("tokens:account-list", args=[account.slug]),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{LIST_TEMPLATE}#token-table", context)
    return render(request, LIST_TEMPLATE, context)


# --------------------------------------------------------------------------- the form


def _scope_options(allowed: tuple[str, ...], checked: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "value": scope,
            "id": "scope-" + scope.replace(":", "-").replace("_", "-"),
            "description": SCOPE_DESCRIPTIONS[scope],
            "enabled": scope in allowed,
            "checked": scope in checked and scope in allowed,
        }
        for scope in SCOPES
    ]


def _pickers(
    form: TokenPermissionsForm, account_ids: list[int], grouped: bool
) -> list[dict[str, Any]]:
    pickers = []
    for kind in Kind:
        pickers.append(_picker(form, kind, account_ids, grouped))
    return pickers


def _picker(
    form: TokenPermissionsForm | None,
    kind: Kind,
    account_ids: list[int],
    grouped: bool,
    data: QueryDict | None = None,
) -> dict[str, Any]:
    ids_name = resource_field_name(kind)
    if data is not None:
        query, selected, mode = data.get(f"{kind}_q", ""), data.getlist(ids_name), "selected"
    else:
        source = form.data if form.is_bound else form.initial
        query = source.get(f"{kind}_q", "") or ""
        selected = _values(form, ids_name)
        mode = _value(form, resource_mode_name(kind)) or "all"
    items, left_out = selectors.resources_for_picker(
        kind=kind,
        account_ids=account_ids,
        query=query,
        selected_ids=_int_set(selected),
    )
    errors: list[str] = []
    if form is not None and form.is_bound and form._errors is not None:
        errors = list(form.errors.get(ids_name, []))
    return {
        "kind": str(kind),
        "label": KIND_LABELS[kind],
        "mode": "selected" if mode == "selected" else "all",
        "mode_name": resource_mode_name(kind),
        "ids_name": ids_name,
        "items": items,
        "left_out": left_out,
        "query": query,
        "grouped": grouped,
        "errors": errors,
    }


def _wizard_context(
    request: HttpRequest, form: TokenCreateForm, superuser_accounts: list[Account]
) -> dict[str, Any]:
    """What the create form shows for the type, account and role chosen so far."""
    token_type = _value(form, "token_type")
    if token_type != TokenType.AUTOMATION or not superuser_accounts:
        token_type = TokenType.USER
    account = None
    if token_type == TokenType.AUTOMATION:
        chosen = str(_value(form, "account") or "")
        account = next((a for a in superuser_accounts if str(a.pk) == chosen), None)
        account = account or superuser_accounts[0]
    role = _value(form, "role")
    if role not in AUTOMATION_ROLES:
        role = Role.ENGINEER

    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("account")
        .order_by("account__name")
    )
    if token_type == TokenType.AUTOMATION:
        allowed = scopes_allowed_for_role(role)
        account_ids = [account.pk]
        scoped = plan_allows_scoped(account.plan, token_type)
    else:
        allowed = scopes_allowed_for_roles(m.role for m in memberships)
        account_ids = [m.account_id for m in memberships]
        scoped = True
    return {
        "mode": "create",
        "form": form,
        "token_type": token_type,
        "chosen_account": account,
        "chosen_role": role,
        "role_label": Role(role).label,
        "superuser_accounts": superuser_accounts,
        "memberships": memberships,
        "scoped": scoped,
        "scope_options": _scope_options(allowed, _values(form, "scopes")),
        "pickers": _pickers(form, account_ids, grouped=len(account_ids) > 1) if scoped else [],
        "permissions_url": reverse("tokens:new-permissions"),
        "picker_url": reverse("tokens:resource-picker"),
        "cancel_url": reverse("tokens:list"),
    }


@require_http_methods(["GET", "POST"])
@signed_in_required
def token_new(request: HttpRequest) -> HttpResponse:
    """The create-token wizard (sudo mode first), then the one-time reveal."""
    here = reverse("tokens:new")
    if not sudo_is_active(request):
        if request.method == "POST":
            _stash(request, "new", request.POST)
            return _to_sudo(request, f"{here}?resume=1", reverse("tokens:list"))
        return _to_sudo(request, here, reverse("tokens:list"))

    superuser_accounts = list(selectors.superuser_accounts_of(request.user))
    data = request.POST if request.method == "POST" else None
    resumed = False
    if request.method == "GET" and request.GET.get("resume"):
        stashed = _unstash(request, "new")
        if stashed is not None:
            data, resumed = stashed, True

    if data is not None and (data.get("_refresh") or resumed):
        # No-JS "show the scopes for this choice", or back from the sudo page:
        # redraw with what was entered, without judging it yet.
        form = TokenCreateForm(
            initial=_initial_from(data, TokenCreateForm), superuser_accounts=superuser_accounts
        )
        if resumed:
            messages.info(
                request, "Your password is confirmed. Check the form and generate the token."
            )
    elif data is not None:
        form = TokenCreateForm(data, superuser_accounts=superuser_accounts)
        if form.is_valid():
            created = _create(request, form, superuser_accounts)
            if created is not None:
                response = redirect("tokens:reveal", token_id=created.token.pk)
                response.set_signed_cookie(
                    REVEAL_COOKIE,
                    created.secret,
                    salt=_reveal_salt(request, created.token.pk),
                    max_age=REVEAL_WITHIN_SECONDS,
                    path=response["Location"],
                    secure=request.is_secure(),
                    httponly=True,
                    samesite="Strict",
                )
                return response
    else:
        form = TokenCreateForm(superuser_accounts=superuser_accounts)
    context = _wizard_context(request, form, superuser_accounts)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, FORM_TEMPLATE, context, status=status)


def _create(request: HttpRequest, form: TokenCreateForm, superuser_accounts: list[Account]):
    data = form.cleaned_data
    automation = data["token_type"] == TokenType.AUTOMATION
    account = None
    if automation:
        account = next((a for a in superuser_accounts if a.pk == data["account"]), None)
    scopes = data["scopes"]
    if automation and account is not None and not plan_allows_scoped(account.plan, "automation"):
        scopes = scopes or None  # the plan gives full access, capped by the role
    try:
        return token_create(
            actor=_actor(request),
            token_type=data["token_type"],
            name=data["name"],
            owner=None if automation else request.user,
            account=account,
            role=data["role"] or None if automation else None,
            scopes=scopes,
            resources=form.resources(),
            tls_access=bool(data["tls_access"]) if automation else False,
            allowed_ips=data["allowed_ips"],
            expires_at=form.expires_at(),
        )
    except TokenValidationError as error:
        form.add_service_errors(error)
    except NotPermitted as refusal:
        form.add_error(None, str(refusal))
    return None


@require_GET
@signed_in_required
def token_new_permissions(request: HttpRequest) -> HttpResponse:
    """htmx: the scopes and resources section, redrawn for another type, account or role."""
    superuser_accounts = list(selectors.superuser_accounts_of(request.user))
    form = TokenCreateForm(
        initial=_initial_from(request.GET, TokenCreateForm), superuser_accounts=superuser_accounts
    )
    context = _wizard_context(request, form, superuser_accounts)
    return render(request, f"{FORM_TEMPLATE}#permissions", context)


@require_GET
@signed_in_required
def resource_picker(request: HttpRequest) -> HttpResponse:
    """htmx: one resource list (search results), for the wizard or an edit form."""
    try:
        kind = Kind(request.GET.get("kind", ""))
    except ValueError:
        return HttpResponse("Unknown resource type.", status=400)
    token_id = request.GET.get("token", "")
    if token_id.isdigit():
        token = selectors.token_get_manageable(request.user, int(token_id))
        account_ids = selectors.token_reach_account_ids(token)
    elif request.GET.get("token_type") == TokenType.AUTOMATION:
        accounts = list(selectors.superuser_accounts_of(request.user))
        chosen = request.GET.get("account", "")
        account = next((a for a in accounts if str(a.pk) == chosen), None)
        account_ids = [account.pk] if account else []
    else:
        account_ids = list(
            Membership.objects.filter(user=request.user).values_list("account_id", flat=True)
        )
    picker = _picker(None, kind, account_ids, grouped=len(account_ids) > 1, data=request.GET)
    return render(request, f"{FORM_TEMPLATE}#resource-list", {"picker": picker})


# --------------------------------------------------------------------------- reveal


@never_cache
@require_GET
@signed_in_required
def token_reveal(request: HttpRequest, token_id: int) -> HttpResponse:
    """The secret, exactly once: read from the reveal cookie, which this answer deletes."""
    token = selectors.token_get_manageable(request.user, token_id)
    secret = request.get_signed_cookie(
        REVEAL_COOKIE,
        default=None,
        salt=_reveal_salt(request, token.pk),
        max_age=REVEAL_WITHIN_SECONDS,
    )
    response = render(
        request,
        "tokens/token_reveal.html",
        {
            "token": token,
            "secret": secret,
            "whoami_url": request.build_absolute_uri("/api/v1/whoami"),
            "back_url": _back_url(request, token),
        },
    )
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0, private"
    response.delete_cookie(REVEAL_COOKIE, path=request.path, samesite="Strict")
    return response


def _reveal_salt(request: HttpRequest, token_id: int) -> str:
    """Binds a reveal cookie to one token and one signed-in person."""
    return f"keyward.reveal:{request.user.pk}:{token_id}"


def _back_url(request: HttpRequest, token: Token) -> str:
    if token.is_automation:
        return reverse("tokens:account-list", args=[token.account.slug])
    return reverse("tokens:list")


# --------------------------------------------------------------------------- edit


def _edit_initial(token: Token) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": token.name,
        "scopes": list(token.scopes),
        "allowed_ips": "\n".join(token.allowed_ips),
        "tls_access": token.tls_access,
    }
    for kind in Kind:
        initial[resource_mode_name(kind)] = "all" if token.has_all(kind) else "selected"
        initial[resource_field_name(kind)] = [str(pk) for pk in token.selected_ids(kind)]
    return initial


def _edit_context(request: HttpRequest, form: TokenPermissionsForm, token: Token) -> dict[str, Any]:
    account_ids = selectors.token_reach_account_ids(token)
    memberships = []
    if token.is_automation:
        allowed = scopes_allowed_for_role(token.role)
        scoped = plan_allows_scoped(token.account.plan, token.type)
    else:
        memberships = list(
            Membership.objects.filter(user_id=token.user_id)
            .select_related("account")
            .order_by("account__name")
        )
        allowed = scopes_allowed_for_roles(m.role for m in memberships)
        scoped = True
    return {
        "mode": "edit",
        "form": form,
        "token": token,
        "token_type": token.type,
        "chosen_account": token.account,
        "chosen_role": token.role,
        "role_label": Role(token.role).label if token.role else "",
        "memberships": memberships,
        "scoped": scoped,
        "scope_options": _scope_options(allowed, _values(form, "scopes")),
        "pickers": _pickers(form, account_ids, grouped=len(account_ids) > 1) if scoped else [],
        "picker_url": reverse("tokens:resource-picker"),
        "cancel_url": _safe_url(request, request.GET.get("next")) or _back_url(request, token),
        "sudo_active": sudo_is_active(request),
    }


@require_http_methods(["GET", "POST"])
@signed_in_required
def token_edit(request: HttpRequest, token_id: int) -> HttpResponse:
    """Edit a token's name, scopes, resources and IP allow-list (widening needs sudo)."""
    token = selectors.token_get_manageable(request.user, token_id)
    here = reverse("tokens:edit", args=[token.pk])
    stash_key = f"edit:{token.pk}"
    if request.method == "GET":
        stashed = _unstash(request, stash_key) if request.GET.get("resume") else None
        if stashed is not None:
            form = TokenPermissionsForm(initial=_initial_from(stashed, TokenPermissionsForm))
            messages.info(
                request,
                "Your password is confirmed and your changes are kept. "
                "Press Update token to save them.",
            )
        else:
            form = TokenPermissionsForm(initial=_edit_initial(token))
        return render(request, FORM_TEMPLATE, _edit_context(request, form, token))

    if request.POST.get("_refresh"):
        # Enter in a text field (a resource search without JS): redraw, change nothing.
        form = TokenPermissionsForm(initial=_initial_from(request.POST, TokenPermissionsForm))
        return render(request, FORM_TEMPLATE, _edit_context(request, form, token))
    form = TokenPermissionsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            token_update_permissions(
                actor=_actor(request),
                token=token,
                name=data["name"],
                scopes=data["scopes"] or (None if _solo_automation(token) else []),
                resources=form.resources(),
                allowed_ips=data["allowed_ips"],
                tls_access=bool(data["tls_access"]) if token.is_automation else None,
                sudo=sudo_is_active(request),
            )
        except SudoRequired:
            _stash(request, stash_key, request.POST)
            return _to_sudo(request, f"{here}?resume=1", here)
        except TokenValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Token “{data['name'].strip()}” updated.")
            return redirect(_back_url(request, token))
    return render(request, FORM_TEMPLATE, _edit_context(request, form, token), status=400)


def _solo_automation(token: Token) -> bool:
    return token.is_automation and not plan_allows_scoped(token.account.plan, token.type)


# --------------------------------------------------------------------------- delete


def _row_context(request: HttpRequest, token: Token) -> dict[str, Any]:
    slug = request.GET.get("account") or request.POST.get("account") or ""
    return {
        "row": _rows([token], request.user)[0],
        "page": "account" if slug else "personal",
        "account": {"slug": slug} if slug else None,
    }


@require_GET
@signed_in_required
def token_row(request: HttpRequest, token_id: int) -> HttpResponse:
    """htmx: one table row again (Cancel on an inline delete confirmation)."""
    revocation = selectors.token_get_revocable(
        request.user, token_id, request.GET.get("account", "")
    )
    return render(request, f"{LIST_TEMPLATE}#token-row", _row_context(request, revocation.token))


@require_http_methods(["GET", "POST"])
@signed_in_required
def token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    """Confirm, then revoke: the owner for their own, a superuser for their account's."""
    slug = request.GET.get("account") or request.POST.get("account") or ""
    revocation = selectors.token_get_revocable(request.user, token_id, slug)
    token = revocation.token
    back = _safe_url(request, request.POST.get("next") or request.GET.get("next"))
    if not back:
        back = (
            reverse("tokens:account-list", args=[slug])
            if slug
            else reverse("tokens:list")
            if revocation.revoked_by == "owner"
            else _back_url(request, token)
        )
    if request.method == "POST":
        name, display = token.name, token.display
        token_revoke(
            actor=_actor(request),
            token=token,
            revoked_by=revocation.revoked_by,
            account=revocation.account,
        )
        message = f"Token “{name}” ({display}) deleted. It no longer works."
        if request.htmx:
            return render(request, f"{LIST_TEMPLATE}#deleted", {"message": message})
        messages.success(request, message)
        return redirect(back)
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
