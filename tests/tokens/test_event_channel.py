"""Every event records the channel it came through, and the log says it in words (SPEC 9).

Panel, API with a password, API with a token, support in the admin, management
commands, leak reports. An API write names the acting token in the Token column.
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, User
from tests.factories import ZoneFactory, issue_automation_token, issue_user_token
from tests.tokens.conftest import basic, call, enter_sudo, wizard_post
from tokens.constants import STALE_AFTER
from tokens.models import Event, EventChannel, EventKind, Token

pytestmark = pytest.mark.django_db


def log_row(client, account, event: Event) -> str:
    """The text of the event log's row for `event`, as the signed-in member sees it."""
    body = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    row = re.search(
        rf'<tr id="event-{event.pk}">(.*?)</tr>\s*(?:<tr id="event-|</tbody>)', body, re.S
    )
    assert row, f"no row for event {event.pk}: {event.summary}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1))).strip()


def latest(kind: str) -> Event:
    return Event.objects.filter(kind=kind).latest("pk")


def test_a_token_created_in_the_panel_says_in_the_panel(client, account, owner, password):
    client.force_login(owner)
    enter_sudo(client, password)
    response = client.post(reverse("tokens:new"), wizard_post(name="From the wizard"))
    assert response.status_code == 302

    event = latest(EventKind.TOKEN_CREATED)
    assert event.channel == EventChannel.PANEL
    assert "in the panel" in log_row(client, account, event)
    sudo = latest(EventKind.SUDO)
    assert sudo.channel == EventChannel.PANEL


def test_a_token_created_with_email_and_password_says_api_password(
    client, account, owner, password
):
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "From curl", "scopes": ["zones:read"]},
        HTTP_AUTHORIZATION=basic(owner.email, password),
    )
    assert response.status_code == 201, response.content

    event = latest(EventKind.TOKEN_CREATED)
    assert event.channel == EventChannel.API_PASSWORD
    assert event.actor_kind == "user" and event.actor_user == owner
    client.force_login(owner)
    row = log_row(client, account, event)
    assert "API, password" in row and "in the panel" not in row


@pytest.mark.parametrize("token_type", ["user", "automation"])
def test_an_api_write_names_the_acting_token_in_the_token_column(
    client, account, owner, token_type
):
    zone = ZoneFactory(account=account, name="acme.example")
    if token_type == "user":
        issued = issue_user_token(owner, name="deploy laptop", scopes=["zones:write"])
    else:
        issued = issue_automation_token(
            account, name="deploy bot", creator=owner, scopes=["zones:write"]
        )
    token = issued.token
    response = call(
        client,
        "POST",
        f"/accounts/{account.pk}/zones/{zone.pk}/records",
        issued.secret,
        body={"type": "A", "name": "www", "content": "203.0.113.80", "ttl": 300},
    )
    assert response.status_code == 201, response.content

    event = latest(EventKind.API_WRITE)
    assert event.channel == EventChannel.API_TOKEN
    assert (event.actor_token_id, event.token_id) == (token.pk, token.pk)
    assert (event.token_name, event.token_display) == (token.name, token.display)
    # A user token's owner, as for any event about it; an automation token has none.
    assert event.token_owner == (owner if token_type == "user" else None)
    client.force_login(owner)
    row = log_row(client, account, event)
    kind = "personal token" if token_type == "user" else "automation token"
    assert f"API, {kind}" in row
    # The Token column: the acting token's name and hint, not a dash.
    assert row.endswith(f"{token.name} {token.display} 127.0.0.1"), row
    # The token filter finds it by the token's id too.
    filtered = client.get(reverse("events:event-log", args=[account.slug]), {"token": token.pk})
    assert event in [event for event, *_ in filtered.context["rows"]]


def test_a_token_revoking_itself_is_the_target_and_the_channel_is_api_token(client, owner):
    issued = issue_user_token(owner, name="short lived", scopes=["global"])
    assert call(client, "DELETE", "/tokens/self", issued.secret).status_code == 204

    event = latest(EventKind.TOKEN_REVOKED)
    assert event.channel == EventChannel.API_TOKEN
    assert event.token_id == event.actor_token_id == issued.token.pk
    assert event.details["revoked_by"] == "self"


def test_support_revoking_in_the_admin_says_support_admin(client, account, owner):
    staff = User.objects.create_superuser("support@keyward.test", "support-password")
    issued = issue_user_token(owner, name="laptop")
    client.force_login(staff)
    client.post(
        reverse("admin:tokens_token_changelist"),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [issued.token.pk]},
    )

    event = latest(EventKind.TOKEN_REVOKED)
    assert event.channel == EventChannel.ADMIN
    client.force_login(owner)
    assert "support, admin" in log_row(client, account, event)


