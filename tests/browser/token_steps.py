"""Steps the token browser tests share: a new member, the wizard, the reveal, the API."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from accounts.constants import Role
from accounts.models import Account
from tests.factories import PASSWORD, MembershipFactory, UserFactory

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def new_member(slug: str = "acme", role: str = Role.ENGINEER, email: str = "newcomer@example.com"):
    """A person who just joined the account (no tokens yet); password PASSWORD."""
    user = UserFactory(email=email, name="Nina Newcomer")
    MembershipFactory(user=user, account=Account.objects.get(slug=slug), role=role)
    return user


def scope_box(page: Page, scope: str):
    return page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(scope)} "))


def confirm_password(page: Page, password: str = PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Confirm password").click()


def start_wizard(page: Page, password: str = PASSWORD) -> None:
    """From any page: Personal tokens, Create token, and the password if asked."""
    page.get_by_role("navigation", name="Main").last.get_by_role(
        "link", name="Personal tokens"
    ).click()
    page.get_by_role("link", name="Create token").first.click()
    if page.get_by_role("heading", name="Confirm your password").is_visible():
        confirm_password(page, password)
    expect(page.get_by_role("heading", name="Create token")).to_be_visible()


def read_secret(page: Page) -> str:
    expect(page.get_by_text("It will only be shown once")).to_be_visible()
    secret = page.locator("#token-secret").inner_text().strip()
    assert re.fullmatch(r"kw[ua]_[0-9A-Za-z]{38}", secret), secret
    return secret


def api_get(page: Page, base_url: str, path: str, secret: str):
    """Call the API the way an integration would: a bearer header, no cookies."""
    request = page.context.request
    return request.get(
        f"{base_url}{path}",
        headers={"Authorization": f"Bearer {secret}", "Cookie": ""},
    )


def generate(page: Page) -> None:
    """From the filled wizard: Review token, then Generate token on the review."""
    page.get_by_role("button", name="Review token").click()
    expect(page.get_by_role("heading", name=re.compile("^Review "))).to_be_visible()
    page.get_by_role("button", name="Generate token").click()


def create_user_token(page: Page, name: str, scopes: list[str], password: str = PASSWORD) -> str:
    """Walk the wizard for a user token and return the revealed secret."""
    start_wizard(page, password)
    page.get_by_label("Name", exact=True).fill(name)
    for scope in scopes:
        scope_box(page, scope).check()
    generate(page)
    return read_secret(page)
