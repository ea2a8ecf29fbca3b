"""The per-account event log page (SPEC 9): who did what, as the member's role may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render

from accounts.decorators import account_view
from accounts.http import AccountRequest
from accounts.models import Membership
from accounts.roles import manages_account
from tokens.models import PERSONAL_EVENT_KINDS, ActorKind, Event, EventKind
from tokens.paging import keyset_page
from tokens.selectors import events_visible_to, sees_automation_token_events

EVENTS_PER_PAGE = 50

# The actor filter: a member (by user id) or one of these kinds of actor.
ACTOR_KIND_CHOICES = {
    "automation": "Automation tokens",
    ActorKind.SUPPORT: "Support staff",
    ActorKind.SYSTEM: "The system",
}

FIELD_LABELS = {
    "name": "Name",
    "scopes": "Scopes",
    "resources": "Resources",
    "allowed_ips": "IP allow-list",
    "role": "Role",
    "tls_access": "TLS management",
    # Token policies (SPEC 15); "—" is a policy off.
    "max_lifetime_days": "Maximum lifetime (days)",
    "max_idle_days": "Maximum idle time (days)",
    "automation_requires_ip_allow_list": "Automation tokens need an IP allow-list",
    "allowed_networks": "Allowed networks",
}


@dataclass(frozen=True)
class Change:
    """One changed field of a permission or role change, for the before/after table."""

    label: str
    before: str
    after: str


def _plain(field: str, value: Any) -> str:
    """A snapshot value in words: lists joined, resources per kind, booleans as yes/no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "resources" and isinstance(value, dict):
        parts = []
        for kind, ids in value.items():
            if ids == "all":
                parts.append(f"{kind}: all")
            else:
                shown = ", ".join(f"#{item}" for item in ids) if ids else "none"
                parts.append(f"{kind}: {shown}")
        return "; ".join(parts)
    if field == "allowed_ips" and not value:
        return "any IP"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def event_action(event: Event) -> str:
    """The summary without the actor it starts with: the log names who in its own column.

    "owner@example.com created user token …" reads "Created user token …" there.
    """
    label = event.actor_label
    if not label or not event.summary.startswith(f"{label} "):
        return event.summary
    rest = event.summary[len(label) + 1 :]
    return rest[:1].upper() + rest[1:]


def event_changes(event: Event) -> list[Change]:
    """Fields whose values differ between details["before"] and details["after"]."""
    details = event.details or {}
    before, after = details.get("before"), details.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    changes = []
    for field in [*before, *(key for key in after if key not in before)]:
        if before.get(field) != after.get(field):
            changes.append(
                Change(
                    label=FIELD_LABELS.get(field, field.replace("_", " ").capitalize()),
                    before=_plain(field, before.get(field)),
                    after=_plain(field, after.get(field)),
                )
            )
    return changes


def _filtered(
    events: QuerySet[Event], *, kind: str, actor: str, token: str, members: list[Membership]
) -> QuerySet[Event]:
    if kind in EventKind.values:
        events = events.filter(kind=kind)
    if actor == "automation":
        events = events.filter(actor_token_type="automation")
    elif actor in (ActorKind.SUPPORT, ActorKind.SYSTEM):
        events = events.filter(actor_kind=actor)
    elif actor.isdigit() and any(str(m.user_id) == actor for m in members):
        events = events.filter(actor_user_id=int(actor)).exclude(actor_token_type="automation")
    if token:
        # The token acted on, or the token that acted (API writes name it in the label).
        match = (
            Q(token_name__icontains=token)
            | Q(token_display__icontains=token)
            | Q(actor_kind=ActorKind.TOKEN, actor_label__icontains=token)
        )
        if token.isdigit():
            match |= Q(token_id=int(token)) | Q(actor_token_id=int(token))
        events = events.filter(match)
    return events


@account_view
def event_log(request: AccountRequest) -> HttpResponse:
    """The account's event log, newest first, filtered by kind, actor and token.

    Paged by cursor (Newer / Older), never counted: see tokens.paging.
    """
    membership = request.membership
    members = list(
        Membership.objects.filter(account=request.account)
        .select_related("user")
        .order_by("user__email")
    )
    kind = request.GET.get("kind", "")
    actor = request.GET.get("actor", "")
    token = request.GET.get("token", "").strip()[:100]
    streams = [
        _filtered(events, kind=kind, actor=actor, token=token, members=members)
        for events in events_visible_to(membership)
    ]
    filters = {"kind": kind, "actor": actor, "token": token}
    page = keyset_page(streams, request.GET, params=filters, per_page=EVENTS_PER_PAGE)
    rows = [(event, event_action(event), event_changes(event)) for event in page.rows]
    context = {
        "page": page,
        "rows": rows,
        "kinds": [(v, label) for v, label in EventKind.choices if v not in PERSONAL_EVENT_KINDS],
        "actor_members": members,
        "actor_kinds": ACTOR_KIND_CHOICES.items(),
        "filters": filters,
        "filtered": any(filters.values()),
        "sees_everything": manages_account(membership.role),
        "role_label": membership.get_role_display(),
        "sees_automation": sees_automation_token_events(membership.role),
    }
    if getattr(request, "htmx", False) and not request.htmx.history_restore_request:
        return render(request, "tokens/event_log.html#event-results", context)
    return render(request, "tokens/event_log.html", context)
