"""Template context for the layout: the account switcher and the current account; and the
start of each render, for the page's note on times."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from accounts.http import chosen_account_slug
from accounts.models import Membership
from accounts.selectors import memberships_of
from accounts.templatetags.dates import times_render_started


def times_shown(request: HttpRequest) -> dict[str, object]:
    """Each render starts having shown no time (base.html's `{% times_note %}`)."""
    times_render_started()
    return {}


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def memberships() -> list[Membership]:
        # Evaluated once per render, only by templates that show the switcher.
        return list(memberships_of(user))

    # An account's page shows that account; any other page the one chosen in the switcher.
    current = getattr(request, "membership", None)
    if current is None:
        slug = chosen_account_slug(request)
        current = next((m for m in memberships() if m.account.slug == slug), None)
        if current is None and memberships():
            current = memberships()[0]
    return {"nav_memberships": memberships, "nav_membership": current}
