"""Keyset paging of the event log and the account tokens page (tokens.paging).

Walking Older from the first page visits every row once, in order, equal
timestamps included; Newer walks back; filters ride along in the links; a bad
cursor is ignored; and a page costs the same queries whatever the log's size.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import AccountFactory, issue_automation_token, issue_user_token
from tokens.events import Actor, event_record
from tokens.models import Event, EventKind, Token
from tokens.paging import keyset_page

pytestmark = pytest.mark.django_db


def _log(account, count, *, kind=EventKind.API_WRITE, actor=None, ties=1):
    """`count` events, `ties` of them at each timestamp (ids break the ties)."""
    start = timezone.now() - timedelta(days=1)
    ids = []
    for n in range(count):
        event = event_record(
            kind=kind,
            actor=actor or Actor.system("tests"),
            account=account,
            summary=f"{kind} {n}",
        )
        ids.append(event.pk)
    for n, pk in enumerate(ids):
        Event.objects.filter(pk=pk).update(created_at=start + timedelta(seconds=n // ties))
    return ids


def _walk(client, url, params=None, *, direction="older_url"):
    """Follow Older (or Newer) from `url` to the end: the ids of every page."""
    pages = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200
        pages.append([_pk(row) for row in response.context["rows"]])
        pager = response.context.get("pager") or response.context["page"]
        link = getattr(pager, direction)
        if link is None:
            return pages, response
        response = client.get(url + link)


def _pk(row):
    return row[0].pk if isinstance(row, tuple) else row.token.pk


def test_every_event_once_in_order_across_pages_with_equal_timestamps(client, account, owner):
    ids = _log(account, 137, ties=7)  # 20 runs of 7 events sharing a timestamp
    client.force_login(owner)
    url = reverse("events:event-log", args=[account.slug])

    pages, last = _walk(client, url)

    assert [len(page) for page in pages] == [50, 50, 37]
    seen = [pk for page in pages for pk in page]
    assert seen == sorted(ids, reverse=True)  # newest first: within a tie, the higher id

    back, _ = _walk(client, url + last.context["page"].newer_url, direction="newer_url")
    assert back == [pages[1], pages[0]]


def test_newer_pages_stay_put_when_events_arrive(client, account, owner):
    _log(account, 120)
    client.force_login(owner)
    url = reverse("events:event-log", args=[account.slug])
    first = client.get(url)
    second = client.get(url + first.context["page"].older_url)
    late = [
        event_record(
            kind=EventKind.API_WRITE, actor=Actor.system("tests"), account=account, summary="late"
        ).pk
        for _ in range(3)
    ]

    back = client.get(url + second.context["page"].newer_url)
    newest = client.get(url + back.context["page"].newer_url)

    assert back.context["rows"] == first.context["rows"]  # the same 50 as before
    rows = [event.pk for event, *_ in newest.context["rows"]]
    # Fewer than a page is newer than that: the first page, as it is now.
    assert rows[:3] == late[::-1]
    assert len(rows) == 50
    assert newest.context["page"].newer_url is None


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "12-",
        "-1-5",
        "1.5-3",
        "99999999999999999999-1",  # past the year 9999
        "999999999999999999-1",
        "1700000000000000-99999999999999999999",  # beyond a bigint
        "1700000000000000-9223372036854775808",
        "١٢٣-٤",  # non-ASCII digits
        "1" * 500,
    ],
)
@pytest.mark.parametrize("direction", ["before", "after"])
def test_a_bad_cursor_shows_the_first_page(client, account, owner, cursor, direction):
    _log(account, 60)
    client.force_login(owner)
    url = reverse("events:event-log", args=[account.slug])
    first = [event.pk for event, *_ in client.get(url).context["rows"]]

    response = client.get(url, {direction: cursor})

    assert response.status_code == 200
    assert [event.pk for event, *_ in response.context["rows"]] == first


def test_a_cursor_past_the_oldest_event_shows_the_first_page(client, account, owner):
    _log(account, 10)
    client.force_login(owner)
    url = reverse("events:event-log", args=[account.slug])
    response = client.get(url, {"before": "1-1"})
    assert len(response.context["rows"]) == 10
    assert not response.context["page"].has_other_pages


def test_filters_ride_along_in_the_paging_links(client, account, owner):
    writes = _log(account, 75, kind=EventKind.API_WRITE)
    _log(account, 60, kind=EventKind.ROLE_CHANGED)  # interleaved in time with the writes
    client.force_login(owner)
    url = reverse("events:event-log", args=[account.slug])

    pages, last = _walk(client, url, {"kind": EventKind.API_WRITE})

    assert [len(page) for page in pages] == [50, 25]
    assert sorted(pk for page in pages for pk in page) == sorted(writes)
    assert "kind=api.write" in last.context["page"].newer_url
    assert f"{url}?kind=api.write&amp;after=" in last.content.decode()


def test_paging_links_answer_htmx_with_the_results_fragment(client, account, owner):
    _log(account, 60)
    client.force_login(owner)
    url = reverse("events:event-log", args=[account.slug])
    older = client.get(url).context["page"].older_url

    response = client.get(url + older, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="event-results"')
    assert len(response.context["rows"]) == 10
    assert 'hx-target="#event-results"' in html
    assert 'hx-push-url="true"' in html


@pytest.mark.parametrize("role", ["superuser", "engineer", "user"])
def test_event_log_queries_do_not_grow_with_the_log(client, account, member_factory, role):
    person = member_factory(account, role)
    client.force_login(person)
    url = reverse("events:event-log", args=[account.slug])
    event_record(kind=EventKind.SIGN_IN, actor=Actor.person(person), summary="in")
    client.get(url)  # the first visit remembers the account in the session
    with CaptureQueriesContext(connection) as small:
        client.get(url)

    _log(account, 240, actor=Actor.person(person))
    first = client.get(url)
    with CaptureQueriesContext(connection) as large_first:
        client.get(url)
    with CaptureQueriesContext(connection) as large_deep:
        client.get(url + first.context["page"].older_url, {"kind": EventKind.API_WRITE})

    assert len(large_first) == len(small)
    assert len(large_deep) == len(small)


def test_events_of_members_user_tokens_page_with_the_account_events(client, account, owner):
    """The two streams (the account's events, its members' personal ones) interleave."""
    client.force_login(owner)
    for n in range(30):
        issue_user_token(owner, name=f"personal {n}")  # personal events: no account
        issue_automation_token(account, name=f"bot {n}", creator=owner)
    url = reverse("events:event-log", args=[account.slug])

    pages, _ = _walk(client, url)

    seen = [pk for page in pages for pk in page]
    assert len(seen) == len(set(seen)) == 60
    newest_first = Event.objects.filter(pk__in=seen).order_by("-created_at", "-id")
    assert seen == list(newest_first.values_list("pk", flat=True))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    times=st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=40),
    per_page=st.integers(min_value=1, max_value=7),
)
def test_merged_overlapping_streams_page_every_row_once(db, times, per_page):
    """Any timestamps (ties included), any page size, streams that overlap."""
    Event.objects.all().delete()
    account = AccountFactory()
    start = timezone.now()
    for n, offset in enumerate(times):
        Event.objects.create(
            kind=EventKind.API_WRITE if n % 2 else EventKind.SIGN_IN,
            account=account,
            actor_kind="system",
            summary=str(n),
            created_at=start + timedelta(seconds=offset),
        )
    everything = Event.objects.filter(account=account)
    streams = [everything.filter(kind=EventKind.API_WRITE), everything.filter(id__gte=0)]
    expected = list(everything.order_by("-created_at", "-id").values_list("pk", flat=True))

    seen, query, last = [], {}, []
    for _ in range(len(times) + 2):
        page = keyset_page(streams, query, per_page=per_page)
        last = [event.pk for event in page.rows]
        seen += last
        if page.older is None:
            break
        query = {"before": str(page.older)}
    assert seen == expected

    back = []  # Newer from the last page, back to the first
    while page.newer is not None:
        page = keyset_page(streams, {"after": str(page.newer)}, per_page=per_page)
        back = [event.pk for event in page.rows] + back
    assert back + last == expected


# --------------------------------------------------------------------------- account tokens


def test_account_tokens_are_paged_with_filters_kept(client, account, owner, member_factory):
    member = member_factory(account, "engineer")
    mine = [issue_user_token(member, name=f"member {n}").token.pk for n in range(70)]
    for n in range(40):
        issue_automation_token(account, name=f"bot {n}", creator=owner)
    Token.objects.filter(pk__in=mine[:20]).update(expires_at=timezone.now() - timedelta(days=1))
    client.force_login(owner)
    url = reverse("tokens:account-list", args=[account.slug])

    everything, _ = _walk(client, url)
    active_of_member, last = _walk(client, url, {"owner": member.pk, "state": "active"})

    # 25 to a page: a reasonable scroll of cards on a phone.
    assert [len(page) for page in everything] == [25, 25, 25, 25, 10]
    assert len({pk for page in everything for pk in page}) == 110
    assert [len(page) for page in active_of_member] == [25, 25]
    assert sorted(pk for page in active_of_member for pk in page) == sorted(mine[20:])
    assert last.context["pager"].older_url is None
    assert last.context["count"] == 50  # the filtered set, on every page

    second = client.get(url, {"type": "user", "q": "member 1"})
    assert second.context["count"] == 11  # "member 1" and "member 10" to "member 19"
    first = client.get(url, {"type": "user"})
    assert first.context["count"] == 70
    older = first.context["pager"].older_url
    assert older.startswith("?type=user&before=")
    htmx = client.get(url + older, HTTP_HX_REQUEST="true")
    assert htmx.content.decode().lstrip().startswith('<div id="token-table">')
    assert len(htmx.context["rows"]) == 25


def test_account_tokens_search_by_name_keeps_the_search_in_the_paging_links(client, account, owner):
    for n in range(30):
        issue_automation_token(account, name=f"Deploy {n}", creator=owner)
    for n in range(5):
        issue_automation_token(account, name=f"Backup {n}", creator=owner)
    client.force_login(owner)
    url = reverse("tokens:account-list", args=[account.slug])

    response = client.get(url, {"q": "  ePLo "})  # anywhere in the name, any case, trimmed
    body = response.content.decode()
    assert response.context["count"] == 30 and len(response.context["rows"]) == 25
    assert "30 tokens match “ePLo”" in body and "25 per page" in body
    assert response.context["pager"].older_url.startswith("?q=ePLo&before=")
    assert 'value="ePLo"' in body
    pages, _ = _walk(client, url, {"q": "deploy"})
    assert [len(page) for page in pages] == [25, 5]

    everything = client.get(url).content.decode()
    assert f"35 tokens act in {account.name}" in everything and "per page" in everything
    nothing = client.get(url, {"q": "nope"}).content.decode()
    assert "No tokens match “nope”" in nothing
    assert client.get(url, {"q": "x" * 500}).status_code == 200  # cut to 100, never an error


def test_account_tokens_page_queries_do_not_grow_with_tokens(client, account, owner):
    client.force_login(owner)
    url = reverse("tokens:account-list", args=[account.slug])
    counts = []
    for total in (3, 60):
        for n in range(total - Token.objects.filter(account=account).count()):
            issue_automation_token(account, name=f"Bot {total}-{n}", creator=owner)
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"q": "bot"}).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
