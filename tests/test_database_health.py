"""PostgreSQL connections are checked without a round trip (config/postgresql).

A persistent connection is reused by the next request; one the server closed
meanwhile is replaced before the request's first query, so that request
does not fail; a healthy one is not sent `SELECT 1` first.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tokens.auth.columns import kept_cursor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)",
    ),
    pytest.mark.django_db(transaction=True),
]


def next_request() -> int:
    """A request's start (Django's request_started handling), then its first query."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def checks_counted(monkeypatch):
    """The round-trip checks (`SELECT 1`) the connection makes, counted."""
    wrapper = connection._connections[connection._alias]  # the wrapper, not the proxy
    calls = []
    check = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda: calls.append(1) or check())
    return calls


def terminate(backend: int) -> None:
    """What a server restart or failover does to a connection: the server ends it."""
    params = connection.get_connection_params()
    with psycopg.connect(
        dbname="postgres",
        autocommit=True,
        **{key: params[key] for key in ("host", "port", "user", "password") if key in params},
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    time.sleep(0.2)  # the server's goodbye reaches the socket


def test_a_healthy_connection_is_reused_without_a_round_trip(checks_counted):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    first = next_request()
    assert [next_request() for _ in range(3)] == [first] * 3
    assert checks_counted == []


def test_a_connection_the_server_closed_is_replaced_before_it_fails_a_request(checks_counted):
    backend = next_request()
    terminate(backend)
    assert next_request() != backend  # no OperationalError: a new connection answered
    assert checks_counted == [1]


def test_the_kept_cursor_is_reused_counted_and_replaced_with_its_connection():
    """The API's hot reads share one cursor per connection (its loaders ready); Django still
    wraps it, so query counts see its queries; a replaced connection gets a new one."""

    def backend_and_cursor() -> tuple[int, object]:
        wrapped = kept_cursor()
        wrapped.execute("SELECT pg_backend_pid()")
        return wrapped.fetchone()[0], wrapped.cursor

    backend, first = backend_and_cursor()
    with CaptureQueriesContext(connection) as captured:
        assert backend_and_cursor() == (backend, first)
    assert [query["sql"] for query in captured] == ["SELECT pg_backend_pid()"]

    terminate(backend)
    connection.close_if_unusable_or_obsolete()
    new_backend, replaced = backend_and_cursor()  # no OperationalError: a new connection
    assert new_backend != backend and replaced is not first
