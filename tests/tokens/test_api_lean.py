"""The lean read path (tokens.api.lean) reads the query parameters its ninja operation declares.

Each GET read is answered twice over: by its lean view (the hot path) and by ninja
(which documents it, and answers it when the lean path is not mounted). A query
parameter declared in one and not read by the other would be parsed by one path
and ignored by the other: here every lean route's parameters are compared with the
OpenAPI document ninja writes for the same path.
"""

from __future__ import annotations

import re

from tokens.api import api
from tokens.api.lean import READS, query_parameters

PREFIX = "/api/v1/"


def _openapi_path(route: str) -> str:
    """`accounts/<id:account_id>/zones` as OpenAPI writes it (`/api/v1/accounts/{account_id}/…`)."""
    return PREFIX + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _declared_query_parameters() -> dict[str, set[str]]:
    paths = api.get_openapi_schema(path_prefix=PREFIX.rstrip("/"))["paths"]
    return {
        path: {p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"}
        for path, operations in paths.items()
        if "get" in operations
    }


def test_every_lean_route_reads_exactly_the_query_parameters_ninja_declares():
    declared = _declared_query_parameters()
    assert READS, "no lean reads registered"
    for route in READS:
        path = _openapi_path(route)
        assert path in declared, f"{route}: ninja serves no GET at {path}"
        assert set(query_parameters(route)) == declared[path], route


def test_the_paged_reads_are_the_lists():
    """Spot check of the table above, written out: lists page, single resources do not."""
    assert query_parameters("tokens") == {"page", "per_page"}
    assert query_parameters("accounts/<id:account_id>/zones") == {"page", "per_page"}
    assert query_parameters("accounts/<id:account_id>/zones/<id:zone_id>") == set()
    assert query_parameters("whoami") == set()
