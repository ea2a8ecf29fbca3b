"""A superuser sets a maximum lifetime on the policies page; the wizard then disables "Never"."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from accounts.models import Account
from tests.browser.token_steps import DESKTOP, PHONE, confirm_password
from tokens.models import Event, EventKind


def test_set_a_maximum_lifetime_then_the_wizard_disables_never(
    page, live_server, demo, sign_in, shoot
):
    sign_in(page, "owner@example.com")
    page.get_by_role("navigation", name="Main").last.get_by_role("link", name="Policies").click()
    expect(page.get_by_role("heading", name="Token policies")).to_be_visible()
    for label in (
        "Maximum lifetime",
        "Maximum idle time",
        "Automation tokens need an IP allow-list",
        "Allowed networks",
    ):
        expect(page.get_by_label(label)).to_be_visible()
    shoot(page, "01-policies")

    page.get_by_label("Maximum lifetime").fill("60")
    page.get_by_role("button", name="Preview changes").click()
    preview = page.get_by_role("heading", name=re.compile(r"would be blocked$"))
    expect(preview).to_be_visible()
    assert Account.objects.get(slug="acme").max_lifetime_days is None  # nothing saved yet
    shoot(page, "02-preview")
    page.set_viewport_size(PHONE)
    shoot(page, "02-preview-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Save policies").click()
    expect(page.get_by_text("Your change is kept")).to_be_visible()
    shoot(page, "03-password-for-saving")
    page.set_viewport_size(PHONE)
    shoot(page, "03-password-for-saving-phone")
    page.set_viewport_size(DESKTOP)
    confirm_password(page, "keyward-demo")
    # Saved once the password is confirmed: nobody presses Save policies twice.
    expect(page.get_by_text("Token policies of Acme Hosting saved.")).to_be_visible()
    expect(page.get_by_label("Maximum lifetime")).to_have_value("60")
    shoot(page, "04-saved-after-password")
    page.set_viewport_size(PHONE)
    shoot(page, "04-saved-after-password-phone")
    page.set_viewport_size(DESKTOP)
    assert Account.objects.get(slug="acme").max_lifetime_days == 60
    assert Event.objects.filter(kind=EventKind.POLICIES_CHANGED).count() == 1

    page.get_by_role("navigation", name="Main").last.get_by_role(
        "link", name="Account tokens"
    ).click()
    page.get_by_role("link", name="Create token").first.click()
    expect(page.get_by_role("heading", name="Create token")).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Automation token")).check()
    page.get_by_label("Account", exact=True).select_option(label="Acme Hosting (Teams)")
    expect(page.get_by_role("radio", name="Never")).to_be_disabled()
    expect(page.get_by_role("radio", name="90 days")).to_be_disabled()
    expect(page.get_by_role("radio", name="60 days")).to_be_enabled()
    expect(page.get_by_role("radio", name="60 days")).to_be_checked()
    expect(page.get_by_text("maximum lifetime of 60 days")).to_be_visible()
    shoot(page, "05-wizard-limited")


def test_a_token_blocked_by_the_maximum_lifetime_is_brought_within_it(
    page, live_server, demo, sign_in, shoot
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import issue_automation_token
    from tokens.policies.selectors import token_blocked_in

    acme = Account.objects.get(slug="acme")
    bot = issue_automation_token(
        acme, "Nightly backup", expires_at=timezone.now() + timedelta(days=90)
    ).token
    Account.objects.filter(pk=acme.pk).update(max_lifetime_days=30)
    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/tokens/{bot.pk}/edit/")
    expect(page.get_by_text("Blocked by policy")).to_be_visible()
    expect(page.get_by_text("allows a maximum lifetime that ends")).to_be_visible()
    later = timezone.localdate() + timedelta(days=120)  # later than its expiry: refused
    page.get_by_label("Bring the expiry forward to").fill(later.isoformat())
    page.get_by_role("button", name="Update token").click()
    refused = page.locator(".field-error", has_text="An edit can only bring the expiry earlier")
    expect(refused).to_be_visible()
    soon = timezone.localdate() + timedelta(days=20)
    page.get_by_label("Bring the expiry forward to").fill(soon.isoformat())
    shoot(page, "blocked-edit")
    page.set_viewport_size(PHONE)
    shoot(page, "blocked-edit-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Update token").click()
    expect(page.get_by_text("Token “Nightly backup” updated.")).to_be_visible()
    bot.refresh_from_db()
    assert bot.expires_at.date() == soon
    assert token_blocked_in(bot) == []
