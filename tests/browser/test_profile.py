"""The profile page: the token count calmly; "Delete my account" is refused while tokens exist."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import User
from tests.factories import issue_user_token


def test_delete_my_account_lists_the_tokens_to_revoke_first(
    page, live_server, demo, sign_in, shoot
):
    viewer = User.objects.get(email="viewer@example.com")
    issue_user_token(viewer, name="grafana dashboard")
    sign_in(page, "viewer@example.com")

    # Below 1366 px the top bar's email gives way to a Profile link (as on phones).
    page.get_by_role("navigation", name="Main").last.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.get_by_text("You have 1 personal token.")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)  # no red box for just visiting
    shoot(page, "calm")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "calm-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_label("Your password").fill("keyward-demo")
    page.get_by_role("button", name="Delete my account").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your account was not deleted.")
    expect(alert).to_contain_text("You still have 1 personal token: “grafana dashboard”")
    expect(page.get_by_role("link", name="Go to your personal tokens")).to_be_visible()
    shoot(page, "blocked")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "blocked-phone")
    assert User.objects.filter(pk=viewer.pk).exists()


def test_a_person_without_tokens_deletes_their_account(page, live_server, demo, sign_in, shoot):
    sign_in(page, "billing@example.com")
    page.goto(f"{live_server.url}/profile/")
    page.get_by_label("Your password").fill("keyward-demo")
    shoot(page, "ready")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your account was deleted.")
    assert not User.objects.filter(email="billing@example.com").exists()


def test_the_profile_lists_recent_sign_ins(page, live_server, demo, sign_in, shoot):
    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/sudo/?next=/profile/")
    page.get_by_label("Password").fill("keyward-demo")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Recent sign-ins")).to_be_visible()
    table = page.get_by_role("table").filter(has_text="IP address")
    expect(table.get_by_role("row")).to_have_count(3)  # a header, sudo, the sign-in
    expect(table.get_by_role("row").nth(1)).to_contain_text("Password confirmed")
    expect(table.get_by_role("row").nth(2)).to_contain_text("127.0.0.1")
    shoot(page, "recent-sign-ins")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "recent-sign-ins-phone")
