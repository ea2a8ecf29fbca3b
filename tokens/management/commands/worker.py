"""Run a background worker: the queued tasks and the schedules of tokens/tasks.py (SPEC 19).

One worker process runs `--workers` threads that take tasks off the queue, and a
scheduler thread that queues the scheduled jobs on time and the retries when due.
Several workers may share one queue (on several machines, with Redis or PostgreSQL):
exactly one of them runs the schedules, the others take `--no-periodic`.

SIGTERM and SIGINT (Ctrl-C) stop it gracefully: no new task is taken, running tasks
finish (for up to `--shutdown-timeout` seconds), then it exits. A second SIGINT stops
it at once. SIGHUP restarts it.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import autodiscover_modules
from huey.consumer import Consumer
from huey.contrib.djhuey import HUEY
from huey.storage import BaseStorage, PostgresStorage, RedisStorage, SqliteStorage


class GracefulConsumer(Consumer):
    """huey's consumer, with SIGINT as graceful as SIGTERM (huey interrupts on one of them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, graceful_signal="TERM", **kwargs)
        self._signal_actions[signal.SIGINT] = (False, True)  # (restart, graceful)


def queue_location(storage: BaseStorage) -> str:
    """Where the queue lives, for the start-up line: never a password."""
    if isinstance(storage, SqliteStorage):
        return f"SQLite file {storage.filename}"
    if isinstance(storage, RedisStorage):
        where = storage.pool.connection_kwargs
        return f"Redis {where.get('path') or where.get('host')}, database {where.get('db', 0)}"
    if isinstance(storage, PostgresStorage):
        return "PostgreSQL (KEYWARD_QUEUE_URL)"
    return type(storage).__name__


class Command(BaseCommand):
    help = "Run a background worker: queued tasks (emails, deliveries) and the scheduled jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="Tasks run at once, each in a thread (default 2).",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="Run queued tasks only: another worker sharing the queue runs the schedules.",
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=float,
            default=30.0,
            help="On SIGTERM/SIGINT, seconds to let running tasks finish (default 30).",
        )

    def handle(
        self,
        *args: Any,
        workers: int = 2,
        no_periodic: bool = False,
        shutdown_timeout: float = 30.0,
        **options: Any,
    ) -> None:
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if shutdown_timeout < 0:
            raise CommandError("--shutdown-timeout must not be negative.")
        if HUEY.immediate:
            raise CommandError("The queue runs tasks inline (immediate mode): nothing to work on.")
        autodiscover_modules("tasks")  # every app's tasks.py: the tasks and their schedules
        periodic = not no_periodic
        consumer = GracefulConsumer(
            HUEY,
            workers=workers,
            worker_type="thread",
            periodic=periodic,
            shutdown_timeout=shutdown_timeout,
            # A lock outlives a worker killed mid-job (kill -9, a crash): the worker that
            # runs the schedules clears the jobs' locks as it starts, so the job runs again.
            flush_locks=periodic,
        )
        self.stdout.write(
            f"Worker: {workers} thread(s), queue in {queue_location(HUEY.storage)}, "
            f"schedules {'on' if periodic else 'off (--no-periodic)'}."
        )
        self.stdout.flush()
        consumer.run()
        self.stdout.write("Worker stopped.")
