"""How dates read, and calendar arithmetic that timedelta cannot do.

One format everywhere a person reads a date: `day_text` ("Dec 5, 2026") and
`when_text` ("Dec 5, 2026 07:06"), always in UTC; the templates' `day` and `when`
filters (accounts.templatetags.dates, a builtin) are these. A page says "UTC" once
(templates/base.html), not after every time.
"""

from __future__ import annotations

from datetime import MAXYEAR, UTC, date, datetime, timedelta

from django.utils.dateformat import format as date_format

DAY_FORMAT = "M j, Y"
WHEN_FORMAT = "M j, Y H:i"
SHORT_DAY_FORMAT = "M j"  # a day in the last weeks, where the year goes without saying


def _in_utc(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def day_text(value: date | datetime) -> str:
    """ "Dec 5, 2026": a date, or the UTC day of a moment."""
    return date_format(_in_utc(value), DAY_FORMAT)


def when_text(value: datetime) -> str:
    """ "Dec 5, 2026 07:06": a moment, in UTC."""
    return date_format(_in_utc(value), WHEN_FORMAT)


def short_day_text(value: date | datetime) -> str:
    """ "Dec 5": a recent day (the usage charts' axes)."""
    return date_format(_in_utc(value), SHORT_DAY_FORMAT)


class DateOutOfRange(ValueError):
    """The moment asked for lies past the year 9999, the last one a date can hold."""

    def __init__(self) -> None:
        super().__init__(f"That date would be past the year {MAXYEAR}.")


def plus_years(moment: datetime, years: int) -> datetime:
    """The same moment `years` later; 29 February becomes 28 February in a common year.

    DateOutOfRange past the year 9999.
    """
    if moment.year + years > MAXYEAR:
        raise DateOutOfRange()
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def plus(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, or DateOutOfRange past the year 9999 (never an OverflowError)."""
    try:
        return moment + delta
    except OverflowError:
        raise DateOutOfRange() from None
