"""The webhook receiver the webhook tests deliver to (tests/support/receiver.py).

Payloads are signed here with standardwebhooks' own Webhook.sign, as Keyward signs them,
and posted over real HTTP.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook

from tests.support.servers import Answer

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed(body: bytes, *, secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for `body`."""
    message_id = f"msg_{secrets.token_hex(8)}"
    timestamp = at or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, timestamp, body),
        "content-type": "application/json",
    }


def event(kind: str = "token.created") -> bytes:
    payload = {"type": kind, "timestamp": datetime.now(UTC).isoformat(), "data": {"id": 7}}
    return json.dumps(payload).encode()


def test_a_signed_delivery_is_verified_and_answered_200(webhook_receiver):
    webhook_receiver.secret = SECRET
    body = event()

    answer = httpx.post(f"{webhook_receiver.url}/hook", content=body, headers=signed(body))

    assert answer.status_code == 200
    (delivery,) = webhook_receiver.wait_for_deliveries(1)
    assert delivery.verified and delivery.error is None
    assert delivery.status == 200
    assert delivery.request.path == "/hook"
    assert delivery.body == body
    assert delivery.payload["type"] == "token.created"
    assert delivery.headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda body, headers: (body.replace(b"7", b"8"), headers), id="tampered body"),
        pytest.param(
            lambda body, headers: (body, signed(body, secret="whsec_" + "A" * 32)),
            id="other secret",
        ),
        pytest.param(
            lambda body, headers: (body, {**headers, "webhook-id": "msg_replayed"}), id="other id"
        ),
        pytest.param(
            lambda body, headers: (body, signed(body, at=datetime.now(UTC) - timedelta(hours=1))),
            id="an hour old",
        ),
        pytest.param(
            lambda body, headers: (body, {"content-type": "application/json"}), id="unsigned"
        ),
    ],
)
def test_a_delivery_that_does_not_verify_is_refused(webhook_receiver, spoil):
    webhook_receiver.secret = SECRET
    webhook_receiver.script(200)
    original = event()
    body, headers = spoil(original, signed(original))

    answer = httpx.post(f"{webhook_receiver.url}/hook", content=body, headers=headers)

    assert answer.status_code == 401
    assert "signature refused" in answer.text
    (delivery,) = webhook_receiver.wait_for_deliveries(1)
    assert not delivery.verified
    assert delivery.error
    assert delivery.status == 401


def test_without_a_secret_nothing_verifies(webhook_receiver):
    body = event()

    answer = httpx.post(webhook_receiver.url, content=body, headers=signed(body))

    assert answer.status_code == 401
    assert webhook_receiver.deliveries[0].error == "the receiver has no secret to verify with"


def test_scripted_500_then_200_then_the_default(webhook_receiver):
    webhook_receiver.secret = SECRET
    webhook_receiver.script(500, Answer(200, body=b"thanks"))
    body = event()
    headers = signed(body)

    statuses = [
        httpx.post(webhook_receiver.url, content=body, headers=headers).status_code
        for _ in range(3)
    ]

    assert statuses == [500, 200, 200]
    deliveries = webhook_receiver.wait_for_deliveries(3)
    assert [d.status for d in deliveries] == [500, 200, 200]
    assert all(d.verified for d in deliveries)
    assert len({d.headers["webhook-id"] for d in deliveries}) == 1  # a retry keeps its id


def test_a_scripted_delay_makes_a_client_time_out(webhook_receiver):
    webhook_receiver.secret = SECRET
    webhook_receiver.script(Answer(200, delay=2.0), 200)
    body = event()

    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(webhook_receiver.url, content=body, headers=signed(body), timeout=0.2)
    assert time.monotonic() - started < 1.5  # the client gave up, long before the answer
    answer = httpx.post(webhook_receiver.url, content=body, headers=signed(body), timeout=5)

    assert answer.status_code == 200
    assert len(webhook_receiver.wait_for_deliveries(2)) == 2


def test_wait_for_times_out_with_a_clear_message(webhook_receiver):
    with pytest.raises(AssertionError, match="got 0 request"):
        webhook_receiver.wait_for_deliveries(1, timeout=0.1)


def test_clear_forgets_deliveries_and_script(webhook_receiver):
    webhook_receiver.secret = SECRET
    webhook_receiver.script(503)
    body = event()
    httpx.post(webhook_receiver.url, content=body, headers=signed(body))

    webhook_receiver.clear()
    webhook_receiver.script(202)

    assert webhook_receiver.deliveries == []
    assert httpx.post(webhook_receiver.url, content=body, headers=signed(body)).status_code == 202
