"""Calendar arithmetic that timedelta cannot do, and the end of the calendar."""

from __future__ import annotations

from datetime import MAXYEAR, datetime, timedelta


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
