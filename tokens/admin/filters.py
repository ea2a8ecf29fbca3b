"""The support admin's list filters: tokens by state and by account, revocations by revoker."""

from __future__ import annotations

from typing import cast

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from accounts.models import Account, Membership
from tokens.models import Event, Token, TokenQuerySet, TokenType
from tokens.services.revoke import REVOKED_BY


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


class RevokedByFilter(admin.SimpleListFilter):
    """Who revoked: the owner, a superuser, support, the token itself, the cleanup, a leak."""

    title = "revoker"
    parameter_name = "revoked_by"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [(key, words.capitalize()) for key, words in REVOKED_BY.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        if self.value() in REVOKED_BY:
            return queryset.filter(details__revoked_by=self.value())
        return queryset
