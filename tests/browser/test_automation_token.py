"""A superuser creates an automation token with selected services and revokes a member's token."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from accounts.models import Account, User
from tests.browser.token_steps import (
    DESKTOP,
    PHONE,
    api_get,
    confirm_password,
    generate,
    read_secret,
    scope_box,
)
from tests.factories import issue_user_token
from tokens.models import Event, EventKind, Token


def test_superuser_automation_token_and_member_revocation(page, live_server, demo, sign_in, shoot):
    acme = Account.objects.get(slug="acme")
    viewer = User.objects.get(email="viewer@example.com")
    viewer_token = issue_user_token(viewer, "Vera's dashboard", scopes=["zones:read"])
    assert api_get(page, live_server.url, "/api/v1/whoami", viewer_token.secret).status == 200

    sign_in(page, "owner@example.com")
    page.get_by_role("navigation", name="Main").last.get_by_role(
        "link", name="Account tokens"
    ).click()
    expect(page.get_by_role("heading", name="Account tokens")).to_be_visible()
    shoot(page, "01-account-tokens")

    page.get_by_role("link", name="Create token").first.click()
    confirm_password(page, "keyward-demo")
    page.get_by_label("Name", exact=True).fill("CDN purger")
    page.get_by_role("radio", name=re.compile("^Automation token")).check()
    page.get_by_label("Account", exact=True).select_option(label="Acme Hosting (Teams)")

    # The role caps the scopes: billing cannot touch services, engineer can.
    page.get_by_label("Role", exact=True).select_option(label="Billing")
    expect(scope_box(page, "services:read")).to_be_disabled()
    expect(scope_box(page, "registrar:write")).to_be_enabled()
    shoot(page, "02-billing-role")
    page.get_by_label("Role", exact=True).select_option(label="Engineer")
    expect(scope_box(page, "services:read")).to_be_enabled()
    scope_box(page, "services:read").check()
    scope_box(page, "purge_select").check()

    services = page.get_by_role("group", name="Services", exact=True)
    services.get_by_label("Selected").check()
    services.get_by_label("Search services").fill("website")
    expect(services.get_by_label("Acme API")).to_have_count(0)
    services.get_by_label("Acme website").check()
    shoot(page, "03-wizard")
    page.set_viewport_size(PHONE)
    shoot(page, "03-wizard-phone")
    page.set_viewport_size(DESKTOP)
    generate(page)

    secret = read_secret(page)
    assert secret.startswith("kwa_")
    shoot(page, "04-reveal")
    listed = api_get(page, live_server.url, f"/api/v1/accounts/{acme.pk}/services", secret)
    assert listed.status == 200, listed.text()
    assert [service["name"] for service in listed.json()["data"]] == ["Acme website"]
    zones = api_get(page, live_server.url, f"/api/v1/accounts/{acme.pk}/zones", secret)
    assert zones.status == 403

    page.get_by_role("link", name="I have copied it, done").click()
    expect(page.get_by_role("heading", name="Account tokens")).to_be_visible()
    bot_row = page.get_by_role("row").filter(has_text="CDN purger")
    expect(bot_row).to_contain_text("Automation")
    expect(bot_row).to_contain_text("Services: Acme website")
    shoot(page, "05-account-tokens")
    page.set_viewport_size(PHONE)
    shoot(page, "05-account-tokens-phone")
    page.set_viewport_size(DESKTOP)

    # Filter to the viewer's tokens (htmx keeps the URL shareable), then revoke one.
    page.get_by_label("Owner").select_option(label="viewer@example.com")
    expect(page).to_have_url(re.compile(r"owner=\d+"))
    expect(page.get_by_role("row").filter(has_text="CDN purger")).to_have_count(0)
    row = page.get_by_role("row").filter(has_text="Vera's dashboard")
    expect(row).to_contain_text("viewer@example.com")
    expect(row.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    row.get_by_role("link", name="Delete Vera's dashboard").click()
    expect(page.get_by_text("owned by viewer@example.com")).to_be_visible()
    shoot(page, "06-revoke-confirm")
    page.get_by_role("button", name="Delete token").click()
    expect(page.get_by_role("row").filter(has_text="Vera's dashboard")).to_have_count(0)
    expect(page.get_by_role("heading", name="No tokens left here")).to_be_visible()
    shoot(page, "07-revoked")

    assert api_get(page, live_server.url, "/api/v1/whoami", viewer_token.secret).status == 401
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED)
    assert event.details["revoked_by"] == "superuser" and event.account == acme
    assert Token.objects.filter(name="CDN purger").exists()

    page.reload()  # the filtered URL is shareable: a reload shows the same view
    expect(page.get_by_label("Owner")).to_have_value(str(viewer.pk))


def test_solo_plan_explains_full_access(page, live_server, demo, sign_in, shoot):
    sign_in(page, "solo@example.com")
    page.goto(f"{live_server.url}/tokens/new/")
    confirm_password(page, "keyward-demo")
    page.get_by_role("radio", name=re.compile("^Automation token")).check()
    # Issue 14: the note names `global` and links the plan page.
    expect(
        page.get_by_text("On the Solo plan, automation tokens get the scope global")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Compare plans")).to_be_visible()
    expect(page.get_by_text("upgrade Solo Studio to the Teams plan")).to_be_visible()
    expect(scope_box(page, "zones:read")).to_have_count(0)
    shoot(page, "solo-note")
    page.get_by_label("Name", exact=True).fill("Portfolio deploys")
    generate(page)
    secret = read_secret(page)
    assert Token.objects.get(name="Portfolio deploys").scopes == ["global"]
    assert api_get(page, live_server.url, "/api/v1/whoami", secret).status == 200


def test_non_superuser_gets_403_on_the_account_page(page, live_server, demo, sign_in, shoot):
    sign_in(page, "engineer@example.com")
    nav = page.get_by_role("navigation", name="Main").last
    expect(nav.get_by_role("link", name="Account tokens")).to_have_count(0)
    response = page.goto(f"{live_server.url}/a/acme/tokens/")
    assert response.status == 403
    expect(
        page.get_by_role("heading", name="Only superusers see the account's tokens")
    ).to_be_visible()
    shoot(page, "forbidden")
