"""GET /healthz: can this app server reach its database, and how is its cache?"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import cache

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (one trivial query), 503 when it does not.

    `"cache"` is "ok" or "unavailable", and never fails the check: without the
    cache, limits fail open and requests are still served (SPEC 1). It reports
    the last cache call's outcome and pings the cache at most every few seconds,
    so this stays the cheap reference the benchmarks divide by.
    """
    cache_status = cache.status()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check failed: database unreachable")
        return JsonResponse({"status": "unavailable", "cache": cache_status}, status=503)
    return JsonResponse({"status": "ok", "cache": cache_status})
