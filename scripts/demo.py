"""`make demo`: the web server and a background worker, side by side, stopped together.

    python scripts/demo.py [runserver arguments, e.g. 127.0.0.1:8000]

Runs `manage.py worker` (the queue: emails, scheduled jobs) beside `manage.py runserver`.
Ctrl-C or SIGTERM stops both (the worker lets a running task finish; a second Ctrl-C
stops at once), and when either exits the other is stopped too: no worker is left
behind. Each runs in a process group of its own, so runserver's reloader child goes
with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 35  # the worker lets a running task finish for up to 30 (--shutdown-timeout)


def _start(*args: str) -> subprocess.Popen[bytes]:
    """`manage.py <args>` in a process group of its own (its pid is the group's id)."""
    command = [sys.executable, "manage.py", *args]
    return subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603 (our argv)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the process and its children (runserver's reloader), if any are left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def main(runserver_args: list[str]) -> int:
    worker = _start("worker")
    web = _start("runserver", *runserver_args)
    children = (web, worker)
    stop_requested = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        if stop_requested:  # a second Ctrl-C: no more waiting
            for child in children:
                _signal_group(child, signal.SIGKILL)
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exited: subprocess.Popen[bytes] | None = None
    try:
        while not stop_requested and exited is None:
            exited = next((child for child in children if child.poll() is not None), None)
            time.sleep(0.2)
    finally:
        for child in children:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.wait()
    # Stopped by Ctrl-C or SIGTERM: success; otherwise the code of the one that stopped.
    return 0 if exited is None else exited.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
