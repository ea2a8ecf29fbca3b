"""`make bench-exchange`: the trusted-publisher exchange beside whoami (docs/performance.md).

One process, one temporary SQLite database (BENCH_POSTGRES_URL: PostgreSQL), the WSGI
handler; a real issuer on 127.0.0.1 (tests/support/issuer.py) whose keys are fetched once
and cached, as on a warm app server.
Each exchange needs a fresh ID token (a jti is accepted once): they are signed before the
clock starts. Requests run in batches of 40; between batches, outside the timing, the
minted tokens are deleted (at most 50 live per publisher) and the rate-limit counters reset.
Printed: the median per-request CPU time of each, their ratio (target: within 3x), the
queries of one exchange, and the CPU time spent inside SQLite (its statements and commit:
what no Python above the database can take away), measured in separate batches.

    python bench/exchange.py [--batches N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Account, Membership, User, Zone  # noqa: E402
from bench.run import DATABASE_NAME, Endpoint, request  # noqa: E402
from tests.support.issuer import OidcIssuer  # noqa: E402
from tokens.events import Actor  # noqa: E402
from tokens.models import Token  # noqa: E402
from tokens.publishers.services import publisher_create  # noqa: E402
from tokens.publishers.validation import publisher_input_clean  # noqa: E402
from tokens.services.issue import token_create  # noqa: E402

BATCH = 40


def seed(issuer: OidcIssuer) -> str:
    """An account, its superuser, a zone and a publisher; returns a whoami credential."""
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password", name="Bench User")
    account = Account.objects.create(name="Bench", slug="bench", plan="teams")
    Membership.objects.create(user=user, account=account, role="superuser")
    zone = Zone.objects.create(account=account, name="bench.example")
    cleaned = publisher_input_clean(
        account,
        name="Deploys",
        provider="github",
        issuer=issuer.issuer,
        conditions={
            "repository": "octo-org/octo-repo",
            "repository_id": "74",
            "repository_owner_id": "65",
            "environment": "prod",
        },
        grant={"scopes": ["zones:read", "zones:write"], "resources": {"zones": [zone.pk]}},
    )
    publisher_create(actor=Actor.person(user), account=account, cleaned=cleaned)
    created = token_create(actor=Actor.person(user), token_type="user", name="bench", owner=user)
    return f"Bearer {created.secret}"


def exchange_endpoint(id_token: str) -> Endpoint:
    body = json.dumps({"token": id_token}).encode()
    return Endpoint("/api/v1/oidc/exchange", method="POST", body=body, status=201)


def timed(endpoints: list[Endpoint]) -> float:
    """CPU seconds per request over `endpoints`, each sent once."""
    gc.collect()
    start = time.process_time()
    for endpoint in endpoints:
        status = request(endpoint)
        assert status.startswith(str(endpoint.status)), status
    return (time.process_time() - start) / len(endpoints)


def in_database(endpoints: list[Endpoint]) -> float:
    """CPU seconds per request spent in the database (statements and commits) over
    `endpoints`: on SQLite, the part of the exchange no Python above it can remove (on
    PostgreSQL, only the driver's side: the server's CPU is another process's)."""
    spent = 0.0
    commit = connection._commit

    def statement(run: Any, sql: str, *args: Any) -> Any:
        nonlocal spent
        start = time.process_time()
        try:
            return run(sql, *args)
        finally:
            spent += time.process_time() - start

    def committed() -> None:
        nonlocal spent
        start = time.process_time()
        try:
            commit()
        finally:
            spent += time.process_time() - start

    connection._commit = committed  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(statement):
            for endpoint in endpoints:
                request(endpoint)
    finally:
        del connection._commit
    return spent / len(endpoints)


def reset() -> None:
    Token.objects.filter(minted_by__isnull=False).delete()
    cache.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5, help=f"batches of {BATCH} per round")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    issuer = OidcIssuer(audience=settings.KEYWARD_OIDC_AUDIENCE)
    with issuer:
        settings.KEYWARD_OIDC_INSECURE_ISSUERS = [issuer.issuer]
        whoami = Endpoint("/api/v1/whoami", seed(issuer))
        count = BATCH * (options.batches * (options.rounds + 1) + 2)
        tokens = iter([issuer.github_token() for _ in range(count)])
        warm = [exchange_endpoint(next(tokens)) for _ in range(BATCH)]
        timed(warm)  # fetches and caches the JWKS, warms every path
        timed([whoami] * BATCH)
        reset()
        queries: list[str] = []

        def counted(run: Any, sql: str, *args: Any) -> Any:
            queries.append(sql)
            return run(sql, *args)

        with connection.execute_wrapper(counted):
            request(exchange_endpoint(next(tokens)))
        reset()

        database_times = []
        for _ in range(options.batches):
            database_times.append(
                in_database([exchange_endpoint(next(tokens)) for _ in range(BATCH)])
            )
            reset()

        exchange_times, whoami_times, ratios = [], [], []
        for _ in range(options.rounds):
            spent_exchange, spent_whoami = [], []
            for _ in range(options.batches):
                batch = [exchange_endpoint(next(tokens)) for _ in range(BATCH)]
                spent_exchange.append(timed(batch))
                reset()
                spent_whoami.append(timed([whoami] * BATCH))
            exchange_times.append(statistics.median(spent_exchange))
            whoami_times.append(statistics.median(spent_whoami))
            ratios.append(exchange_times[-1] / whoami_times[-1])

    exchange_cost, whoami_cost = statistics.median(exchange_times), statistics.median(whoami_times)
    print(
        f"\n{BATCH} requests x {options.batches} batches x {options.rounds} rounds, "
        f"Django {django.get_version()}, {DATABASE_NAME}, one process, WSGI handler; "
        "median CPU time.\n"
    )
    print("| endpoint | per request | queries |")
    print("|---|---:|---:|")
    print(f"| GET /api/v1/whoami | {whoami_cost * 1e6:8.1f} us | |")
    print(f"| POST /api/v1/oidc/exchange | {exchange_cost * 1e6:8.1f} us | {len(queries)} |")
    database_cost = statistics.median(database_times)
    print(
        f"| of which in {DATABASE_NAME} (statements, commit) | {database_cost * 1e6:8.1f} us | |"
        f"\n\nThe database's part alone is {database_cost / whoami_cost:.2f}x whoami."
    )
    ratio = statistics.median(ratios)
    print(f"\nexchange / whoami: {ratio:.2f}x (target: within 3x){'' if ratio <= 3 else ' !'}")


if __name__ == "__main__":
    main()
