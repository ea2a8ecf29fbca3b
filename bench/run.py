"""`make bench`: what an authenticated API request costs, against /healthz (SPEC 10).

One process, one temporary SQLite database, one WSGI handler for every
endpoint (as gunicorn calls it). Each round sends N requests to each endpoint
in turn, timed in process CPU time; the table shows the median per-request
time over the rounds, the SQL queries per request (warm path, counted in a
separate pass) and the median over rounds of the ratio to that round's
/healthz, which runs one trivial query (`SELECT 1`, no table). The reference
row runs only the bearer lookup's SQL in a plain view: the floor any
database-backed token check pays here.

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
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from knox.models import AuthToken  # noqa: E402
from rest_framework.authtoken.models import Token as DrfToken  # noqa: E402

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
from tokens.events import Actor  # noqa: E402
from tokens.services.issue import token_create  # noqa: E402

# SPEC 10's targets, as ratios to /healthz.
TARGET_WHOAMI, TARGET_SINGLE, TARGET_PAGE = 1.25, 1.5, 2.0


@dataclass(frozen=True)
class Endpoint:
    path: str
    authorization: str = ""
    method: str = "GET"
    body: bytes = b""
    target: float | None = None
    status: int = 200


def seed() -> dict[str, Endpoint]:
    """A superuser of an account with 40 of each resource, and one credential per scheme."""
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
    drf = DrfToken.objects.create(user=user)
    _, knox = AuthToken.objects.create(user=user)
    a = f"/api/v1/accounts/{account.pk}"
    z, d, c, s = zones[0].pk, domains[0].pk, certificates[0].pk, services[0].pk
    return {
        "GET /healthz": Endpoint("/healthz"),
        "GET /api/v1/whoami": Endpoint("/api/v1/whoami", full, target=TARGET_WHOAMI),
        "GET /api/v1/tokens/self": Endpoint("/api/v1/tokens/self", full, target=TARGET_SINGLE),
        "GET /api/v1/tokens": Endpoint("/api/v1/tokens", full, target=TARGET_PAGE),
        "GET /api/v1/accounts": Endpoint("/api/v1/accounts", full, target=TARGET_PAGE),
        "GET .../billing": Endpoint(f"{a}/billing", full, target=TARGET_SINGLE),
        "GET .../zones/{id}": Endpoint(f"{a}/zones/{z}", full, target=TARGET_SINGLE),
        "GET .../zones (page of 30)": Endpoint(f"{a}/zones", full, target=TARGET_PAGE),
        "GET .../zones (zones:read, 10 of 40 selected)": Endpoint(
            f"{a}/zones", f"Bearer {scoped.secret}", target=TARGET_PAGE
        ),
        "GET .../zones/{id}/records": Endpoint(f"{a}/zones/{z}/records", full, target=TARGET_PAGE),
        "GET .../domains/{id}": Endpoint(f"{a}/domains/{d}", full, target=TARGET_SINGLE),
        "GET .../domains (page of 30)": Endpoint(f"{a}/domains", full, target=TARGET_PAGE),
        "GET .../registrar/domains/{id}": Endpoint(
            f"{a}/registrar/domains/{d}", full, target=TARGET_SINGLE
        ),
        "GET .../certificates/{id}": Endpoint(f"{a}/certificates/{c}", full, target=TARGET_SINGLE),
        "GET .../certificates (page of 30)": Endpoint(
            f"{a}/certificates", full, target=TARGET_PAGE
        ),
        "GET .../services/{id}": Endpoint(f"{a}/services/{s}", full, target=TARGET_SINGLE),
        "GET .../services (page of 30)": Endpoint(f"{a}/services", full, target=TARGET_PAGE),
        "POST .../services/{id}/purge (a write)": Endpoint(
            f"{a}/services/{s}/purge",
            full,
            method="POST",
            body=b'{"surrogate_key": "bench"}',
            status=202,
        ),
        "reference: the token lookup query alone, plain view": Endpoint("/bench/lookup-only", full),
        "DRF TokenAuthentication whoami": Endpoint("/bench/drf/whoami", f"Token {drf.key}"),
        "knox TokenAuthentication whoami": Endpoint("/bench/knox/whoami", f"Token {knox}"),
    }


HANDLER = WSGIHandler()


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


def request_wsgi(endpoint: Endpoint) -> str:
    """Through the WSGI handler, as an application server calls Django."""
    environ = _environ(endpoint)
    environ["wsgi.input"] = io.BytesIO(endpoint.body)
    status = []
    response = HANDLER(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        for _ in response:
            pass
    finally:
        response.close()
    return status[0]


CLIENT = Client()


def request_client(endpoint: Endpoint) -> str:
    """Through Django's test Client (adds its own fixed cost to every request)."""
    extra = {"HTTP_AUTHORIZATION": endpoint.authorization} if endpoint.authorization else {}
    response = CLIENT.generic(
        endpoint.method, endpoint.path, endpoint.body, content_type="application/json", **extra
    )
    return str(response.status_code)


request = request_wsgi


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--via", choices=["wsgi", "client"], default="wsgi", help="WSGI handler or test Client"
    )
    options = parser.parse_args()
    global request
    request = request_client if options.via == "client" else request_wsgi

    endpoints = seed()
    for name, endpoint in endpoints.items():
        status = request(endpoint)
        if not status.startswith(str(endpoint.status)):
            raise SystemExit(f"{name}: expected {endpoint.status}, got {status}")
        run(endpoint, 200)  # warm up
    queries = {name: queries_per_request(endpoint) for name, endpoint in endpoints.items()}

    times: dict[str, list[float]] = {name: [] for name in endpoints}
    ratios: dict[str, list[float]] = {name: [] for name in endpoints}
    for _ in range(options.rounds):
        for name, endpoint in endpoints.items():
            times[name].append(run(endpoint, options.requests))
            ratios[name].append(times[name][-1] / times["GET /healthz"][-1])
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = {name: statistics.median(values) for name, values in ratios.items()}

    print(
        f"\n{options.requests} requests x {options.rounds} rounds per endpoint, "
        f"Django {django.get_version()}, SQLite, one process, "
        f"{'test Client' if options.via == 'client' else 'WSGI handler'}. Per request: median\n"
        "over rounds of CPU time; vs /healthz: median over rounds of the ratio to that round's\n"
        "/healthz (robust to load from other processes).\n"
    )
    width = max(len(name) for name in endpoints)
    print(f"| {'endpoint':<{width}} | per request | queries | vs /healthz | target |")
    print(f"|{'-' * (width + 2)}|------------:|--------:|------------:|-------:|")
    missed = []
    for name, endpoint in endpoints.items():
        target = f"<= {endpoint.target:.2f}x" if endpoint.target else ""
        if endpoint.target and ratio[name] > endpoint.target:
            missed.append(name)
            target += " !"
        print(
            f"| {name:<{width}} | {median[name] * 1e6:8.1f} us | {queries[name]:7.1f} | "
            f"{ratio[name]:10.2f}x | {target:>6} |"
        )
    if missed:
        print(f"\nAbove target (SPEC 10): {', '.join(missed)}")


if __name__ == "__main__":
    main()
