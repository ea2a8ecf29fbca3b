"""Who acts, and the one function that writes an event row (SPEC 9).

Imports nothing above models (and tokens.webhooks.emit, which imports only models), so
every app (accounts included) may record events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.models import Account, User
from tokens.models import ActorKind, Event, EventChannel, Token, TokenType
from tokens.webhooks.emit import webhook_emit_event

__all__ = ["Actor", "EventChannel", "event_record"]


@dataclass(frozen=True)
class Actor:
    """Who performs a write, and through which channel, as the event log records it.

    The channel says how they came in: a person in the panel (the default of
    `person`), the API with a password or a token, support in the admin, a
    management command, a leak report. A call site that is not the panel says so.
    """

    kind: str
    channel: str
    user: User | None = None
    token_id: int | None = None
    token_type: str = ""
    token_name: str = ""
    token_display: str = ""
    label: str = ""
    ip: str | None = None
    # A token minted by a trusted publisher: the CI run it was minted for (SPEC 18). Its
    # events (API writes) carry it.
    run: Mapping[str, str] | None = None

    @classmethod
    def person(
        cls, user: User, ip: str | None = None, *, channel: str = EventChannel.PANEL
    ) -> Actor:
        """A person: in the panel, or (`channel=`) the API with their password, or a command."""
        return cls(ActorKind.USER, channel, user=user, label=user.email, ip=ip)

    @classmethod
    def support(cls, user: User, ip: str | None = None) -> Actor:
        """Support staff, in the Django admin."""
        return cls(
            ActorKind.SUPPORT, EventChannel.ADMIN, user=user, label=f"support: {user.email}", ip=ip
        )

    @classmethod
    def system(cls, label: str, *, channel: str = EventChannel.COMMAND) -> Actor:
        """Keyward itself: a management command, or (`channel=`) a leak report."""
        return cls(ActorKind.SYSTEM, channel, label=label)

    @classmethod
    def api_token(
        cls,
        *,
        token_id: int,
        token_type: str,
        owner: User | None,
        name: str,
        display: str,
        ip: str | None,
        run: Mapping[str, str] | None = None,
    ) -> Actor:
        """A token calling the API (Bearer): its owner for user tokens, None for automation.

        `run`: a minted token's CI run (SPEC 18), recorded with each of its events."""
        return cls(
            ActorKind.TOKEN,
            EventChannel.API_TOKEN,
            user=owner,
            token_id=token_id,
            token_type=token_type,
            token_name=name,
            token_display=display,
            label=f"Token “{name}” ({display})",
            ip=ip,
            run=run,
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
    """Append one event to the log. Callers pass no secret, ever.

    `token` is the token acted on. Without one, a token that acts (an API write) is
    the event's token: the log's Token column and token filter then name it. A token
    minted by a trusted publisher adds its CI run to the details (`run`).
    """
    if token is not None:
        about = {
            "token_id": token.pk,
            "token_name": token.name,
            "token_display": token.display,
            "token_type": token.type,
            "token_owner_id": token.user_id,
        }
    elif actor.token_id is not None:
        about = {
            "token_id": actor.token_id,
            "token_name": actor.token_name,
            "token_display": actor.token_display,
            "token_type": actor.token_type,
            # A user token's owner; an automation token has none (Token.user is None).
            "token_owner_id": actor.user.pk
            if actor.user and actor.token_type == TokenType.USER
            else None,
        }
    else:
        about = {}
    event = Event.objects.create(
        kind=kind,
        account=account,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_token_id=actor.token_id,
        actor_token_type=actor.token_type,
        actor_label=actor.label[:200],
        channel=actor.channel,
        ip=actor.ip or None,
        summary=summary[:300],
        details={**(details or {}), **({"run": dict(actor.run)} if actor.run else {})},
        **about,
    )
    # The event kinds that are webhook types reach the account's webhooks (SPEC 19).
    webhook_emit_event(event, account)
    return event
