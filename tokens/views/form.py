"""Drawing the permissions form that the wizard and the edit page share.

Scope checkboxes enabled by role, one resource picker per kind (searchable,
selected resources first), and the values to redraw a form with without
judging it yet. The services decide what is valid; this only shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.constants import RecordType
from accounts.decorators import signed_in_required
from accounts.http import AuthenticatedRequest
from accounts.selectors import accounts_managed_by
from tokens import selectors
from tokens.forms import (
    TokenPermissionsForm,
    resource_field_name,
    resource_mode_name,
    rule_rows_from,
)
from tokens.kinds import BY_KIND, Kind
from tokens.models import TokenType
from tokens.permissions import SCOPES
from tokens.records.rules import MAX_RECORD_RULES
from tokens.scope_words import RoleIn, scope_description, scope_refusal
from tokens.selections.selectors import PickerItem, resource_ids_in, resources_for_picker
from tokens.views.common import FORM_TEMPLATE


def initial_from(data: QueryDict, form_class: type[TokenPermissionsForm]) -> dict[str, Any]:
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
    initial["rule_rows"] = rule_rows_from(data)
    initial["rule_action"] = data.get("_refresh", "")
    return initial


def rule_rows(form: TokenPermissionsForm) -> dict[str, Any]:
    """The "Limit to records" rows: those sent or stored; a blank one after "Add a rule".

    The Add and Remove buttons submit the form to redraw it (`_refresh` says
    which), so they work without JavaScript; htmx swaps only this section.
    """
    if form.is_bound:
        rows, action = rule_rows_from(form.data), ""
    else:
        rows = [dict(row) for row in form.initial.get("rule_rows", [])]
        action = str(form.initial.get("rule_action") or "")
    if action.startswith("remove-rule-") and action[12:].isdigit():
        index = int(action[12:])
        if index < len(rows):
            del rows[index]
    if len(rows) < MAX_RECORD_RULES and action == "add-rule":
        rows.append({"name": "", "types": []})
    return {
        "rows": [{**row, "index": n, "number": n + 1} for n, row in enumerate(rows)],
        "types": RecordType.values,
        "can_add": len(rows) < MAX_RECORD_RULES,
    }


def value_of(form: TokenPermissionsForm, name: str) -> Any:
    """A field's submitted value, or its initial one on an unbound form."""
    if form.is_bound:
        return form.data.get(name)
    return form.initial.get(name, form.fields[name].initial if name in form.fields else None)


def values_of(form: TokenPermissionsForm, name: str) -> list[str]:
    """A many-valued field's submitted values, or its initial ones, as strings."""
    if form.is_bound:
        return cast(QueryDict, form.data).getlist(name)  # bound to request data (or a stash)
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


def scope_options(roles: Sequence[RoleIn], checked: list[str]) -> list[dict[str, Any]]:
    """Every scope as a checkbox, described for `roles`; enabled when one of them can use
    every operation it grants, else disabled with the reason."""
    options = []
    for scope in SCOPES:
        refusal = scope_refusal(scope, roles)
        options.append(
            {
                "value": scope,
                "id": "scope-" + scope.replace(":", "-").replace("_", "-"),
                "description": scope_description(scope, roles),
                "enabled": refusal is None,
                "refusal": refusal,
                "checked": scope in checked and refusal is None,
            }
        )
    return options


def error_summary(form: TokenPermissionsForm) -> list[dict[str, str]]:
    """Every field error of a validated form, with the anchor of its field, for the summary."""
    # Reading `errors` would validate an unbound or unvalidated form: only a judged one has any.
    if not form.is_bound or form._errors is None:  # type: ignore[attr-defined]  # see picker()
        return []
    anchors = {
        "scopes": "section-scopes",
        "expiration": "expiry-choices",
        **{resource_field_name(kind): f"picker-{kind}" for kind in Kind},
        **{resource_mode_name(kind): f"picker-{kind}" for kind in Kind},
    }
    # In the order the page shows the fields.
    page_order = [
        "name",
        "token_type",
        "account",
        "role",
        "tls_access",
        "scopes",
        *(
            field
            for kind in Kind
            for field in (resource_mode_name(kind), resource_field_name(kind))
        ),
        "allowed_ips",
        "expiration",
        "expires_on",
    ]
    names = sorted(
        (name for name in form.errors if name in form.fields),
        key=lambda name: page_order.index(name) if name in page_order else len(page_order),
    )
    return [
        {
            "anchor": anchors.get(name, f"id_{name}"),
            "label": str(form.fields[name].label or name),
            "message": str(message),
        }
        for name in names
        for message in form.errors[name]
    ]


