"""Django admin for support staff: find a token (even from its value), revoke it, read the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from tests.factories import (
    AccountFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tokens.models import ActorKind, Event, EventKind, Token
from tokens.tombstones.models import RevokedToken

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tokens_token_changelist"


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("support@keyward.test", "support-password")


@pytest.fixture
def tokens(account, member_factory):
    owner = member_factory(account, "superuser", email="owner@example.org")
    return {
        "user": issue_user_token(owner, name="laptop"),
        "automation": issue_automation_token(account, name="deploy bot", creator=owner),
        "other": issue_user_token(
            member_factory(AccountFactory(name="Other Co", slug="other-co"), "engineer"),
            name="unrelated",
        ),
    }


def _found(client, query: str, **params) -> set[str]:
    response = client.get(reverse(CHANGELIST), {"q": query, **params})
    assert response.status_code == 200
    return {token.name for token in response.context["cl"].result_list}


def _find(client, value: str):
    return client.post(reverse("admin:tokens_token_find"), {"value": value})


@pytest.mark.parametrize("changelist", [CHANGELIST, "admin:tokens_event_changelist"])
@pytest.mark.parametrize("kind", ["user", "automation", "mistyped"])
def test_a_token_pasted_in_the_search_box_is_not_searched_nor_echoed(
    client, staff, tokens, kind, changelist
):
    """Regression: the GET search took a full token and echoed it 22 times in the page."""
    client.force_login(staff)
    secret = tokens["user" if kind == "mistyped" else kind].secret
    if kind == "mistyped":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    response = client.get(reverse(changelist), {"q": f" {secret} ", "type__exact": "user"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tokens_token_find")
    page = client.get(response["Location"]).content.decode()
    assert secret not in page
    assert "looks like a full token value, so it was not searched" in page


def test_a_live_legacy_key_pasted_in_the_search_box_is_not_echoed(
    client, staff, account, member_factory
):
    owner = member_factory(account, "engineer")
    issue_user_token(owner, name="old key", legacy_key="legacy-key-0123456789abc")
    client.force_login(staff)
    response = client.get(reverse(CHANGELIST), {"q": "legacy-key-0123456789abc"})
    assert response["Location"] == reverse("admin:tokens_token_find")
    assert _found(client, "legacy-key-0123456789abd") == set()  # no such key: an ordinary search


@pytest.mark.parametrize("kind", ["user", "automation"])
def test_find_by_value_finds_each_kind_of_token(client, staff, tokens, kind):
    client.force_login(staff)
    response = _find(client, f"  {tokens[kind].secret} ")
    assert response.status_code == 302
    listing = client.get(response["Location"])
    assert {token.name for token in listing.context["cl"].result_list} == {tokens[kind].token.name}


def test_find_by_value_under_an_older_pepper(client, staff, tokens, settings):
    settings.KEYWARD_TOKEN_PEPPERS = ["a-brand-new-pepper", *settings.KEYWARD_TOKEN_PEPPERS]
    client.force_login(staff)
    listing = client.get(_find(client, tokens["user"].secret)["Location"])
    assert {token.name for token in listing.context["cl"].result_list} == {"laptop"}


def test_find_by_a_legacy_key_value(client, staff, account, member_factory):
    owner = member_factory(account, "engineer")
    issue_user_token(owner, name="old key", legacy_key="legacy-key-0123456789abc")
    client.force_login(staff)
    listing = client.get(_find(client, "legacy-key-0123456789abc")["Location"])
    assert {token.name for token in listing.context["cl"].result_list} == {"old key"}


def test_a_wrong_or_revoked_value_finds_nothing(client, staff, tokens):
    client.force_login(staff)
    secret = tokens["user"].secret
    missed = _find(client, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert missed.status_code == 200 and "That is not a Keyward token" in missed.content.decode()

    actions = client.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in actions


def test_search_by_name_owner_account_and_hint(client, staff, tokens):
    client.force_login(staff)
    assert _found(client, "deploy") == {"deploy bot"}
    assert _found(client, "owner@example.org") == {"laptop"}
    assert _found(client, "acme-test") == {"deploy bot"}
    assert _found(client, tokens["other"].token.display) == {"unrelated"}


def test_filters_by_type_state_and_account(client, staff, account, tokens):
    Token.objects.filter(pk=tokens["other"].token.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    client.force_login(staff)
    assert _found(client, "", type="automation") == {"deploy bot"}
    assert _found(client, "", state="expired") == {"unrelated"}
    assert _found(client, "", state="active") == {"laptop", "deploy bot"}
    # An account's tokens: its automation tokens and its members' user tokens.
    assert _found(client, "", account=str(account.pk)) == {"laptop", "deploy bot"}


def test_revoke_selected_tokens_is_logged_as_support(client, staff, tokens):
    client.force_login(staff)
    chosen = [tokens["user"].token.pk, tokens["automation"].token.pk]

    response = client.post(
        reverse(CHANGELIST),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: chosen},
        follow=True,
    )

    assert "Revoked 2 tokens." in response.content.decode()
    assert not Token.objects.filter(pk__in=chosen).exists()
    assert Token.objects.filter(pk=tokens["other"].token.pk).exists()
    events = Event.objects.filter(kind=EventKind.TOKEN_REVOKED)
    assert events.count() == 2
    for event in events:
        assert event.actor_kind == ActorKind.SUPPORT
        assert event.actor_user == staff
        assert event.details["revoked_by"] == "support"
        assert "support staff" in event.summary
    # The revoked value no longer authenticates.
    api = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {tokens['user'].secret}")
    assert api.status_code == 401


def test_staff_without_the_delete_permission_cannot_revoke(client, tokens):
    viewer = User.objects.create_user("helpdesk@keyward.test", "pw-helpdesk", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_token"))
    client.force_login(viewer)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert "revoke_selected" not in response.content.decode()
    client.post(
        reverse(CHANGELIST),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [tokens["user"].token.pk]},
    )
    assert Token.objects.filter(pk=tokens["user"].token.pk).exists()


def test_no_add_change_or_generic_delete(client, staff, tokens):
    client.force_login(staff)
    token = tokens["user"].token
    assert client.get(reverse("admin:tokens_token_add")).status_code == 403
    change_url = reverse("admin:tokens_token_change", args=[token.pk])
    client.post(change_url, {"name": "renamed"})
    token.refresh_from_db()
    assert token.name == "laptop"
    assert client.get(reverse("admin:tokens_token_delete", args=[token.pk])).status_code == 403
    actions = client.get(reverse(CHANGELIST)).content.decode()
    assert "delete_selected" not in actions


def test_no_secret_or_digest_on_any_admin_page(client, staff, tokens):
    client.force_login(staff)
    pages = [reverse(CHANGELIST), reverse("admin:tokens_event_changelist")]
    pages += [reverse("admin:tokens_token_change", args=[c.token.pk]) for c in tokens.values()]
    pages += [
        reverse("admin:tokens_event_change", args=[pk])
        for pk in Event.objects.values_list("pk", flat=True)
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for created in tokens.values():
            assert created.token.digest not in html
            assert created.secret not in html


def test_event_admin_is_read_only(client, staff, tokens):
    client.force_login(staff)
    event = Event.objects.first()
    assert client.get(reverse("admin:tokens_event_add")).status_code == 403
    assert client.get(reverse("admin:tokens_event_delete", args=[event.pk])).status_code == 403
    client.post(reverse("admin:tokens_event_change", args=[event.pk]), {"summary": "tampered"})
    event.refresh_from_db()
    assert event.summary != "tampered"
    listing = client.get(reverse("admin:tokens_event_changelist"), {"kind": "token.created"})
    assert listing.status_code == 200
    assert len(listing.context["cl"].result_list) == 3


def test_find_by_value_form_keeps_the_value_out_of_urls(client, staff, tokens):
    client.force_login(staff)
    find_url = reverse("admin:tokens_token_find")
    assert "Find by token value" in client.get(reverse(CHANGELIST)).content.decode()
    assert client.get(find_url).status_code == 200

    response = client.post(find_url, {"value": f" {tokens['automation'].secret} "})

    assert response.status_code == 302
    assert tokens["automation"].secret not in response["Location"]
    listing = client.get(response["Location"])
    assert {token.name for token in listing.context["cl"].result_list} == {"deploy bot"}
    assert "Found “deploy bot”" in listing.content.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Paste the token value."),
        ("not a token at all", "That is not a Keyward token"),
        ("kwu_" + "A" * 38, "That is not a Keyward token"),  # bad checksum
        ("legacy-looking-but-unknown-0001", "No token has this value"),
    ],
)
def test_find_by_value_explains_misses(client, staff, tokens, value, message):
    client.force_login(staff)
    response = client.post(reverse("admin:tokens_token_find"), {"value": value})
    assert response.status_code == 200  # the page, with its explanation
    assert message in response.content.decode()


def test_find_by_value_needs_staff(client, tokens, member_factory, account):
    client.force_login(member_factory(account, "superuser"))
    response = client.post(reverse("admin:tokens_token_find"), {"value": tokens["user"].secret})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_change_page_shows_resources_in_words(client, staff, account, member_factory):
    zone = ZoneFactory(account=account)
    owner = member_factory(account, "engineer")
    token = issue_user_token(owner, scopes=["zones:read"], resources={"zones": [zone.pk]}).token
    client.force_login(staff)
    html = client.get(reverse("admin:tokens_token_change", args=[token.pk])).content.decode()
    assert f"zones: #{zone.pk}; domains: all" in html


def test_find_by_value_finds_a_token_from_its_previous_secret(client, staff, tokens):
    from datetime import timedelta

    from tokens.events import Actor
    from tokens.services.roll import token_roll

    token = tokens["automation"].token
    token_roll(actor=Actor.system("tests"), token=token, grace_period=timedelta(hours=1))
    client.force_login(staff)
    response = client.post(
        reverse("admin:tokens_token_find"), {"value": tokens["automation"].secret}
    )
    assert response.status_code == 302
    listing = client.get(response["Location"])
    assert {found.name for found in listing.context["cl"].result_list} == {"deploy bot"}


# --------------------------------------------------------------------------- the token list


def test_list_shows_state_scopes_in_words_owner_and_last_use(client, staff, account, tokens):
    Token.objects.filter(pk=tokens["user"].token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=2), last_used_ip="203.0.113.9"
    )
    Token.objects.filter(pk=tokens["other"].token.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    account.max_idle_days = 7  # the automation token was never used: blocked in its account
    account.save(update_fields=["max_idle_days"])
    Token.objects.filter(pk=tokens["automation"].token.pk).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    client.force_login(staff)

    html = client.get(reverse(CHANGELIST)).content.decode()

    rows = {token.name: row for token, row in _rows(html, tokens)}
    assert "Full access: everything the role allows" in rows["laptop"]
    assert '["global"]' not in html
    assert "203.0.113.9" in rows["laptop"] and "Active" in rows["laptop"]
    assert "Expired" in rows["unrelated"]
    assert "Blocked by policy" in rows["deploy bot"]
    assert "Maximum idle time (Acme Test)" in rows["deploy bot"]
    assert "Acme Test (role: engineer)" in rows["deploy bot"]
    assert "owner@example.org" in rows["laptop"]
    assert "Never" in rows["deploy bot"]  # last used


def _rows(html: str, tokens: dict) -> list[tuple[Token, str]]:
    """Each token's table row, as HTML."""
    body = html.split('id="result_list"', 1)[1]
    found = []
    for row in body.split("<tr")[1:]:
        for created in tokens.values():
            if f">{created.token.name}<" in row:
                found.append((created.token, row))
    return found


