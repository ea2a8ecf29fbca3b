"""Editing a token's permissions: the API follows at once; widening asks for the password,
and is saved as soon as it is confirmed."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import Account
from accounts.services.identity import SUDO_SESSION_KEY
from tests.browser.token_steps import (
    DESKTOP,
    PHONE,
    api_get,
    confirm_password,
    create_user_token,
    new_member,
    scope_box,
)
from tokens.models import Event, EventKind


def _expire_sudo():
    """Age the sudo mark in the browser's session, as if 10 minutes had passed."""
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        data = session.get_decoded()
        if SUDO_SESSION_KEY in data:
            data[SUDO_SESSION_KEY]["until"] = 0
            session.session_data = Session.objects.encode(data)
            session.save()


def test_edit_permissions_and_see_the_api_follow(page, live_server, demo, sign_in, shoot):
    new_member()
    acme = Account.objects.get(slug="acme")
    zones_url = f"/api/v1/accounts/{acme.pk}/zones"
    domains_url = f"/api/v1/accounts/{acme.pk}/domains"
    sign_in(page, "newcomer@example.com", "correct horse battery staple")
    secret = create_user_token(page, "Terraform", ["zones:read"])
    assert api_get(page, live_server.url, zones_url, secret).status == 200
    assert api_get(page, live_server.url, domains_url, secret).status == 403

    page.get_by_role("link", name="I have copied it, done").click()
    page.get_by_role("link", name="Edit Terraform").click()
    expect(page.get_by_role("heading", name="Edit “Terraform”")).to_be_visible()
    expect(scope_box(page, "zones:read")).to_be_checked()
    shoot(page, "01-edit")
    page.set_viewport_size(PHONE)
    shoot(page, "01-edit-phone")
    page.set_viewport_size(DESKTOP)

    # Swapping zones:read for domains:read adds a scope: that widens the token,
    # so once sudo mode has run out the password is asked for again.
    _expire_sudo()
    scope_box(page, "zones:read").uncheck()
    scope_box(page, "domains:read").check()
    page.get_by_label("Name", exact=True).fill("Terraform (domains)")
    page.get_by_role("button", name="Update token").click()

    # The password page says the change is kept; once confirmed, it is saved: the
    # token's page shows the change, nobody presses Update token twice.
    expect(page.get_by_text("Your change is kept")).to_be_visible()
    shoot(page, "02-password-for-widening")
    page.set_viewport_size(PHONE)
    shoot(page, "02-password-for-widening-phone")
    page.set_viewport_size(DESKTOP)
    confirm_password(page)
    expect(page.get_by_text("Token “Terraform (domains)” updated.")).to_be_visible()
    expect(page.get_by_role("heading", name="Terraform (domains)", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Read domains")
    shoot(page, "03-widened-after-password")
    page.set_viewport_size(PHONE)
    shoot(page, "03-widened-after-password-phone")
    page.set_viewport_size(DESKTOP)
    assert Event.objects.filter(kind=EventKind.TOKEN_UPDATED).count() == 1

    page.get_by_role("navigation", name="Main").last.get_by_role(
        "link", name="Personal tokens"
    ).click()
    row = page.get_by_role("row").filter(has_text="Terraform (domains)")
    expect(row).to_contain_text("Read domains")
    expect(row).not_to_contain_text("Read DNS zones")
    shoot(page, "03-updated")
    assert api_get(page, live_server.url, zones_url, secret).status == 403
    assert api_get(page, live_server.url, domains_url, secret).status == 200

    # Narrowing to selected domains needs no password and the API lists only those.
    _expire_sudo()
    row.get_by_role("link", name="Edit Terraform (domains)").click()
    domains = page.get_by_role("group", name="Domains", exact=True)
    domains.get_by_label("Selected").check()
    domains.get_by_label("Search domains").fill("shop")
    expect(domains.get_by_label("acme.example", exact=True)).to_have_count(0)
    domains.get_by_label("acme-shop.example").check()
    shoot(page, "04-select-domain")
    page.get_by_role("button", name="Update token").click()
    expect(page.get_by_text("updated.")).to_be_visible()
    page.get_by_role("navigation", name="Main").last.get_by_role(
        "link", name="Personal tokens"
    ).click()
    expect(page.get_by_role("row").filter(has_text="Terraform (domains)")).to_contain_text(
        "Domains: acme-shop.example"
    )
    listed = api_get(page, live_server.url, domains_url, secret).json()["data"]
    assert [domain["name"] for domain in listed] == ["acme-shop.example"]

    changes = Event.objects.filter(kind=EventKind.TOKEN_UPDATED).order_by("created_at")
    assert [e.details["after"]["scopes"] for e in changes] == [["domains:read"], ["domains:read"]]
    assert changes[0].details["before"]["scopes"] == ["zones:read"]


def test_cancel_changes_nothing(page, live_server, demo, sign_in):
    new_member()
    sign_in(page, "newcomer@example.com", "correct horse battery staple")
    create_user_token(page, "Keep me", ["zones:read"])
    page.get_by_role("link", name="I have copied it, done").click()
    page.get_by_role("link", name="Edit Keep me").click()
    scope_box(page, "zones:read").uncheck()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Personal tokens")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Keep me")).to_contain_text("Read DNS zones")