def pickers(form: TokenPermissionsForm, reach: selectors.TokenReach) -> list[dict[str, Any]]:
    """One resource picker per kind, offering what the role can read where the token acts."""
    return [picker(form, kind, reach) for kind in Kind]


def picker(
    form: TokenPermissionsForm | None,
    kind: Kind,
    reach: selectors.TokenReach,
    data: QueryDict | None = None,
) -> dict[str, Any]:
    """One kind's picker: all or selected, the matching resources, and its errors.

    Only resources of accounts where the role reads `kind` are shown; where it
    reads it nowhere the kind is not offered. Selected resources the role cannot
    read stay selected, unseen (hidden inputs), so saving the form neither widens
    nor silently narrows the token.
    """
    account_ids = reach.account_ids_reading(kind)
    ids_name = resource_field_name(kind)
    if data is not None:
        query, selected, mode = data.get(f"{kind}_q", ""), data.getlist(ids_name), "selected"
    else:
        assert form is not None  # without query data, the picker reads the form
        source = form.data if form.is_bound else form.initial
        query = source.get(f"{kind}_q", "") or ""
        selected = values_of(form, ids_name)
        mode = value_of(form, resource_mode_name(kind)) or "all"
    selected_ids = _int_set(selected)
    items: list[PickerItem] = []
    left_out = 0
    if account_ids:
        items, left_out = resources_for_picker(
            kind=kind, account_ids=account_ids, query=query, selected_ids=selected_ids
        )
    unread = [pk for pk in reach.account_ids if pk not in account_ids]
    kept = resource_ids_in(kind=kind, ids=selected_ids, account_ids=unread)
    errors: list[str] = []
    # Only a form already validated has errors to show: reading `errors` would validate it.
    # django-stubs does not declare BaseForm._errors (None until validation).
    if form is not None and form.is_bound and form._errors is not None:  # type: ignore[attr-defined]  # see above
        errors = [str(error) for error in form.errors.get(ids_name, [])]
    return {
        "kind": str(kind),
        "label": BY_KIND[kind].label,
        "mode": "selected" if mode == "selected" else "all",
        "mode_name": resource_mode_name(kind),
        "ids_name": ids_name,
        "items": items,
        "left_out": left_out,
        "query": query,
        "grouped": len(reach.account_ids) > 1,
        "errors": errors,
        "offered": bool(account_ids),
        "kept_ids": kept,
    }


@require_GET
@signed_in_required
def resource_picker(request: AuthenticatedRequest) -> HttpResponse:
    """htmx: one resource list (search results), for the wizard or an edit form."""
    try:
        kind = Kind(request.GET.get("kind", ""))
    except ValueError:
        return HttpResponse("Unknown resource type.", status=400)
    token_id = request.GET.get("token", "")
    if token_id.isdigit():
        token = selectors.token_get_manageable(request.user, int(token_id))
        reach = selectors.token_reach(
            token_type=token.type,
            owner_id=token.user_id,
            account_id=token.account_id,
            token_id=token.pk,
        )
    elif request.GET.get("token_type") == TokenType.AUTOMATION:
        chosen = request.GET.get("account", "")
        account = next((a for a in accounts_managed_by(request.user) if str(a.pk) == chosen), None)
        reach = selectors.token_reach(
            token_type=TokenType.AUTOMATION, account_id=account.pk if account else None
        )
    else:
        reach = selectors.token_reach(token_type=TokenType.USER, owner_id=request.user.pk)
    shown = picker(None, kind, reach, data=request.GET)
    return render(request, f"{FORM_TEMPLATE}#resource-list", {"picker": shown})
