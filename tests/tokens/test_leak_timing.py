"""A leak report answers in the same time whether its strings are live or not (SPEC 12, 19).

The request queues the strings' digests; a worker revokes and emails. Before, the
revocation and its email ran in the request and a live token's report took several times
longer than an unknown one's: the answer's time told an attacker which strings were live.
"""

from __future__ import annotations

import json
import statistics
import time

import pytest
from django.core import mail
from huey.storage import SqliteStorage

from tests.factories import issue_automation_token
from tests.tokens.conftest import queue_on, wait_for, worker_running
from tokens import crypto
from tokens.models import Event, Token

REPORTS = 25


def _report(client, secret: str, ip: str) -> float:
    started = time.perf_counter()
    answer = client.post(
        "/api/v1/credentials/revoke",
        data=json.dumps({"credentials": [secret]}),
        content_type="application/json",
        REMOTE_ADDR=ip,
    )
    took = time.perf_counter() - started
    assert answer.status_code == 202 and answer.json() == {"data": {"received": 1}}
    return took


@pytest.mark.django_db(transaction=True)
def test_a_live_tokens_report_answers_as_fast_as_an_unknown_strings(
    client, account, member_factory, tmp_path
):
    owner = member_factory(account, "superuser", email="owner@example.com")
    live = [issue_automation_token(account, name=f"CI {n}", creator=owner) for n in range(REPORTS)]
    unknown = [crypto.generate("automation") for _ in range(REPORTS)]  # well-formed, not ours
    _report(client, crypto.generate("automation"), "192.0.2.1")  # warm up the route

    took: dict[str, list[float]] = {"live": [], "unknown": []}
    with queue_on(SqliteStorage("kwtest", filename=str(tmp_path / "queue.sqlite3"))):
        for n in range(REPORTS):  # interleaved, so drift hits both alike
            took["live"].append(_report(client, live[n].secret, f"198.51.100.{n + 1}"))
            took["unknown"].append(_report(client, unknown[n], f"203.0.113.{n + 1}"))
        assert Token.objects.filter(account=account).count() == REPORTS  # not yet revoked
        assert mail.outbox == []

        # The worker revokes, then emails (one thread: SQLite's in-memory test database
        # takes one writer at a time; the emails come last, so mail.outbox says when).
        with worker_running(workers=1):
            wait_for(lambda: len(mail.outbox) == REPORTS, seconds=60)
    assert not Token.objects.filter(account=account).exists()

    live_median = statistics.median(took["live"])
    unknown_median = statistics.median(took["unknown"])
    # Same work either way (digests, one queued task): within 50% and 3 ms of each other.
    assert live_median <= unknown_median * 1.5 + 0.003, (live_median, unknown_median)
    assert unknown_median <= live_median * 1.5 + 0.003, (live_median, unknown_median)
    revoked = Event.objects.filter(kind="token.revoked", details__revoked_by="leak_report")
    assert revoked.count() == REPORTS
    assert {m.to[0] for m in mail.outbox} == {owner.email}
