"""The per-account event log page: SPEC 9 visibility for every role, filters, paging."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership
from accounts.services.members import membership_change_role
from tests.factories import AccountFactory, issue_automation_token, issue_user_token
from tokens.events import Actor, event_record
from tokens.models import Event, EventKind
from tokens.services.change import token_update_permissions
from tokens.services.revoke import token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(account, member_factory):
    """Four members of `account`, an outsider, and one event of each sort, by name."""
    people = {role: member_factory(account, role) for role in ("superuser", "engineer", "user")}
    people["billing"] = member_factory(account, "billing")
    newcomer = member_factory(account, "user")
    other = AccountFactory()
    outsider = member_factory(other, "superuser")
    su, eng, usr, bil = (people[r] for r in ("superuser", "engineer", "user", "billing"))
    events: dict[str, int] = {}

    def last(name: str) -> None:
        events[name] = Event.objects.latest("pk").pk

    user_token = issue_user_token(usr, name="viewer laptop").token
    last("user created own token")
    issue_user_token(eng, name="engineer script")
    last("engineer created own token")
    issue_user_token(bil, name="billing export")
    last("billing created own token")
    automation = issue_automation_token(account, name="deploy bot", creator=su).token
    last("superuser created automation token")

    event_record(
        kind=EventKind.API_WRITE,
        actor=Actor.api_token(
            token_id=automation.pk,
            token_type="automation",
            owner=None,
            name="deploy bot",
            display=automation.display,
            ip="203.0.113.9",
        ),
        account=account,
        summary="deploy bot created record www A 203.0.113.10",
    )
    last("automation token wrote through the API")
    event_record(
        kind=EventKind.API_WRITE,
        actor=Actor.api_token(
            token_id=user_token.pk,
            token_type="user",
            owner=usr,
            name="viewer laptop",
            display=user_token.display,
            ip=None,
        ),
        account=account,
        summary="viewer laptop created record api A 203.0.113.11",
    )
    last("user token wrote through the API")
    event_record(kind=EventKind.SIGN_IN, actor=Actor.person(bil), summary=f"{bil.email} signed in")
    last("billing signed in")
    event_record(
        kind=EventKind.SUDO,
        actor=Actor.person(bil, ip="198.51.100.7"),
        summary=f"{bil.email} confirmed their password (sudo mode)",
    )
    last("billing entered sudo mode")
    newcomer_membership = Membership.objects.get(user=newcomer, account=account)
    membership_change_role(actor=Actor.person(su), membership=newcomer_membership, role="user")
    assert not Event.objects.filter(kind=EventKind.ROLE_CHANGED).exists()  # unchanged: no event
    membership_change_role(actor=Actor.person(su), membership=newcomer_membership, role="engineer")
    last("superuser changed a member's role")
    token_revoke(actor=Actor.person(su), token=user_token, revoked_by="superuser", account=account)
    last("superuser revoked the user's token")

    issue_user_token(outsider, name="outsider token")
    last("outsider created own token")
    issue_automation_token(other, name="other bot", creator=outsider)
    last("automation token of another account")
    return people, events


VISIBLE = {
    "superuser": {
        "user created own token",
        "engineer created own token",
        "billing created own token",
        "superuser created automation token",
        "automation token wrote through the API",
        "user token wrote through the API",
        "superuser changed a member's role",
        "superuser revoked the user's token",
    },
    "engineer": {
        "engineer created own token",
        "automation token wrote through the API",
    },
    "user": {
        "user created own token",
        "user token wrote through the API",
        "superuser revoked the user's token",
    },
    "billing": {"billing created own token"},
}


def _shown_ids(client, account, **params) -> list[int]:
    response = client.get(reverse("events:event-log", args=[account.slug]), params)
    assert response.status_code == 200
    return [event.pk for event, *_ in response.context["rows"]]


@pytest.mark.parametrize("role", ["superuser", "engineer", "user", "billing"])
def test_each_role_sees_exactly_what_spec_9_allows(client, account, world, role):
    people, events = world
    client.force_login(people[role])

    shown = set(_shown_ids(client, account))

    expected = {events[name] for name in VISIBLE[role]}
    names = {pk: name for name, pk in events.items()}
    assert {names[pk] for pk in shown} == VISIBLE[role]
    assert shown == expected


def test_demoted_engineer_loses_automation_activity_at_once(client, account, world):
    people, events = world
    membership_change_role(
        actor=Actor.person(people["superuser"]),
        membership=Membership.objects.get(user=people["engineer"], account=account),
        role="user",
    )
    client.force_login(people["engineer"])
    shown = set(_shown_ids(client, account))
    assert events["automation token wrote through the API"] not in shown
    assert events["engineer created own token"] in shown


def test_events_of_another_account_never_show(client, account, world):
    people, events = world
    client.force_login(people["superuser"])
    shown = set(_shown_ids(client, account))
    assert events["outsider created own token"] not in shown
    assert events["automation token of another account"] not in shown


def test_foreign_account_log_is_404(client, account, world):
    people, _ = world
    other = AccountFactory()
    client.force_login(people["superuser"])
    response = client.get(reverse("events:event-log", args=[other.slug]))
    assert response.status_code == 404


def test_sign_in_is_logged_for_the_person_not_the_account(
    client, account, member_factory, password
):
    person = member_factory(account, "user")
    superuser = member_factory(account, "superuser")
    response = client.post(
        reverse("accounts:sign-in"), {"email": person.email, "password": password}
    )
    assert response.status_code == 302
    event = Event.objects.get(kind=EventKind.SIGN_IN)
    assert event.actor_user == person
    assert event.account is None
    assert event.pk not in _shown_ids(client, account)
    client.force_login(superuser)
    assert event.pk not in _shown_ids(client, account)


@pytest.mark.parametrize("role", ["superuser", "engineer", "user", "billing"])
def test_sign_ins_and_sudo_show_in_no_account_log(client, account, world, role):
    """Regression: superusers of every account the person belongs to saw their IPs."""
    people, events = world
    client.force_login(people[role])
    personal = {events["billing signed in"], events["billing entered sudo mode"]}
    assert not personal & set(_shown_ids(client, account))
    for kind in ("auth.sign_in", "auth.sudo"):
        assert _shown_ids(client, account, kind=kind) == []
    html = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    assert "198.51.100.7" not in html
    assert 'value="auth.sign_in"' not in html  # not offered as a filter either


def test_filters_by_kind_actor_and_token(client, account, world):
    people, events = world
    client.force_login(people["superuser"])

    by_kind = _shown_ids(client, account, kind="member.role_changed")
    assert by_kind == [events["superuser changed a member's role"]]

    by_actor = set(_shown_ids(client, account, actor=str(people["billing"].pk)))
    assert by_actor == {events["billing created own token"]}

    automation = set(_shown_ids(client, account, actor="automation"))
    assert automation == {events["automation token wrote through the API"]}

    by_token = set(_shown_ids(client, account, token="viewer laptop"))
    assert by_token == {
        events["user created own token"],
        events["user token wrote through the API"],
        events["superuser revoked the user's token"],
    }


def test_unknown_filter_values_are_ignored_not_errors(client, account, world):
    people, _ = world
    client.force_login(people["superuser"])
    everything = _shown_ids(client, account)
    assert _shown_ids(client, account, kind="nope", actor="99999", page="zzz") == everything


def test_permission_change_shows_before_and_after(client, account, member_factory):
    owner = member_factory(account, "engineer")
    token = issue_user_token(owner, name="narrowing", scopes=["global"]).token
    token_update_permissions(
        actor=Actor.person(owner),
        token=token,
        name="narrowed",
        scopes=["zones:read"],
        resources=None,
        allowed_ips="198.51.100.0/24",
        sudo=False,
    )
    client.force_login(owner)
    response = client.get(
        reverse("events:event-log", args=[account.slug]), {"kind": "token.updated"}
    )
    html = response.content.decode()
    assert "Before and after" in html
    changes = {
        change.label: (change.before, change.after) for change in response.context["rows"][0][2]
    }
    assert changes["Scopes"] == ("global", "zones:read")
    assert changes["Name"] == ("narrowing", "narrowed")
    assert changes["IP allow-list"] == ("any IP", "198.51.100.0/24")


def test_no_secret_on_the_page(client, account, member_factory):
    owner = member_factory(account, "superuser")
    created = issue_user_token(owner)
    automation = issue_automation_token(account, creator=owner)
    client.force_login(owner)
    html = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    assert created.token.display in html
    assert created.secret not in html
    assert automation.secret not in html
    assert created.token.digest not in html


def test_pagination_and_flat_query_count(client, account, member_factory):
    owner = member_factory(account, "superuser")
    client.force_login(owner)
    event_record(
        kind=EventKind.API_WRITE, actor=Actor.person(owner), account=account, summary="first"
    )
    url = reverse("events:event-log", args=[account.slug])
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for number in range(120):
        event_record(
            kind=EventKind.API_WRITE,
            actor=Actor.person(owner),
            account=account,
            summary=f"write {number}",
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many.captured_queries) == len(one.captured_queries)
    assert len(response.context["rows"]) == 50
    second = client.get(url + response.context["page"].older_url)
    assert len(second.context["rows"]) == 50
    last_page = client.get(url + second.context["page"].older_url)
    assert len(last_page.context["rows"]) == 21
    assert last_page.context["page"].older_url is None
    assert "write 0" in last_page.content.decode()
    assert 'rel="prev"' in last_page.content.decode()


def test_htmx_filter_answers_with_the_results_fragment(client, account, member_factory):
    owner = member_factory(account, "superuser")
    client.force_login(owner)
    response = client.get(
        reverse("events:event-log", args=[account.slug]),
        {"kind": "token.created"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="event-results"' in html
    assert "<html" not in html


def test_the_log_names_the_actor_once_per_event(client, account, member_factory):
    owner = member_factory(account, "superuser", email="olivia@example.org")
    bot = issue_automation_token(account, name="Nightly", creator=owner).token
    client.force_login(owner)
    body = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    row = body[body.index(f'<tr id="event-{Event.objects.get(token_id=bot.pk).pk}"') :]
    row = row[: row.index("</tr>")]
    assert row.count("olivia@example.org") == 1  # in Who, not again in What
    assert "Created automation token “Nightly”" in row
    # The stored summary keeps its actor: emails, webhooks and the admin read it alone.
    assert Event.objects.get(token_id=bot.pk).summary.startswith("olivia@example.org created")
