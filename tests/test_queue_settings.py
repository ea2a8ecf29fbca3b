"""settings.HUEY from KEYWARD_QUEUE_URL: where the queue lives (docs/background-work.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SHOW_QUEUE = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings';"
    " django.setup();"
    " from huey.contrib.djhuey import HUEY;"
    " from tokens.management.commands.worker import queue_location;"
    " print(type(HUEY).__name__, HUEY.immediate, queue_location(HUEY.storage))"
)


def _queue(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SHOW_QUEUE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_a_queue_url_the_queue_is_a_sqlite_file_beside_the_database(tmp_path):
    shown = _queue(DATABASE_URL=f"sqlite:///{tmp_path / 'keyward.sqlite3'}")
    assert shown.stdout.split(maxsplit=2) == [
        "SqliteHuey",
        "False",  # tasks wait for a worker, even with DEBUG on
        f"SQLite file {tmp_path / 'huey.sqlite3'}\n",
    ]


def test_a_redis_queue_url_puts_the_queue_on_redis():
    shown = _queue(
        REDIS_URL="redis://cache.internal:6379/0",
        KEYWARD_QUEUE_URL="redis://:a-password@queue.internal:6379/1",
    )
    assert shown.stdout == "RedisHuey False Redis queue.internal, database 1\n"


@pytest.mark.parametrize(
    ("queue_url", "error"),
    [
        ("redis://cache.internal:6379/0", "must not be the cache's REDIS_URL"),
        ("amqp://broker.internal/", "unknown scheme 'amqp'"),
    ],
)
def test_a_queue_url_that_cannot_work_is_refused_at_start(queue_url, error):
    shown = _queue(REDIS_URL="redis://cache.internal:6379/0", KEYWARD_QUEUE_URL=queue_url)
    assert shown.returncode != 0
    assert "ImproperlyConfigured: KEYWARD_QUEUE_URL" in shown.stderr and error in shown.stderr
