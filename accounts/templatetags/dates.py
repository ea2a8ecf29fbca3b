"""The date filters of every template (a builtin, settings.TEMPLATES): one format everywhere.

`{{ moment|when }}` "Dec 5, 2026 07:06", `{{ moment|day }}` "Dec 5, 2026", `{{ day|short_day }}`
"Dec 5", all in UTC (accounts.dates); nothing, for None. Machine-readable times stay
`|date:'c'` in `<time datetime>`.

A page says "Times are in UTC." once, after its content, and only when it showed a time or
a day: the filters note that they did (for this render: accounts.context_processors.
times_shown starts each render afresh), and base.html's `{% times_note %}` reads it.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime

from django import template
from django.utils.html import format_html

from accounts.dates import day_text, short_day_text, when_text

register = template.Library()

# Whether the render under way has shown a time or a day (one render at a time per thread).
_shown: ContextVar[bool] = ContextVar("times_shown", default=False)


def times_render_started() -> None:
    """A template render starts: it has shown no time yet."""
    _shown.set(False)


def _noted(text: str) -> str:
    _shown.set(True)
    return text


@register.filter
def when(value: datetime | None) -> str:
    return _noted(when_text(value)) if isinstance(value, datetime) else ""


@register.filter
def day(value: date | datetime | None) -> str:
    return _noted(day_text(value)) if isinstance(value, date) else ""


@register.filter
def short_day(value: date | datetime | None) -> str:
    return _noted(short_day_text(value)) if isinstance(value, date) else ""


@register.simple_tag
def times_note() -> str:
    """ "Times are in UTC." after content that showed a time or a day; nothing otherwise."""
    if not _shown.get():
        return ""
    return format_html('<p class="timezone-note small muted">{}</p>', "Times are in UTC.")
