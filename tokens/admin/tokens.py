"""Support-staff screens: find a token (even from a leaked value), revoke it, read the log.

Nothing here shows a secret or its digest. Tokens are read-only: the only writes
are **Revoke** (a token's page, with a confirmation) and the "Revoke selected
tokens" action, both through `token_revoke` and logged as support. A revoked
token's row is gone; its tombstone (RevokedToken) lets **Find by token
value** say when and by whom, and the "Revoked tokens" view (tokens.admin.events)
lists revocations from the event log. Events are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.http import AuthenticatedRequest, client_ip
from accounts.models import Account
from tokens.admin.display import column, day, token_state, when
from tokens.admin.filters import TokenAccountFilter, TokenStateFilter
from tokens.admin.search import NoSecretsInSearch, digests_of, find_by_value, looks_like_credential
from tokens.events import Actor
from tokens.models import Event, Token
from tokens.permissions import SCOPE_DESCRIPTIONS
from tokens.policies.selectors import blocked_by_token, blocked_in
from tokens.records.rules import record_rules_text, rules_from_json
from tokens.selectors import token_reach
from tokens.services.revoke import token_revoke
from tokens.tombstones.selectors import tombstone_find

RECENT_EVENTS = 20


# The token page: what it is, what it can do, its life. Never the digest (nor, of
# course, the secret, which is not stored). Every field is read-only.
_WHO_USER = ("name", "display", "type", "state", "user", "created_by")
_WHO_AUTOMATION = ("name", "display", "type", "state", "account", "role", "created_by")
_CAN_DO = (
    "acts_in",
    "scopes_in_words",
    "resources",
    "record_rules_in_words",
    "allowed_ips_in_words",
)
_LIFE = (
    "created",
    "expires",
    "last_use",
    "user_agent",
    "previous_secret",
    "legacy_key",
    "expiry_notice",
)
TOKEN_ADMIN_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys((*_WHO_USER, *_WHO_AUTOMATION, "tls", *_CAN_DO, *_LIFE))
)


@admin.register(Token)
class TokenAdmin(NoSecretsInSearch):
    list_display = [
        "token",
        "owner_or_account",
        "scopes_in_words",
        "state",
        "expires",
        "last_used",
    ]
    list_display_links = ["token"]
    list_filter = ["type", TokenStateFilter, TokenAccountFilter, "is_legacy"]
    list_select_related = ["user", "account"]
    search_fields = ["name", "display", "user__email", "account__name", "account__slug"]
    search_help_text = (
        "Name, owner email, account, or hint (e.g. kwu_…x7Qa). "
        "To find a token from its full value, use “Find by token value”."
    )
    ordering = ["-created_at", "-id"]
    actions = ["revoke_selected"]
    readonly_fields = TOKEN_ADMIN_FIELDS

    empty_value_display = "—"
    change_list_template = "admin/tokens/token/change_list.html"
    change_form_template = "admin/tokens/token/change_form.html"

    def get_fieldsets(self, request: HttpRequest, obj: Token | None = None) -> Any:
        automation = obj is not None and obj.is_automation
        can_do = (*_CAN_DO, "tls") if automation else _CAN_DO
        return [
            (None, {"fields": _WHO_AUTOMATION if automation else _WHO_USER}),
            ("What it can do", {"fields": can_do}),
            ("Lifetime and use", {"fields": _LIFE}),
        ]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("find/", view(self.find_view), name="tokens_token_find"),
            path("<int:token_id>/revoke/", view(self.revoke_view), name="tokens_token_revoke"),
            *super().get_urls(),
        ]

    # ------------------------------------------------------------------ the list

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"title": "Tokens", **(extra_context or {})})

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """The page's tokens, each told where policies block it (one query for the page)."""
        changelist = super().get_changelist_instance(request)
        tokens = list(changelist.result_list)  # evaluates the page once; the table reuses it
        blocked = blocked_by_token(tokens, now=timezone.now())
        for token in tokens:
            token._blocked = blocked[token.pk]
        return changelist

    @admin.display(description="Token", ordering="name")
    def token(self, token: Token) -> SafeString:
        """Its name, and under it the hint and the type."""
        return format_html(
            '<strong>{}</strong><br><span class="kw-muted">{} · {}</span>',
            token.name,
            token.display,
            token.get_type_display(),
        )

    @column("Owner / account", ordering="user__email")
    def owner_or_account(self, token: Token) -> str:
        if token.user is not None:
            return token.user.email
        assert token.account is not None  # an automation token always has one
        return f"{token.account.name} (role: {token.get_role_display().lower()})"

    @column("Scopes")
    def scopes_in_words(self, token: Token) -> SafeString:
        return format_html(
            '<ul class="kw-scopes">{}</ul>',
            format_html_join(
                "",
                '<li title="{}">{}</li>',
                ((scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in token.scopes),
            ),
        )

    @column("State")
    def state(self, token: Token) -> SafeString:
        now = timezone.now()
        blocked = getattr(token, "_blocked", None)
        if blocked is None:  # the token's page: judged where it acts now
            blocked = blocked_in(token, self._reach_accounts(token), now=now)
        return token_state(token, blocked, now)

    @column("Expires", ordering="expires_at")
    def expires(self, token: Token) -> str:
        return day(token.expires_at) if token.expires_at else "Never"

    @column("Last used", ordering="last_used_at")
    def last_used(self, token: Token) -> SafeString | str:
        if token.last_used_at is None:
            return "Never"
        return format_html(
            '<span class="kw-nowrap" title="{}">{}</span><br><span class="kw-muted">from {}</span>',
            when(token.last_used_at),
            day(token.last_used_at),
            token.last_used_ip or "an unknown address",
        )

    # ------------------------------------------------------------------ the token's page

    def _reach_accounts(self, token: Token) -> list[Account]:
        """The accounts the token acts in now (a removal counts), read once per page."""
        cached = getattr(token, "_acts_in", None)
        if cached is None:
            if token.is_automation:
                assert token.account is not None  # an automation token always has one
                cached = [token.account]
            else:
                reach = token_reach(
                    token_type=token.type, owner_id=token.user_id, token_id=token.pk
                )
                cached = [membership.account for membership in reach.memberships]
            token._acts_in = cached  # type: ignore[attr-defined]  # cached for the page's columns
        return cached

    @admin.display(description="Acts in")
    def acts_in(self, token: Token) -> SafeString | str:
        accounts = self._reach_accounts(token)
        removed = [
            f"removed from {r.account.name} by {r.removed_by_label} on {when(r.created_at)}"
            for r in token.removals.select_related("account")
        ]
        listed = format_html_join(
            "", "<li>{}</li>", ((account.name,) for account in accounts)
        ) or format_html("<li>{}</li>", "No account: it cannot act anywhere")
        notes = format_html_join("", '<li class="kw-muted">{}</li>', ((r,) for r in removed))
        return format_html('<ul class="kw-plain">{}{}</ul>', listed, notes)

    @admin.display(description="Resources")
    def resources(self, token: Token) -> str:
        """Per kind: all, or the selected ids (the `all_<kind>` flags and the selections)."""
        return "; ".join(
            f"{kind}: {'all' if ids == 'all' else ', '.join(f'#{i}' for i in ids) or 'none'}"
            for kind, ids in token.resources_json().items()
        )

    @admin.display(description="TLS access")
    def tls(self, token: Token) -> str:
        return "Yes: may renew every certificate of its account" if token.tls_access else "No"

    @admin.display(description="Last used")
    def last_use(self, token: Token) -> str:
        if token.last_used_at is None:
            return "Never"
        return f"{when(token.last_used_at)} from {token.last_used_ip or 'an unknown address'}"

    @admin.display(description="Created")
    def created(self, token: Token) -> str:
        return when(token.created_at)

    @admin.display(description="Last user agent")
    def user_agent(self, token: Token) -> str:
        return token.last_used_user_agent or "Unknown"

    @admin.display(description="Previous secret")
    def previous_secret(self, token: Token) -> str:
        """A rolled-away secret in its grace period (SPEC 11), if any."""
        until = token.previous_secret_expires_at
        if until is None or not token.previous_secret_works():
            return "None: only the current secret works"
        used = token.previous_secret_last_used_at
        return f"Works until {when(until)}" + (f", last used {when(used)}" if used else "")

    @admin.display(description="Legacy key")
    def legacy_key(self, token: Token) -> str:
        if not token.is_legacy:
            return "No"
        return f"Yes, imported {when(token.imported_at)}" if token.imported_at else "Yes"

    @admin.display(description="Expiry notice sent")
    def expiry_notice(self, token: Token) -> str:
        days = token.expiry_notice_days
        return f"{days} day{'s' if days != 1 else ''} before expiry" if days else "Not yet"

    @admin.display(description="DNS record rules")
    def record_rules_in_words(self, token: Token) -> str:
        return record_rules_text(rules_from_json(token.record_rules)) or "Every record"

    @admin.display(description="IP allow-list")
    def allowed_ips_in_words(self, token: Token) -> str:
        return ", ".join(token.allowed_ips) or "Any IP"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        events = Event.objects.filter(token_id=object_id) if object_id.isdigit() else None
        context = {
            **(extra_context or {}),
            "recent_events": events[:RECENT_EVENTS] if events is not None else [],
            "may_revoke": self.has_revoke_permission(request),
        }
        return super().change_view(request, object_id, form_url, context)

    def revoke_view(self, request: AuthenticatedRequest, token_id: int) -> HttpResponse:
        """**Revoke** from a token's page: a confirmation, then `token_revoke` as support."""
        if not self.has_revoke_permission(request):
            raise Http404("No such page.")  # staff who may only look learn nothing here
        token = Token.objects.select_related("user", "account").filter(pk=token_id).first()
        if token is None:
            raise Http404("No such token: it may have been revoked already.")
        if request.method == "POST":
            note = request.POST.get("note", "").strip()[:500]
            token_revoke(
                actor=Actor.support(request.user, ip=client_ip(request)),
                token=token,
                revoked_by="support",
                details={"note": note} if note else None,
            )
            self.message_user(
                request,
                f"Revoked “{token.name}” ({token.display}). It stopped working at once; "
                "the event log records support as the revoker.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:tokens_token_changelist", current_app=self.admin_site.name)
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Revoke “{token.name}”?",
            "token": token,
            "owner_or_account": self.owner_or_account(token),
            "last_used": self.last_use(token),
        }
        return TemplateResponse(request, "admin/tokens/token/revoke.html", context)

    # ------------------------------------------------------------------ find by value

    def find_view(self, request: HttpRequest) -> HttpResponse:
        """Find a token from a pasted value, sent by POST so it stays out of URLs and logs.

        A value whose token was revoked finds its tombstone: when, by whom, why.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        error, revoked = "", None
        if request.method == "POST":
            value = request.POST.get("value", "").strip()
            if not value:
                error = "Paste the token value."
            elif not looks_like_credential(value):
                error = (
                    "That is not a Keyward token (kwu_… or kwa_… with a valid checksum) "
                    "nor a legacy key (16 to 128 letters, digits, '_', '.' or '-')."
                )
            elif (token := find_by_value(value)) is not None:
                self.message_user(
                    request,
                    f"Found “{token.name}” ({token.display}). Open it to revoke it, or select "
                    "it and choose “Revoke selected tokens” to stop it at once.",
                    messages.SUCCESS,
                )
                changelist = reverse(
                    "admin:tokens_token_changelist", current_app=self.admin_site.name
                )
                return HttpResponseRedirect(f"{changelist}?id={token.pk}")
            elif (revoked := tombstone_find(digests_of(value))) is None:
                error = "No token has this value: it was deleted long ago, or never existed."
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Find a token by its value",
            "error": error,
            "revoked": revoked,
            "revoked_at": when(revoked.revoked_at) if revoked else "",
        }
        # A miss is the page with its explanation, as a form with errors answers (200).
        return TemplateResponse(request, "admin/tokens/token/find.html", context)

    # ------------------------------------------------------------------ permissions

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Token | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Token | None = None) -> bool:
        # Deleting goes through the logged revoke action, never the generic delete.
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and (request.user.has_perm("tokens.delete_token"))
        )

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request: AuthenticatedRequest, queryset: QuerySet[Token]) -> None:
        actor = Actor.support(request.user, ip=client_ip(request))
        revoked = 0
        for token in queryset.select_related("user", "account"):
            token_revoke(actor=actor, token=token, revoked_by="support")
            revoked += 1
        self.message_user(
            request,
            f"Revoked {revoked} token{'s' if revoked != 1 else ''}. They stopped working at once; "
            "the event log records support as the revoker.",
            messages.SUCCESS,
        )
