"""`make bench-http`: the API over real HTTP, as production serves it.

gunicorn (2 workers, DEBUG off) on PostgreSQL and Redis, on the loopback only,
driven by wrk. A fresh database of its own is created, migrated and seeded with
a person, an account, 40 zones and two tokens; wrk then requests `/healthz`,
`GET /api/v1/whoami`, one zone and the first page of zones (30) at 2 and at 16
connections for a few seconds each, and the table gives requests per second,
the median and 99th percentile latency, and each route's cost relative to
`/healthz` at the same concurrency (its req/s over the route's). gunicorn is
stopped and the database dropped at the end, whatever happens. Debian's `wrk`
is installed with apt-get when it is missing.

    python bench/http_load.py [--duration 5] [--connections 2 16] [--runs 1] [--keep-db]

With --runs N the whole series is repeated and each cell is the median over the
runs (about 50 s a run).

(Not bench/http.py: run as a script, that name would shadow the standard library's
`http`, which urllib and gunicorn import.)

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
keyward_bench_http; its database is dropped and re-created), BENCH_REDIS_URL
(default redis://127.0.0.1:6379/0). The tokens' secrets go from the set-up step
to wrk through a pipe and a private temporary file, never to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/keyward_bench_http"
REDIS_URL = "redis://127.0.0.1:6379/0"
WORKERS = 2
ZONES = 40
LUA = """{header}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KEYWARD %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


# --------------------------------------------------------------------------- set-up (child)


def setup() -> None:
    """Migrate and seed the bench database; print the routes and their credentials as JSON."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.constants import Plan, Role
    from accounts.models import Account, Membership, Record, User, Zone
    from tokens.events import Actor
    from tokens.services.issue import token_create

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", secrets.token_urlsafe(), name="Bench")
    account = Account.objects.create(name="Bench", slug="bench", plan=Plan.TEAMS)
    Membership.objects.create(user=user, account=account, role=Role.ENGINEER)
    zones = Zone.objects.bulk_create(
        Zone(account=account, name=f"zone{n:02}.example") for n in range(ZONES)
    )
    Record.objects.bulk_create(
        Record(zone=zone, type="A", name="www", content="203.0.113.1") for zone in zones
    )
    actor = Actor.person(user)
    whoami = token_create(actor=actor, token_type="user", name="whoami", owner=user)
    reader = token_create(
        actor=actor, token_type="user", name="zones", owner=user, scopes=["zones:read"]
    )
    base = f"/api/v1/accounts/{account.pk}"
    routes = {
        "GET /healthz": ["/healthz", ""],
        "GET /api/v1/whoami": ["/api/v1/whoami", whoami.secret],
        "GET .../zones/{id}": [f"{base}/zones/{zones[0].pk}", reader.secret],
        "GET .../zones (30 of 40)": [f"{base}/zones", reader.secret],
    }
    sys.stdout.write(json.dumps(routes))


# --------------------------------------------------------------------------- the run (parent)


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _database(url: str, *, create: bool) -> None:
    """Drop the bench database, and create it afresh when `create`."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"unexpected database name {name!r}")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{name}"')


def _ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within 30 s:\n{log.read_text()[-2000:]}")


def _check(url: str, secret: str) -> None:
    request = urllib.request.Request(url)
    if secret:
        request.add_header("Authorization", f"Bearer {secret}")
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200:
            raise SystemExit(f"{url}: {response.status}")


def _wrk(wrk: str, script: Path, url: str, connections: int, seconds: int) -> Result:
    command = [
        wrk,
        f"-t{min(connections, WORKERS)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("KEYWARD "))
    requests, duration_us, p50_us, p99_us, errors = (int(value) for value in line.split()[1:])
    return Result(requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, errors)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


Cell = tuple[str, int]  # route, connections


def _table(runs: list[dict[Cell, Result]], routes: list[str], connections: list[int]) -> None:
    """Per route and load: the median over runs, and the median of each run's cost ratio."""
    print("| route | connections | req/s | p50 ms | p99 ms | cost vs /healthz |")
    print("|---|---:|---:|---:|---:|---:|")
    for count in connections:
        for route in routes:
            cells = [run[(route, count)] for run in runs]
            ratios = [
                run[(routes[0], count)].requests_per_second / cell.requests_per_second
                for run, cell in zip(runs, cells, strict=True)
            ]
            errors = sum(cell.errors for cell in cells)
            print(
                f"| {route} | {count} | "
                f"{statistics.median(c.requests_per_second for c in cells):,.0f} | "
                f"{statistics.median(c.p50_ms for c in cells):.2f} | "
                f"{statistics.median(c.p99_ms for c in cells):.2f} | "
                f"{statistics.median(ratios):.2f}x{f' ({errors} errors)' if errors else ''} |"
            )
    if len(runs) > 1:
        spread = [run[(routes[0], connections[0])].requests_per_second for run in runs]
        print(
            f"\n{len(runs)} runs; /healthz at {connections[0]} connections ranged "
            f"{min(spread):,.0f} to {max(spread):,.0f} req/s between them (the machine's noise)."
        )


def run(options: argparse.Namespace) -> None:
    started = time.monotonic()
    wrk = _ensure_wrk()
    database_url = os.environ.get("BENCH_DATABASE_URL", DATABASE_URL)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "KEYWARD_TOKEN_PEPPER": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", REDIS_URL),
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    workdir = Path(tempfile.mkdtemp(prefix="keyward-bench-http-"))  # mode 0700
    server = None
    try:
        _database(database_url, create=True)
        seeded = subprocess.run(
            [sys.executable, __file__, "--setup"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if seeded.returncode != 0:
            raise SystemExit(f"set-up failed:\n{seeded.stderr[-2000:]}")
        routes: dict[str, list[str]] = json.loads(seeded.stdout)
        port = _free_port()
        log = workdir / "gunicorn.log"
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi"),
                *("--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"),
                *("--log-level", "warning"),
            ],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )
        origin = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{origin}/healthz", server, log)
        scripts = {}
        for name, (path, secret) in routes.items():
            _check(origin + path, secret)
            header = f'wrk.headers["Authorization"] = "Bearer {secret}"' if secret else ""
            scripts[name] = workdir / f"route{len(scripts)}.lua"
            scripts[name].write_text(LUA.format(header=header))
            _wrk(wrk, scripts[name], origin + path, 2, 1)  # warm up every worker and route
        runs = [
            {
                (name, count): _wrk(wrk, scripts[name], origin + path, count, options.duration)
                for count in options.connections
                for name, (path, _secret) in routes.items()
            }
            for _ in range(options.runs)
        ]
        print(
            f"\ngunicorn {WORKERS} workers (sync), PostgreSQL, Redis, wrk on 127.0.0.1, "
            f"{options.duration} s per row; {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}; {time.monotonic() - started:.0f} s in all.\n"
        )
        _table(runs, list(routes), options.connections)
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
        if not options.keep_db:
            _database(database_url, create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per route and load")
    parser.add_argument("--connections", type=int, nargs="+", default=[2, 16])
    parser.add_argument("--runs", type=int, default=1, help="repeat and show medians")
    parser.add_argument("--keep-db", action="store_true", help="leave the database behind")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.setup:
        setup()
        return
    # A SIGTERM (a CI timeout) unwinds like Ctrl-C, so gunicorn is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run(options)


if __name__ == "__main__":
    main()
