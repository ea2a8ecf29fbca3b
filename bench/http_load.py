"""`make bench-http`: Keyward beside the reference project over real HTTP (docs/performance.md).

Keyward (`config.wsgi`) and the reference project (`bench/reference/`, Django
5.2 with `startproject`'s middleware) are each served by gunicorn with the same
settings (2 sync workers, DEBUG off, persistent connections) from their own
fresh database on the same PostgreSQL, with the same Redis, on the loopback.
wrk requests Keyward's `/healthz`, whoami, one zone and a page of 30 zones, and
their counterparts in the reference (its `/healthz`; the raw-SQL token lookup,
DRF, knox and ninja-ORM whoami; one zone and a page the plain ORM way), routes
interleaved (one Keyward route, then its counterparts; the order reversed every
other run), at 2 and 16 connections, then one zone read of each at 64. Each run
gives Keyward's req/s as a ratio to its counterpart's; the table shows the
median over runs and the spread (min-max), Keyward's p50/p99, and SPEC 10's
targets. The servers are stopped and the databases dropped at the end, whatever
happens. Debian's `wrk` is installed with apt-get when missing.

    python bench/http_load.py [--runs 3] [--duration 3] [--quick] [--keep-db]
                              [--reference-prepared] [--only WORD ...] [--workers 2]

(Not bench/http.py: run as a script, that name would shadow the standard library's
`http`, which urllib and gunicorn import.)

Environment: BENCH_DATABASE_URL (Keyward's; default postgres://postgres@127.0.0.1:5432/
keyward_bench_http), BENCH_REFERENCE_DATABASE_URL (default .../kw_reference): both dropped
and re-created; BENCH_REDIS_URL (default redis://127.0.0.1:6379/0). The secrets go from
the set-up steps to wrk through pipes and private temporary files, never to the terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402
from bench.http_report import (  # noqa: E402
    COMPARISONS,
    KEYWARD,
    REFERENCE,
    Comparison,
    Measured,
    report,
)
from bench.servers import WORKERS, Backends, Gunicorn, cpu_seconds, cpu_spent, database  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/keyward_bench_http"
REFERENCE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kw_reference"
REDIS_URL = "redis://127.0.0.1:6379/0"
ZONES = 40
LOAD_ROUTE = "zone"  # the route measured again at 64 connections
LOAD_CONNECTIONS = 64


def setup() -> None:
    """Migrate and seed Keyward's bench database; print the routes and credentials as JSON."""
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
        "healthz": ["/healthz", ""],
        "whoami": ["/api/v1/whoami", f"Bearer {whoami.secret}"],
        "zone": [f"{base}/zones/{zones[0].pk}", f"Bearer {reader.secret}"],
        "zones page": [f"{base}/zones", f"Bearer {reader.secret}"],
    }
    sys.stdout.write(json.dumps(routes))


def _seeded(command: list[str], env: dict[str, str]) -> dict[str, list[str]]:
    """Run a set-up step; what it printed, as JSON (routes and credentials), if anything."""
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"set-up failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout) if done.stdout.strip() else {}


def _environments(options: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    """Keyward's and the reference's environment: the same server settings, their own database."""
    common = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", REDIS_URL),
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    keyward = {
        **common,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DATABASE_URL),
        "KEYWARD_TOKEN_PEPPER": secrets.token_urlsafe(32),
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
    }
    reference = {
        **common,
        "DJANGO_SETTINGS_MODULE": "bench.reference.settings",
        "DATABASE_URL": os.environ.get("BENCH_REFERENCE_DATABASE_URL", REFERENCE_DATABASE_URL),
        "REFERENCE_PREPARED_STATEMENTS": "1" if options.reference_prepared else "0",
    }
    return keyward, reference


class Side:
    """One project under test: its server, routes and wrk scripts."""

    def __init__(
        self,
        name: str,
        server: Gunicorn,
        backends: Backends,
        routes: dict[str, list[str]],
        workdir: Path,
    ) -> None:
        self.name, self.server, self.backends, self.routes = name, server, backends, routes
        self.scripts = {
            route: wrk.script(workdir, f"{name}-{n}", authorization)
            for n, (route, (_path, authorization)) in enumerate(routes.items())
        }

    def measure(self, tool: str, route: str, connections: int, seconds: int) -> wrk.Result:
        """wrk's result, with the CPU time the server and its database spent per request."""
        url = self.server.origin + self.routes[route][0]
        app = self.server.pids()
        app_before, db_before = cpu_seconds(app), cpu_seconds(self.backends.pids())
        result = wrk.run(tool, self.scripts[route], url, connections, seconds)
        app_cpu = cpu_spent(app_before, cpu_seconds(app))
        db_cpu = cpu_spent(db_before, cpu_seconds(self.backends.pids()))
        per_request = 1e6 / max(result.requests, 1)
        return dataclasses.replace(
            result, app_cpu_us=app_cpu * per_request, db_cpu_us=db_cpu * per_request
        )


