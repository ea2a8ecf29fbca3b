"""The reference's plain views: /healthz, the raw-SQL token lookup, and zones the ORM way."""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, JsonResponse

from bench.reference.models import ApiToken, Zone


def healthz(request: HttpRequest) -> JsonResponse:
    """One trivial query, as Keyward's /healthz."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_TOKEN_SQL = (
    "SELECT t.id, t.name, t.account_id, u.id, u.email "  # table names only
    f"FROM {ApiToken._meta.db_table} t JOIN {get_user_model()._meta.db_table} u "
    "ON u.id = t.user_id WHERE t.digest = %s"
)


def bearer_token(request: HttpRequest) -> tuple | None:
    """The token row for `Authorization: Bearer <secret>`: ONE query by digest, or None."""
    scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Bearer" or not secret:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [digest(secret)])
        return cursor.fetchone()


def _unauthorized() -> JsonResponse:
    return JsonResponse({"error": "unauthorized"}, status=401)


def _not_found() -> JsonResponse:
    return JsonResponse({"error": "not_found"}, status=404)


def raw_whoami(request: HttpRequest) -> JsonResponse:
    """The limit: the token and its user from one raw query, as JSON."""
    row = bearer_token(request)
    if row is None:
        return _unauthorized()
    token_id, name, account_id, user_id, email = row
    return JsonResponse(
        {
            "data": {
                "token": {"id": token_id, "name": name, "account_id": account_id},
                "user": {"id": user_id, "email": email},
            }
        }
    )


def _zone_json(zone: Zone) -> dict[str, object]:
    return {
        "id": zone.pk,
        "name": zone.name,
        "record_count": zone.record_count,  # type: ignore[attr-defined]
        "created_at": zone.created_at,
    }


def _zones(account_id: int):
    return Zone.objects.filter(account_id=account_id).annotate(record_count=Count("records"))


def zone(request: HttpRequest, account_id: int, zone_id: int) -> JsonResponse:
    """One zone of the token's account: raw-SQL authentication, then the ORM's get()."""
    row = bearer_token(request)
    if row is None:
        return _unauthorized()
    if row[2] != account_id:
        return _not_found()
    try:
        found = _zones(account_id).get(pk=zone_id)
    except Zone.DoesNotExist:
        return _not_found()
    return JsonResponse({"data": _zone_json(found)})


def zones(request: HttpRequest, account_id: int) -> JsonResponse:
    """A page of 30 zones with its pagination: raw-SQL authentication, then Paginator."""
    row = bearer_token(request)
    if row is None:
        return _unauthorized()
    if row[2] != account_id:
        return _not_found()
    paginator = Paginator(_zones(account_id).order_by("name"), 30)
    page = paginator.get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "data": [_zone_json(found) for found in page],
            "pagination": {
                "current_page": page.number,
                "per_page": paginator.per_page,
                "total_entries": paginator.count,
                "total_pages": paginator.num_pages,
            },
        }
    )
