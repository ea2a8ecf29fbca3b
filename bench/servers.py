"""The servers of `make bench-http`: a PostgreSQL database each, gunicorn each, stopped as one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

WORKERS = 2  # sync workers per server by default (SPEC 10's setting)
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each of these processes so far (gone ones left out)."""
    seconds = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        seconds[pid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return seconds


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings by the processes alive at the second."""
    return sum(now - before.get(pid, 0.0) for pid, now in after.items())


def group_pids(group: int) -> list[int]:
    """The processes of a process group (gunicorn's master and workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:
                pids.append(int(entry.name))
    return pids


def _maintenance(url: str) -> tuple[str, str]:
    """The database name of `url`, and the URL of the server's `postgres` database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"unexpected database name {name!r}")
    return name, urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def database(url: str, *, create: bool) -> None:
    """Drop the database of `url`, and create it afresh when `create`."""
    import psycopg

    name, maintenance = _maintenance(url)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """One gunicorn serving `module` (`workers` sync workers) on a free loopback port."""

    def __init__(
        self, module: str, env: dict[str, str], cwd: Path, log: Path, workers: int = WORKERS
    ) -> None:
        self.port = _free_port()
        self.log = log
        self.origin = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", module),
                *("--workers", str(workers), "--bind", f"127.0.0.1:{self.port}"),
                *("--log-level", "warning"),
            ],
            env=env,
            cwd=cwd,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )

    def wait_until_up(self, path: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.origin + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer {path} in 30 s:\n{self.log.read_text()[-2000:]}")

    def check(self, path: str, authorization: str) -> None:
        """`path` answers 200 with this credential (before wrk counts anything)."""
        request = urllib.request.Request(self.origin + path)
        if authorization:
            request.add_header("Authorization", authorization)
        with urllib.request.urlopen(request, timeout=5) as response:
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status}")

    def pids(self) -> list[int]:
        return group_pids(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


class Backends:
    """The PostgreSQL backends serving one database (a local server: their CPU time is read)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.name, maintenance = _maintenance(url)
        self.connection = psycopg.connect(maintenance, autocommit=True)

    def pids(self) -> list[int]:
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)
        ).fetchall()
        return [pid for (pid,) in rows]

    def close(self) -> None:
        self.connection.close()
