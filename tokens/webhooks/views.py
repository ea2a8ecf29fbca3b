"""The webhooks pages (SPEC 19): `/a/<slug>/webhooks/` and one endpoint's page, superusers only.

Every POST is a change and needs sudo mode: sent without it, it is carried out once
the person confirmed it is them (accounts.sudo). A new or rolled signing secret is shown in
the answer that made it, once: it is not stored anywhere it could be shown from again.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.decorators import account_view
from accounts.http import AccountRequest, form_error_status
from accounts.roles import manages_account
from accounts.sudo import sudo_gate, sudo_resumable
from tokens.views.common import actor_of
from tokens.webhooks import selectors, services
from tokens.webhooks.constants import ATTEMPTS, TEST_EVENT_TYPE, WebhookEventType
from tokens.webhooks.forms import WebhookForm
from tokens.webhooks.models import WebhookEndpoint

LIST_TEMPLATE = "tokens/webhooks.html"
DETAIL_TEMPLATE = "tokens/webhook_detail.html"


def _forbidden(request: AccountRequest) -> HttpResponse | None:
    if manages_account(request.membership.role):
        return None
    return render(
        request,
        "tokens/forbidden.html",
        {"account": request.account, "forbidden_title": "Only superusers manage webhooks"},
        status=403,
    )


def _submitted(request: AccountRequest, here: str) -> QueryDict | HttpResponse | None:
    """The change to apply now (a POST in sudo mode), the detour to /sudo/, or None (a GET)."""
    if request.method != "POST":
        return None
    return sudo_gate(request, cancel_url=here) or request.POST


def _with_secret(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def webhooks_page(request: AccountRequest) -> HttpResponse:
    """The account's endpoints, and the form that adds one."""
    refused = _forbidden(request)
    if refused:
        return refused
    account = request.account
    here = reverse("webhooks:endpoints", args=[account.slug])
    data = _submitted(request, here)
    if isinstance(data, HttpResponse):
        return data
    form = WebhookForm(data) if data is not None else WebhookForm(initial={"enabled": True})
    status = 200
    if data is not None:
        if form.is_valid():
            try:
                created = services.webhook_create(
                    actor=actor_of(request),
                    account=account,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["events"],
                    enabled=form.cleaned_data["enabled"],
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return _with_secret(_detail(request, created.endpoint, secret=created.secret))
        status = form_error_status(request)
    context = {"endpoints": list(selectors.webhooks_of(account)), "form": form}
    return render(request, LIST_TEMPLATE, context, status=status)


def _detail(
    request: AccountRequest,
    endpoint: WebhookEndpoint,
    *,
    form: WebhookForm | None = None,
    secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "endpoint": endpoint,
        "form": form or WebhookForm(initial=WebhookForm.initial_for(endpoint)),
        "deliveries": selectors.delivery_log(endpoint),
        "event_labels": dict(WebhookEventType.choices),
        "test_event_type": TEST_EVENT_TYPE,
        "attempts": ATTEMPTS,
        "secret": secret,
    }
    return render(request, DETAIL_TEMPLATE, context, status=status)


@sudo_resumable
@require_http_methods(["GET", "POST"])
@account_view
def webhook_page(request: AccountRequest, endpoint_id: int) -> HttpResponse:
    """One endpoint: change it, switch it on or off, roll its secret, delete it, send a
    test event, read its delivery log and redeliver."""
    refused = _forbidden(request)
    if refused:
        return refused
    endpoint = selectors.webhook_get(request.account, endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint in this account.")
    here = reverse("webhooks:endpoint", args=[request.account.slug, endpoint.pk])
    data = _submitted(request, here)
    if isinstance(data, HttpResponse):
        return data
    if data is None:
        return _detail(request, endpoint)
    return _act(request, endpoint, data, here)


def _act(
    request: AccountRequest, endpoint: WebhookEndpoint, data: QueryDict, here: str
) -> HttpResponse:
    actor = actor_of(request)
    action = data.get("action", "")
    if action == "save":
        form = WebhookForm(data)
        if form.is_valid():
            try:
                services.webhook_update(
                    actor=actor,
                    endpoint=endpoint,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["events"],
                    enabled=form.cleaned_data["enabled"],
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, "Webhook endpoint saved.")
                return redirect(here)
        return _detail(request, endpoint, form=form, status=form_error_status(request))
    if action in ("enable", "disable"):
        services.webhook_update(actor=actor, endpoint=endpoint, enabled=action == "enable")
        messages.success(request, f"Webhook endpoint {action}d.")
    elif action == "roll":
        rolled = services.webhook_roll_secret(actor=actor, endpoint=endpoint)
        return _with_secret(_detail(request, rolled.endpoint, secret=rolled.secret))
    elif action == "delete":
        services.webhook_delete(actor=actor, endpoint=endpoint)
        messages.success(request, f"Webhook endpoint {endpoint.url} deleted.")
        return redirect("webhooks:endpoints", request.account.slug)
    elif action == "test":
        services.webhook_send_test(actor=actor, endpoint=endpoint)
        messages.success(request, "Test event sent. Its delivery is at the top of the log.")
    elif action == "redeliver":
        delivery_id = data.get("delivery", "")
        known = delivery_id.isdigit() and len(delivery_id) <= 18
        delivery = selectors.delivery_get(endpoint, int(delivery_id)) if known else None
        if delivery is None:
            raise Http404("No such delivery of this endpoint.")
        services.webhook_redeliver(delivery=delivery)
        messages.success(request, "Redelivery sent. It is at the top of the log.")
    else:
        messages.error(request, "Unknown action; nothing was changed.")
    return redirect(here)