def test_list_queries_do_not_grow_with_the_number_of_tokens(
    client, staff, account, member_factory, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = member_factory(account, "superuser")
    account.max_idle_days = 30  # policies read for every row, from the same query
    account.save(update_fields=["max_idle_days"])
    issue_user_token(owner, name="one")
    client.force_login(staff)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(CHANGELIST)).status_code == 200

    other = AccountFactory()
    for number in range(15):
        person = member_factory(other if number % 2 else account, "engineer")
        issue_user_token(person, name=f"user {number}")
        issue_automation_token(other if number % 2 else account, name=f"bot {number}")
    with django_assert_max_num_queries(len(one)):
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 31


# --------------------------------------------------------------------------- the token page


def test_token_page_shows_where_it_acts_and_its_recent_events(
    client, staff, account, member_factory
):
    from tokens.events import Actor
    from tokens.services.revoke import token_remove_from_account

    other = AccountFactory(name="Other Co")
    owner = member_factory(account, "engineer")
    Membership.objects.create(user=owner, account=other, role="user")
    third = AccountFactory(name="Third Ltd")
    Membership.objects.create(user=owner, account=third, role="user")
    token = issue_user_token(owner, name="laptop").token
    token_remove_from_account(actor=Actor.system("tests"), token=token, account=third)
    Event.objects.bulk_create(
        Event(
            kind=EventKind.TOKEN_UPDATED,
            actor_kind=ActorKind.SYSTEM,
            token_id=token.pk,
            summary=f"change {number}",
        )
        for number in range(25)
    )
    client.force_login(staff)

    response = client.get(reverse("admin:tokens_token_change", args=[token.pk]))

    html = response.content.decode()
    acts_in = html.split("Acts in", 1)[1].split("</ul>", 1)[0]
    assert "<li>Acme Test</li>" in acts_in and "<li>Other Co</li>" in acts_in
    assert "<li>Third Ltd</li>" not in acts_in
    assert "removed from Third Ltd by tests" in acts_in
    assert len(response.context["recent_events"]) == 20
    assert "All events of this token" in html
    assert f"?token_id={token.pk}" in html


