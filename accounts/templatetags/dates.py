"""The date filters of every template (a builtin, settings.TEMPLATES): one format everywhere.

`{{ moment|when }}` "Dec 5, 2026 07:06", `{{ moment|day }}` "Dec 5, 2026", `{{ day|short_day }}`
"Dec 5", all in UTC (accounts.dates); nothing, for None. Machine-readable times stay
`|date:'c'` in `<time datetime>`.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template

from accounts.dates import day_text, short_day_text, when_text

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    return when_text(value) if isinstance(value, datetime) else ""


@register.filter
def day(value: date | datetime | None) -> str:
    return day_text(value) if isinstance(value, date) else ""


@register.filter
def short_day(value: date | datetime | None) -> str:
    return short_day_text(value) if isinstance(value, date) else ""
