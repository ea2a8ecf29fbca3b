"""Keyward's background work: the tasks of its one queue, and their schedules (SPEC 19).

huey runs them (`manage.py worker`; settings.HUEY says where the queue lives, and
docs/background-work.md why huey). Calling a task queues it and returns at once;
a worker runs it. The schedules are here, in code, not in cron lines:

- usage flushing, every minute;
- expiry notices, every hour (each notice goes once, however often this runs; hourly
  makes the 1-day notice arrive 23 to 24 hours ahead rather than anywhere in the day);
- the stale-token cleanup, daily at 03:17 UTC;
- the minted-token cleanup (trusted publishers' tokens a day after they expired, and the
  `jti`s of expired ID tokens), every hour.

Each scheduled job holds a lock in the queue's storage while it runs, so the workers
of every machine run it one at a time; a run that finds the lock taken is skipped
(not retried): the holder is doing the same work. The jobs are idempotent besides.

Requests never send mail: `email_after_commit` queues an email once the transaction
commits, and a worker sends it, retrying with backoff.

The job bodies import their modules when they run: the services and tokens.leaks
import this module for `email_after_commit`, and the jobs call into them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, transaction
from django.utils import timezone
from huey import crontab
from huey.api import TaskLock
from huey.contrib.djhuey import db_periodic_task, lock_task, on_shutdown, task
from huey.exceptions import TaskLockedException

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Each job's lock: one run at a time across every worker sharing the queue.
USAGE_FLUSH_LOCK = lock_task("usage-flush")
EXPIRY_NOTICES_LOCK = lock_task("expiry-notices")
STALE_CLEANUP_LOCK = lock_task("stale-cleanup")
MINTED_CLEANUP_LOCK = lock_task("minted-cleanup")

# An email is tried again after 1, 2, 4, 8 and 16 minutes (about half an hour in all).
EMAIL_RETRIES = 5
EMAIL_RETRY_DELAY = 60
EMAIL_RETRY_BACKOFF = 2


def run_alone(what: str, lock: TaskLock, job: Callable[[], T]) -> T | None:
    """Run `job` holding `lock`; None, without running it, when another run holds it."""
    with suppress(TaskLockedException), lock:
        return job()
    logger.info("%s: another run holds its lock; this one is skipped", what)
    return None


@db_periodic_task(crontab(minute="*"), name="usage.flush")
def usage_flush_task() -> int | None:
    """Write the usage buffered in the cache to the database (SPEC 13)."""
    from tokens.usage.services import usage_flush_all

    flushed = run_alone(
        "usage flush", USAGE_FLUSH_LOCK, lambda: usage_flush_all(now=timezone.now())
    )
    if flushed:
        logger.info("usage of %d token(s) written", flushed)
    return flushed


@db_periodic_task(crontab(minute="5"), name="expiry.notices")
def expiry_notices_task() -> int | None:
    """Email the 7-day and 1-day expiry notices due now (SPEC 9)."""
    from tokens.services.expiry import expiry_notices_send

    result = run_alone(
        "expiry notices", EXPIRY_NOTICES_LOCK, lambda: expiry_notices_send(now=timezone.now())
    )
    if result is None:
        return None
    for notice, problem in result.failed:
        logger.warning("expiry notice to user %s failed: %s", notice.person.pk, problem)
    if result.sent:
        logger.info("%d expiry notice email(s) sent", len(result.sent))
    return result.recorded


@db_periodic_task(crontab(minute="17", hour="3"), retries=3, retry_delay=600, name="stale.cleanup")
def stale_cleanup_task() -> int | None:
    """Revoke stale and idle tokens and delete old usage (SPEC 9, 13, 15)."""
    from tokens.services.cleanup import stale_tokens_clean

    done = run_alone(
        "stale-token cleanup", STALE_CLEANUP_LOCK, lambda: stale_tokens_clean(now=timezone.now())
    )
    if done is None:
        return None
    logger.info(
        "cleanup: %d stale token(s) deleted, %d idle automation token(s) revoked, "
        "%d old usage record(s) deleted",
        len(done.deleted),
        len(done.revoked_idle),
        done.old_usage,
    )
    return len(done.deleted) + len(done.revoked_idle)


@db_periodic_task(crontab(minute="41"), name="minted.cleanup")
def minted_cleanup_task() -> int | None:
    """Delete minted tokens a day after they expired; forget expired ID tokens (SPEC 18)."""
    from tokens.publishers.services import minted_tokens_clean

    done = run_alone(
        "minted-token cleanup", MINTED_CLEANUP_LOCK, lambda: minted_tokens_clean(now=timezone.now())
    )
    if done is None:
        return None
    if done.deleted or done.forgotten_id_tokens:
        logger.info(
            "minted-token cleanup: %d expired minted token(s) deleted, %d used ID token(s) "
            "forgotten",
            done.deleted,
            done.forgotten_id_tokens,
        )
    return done.deleted


@task(
    retries=EMAIL_RETRIES,
    retry_delay=EMAIL_RETRY_DELAY,
    retry_backoff=EMAIL_RETRY_BACKOFF,
    name="email.send",
)
def send_email_task(to: str, subject: str, body: str) -> None:
    """Send one plain-text email; a failure (the mail server down) is retried with backoff."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


# A reported leak is revoked even after an outage of the database: tried again after
# 30 s, 1, 2, 4, 8, 16, 32 and 64 minutes (about two hours in all).
@task(retries=8, retry_delay=30, retry_backoff=2, name="leaks.revoke")
def leak_revoke_task(items: list[tuple[list[str], str, str]], reporter: str) -> int:
    """Revoke the live tokens among reported digests (SPEC 12): (digests, url, source) each."""
    from tokens.leaks.services import leaked_digests_revoke

    return leaked_digests_revoke(items=items, reporter=reporter)


def email_after_commit(*, to: str, subject: str, body: str) -> None:
    """Queue an email to one address, once the current transaction commits.

    Nothing is sent for a transaction that rolls back, and the request answers without
    waiting for the mail server. Outside a transaction it is queued at once. A queue that
    cannot be reached is logged and does not fail the request (its writes are committed).
    Never put a secret in an email: the queue stores the body until it is sent.
    """
    transaction.on_commit(partial(_queue_email, to, subject, body))


def _queue_email(to: str, subject: str, body: str) -> None:
    try:
        send_email_task(to, subject, body)
    except Exception:
        logger.exception("Could not queue the email %r (the queue is unreachable)", subject)


@on_shutdown(name="close-database-connections")
def _close_connections() -> None:
    """A worker thread that stops closes its database connections."""
    connections.close_all()


# The webhooks' tasks and schedules (deliveries, retries every minute, the log's cleanup).
import tokens.webhooks.tasks  # noqa: E402, F401
