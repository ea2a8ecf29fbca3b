"""Time the panel's big-list pages for an account seeded by `manage.py seed_scale`.

    DATABASE_URL=... python bench/pages.py [--slug scale] [--repeat 15] [--rounds 3]

Signs in as `<slug>-owner@example.com` (a superuser) and, for one member, as
that member; requests each page through Django's test Client against the
configured database (DEBUG off). For each page it prints the median wall time
over the requests and the CPU time per request (this process and, on a local
PostgreSQL, its backend), each the best of a few rounds since other processes
only ever add time; then the SQL queries and the size of the answer. The deep
pages start from cursors near the oldest row, as following "Older" that far
would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Account, Membership, User  # noqa: E402
from tokens.models import EventKind  # noqa: E402
from tokens.paging import Cursor  # noqa: E402
from tokens.selectors import events_in_account, tokens_acting_in  # noqa: E402


def _deep(streams: list, depth: int = 51) -> str:
    """A cursor `depth` rows from the oldest end: the start of the last page."""
    rows = []
    for stream in streams:
        rows += list(stream.order_by("created_at", "id")[:depth])
    rows.sort(key=lambda row: (row.created_at, row.pk))
    return str(Cursor.of(rows[min(depth, len(rows)) - 1])) if rows else ""


def pages(account: Account, member: User) -> dict[str, tuple[str, str]]:
    """Name: (who, URL) of every page to time."""
    events = f"/a/{account.slug}/events/"
    tokens = f"/a/{account.slug}/tokens/"
    deep_event = _deep(events_in_account(account))
    deep_token = _deep([tokens_acting_in(account)])
    return {
        "events: first page": ("owner", events),
        "events: last page": ("owner", f"{events}?before={deep_event}"),
        "events: kind=sign-in": ("owner", f"{events}?kind={EventKind.SIGN_IN}"),
        "events: kind=role changed": ("owner", f"{events}?kind={EventKind.ROLE_CHANGED}"),
        "events: actor=a member": ("owner", f"{events}?actor={member.pk}"),
        "events: actor=automation": ("owner", f"{events}?actor=automation"),
        "events: actor=support": ("owner", f"{events}?actor=support"),
        "events: kind + last page": (
            "owner",
            f"{events}?kind={EventKind.API_WRITE}&before={deep_event}",
        ),
        "events: token search": ("owner", f"{events}?token=terraform"),
        "events: as a member": ("member", events),
        "tokens: first page": ("owner", tokens),
        "tokens: last page": ("owner", f"{tokens}?before={deep_token}"),
        "tokens: owner=a member": ("owner", f"{tokens}?owner={member.pk}"),
        "tokens: state=expired": ("owner", f"{tokens}?state=expired"),
    }


def _backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 elsewhere).

    PostgreSQL runs on this machine: its backend's CPU time is in /proc. CPU time,
    unlike wall time, hardly moves when other processes compete for the cores.
    """
    if connection.vendor != "postgresql":
        return 0.0  # SQLite works inside this process: process_time() counts it
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(client: Client, url: str, repeat: int) -> tuple[float, float, int, int]:
    """Median wall ms, CPU ms per request (app and database), queries, bytes."""
    for _ in range(2):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
    times = []
    cpu, db = time.process_time(), _backend_cpu()
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    used = time.process_time() - cpu + _backend_cpu() - db
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    wall = statistics.median(times) * 1000
    return wall, used / repeat * 1000, len(queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default="scale")
    parser.add_argument("--repeat", type=int, default=15, help="requests per page and round")
    parser.add_argument("--rounds", type=int, default=3, help="the best round counts")
    options = parser.parse_args()
    settings.DEBUG = False
    account = Account.objects.get(slug=options.slug)
    owner = User.objects.get(email=f"{options.slug}-owner@example.com")
    member = (
        Membership.objects.filter(account=account, role="user").order_by("user_id").first().user
    )
    clients = {"owner": Client(), "member": Client()}
    clients["owner"].force_login(owner)
    clients["member"].force_login(member)
    print(f"{connection.vendor}, account {account.slug!r}, load average {os.getloadavg()[0]:.1f}")
    targets = pages(account, member)
    rounds = [
        {name: measure(clients[who], url, options.repeat) for name, (who, url) in targets.items()}
        for _ in range(options.rounds)
    ]
    print(f"best of {options.rounds} rounds of {options.repeat} requests per page")
    print("| page | median ms | CPU ms | queries | KB |\n|---|---:|---:|---:|---:|")
    for name in targets:
        wall = min(result[name][0] for result in rounds)
        cpu = min(result[name][1] for result in rounds)
        _wall, _cpu, queries, size = rounds[-1][name]
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {queries} | {size / 1024:.0f} |")


if __name__ == "__main__":
    main()
