"""Support staff find a leaked token from its value in the admin and revoke it."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import User
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
