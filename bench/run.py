"""`make bench`: every API route's cost beside the reference views (docs/performance.md).

One process, one temporary SQLite database (BENCH_POSTGRES_URL: PostgreSQL and Redis
instead, bench/settings.py). Keyward's routes go through
Keyward's WSGI handler (as gunicorn calls it); the reference project's views
(bench/reference/: /healthz, the raw-SQL token lookup, DRF, knox, ninja-ORM
whoami, one zone and a page of zones the plain ORM way) through a handler with
the reference's own middleware (Django's `startproject` list) and URLconf.
Each round sends N requests to each endpoint in turn, timed in process CPU
time; the table shows the median per-request time over the rounds, the SQL
queries per request (warm path, counted in a separate pass), and for each of
Keyward's routes the median over rounds of its counterpart's cost over its own
(as a throughput ratio: above 1, Keyward is cheaper) with SPEC 10's target.
This is the profiler's view; `make bench-http` is the bar.

    python bench/run.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.constants import Plan, Role  # noqa: E402
from accounts.models import (  # noqa: E402
    Account,
    Certificate,
    Domain,
    Membership,
    Record,
    Service,
    User,
    Zone,
)
from bench.reference import settings as reference_settings  # noqa: E402
from bench.reference.seed import seed_reference  # noqa: E402
from config.middleware import load_middleware  # noqa: E402
from tokens.events import Actor  # noqa: E402
from tokens.services.issue import token_create  # noqa: E402

# What the numbers were measured on (on PostgreSQL, this process's side only: the server's
# CPU is another process's).
DATABASE_NAME = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(connection.vendor, "")

# SPEC 10's targets: Keyward's throughput at least this times its counterpart's.
HEALTHZ, WHOAMI, SINGLE, PAGE = (
    ("healthz", 0.95),
    ("raw whoami", 1.0),
    ("zone", 0.85),
    (
        "zones page",
        0.7,
    ),
)


@dataclass(frozen=True)
class Endpoint:
    path: str
    authorization: str = ""
    method: str = "GET"
    body: bytes = b""
    status: int = 200
    # The reference view it is measured against, and SPEC 10's target for the ratio.
    versus: tuple[str, float] | None = None
    reference: bool = False  # served by the reference project's handler


def seed() -> dict[str, Endpoint]:
    """A superuser of an account with 40 of each resource, one credential per scheme, and
    the reference project's data (bench/reference/seed.py) for the same person."""
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password", name="Bench User")
    account = Account.objects.create(name="Bench", slug="bench", plan=Plan.TEAMS)
    Membership.objects.create(user=user, account=account, role=Role.SUPERUSER)
    now = timezone.now()
    zones = [Zone.objects.create(account=account, name=f"zone{n:02}.example") for n in range(40)]
    for zone in zones:
        Record.objects.bulk_create(
            Record(zone=zone, type="A", name=f"www{n}", content="203.0.113.1") for n in range(3)
        )
    domains = Domain.objects.bulk_create(
        Domain(account=account, name=f"domain{n:02}.example", expires_at=now + timedelta(days=300))
        for n in range(40)
    )
    certificates = Certificate.objects.bulk_create(
        Certificate(
            account=account, name=f"www.site{n:02}.example", expires_at=now + timedelta(days=60)
        )
        for n in range(40)
    )
    services = Service.objects.bulk_create(
        Service(
            account=account, name=f"Service {n:02}", hostname=f"s{n}.example", origin="o.example"
        )
        for n in range(40)
    )
    actor = Actor.person(user)
    full = f"Bearer {token_create(actor=actor, token_type='user', name='bench', owner=user).secret}"
    scoped = token_create(
        actor=actor,
        token_type="user",
        name="zones reader",
        owner=user,
        scopes=["zones:read"],
        resources={"zones": [zone.pk for zone in zones[:10]]},
    )
    a = f"/api/v1/accounts/{account.pk}"
    z, d, c, s = zones[0].pk, domains[0].pk, certificates[0].pk, services[0].pk
    endpoints = {
        "GET /healthz": Endpoint("/healthz", versus=HEALTHZ),
        "GET /api/v1/whoami": Endpoint("/api/v1/whoami", full, versus=WHOAMI),
        "GET /api/v1/tokens/self": Endpoint("/api/v1/tokens/self", full, versus=SINGLE),
        "GET /api/v1/tokens": Endpoint("/api/v1/tokens", full, versus=PAGE),
        "GET /api/v1/accounts": Endpoint("/api/v1/accounts", full, versus=PAGE),
        "GET .../billing": Endpoint(f"{a}/billing", full, versus=SINGLE),
        "GET .../zones/{id}": Endpoint(f"{a}/zones/{z}", full, versus=SINGLE),
        "GET .../zones (page of 30)": Endpoint(f"{a}/zones", full, versus=PAGE),
        "GET .../zones (zones:read, 10 of 40 selected)": Endpoint(
            f"{a}/zones", f"Bearer {scoped.secret}", versus=PAGE
        ),
        "GET .../zones/{id}/records": Endpoint(f"{a}/zones/{z}/records", full, versus=PAGE),
        "GET .../domains/{id}": Endpoint(f"{a}/domains/{d}", full, versus=SINGLE),
        "GET .../domains (page of 30)": Endpoint(f"{a}/domains", full, versus=PAGE),
        "GET .../registrar/domains/{id}": Endpoint(
            f"{a}/registrar/domains/{d}", full, versus=SINGLE
        ),
        "GET .../certificates/{id}": Endpoint(f"{a}/certificates/{c}", full, versus=SINGLE),
        "GET .../certificates (page of 30)": Endpoint(f"{a}/certificates", full, versus=PAGE),
        "GET .../services/{id}": Endpoint(f"{a}/services/{s}", full, versus=SINGLE),
        "GET .../services (page of 30)": Endpoint(f"{a}/services", full, versus=PAGE),
        "POST .../services/{id}/purge (a write)": Endpoint(
            f"{a}/services/{s}/purge",
            full,
            method="POST",
            body=b'{"surrogate_key": "bench"}',
            status=202,
        ),
    }
    for name, (path, authorization) in seed_reference(user, records=3).items():
        endpoints[f"reference: {name}"] = Endpoint(path, authorization, reference=True)
    return endpoints


