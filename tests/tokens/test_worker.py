"""The worker, run for real: a consumer takes queued tasks off a SQLite, Redis or
PostgreSQL queue and runs them; a failing task is retried; `manage.py worker` starts,
works and stops gracefully on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from huey.storage import SqliteStorage

from tests.factories import issue_user_token
from tests.mail_backends import DownOnceBackend
from tests.tokens.conftest import queue_on, wait_for, worker_running
from tokens.constants import STALE_AFTER
from tokens.models import Token
from tokens.tasks import EXPIRY_NOTICES_LOCK, send_email_task, stale_cleanup_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_what_was_queued(queue_storage, account, member_factory):
    owner = member_factory(account, "engineer")
    stale = issue_user_token(owner, name="forgotten", expires_at=None).token
    Token.objects.filter(pk=stale.pk).update(created_at=timezone.now() - STALE_AFTER * 2)

    with queue_on(queue_storage):
        send_email_task("someone@example.org", "From the queue", "Sent by a worker.")
        stale_cleanup_task()
        assert mail.outbox == []  # queued, not run: no worker yet
        assert queue_storage.queue_size() == 2

        with worker_running():
            wait_for(lambda: len(mail.outbox) == 1 and queue_storage.queue_size() == 0)
            wait_for(lambda: not Token.objects.filter(pk=stale.pk).exists())

    [message] = mail.outbox
    assert (message.to, message.subject) == (["someone@example.org"], "From the queue")


@pytest.mark.django_db(transaction=True)
def test_a_task_that_fails_is_retried(settings, tmp_path, caplog):
    settings.EMAIL_BACKEND = "tests.mail_backends.DownOnceBackend"
    DownOnceBackend.attempts = 0
    with queue_on(SqliteStorage("kwtest", filename=str(tmp_path / "queue.sqlite3"))) as storage:
        task = send_email_task.s("someone@example.org", "Second time lucky", "Hello.")
        assert task.retries == 5  # as queued by the app; the first retry waits a minute:
        task.retry_delay = 1  # a second here
        send_email_task.huey.enqueue(task)
        with worker_running():
            wait_for(lambda: len(mail.outbox) == 1)
            assert storage.schedule_size() == 0
    assert DownOnceBackend.attempts == 2
    assert [m.subject for m in mail.outbox] == ["Second time lucky"]
    assert "Requeueing" in caplog.text


def test_the_worker_refuses_bad_options():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("worker", "--workers", "0")
    with pytest.raises(CommandError, match="immediate"):
        call_command("worker")  # the tests' queue runs tasks inline: nothing to work on


class WorkerProcess:
    """`manage.py worker` in a subprocess, its output collected line by line."""

    def __init__(self, tmp_path: Path, *args: str, email_backend: str) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "KEYWARD_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
            "EMAIL_BACKEND": email_backend,
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def says(self, text: str) -> bool:
        return text in self.output

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def worker_process(tmp_path) -> Iterator[type[WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*args: str, email_backend: str) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, *args, email_backend=email_backend)
        started.append(worker)
        return worker

    yield start  # type: ignore[misc]
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_command_works_and_stops_gracefully(worker_process, tmp_path, signum):
    """A task still running when the signal comes is finished before the worker exits."""
    worker = worker_process("--no-periodic", email_backend="tests.mail_backends.SlowConsoleBackend")
    wait_for(lambda: worker.says("Huey consumer started"), seconds=60)
    assert worker.says(f"queue in SQLite file {tmp_path / 'queue.sqlite3'}")

    with queue_on(SqliteStorage("keyward", filename=str(tmp_path / "queue.sqlite3"))):
        send_email_task("someone@example.org", "Slow but sure", "Hello from the worker.")
        wait_for(lambda: worker.says("Executing tokens.tasks.email.send"))
        assert not worker.says("Slow but sure")  # the mail server is still thinking

        assert worker.stop(signum) == 0
    assert worker.says("Shutting down gracefully")
    assert worker.says("Subject: Slow but sure")  # finished before the exit
    assert worker.output.rstrip().endswith("Worker stopped.")


def test_the_scheduling_worker_clears_a_lock_left_by_a_killed_worker(worker_process, tmp_path):
    with queue_on(SqliteStorage("keyward", filename=str(tmp_path / "queue.sqlite3"))):
        EXPIRY_NOTICES_LOCK.acquire()  # held by a worker that was killed mid-job
        worker = worker_process(email_backend="django.core.mail.backends.console.EmailBackend")
        wait_for(lambda: worker.says("Huey consumer started"), seconds=60)
        wait_for(lambda: worker.says("Found stale locks: expiry-notices"), seconds=30)
        assert not EXPIRY_NOTICES_LOCK.is_locked()
        # huey clears stale locks before it installs its signal handlers: a SIGTERM that
        # early ends it by the signal. Graceful stops are the next tests' subject.
        assert worker.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
