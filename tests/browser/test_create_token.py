"""A new member creates a personal token through the wizard and uses it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.token_steps import (
    DESKTOP,
    PHONE,
    api_get,
    confirm_password,
    generate,
    new_member,
    read_secret,
    scope_box,
)
from tokens.models import Token


def test_new_member_creates_copies_and_uses_a_token(page, live_server, demo, sign_in, shoot):
    new_member()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "newcomer@example.com", "correct horse battery staple")

    page.get_by_role("navigation", name="Main").last.get_by_role(
        "link", name="Personal tokens"
    ).click()
    expect(page.get_by_role("heading", name="You have no personal tokens yet")).to_be_visible()
    shoot(page, "01-empty")
    page.set_viewport_size(PHONE)
    shoot(page, "01-empty-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Create token").first.click()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Confirm password").click()
    expect(page.get_by_role("alert")).to_contain_text("That password is not right")
    shoot(page, "02-sudo-wrong-password")
    confirm_password(page)

    expect(page.get_by_role("heading", name="Create token")).to_be_visible()
    # Engineers cannot create automation tokens: no type choice, billing scopes disabled.
    expect(page.get_by_text("Automation token", exact=True)).to_have_count(0)
    expect(scope_box(page, "zones:write")).to_be_enabled()
    page.get_by_label("Name", exact=True).fill("Laptop scripts")
    scope_box(page, "zones:read").check()
    scope_box(page, "domains:read").check()
    page.get_by_label("30 days").check()
    shoot(page, "03-wizard")
    page.set_viewport_size(PHONE)
    shoot(page, "03-wizard-phone")
    page.set_viewport_size(DESKTOP)
    generate(page)

    secret = read_secret(page)
    expect(page.get_by_text(f'curl -H "Authorization: Bearer {secret}"')).to_be_visible()
    expect(page.get_by_text(f"{live_server.url}/api/v1/whoami")).to_be_visible()
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shoot(page, "04-reveal")
    page.set_viewport_size(PHONE)
    shoot(page, "04-reveal-phone")
    page.set_viewport_size(DESKTOP)

    response = api_get(page, live_server.url, "/api/v1/whoami", secret)
    assert response.status == 200, response.text()
    assert response.json()["data"]["token"]["name"] == "Laptop scripts"

    page.reload()
    expect(page.get_by_role("heading", name="The secret was already shown")).to_be_visible()
    assert secret not in page.content()
    shoot(page, "05-reload-no-secret")

    page.get_by_role("link", name="Back to tokens").click()
    row = page.get_by_role("row").filter(has_text="Laptop scripts")
    expect(row).to_contain_text("Read DNS zones and records")
    expect(row).to_contain_text("127.0.0.1")  # last used: the API call above
    assert secret not in page.content()
    page.go_back()
    expect(page.get_by_role("heading", name="The secret was already shown")).to_be_visible()
    assert secret not in page.content()
    page.go_forward()
    shoot(page, "06-list")
    page.set_viewport_size(PHONE)
    shoot(page, "06-list-phone")
    assert Token.objects.get(name="Laptop scripts").expires_at is not None


def test_wizard_refuses_a_past_custom_date(page, live_server, demo, sign_in, shoot):
    new_member()
    sign_in(page, "newcomer@example.com", "correct horse battery staple")
    page.goto(f"{live_server.url}/tokens/new/")
    confirm_password(page)
    page.get_by_label("Name", exact=True).fill("Too late")
    scope_box(page, "zones:read").check()
    page.get_by_label("Custom date").check()
    page.get_by_label("Expiry date").fill("2020-01-01")
    page.get_by_role("button", name="Review token").click()
    # Beside the field and in the summary at the top (issue 14).
    past = "The expiry date must be in the future."
    expect(page.locator(".field-error", has_text=past)).to_be_visible()
    expect(page.locator(".error-summary", has_text=past)).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Too late")
    shoot(page, "past-date-error")
    assert not Token.objects.filter(name="Too late").exists()


def test_wizard_works_without_javascript(browser, live_server, demo, shoot):
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("keyward-demo")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/tokens/new/")
    confirm_password(page, "keyward-demo")

    page.get_by_label("Name", exact=True).fill("No-JS bot")
    page.get_by_role("radio", name=re.compile("^Automation token")).check()
    page.get_by_label("Role", exact=True).select_option(label="Billing")
    page.get_by_role("button", name="Show the scopes for this type and role").click()
    expect(scope_box(page, "zones:read")).to_be_disabled()
    expect(page.get_by_label("Name", exact=True)).to_have_value("No-JS bot")
    scope_box(page, "registrar:read").check()
    shoot(page, "billing-scopes")
    generate(page)

    secret = read_secret(page)
    assert secret.startswith("kwa_")
    token = Token.objects.get(name="No-JS bot")
    assert token.role == "billing" and token.scopes == ["registrar:read"]
    context.close()
