"""scripts/demo.py (`make demo`): the web server and a worker start together and stop together."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.tokens.conftest import wait_for

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except urllib.error.HTTPError:
        return True  # an answer all the same (the temporary database has no tables)
    except OSError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Demo:
    def __init__(self, tmp_path: Path, *runserver_args: str) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "KEYWARD_QUEUE_URL": "",
        }
        self.process = subprocess.Popen(
            [sys.executable, "scripts/demo.py", *runserver_args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def demo(tmp_path):
    started: list[Demo] = []

    def start(*runserver_args: str) -> Demo:
        started.append(Demo(tmp_path, *runserver_args))
        return started[-1]

    yield start
    for each in started:
        if each.process.poll() is None:
            each.process.kill()
            each.process.wait()


def test_the_demo_runs_a_worker_beside_the_web_server_and_stops_both(demo, tmp_path):
    port = _free_port()
    running = demo(f"127.0.0.1:{port}")
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), seconds=90)
    wait_for(lambda: "Huey consumer started" in running.output, seconds=60)
    worker_pid = int(re.search(r"Huey consumer started .* PID (\d+)", running.output)[1])
    assert f"queue in SQLite file {tmp_path / 'huey.sqlite3'}" in running.output  # beside the db

    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=60) == 0
    assert "Worker stopped." in running.output
    assert not _alive(worker_pid)
    assert not _answers(f"http://127.0.0.1:{port}/healthz")


def test_when_the_web_server_cannot_start_the_worker_is_stopped_too(demo):
    running = demo("not-a-port")
    assert running.process.wait(timeout=90) != 0
    assert "is not a valid port number" in running.output
