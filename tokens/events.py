"""Who acts, and the one function that writes an event row (SPEC 9).

Imports nothing above models, so every app (accounts included) may record events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.models import Account, User
from tokens.models import ActorKind, Event, Token


@dataclass(frozen=True)
class Actor:
    """Who performs a write, as the event log records it."""

    kind: str
    user: User | None = None
    token_id: int | None = None
    token_type: str = ""
    label: str = ""
    ip: str | None = None

    @classmethod
    def person(cls, user: User, ip: str | None = None) -> Actor:
        return cls(ActorKind.USER, user=user, label=user.email, ip=ip)

    @classmethod
    def support(cls, user: User, ip: str | None = None) -> Actor:
        return cls(ActorKind.SUPPORT, user=user, label=f"support: {user.email}", ip=ip)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(ActorKind.SYSTEM, label=label)

    @classmethod
    def api_token(
        cls, *, token_id: int, token_type: str, owner: User | None, label: str, ip: str | None
    ) -> Actor:
        return cls(
            ActorKind.TOKEN,
            user=owner,
            token_id=token_id,
            token_type=token_type,
            label=label,
            ip=ip,
        )


def event_record(
    *,
    kind: str,
    actor: Actor,
    summary: str,
    account: Account | None = None,
    token: Token | None = None,
    details: Mapping[str, Any] | None = None,
) -> Event:
    """Append one event to the log. Callers pass no secret, ever."""
    return Event.objects.create(
        kind=kind,
        account=account,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_token_id=actor.token_id,
        actor_token_type=actor.token_type,
        actor_label=actor.label[:200],
        token_id=token.pk if token else None,
        token_name=token.name if token else "",
        token_display=token.display if token else "",
        token_type=token.type if token else "",
        token_owner_id=token.user_id if token else None,
        ip=actor.ip or None,
        summary=summary[:300],
        details=dict(details or {}),
    )
