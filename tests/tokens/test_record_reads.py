"""A zone's records at scale (issue 18): a page is read in the API's order from an index,
never by sorting every record of the zone; and what the page says stays the same."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Record
from tests.factories import ZoneFactory, issue_user_token

pytestmark = pytest.mark.django_db

RECORDS = 2000


@pytest.fixture
def big_zone(account):
    zone = ZoneFactory(account=account, name="big.example")
    other = ZoneFactory(account=account, name="other.example")
    Record.objects.bulk_create(
        Record(zone=z, type=("A", "TXT", "CNAME")[n % 3], name=f"host{n:05d}", content="192.0.2.1")
        for z in (zone, other)
        for n in range(RECORDS)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return zone


def _plan(sql: str) -> str:
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _sorts(plan: str) -> bool:
    if connection.vendor == "postgresql":
        return any(line.strip().startswith(("Sort", "->  Sort")) for line in plan.splitlines())
    return "TEMP B-TREE FOR ORDER BY" in plan


@pytest.mark.parametrize(
    ("page_number", "record_rules"),
    [
        (1, []),
        (20, []),
        # Narrowed by record rules: the first page still walks the index. (Deep into a
        # filtered zone, PostgreSQL may rightly prefer to sort the fewer rows that match.)
        (1, [{"name": "host*", "types": ["A", "TXT"]}]),
    ],
)
def test_a_records_page_comes_from_an_index_in_order(
    client, account, member_factory, big_zone, page_number, record_rules
):
    owner = member_factory(account, "superuser")
    secret = issue_user_token(owner, record_rules=record_rules).secret
    path = f"/api/v1/accounts/{account.pk}/zones/{big_zone.pk}/records?page={page_number}"
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code == 200
    names = [record["name"] for record in answer.json()["data"]]
    assert names == sorted(names) and len(names) == 30
    # The page's query (a first use also writes its last use, usage and networks then).
    page_sql = next(
        q["sql"]
        for q in queries.captured_queries
        if "LIMIT" in q["sql"] and Record._meta.db_table in q["sql"]
    )
    plan = _plan(page_sql)
    assert not _sorts(plan), plan


def test_pages_of_a_zone_say_what_they_did(client, account, member_factory):
    owner = member_factory(account, "superuser")
    secret = issue_user_token(owner).secret
    empty = ZoneFactory(account=account)
    foreign = ZoneFactory()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    base = f"/api/v1/accounts/{account.pk}/zones"

    answer = client.get(f"{base}/{empty.pk}/records", **auth)
    assert answer.status_code == 200
    assert answer.json()["data"] == [] and answer.json()["pagination"]["total_entries"] == 0
    assert client.get(f"{base}/{foreign.pk}/records", **auth).status_code == 404
    assert client.get(f"{base}/{foreign.pk}/records?page=2", **auth).status_code == 404
    assert client.get(f"{base}/999999/records", **auth).status_code == 404


def test_a_zone_outside_the_tokens_selection_is_404_even_when_empty(
    client, account, member_factory
):
    owner = member_factory(account, "superuser")
    chosen, other = ZoneFactory(account=account), ZoneFactory(account=account)
    secret = issue_user_token(owner, resources={"zones": [chosen.pk]}).secret
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    base = f"/api/v1/accounts/{account.pk}/zones"
    assert client.get(f"{base}/{chosen.pk}/records", **auth).status_code == 200
    assert client.get(f"{base}/{other.pk}/records", **auth).status_code == 404
