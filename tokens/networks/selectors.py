"""What a token's page shows of its networks (SPEC 19): its new-network alerts and the
networks it is known to use."""

from __future__ import annotations

from datetime import datetime

from tokens.models import Event, EventKind
from tokens.networks.models import TokenNetwork
from tokens.networks.services import KNOWN_FOR

RECENT_ALERTS = 10


def token_network_alerts(token_id: int, limit: int = RECENT_ALERTS) -> list[Event]:
    """The token's latest `token.new_network` events, newest first (one query)."""
    return list(
        Event.objects.filter(token_id=token_id, kind=EventKind.TOKEN_NEW_NETWORK).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def token_known_networks(token_id: int, now: datetime) -> list[TokenNetwork]:
    """The networks the token used in the last 90 days, most recently seen first."""
    return list(
        TokenNetwork.objects.filter(token_id=token_id, last_seen__gte=now - KNOWN_FOR).order_by(
            "-last_seen", "network"
        )
    )