def _comparisons(options: argparse.Namespace) -> list[Comparison]:
    """The comparisons to run: all, or those whose label holds one of `--only`'s words."""
    return [c for c in COMPARISONS if not options.only or any(w in c.label for w in options.only)]


def _order(run: int, comparisons: list[Comparison]) -> list[tuple[str, str]]:
    """Each Keyward route, then its counterparts; reversed on odd runs (drift cancels out)."""
    order: list[tuple[str, str]] = []
    for comparison in comparisons:
        for step in ((KEYWARD, comparison.keyward), (REFERENCE, comparison.reference)):
            if step not in order:
                order.append(step)
    return order[::-1] if run % 2 else order


def _measure(sides: dict[str, Side], tool: str, options: argparse.Namespace) -> Measured:
    measured: Measured = {}
    for run in range(options.runs):
        for connections in options.connections:
            for side, route in _order(run, _comparisons(options)):
                result = sides[side].measure(tool, route, connections, options.duration)
                measured[(run, side, route, connections)] = result
        load = [(KEYWARD, LOAD_ROUTE), (REFERENCE, LOAD_ROUTE)] if not options.only else []
        for side, route in load[::-1] if run % 2 else load:
            result = sides[side].measure(tool, route, LOAD_CONNECTIONS, options.duration)
            measured[(run, side, route, LOAD_CONNECTIONS)] = result
    return measured


def _revision() -> str:
    """The commit measured (`git describe`), or "unknown" outside a git checkout."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return described.stdout.strip() or "unknown"


def run(options: argparse.Namespace) -> None:
    started = time.monotonic()
    tool = wrk.ensure_wrk()
    keyward_env, reference_env = _environments(options)
    workdir = Path(tempfile.mkdtemp(prefix="keyward-bench-http-"))  # mode 0700
    servers: list[Gunicorn] = []
    backends: list[Backends] = []
    try:
        database(keyward_env["DATABASE_URL"], create=True)
        database(reference_env["DATABASE_URL"], create=True)
        keyward_routes = _seeded([sys.executable, __file__, "--setup"], keyward_env)
        manage = [sys.executable, str(ROOT / "bench/reference/manage.py")]
        _seeded([*manage, "migrate", "--verbosity", "0"], reference_env)
        reference_routes = _seeded(
            [*manage, "seed_reference", "--zones", str(ZONES)], reference_env
        )
        sides = {}
        for name, module, env, routes in (
            (KEYWARD, "config.wsgi", keyward_env, keyward_routes),
            (REFERENCE, "bench.reference.wsgi", reference_env, reference_routes),
        ):
            server = Gunicorn(module, env, ROOT, workdir / f"{name}.log", options.workers)
            servers.append(server)
            backends.append(Backends(env["DATABASE_URL"]))
            server.wait_until_up("/healthz")
            sides[name] = Side(name, server, backends[-1], routes, workdir)
        for side in sides.values():
            for route, (path, authorization) in side.routes.items():
                side.server.check(path, authorization)
                side.measure(tool, route, 2, 1)  # warm up every worker and route
        measured = _measure(sides, tool, options)
        reference_db = (
            "prepares its statements too"
            if options.reference_prepared
            else "has Django's database defaults"
        )
        print(
            f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Keyward {_revision()}: "
            f"gunicorn {options.workers} sync workers each, DEBUG off, PostgreSQL, "
            f"Redis, wrk on 127.0.0.1, {options.duration} s a measurement, {options.runs} run(s); "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
            f"{time.monotonic() - started:.0f} s in all. The reference {reference_db}.\n"
        )
        load = None if options.only else (LOAD_ROUTE, LOAD_CONNECTIONS)
        report(measured, options.runs, options.connections, _comparisons(options), load)
    finally:
        for server in servers:
            server.stop()
        for backend in backends:
            backend.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if not options.keep_db:
            database(keyward_env["DATABASE_URL"], create=False)
            database(reference_env["DATABASE_URL"], create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeat; medians and spreads")
    parser.add_argument("--duration", type=int, default=3, help="seconds per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[2, 16])
    parser.add_argument("--quick", action="store_true", help="one run of 2 s measurements")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers per server")
    parser.add_argument(
        "--only", nargs="+", default=[], help="comparisons whose label holds one of these words"
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the databases behind")
    parser.add_argument(
        "--reference-prepared",
        action="store_true",
        help="the reference prepares its statements too (Keyward's database options)",
    )
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.setup:
        setup()
        return
    if options.quick:
        options.runs, options.duration = 1, 2
    # A SIGTERM (a CI timeout) unwinds like Ctrl-C, so gunicorn is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run(options)


if __name__ == "__main__":
    main()
