"""The token pages through HTTP: who sees what, the wizard, the reveal, edit and delete."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Plan, Role
from accounts.services.identity import SUDO_SESSION_KEY
from tests.factories import (
    AccountFactory,
    CertificateFactory,
    DomainFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import enter_sudo, through_sudo, wizard_post
from tokens.models import Event, EventKind, Token, TokenType

pytestmark = pytest.mark.django_db


@pytest.fixture
def sudo_client(client, engineer, password):
    client.force_login(engineer)
    enter_sudo(client, password)
    return client


# --------------------------------------------------------------------------- lists


def test_personal_page_lists_own_tokens_only(client, engineer, owner):
    mine = issue_user_token(engineer, "Mine", scopes=["zones:read", "purge_all"])
    issue_user_token(owner, "Someone else's")
    client.force_login(engineer)
    response = client.get(reverse("tokens:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Mine" in body and mine.token.display in body
    assert "Someone else&#x27;s" not in body and "Someone else's" not in body
    assert "Read DNS zones and records" in body  # scopes in plain words
    assert "Purge a whole service" in body
    assert "Never used" in body


def test_personal_page_shows_expired_never_and_last_use(client, engineer):
    expired = issue_user_token(engineer, "Old").token
    Token.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    issue_user_token(engineer, "Forever", expires_at=None)
    used = issue_user_token(engineer, "Used").token
    Token.objects.filter(pk=used.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3), last_used_ip="203.0.113.9"
    )
    client.force_login(engineer)
    body = client.get(reverse("tokens:list")).content.decode()
    assert "Expired" in body
    assert "Never</span>" in body
    assert "3\xa0hours ago" in body or "3 hours ago" in body
    assert "203.0.113.9" in body


def test_empty_personal_page_explains_and_offers_create(client, engineer):
    client.force_login(engineer)
    body = client.get(reverse("tokens:list")).content.decode()
    assert "You have no personal tokens yet" in body
    assert reverse("tokens:new") in body and "Create token" in body


def test_selected_resources_are_named(client, account, engineer):
    zone = ZoneFactory(account=account, name="picked.example")
    issue_user_token(engineer, "Scoped", scopes=["zones:read"], resources={"zones": [zone.pk]})
    client.force_login(engineer)
    body = client.get(reverse("tokens:list")).content.decode()
    assert "Zones: picked.example" in body


def test_account_page_is_for_superusers_only(client, account, engineer):
    client.force_login(engineer)
    response = client.get(reverse("tokens:account-list", args=[account.slug]))
    assert response.status_code == 403
    assert b"Only superusers" in response.content


def test_account_page_of_a_foreign_account_is_not_found(client, owner):
    other = AccountFactory()
    client.force_login(owner)
    assert client.get(reverse("tokens:account-list", args=[other.slug])).status_code == 404


def test_account_page_lists_automation_and_members_tokens(client, account, owner, engineer):
    issue_automation_token(account, "Deploy bot", creator=owner)
    issue_user_token(engineer, "Eddie laptop")
    outsider = UserFactory()
    MembershipFactory(user=outsider, account=AccountFactory())
    issue_user_token(outsider, "Outsider token")
    issue_automation_token(AccountFactory(), "Foreign bot")
    client.force_login(owner)
    body = client.get(reverse("tokens:account-list", args=[account.slug])).content.decode()
    assert "Deploy bot" in body and "Eddie laptop" in body
    assert "Outsider token" not in body and "Foreign bot" not in body


def test_account_page_filters_and_htmx_fragment(client, account, owner, engineer):
    issue_automation_token(account, "Deploy bot", creator=owner)
    issue_user_token(engineer, "Eddie laptop")
    old = issue_user_token(owner, "Expired one").token
    Token.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=2))
    client.force_login(owner)
    url = reverse("tokens:account-list", args=[account.slug])

    body = client.get(url, {"type": "automation"}).content.decode()
    assert "Deploy bot" in body and "Eddie laptop" not in body

    body = client.get(url, {"owner": str(engineer.pk)}).content.decode()
    assert "Eddie laptop" in body and "Deploy bot" not in body

    body = client.get(url, {"state": "expired"}).content.decode()
    assert "Expired one" in body and "Eddie laptop" not in body

    fragment = client.get(url, {"state": "active"}, headers={"HX-Request": "true"})
    text = fragment.content.decode()
    assert text.lstrip().startswith('<div id="token-table">')
    assert "Expired one" not in text and "Deploy bot" in text

    # Nonsense filter values are ignored, never a 500.
    assert client.get(url, {"type": "x", "owner": "abc", "state": "?"}).status_code == 200


# --------------------------------------------------------------------------- sudo and the wizard


def test_wizard_asks_for_sudo_first(client, engineer):
    client.force_login(engineer)
    response = client.get(reverse("tokens:new"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sudo") + "?next=%2Ftokens%2Fnew%2F")


def test_wizard_hides_type_from_non_superusers(sudo_client):
    body = sudo_client.get(reverse("tokens:new")).content.decode()
    assert "Generate token" in body
    assert "Automation token" not in body


def test_wizard_shows_type_to_superusers(client, owner, password):
    client.force_login(owner)
    enter_sudo(client, password)
    body = client.get(reverse("tokens:new")).content.decode()
    assert "Automation token" in body and "User token" in body


def test_create_user_token_redirects_to_reveal_once(sudo_client, engineer, account):
    response = sudo_client.post(reverse("tokens:new"), wizard_post())
    token = Token.objects.get(user=engineer)
    assert response.status_code == 302
    assert b"kwu_" not in response.content
    assert response["Location"] == reverse("tokens:reveal", args=[token.pk])
    assert token.scopes == ["zones:read"]
    assert token.expires_at > timezone.now() + timedelta(days=89)

    first = sudo_client.get(response["Location"])
    body = first.content.decode()
    secret = re.search(r'<code id="token-secret"[^>]*>([^<]+)</code>', body).group(1)
    assert secret.startswith("kwu_") and len(secret) == 42
    assert "It will only be shown once" in body
    assert f"Bearer {secret}" in body and "http://testserver/api/v1/whoami" in body
    assert "no-store" in first["Cache-Control"]
    assert 'hx-history="false"' in body

    again = sudo_client.get(response["Location"])
    assert secret not in again.content.decode()
    assert b"already shown" in again.content
    assert secret not in sudo_client.get(reverse("tokens:list")).content.decode()
    assert secret not in sudo_client.get(reverse("tokens:delete", args=[token.pk])).content.decode()
    assert secret not in str(list(Event.objects.values()))
    assert secret not in str(dict(sudo_client.session))
    assert secret not in sudo_client.get(reverse("tokens:edit", args=[token.pk])).content.decode()


def test_expiry_choices(sudo_client, engineer):
    sudo_client.post(reverse("tokens:new"), wizard_post(name="Never", expiration="never"))
    assert Token.objects.get(name="Never").expires_at is None
    sudo_client.post(reverse("tokens:new"), wizard_post(name="Thirty", expiration="30"))
    thirty = Token.objects.get(name="Thirty").expires_at - timezone.now()
    assert timedelta(days=29) < thirty <= timedelta(days=30)
    day = (timezone.now() + timedelta(days=12)).date()
    sudo_client.post(
        reverse("tokens:new"),
        wizard_post(name="Custom", expiration="custom", expires_on=day.isoformat()),
    )
    assert Token.objects.get(name="Custom").expires_at.date() == day


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expiration": "custom", "expires_on": "2001-01-01"}, "must be in the future"),
        ({"scopes": ["billing:nonsense"]}, "valid choice"),
        ({"scopes": []}, "Choose at least one scope"),
        ({"name": "  "}, "Give the token a name"),
        ({"allowed_ips": "10.0.0.0/8\nnot-an-ip"}, "not an IP address"),
        ({"token_type": "automation"}, "valid choice"),
    ],
)
def test_bad_or_tampered_wizard_posts_create_nothing(sudo_client, overrides, message):
    response = sudo_client.post(reverse("tokens:new"), wizard_post(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Token.objects.exists()


SPOOFING_NAMES = [
    "invoice\u202etxt.exe",  # right-to-left override (Cf)
    "ci\u200ddeploy",  # zero-width joiner (Cf)
    "\ufeffbom",  # zero-width no-break space (Cf)
    "bell\x07",  # Cc
    "next\x85line",  # NEL (Cc)
    "two\u2028lines",  # line separator (Zl)
    "two\u2029paragraphs",  # paragraph separator (Zp)
]


@pytest.mark.parametrize("name", SPOOFING_NAMES)
def test_a_name_with_control_or_format_characters_is_a_field_error(sudo_client, name):
    """Regression (issue 18): names accepted U+202E, U+200D and other invisible characters."""
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name=name))
    assert response.status_code == 200
    html = response.content.decode()
    name_field = re.search(
        r'<div class="field field-invalid">\s*<label for="id_name">.*?</div>', html, re.S
    )
    assert name_field, "the error belongs to the name field"
    assert "may not contain invisible" in name_field[0]
    assert not Token.objects.exists()


def test_names_in_any_script_and_with_emoji_are_kept(sudo_client):
    for name in ("Déploiement CI", "名前のトークン", "deploy 🚀", "Ünïcödé — dash"):
        sudo_client.post(reverse("tokens:new"), wizard_post(name=name))
    assert set(Token.objects.values_list("name", flat=True)) == {
        "Déploiement CI",
        "名前のトークン",
        "deploy 🚀",
        "Ünïcödé — dash",
    }


def test_a_scope_the_role_lacks_is_refused(client, account, member_factory, password):
    billing = member_factory(account, Role.BILLING)
    client.force_login(billing)
    enter_sudo(client, password)
    response = client.post(reverse("tokens:new"), wizard_post(scopes=["zones:write"]))
    assert response.status_code == 200
    # The reason names the role and the account (issue 14; it said "does not allow the scope").
    assert (
        "zones:write is not available: Your role in Acme Test (billing) cannot change DNS zones"
        in response.content.decode()
    )
    assert not Token.objects.exists()


def test_another_accounts_zone_is_refused(sudo_client, account):
    foreign = ZoneFactory(name="foreign.example")
    response = sudo_client.post(
        reverse("tokens:new"),
        wizard_post(zones_mode="selected", zones_ids=[str(foreign.pk)]),
    )
    assert response.status_code == 200
    assert "no such resource" in response.content.decode()
    assert not Token.objects.exists()


def test_non_superuser_cannot_create_automation_token(client, account, engineer, password):
    client.force_login(engineer)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:new"),
        wizard_post(token_type="automation", account=str(account.pk), role="engineer"),
    )
    assert response.status_code == 200
    assert not Token.objects.exists()


def test_superuser_cannot_create_automation_token_for_an_account_they_do_not_run(
    client, account, owner, password
):
    other = AccountFactory()
    MembershipFactory(user=owner, account=other, role=Role.ENGINEER)
    client.force_login(owner)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:new"),
        wizard_post(token_type="automation", account=str(other.pk), role="engineer"),
    )
    assert response.status_code == 200
    assert not Token.objects.exists()


def test_superuser_creates_automation_token_with_selected_services(
    client, account, owner, password
):
    web = ServiceFactory(account=account, name="Website")
    ServiceFactory(account=account, name="API")
    client.force_login(owner)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:new"),
        wizard_post(
            name="Purger",
            token_type="automation",
            account=str(account.pk),
            role="engineer",
            scopes=["purge_select", "services:read"],
            services_mode="selected",
            services_ids=[str(web.pk)],
            tls_access="on",
        ),
    )
    token = Token.objects.get(name="Purger")
    assert response["Location"] == reverse("tokens:reveal", args=[token.pk])
    assert token.type == TokenType.AUTOMATION and token.account == account
    assert token.role == "engineer" and token.tls_access
    assert token.selected_ids("services") == [web.pk] and not token.all_services


def test_role_caps_automation_scopes(client, account, owner, password):
    client.force_login(owner)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:new"),
        wizard_post(
            token_type="automation", account=str(account.pk), role="billing", scopes=["zones:read"]
        ),
    )
    assert response.status_code == 200
    assert not Token.objects.exists()


def test_permissions_fragment_follows_type_and_role(client, account, owner, password):
    client.force_login(owner)
    enter_sudo(client, password)
    url = reverse("tokens:new-permissions")
    response = client.get(
        url,
        {"token_type": "automation", "account": str(account.pk), "role": "billing"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="token-permissions"')
    assert 'value="zones:read" id="scope-zones-read" disabled' in body
    assert 'value="registrar:write" id="scope-registrar-write">' in body
    assert "<html" not in body


def test_solo_plan_replaces_scopes_with_a_note(client, owner, password):
    solo = AccountFactory(plan=Plan.SOLO, name="Solo Co")
    MembershipFactory(user=owner, account=solo, role=Role.SUPERUSER)
    client.force_login(owner)
    enter_sudo(client, password)
    body = client.get(
        reverse("tokens:new-permissions"), {"token_type": "automation", "account": str(solo.pk)}
    ).content.decode()
    # Issue 14: the note names `global` (it said "Full access on the Solo plan").
    assert "On the Solo plan, automation tokens get the scope <code>global</code>" in body
    assert "upgrade" in body
    assert 'name="scopes"' not in body
    response = client.post(
        reverse("tokens:new"),
        wizard_post(name="Solo bot", token_type="automation", account=str(solo.pk), scopes=[]),
    )
    assert response.status_code == 302
    assert Token.objects.get(name="Solo bot").scopes == ["global"]


def test_resource_picker_searches_within_reach(sudo_client, account):
    ZoneFactory(account=account, name="alpha.example")
    ZoneFactory(account=account, name="beta.example")
    ZoneFactory(name="alpha-foreign.example")
    response = sudo_client.get(
        reverse("tokens:resource-picker"), {"kind": "zones", "zones_q": "alpha"}
    )
    body = response.content.decode()
    assert "alpha.example" in body
    assert "beta.example" not in body and "alpha-foreign.example" not in body
    assert sudo_client.get(reverse("tokens:resource-picker"), {"kind": "bogus"}).status_code == 400


def test_a_wizard_sent_after_sudo_lapsed_creates_the_token_after_the_password(
    client, engineer, password
):
    client.force_login(engineer)
    enter_sudo(client, password)
    session = client.session
    session[SUDO_SESSION_KEY] = {"user": engineer.pk, "until": 0}
    session.save()
    response = client.post(reverse("tokens:new"), wizard_post(name="Kept name"))
    assert not Token.objects.exists()
    back = through_sudo(client, response, password)
    token = Token.objects.get(name="Kept name")
    assert back.status_code == 302 and back["Location"] == reverse("tokens:reveal", args=[token.pk])
    assert client.get(reverse("tokens:new")).status_code == 200  # nothing more is replayed
    assert Token.objects.count() == 1


# --------------------------------------------------------------------------- reach: 404s


def test_other_peoples_tokens_are_not_found(client, account, engineer, owner):
    theirs = issue_user_token(owner, "Owner's").token
    client.force_login(engineer)
    for name in ("tokens:edit", "tokens:delete", "tokens:reveal", "tokens:row"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client.post(reverse("tokens:delete", args=[theirs.pk])).status_code == 404
    assert (
        client.post(
            reverse("tokens:edit", args=[theirs.pk]), {"name": "hijack", "scopes": ["global"]}
        ).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.name == "Owner's"


def test_superuser_may_delete_but_not_edit_members_tokens(client, account, owner, engineer):
    member_token = issue_user_token(engineer, "Eddie laptop").token
    client.force_login(owner)
    assert client.get(reverse("tokens:edit", args=[member_token.pk])).status_code == 404
    response = client.post(
        reverse("tokens:delete", args=[member_token.pk]), {"account": account.slug}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("tokens:account-list", args=[account.slug])
    assert not Token.objects.filter(pk=member_token.pk).exists()
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED)
    assert event.details["revoked_by"] == "superuser" and event.account == account


def test_member_of_another_account_cannot_delete_automation_tokens(client, account, engineer):
    bot = issue_automation_token(account, "Deploy bot").token
    client.force_login(engineer)  # engineer, not superuser
    assert client.post(reverse("tokens:delete", args=[bot.pk])).status_code == 404
    assert Token.objects.filter(pk=bot.pk).exists()


# --------------------------------------------------------------------------- edit


def test_edit_narrowing_needs_no_sudo_and_is_logged(client, engineer):
    token = issue_user_token(engineer, "CI", scopes=["zones:read", "zones:write"]).token
    client.force_login(engineer)
    page = client.get(reverse("tokens:edit", args=[token.pk]))
    assert b"Update token" in page.content and b"Cancel" in page.content
    response = client.post(
        reverse("tokens:edit", args=[token.pk]),
        wizard_post(name="CI renamed", scopes=["zones:read"]),
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.name == "CI renamed" and token.scopes == ["zones:read"]
    event = Event.objects.get(kind=EventKind.TOKEN_UPDATED)
    assert event.details["before"]["scopes"] == ["zones:read", "zones:write"]
    assert event.details["after"]["scopes"] == ["zones:read"]


def test_edit_widening_is_saved_once_the_password_is_confirmed(client, engineer, password):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"]).token
    client.force_login(engineer)
    url = reverse("tokens:edit", args=[token.pk])
    response = client.post(url, wizard_post(name="CI", scopes=["zones:read", "zones:write"]))
    assert response.status_code == 302 and response["Location"].startswith("/sudo/")
    token.refresh_from_db()
    assert token.scopes == ["zones:read"]
    assert b"Your change is kept" in client.get(response["Location"]).content

    back = through_sudo(client, response, password)
    assert back.status_code == 302
    assert back["Location"] == reverse("tokens:detail", args=[token.pk])
    token.refresh_from_db()
    assert token.scopes == ["zones:read", "zones:write"]
    page = client.get(back["Location"]).content.decode()
    assert "Token “CI” updated." in page
    assert Event.objects.filter(kind=EventKind.TOKEN_UPDATED).count() == 1


def test_a_kept_widening_that_became_invalid_shows_its_errors(client, account, engineer, password):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"]).token
    client.force_login(engineer)
    url = reverse("tokens:edit", args=[token.pk])
    response = client.post(url, wizard_post(name="CI", scopes=["zones:read", "zones:write"]))
    engineer.memberships.filter(account=account).update(role="user")  # demoted meanwhile
    back = through_sudo(client, response, password)
    assert back.status_code == 200
    assert "Nothing was saved" in back.content.decode() or back.context["form"].errors
    token.refresh_from_db()
    assert token.scopes == ["zones:read"]
    assert not Event.objects.filter(kind=EventKind.TOKEN_UPDATED).exists()


def test_edit_tampered_resource_changes_nothing(client, engineer, password):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"]).token
    foreign = ZoneFactory()
    client.force_login(engineer)
    enter_sudo(client, password)
    response = client.post(
        reverse("tokens:edit", args=[token.pk]),
        wizard_post(name="CI", zones_mode="selected", zones_ids=[str(foreign.pk)]),
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.all_zones and not token.zones.exists()


def test_superuser_edits_automation_token(client, account, owner, password):
    bot = issue_automation_token(account, "Bot", creator=owner, scopes=["zones:read"]).token
    client.force_login(owner)
    response = client.post(
        reverse("tokens:edit", args=[bot.pk]), wizard_post(name="Bot 2", scopes=["zones:read"])
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("tokens:detail", args=[bot.pk])
    bot.refresh_from_db()
    assert bot.name == "Bot 2"


def test_solo_plan_automation_token_is_edited_without_scopes(client, owner):
    solo = AccountFactory(plan=Plan.SOLO, name="Solo Co")
    MembershipFactory(user=owner, account=solo, role=Role.SUPERUSER)
    bot = issue_automation_token(solo, "Bot", creator=owner).token
    client.force_login(owner)
    edit_url = reverse("tokens:edit", args=[bot.pk])
    assert 'name="scopes"' not in client.get(edit_url).content.decode()
    response = client.post(edit_url, wizard_post(name="Bot 2", scopes=[]))
    assert response.status_code == 302
    bot.refresh_from_db()
    assert (bot.name, bot.scopes) == ("Bot 2", ["global"])


# --------------------------------------------------------------------------- delete


def test_delete_confirmation_names_token_and_last_use(client, engineer):
    token = issue_user_token(engineer, "CI laptop").token
    Token.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - timedelta(days=2),
        last_used_ip="198.51.100.4",
        last_used_user_agent="Terraform/1.9.0",
    )
    client.force_login(engineer)
    page = client.get(reverse("tokens:delete", args=[token.pk])).content.decode()
    assert "CI laptop" in page and "198.51.100.4" in page and "stop working" in page
    assert "Terraform/1.9.0" in page and "2\xa0days ago" in page
    fragment = client.get(
        reverse("tokens:delete", args=[token.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert fragment.lstrip().startswith("<tr") and "Delete token" in fragment
    assert "Terraform/1.9.0" in fragment and "198.51.100.4" in fragment


def test_delete_with_htmx_returns_no_row(client, engineer):
    token = issue_user_token(engineer, "CI").token
    client.force_login(engineer)
    response = client.post(
        reverse("tokens:delete", args=[token.pk]), headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<tr" not in body and 'hx-swap-oob="true"' in body and "deleted" in body
    assert not Token.objects.filter(pk=token.pk).exists()
    assert Event.objects.get(kind=EventKind.TOKEN_REVOKED).details["revoked_by"] == "owner"


def test_delete_without_js_redirects_with_message(client, engineer):
    token = issue_user_token(engineer, "CI").token
    client.force_login(engineer)
    response = client.post(reverse("tokens:delete", args=[token.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("tokens:list")
    assert "deleted" in response.content.decode()


def test_pages_need_sign_in(client):
    for url in (reverse("tokens:list"), reverse("tokens:new")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_enter_in_a_search_box_without_js_redraws_and_creates_nothing(sudo_client, account):
    ZoneFactory(account=account, name="alpha.example")
    ZoneFactory(account=account, name="beta.example")
    response = sudo_client.post(
        reverse("tokens:new"),
        wizard_post(_refresh="1", zones_mode="selected", zones_q="beta"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "beta.example" in body and "alpha.example" not in body
    assert 'value="CI deploys"' in body
    assert not Token.objects.exists()


def test_enter_on_the_edit_page_without_js_changes_nothing(client, engineer):
    token = issue_user_token(engineer, "CI", scopes=["zones:read"]).token
    client.force_login(engineer)
    response = client.post(
        reverse("tokens:edit", args=[token.pk]),
        wizard_post(name="Renamed", scopes=["domains:read"], _refresh="1"),
    )
    assert response.status_code == 200
    assert 'value="Renamed"' in response.content.decode()
    token.refresh_from_db()
    assert token.name == "CI" and token.scopes == ["zones:read"]


def test_the_secret_waits_for_the_reveal_in_a_cookie_not_in_the_database(sudo_client, engineer):
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="In flight"))
    cookie = response.cookies["kw_reveal"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == response["Location"]
    assert "kwu_" not in cookie.value  # encrypted, not merely signed (tests/tokens/test_reveal.py)
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        assert "kwu_" not in str(cursor.fetchall())

    page = sudo_client.get(response["Location"])
    secret = re.search(r'<code id="token-secret"[^>]*>([^<]+)</code>', page.content.decode())[1]
    assert secret.startswith("kwu_")
    assert not Token.objects.filter(digest=secret).exists()
    assert page.cookies["kw_reveal"]["max-age"] == 0  # deleted by the reveal itself


def test_a_reveal_cookie_for_another_token_or_person_shows_nothing(sudo_client, engineer):
    first = sudo_client.post(reverse("tokens:new"), wizard_post(name="First"))
    second = sudo_client.post(reverse("tokens:new"), wizard_post(name="Second"))
    stolen = first.cookies["kw_reveal"].value
    sudo_client.cookies["kw_reveal"] = stolen  # replayed against the other token's reveal
    page = sudo_client.get(second["Location"]).content.decode()
    assert "already shown" in page and 'id="token-secret"' not in page


def test_an_unclaimed_secret_is_dropped(sudo_client, engineer, monkeypatch):
    response = sudo_client.post(reverse("tokens:new"), wizard_post(name="Late"))
    later = time.time() + 6 * 60
    monkeypatch.setattr("tokens.reveal.services.time.time", lambda: later)
    page = sudo_client.get(response["Location"]).content.decode()
    assert "already shown" in page and 'id="token-secret"' not in page


def test_user_token_resources_are_grouped_by_account(client, account, owner, password):
    other = AccountFactory(name="Beta Co")
    MembershipFactory(user=owner, account=other, role=Role.USER)
    ZoneFactory(account=account, name="acme-zone.example")
    ZoneFactory(account=other, name="beta-zone.example")
    ZoneFactory(name="stranger.example")
    client.force_login(owner)
    enter_sudo(client, password)
    body = client.get(reverse("tokens:new")).content.decode()
    picker = body.split('id="list-zones"')[1].split("</fieldset>")[0]
    assert '<p class="picker-group">Acme Test</p>' in picker
    assert '<p class="picker-group">Beta Co</p>' in picker
    assert "acme-zone.example" in picker and "beta-zone.example" in picker
    assert "stranger.example" not in picker
    assert "user in Beta Co" in body  # each account caps the token by the role there


# --------------------------------------------------------------- the role caps the pickers


@pytest.fixture
def resources_of_acme(account):
    """One resource of each kind in `account`, by kind."""
    return {
        "zones": ZoneFactory(account=account, name="secret-zone.example"),
        "domains": DomainFactory(account=account, name="registered.example"),
        "certificates": CertificateFactory(account=account, name="secret-cert.example"),
        "services": ServiceFactory(account=account, name="Secret CDN service"),
    }


HIDDEN_FROM_BILLING = ("secret-zone.example", "secret-cert.example", "Secret CDN service")


def test_billing_is_offered_no_resources_its_role_cannot_read(
    client, account, member_factory, password, resources_of_acme
):
    """Regression: billing saw zone, certificate and service names the overview hides."""
    billing = member_factory(account, Role.BILLING)
    client.force_login(billing)
    picker_url = reverse("tokens:resource-picker")
    for kind in ("zones", "certificates", "services", "domains"):
        fragment = client.get(picker_url, {"kind": kind, f"{kind}_q": ""}).content.decode()
        assert not any(name in fragment for name in [*HIDDEN_FROM_BILLING, "registered.example"])
    registrar = client.get(picker_url, {"kind": "registrar"}).content.decode()
    assert "registered.example" in registrar  # billing reads the registrar

    enter_sudo(client, password)
    for url in (reverse("tokens:new"), reverse("tokens:new-permissions")):
        page = client.get(url).content.decode()
        assert not any(name in page for name in HIDDEN_FROM_BILLING), url
        assert 'id="picker-zones"' not in page and 'id="picker-registrar"' in page


def test_a_user_token_is_offered_per_account_what_the_role_reads_there(
    client, account, member_factory, password, resources_of_acme
):
    person = member_factory(account, Role.BILLING)
    other = AccountFactory(name="Beta Co")
    MembershipFactory(user=person, account=other, role=Role.ENGINEER)
    ZoneFactory(account=other, name="beta-zone.example")
    client.force_login(person)
    fragment = client.get(reverse("tokens:resource-picker"), {"kind": "zones"}).content.decode()
    assert "beta-zone.example" in fragment and "secret-zone.example" not in fragment
    enter_sudo(client, password)
    page = client.get(reverse("tokens:new")).content.decode()
    assert "beta-zone.example" in page
    assert not any(name in page for name in HIDDEN_FROM_BILLING)


def test_editing_keeps_a_selection_the_role_no_longer_reads_unseen(
    client, account, member_factory, resources_of_acme
):
    person = member_factory(account, Role.ENGINEER)
    zone = resources_of_acme["zones"]
    token = issue_user_token(person, scopes=["global:read"], resources={"zones": [zone.pk]}).token
    person.memberships.update(role=Role.BILLING)
    client.force_login(person)

    page = client.get(reverse("tokens:edit", args=[token.pk])).content.decode()

    assert zone.name not in page
    assert '<input type="hidden" name="zones_mode" value="selected">' in page
    assert f'<input type="hidden" name="zones_ids" value="{zone.pk}">' in page
