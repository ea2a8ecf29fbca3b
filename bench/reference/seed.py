"""The reference's data: an account of `zones` zones with records, and a token per scheme."""

from __future__ import annotations

import secrets

from django.contrib.auth.base_user import AbstractBaseUser
from knox.models import AuthToken
from rest_framework.authtoken.models import Token as DrfToken

from bench.reference.models import Account, ApiToken, Record, Zone
from bench.reference.views import digest

# Route name -> (path, Authorization header).
Routes = dict[str, tuple[str, str]]


def seed_reference(user: AbstractBaseUser, *, zones: int = 40, records: int = 1) -> Routes:
    """Seed the reference's tables for `user`; the routes with their credentials."""
    account = Account.objects.create(name="Reference", slug=f"reference-{secrets.token_hex(4)}")
    created = Zone.objects.bulk_create(
        Zone(account=account, name=f"zone{n:02}.example") for n in range(zones)
    )
    Record.objects.bulk_create(
        Record(zone=zone, type="A", name=f"www{n}", content="203.0.113.1")
        for zone in created
        for n in range(records)
    )
    secret = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, account=account, name="reference", digest=digest(secret))
    drf = DrfToken.objects.create(user=user)
    _, knox = AuthToken.objects.create(user=user)
    bearer = f"Bearer {secret}"
    base = f"/accounts/{account.pk}"
    return {
        "healthz": ("/healthz", ""),
        "raw whoami": ("/raw/whoami", bearer),
        "DRF whoami": ("/drf/whoami", f"Token {drf.key}"),
        "knox whoami": ("/knox/whoami", f"Token {knox}"),
        "ninja-ORM whoami": ("/ninja/whoami", bearer),
        "zone": (f"{base}/zones/{created[0].pk}", bearer),
        "zones page": (f"{base}/zones", bearer),
    }