def test_token_page_uses_readable_labels(client, staff, account, tokens):
    client.force_login(staff)
    bot = tokens["automation"].token
    html = client.get(reverse("admin:tokens_token_change", args=[bot.pk])).content.decode()
    for label in ("TLS access", "Legacy key", "IP allow-list", "Hint", "Last used"):
        assert f"{label}:" in html
    for raw in ("Tls access", "Is legacy", "Allowed ips", "Display:"):
        assert raw not in html


# --------------------------------------------------------------------------- Revoke button


def _revoke_url(created) -> str:
    return reverse("admin:tokens_token_revoke", args=[created.token.pk])


def test_revoke_button_confirms_then_revokes_as_support(client, staff, tokens):
    client.force_login(staff)
    change = client.get(reverse("admin:tokens_token_change", args=[tokens["user"].token.pk]))
    assert _revoke_url(tokens["user"]) in change.content.decode()

    confirmation = client.get(_revoke_url(tokens["user"]))
    assert confirmation.status_code == 200
    assert "Revoke “laptop”?" in confirmation.content.decode()
    assert Token.objects.filter(pk=tokens["user"].token.pk).exists()  # a GET changes nothing

    response = client.post(_revoke_url(tokens["user"]), {"note": "ticket 4521"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)
    assert "Revoked “laptop”" in response.content.decode()
    assert not Token.objects.filter(pk=tokens["user"].token.pk).exists()
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED)
    assert (event.actor_kind, event.actor_user) == (ActorKind.SUPPORT, staff)
    assert event.details["revoked_by"] == "support" and event.details["note"] == "ticket 4521"
    api = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {tokens['user'].secret}")
    assert api.status_code == 401


