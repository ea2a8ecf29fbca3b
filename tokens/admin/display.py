"""How the support admin shows things: list columns that name themselves on a phone, dates
and moments as support reads them, a token's state."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.dates import day_text, when_text
from tokens.models import Token
from tokens.policies.selectors import Blocked


def column(description: str, **options: Any) -> Callable[[Callable], Callable]:
    """`admin.display` for a list column whose cells also say the column's name.

    On a phone the lists are cards without a header row (static/css/admin-keyward.css):
    each cell shows "Expires: Feb 21, 2027". The label is hidden everywhere else.
    """

    def wrap(method: Callable[[Any, Any], Any]) -> Callable:
        @functools.wraps(method)
        def cell(self: Any, obj: Any) -> SafeString:
            return format_html(
                '<span class="kw-label">{}: </span>{}', description, method(self, obj)
            )

        return admin.display(description=description, **options)(cell)

    return wrap


def day(moment: datetime) -> str:
    """A date as support reads it: "Nov 23, 2026" (the panel's format, accounts.dates)."""
    return day_text(moment)


def when(moment: datetime) -> str:
    """A moment as support reads it everywhere in the admin: "Nov 23, 2026 22:30 UTC"."""
    return f"{when_text(moment)} UTC"


def token_state(token: Token, blocked: list[Blocked], now: datetime) -> SafeString:
    """Active, Expired, or Blocked by policy (which policy, in which account)."""
    badge = '<span class="kw-state kw-state-{}">{}</span>'
    if token.is_expired(now):
        return format_html(badge, "expired", "Expired")
    if blocked:
        where = "; ".join(f"{item.label} ({item.account.name})" for item in blocked)
        return format_html(
            badge + ' <span class="kw-muted">{}</span>', "blocked", "Blocked by policy", where
        )
    return format_html(badge, "active", "Active")
