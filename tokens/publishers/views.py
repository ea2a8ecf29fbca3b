"""The Trusted publishers page (SPEC 18): superusers list, add, edit and delete an account's
publishers (sudo mode first), see the audience to put in CI, and test an ID token against
each publisher's conditions (nothing is minted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import account_view
from accounts.http import AccountRequest, form_error_status
from accounts.roles import manages_account
from accounts.sudo import sudo_gate, sudo_resumable
from tokens import selectors
from tokens.kinds import BY_KIND, Kind
from tokens.models import TokenType
from tokens.permissions import SCOPE_DESCRIPTIONS, SCOPES
from tokens.publishers.forms import PublisherForm, TesterForm
from tokens.publishers.models import Provider, Publisher
from tokens.publishers.rules import ConditionResult, provider_conditions, tester_report
from tokens.publishers.selectors import minted_live, publisher_in, publishers_of
from tokens.publishers.services import publisher_create, publisher_delete, publisher_update
from tokens.publishers.validation import publisher_input_clean
from tokens.records.rules import record_rules_text, rules_from_json
from tokens.services.common import NotPermitted
from tokens.validation import TokenValidationError
from tokens.views.common import actor_of
from tokens.views.form import error_summary, pickers, rule_rows, values_of

PAGE_TEMPLATE = "tokens/publishers.html"
FORM_TEMPLATE = "tokens/publisher_form.html"
DELETE_TEMPLATE = "tokens/publisher_delete.html"


def _forbidden(request: AccountRequest) -> HttpResponse:
    return render(
        request,
        "tokens/forbidden.html",
        {
            "account": request.account,
            "forbidden_title": "Only superusers manage trusted publishers",
        },
        status=403,
    )


def _list_url(request: AccountRequest) -> str:
    return reverse("tokens:publishers", args=[request.account.slug])


@dataclass
class PublisherRow:
    """A publisher as the page shows it: conditions and grant in words."""

    publisher: Publisher
    conditions: list[tuple[str, str]]
    resources: list[str]
    records: str
    report: list[ConditionResult] | None = None

    @property
    def matched(self) -> bool:
        return self.report is not None and all(result.held for result in self.report)


def _row(publisher: Publisher, claims: dict[str, Any] | None = None) -> PublisherRow:
    conditions = provider_conditions(publisher.provider, publisher.conditions)
    labels = {condition.name: condition.label for condition in conditions}
    resources = []
    for kind in Kind:
        value = publisher.resources.get(str(kind), "all")
        if value != "all":
            resources.append(f"{BY_KIND[kind].label}: {len(value)} selected")
    report = None
    if claims is not None:
        report = tester_report(
            provider=publisher.provider,
            issuer=publisher.issuer,
            conditions=publisher.conditions,
            claims=claims,
        )
    return PublisherRow(
        publisher=publisher,
        conditions=[
            (labels.get(name, name), value) for name, value in publisher.conditions.items()
        ],
        resources=resources or ["All resources"],
        records=record_rules_text(rules_from_json(publisher.record_rules)),
        report=report,
    )


def _page(
    request: AccountRequest, tester: TesterForm | None = None, claims: dict | None = None
) -> dict[str, Any]:
    publishers = list(publishers_of(request.account))
    return {
        "rows": [_row(publisher, claims) for publisher in publishers],
        "audience": settings.KEYWARD_OIDC_AUDIENCE,
        "exchange_url": request.build_absolute_uri("/api/v1/oidc/exchange"),
        "tester": tester or TesterForm(),
        "tested": claims is not None,
    }


@require_http_methods(["GET"])
@account_view
def publishers_page(request: AccountRequest) -> HttpResponse:
    """The account's trusted publishers, the audience for CI, and the tester."""
    if not manages_account(request.membership.role):
        return _forbidden(request)
    return render(request, PAGE_TEMPLATE, _page(request))


@require_POST
@account_view
def publishers_test(request: AccountRequest) -> HttpResponse:
    """The tester: which condition of each publisher an ID token meets. Nothing is minted."""
    if not manages_account(request.membership.role):
        return _forbidden(request)
    form = TesterForm(request.POST)
    claims = None
    if form.is_valid():
        try:
            claims = form.claims()
        except ValidationError as invalid:
            form.add_error("id_token", invalid)
    status = 200 if claims is not None else form_error_status(request)
    return render(request, PAGE_TEMPLATE, _page(request, form, claims), status=status)


