"""PostgreSQL, Django's backend, with a connection health check that costs no round trip.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` to the server before the first
query of every request that reuses a persistent connection: a round trip, and
CPU on both sides, that doubled the cost of /healthz. Here the check looks at
the connection's socket first. Between requests a healthy connection has
nothing to read; one the server has closed (a restart or failover,
`pg_terminate_backend`, a proxy's idle timeout) has the server's last message
and the end of the stream waiting. Only then is Django's `SELECT 1` run, and
the connection replaced if it fails. A connection on which a query failed is
still checked with a query at the end of that request, as Django does.

`kept_cursor()` gives the API's hot reads a cursor kept on the connection: a new
psycopg cursor starts with empty caches of the loaders for its result's columns, and
filling them for the bearer query's 40 columns cost about 20 us of a whoami's 370.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base


def _has_news(connection: object) -> bool:
    """Whether an idle psycopg connection has something to read (or is known to be broken)."""
    if getattr(connection, "broken", False) or getattr(connection, "closed", True):
        return True
    try:
        readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)  # type: ignore[attr-defined]
    except Exception:  # a socket psycopg cannot give any more: as good as broken
        return True
    return bool(readable)


class DatabaseWrapper(base.DatabaseWrapper):
    _kept: tuple[Any, Any] | None = None  # (the psycopg connection, its kept cursor)

    def kept_cursor(self) -> Any:
        """A cursor for one statement whose rows are fetched at once (never held open
        across other queries: they would share it), kept while the connection lives.

        Wrapped as Django wraps every cursor, so query logging and execute wrappers (the
        tests' query counts) see its queries; never closed by its user (no `with`).
        """
        django: Any = self  # _prepare_cursor: Django's wrapping, which django-stubs omits
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            # A new connection (the old one closed or replaced) gets a new cursor; the old
            # pair is held until then, so the identity test cannot meet a reused address.
            if self._kept is None or self._kept[0] is not self.connection:
                self._kept = (self.connection, self.create_cursor())
            return django._prepare_cursor(self._kept[1])

    def close_if_health_check_failed(self) -> None:
        """Django's check (run before a request's first query), the socket looked at first."""
        django: Any = self  # health_check_*: attributes django-stubs does not declare
        if (
            self.connection is None
            or self.pool
            or not django.health_check_enabled
            or django.health_check_done
        ):
            return
        if _has_news(self.connection) and not self.is_usable():
            self.close()
        django.health_check_done = True
