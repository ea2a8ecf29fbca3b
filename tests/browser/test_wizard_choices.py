"""The wizard offers only what works (issue 14), seen in a browser with the demo data."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.token_steps import (
    DESKTOP,
    PHONE,
    confirm_password,
    scope_box,
    start_wizard,
)


def _both_widths(page, shoot, name: str) -> None:
    shoot(page, name)
    page.set_viewport_size(PHONE)
    shoot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_a_user_role_member_sees_write_scopes_disabled_and_every_error_at_once(
    page, live_server, demo, sign_in, shoot
):
    sign_in(page, "viewer@example.com")
    start_wizard(page, "keyward-demo")
    expect(scope_box(page, "zones:read")).to_be_enabled()
    expect(scope_box(page, "global")).to_be_enabled()
    for scope in ("zones:write", "services:write", "purge_all"):
        expect(scope_box(page, scope)).to_be_disabled()
    reason = (
        "None of your roles (user in Acme Hosting, user in Globex Corporation) "
        "can change DNS zones and records."
    )
    expect(scope_box(page, "zones:write")).to_have_accessible_name(re.compile(re.escape(reason)))
    expect(page.get_by_text(reason, exact=True)).to_be_visible()
    expect(
        page.get_by_role("radio", name=re.compile(r"^90 days ?: \w{3} \d{1,2}, \d{4}$"))
    ).to_be_checked()
    _both_widths(page, shoot, "wizard-viewer")

    # No scope, two bad lines in the IP allow-list and a custom date left empty.
    page.get_by_label("Name", exact=True).fill("Everything wrong")
    page.get_by_label("IP allow-list (optional)").fill("203.0.113.0/24\nnot-an-ip\n10.0.0.300")
    page.get_by_role("radio", name="Custom date").check()
    page.get_by_role("button", name="Review token").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("There are 4 problems to fix")
    for message in (
        "Choose at least one scope.",
        "“not-an-ip” is not an IP address or CIDR range.",
        "“10.0.0.300” is not an IP address or CIDR range.",
        "Choose the date the token expires.",
    ):
        expect(summary.get_by_text(message)).to_be_visible()
        expect(page.locator(".field-error", has_text=message)).to_be_visible()
    _both_widths(page, shoot, "wizard-all-errors")
    # In the page's order, each line leading to its field.
    expect(summary.get_by_role("listitem").first).to_contain_text("Scopes")
    summary.get_by_role("link", name="Scopes").click()
    expect(page).to_have_url(re.compile(r"#section-scopes$"))


def test_owner_wizard_warns_on_a_used_name_and_leads_to_the_plan(
    page, live_server, demo, sign_in, shoot
):
    sign_in(page, "owner@example.com")
    start_wizard(page, "keyward-demo")
    page.get_by_label("Name", exact=True).fill("Laptop CLI")
    expect(page.get_by_text("You already have an active token named “Laptop CLI”")).to_be_visible()
    _both_widths(page, shoot, "wizard-owner")

    page.context.clear_cookies()  # sign out; Solo Studio's superuser
    sign_in(page, "solo@example.com")
    start_wizard(page, "keyward-demo")
    page.get_by_text("Automation token", exact=True).click()
    expect(page.get_by_label("Account", exact=True)).to_have_value(re.compile(r"\d+"))
    note = page.locator(".plan-note")
    expect(note).to_contain_text("automation tokens get the scope global")
    _both_widths(page, shoot, "wizard-owner-solo")
    note.get_by_role("link", name="Compare plans").click()

    expect(page.get_by_role("heading", name="Plan", exact=True)).to_be_visible()
    expect(page.locator(".plan-card-current")).to_contain_text("Solo")
    expect(page.get_by_role("heading", name="What scoped automation tokens need")).to_be_visible()
    _both_widths(page, shoot, "plan-page")


def test_personal_tokens_pages(page, live_server, demo, sign_in, shoot):
    sign_in(page, "engineer@example.com")
    page.goto(f"{live_server.url}/tokens/")
    expect(page.get_by_role("columnheader", name="Type")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^\d+ of 100 active tokens used\.$"))).to_be_visible()
    expired = page.get_by_role("row", name=re.compile("Old deploy script"))
    expect(expired.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    expect(
        expired.get_by_role("link", name="Create a replacement for Old deploy script")
    ).to_be_visible()
    _both_widths(page, shoot, "personal-engineer")
    expired.get_by_role("link", name="Old deploy script", exact=True).click()
    expect(page.get_by_role("link", name="Edit permissions")).to_have_count(0)
    expect(page.get_by_role("link", name="Roll secret")).to_have_count(0)
    page.get_by_role("link", name="Create replacement").click()
    confirm_password(page, "keyward-demo")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Old deploy script")
    expect(scope_box(page, "global")).to_be_checked()
    page.go_back()
    page.go_back()
    expect(page.get_by_text("An expired token cannot be extended or edited.")).to_be_visible()
    _both_widths(page, shoot, "expired-detail")

    page.context.clear_cookies()  # sign out
    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/tokens/")
    expect(
        page.get_by_text(re.compile(r"of them automation tokens you created\.$"))
    ).to_be_visible()
    _both_widths(page, shoot, "personal-owner")
