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
from knox.models import AuthToken  # noqa: E402
from rest_framework.authtoken.models import Token as DrfToken  # noqa: E402

from accounts.constants import Plan, Role  # noqa: E402
from accounts.models import Account, Membership, Record, User, Zone  # noqa: E402
from tokens.events import Actor  # noqa: E402
from tokens.services import token_create  # noqa: E402


def seed() -> dict[str, tuple[str, str]]:
    """A user in an account with zones, and one credential per authentication scheme."""
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password", name="Bench User")
    account = Account.objects.create(name="Bench", slug="bench", plan=Plan.TEAMS)
    Membership.objects.create(user=user, account=account, role=Role.ENGINEER)
    zones = [Zone.objects.create(account=account, name=f"zone{n}.example") for n in range(20)]
    for zone in zones:
        Record.objects.create(zone=zone, type="A", name="www", content="203.0.113.1")
    actor = Actor.person(user)
    whoami = token_create(actor=actor, token_type="user", name="bench", owner=user)
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
    return {
        "GET /healthz": ("/healthz", ""),
        "GET /api/v1/whoami": ("/api/v1/whoami", f"Bearer {whoami.secret}"),
        "GET /api/v1/accounts/{id}/zones (zones:read, 10 of 20 selected)": (
            f"/api/v1/accounts/{account.pk}/zones",
            f"Bearer {scoped.secret}",
        ),
        "reference: the token lookup query alone, plain view": (
            "/bench/lookup-only",
            f"Bearer {whoami.secret}",
        ),
        "DRF TokenAuthentication whoami": ("/bench/drf/whoami", f"Token {drf.key}"),
        "knox TokenAuthentication whoami": ("/bench/knox/whoami", f"Token {knox}"),
    }


HANDLER = WSGIHandler()


def _environ(path: str, authorization: str) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
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
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    return environ


def request_wsgi(path: str, authorization: str) -> str:
    """Through the WSGI handler, as an application server calls Django."""
    environ = _environ(path, authorization)
    environ["wsgi.input"] = io.BytesIO(b"")
    status = []
    response = HANDLER(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        for _ in response:
            pass
    finally:
        response.close()
    return status[0]


CLIENT = Client()


def request_client(path: str, authorization: str) -> str:
    """Through Django's test Client (adds its own fixed cost to every request)."""
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return str(CLIENT.get(path, **extra).status_code)


request = request_wsgi


def run(path: str, authorization: str, count: int) -> float:
    """Seconds per request over `count` requests."""
    gc.collect()
    start = time.process_time()
    for _ in range(count):
        request(path, authorization)
    return (time.process_time() - start) / count


def queries_per_request(path: str, authorization: str, count: int = 20) -> float:
    with CaptureQueriesContext(connection) as captured:
        for _ in range(count):
            request(path, authorization)
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
    for name, (path, authorization) in endpoints.items():
        status = request(path, authorization)
        if not status.startswith("200"):
            raise SystemExit(f"{name}: expected 200, got {status}")
        run(path, authorization, 200)  # warm up
    queries = {name: queries_per_request(*target) for name, target in endpoints.items()}

    times: dict[str, list[float]] = {name: [] for name in endpoints}
    ratios: dict[str, list[float]] = {name: [] for name in endpoints}
    for _ in range(options.rounds):
        for name, (path, authorization) in endpoints.items():
            times[name].append(run(path, authorization, options.requests))
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
    print(f"| {'endpoint':<{width}} | per request | queries | vs /healthz |")
    print(f"|{'-' * (width + 2)}|------------:|--------:|------------:|")
    for name in endpoints:
        print(
            f"| {name:<{width}} | {median[name] * 1e6:8.1f} us | {queries[name]:7.1f} | "
            f"{ratio[name]:10.2f}x |"
        )


if __name__ == "__main__":
    main()
