"""Deleting a token: a confirmation naming it and its last use, then the API refuses it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.token_steps import DESKTOP, PHONE, api_get, create_user_token, new_member
from tokens.models import Event, EventKind, Token


def test_delete_a_token_and_the_api_answers_401(page, live_server, demo, sign_in, shoot):
    new_member()
    sign_in(page, "newcomer@example.com", "correct horse battery staple")
    secret = create_user_token(page, "Old laptop", ["zones:read"])
    assert api_get(page, live_server.url, "/api/v1/whoami", secret).status == 200
    page.get_by_role("link", name="I have copied it, done").click()
    create_secret = create_user_token(page, "CI", ["domains:read"])
    page.get_by_role("link", name="I have copied it, done").click()

    page.evaluate("window.keywardNoReload = true")
    row = page.get_by_role("row").filter(has_text="Old laptop")
    row.get_by_role("link", name="Delete Old laptop").click()
    confirm = page.get_by_role("row").filter(has_text="Delete “Old laptop”")
    expect(confirm).to_contain_text("will stop working")
    expect(confirm).to_contain_text("127.0.0.1")  # its last use
    shoot(page, "01-confirm")
    page.set_viewport_size(PHONE)
    shoot(page, "01-confirm-phone")
    page.set_viewport_size(DESKTOP)

    # Cancel brings the row back; Delete removes it without a page load.
    confirm.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("link", name="Delete Old laptop")).to_be_visible()
    page.get_by_role("link", name="Delete Old laptop").click()
    page.get_by_role("button", name="Delete token").click()
    expect(page.get_by_role("row").filter(has_text="Old laptop")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("“Old laptop”")
    assert page.evaluate("window.keywardNoReload") is True
    expect(page.get_by_role("row").filter(has_text="CI")).to_have_count(1)
    shoot(page, "02-deleted")

    response = api_get(page, live_server.url, "/api/v1/whoami", secret)
    assert response.status == 401
    assert response.json()["error"] == "invalid_token"
    assert api_get(page, live_server.url, "/api/v1/whoami", create_secret).status == 200
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED)
    assert event.details["revoked_by"] == "owner" and secret not in str(event.details)


def test_delete_without_javascript(browser, live_server, demo, shoot):
    user = new_member()
    from tests.factories import issue_user_token

    created = issue_user_token(user, "No-JS token", scopes=["zones:read"])
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/tokens/")
    page.get_by_role("link", name="Delete No-JS token").click()
    expect(page.get_by_role("heading", name="Delete “No-JS token”?")).to_be_visible()
    expect(page.get_by_text("Never", exact=True)).to_be_visible()
    shoot(page, "confirm-page")
    page.get_by_role("button", name="Delete token").click()
    expect(page.get_by_text("Token “No-JS token”")).to_be_visible()
    expect(page.get_by_role("heading", name="You have no personal tokens yet")).to_be_visible()
    shoot(page, "after")
    assert not Token.objects.filter(pk=created.token.pk).exists()
    context.close()
