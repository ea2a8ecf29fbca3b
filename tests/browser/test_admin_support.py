"""Support staff find a leaked token from its value in the admin and revoke it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Account, User
from tests.factories import issue_user_token
from tokens.models import Event, EventKind, Token


def test_support_finds_a_leaked_token_and_revokes_it(page, live_server, demo, shoot):
    User.objects.create_superuser("support@keyward.test", "support-password")
    leaked = issue_user_token(User.objects.get(email="viewer@example.com"), name="leaked in a gist")
    whoami = f"{live_server.url}/api/v1/whoami"
    auth = {"Authorization": f"Bearer {leaked.secret}"}
    assert page.request.get(whoami, headers=auth).status == 200

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Email").fill("support@keyward.test")
    page.get_by_label("Password").fill("support-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Tokens", exact=True).first.click()
    page.get_by_role("link", name="Find by token value").click()
    page.get_by_label("Token value").fill(leaked.secret)
    shoot(page, "find")
    page.get_by_role("button", name="Find token").click()

    expect(page.get_by_text("Found “leaked in a gist”")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="leaked in a gist")).to_have_count(1)
    assert leaked.secret not in page.url
    assert leaked.secret not in page.content()
    shoot(page, "found")

    page.get_by_role("row").filter(has_text="leaked in a gist").get_by_role("checkbox").check()
    page.get_by_role("combobox", name="Action").select_option(label="Revoke selected tokens")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("Revoked 1 token.")).to_be_visible()
    shoot(page, "revoked")

    assert not Token.objects.filter(pk=leaked.token.pk).exists()
    assert page.request.get(whoami, headers=auth).status == 401
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED, token_id=leaked.token.pk)
    assert event.actor_kind == "support"

    page.goto(f"{live_server.url}/admin/tokens/event/?kind=token.revoked")
    expect(page.get_by_text("revoked by support staff").first).to_be_visible()
    shoot(page, "event-admin")


def test_a_token_pasted_in_the_search_box_goes_by_post_not_into_the_url(
    page, live_server, demo, shoot
):
    User.objects.create_superuser("support@keyward.test", "support-password")
    leaked = issue_user_token(User.objects.get(email="viewer@example.com"), name="pasted in search")
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))

    page.goto(f"{live_server.url}/admin/tokens/token/")
    page.get_by_label("Email").fill("support@keyward.test")
    page.get_by_label("Password").fill("support-password")
    page.get_by_role("button", name="Log in").click()
    page.locator("#searchbar").fill(leaked.secret)
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_text("Found “pasted in search”")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="pasted in search")).to_have_count(1)
    assert not any(leaked.secret in address for address in addresses)
    assert leaked.secret not in page.content()
    shoot(page, "found-from-search-box")


def _both_widths(page, shoot, name: str) -> None:
    """Screenshots at desktop (1280 px) and phone (390 px) width; the page stays at 1280."""
    shoot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 860})


def test_support_revokes_from_the_token_page_and_finds_it_revoked(page, live_server, demo, shoot):
    User.objects.create_superuser("support@keyward.test", "support-password")
    leaked = issue_user_token(
        User.objects.get(email="viewer@example.com"),
        name="leaked in a gist",
        scopes=["zones:read", "certificates:read"],
    )
    Token.objects.filter(pk=leaked.token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3), last_used_ip="203.0.113.7"
    )
    acme = Account.objects.get(slug="acme")
    acme.max_idle_days = 7  # the demo's automation tokens, idle a month: blocked by policy
    acme.save(update_fields=["max_idle_days"])
    a_month_ago = timezone.now() - timedelta(days=30)
    Token.objects.filter(account=acme).update(created_at=a_month_ago, last_used_at=a_month_ago)
    whoami = f"{live_server.url}/api/v1/whoami"
    auth = {"Authorization": f"Bearer {leaked.secret}"}

    page.goto(f"{live_server.url}/admin/tokens/token/")
    page.get_by_label("Email").fill("support@keyward.test")
    page.get_by_label("Password").fill("support-password")
    page.get_by_role("button", name="Log in").click()
    row = page.get_by_role("row").filter(has_text="leaked in a gist")
    expect(row).to_contain_text("Read DNS zones and records")
    expect(row).to_contain_text("203.0.113.7")
    expect(row).to_contain_text("Active")
    expect(page.get_by_role("row").filter(has_text="CI deploys")).to_contain_text(
        "Blocked by policy"
    )
    expect(page.get_by_role("row").filter(has_text="Old deploy script")).to_contain_text("Expired")
    _both_widths(page, shoot, "token-list")

    row.get_by_role("link", name="leaked in a gist").click()
    expect(page.get_by_text("Acme Hosting").first).to_be_visible()  # the account it acts in
    expect(page.get_by_role("heading", name="Recent events")).to_be_visible()
    expect(page.get_by_text("Token created")).to_be_visible()
    _both_widths(page, shoot, "token-page")

    page.get_by_role("link", name="Revoke", exact=True).click()
    expect(page.get_by_role("heading", name="Revoke “leaked in a gist”?")).to_be_visible()
    page.get_by_label("Why (optional, kept in the event log)").fill("ticket 4521: pasted in a gist")
    _both_widths(page, shoot, "revoke-confirmation")
    page.get_by_role("button", name="Revoke token").click()

    expect(page.get_by_text("Revoked “leaked in a gist”")).to_be_visible()
    assert not Token.objects.filter(pk=leaked.token.pk).exists()
    assert page.request.get(whoami, headers=auth).status == 401
    event = Event.objects.get(kind=EventKind.TOKEN_REVOKED, token_id=leaked.token.pk)
    assert event.actor_kind == "support"
    assert event.details["note"] == "ticket 4521: pasted in a gist"

    page.get_by_role("link", name="Revoked tokens").click()
    revoked_row = page.get_by_role("row").filter(has_text="leaked in a gist")
    expect(revoked_row).to_contain_text("support staff (support: support@keyward.test)")
    expect(revoked_row).to_contain_text("ticket 4521")
    _both_widths(page, shoot, "revoked-view")

    page.goto(f"{live_server.url}/admin/tokens/token/find/")
    page.get_by_label("Token value").fill(leaked.secret)
    page.get_by_role("button", name="Find token").click()
    expect(page.get_by_text("This token was revoked on")).to_contain_text(
        "by support staff (support: support@keyward.test)"
    )
    assert leaked.secret not in page.content()
    _both_widths(page, shoot, "find-revoked")

    page.goto(f"{live_server.url}/admin/tokens/event/")
    _both_widths(page, shoot, "event-list")
