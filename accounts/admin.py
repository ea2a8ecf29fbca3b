"""Support-staff screens for people, accounts and the resources accounts own."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "account"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "is_synthetic", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_synthetic"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login", "is_synthetic"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Status", {"fields": ["is_active", "is_staff", "is_superuser", "is_synthetic"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]


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

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(AccountResourceAdmin):
    list_display = ["name", "account", "hostname", "origin", "updated_at"]
    search_fields = ["name", "hostname", "account__name", "account__slug"]
    inlines = [PurgeInline]
