"""The top bar is right on every page: an account's pages show that account, the others
(Personal tokens, Profile) the account chosen in the switcher, whatever was visited since."""

from __future__ import annotations

from playwright.sync_api import expect


def _wide_nav(page):
    return page.get_by_role("navigation", name="Main").last


def test_visiting_another_account_does_not_move_the_switcher(page, live_server, demo, sign_in):
    sign_in(page, "owner@example.com")  # lands on Acme Hosting, where they are superuser
    switcher = page.locator("#switcher-name")
    expect(switcher).to_have_text("Acme Hosting")

    # From a token's page to Solo Studio's plan (owner is an engineer there).
    page.goto(f"{live_server.url}/tokens/")
    page.get_by_role("link", name="certbot on web1", exact=True).click()
    page.get_by_role("link", name="Solo plan").click()
    expect(switcher).to_have_text("Solo Studio")
    expect(_wide_nav(page).get_by_role("link", name="Account tokens")).to_have_count(0)

    for link in ("Personal tokens", "Profile"):
        _wide_nav(page).get_by_role("link", name=link).click()
        expect(switcher).to_have_text("Acme Hosting")
        expect(_wide_nav(page).get_by_role("link", name="Account tokens")).to_be_visible()

    # The switcher itself moves it, and every account-less page follows.
    page.locator(".switcher > summary").click()
    page.get_by_role("menuitem", name="Solo Studio").click()
    expect(switcher).to_have_text("Solo Studio")
    _wide_nav(page).get_by_role("link", name="Personal tokens").click()
    expect(switcher).to_have_text("Solo Studio")
    expect(_wide_nav(page).get_by_role("link", name="Account tokens")).to_have_count(0)
    page.locator(".switcher > summary").click()
    page.get_by_role("menuitem", name="Acme Hosting").click()
    _wide_nav(page).get_by_role("link", name="Profile").click()
    expect(_wide_nav(page).get_by_role("link", name="Account tokens")).to_be_visible()
