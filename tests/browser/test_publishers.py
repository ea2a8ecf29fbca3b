"""A superuser adds a trusted publisher, tests a CI ID token against it, sees the token CI got
listed as minted by it, and deletes it (SPEC 18), in Chromium."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.token_steps import PHONE, confirm_password
from tokens.publishers.models import Publisher


@pytest.fixture
def issuer(oidc_issuer, settings):
    settings.KEYWARD_OIDC_INSECURE_ISSUERS = [oidc_issuer.issuer]
    return oidc_issuer


def _exchange(live_server, id_token: str) -> dict:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/oidc/exchange",
        data=json.dumps({"token": id_token}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        return json.loads(answer.read())["data"]


def test_add_test_and_delete_a_trusted_publisher(page, live_server, demo, sign_in, shoot, issuer):
    sign_in(page, "owner@example.com")
    nav = page.get_by_role("navigation", name="Main").last
    nav.get_by_role("link", name="Publishers").click()
    expect(page.get_by_role("heading", name="Trusted publishers", exact=True)).to_be_visible()
    expect(page.locator("#oidc-audience")).to_have_text("keyward")
    shoot(page, "01-empty")

    page.get_by_role("link", name="Add a trusted publisher").first.click()
    confirm_password(page, "keyward-demo")
    expect(page.get_by_role("heading", name="Add a trusted publisher")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Deploys from prod")
    page.get_by_label("Issuer", exact=True).fill(issuer.issuer)
    page.get_by_label("Repository", exact=True).fill("octo-org/octo-repo")
    page.get_by_label("Repository id").fill("74")
    page.get_by_label("Owner id").fill("65")
    page.get_by_label("Environment", exact=True).fill("prod")
    page.get_by_role("checkbox", name=re.compile(r"^zones:write")).check()
    page.get_by_label("Lifetime (minutes)").fill("10")
    shoot(page, "02-form")
    page.get_by_role("button", name="Add publisher").click()

    expect(page.get_by_text("Trusted publisher “Deploys from prod” added.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Deploys from prod"))
    expect(row).to_contain_text("octo-org/octo-repo")
    expect(row).to_contain_text("zones:write")
    assert Publisher.objects.get().lifetime_minutes == 10

    page.get_by_label("ID token or claims").fill(issuer.github_token(environment="staging"))
    page.get_by_role("button", name="Test").click()
    expect(page.get_by_text("does not match")).to_be_visible()
    environment = page.get_by_role("row", name=re.compile("^Environment"))
    expect(environment).to_contain_text("not held")
    expect(page.get_by_role("row", name=re.compile("^Repository id"))).to_contain_text("held")
    shoot(page, "03-tester")
    page.set_viewport_size(PHONE)
    shoot(page, "03-tester-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    minted = _exchange(live_server, issuer.github_token())
    assert minted["token"].startswith("kwa_")
    nav.get_by_role("link", name="Account tokens").click()
    expect(page.get_by_text(re.compile(r"Minted by Deploys from prod, run \d+"))).to_be_visible()
    shoot(page, "04-minted-by")

    nav.get_by_role("link", name="Publishers").click()
    page.get_by_role("link", name="Delete Deploys from prod").click()
    expect(page.get_by_role("heading", name="Delete “Deploys from prod”?")).to_be_visible()
    expect(page.get_by_text("1 token it minted that still works is revoked")).to_be_visible()
    page.get_by_role("button", name="Delete publisher").click()
    expect(page.get_by_text("Trusted publisher “Deploys from prod” deleted.")).to_be_visible()
    expect(page.get_by_role("heading", name="No trusted publishers yet")).to_be_visible()
    assert not Publisher.objects.exists()
