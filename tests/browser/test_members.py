"""A superuser changes a member's role; the member's token follows on the very next API call."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from accounts.models import User, Zone
from tests.factories import issue_user_token


def _add_record(page, live_server, secret: str, account_id: int, zone_id: int, name: str):
    return page.request.post(
        f"{live_server.url}/api/v1/accounts/{account_id}/zones/{zone_id}/records",
        headers={"Authorization": f"Bearer {secret}"},
        data={"type": "A", "name": name, "content": "203.0.113.80", "ttl": 300},
    )


def test_demoting_a_member_takes_write_access_from_their_token(
    page, live_server, demo, sign_in, shoot
):
    engineer = User.objects.get(email="engineer@example.com")
    zone = Zone.objects.filter(account__slug="acme").order_by("name").first()
    secret = issue_user_token(engineer, name="deploy script", scopes=["zones:write"]).secret

    before = _add_record(page, live_server, secret, zone.account_id, zone.pk, "before")
    assert before.status == 201, before.text()

    sign_in(page, "owner@example.com")
    page.get_by_role("navigation", name="Main").last.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="engineer@example.com")
    expect(row).to_contain_text("Engineer")
    shoot(page, "members")

    row.get_by_label("Role of engineer@example.com").select_option(label="User")
    row.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_contain_text("engineer@example.com is now user.")
    expect(
        page.get_by_role("row").filter(has_text="engineer@example.com").get_by_role("combobox")
    ).to_have_value("user")
    shoot(page, "members-after-change")

    after = _add_record(page, live_server, secret, zone.account_id, zone.pk, "after")
    assert after.status == 403
    assert after.json()["error"] == "insufficient_scope"
    assert after.json()["required_scope"] == "zones:write"
    # Reading is still within the user role.
    reads = page.request.get(
        f"{live_server.url}/api/v1/accounts/{zone.account_id}/zones/{zone.pk}/records",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert reads.status == 200

    page.get_by_role("navigation", name="Main").last.get_by_role("link", name="Event log").click()
    expect(page.get_by_role("heading", name="Event log")).to_be_visible()
    expect(
        page.get_by_text("changed the role of engineer@example.com from engineer to user")
    ).to_be_visible()
    shoot(page, "event-log")

    # Filtering swaps the results in place (htmx) and keeps the filter in the URL.
    # (Sign-ins belong to the person, not the account: SPEC 9 keeps them out of this log.)
    page.get_by_label("What").select_option(label="Token created")
    expect(page).to_have_url(re.compile(r"kind=token\.created"))
    expect(page.get_by_text("changed the role of engineer@example.com")).to_have_count(0)
    expect(page.get_by_text("signed in")).to_have_count(0)

    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "event-log-phone")
    page.goto(f"{live_server.url}/a/acme/members/")
    shoot(page, "members-phone")


def test_the_last_superuser_cannot_demote_themselves(page, live_server, demo, sign_in):
    sign_in(page, "solo@example.com")
    page.goto(f"{live_server.url}/a/solo/members/")
    row = page.get_by_role("row").filter(has_text="solo@example.com")
    row.get_by_label("Role of solo@example.com").select_option(label="Engineer")
    row.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status"))).to_contain_text(
        "only superuser of Solo Studio"
    )
