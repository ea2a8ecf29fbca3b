"""Success answers: `{"data": ...}` serialised with orjson, never cached."""

from __future__ import annotations

import math
from typing import Any

import orjson
from django.http import HttpResponse
from ninja import Query

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
# The paging parameters of every list (ninja documents and checks them; so does tokens.api.lean).
PAGE = Query(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
PER_PAGE = Query(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE, description="At most 100.")

# Datetimes as RFC 3339 in UTC with "Z"; SQLite hands naive UTC datetimes to raw queries.
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def ok(data: Any, status: int = 200, **beside: Any) -> HttpResponse:
    """A success answer; never cached (tokens, and once a secret, travel in API answers)."""
    response = HttpResponse(
        orjson.dumps({"data": data, **beside}, option=_JSON_OPTIONS),
        status=status,
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    return response


def no_content() -> HttpResponse:
    """204, for a deletion; like every answer, never cached."""
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


def pagination(page: int, per_page: int, total: int) -> dict[str, int]:
    return {
        "current_page": page,
        "per_page": per_page,
        "total_entries": total,
        "total_pages": max(1, math.ceil(total / per_page)),
    }
