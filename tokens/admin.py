"""Support-staff screens: find a token (even from a leaked value), revoke it, read the log.

Nothing here shows a secret or its digest. Tokens are read-only: the only write
is the "Revoke selected tokens" action, which goes through `token_revoke` and is
logged as support. Events are read-only.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from accounts.http import AuthenticatedRequest, client_ip
from accounts.models import Account, Membership
from tokens import crypto
from tokens.events import Actor
from tokens.models import Event, Token, TokenQuerySet, TokenType
from tokens.services import token_revoke


def _looks_like_credential(term: str) -> bool:
    """A pasted value worth hashing: a well-formed Keyward token or a legacy-shaped key."""
    if term[:4] in ("kwu_", "kwa_"):
        return crypto.is_well_formed(term)
    return crypto.is_legacy_key_shaped(term)


def _is_pasted_secret(term: str) -> bool:
    """A search term that is (or is meant as) a secret: token-shaped, or a live legacy key."""
    if crypto.is_token_shaped(term):
        return True
    return crypto.is_legacy_key_shaped(term) and _find_by_value(term) is not None


def _find_by_value(value: str) -> Token | None:
    """The token whose secret is `value`, hashed under every pepper: its current secret,
    or a rolled-away previous one (SPEC 11)."""
    digests = crypto.digests(value, settings.KEYWARD_TOKEN_PEPPERS)
    return Token.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests)).first()


class NoSecretsInSearch(admin.ModelAdmin):
    """A secret pasted in the search box is neither searched nor shown again.

    The search box submits by GET: its term lands in URLs, access logs, every
    pagination and filter link, and the page. A token-shaped term (or a legacy
    key that matches a token) sends support to "Find by token value", which takes
    the value by POST. static/js/admin-token-search.js does that in the browser
    before the value is ever put in a URL; this is the answer without it.
    """

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        term = request.GET.get(SEARCH_VAR, "").strip()
        if term and _is_pasted_secret(term):
            self.message_user(
                request,
                "That looks like a full token value, so it was not searched and is not shown. "
                "Paste it here instead: this form sends it by POST, so it stays out of "
                "addresses and logs.",
                messages.WARNING,
            )
            return HttpResponseRedirect(
                reverse("admin:tokens_token_find", current_app=self.admin_site.name)
            )
        return super().changelist_view(request, extra_context)


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("active", "Active"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Token]) -> QuerySet[Token]:
        if self.value() == "active":
            return cast(TokenQuerySet, queryset).active()  # the admin's queryset is Token's
        if self.value() == "expired":
            return cast(TokenQuerySet, queryset).expired()
        return queryset


class TokenAccountFilter(admin.SimpleListFilter):
    """Tokens that can act in an account: its automation tokens and its members' user tokens."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [(str(pk), name) for pk, name in Account.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Token]) -> QuerySet[Token]:
        value = self.value() or ""
        if not value.isdigit():
            return queryset
        account_id = int(value)
        member = Membership.objects.filter(account_id=account_id, user_id=OuterRef("user_id"))
        return queryset.filter(Q(account_id=account_id) | Q(type=TokenType.USER) & Exists(member))


# What the token page shows: never the digest (nor, of course, the secret, which is not
# stored). A tuple of names, so it serves as both `fields` and `readonly_fields`.
TOKEN_ADMIN_FIELDS: tuple[str, ...] = (
    "name",
    "display",
    "type",
    "user",
    "account",
    "created_by",
    "role",
    "scopes",
    "resources",
    "tls_access",
    "allowed_ips",
    "is_legacy",
    "imported_at",
    "created_at",
    "expires_at",
    "expiry_notice_days",
    "last_used_at",
    "last_used_ip",
    "last_used_user_agent",
    "previous_secret_expires_at",
    "previous_secret_last_used_at",
)


@admin.register(Token)
class TokenAdmin(NoSecretsInSearch):
    list_display = [
        "name",
        "display",
        "type",
        "owner",
        "account",
        "state",
        "expires_at",
        "last_used_at",
    ]
    list_filter = ["type", TokenStateFilter, TokenAccountFilter, "is_legacy"]
    list_select_related = ["user", "account"]
    search_fields = ["name", "display", "user__email", "account__name", "account__slug"]
    search_help_text = (
        "Name, owner email, account, or display hint (e.g. kwu_…x7Qa). "
        "To find a token from its full value, use “Find by token value”."
    )
    ordering = ["-created_at", "-id"]
    actions = ["revoke_selected"]
    fields = TOKEN_ADMIN_FIELDS
    readonly_fields = TOKEN_ADMIN_FIELDS

    change_list_template = "admin/tokens/token/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        find = path(
            "find/",
            self.admin_site.admin_view(self.find_view),
            name="tokens_token_find",
        )
        return [find, *super().get_urls()]

    def find_view(self, request: HttpRequest) -> HttpResponse:
        """Find a token from a pasted value, sent by POST so it stays out of URLs and logs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        error = ""
        if request.method == "POST":
            value = request.POST.get("value", "").strip()
            if not value:
                error = "Paste the token value."
            elif not _looks_like_credential(value):
                error = (
                    "That is not a Keyward token (kwu_… or kwa_… with a valid checksum) "
                    "nor a legacy key (16 to 128 letters, digits, '_', '.' or '-')."
                )
            else:
                token = _find_by_value(value)
                if token is None:
                    error = "No token has this value: it was revoked, deleted, or never existed."
                else:
                    self.message_user(
                        request,
                        f"Found “{token.name}” ({token.display}). Select it and choose "
                        "“Revoke selected tokens” to stop it at once.",
                        messages.SUCCESS,
                    )
                    changelist = reverse(
                        "admin:tokens_token_changelist", current_app=self.admin_site.name
                    )
                    return HttpResponseRedirect(f"{changelist}?id={token.pk}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Find a token by its value",
            "error": error,
        }
        return TemplateResponse(
            request, "admin/tokens/token/find.html", context, status=400 if error else 200
        )

    @admin.display(description="Owner", ordering="user__email")
    def owner(self, token: Token) -> str:
        return token.user.email if token.user else "—"

    @admin.display(description="Resources")
    def resources(self, token: Token) -> str:
        """Per kind: all, or the selected ids (the `all_<kind>` flags and the selections)."""
        return "; ".join(
            f"{kind}: {'all' if ids == 'all' else ', '.join(f'#{i}' for i in ids) or 'none'}"
            for kind, ids in token.resources_json().items()
        )

    @admin.display(description="State")
    def state(self, token: Token) -> str:
        return "expired" if token.is_expired() else "active"

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


@admin.register(Event)
class EventAdmin(NoSecretsInSearch):
    """The whole event log, read-only."""

    list_display = ["created_at", "kind", "actor_label", "account", "summary"]
    list_filter = ["kind", "actor_kind", "account"]
    list_select_related = ["account"]
    search_fields = ["summary", "actor_label", "token_name", "token_display", "account__slug"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Event | None = None) -> list[str]:
        return [field.name for field in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
