"""An ACME token from its template: it writes its challenge record and nothing else."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import Zone
from tests.browser.token_steps import read_secret, scope_box, start_wizard
from tokens.models import Token


def test_acme_token_from_its_template(page, live_server, demo, sign_in):
    sign_in(page, "engineer@example.com")
    start_wizard(page, "keyward-demo")
    page.get_by_role("link", name="ACME DNS-01 certificates").click()
    expect(scope_box(page, "zones:write")).to_be_checked()
    rule_1 = page.get_by_role("group", name="Rule 1")
    expect(rule_1.get_by_label("Record name (rule 1)")).to_have_value("_acme-challenge")
    expect(rule_1.get_by_label("TXT")).to_be_checked()
    expect(page.get_by_label("Record name (rule 2)")).to_have_value("_acme-challenge.*")
    page.get_by_role("button", name="Generate token").click()
    secret = read_secret(page)
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