class ReferenceHandler(WSGIHandler):
    """The reference project in this process: its middleware list and its URLconf."""

    def load_middleware(self, is_async: bool = False) -> None:
        load_middleware(self, reference_settings.MIDDLEWARE)

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = reference_settings.ROOT_URLCONF
        return super().get_response(request)


HANDLERS = {False: WSGIHandler(), True: ReferenceHandler()}


def _environ(endpoint: Endpoint) -> dict:
    environ = {
        "REQUEST_METHOD": endpoint.method,
        "PATH_INFO": endpoint.path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if endpoint.authorization:
        environ["HTTP_AUTHORIZATION"] = endpoint.authorization
    if endpoint.body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(endpoint.body))
    return environ


def request(endpoint: Endpoint) -> str:
    """Through the WSGI handler, as an application server calls Django."""
    environ = _environ(endpoint)
    environ["wsgi.input"] = io.BytesIO(endpoint.body)
    status = []
    response = HANDLERS[endpoint.reference](
        environ, lambda s, headers, exc_info=None: status.append(s)
    )
    try:
        for _ in response:
            pass
    finally:
        response.close()
    return status[0]


def run(endpoint: Endpoint, count: int) -> float:
    """Seconds per request over `count` requests."""
    gc.collect()
    start = time.process_time()
    for _ in range(count):
        request(endpoint)
    return (time.process_time() - start) / count


def queries_per_request(endpoint: Endpoint, count: int = 20) -> float:
    with CaptureQueriesContext(connection) as captured:
        for _ in range(count):
            request(endpoint)
    return len(captured.captured_queries) / count


def _measure(endpoints: dict[str, Endpoint], options: argparse.Namespace) -> dict[str, list[float]]:
    for name, endpoint in endpoints.items():
        status = request(endpoint)
        if not status.startswith(str(endpoint.status)):
            raise SystemExit(f"{name}: expected {endpoint.status}, got {status}")
        run(endpoint, 200)  # warm up
    times: dict[str, list[float]] = {name: [] for name in endpoints}
    for _ in range(options.rounds):
        for name, endpoint in endpoints.items():
            times[name].append(run(endpoint, options.requests))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--only", nargs="+", default=[], help="Keyward routes whose names hold one of these words"
    )
    options = parser.parse_args()

    endpoints = seed()
    if options.only:
        endpoints = {
            name: endpoint
            for name, endpoint in endpoints.items()
            if endpoint.reference or any(word in name for word in options.only)
        }
    times = _measure(endpoints, options)
    queries = {name: queries_per_request(endpoint) for name, endpoint in endpoints.items()}
    median = {name: statistics.median(values) for name, values in times.items()}

    print(
        f"\n{options.requests} requests x {options.rounds} rounds per endpoint, "
        f"Django {django.get_version()}, {DATABASE_NAME}, one process, WSGI handlers. Per request: "
        "median over\nrounds of CPU time; vs reference: median over rounds of the reference "
        "view's time over\nthe route's (a throughput ratio: above 1, Keyward is cheaper).\n"
    )
    width = max(len(name) for name in endpoints)
    print(f"| {'endpoint':<{width}} | per request | queries | {'vs reference':<22} | target |")
    print(f"|{'-' * (width + 2)}|------------:|--------:|{'-' * 23}:|-------:|")
    missed = []
    for name, endpoint in endpoints.items():
        versus, target = "", ""
        if endpoint.versus:
            counterpart, goal = endpoint.versus
            theirs = times[f"reference: {counterpart}"]
            ratio = statistics.median(t / o for t, o in zip(theirs, times[name], strict=True))
            versus = f"{ratio:.2f}x {counterpart}"
            target = f">= {goal:.2f}x"
            if ratio < goal:
                missed.append(name)
                target += " !"
        print(
            f"| {name:<{width}} | {median[name] * 1e6:8.1f} us | {queries[name]:7.1f} | "
            f"{versus:<22} | {target:>6} |"
        )
    if missed:
        print(f"\nBelow the targets: {', '.join(missed)}")


if __name__ == "__main__":
    main()
