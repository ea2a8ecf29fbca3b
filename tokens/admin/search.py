"""Keeping secrets out of the admin's search box, and finding a token by its value.

The changelist search submits by GET, so a pasted secret would land in URLs and
logs: `NoSecretsInSearch` refuses to search or echo one and sends support to
**Find by token value** (TokenAdmin.find_view), which takes the value by POST
and looks it up here, among live tokens and then among tombstones.
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from tokens import crypto
from tokens.models import RevokedToken, Token


def looks_like_credential(term: str) -> bool:
    """A pasted value worth hashing: a well-formed Keyward token or a legacy-shaped key."""
    if term[:4] in ("kwu_", "kwa_"):
        return crypto.is_well_formed(term)
    return crypto.is_legacy_key_shaped(term)


def digests_of(value: str) -> list[str]:
    """`value` hashed under every pepper, as stored digests are."""
    return crypto.digests(value, settings.KEYWARD_TOKEN_PEPPERS)


def find_by_value(value: str) -> Token | None:
    """The token whose secret is `value`: its current secret, or a rolled-away previous one."""
    digests = digests_of(value)
    return Token.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests)).first()


def tombstone_find(digests: Collection[str]) -> RevokedToken | None:
    """The tombstone of a revoked token one of whose secrets hashes to one of `digests`."""
    return (
        RevokedToken.objects.filter(Q(digest__in=digests) | Q(previous_digest__in=digests))
        .select_related("account", "owner")
        .first()
    )


def is_pasted_secret(term: str) -> bool:
    """A search term that is (or was) a secret: token-shaped, or a legacy key we know."""
    if crypto.is_token_shaped(term):
        return True
    return crypto.is_legacy_key_shaped(term) and (
        find_by_value(term) is not None or tombstone_find(digests_of(term)) is not None
    )


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
        if term and is_pasted_secret(term):
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
