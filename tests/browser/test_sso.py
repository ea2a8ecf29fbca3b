"""Single sign-on in Chromium against the real OpenID provider (SPEC 17).

The superuser of Globex (enterprise) sets SSO up, tests it and forces it; a member in a
password session sees only "requires single sign-on" and their token is refused; they
sign in with SSO, authorize the token, and it works. Then the ways it must fail.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Account, User
from accounts.sso.models import AccountSso
from accounts.sso.services import sso_configure, sso_test_passed
from tests.browser.token_steps import (
    DESKTOP,
    PHONE,
    api_get,
    confirm_password,
    create_user_token,
)
from tests.factories import issue_user_token
from tokens.events import Actor
from tokens.models import Event, EventKind

IDP_PASSWORD = "idp-password"


@pytest.fixture
def idp(oidc_provider, live_server, settings):
    """The provider knows Keyward as a client and the demo people; Globex's seeded SSO is gone."""
    settings.KEYWARD_OIDC_INSECURE_ISSUERS = [oidc_provider.issuer]
    client = oidc_provider.add_client(
        redirect_uris=[f"{live_server.url}/accounts/oidc/*/login/callback/"]
    )
    for email in ("owner@example.com", "engineer@example.com", "stranger@example.com"):
        oidc_provider.add_user(email, IDP_PASSWORD)
    AccountSso.objects.filter(account__slug="globex").delete()
    return client


def both_widths(page: Page, shoot, name: str) -> None:
    """A screenshot at 1280 and at 390 px."""
    for size, suffix in ((DESKTOP, "1280"), (PHONE, "390")):
        page.set_viewport_size(size)
        shoot(page, f"{name}-{suffix}")
    page.set_viewport_size(DESKTOP)


