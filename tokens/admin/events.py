"""Support's read-only views of the event log: every event, and the "Revoked tokens" view.

A revoked token's row is deleted, so support finds it here: the `token.revoked`
events, with the token's name and hint, who revoked it, when and why (for a
leak report, where the secret was found). Both are read-only.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tokens.admin.display import column, when
from tokens.admin.filters import RevokedByFilter
from tokens.admin.search import NoSecretsInSearch
from tokens.models import Event, EventKind, RevokedTokenEvent
from tokens.services.revoke import REVOKED_BY, revocation_reason, revoker_text


class ReadOnlyEvents(NoSecretsInSearch):
    """The event log is never written from the admin."""

    ordering = ["-created_at", "-id"]
    date_hierarchy = "created_at"
    empty_value_display = "—"
    list_title = ""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"title": self.list_title, **(extra_context or {})})

    def get_readonly_fields(self, request: HttpRequest, obj: Event | None = None) -> list[str]:
        return [field.name for field in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    @column("When", ordering="created_at")
    def at(self, event: Event) -> str:
        return when(event.created_at)


@admin.register(Event)
class EventAdmin(ReadOnlyEvents):
    """The whole event log, read-only."""

    list_display = ["at", "what", "who", "how", "account_name", "summary_text"]
    list_filter = ["kind", "actor_kind", "channel", "account"]
    list_select_related = ["account"]
    search_fields = ["summary", "actor_label", "token_name", "token_display", "account__slug"]
    list_title = "Event log"

    @column("What", ordering="kind")
    def what(self, event: Event) -> str:
        return event.get_kind_display()

    @column("Who", ordering="actor_label")
    def who(self, event: Event) -> str:
        return event.actor_label or event.get_actor_kind_display()

    @column("How", ordering="channel")
    def how(self, event: Event) -> str:
        return event.get_channel_display() if event.channel else "not recorded"

    @column("Account", ordering="account__name")
    def account_name(self, event: Event) -> str:
        return event.account.name if event.account else "—"

    @column("Summary")
    def summary_text(self, event: Event) -> str:
        return event.summary


@admin.register(RevokedTokenEvent)
class RevokedTokenEventAdmin(ReadOnlyEvents):
    """Revoked tokens, from the event log: name, hint, owner or account, who, when, why."""

    list_display = ["at", "token", "type", "owner_or_account", "revoker", "why"]
    list_display_links = ["token"]
    list_filter = [RevokedByFilter, "token_type", "account"]
    list_select_related = ["account", "token_owner"]
    search_fields = [
        "token_name",
        "token_display",
        "actor_label",
        "token_owner__email",
        "account__name",
        "account__slug",
    ]
    search_help_text = "Token name, hint (e.g. kwu_…x7Qa), owner email, account, or who revoked it."
    list_title = "Revoked tokens"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return super().get_queryset(request).filter(kind=EventKind.TOKEN_REVOKED)

    def has_view_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        # Whoever may read the event log may read this part of it.
        return request.user.has_perm("tokens.view_event") or super().has_view_permission(
            request, obj
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @column("Revoked", ordering="created_at")
    def at(self, event: Event) -> str:
        return when(event.created_at)

    @admin.display(description="Token", ordering="token_name")
    def token(self, event: Event) -> SafeString:
        return format_html(
            '{} <span class="kw-muted kw-nowrap">{}</span>', event.token_name, event.token_display
        )

    @column("Type", ordering="token_type")
    def type(self, event: Event) -> str:
        return event.get_token_type_display()

    @column("Owner / account")
    def owner_or_account(self, event: Event) -> str:
        if event.token_owner is not None:
            return event.token_owner.email
        return event.account.name if event.account else "—"

    @column("Who")
    def revoker(self, event: Event) -> str:
        revoked_by = str(event.details.get("revoked_by", ""))
        return revoker_text(REVOKED_BY.get(revoked_by, revoked_by), revoked_by, event.actor_label)

    @column("Why")
    def why(self, event: Event) -> SafeString | str:
        details = event.details
        reason = revocation_reason(str(details.get("revoked_by", "")), details) or "—"
        url = str(details.get("url") or "")
        if url.startswith(("https://", "http://")):  # a reporter's string: link only web pages
            return format_html(
                '{} <a href="{}" rel="noopener noreferrer nofollow">open</a>', reason, url
            )
        return reason