# --------------------------------------------------------------------------- add and edit


def _provider(request: AccountRequest, publisher: Publisher | None, data: QueryDict | None) -> str:
    chosen = (data or request.GET).get("provider") or (publisher.provider if publisher else "")
    return chosen if chosen in Provider.values else Provider.GITHUB


def _save(
    request: AccountRequest, form: PublisherForm, publisher: Publisher | None
) -> Publisher | None:
    """Judge the form with the publisher rules and save it; None (errors on the form) if not."""
    if not form.is_valid():
        return None
    try:
        cleaned = publisher_input_clean(
            request.account,
            name=form.cleaned_data["name"],
            provider=form.provider,
            issuer=form.cleaned_data["issuer"],
            conditions=form.conditions(),
            grant=form.grant(),
        )
        if publisher is None:
            return publisher_create(
                actor=actor_of(request), account=request.account, cleaned=cleaned
            )
        return publisher_update(actor=actor_of(request), publisher=publisher, cleaned=cleaned)
    except TokenValidationError as error:
        form.add_service_errors(error)
    except NotPermitted as refusal:
        form.add_error(None, str(refusal))
    return None


def _form_page(request: AccountRequest, publisher: Publisher | None) -> HttpResponse:
    """Add or edit a publisher (sudo mode first; a form sent after it lapsed is kept)."""
    if not manages_account(request.membership.role):
        return _forbidden(request)
    detour = sudo_gate(request, cancel_url=_list_url(request))
    if detour is not None:
        return detour
    data: QueryDict | None = request.POST if request.method == "POST" else None
    provider = _provider(request, publisher, data)
    if data is not None and not data.get("_refresh"):
        form = PublisherForm(data, provider=provider)
        saved = _save(request, form, publisher)
        if saved is not None:
            verb = "saved" if publisher else "added"
            messages.success(request, f"Trusted publisher “{saved.name}” {verb}.")
            return redirect(_list_url(request))
    elif data is not None:
        form = PublisherForm(data, provider=provider)
    else:
        initial = PublisherForm.initial_for(publisher) if publisher else {}
        form = PublisherForm(initial=initial, provider=provider)
    reach = selectors.token_reach(token_type=TokenType.AUTOMATION, account_id=request.account.pk)
    checked = values_of(form, "scopes")
    context = {
        "form": form,
        "publisher": publisher,
        "provider": provider,
        "providers": Provider.choices,
        "scopes": [(scope, SCOPE_DESCRIPTIONS[scope], scope in checked) for scope in SCOPES],
        "pickers": pickers(form, reach),
        "record_rules": rule_rows(form),
        "error_summary": error_summary(form),
        "audience": settings.KEYWARD_OIDC_AUDIENCE,
    }
    status = form_error_status(request) if form.is_bound and form.errors else 200
    return render(request, FORM_TEMPLATE, context, status=status)


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def publisher_new(request: AccountRequest) -> HttpResponse:
    """Add a trusted publisher."""
    return _form_page(request, None)


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def publisher_edit(request: AccountRequest, publisher_id: int) -> HttpResponse:
    """Edit a trusted publisher (404 for another account's)."""
    if not manages_account(request.membership.role):
        return _forbidden(request)
    publisher = publisher_in(request.account, publisher_id)
    if publisher is None:
        raise Http404("No such trusted publisher.")
    return _form_page(request, publisher)


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def publisher_remove(request: AccountRequest, publisher_id: int) -> HttpResponse:
    """Delete a trusted publisher after confirmation (sudo mode first)."""
    if not manages_account(request.membership.role):
        return _forbidden(request)
    publisher = publisher_in(request.account, publisher_id)
    if publisher is None:
        raise Http404("No such trusted publisher.")
    detour = sudo_gate(request, cancel_url=_list_url(request))
    if detour is not None:
        return detour
    if request.method == "POST":
        publisher_delete(actor=actor_of(request), publisher=publisher)
        messages.success(request, f"Trusted publisher “{publisher.name}” deleted.")
        return redirect(_list_url(request))
    live = minted_live(publisher, now=timezone.now()).count()
    return render(request, DELETE_TEMPLATE, {"publisher": publisher, "live": live})
