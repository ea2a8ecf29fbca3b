"""The wizard offers only what works (issue 14): scopes the role can use in full, with the
reason beside the others, "Selected" with something selected, every error at once, role-aware
descriptions, expiry dates, duplicate-name warnings, expired tokens and the plan page."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Plan, Role
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import enter_sudo, wizard_post
from tokens.models import Token
from tokens.permissions import scopes_allowed_for_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, password):
    def sign_in(user):
        client.force_login(user)
        enter_sudo(client, password)
        return client

    return sign_in


def _checkbox(body: str, scope: str) -> str:
    """The <label> of one scope checkbox."""
    scope_id = "scope-" + scope.replace(":", "-").replace("_", "-")
    match = re.search(rf'<label class="choice[^"]*" for="{scope_id}">.*?</label>', body, re.S)
    assert match, scope
    return html.unescape(match.group(0))


# --------------------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.SUPERUSER, {"zones:write", "certificates:write", "registrar:write", "purge_all"}),
        (Role.ENGINEER, {"zones:write", "services:write", "purge_select", "purge_all"}),
        (Role.USER, {"zones:read", "domains:read", "certificates:read", "services:read"}),
        (Role.BILLING, {"registrar:read", "registrar:write"}),
    ],
)
def test_a_scope_is_offered_only_when_the_role_can_use_all_of_it(role, offered):
    allowed = set(scopes_allowed_for_role(role))
    assert {"global", "global:read"} <= allowed  # "everything the role allows": always
    assert offered <= allowed
    if role == Role.USER:
        assert not {s for s in allowed if s.endswith(":write") or s.startswith("purge")}
    if role == Role.BILLING:
        assert allowed == {"global", "global:read", "registrar:read", "registrar:write"}
    if role == Role.ENGINEER:
        assert not {"certificates:write", "registrar:write"} & allowed


def test_user_role_sees_write_scopes_disabled_with_the_reason(signed_in, account, member_factory):
    viewer = member_factory(account, Role.USER)
    body = signed_in(viewer).get(reverse("tokens:new")).content.decode()
    write = _checkbox(body, "zones:write")
    assert " disabled" in write
    assert "Your role in Acme Test (user) cannot change DNS zones and records." in write
    assert " disabled" not in _checkbox(body, "zones:read")
    assert " disabled" not in _checkbox(body, "global")
    assert "cannot purge a whole service" in _checkbox(body, "purge_all").lower()


def test_a_write_scope_is_offered_when_one_account_allows_it(signed_in, account, member_factory):
    viewer = member_factory(account, Role.USER)
    MembershipFactory(
        user=viewer, account=AccountFactory(name="Side", slug="side"), role="engineer"
    )
    body = signed_in(viewer).get(reverse("tokens:new")).content.decode()
    assert " disabled" not in _checkbox(body, "zones:write")
    assert " disabled" in _checkbox(body, "certificates:write")
    assert "None of your roles (user in Acme Test, engineer in Side)" in _checkbox(
        body, "certificates:write"
    )


def test_user_role_cannot_post_a_write_scope(signed_in, account, member_factory):
    viewer = member_factory(account, Role.USER)
    response = signed_in(viewer).post(reverse("tokens:new"), wizard_post(scopes=["zones:write"]))
    assert response.status_code == 200
    assert "zones:write is not available: Your role in Acme Test (user) cannot change" in (
        html.unescape(response.content.decode())
    )
    assert not Token.objects.exists()


def test_automation_role_reasons_and_tls_management(signed_in, account, member_factory):
    owner = member_factory(account, Role.SUPERUSER)
    client = signed_in(owner)
    query = {"token_type": "automation", "account": account.pk, "role": "user"}
    body = client.get(reverse("tokens:new-permissions"), query).content.decode()
    assert "The user role cannot change DNS zones and records." in _checkbox(body, "zones:write")
    engineer = {**query, "role": "engineer"}
    body = client.get(reverse("tokens:new-permissions"), engineer).content.decode()
    assert "cannot renew TLS certificates without TLS management" in _checkbox(
        body, "certificates:write"
    )
    body = client.get(
        reverse("tokens:new-permissions"), {**engineer, "tls_access": "on"}
    ).content.decode()
    assert " disabled" not in _checkbox(body, "certificates:write")


def test_global_is_described_for_the_role(signed_in, account, member_factory):
    billing = member_factory(account, Role.BILLING)
    body = signed_in(billing).get(reverse("tokens:new")).content.decode()
    described = _checkbox(body, "global")
    assert "purg" not in described.lower()
    assert "Everything your role allows: read and change registrations" in described
    engineer = member_factory(account, Role.ENGINEER)
    body = signed_in(engineer).get(reverse("tokens:new")).content.decode()
    assert "purge caches" in _checkbox(body, "global")


# --------------------------------------------------------------------------- resources


def test_selected_with_nothing_selected_is_refused_on_that_picker(
    signed_in, account, member_factory
):
    engineer = member_factory(account, Role.ENGINEER)
    ZoneFactory(account=account, name="acme.example")
    response = signed_in(engineer).post(
        reverse("tokens:new"), wizard_post(scopes=["zones:read"], zones_mode="selected")
    )
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    picker = re.search(
        r'<fieldset class="picker field-invalid" id="picker-zones">.*?</fieldset>', body, re.S
    )
    assert picker and "Zones: select at least one, or choose “All”" in picker.group(0)
    assert not Token.objects.exists()


def test_selected_with_nothing_is_moot_for_kinds_the_scopes_do_not_reach(
    signed_in, account, member_factory
):
    engineer = member_factory(account, Role.ENGINEER)
    response = signed_in(engineer).post(
        reverse("tokens:new"), wizard_post(scopes=["zones:read"], services_mode="selected")
    )
    assert response.status_code == 302


def test_edit_refuses_selected_with_nothing(signed_in, account, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    zone = ZoneFactory(account=account)
    token = issue_user_token(engineer, scopes=["zones:read"], resources={"zones": [zone.pk]}).token
    data = wizard_post(scopes=["zones:read"], zones_mode="selected")
    response = signed_in(engineer).post(reverse("tokens:edit", args=[token.pk]), data)
    assert response.status_code == 200
    assert "select at least one" in response.content.decode()
    assert list(Token.objects.get(pk=token.pk).zones.values_list("pk", flat=True)) == [zone.pk]


# --------------------------------------------------------------------------- all errors at once


def test_every_error_shows_at_once_with_a_summary(signed_in, account, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    data = wizard_post(
        scopes=[],
        allowed_ips="10.0.0.0/8\nnot-an-ip\n300.1.2.3",
        expiration="custom",
        expires_on="",
    )
    response = signed_in(engineer).post(reverse("tokens:new"), data)
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    summary = re.search(r'<div class="alert alert-error error-summary".*?</div>', body, re.S)
    assert summary, "no error summary"
    assert "There are 4 problems to fix" in summary.group(0)
    for message in (
        "Choose at least one scope.",
        "“not-an-ip” is not an IP address or CIDR range.",
        "“300.1.2.3” is not an IP address or CIDR range.",
        "Choose the date the token expires.",
    ):
        assert message in summary.group(0)
        assert f'<p class="field-error" role="alert">{message}</p>' in body
    assert not Token.objects.exists()


# --------------------------------------------------------------------------- expiry, names


def test_each_expiry_choice_shows_its_date(signed_in, account, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    body = signed_in(engineer).get(reverse("tokens:new")).content.decode()
    day = timezone.localdate(timezone.now() + timedelta(days=90))
    shown = f"{day:%b} {day.day}, {day.year}"
    choice = re.search(r'value="90"[^>]*><span>(.*?)</label>', body, re.S)
    assert choice and re.sub(r"<[^>]+>", "", choice.group(1)) == f"90 days: {shown}"


def test_a_duplicate_name_is_warned_about_not_refused(signed_in, account, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    issue_user_token(engineer, "CI deploys")
    client = signed_in(engineer)
    warning = client.get(reverse("tokens:name-check"), {"name": "ci deploys"}).content.decode()
    assert "You already have an active token named “ci deploys”" in html.unescape(warning)
    fresh = client.get(reverse("tokens:name-check"), {"name": "Terraform"}).content.decode()
    assert "already" not in fresh
    redrawn = client.post(reverse("tokens:new"), wizard_post(scopes=[])).content.decode()
    assert "You already have an active token named" in html.unescape(redrawn)
    assert client.post(reverse("tokens:new"), wizard_post()).status_code == 302
    assert Token.objects.filter(name="CI deploys").count() == 2


# --------------------------------------------------------------------------- lists


def test_expired_tokens_offer_a_replacement_not_edit(client, account, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    token = issue_user_token(engineer, "Old", scopes=["zones:read"]).token
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    live = issue_user_token(engineer, "Live").token
    client.force_login(engineer)
    body = html.unescape(client.get(reverse("tokens:list")).content.decode())
    assert 'aria-label="Edit Old"' not in body and "Roll secret of Old" not in body
    assert 'aria-label="Create a replacement for Old"' in body
    assert "/tokens/new/?name=Old&scopes=zones%3Aread&type=user" in body
    assert f'aria-label="Edit {live.name}"' in body
    detail = client.get(reverse("tokens:detail", args=[token.pk])).content.decode()
    assert "Edit permissions" not in detail and "Roll secret" not in detail
    assert "Create replacement" in detail and "cannot be extended" in detail
    assert "It has expired and can do nothing now." in detail
    edit = client.get(reverse("tokens:edit", args=[token.pk])).content.decode()  # by address
    assert "This token has expired." in edit and "Create a replacement" in edit
    assert (
        "This token has expired."
        not in client.get(reverse("tokens:edit", args=[live.pk])).content.decode()
    )


def test_personal_page_has_no_type_column_and_a_plain_counter(client, account, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    issue_user_token(engineer, "Mine")
    client.force_login(engineer)
    body = client.get(reverse("tokens:list")).content.decode()
    assert '<th scope="col">Type</th>' not in body and 'data-label="Type"' not in body
    assert "1 of 100 active tokens used." in body
    owner = member_factory(account, Role.SUPERUSER)
    client.force_login(owner)
    body = client.get(reverse("tokens:list")).content.decode()
    assert "0 of 100 active tokens used." in body  # none created: nothing to explain
    first = issue_automation_token(account, creator=owner).token
    second = issue_automation_token(account, name="Second", creator=owner).token
    body = client.get(reverse("tokens:list")).content.decode()
    text = re.sub(r"<[^>]+>", "", body)
    assert "2 of 100 active tokens used, 2 of them automation tokens you created." in text
    # The words link to them: a list of the automation tokens, each to its page.
    assert '<a href="#automation-created">2 of them automation tokens you created</a>' in body
    created = body[body.index('id="automation-created"') :]
    for token in (first, second):
        assert f'href="{reverse("tokens:detail", args=[token.pk])}">{token.name}</a>' in created
    # No longer a superuser: named, not linked (its page is for the account's superusers).
    owner.memberships.update(role=Role.ENGINEER)
    created = client.get(reverse("tokens:list")).content.decode()
    created = created[created.index('id="automation-created"') :]
    assert "Second" in created and reverse("tokens:detail", args=[second.pk]) not in created
    owner.memberships.update(role=Role.SUPERUSER)
    account_page = client.get(reverse("tokens:account-list", args=[account.slug])).content
    assert b'<th scope="col">Type</th>' in account_page


# --------------------------------------------------------------------------- plan page


def test_plan_page_for_members_only(client, account, member_factory):
    viewer = member_factory(account, Role.USER)
    client.force_login(viewer)
    response = client.get(reverse("accounts:plan", args=[account.slug]))
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    for plan in ("Solo", "Teams", "Enterprise"):
        assert f"<h2>{plan}</h2>" in body
    current = re.search(r'<li class="card plan-card plan-card-current".*?</li>', body, re.S)
    assert current and f"<h2>{account.get_plan_display()}</h2>" in current.group(0)
    assert "What scoped automation tokens need" in body
    overview = client.get(reverse("accounts:overview", args=[account.slug])).content.decode()
    assert f'href="{reverse("accounts:plan", args=[account.slug])}"' in overview
    other = AccountFactory(slug="other")
    assert client.get(reverse("accounts:plan", args=[other.slug])).status_code == 404


def test_each_plan_says_what_it_adds_enterprise_single_sign_on(client, account, member_factory):
    client.force_login(member_factory(account, Role.USER))
    body = html.unescape(client.get(reverse("accounts:plan", args=[account.slug])).content.decode())
    cards = {
        name: card for name, card in re.findall(r"<h2>(\w+)</h2>(.*?)</ul>\s*</li>", body, re.S)
    }
    assert set(cards) == {"Solo", "Teams", "Enterprise"}
    assert "Everything in" not in cards["Solo"]
    assert "Everything in Solo, and:" in cards["Teams"]
    assert "chosen scopes, resources and DNS record rules" in cards["Teams"]
    assert "Everything in Teams, and:" in cards["Enterprise"]
    assert "Single sign-on with OpenID Connect" in cards["Enterprise"]
    assert "Force SSO" in cards["Enterprise"]
    assert "record rules" not in cards["Enterprise"]  # said once, where it is added
    assert "Single sign-on" not in cards["Teams"]


def test_solo_note_names_global_and_links_the_plan(signed_in, member_factory):
    solo = AccountFactory(name="Solo Co", slug="solo-co", plan=Plan.SOLO)
    owner = member_factory(solo, Role.SUPERUSER)
    query = {"token_type": "automation", "account": solo.pk, "role": "user"}
    body = signed_in(owner).get(reverse("tokens:new-permissions"), query).content.decode()
    assert "automation tokens get the scope <code>global</code>" in body
    assert "With the user role it may read" in body
    assert f'href="{reverse("accounts:plan", args=["solo-co"])}"' in body


def test_a_prefill_link_survives_the_password_check(client, account, member_factory, password):
    engineer = member_factory(account, Role.ENGINEER)
    client.force_login(engineer)
    link = reverse("tokens:new") + "?name=Old&scopes=zones%3Aread&type=user"
    response = client.get(link)
    assert response.status_code == 302
    sudo = urlparse(response["Location"])
    assert sudo.path == reverse("accounts:sudo")
    assert parse_qs(sudo.query)["next"] == [link]  # the values ride along
    client.post(reverse("accounts:sudo"), {"password": password, "next": link})
    assert 'value="Old"' in client.get(link).content.decode()
