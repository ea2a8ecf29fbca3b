"""tokens/tasks.py: the schedules in code, the jobs they run, and emails queued after commit.

Tasks run inline here (tests/conftest.py); tests/tokens/test_worker.py runs a real worker.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from tests.factories import issue_user_token
from tests.tokens.conftest import queue_on
from tokens.constants import STALE_AFTER
from tokens.models import Token
from tokens.tasks import (
    EXPIRY_NOTICES_LOCK,
    email_after_commit,
    expiry_notices_task,
    send_email_task,
    stale_cleanup_task,
    usage_flush_task,
)
from tokens.usage.models import TokenUsage
from tokens.usage.services import usage_record

DAY = timedelta(days=1)


def _due_at(*moment: int) -> set[str]:
    """The names of the scheduled jobs the worker queues at that minute (UTC)."""
    return {task.name for task in HUEY.read_periodic(datetime(*moment, tzinfo=UTC))}


def test_the_schedules_live_in_code():
    every_minute = {"usage.flush", "webhooks.retry"}  # webhook retries: tokens/webhooks/tasks.py
    assert _due_at(2026, 5, 4, 12, 34) == every_minute
    assert _due_at(2026, 5, 4, 12, 5) == {*every_minute, "expiry.notices"}  # hourly at :05
    assert _due_at(2026, 5, 4, 0, 5) == {*every_minute, "expiry.notices"}
    assert _due_at(2026, 5, 4, 3, 17) == {*every_minute, "stale.cleanup"}  # daily at 03:17
    assert _due_at(2026, 5, 5, 3, 17) == {*every_minute, "stale.cleanup"}
    assert _due_at(2026, 5, 4, 12, 41) == {*every_minute, "minted.cleanup"}  # hourly at :41
    assert _due_at(2026, 5, 4, 3, 41) == {*every_minute, "minted.cleanup", "webhooks.forget"}
    assert _due_at(2026, 5, 4, 4, 17) == every_minute


@pytest.fixture
def owner(account, member_factory):
    return member_factory(account, "engineer", email="owner@example.org")


def test_the_jobs_do_what_the_commands_do(owner):
    stale = issue_user_token(owner, name="forgotten", expires_at=None).token
    Token.objects.filter(pk=stale.pk).update(created_at=timezone.now() - STALE_AFTER - DAY)
    expiring = issue_user_token(owner, name="soon").token
    Token.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() + 3 * DAY)
    usage_record(token_id=expiring.pk, operation="zones:read", allowed=True, now=timezone.now())

    usage_flush_task()
    assert TokenUsage.objects.get(token_id=expiring.pk).allowed == 1

    expiry_notices_task()
    [notice] = mail.outbox
    assert notice.to == ["owner@example.org"] and "soon" in notice.body
    assert Token.objects.get(pk=expiring.pk).expiry_notice_days == 7

    stale_cleanup_task()
    assert not Token.objects.filter(pk=stale.pk).exists()
    assert Token.objects.filter(pk=expiring.pk).exists()

    # Run again, nothing more happens: every job is idempotent.
    usage_flush_task()
    expiry_notices_task()
    stale_cleanup_task()
    assert len(mail.outbox) == 1
    assert TokenUsage.objects.get(token_id=expiring.pk).allowed == 1


def test_a_job_that_another_worker_is_running_is_skipped(owner, caplog):
    token = issue_user_token(owner, name="soon").token
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() + 3 * DAY)

    with EXPIRY_NOTICES_LOCK, caplog.at_level(logging.INFO, logger="tokens.tasks"):
        expiry_notices_task()  # another worker holds the lock: this run does nothing
    assert mail.outbox == []
    assert Token.objects.get(pk=token.pk).expiry_notice_days is None
    assert "expiry notices: another run holds its lock" in caplog.text

    expiry_notices_task()  # the lock is free again
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_an_email_is_queued_only_when_the_transaction_commits():
    with transaction.atomic():
        email_after_commit(to="a@example.org", subject="Committed", body="It happened.")
        assert mail.outbox == []  # not while the transaction may still roll back
    [message] = mail.outbox
    assert (message.to, message.subject, message.body) == (
        ["a@example.org"],
        "Committed",
        "It happened.",
    )

    with pytest.raises(RuntimeError), transaction.atomic():
        email_after_commit(to="b@example.org", subject="Rolled back", body="It did not.")
        raise RuntimeError
    assert [m.subject for m in mail.outbox] == ["Committed"]


@pytest.mark.django_db(transaction=True)
def test_a_queue_that_is_down_does_not_fail_the_committed_request(caplog):
    unreachable = RedisStorage("kwtest-down", url="redis://127.0.0.1:1/0")
    with (
        queue_on(unreachable, empty_after=False),
        caplog.at_level(logging.ERROR),
        transaction.atomic(),
    ):
        email_after_commit(to="a@example.org", subject="Lost", body="Queue down.")
    # The transaction committed and nothing was raised; the failure is logged.
    assert "Could not queue the email 'Lost' (the queue is unreachable)" in caplog.text
    assert mail.outbox == []


def test_sending_an_email_task_sends_it():
    send_email_task("c@example.org", "Subject", "Body")
    [message] = mail.outbox
    assert message.to == ["c@example.org"]
