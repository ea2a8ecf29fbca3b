"""Each jti once, across app servers (SPEC 18): two processes sharing one database, and (on
PostgreSQL) two threads with their own connections, exchange one ID token at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from tests.tokens.publishers.conftest import exchange
from tokens.models import Token

ROOT = Path(__file__).resolve().parents[3]


def _server(tmp_path: Path, issuer, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        "KEYWARD_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        "KEYWARD_OIDC_INSECURE_ISSUERS": issuer.issuer,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tokens.publishers.app_server", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_app_servers_sharing_the_database_accept_an_id_token_once(tmp_path, issuer):
    setup = _server(tmp_path, issuer, "setup", issuer.issuer)
    assert setup.wait(timeout=120) == 0, setup.stderr.read() if setup.stderr else ""

    id_token = issuer.github_token()
    servers = [_server(tmp_path, issuer, "exchange", id_token) for _ in range(2)]
    answers = sorted(server.communicate(timeout=120)[0].strip() for server in servers)

    assert answers[0].startswith("201"), answers
    assert answers[1].startswith("401 replayed: "), answers
    # And a third, later, on either: still refused.
    late = _server(tmp_path, issuer, "exchange", id_token).communicate(timeout=120)[0]
    assert late.startswith("401 replayed: ")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_connections_exchanging_one_id_token_at_once_mint_one_token(issuer, world):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections need PostgreSQL (DATABASE_URL)")
    from django.test import Client

    world.add(issuer)
    id_token = issuer.github_token()
    start = threading.Barrier(4)
    statuses: list[int] = []

    def one() -> None:
        start.wait()
        try:
            statuses.append(exchange(Client(), id_token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 401, 401, 401]
    assert Token.objects.count() == 1