def test_revoke_button_needs_csrf(staff, tokens):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(_revoke_url(tokens["user"])).status_code == 403
    assert Token.objects.filter(pk=tokens["user"].token.pk).exists()


def test_revoke_button_is_not_for_people_outside_support(client, tokens, account, member_factory):
    client.force_login(member_factory(account, "superuser"))
    response = client.post(_revoke_url(tokens["user"]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    viewer = User.objects.create_user("helpdesk@keyward.test", "pw-helpdesk", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_token"))
    client.force_login(viewer)
    assert client.get(_revoke_url(tokens["user"])).status_code == 404
    assert client.post(_revoke_url(tokens["user"])).status_code == 404
    change = client.get(reverse("admin:tokens_token_change", args=[tokens["user"].token.pk]))
    assert _revoke_url(tokens["user"]) not in change.content.decode()
    assert Token.objects.filter(pk=tokens["user"].token.pk).exists()
    assert not Event.objects.filter(kind=EventKind.TOKEN_REVOKED).exists()


def test_revoke_button_on_a_token_gone_already_is_404(client, staff, tokens):
    client.force_login(staff)
    url = _revoke_url(tokens["user"])
    client.post(url)
    assert client.post(url).status_code == 404
    assert Event.objects.filter(kind=EventKind.TOKEN_REVOKED).count() == 1


# --------------------------------------------------------------------------- revoked tokens


def _revoke_as_support(client, staff, created) -> None:
    client.force_login(staff)
    client.post(_revoke_url(created), {"note": "ticket 4521"})


def test_find_by_value_says_when_and_by_whom_a_token_was_revoked(client, staff, tokens):
    _revoke_as_support(client, staff, tokens["automation"])

    response = _find(client, tokens["automation"].secret)

    html = response.content.decode()
    assert response.status_code == 200
    tombstone = RevokedToken.objects.get()
    assert (
        f"This token was revoked on {tombstone.revoked_at:%b} {tombstone.revoked_at.day}, "
        f"{tombstone.revoked_at:%Y %H:%M} UTC by support staff (support: support@keyward.test)"
    ) in html
    assert "deploy bot" in html and "ticket 4521" in html
    assert tokens["automation"].secret not in html and tombstone.digest not in html


def test_find_by_value_knows_a_revoked_previous_secret(client, staff, tokens):
    from tokens.events import Actor
    from tokens.services.roll import token_roll

    token_roll(
        actor=Actor.system("tests"), token=tokens["user"].token, grace_period=timedelta(hours=1)
    )
    _revoke_as_support(client, staff, tokens["user"])
    assert "This token was revoked on" in _find(client, tokens["user"].secret).content.decode()


def test_find_by_value_never_takes_a_value_by_get(client, staff, tokens):
    _revoke_as_support(client, staff, tokens["user"])
    response = client.get(reverse("admin:tokens_token_find"), {"value": tokens["user"].secret})
    html = response.content.decode()
    assert "This token was revoked" not in html and tokens["user"].secret not in html


def test_a_revoked_legacy_key_pasted_in_the_search_box_is_not_echoed(
    client, staff, account, member_factory
):
    owner = member_factory(account, "engineer")
    created = issue_user_token(owner, name="old key", legacy_key="legacy-key-0123456789abc")
    _revoke_as_support(client, staff, created)
    response = client.get(reverse(CHANGELIST), {"q": "legacy-key-0123456789abc"})
    assert response["Location"] == reverse("admin:tokens_token_find")


REVOKED = "admin:tokens_revokedtokenevent_changelist"


def test_revoked_view_lists_who_when_and_why_from_the_event_log(client, staff, tokens):
    from tokens.leaks.services import Finding, credentials_revoke

    _revoke_as_support(client, staff, tokens["user"])
    finding = Finding(url="https://gist.github.com/someone/abc", source="gist")
    credentials_revoke(credentials=[tokens["automation"].secret], findings=[finding])
    client.force_login(staff)
    assert reverse(REVOKED) in client.get(reverse(CHANGELIST)).content.decode()
    assert reverse(REVOKED) in client.get(reverse("admin:index")).content.decode()

    response = client.get(reverse(REVOKED))

    html = response.content.decode()
    assert {event.token_name for event in response.context["cl"].result_list} == {
        "laptop",
        "deploy bot",
    }
    assert "support staff (support: support@keyward.test)" in html and "ticket 4521" in html
    assert "Reported as leaked: found at https://gist.github.com/someone/abc (gist)" in html
    assert 'href="https://gist.github.com/someone/abc"' in html
    leaks = client.get(reverse(REVOKED), {"revoked_by": "leak_report"})
    assert [event.token_name for event in leaks.context["cl"].result_list] == ["deploy bot"]
    by_id = client.get(reverse(REVOKED), {"token_id": tokens["user"].token.pk})
    assert [event.token_name for event in by_id.context["cl"].result_list] == ["laptop"]
    for created in tokens.values():
        assert created.secret not in html and created.token.digest not in html


def test_revoked_view_is_read_only_and_shows_only_revocations(client, staff, tokens):
    _revoke_as_support(client, staff, tokens["user"])
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED)
    listed = client.get(reverse(REVOKED)).context["cl"].result_list
    assert [row.pk for row in listed] == [event.pk]
    assert client.get(reverse("admin:tokens_revokedtokenevent_add")).status_code == 403
    delete = reverse("admin:tokens_revokedtokenevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_staff_who_read_the_event_log_read_the_revoked_view(client, tokens):
    viewer = User.objects.create_user("helpdesk@keyward.test", "pw-helpdesk", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(viewer)
    assert client.get(reverse(REVOKED)).status_code == 200
    outsider = User.objects.create_user("intern@keyward.test", "pw-intern", is_staff=True)
    client.force_login(outsider)
    assert client.get(reverse(REVOKED)).status_code == 403
