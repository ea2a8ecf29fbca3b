"""Calendar arithmetic that timedelta cannot do."""

from __future__ import annotations

from datetime import datetime


def plus_years(moment: datetime, years: int) -> datetime:
    """The same moment `years` later; 29 February becomes 28 February in a common year."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)
