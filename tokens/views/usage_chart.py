"""The token page's "What it did" (SPEC 13): daily bars per operation, readable at any age.

The bars start at the token's first use in the window (never fewer than MIN_CHART_DAYS),
so a token used today is not a sliver at the right edge of thirty empty days. A token
used on fewer than MIN_CHART_USE_DAYS days gets a compact table of its days instead:
two bars say less than two rows. Server-rendered SVG, colours from classes (CSP: no
style=), the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from accounts.dates import short_day_text
from tokens.usage.selectors import UsageSummary

# The chart's drawing box (SVG user units; the SVG scales to the page width).
BAR_WIDTH = 10
BAR_GAP = 2
CHART_HEIGHT = 40
MIN_CHART_DAYS = 7
MIN_CHART_USE_DAYS = 3


@dataclass(frozen=True)
class Bar:
    x: int
    allowed_y: int
    allowed_height: int
    denied_y: int
    denied_height: int
    title: str


@dataclass(frozen=True)
class Chart:
    """One operation's daily bars, and its numbers for the table."""

    operation: str
    label: str
    allowed: int
    denied: int
    peak: int  # the busiest day's requests: the top of the chart
    bars: list[Bar]
    width: int
    height: int = CHART_HEIGHT


@dataclass(frozen=True)
class DayRow:
    """One operation on one day, for the compact table of a little-used token."""

    day: date
    operation: str
    label: str
    allowed: int
    denied: int


@dataclass(frozen=True)
class UsageView:
    """What "What it did" draws: charts over `days`, or `day_rows` when there is little data."""

    days: list[date]
    charts: list[Chart]
    day_rows: list[DayRow]

    @property
    def first_day(self) -> date | None:
        return self.days[0] if self.days else None

    @property
    def last_day(self) -> date | None:
        return self.days[-1] if self.days else None


def _chart_days(summary: UsageSummary, used: list[date], today: date) -> list[date]:
    """From the first day of use (or MIN_CHART_DAYS back, whichever is earlier) to today."""
    start = min(used[0], today - timedelta(days=MIN_CHART_DAYS - 1))
    start = max(start, summary.first_day)
    return [start + timedelta(days=n) for n in range((today - start).days + 1)]


def _chart(
    operation: str, label: str, totals: tuple[int, int], per_day: dict, days: list[date]
) -> Chart:
    peak = max((sum(per_day.get(day, (0, 0))) for day in days), default=0)
    scale = peak or 1
    bars = []
    for n, day in enumerate(days):
        allowed, denied = per_day.get(day, (0, 0))
        allowed_height = round(CHART_HEIGHT * allowed / scale)
        denied_height = round(CHART_HEIGHT * denied / scale)
        bars.append(
            Bar(
                x=n * (BAR_WIDTH + BAR_GAP),
                allowed_y=CHART_HEIGHT - allowed_height,
                allowed_height=allowed_height,
                denied_y=CHART_HEIGHT - allowed_height - denied_height,
                denied_height=denied_height,
                title=f"{short_day_text(day)}: {allowed} allowed, {denied} denied",
            )
        )
    return Chart(
        operation=operation,
        label=label,
        allowed=totals[0],
        denied=totals[1],
        peak=peak,
        bars=bars,
        width=len(days) * (BAR_WIDTH + BAR_GAP) - BAR_GAP,
    )


def usage_view(summary: UsageSummary, today: date, label: Callable[[str], str]) -> UsageView:
    """Charts from the first use, or a table of the few days of use (`label`: words of an
    operation)."""
    used = sorted({day for per_day in summary.daily.values() for day in per_day})
    if not used:
        return UsageView([], [], [])
    if len(used) < MIN_CHART_USE_DAYS:
        rows = [
            DayRow(day, usage.operation, label(usage.operation), *per_day[day])
            for day in reversed(used)
            for usage in summary.operations
            if day in (per_day := summary.daily.get(usage.operation, {}))
        ]
        return UsageView(used, [], rows)
    days = _chart_days(summary, used, today)
    charts = [
        _chart(
            usage.operation,
            label(usage.operation),
            (usage.allowed, usage.denied),
            summary.daily.get(usage.operation, {}),
            days,
        )
        for usage in summary.operations
    ]
    return UsageView(days, charts, [])
