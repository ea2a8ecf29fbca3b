"""A superuser adds a webhook endpoint, copies its secret, sends a test event that the
receiver verifies, reads the delivery log and redelivers (SPEC 19)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.token_steps import DESKTOP, PHONE, confirm_password
from tokens.models import Event
from tokens.webhooks.models import WebhookDelivery, WebhookEndpoint


def test_add_an_endpoint_send_a_test_event_and_redeliver(
    page, live_server, demo, sign_in, shoot, settings, webhook_receiver
):
    settings.KEYWARD_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    sign_in(page, "owner@example.com")
    page.get_by_role("navigation", name="Main").last.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(page.get_by_text("No webhook endpoint yet.")).to_be_visible()

    page.get_by_label("Endpoint URL").fill(webhook_receiver.url + "/keyward")
    page.get_by_role("checkbox", name=re.compile(r"^token\.created")).check()
    page.get_by_role("checkbox", name=re.compile(r"^token\.revoked")).check()
    shoot(page, "01-add")
    page.get_by_role("button", name="Add endpoint").click()
    confirm_password(page, "keyward-demo")

    expect(page.get_by_role("heading", name="Signing secret")).to_be_visible()
    expect(page.get_by_text("It will only be shown once.")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    webhook_receiver.secret = secret
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["token.revoked", "token.created"] or set(
        endpoint.event_types
    ) == {"token.created", "token.revoked"}
    assert Event.objects.filter(kind="webhook.created").count() == 1
    shoot(page, "02-secret")

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("Test event sent.")).to_be_visible()
    [delivered] = webhook_receiver.wait_for_deliveries(1)
    assert delivered.verified, delivered.error
    assert delivered.payload["type"] == "webhook.test"
    expect(page.locator("#webhook-secret")).to_have_count(0)  # shown once, never again
    log = page.get_by_role("table", name="Deliveries to this endpoint")
    expect(log.get_by_text("webhook.test")).to_be_visible()
    expect(log.get_by_text("200 delivered")).to_be_visible()
    shoot(page, "03-log")

    webhook_receiver.script(500)
    log.get_by_role("button", name=re.compile("^Redeliver webhook.test")).first.click()
    expect(page.get_by_text("Redelivery sent.")).to_be_visible()
    first, second = webhook_receiver.wait_for_deliveries(2)
    assert second.verified and second.headers["webhook-id"] == first.headers["webhook-id"]
    expect(log.get_by_text("500, failed")).to_be_visible()
    page.get_by_text("Attempts").first.click()
    expect(log.get_by_text("500").first).to_be_visible()
    assert WebhookDelivery.objects.count() == 2
    page.set_viewport_size(PHONE)
    shoot(page, "04-log-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Webhook endpoint disabled.")).to_be_visible()
    expect(page.get_by_text("Off", exact=True)).to_be_visible()
    page.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_text("No webhook endpoint yet.")).to_be_visible()
    kinds = list(
        Event.objects.filter(kind__startswith="webhook.")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["webhook.created", "webhook.updated", "webhook.deleted"]
