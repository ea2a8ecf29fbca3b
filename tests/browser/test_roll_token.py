"""Rolling a token's secret in the panel: a 1-hour grace, the one-time reveal, the row note."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.token_steps import (
    api_get,
    confirm_password,
    create_user_token,
    new_member,
    read_secret,
)


def test_roll_a_secret_with_a_one_hour_grace(page, live_server, demo, sign_in, shoot):
    new_member()
    sign_in(page, "newcomer@example.com", "correct horse battery staple")
    old_secret = create_user_token(page, "Build server", ["zones:read"])
    page.get_by_role("link", name="I have copied it, done").click()

    row = page.get_by_role("row").filter(has_text="Build server")
    row.get_by_role("link", name="Roll secret of Build server").click()
    if page.get_by_role("heading", name="Confirm your password").is_visible():
        confirm_password(page, "correct horse battery staple")
    expect(page.get_by_role("heading", name="Roll the secret of “Build server”")).to_be_visible()
    page.get_by_role("radio", name="1 hour").check()
    shoot(page, "01-choose-grace")
    page.get_by_role("button", name="Roll secret").click()

    expect(page.get_by_role("heading", name="New secret for “Build server”")).to_be_visible()
    new_secret = read_secret(page)
    assert new_secret != old_secret
    expect(page.get_by_text("The previous secret keeps working until")).to_be_visible()
    shoot(page, "02-reveal")
    assert api_get(page, live_server.url, "/api/v1/whoami", new_secret).status == 200
    assert api_get(page, live_server.url, "/api/v1/whoami", old_secret).status == 200

    page.reload()  # the reveal never shows the secret again
    expect(page.get_by_role("heading", name="The secret was already shown")).to_be_visible()
    page.get_by_role("link", name="Back to tokens").click()
    row = page.get_by_role("row").filter(has_text="Build server")
    expect(row).to_contain_text("Previous secret works until")
    expect(row).to_contain_text(f"kwu_…{new_secret[-4:]}")
    shoot(page, "03-row-note")
