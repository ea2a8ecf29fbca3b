"""The event log after API work: the channel in words, the acting token, a compact phone layout."""

from __future__ import annotations

import base64
import statistics

from playwright.sync_api import expect

from accounts.models import Account, Membership, User, Zone
from accounts.services.members import membership_change_role
from tests.factories import issue_automation_token, issue_user_token
from tokens.events import Actor

PASSWORD = "keyward-demo"


def _api(page, live_server, method: str, path: str, authorization: str, data=None):
    return page.request.fetch(
        f"{live_server.url}/api/v1{path}",
        method=method,
        headers={"Authorization": authorization},
        data=data,
    )


def _api_work(page, live_server) -> None:
    """What a day of automation leaves in acme's log: a token made with a password, writes."""
    owner = User.objects.get(email="owner@example.com")
    acme = Account.objects.get(slug="acme")
    zone = Zone.objects.get(account=acme, name="acme.example")
    basic = "Basic " + base64.b64encode(f"{owner.email}:{PASSWORD}".encode()).decode()
    made = _api(
        page,
        live_server,
        "POST",
        "/tokens",
        basic,
        {"name": "laptop (curl)", "scopes": ["zones:read"]},
    )
    assert made.status == 201, made.text()

    laptop = issue_user_token(owner, name="release script", scopes=["zones:write"])
    bot = issue_automation_token(acme, name="dns bot", creator=owner, scopes=["zones:write"])
    records = f"/accounts/{acme.pk}/zones/{zone.pk}/records"
    for secret, name in ((laptop.secret, "release"), (bot.secret, "canary")):
        body = {"type": "A", "name": name, "content": "203.0.113.80", "ttl": 300}
        answer = _api(page, live_server, "POST", records, f"Bearer {secret}", body)
        assert answer.status == 201, answer.text()


def test_the_log_says_how_each_event_came_in(page, live_server, demo, sign_in, shoot):
    _api_work(page, live_server)
    owner = User.objects.get(email="owner@example.com")
    viewer = Membership.objects.get(user__email="viewer@example.com", account__slug="acme")
    membership_change_role(actor=Actor.person(owner), membership=viewer, role="engineer")
    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/a/acme/events/")
    expect(page.get_by_role("heading", name="Event log")).to_be_visible()

    rows = page.get_by_role("row")
    created = rows.filter(has_text="laptop (curl)").filter(has_text="Token created")
    expect(created.get_by_role("cell").nth(1)).to_contain_text("API, password")
    write = rows.filter(has_text="API write").filter(has_text="dns bot").first
    expect(write.get_by_role("cell").nth(1)).to_contain_text("API, automation token")
    expect(write.get_by_role("cell").nth(3)).to_contain_text("dns bot")  # the Token column
    personal = rows.filter(has_text="API write").filter(has_text="release script").first
    expect(personal.get_by_role("cell").nth(1)).to_contain_text("API, personal token")
    expect(personal.get_by_role("cell").nth(3)).to_contain_text("release script")
    seeded = rows.filter(has_text="Token created").filter(has_text="CI deploys").first
    expect(seeded.get_by_role("cell").nth(1)).to_contain_text("command")
    shoot(page, "event-log")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    cards = page.locator(".event-table > tbody > tr").all()
    heights = [box["height"] for box in (card.bounding_box() for card in cards) if box]
    assert len(heights) == len(cards) > 10
    # A card per event: when, kind, who and channel, summary, token; not ~330 px each.
    shoot(page, "event-log-phone")
    page.locator("#event-results").scroll_into_view_if_needed()
    page.locator("#event-results").evaluate("section => section.scrollIntoView()")
    shoot(page, "event-log-phone-cards", full_page=False)
    assert statistics.median(heights) <= 135, heights
    assert max(heights) <= 190, heights
    expect(write).to_contain_text("API, automation token")
    changed = page.locator(".event-table > tbody > tr").filter(has_text="Role changed")
    changed.get_by_text("Before and after").click()
    expect(changed.get_by_role("cell", name="engineer", exact=True)).to_be_visible()
    changed.scroll_into_view_if_needed()
    shoot(page, "event-log-phone-changes", full_page=False)
