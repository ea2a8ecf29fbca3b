"""Webhook deliveries on a real worker (SPEC 19): a consumer takes them off a SQLite, Redis or
PostgreSQL queue (with DATABASE_URL=postgres://...), a 500 is retried by the retry job and
the 200 that follows is logged; nothing is sent inside the request that caused it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import issue_automation_token
from tests.tokens.conftest import queue_on, worker_running
from tokens.webhooks.models import WebhookDelivery
from tokens.webhooks.tasks import webhook_retry_task


@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_retries_and_logs(
    queue_storage, account, member_factory, webhook_to, webhook_receiver
):
    owner = member_factory(account, "superuser")
    endpoint = webhook_to(account, owner, events=["token.created"])
    webhook_receiver.script(500, 200)

    with queue_on(queue_storage):
        issue_automation_token(account, name="Deploy", creator=owner)
        assert webhook_receiver.deliveries == []  # queued: no worker yet
        assert queue_storage.queue_size() == 1
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)

        # The test reads the database only while no worker runs: a graceful stop lets the
        # running delivery finish recording (SQLite's in-memory test database is locked
        # per table: a poll beside a worker's write would fail the write).
        with worker_running():
            webhook_receiver.wait_for_deliveries(1)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.status_code) == ("pending", 1, 500)
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=30)

        # A minute later: the retry job (scheduled every minute) finds it due.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        webhook_retry_task()
        with worker_running():
            webhook_receiver.wait_for_deliveries(2)

    first, second = webhook_receiver.wait_for_deliveries(2)
    assert first.verified and second.verified
    assert (first.status, second.status) == (500, 200)
    assert second.payload["data"]["token"]["name"] == "Deploy"
    delivery.refresh_from_db()
    assert delivery.state == "succeeded"
    assert [(a.number, a.status_code) for a in delivery.tries.all()] == [(1, 500), (2, 200)]
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
