"""The token page tells the whole truth (SPEC 13), as the demo's owner reads it in Chromium:
the ACME token's record rules, zone and address in words, "nothing" where it selects
nothing, and Delete on the page, which lands on the list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.token_steps import DESKTOP, PHONE


def test_the_acme_token_page_says_what_it_may_touch(page, live_server, demo, sign_in, shoot):
    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/tokens/")
    page.get_by_role("link", name="certbot on web1", exact=True).click()
    expect(page.get_by_role("heading", name="certbot on web1")).to_be_visible()

    acme = page.locator(".ability", has=page.get_by_role("heading", name="In Acme Hosting"))
    expect(acme).to_contain_text("Change DNS zones and records")
    expect(acme).to_contain_text("DNS zones: only acme.example")
    expect(acme).to_contain_text(
        "DNS records: only TXT records named _acme-challenge or _acme-challenge.*"
    )
    expect(acme).to_contain_text("Addresses: only 203.0.113.10/32 (its IP allow-list)")
    solo = page.locator(".ability", has=page.get_by_role("heading", name="In Solo Studio"))
    expect(solo).to_contain_text(
        "It can do nothing in Solo Studio: none of the DNS zones it selects is in this account."
    )
    expect(solo).not_to_contain_text("It may:")
    expect(page.get_by_text("0 selected")).to_have_count(0)
    shoot(page, "acme-token")
    page.set_viewport_size(PHONE)
    shoot(page, "acme-token-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Delete “certbot on web1”?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="certbot on web1")).to_be_visible()
    page.get_by_role("link", name="Delete", exact=True).click()
    page.get_by_role("button", name="Delete token").click()
    expect(page.get_by_role("heading", name="Personal tokens")).to_be_visible()
    expect(page.get_by_text("Token “certbot on web1”")).to_contain_text("deleted")
    expect(page.get_by_role("link", name="certbot on web1", exact=True)).to_have_count(0)