def at_the_provider(page: Page, email: str, password: str = IDP_PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_set_up_test_force_then_a_member_authorizes_a_token(
    page, browser, live_server, demo, idp, oidc_provider, sign_in, shoot
):
    globex = Account.objects.get(slug="globex")
    engineer = User.objects.get(email="engineer@example.com")
    laptop = issue_user_token(engineer, name="Laptop CLI for Globex", scopes=["zones:read"])

    # The superuser sets SSO up: the settings, behind the password.
    sign_in(page, "owner@example.com")
    page.goto(f"{live_server.url}/a/globex/policies/")
    page.get_by_role("link", name="single sign-on page").click()
    expect(page.get_by_role("heading", name="Single sign-on", exact=True)).to_be_visible()
    expect(page.get_by_text("Not set up")).to_be_visible()
    page.get_by_label("Issuer URL").fill(oidc_provider.issuer)
    page.get_by_label("Client ID").fill(idp.client_id)
    page.get_by_label("Client secret").fill(idp.client_secret)
    page.get_by_label("Email domains").fill("example.com")
    page.get_by_role("button", name="Save settings").click()
    confirm_password(page, "keyward-demo")
    expect(page.get_by_text("Single sign-on settings saved.")).to_be_visible()
    expect(page.get_by_text("Not tested")).to_be_visible()
    expect(page.get_by_label("Client secret")).to_have_value("")
    expect(page.get_by_text("/accounts/oidc/sso-globex/login/callback/")).to_be_visible()
    assert idp.client_secret not in page.content()

    # Test sign-in: the whole flow, for the superuser; it switches SSO on.
    page.get_by_role("button", name="Test sign-in").click()
    at_the_provider(page, "owner@example.com")
    expect(page.get_by_text("Test sign-in worked")).to_be_visible()
    expect(page.get_by_text("On", exact=True)).to_be_visible()
    assert AccountSso.objects.get(account=globex).enabled

    # Force SSO: a preview of the tokens it would block, then on.
    page.get_by_role("button", name="Force SSO…").click()
    preview = page.get_by_role("heading", name=re.compile("would need SSO authorization"))
    expect(preview).to_be_visible()
    expect(page.get_by_text("Laptop CLI for Globex")).to_be_visible()
    both_widths(page, shoot, "sso-page-force-preview")
    page.get_by_role("button", name="Force SSO", exact=True).click()
    expect(page.get_by_text("Globex Corporation requires single sign-on.")).to_be_visible()
    both_widths(page, shoot, "sso-page")
    globex.refresh_from_db()
    assert globex.force_sso
    assert Event.objects.filter(kind=EventKind.SSO_CHANGED, account=globex).count() == 3

    # A member in a password session: only the page asking for SSO; their token is refused.
    member = browser.new_page(base_url=live_server.url)
    sign_in(member, "engineer@example.com")
    member.goto(f"{live_server.url}/a/globex/")
    expect(
        member.get_by_role("heading", name="Globex Corporation requires single sign-on")
    ).to_be_visible()
    both_widths(member, shoot, "sso-required")
    zones = f"/api/v1/accounts/{globex.pk}/zones"
    refused = api_get(member, live_server.url, zones, laptop.secret)
    assert refused.status == 403
    assert (refused.json()["error"], refused.json()["policy"]) == (
        "policy_violation",
        "sso_required",
    )

    # Through SSO, then back where they were going.
    member.get_by_role("button", name="Sign in with SSO").click()
    at_the_provider(member, "engineer@example.com")
    expect(member).to_have_url(f"{live_server.url}/a/globex/")
    expect(
        member.get_by_role("heading", name="Globex Corporation requires single sign-on")
    ).to_have_count(0)

    # The token says it needs authorization; the owner authorizes it; it works.
    member.goto(f"{live_server.url}/tokens/{laptop.token.pk}/")
    needs = member.get_by_text("Needs SSO authorization for Globex Corporation")
    expect(member.locator(".sso-need").get_by_text("Needs SSO authorization for")).to_be_visible()
    # The header, the Single sign-on card and What it can do in Globex all say it.
    expect(needs).to_have_count(3)
    both_widths(member, shoot, "sso-token-authorize")
    member.get_by_role("button", name="Authorize for SSO").click()
    expect(member.get_by_text("now works in Globex Corporation under its SSO")).to_be_visible()
    expect(needs).to_have_count(0)
    assert api_get(member, live_server.url, zones, laptop.secret).status == 200

    # A token created in this session (it came through Globex's SSO) works there at once.
    fresh = create_user_token(member, "Made after SSO", ["zones:read"], password="keyward-demo")
    assert api_get(member, live_server.url, zones, fresh).status == 200
    member.close()


@pytest.fixture
def globex_sso(idp, oidc_provider, demo):
    globex = Account.objects.get(slug="globex")
    owner = User.objects.get(email="owner@example.com")
    sso_configure(
        actor=Actor.person(owner),
        account=globex,
        issuer=oidc_provider.issuer,
        client_id=idp.client_id,
        client_secret=idp.client_secret,
        domains=["example.com"],
    )
    sso_test_passed(actor=Actor.person(owner), account=globex)
    return globex


def start_sso_sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_role("link", name="Sign in with SSO").click()
    expect(page.get_by_role("heading", name="Sign in with SSO")).to_be_visible()
    page.get_by_label("Work email").fill(email)
    page.get_by_role("button", name="Sign in with SSO").click()


def test_sign_in_with_sso_from_the_sign_in_page(page, live_server, globex_sso, shoot):
    page.goto(f"{live_server.url}/sign-in/sso/")
    both_widths(page, shoot, "sso-sign-in")
    start_sso_sign_in(page, live_server, "owner@example.com")
    at_the_provider(page, "owner@example.com")
    expect(page.get_by_role("heading", name="Globex Corporation")).to_be_visible()
    signed_in = Event.objects.filter(kind=EventKind.SIGN_IN, actor_user__email="owner@example.com")
    assert signed_in.get().details["method"] == "sso"


def test_an_unknown_domain_a_stranger_and_a_tampered_state_change_nothing(
    page, live_server, globex_sso, oidc_provider, shoot
):
    start_sso_sign_in(page, live_server, "someone@elsewhere.example")
    expect(page.get_by_text("No account signs in elsewhere.example addresses")).to_be_visible()

    users = User.objects.count()
    start_sso_sign_in(page, live_server, "stranger@example.com")
    at_the_provider(page, "stranger@example.com")
    expect(page.get_by_role("heading", name="Not a member of Globex Corporation")).to_be_visible()
    expect(page.get_by_text("Single sign-on never adds anyone")).to_be_visible()
    shoot(page, "not-a-member")
    assert User.objects.count() == users

    # The state altered on its way through the browser: the provider sends it back as given,
    # and Keyward does not know it (a new browser session: the provider would otherwise
    # remember the stranger).
    page.context.clear_cookies()
    authorize = oidc_provider.endpoint("authorization")
    page.route(
        re.compile(re.escape(authorize) + r"\?.*"),
        lambda route: route.continue_(url=route.request.url.replace("state=", "state=tampered")),
    )
    start_sso_sign_in(page, live_server, "owner@example.com")
    at_the_provider(page, "owner@example.com")
    expect(page.get_by_text("does not belong to a sign-in started in this browser")).to_be_visible()
    shoot(page, "tampered-state")
    assert not Event.objects.filter(kind=EventKind.SIGN_IN).exists()
