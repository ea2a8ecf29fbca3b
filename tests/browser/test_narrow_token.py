"""Least privilege (SPEC 13): a token used for zones:read only is narrowed to it in three clicks."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import Account, User
from tests.browser.token_steps import DESKTOP, PHONE, api_get, scope_box
from tests.factories import issue_user_token


def test_narrow_a_global_token_to_what_it_used(page, live_server, demo, sign_in, shoot):
    acme = Account.objects.get(slug="acme")
    zones = f"/api/v1/accounts/{acme.pk}/zones"
    owner = User.objects.get(email="owner@example.com")
    secret = issue_user_token(owner, name="Nightly DNS export").secret  # global
    for _ in range(3):
        assert api_get(page, live_server.url, zones, secret).status == 200

    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/tokens/")
    page.get_by_role("link", name="Nightly DNS export", exact=True).click()  # 1
    expect(page.get_by_role("heading", name="What it can do")).to_be_visible()
    # Used today only: its day in a table (a chart of one bar would say less).
    used = page.locator("table.usage-days tbody tr")
    expect(used).to_have_count(1)
    expect(used).to_contain_text("Read DNS zones and records")
    expect(used.get_by_role("cell").nth(2)).to_have_text("3")
    shoot(page, "01-token-page")
    page.set_viewport_size(PHONE)
    shoot(page, "01-token-page-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Narrow to what it used").click()  # 2
    expect(scope_box(page, "zones:read")).to_be_checked()
    expect(scope_box(page, "global")).not_to_be_checked()
    shoot(page, "02-narrowed-edit")
    page.get_by_role("button", name="Update token").click()  # 3
    expect(page.get_by_text("Token “Nightly DNS export” updated.")).to_be_visible()

    assert api_get(page, live_server.url, zones, secret).status == 200
    write = page.context.request.post(
        f"{live_server.url}{zones}/{acme.zones.first().pk}/records",
        headers={"Authorization": f"Bearer {secret}", "Cookie": ""},
        data={"type": "A", "name": "x", "content": "203.0.113.8"},
    )
    assert write.status == 403
    assert write.json()["required_scope"] == "zones:write"
