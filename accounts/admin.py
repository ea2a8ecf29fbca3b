"""Support-staff screens for people, accounts and the resources accounts own."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.dates import when_text
from accounts.factors.selectors import factor_rows_of
from accounts.factors.services import factors_remove_all
from accounts.http import client_ip
from accounts.models import (
    Account,
    Certificate,
    Domain,
    Membership,
    Purge,
    Record,
    Service,
    User,
    Zone,
)
from accounts.services.identity import user_delete, user_deletion_blockers
from tokens.events import Actor

# allauth's own pages would show a factor's stored data (secrets) and email rows
# Keyward does not use: support sees factors on the person's page instead. Its social
# account tables stay empty (single sign-on builds its apps from accounts.sso).
for _model in (Authenticator, EmailAddress, SocialAccount, SocialApp, SocialToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "account"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "name",
        "is_active",
        "is_staff",
        "is_synthetic",
        "has_second_factor",
        "date_joined",
    ]
    list_filter = ["is_active", "is_staff", "is_synthetic", "has_second_factor"]
    search_fields = ["email", "name"]
    readonly_fields = [
        "date_joined",
        "last_login",
        "is_synthetic",
        "has_second_factor",
        "second_factors",
    ]
    inlines = [MembershipInline]
    actions = ["remove_second_factors"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Status", {"fields": ["is_active", "is_staff", "is_superuser", "is_synthetic"]}),
        ("Two-factor authentication", {"fields": ["has_second_factor", "second_factors"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]

    @admin.display(description="Second factors")
    def second_factors(self, user: User) -> SafeString | str:
        """The person's factors: kind, name, dates; never a secret (SPEC 16)."""
        rows = factor_rows_of(user) if user.pk else []
        if not rows:
            return "None"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.label,
                    row.name if row.name != row.label else row.detail,
                    f"{when_text(row.added)} UTC",
                    f"{when_text(row.last_used)} UTC" if row.last_used else "never",
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>Kind</th><th>Name</th><th>Added</th><th>Last used</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.action(description="Remove all second factors (a locked-out person)")
    def remove_second_factors(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Turn two-factor authentication off for people who lost every factor; logged as
        support. They sign in with their password and can set up new factors."""
        actor = Actor.support(request.user, ip=client_ip(request))  # type: ignore[arg-type]
        for person in queryset:
            removed = factors_remove_all(actor=actor, user=person)
            if removed:
                self.message_user(
                    request,
                    f"Removed {removed} second factor{'s' if removed != 1 else ''} of"
                    f" {person.email}: they sign in with their password alone now.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request, f"{person.email} has no second factor.", messages.WARNING
                )

    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]
    # A user with user tokens cannot be deleted (SPEC 3): instead of Django's generic
    # "protected related objects" page, say which tokens to revoke, and delete nothing.

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if "delete_selected" in actions:  # same name: the confirmation page posts it back
            # django-stubs' Django 5 branch types actions as returning str; they
            # return a response or None, as delete_selected_guarded does.
            actions["delete_selected"] = (  # type: ignore[assignment]
                type(self).delete_selected_guarded,
                "delete_selected",
                "Delete selected users",
            )
        return actions

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        user = self.get_object(request, object_id)
        blocked = user_deletion_blockers(user) if user is not None else None
        if blocked and user is not None:
            for reason in blocked.reasons:
                self.message_user(request, reason, messages.ERROR)
            self.message_user(request, "The user was not deleted.", messages.WARNING)
            if blocked.tokens:
                tokens_url = reverse(
                    "admin:tokens_token_changelist", current_app=self.admin_site.name
                )
                self.message_user(
                    request,
                    format_html(
                        '<a href="{}?user__id__exact={}">Show their tokens</a> to revoke them.',
                        tokens_url,
                        user.pk,
                    ),
                    messages.INFO,
                )
            return HttpResponseRedirect(
                reverse(
                    "admin:accounts_user_change", args=[user.pk], current_app=self.admin_site.name
                )
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_delete(user=user)

    def delete_selected_guarded(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        refusals = [
            blocked for blocked in (user_deletion_blockers(user) for user in queryset) if blocked
        ]
        if refusals:
            for blocked in refusals:
                for reason in blocked.reasons:
                    self.message_user(request, reason, messages.ERROR)
            self.message_user(request, "No user was deleted.", messages.WARNING)
            return None
        return delete_selected(self, request, queryset)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "force_sso", "require_2fa", "created_at"]
    list_filter = ["plan", "force_sso", "require_2fa"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account__plan"]
    search_fields = ["user__email", "account__name", "account__slug"]
    list_select_related = ["user", "account"]
    autocomplete_fields = ["user", "account"]


class RecordInline(admin.TabularInline):
    model = Record
    extra = 0


class AccountResourceAdmin(admin.ModelAdmin):
    list_filter = ["account"]
    search_fields = ["name", "account__name", "account__slug"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(Zone)
class ZoneAdmin(AccountResourceAdmin):
    list_display = ["name", "account", "created_at"]
    inlines = [RecordInline]


@admin.register(Domain)
class DomainAdmin(AccountResourceAdmin):
    list_display = ["name", "account", "expires_at", "auto_renew"]
    list_filter = ["account", "auto_renew"]


@admin.register(Certificate)
class CertificateAdmin(AccountResourceAdmin):
    list_display = ["name", "account", "issuer", "expires_at"]


class PurgeInline(admin.TabularInline):
    model = Purge
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "value", "requested_by", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(AccountResourceAdmin):
    list_display = ["name", "account", "hostname", "origin", "updated_at"]
    search_fields = ["name", "hostname", "account__name", "account__slug"]
    inlines = [PurgeInline]
