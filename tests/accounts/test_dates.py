"""Calendar arithmetic: a year later, 29 February, and the end of the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.dates import DateOutOfRange, plus, plus_years


def test_a_year_later_and_29_february():
    assert plus_years(datetime(2025, 3, 1, tzinfo=UTC), 1) == datetime(2026, 3, 1, tzinfo=UTC)
    assert plus_years(datetime(2024, 2, 29, tzinfo=UTC), 1) == datetime(2025, 2, 28, tzinfo=UTC)
    assert plus_years(datetime(9998, 12, 31, tzinfo=UTC), 1).year == 9999


@pytest.mark.parametrize(
    ("start", "years"), [(datetime(9999, 1, 1, tzinfo=UTC), 1), (datetime(9000, 1, 1), 1000)]
)
def test_past_the_year_9999_is_date_out_of_range(start, years):
    with pytest.raises(DateOutOfRange):
        plus_years(start, years)


def test_plus_is_date_out_of_range_never_an_overflow():
    assert plus(datetime(2025, 1, 1, tzinfo=UTC), timedelta(days=1)).day == 2
    with pytest.raises(DateOutOfRange):
        plus(datetime(9999, 12, 1, tzinfo=UTC), timedelta(days=90))


def test_one_format_for_every_date_a_person_reads():
    from datetime import date, timezone

    from accounts.dates import day_text, short_day_text, when_text

    moment = datetime(2026, 12, 5, 7, 6, 59, tzinfo=UTC)
    assert when_text(moment) == "Dec 5, 2026 07:06"
    assert day_text(moment) == day_text(date(2026, 12, 5)) == "Dec 5, 2026"
    assert short_day_text(moment) == "Dec 5"
    # Always told in UTC, whatever zone the moment came in.
    late = datetime(2026, 12, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert when_text(late) == "Dec 6, 2026 04:30"


def test_the_templates_filters_are_the_same_format(db):
    from django.template import engines

    template = engines["django"].from_string("{{ at|when }} · {{ at|day }} · {{ none|when }}.")
    moment = datetime(2026, 3, 1, 22, 5, tzinfo=UTC)
    assert template.render({"at": moment, "none": None}) == "Mar 1, 2026 22:05 · Mar 1, 2026 · ."


def test_no_template_formats_a_date_a_person_reads_by_hand():
    """Every date a person reads goes through |when, |day or |short_day; a template's own
    |date format may only be machine-readable (`<time datetime>`, an input's value)."""
    import re
    from pathlib import Path

    from django.conf import settings

    machine = {"c", "Y-m-d"}
    found = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for fmt in re.findall(r"\|date:[\"']([^\"']*)[\"']", path.read_text()):
            if fmt not in machine:
                found.append(f"{path.name}: {fmt}")
    assert found == []
