"""An ACME token from its template, through its review: it writes its challenge record and
nothing else. A viewer is not offered the template."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import Zone
from tests.browser.token_steps import DESKTOP, PHONE, read_secret, scope_box, start_wizard
from tokens.models import Token


def _both_widths(page, shoot, name: str) -> None:
    shoot(page, name)
    page.set_viewport_size(PHONE)
    shoot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_acme_token_from_its_template(page, live_server, demo, sign_in, shoot):
    sign_in(page, "engineer@example.com")
    start_wizard(page, "keyward-demo")
    page.get_by_role("link", name="ACME DNS-01 certificates").click()
    expect(scope_box(page, "zones:write")).to_be_checked()
    rule_1 = page.get_by_role("group", name="Rule 1")
    expect(rule_1.get_by_label("Record name (rule 1)")).to_have_value("_acme-challenge")
    expect(rule_1.get_by_label("TXT")).to_be_checked()
    expect(page.get_by_label("Record name (rule 2)")).to_have_value("_acme-challenge.*")
    chosen = page.locator(".template-card-chosen")
    expect(chosen).to_contain_text("ACME DNS-01 certificates")
    expect(chosen).to_contain_text("Chosen")
    zones = page.get_by_role("group", name="Zones", exact=True)
    zones.get_by_label("Selected").check()
    zones.get_by_label("acme.example", exact=True).check()
    page.get_by_label("IP allow-list (optional)").fill("127.0.0.1")
    _both_widths(page, shoot, "01-wizard-template")

    page.get_by_role("button", name="Review token").click()
    expect(page.get_by_role("heading", name="Review “ACME DNS-01”")).to_be_visible()
    review = page.get_by_role("region", name="What it will be able to do")
    expect(review.get_by_role("heading", name="In Acme Hosting")).to_be_visible()
    expect(review).to_contain_text("acme.example")
    expect(review).to_contain_text("Only TXT records named _acme-challenge or _acme-challenge.*")
    expect(review).to_contain_text("127.0.0.1")
    assert not Token.objects.filter(name="ACME DNS-01").exists()  # nothing made yet
    _both_widths(page, shoot, "02-review")
    page.get_by_role("button", name="Generate token").click()
    secret = read_secret(page)
    restated = page.get_by_role("region", name="What it can do")
    expect(restated).to_contain_text("Only TXT records named _acme-challenge or _acme-challenge.*")
    expect(restated).to_contain_text("acme.example")
    _both_widths(page, shoot, "03-reveal")
    assert Token.objects.get(display__endswith=secret[-4:]).record_rules == [
        {"name": "_acme-challenge", "types": ["TXT"]},
        {"name": "_acme-challenge.*", "types": ["TXT"]},
    ]

    zone = Zone.objects.filter(account__slug="acme").order_by("pk").first()
    url = f"{live_server.url}/api/v1/accounts/{zone.account_id}/zones/{zone.pk}/records"
    headers = {"Authorization": f"Bearer {secret}", "Cookie": ""}
    challenge = {"type": "TXT", "name": "_acme-challenge", "content": "dns-01-value"}
    created = page.context.request.post(url, headers=headers, data=challenge)
    assert created.status == 201, created.text()
    www = {"type": "A", "name": "www", "content": "203.0.113.7"}
    refused = page.context.request.post(url, headers=headers, data=www)
    assert refused.status == 403 and refused.json()["error"] == "record_not_allowed"


def test_a_viewer_is_not_offered_acme(page, live_server, demo, sign_in, shoot):
    sign_in(page, "viewer@example.com")
    start_wizard(page, "keyward-demo")
    templates = page.get_by_role("region", name="Start from a template")
    expect(templates.get_by_role("link", name="Read-only monitoring")).to_be_visible()
    expect(templates.get_by_role("link", name="ACME DNS-01 certificates")).to_have_count(0)
    expect(templates.get_by_role("link", name="CDN purge from CI")).to_have_count(0)
    expect(templates).to_contain_text(
        "ACME DNS-01 certificates is not for your role: none of your roles (user in Acme "
        "Hosting, user in Globex Corporation) can change DNS zones and records."
    )
    _both_widths(page, shoot, "viewer-templates")
