"""Two-factor authentication in Chromium (SPEC 16): an authenticator app, recovery codes,
passkeys through Chromium's virtual authenticator, sign-in and sudo with them."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from accounts.factors import engine
from accounts.models import User
from tokens.models import Event, EventKind

PASSWORD = "keyward-demo"


@pytest.fixture
def authenticator(page: Page):
    """A platform authenticator (Touch ID, Windows Hello…) in Chromium, through DevTools'
    WebAuthn domain: it keeps passkeys and verifies its person (no prompt)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    yield cdp, added["authenticatorId"]
    cdp.send("WebAuthn.disable")


def _password(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def _confirm_password(page: Page) -> None:
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm password").click()


def _code(totp: pyotp.TOTP, step: int = 0) -> str:
    """The app's code now (step 0) or for the next 30 seconds (accepted too: clock drift)."""
    return totp.at(time.time(), counter_offset=step)


def test_set_up_an_app_then_sign_in_with_a_code_and_a_recovery_code(
    page: Page, live_server, demo, shoot, tmp_path
):
    base = live_server.url
    _password(page, base, "engineer@example.com")
    page.goto(f"{base}/profile/")
    page.get_by_role("link", name="Security: two-factor and passkeys").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_contain_text("Off")
    page.get_by_role("link", name="Set up an authenticator app").click()
    _confirm_password(page)

    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    shoot(page, "totp-setup")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "totp-setup-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    totp = pyotp.TOTP(page.get_by_label("Setup key").inner_text().replace(" ", ""))

    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    assert not User.objects.get(email="engineer@example.com").has_second_factor

    page.get_by_label("Code from the app").fill(_code(totp))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Your recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    shown = [text.strip() for text in codes.all_inner_texts()]
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as text").click()
    download = download_info.value
    assert download.suggested_filename == "keyward-recovery-codes.txt"
    saved = tmp_path / "codes.txt"
    download.save_as(saved)
    assert all(code in saved.read_text() for code in shown)
    shoot(page, "recovery-codes")
    page.reload()  # shown once: never again
    expect(page.get_by_text("Your recovery codes were shown once")).to_be_visible()
    page.get_by_role("link", name="Back to security").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_contain_text("On")
    shoot(page, "security-on")

    # Sign in: the password, then a code from the app
    _sign_out(page)
    _password(page, base, "engineer@example.com")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_label("Code").fill("123456")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    page.get_by_label("Code").fill(_code(totp, 1))
    shoot(page, "sign-in-code")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "sign-in-code-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Acme Hosting")).to_be_visible()

    # A recovery code works once
    for attempt in range(2):
        _sign_out(page)
        _password(page, base, "engineer@example.com")
        page.get_by_label("Code").fill(shown[0])
        page.get_by_role("button", name="Verify").click()
        if attempt == 0:
            expect(page.get_by_role("heading", name="Acme Hosting")).to_be_visible()
        else:
            expect(page.get_by_role("alert")).to_contain_text("used already")
    person = User.objects.get(email="engineer@example.com")
    assert Event.objects.filter(actor_user=person, kind=EventKind.RECOVERY_CODE_USED).count() == 1


def test_add_a_passkey_sign_in_with_it_and_pass_sudo_with_it(
    page: Page, live_server, demo, shoot, authenticator
):
    base = live_server.url
    refused: list[str] = []  # the CSP stays strict: nothing on these pages breaks it
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    _password(page, base, "viewer@example.com")
    page.goto(f"{base}/security/")
    page.get_by_role("link", name="Add a passkey").click()
    _confirm_password(page)
    expect(page.get_by_role("heading", name="Add a passkey or security key")).to_be_visible()
    page.get_by_label("Name").fill("Test laptop")
    shoot(page, "passkey-add")
    page.get_by_role("button", name="Add passkey").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()  # first factor
    expect(page.get_by_role("status")).to_contain_text("“Test laptop” added.")
    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row", name=re.compile("Test laptop"))
    expect(row).to_contain_text("Passkey")
    expect(row).to_contain_text("Never")
    shoot(page, "security-page")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "security-page-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # Sign in with the passkey alone
    _sign_out(page)
    shoot(page, "sign-in-with-passkey")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "sign-in-with-passkey-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="Acme Hosting")).to_be_visible()
    person = User.objects.get(email="viewer@example.com")
    sign_in = Event.objects.filter(actor_user=person, kind=EventKind.SIGN_IN).latest("id")
    assert sign_in.details == {"method": "passkey"}

    # Sudo mode asks for the passkey (not the password), then goes on to the wizard
    page.goto(f"{base}/tokens/new/")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)
    shoot(page, "sudo-passkey")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "sudo-passkey-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("button", name="Use your passkey or security key").click()
    expect(page.get_by_role("heading", name="Create token")).to_be_visible()
    sudo = Event.objects.filter(actor_user=person, kind=EventKind.SUDO).latest("id")
    assert sudo.details == {"method": "passkey"}

    # Remove it; a removed key no longer signs in (the device still offers it)
    page.goto(f"{base}/security/")
    page.get_by_role("link", name="Remove Test laptop").click()
    expect(page.get_by_text("It is your last second factor")).to_be_visible()
    page.get_by_role("button", name="Remove passkey").click()
    expect(page.get_by_role("status")).to_contain_text("Two-factor authentication is off.")
    assert not engine.Authenticator.objects.filter(user=person).exists()
    _sign_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("That passkey was not accepted")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert refused == []


def test_removing_a_factor_outside_sudo_is_done_right_after_confirming(
    page: Page, live_server, demo
):
    """The remove button sends the person through sudo mode; they do not press it twice."""
    base = live_server.url
    person = User.objects.get(email="mfa@example.com")
    app = engine.Authenticator.objects.get(user=person, type="totp")
    totp = pyotp.TOTP(engine.totp_secret_of(app))
    _password(page, base, "mfa@example.com")
    page.get_by_label("Code").fill(_code(totp))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Acme Hosting")).to_be_visible()

    page.goto(f"{base}/security/")
    page.get_by_role("link", name="Remove the authenticator app").click()
    page.get_by_role("button", name="Remove authenticator app").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Code").fill(_code(totp, 1))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Removed the authenticator app.")
    assert not engine.Authenticator.objects.filter(user=person).exists()


def test_the_second_factor_pages_pass_axe(browser, live_server, demo):
    """The step after the password and sudo with a factor: no serious axe violation, at
    1280 and 390 px (the crawl of test_accessibility covers the pages of people without one)."""
    from tests.browser.test_accessibility import _axe

    base = live_server.url
    totp = pyotp.TOTP(
        engine.totp_secret_of(
            engine.Authenticator.objects.get(user__email="mfa@example.com", type="totp")
        )
    )
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        _password(page, base, "mfa@example.com")
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 860})
            assert _axe(page) == [], f"second step at {width} px"
        page.get_by_label("Code").fill(_code(totp))
        page.get_by_role("button", name="Verify").click()
        page.goto(f"{base}/sudo/?next=/security/")
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 860})
            assert _axe(page) == [], f"sudo with a code at {width} px"
    finally:
        context.close()