def test_the_stale_token_cleanup_says_command(client, account, owner):
    issued = issue_user_token(owner, name="forgotten", expires_at=None)
    Token.objects.filter(pk=issued.token.pk).update(
        created_at=timezone.now() - STALE_AFTER - timedelta(days=1)
    )
    call_command("delete_stale_tokens", stdout=StringIO())

    event = latest(EventKind.TOKEN_REVOKED)
    assert event.details["revoked_by"] == "cleanup"
    assert event.channel == EventChannel.COMMAND
    client.force_login(owner)
    row = log_row(client, account, event)
    assert "stale-token cleanup command" in row


def test_imported_legacy_keys_say_command(tmp_path):
    account = Account.objects.create(slug="acme", name="Acme")
    path = tmp_path / "keys.csv"
    path.write_text("account,key,created_at\nacme,LEGACYacme0000000000000001,2019-05-01\n")
    call_command("import_legacy_keys", str(path), stdout=StringIO())

    event = latest(EventKind.TOKEN_CREATED)
    assert event.channel == EventChannel.COMMAND
    assert event.token_owner is not None and event.token_owner.is_synthetic
    assert event.token_owner.memberships.get().account == account


def test_a_leak_report_says_leak_report(client, account, owner):
    """Both report endpoints (public, GitHub's) revoke through leaks.services.credentials_revoke."""
    issued = issue_user_token(owner, name="pasted in a gist")
    response = client.post(
        "/api/v1/credentials/revoke",
        data=json.dumps({"credentials": [issued.secret]}),
        content_type="application/json",
    )
    assert response.status_code == 202

    event = latest(EventKind.TOKEN_REVOKED)
    assert event.details["revoked_by"] == "leak_report"
    assert event.channel == EventChannel.LEAK_REPORT
    client.force_login(owner)
    assert "public leak report API, leak report" in log_row(client, account, event)


def test_seeded_demo_tokens_say_command(db):
    call_command("seed_demo", verbosity=0)
    channels = set(
        Event.objects.filter(kind=EventKind.TOKEN_CREATED).values_list("channel", flat=True)
    )
    assert channels == {EventChannel.COMMAND}


def test_sign_ins_and_member_changes_say_in_the_panel(
    client, account, owner, member_factory, password
):
    member = member_factory(account, "user", email="member@example.org")
    client.post(reverse("accounts:sign-in"), {"email": owner.email, "password": password})
    assert latest(EventKind.SIGN_IN).channel == EventChannel.PANEL
    membership = member.memberships.get()
    client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "engineer"},
    )

    event = latest(EventKind.ROLE_CHANGED)
    assert event.channel == EventChannel.PANEL
    assert "in the panel" in log_row(client, account, event)


def test_old_events_get_the_channel_their_actor_implies(client, account, owner):
    """Migration 0010's backfill: certain where the actor says it, "" where it cannot know."""
    issue_user_token(owner, name="old token")  # a person's token.created: panel, API or seed
    automation = issue_automation_token(account, name="bot", creator=owner)
    call(client, "DELETE", "/tokens/self", issue_user_token(owner, scopes=["global"]).secret)
    from tokens.events import Actor, event_record

    event_record(kind=EventKind.SIGN_IN, actor=Actor.person(owner), summary="signed in")
    event_record(
        kind=EventKind.TOKEN_REVOKED,
        actor=Actor.support(owner),
        token=automation.token,
        summary="support",
    )
    event_record(
        kind=EventKind.TOKEN_REVOKED,
        actor=Actor.system("leak report", channel=EventChannel.LEAK_REPORT),
        summary="l",
    )
    event_record(kind=EventKind.TOKEN_REVOKED, actor=Actor.system("cleanup"), summary="c")
    expected = {event.pk: event.channel for event in Event.objects.all()}
    Event.objects.update(channel="")

    importlib.import_module("tokens.migrations.0011_event_channel").backfill(apps, None)

    after = dict(Event.objects.values_list("pk", "channel"))
    unknown = {pk for pk, channel in after.items() if channel == ""}
    assert unknown == set(
        Event.objects.filter(kind=EventKind.TOKEN_CREATED, actor_kind="user").values_list(
            "pk", flat=True
        )
    )
    assert {pk: after[pk] for pk in after if pk not in unknown} == {
        pk: channel for pk, channel in expected.items() if pk not in unknown
    }
    client.force_login(owner)
    body = client.get(reverse("events:event-log", args=[account.slug])).content.decode()
    assert "channel not recorded" in body
