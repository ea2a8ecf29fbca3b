"""Reads of trusted publishers that the page, the API and the exchange share."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from tokens.models import Token
from tokens.publishers.models import Publisher


def publishers_trusting(issuer: str) -> list[Publisher]:
    """Every publisher, of any account, that trusts ID tokens from `issuer` (one query)."""
    return list(Publisher.objects.filter(issuer=issuer).select_related("account").order_by("pk"))


def publishers_of(account: Account, *, now: datetime | None = None) -> QuerySet[Publisher]:
    """An account's publishers, by name, each with `live_tokens`: its minted tokens alive now."""
    now = now or timezone.now()
    return Publisher.objects.filter(account=account).annotate(
        live_tokens=Count("minted_tokens", filter=Q(minted_tokens__expires_at__gt=now))
    )


def publisher_in(account: Account, publisher_id: int) -> Publisher | None:
    """The account's publisher `publisher_id` (None for another account's: not found)."""
    return Publisher.objects.filter(account=account, pk=publisher_id).first()


def minted_live(publisher: Publisher, *, now: datetime) -> QuerySet[Token]:
    """The tokens a publisher minted that still work."""
    return Token.objects.filter(minted_by=publisher).active(now)


def minted_expired_before(cutoff: datetime) -> QuerySet[Token]:
    """Minted tokens that expired before `cutoff` (the cleanup deletes them a day on)."""
    return Token.objects.filter(minted_run__isnull=False, expires_at__lt=cutoff).order_by("pk")
