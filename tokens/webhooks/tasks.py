"""The webhook work of the queue (SPEC 19); tokens.tasks imports this module.

- `webhooks.deliver`: one attempt of one delivery, queued when a delivery is written
  (after its transaction commits) or found due by the retry job;
- `webhooks.retry`, every minute: queues every pending delivery whose next attempt is
  due (the retry schedule lives in the rows, `next_attempt_at`, so a queue that lost
  its tasks or was down loses no delivery);
- `webhooks.forget`, daily at 03:41 UTC: deletes deliveries older than 30 days.

An attempt claims its delivery first (tokens.webhooks.delivery), so a delivery
queued twice is sent once.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tokens.webhooks.constants import DELIVERY_RETENTION

logger = logging.getLogger(__name__)

RETRY_LOCK = lock_task("webhook-retries")
FORGET_LOCK = lock_task("webhook-forget")


@db_task(name="webhooks.deliver")
def webhook_deliver_task(delivery_id: int) -> None:
    """Attempt one delivery now, if it is still pending and due."""
    from tokens.webhooks.delivery import delivery_attempt

    attempt = delivery_attempt(delivery_id=delivery_id)
    if attempt is not None:
        logger.info(
            "webhook delivery %s, attempt %s: %s",
            delivery_id,
            attempt.number,
            attempt.status_code or attempt.error,
        )


@db_periodic_task(crontab(minute="*"), name="webhooks.retry")
def webhook_retry_task() -> int | None:
    """Queue the deliveries whose next attempt is due."""
    from tokens.tasks import run_alone
    from tokens.webhooks.delivery import deliveries_due

    due = run_alone("webhook retries", RETRY_LOCK, lambda: deliveries_due(timezone.now()))
    for delivery_id in due or []:
        webhook_deliver_task(delivery_id)
    return len(due) if due is not None else None


@db_periodic_task(crontab(minute="41", hour="3"), name="webhooks.forget")
def webhook_forget_task() -> int | None:
    """Delete deliveries (and their attempts) older than DELIVERY_RETENTION."""
    from tokens.tasks import run_alone
    from tokens.webhooks.models import WebhookDelivery

    def forget() -> int:
        cutoff = timezone.now() - DELIVERY_RETENTION
        deleted, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).delete()
        return deleted

    return run_alone("webhook log cleanup", FORGET_LOCK, forget)
