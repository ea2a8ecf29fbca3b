"""SPEC 14's record rules in SQL (tokens.records.sql) say what record_rules_allow says.

Record lists filter in SQL; single records and writes ask the Python rule. Here
both judge the same generated rules and records on the test database (SQLite, or
PostgreSQL with DATABASE_URL): the rows the SQL condition returns are exactly the
records record_rules_allow lets through. Names and patterns include the characters
LIKE gives a meaning to (`%`, `_`, `\\`), which the SQL must take literally.
"""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Record
from tests.factories import ZoneFactory
from tokens.records.rules import APEX, RecordRule, record_rules_allow
from tokens.records.sql import rules_condition, rules_params

pytestmark = pytest.mark.django_db

_LETTERS = "ab._-%\\"
patterns = st.one_of(st.just(APEX), st.text(alphabet=_LETTERS + "*", min_size=1, max_size=7))
names = st.one_of(st.just(""), st.text(alphabet=_LETTERS, min_size=1, max_size=8))
record_types = st.sampled_from(["A", "TXT", "MX"])
rule_sets = st.lists(
    st.builds(RecordRule, name=patterns, types=st.frozensets(record_types, max_size=2)),
    min_size=1,
    max_size=4,
)
record_sets = st.lists(st.tuples(names, record_types), min_size=1, max_size=12, unique=True)


def _allowed_in_sql(zone_id: int, rules: tuple[RecordRule, ...]) -> set[tuple[str, str]]:
    sql = (
        f"SELECT x.name, x.type FROM {Record._meta.db_table} x "
        f"WHERE x.zone_id = %(zone)s AND {rules_condition(rules)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"zone": zone_id, **rules_params(rules)})
        return set(cursor.fetchall())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets, records=record_sets)
def test_the_sql_condition_lets_through_what_record_rules_allow_does(rules, records):
    zone = ZoneFactory()
    Record.objects.bulk_create(
        Record(zone=zone, name=name, type=record_type, content="203.0.113.1")
        for name, record_type in records
    )
    rules = tuple(rules)
    expected = {
        (name, record_type)
        for name, record_type in records
        if record_rules_allow(rules, name=name, type=record_type)
    }
    assert _allowed_in_sql(zone.pk, rules) == expected


@pytest.mark.parametrize(
    ("pattern", "inside", "outside"),
    [
        ("a_b", "a_b", "axb"),  # "_" is an underscore, not "any one character"
        ("a%", "a%", "abc"),  # "%" is a percent sign, not "anything"
        ("a\\b", "a\\b", "ab"),  # a backslash is itself
        ("*.b", "a.b", ".b"),  # "*" is one or more characters
        (APEX, "", "a"),
    ],
)
def test_like_wildcards_are_taken_literally(pattern, inside, outside):
    zone = ZoneFactory()
    for name in (inside, outside):
        Record.objects.create(zone=zone, name=name, type="TXT", content="x")
    assert _allowed_in_sql(zone.pk, (RecordRule(pattern),)) == {(inside, "TXT")}
