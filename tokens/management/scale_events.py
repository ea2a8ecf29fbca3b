"""seed_scale's event log: a million events of every kind over two years, quickly.

Written with bulk_create in large batches; a big load drops the log's indexes and
builds them again at the end (even when interrupted). The command
(tokens/management/commands/seed_scale.py) seeds the account, people, zones and tokens
the events refer to, as a `World`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q

from accounts.models import Account, Membership
from tokens.models import ActorKind, Event, EventChannel, EventKind, TokenType

HISTORY = timedelta(days=730)  # events and tokens are spread over the last two years
BATCH = 5000
REBUILD_INDEXES_FROM = 50_000  # events: a bigger load drops the log's indexes and rebuilds them
# Kinds of events and how often they occur (out of 1000).
EVENT_MIX = (
    ("api_write", 800),
    ("token_lifecycle", 90),
    ("sign_in", 70),
    ("sudo", 20),
    ("role_changed", 10),
    ("support_or_system", 10),
)


@dataclass(frozen=True)
class TokenInfo:
    """What an event needs to know of a token (its snapshot)."""

    id: int
    type: str
    name: str
    display: str
    owner_id: int | None

    @property
    def label(self) -> str:
        return f"Token “{self.name}” ({self.display})"


@dataclass
class World:
    """The account and the people, zones and tokens that events refer to."""

    account: Account
    people: list[tuple[int, str, str]]  # (user id, email, role)
    superusers: list[tuple[int, str]]
    zone_ids: list[int]
    tokens: list[TokenInfo]


class EventSeeder:
    """Writes a World's events, drawing from `rng`; `say` reports progress."""

    def __init__(self, rng: random.Random, now: datetime, say: Callable[[str], Any]) -> None:
        self.rng, self.now, self.say = rng, now, say

    def events(self, world: World, count: int) -> None:
        """Top up the events of `world` to `count` (a big load drops and rebuilds the log's
        indexes)."""
        missing = count - events_seeded_for(world.account)
        if missing <= 0:
            return
        if missing < REBUILD_INDEXES_FROM:
            self._insert_events(world, missing)
            return
        # Maintaining a dozen indexes row by row costs more than building them once.
        with connection.schema_editor() as editor:
            for index in _log_indexes():
                editor.remove_index(Event, index)
        try:
            self._insert_events(world, missing)
        finally:  # even when interrupted: the log is never left without its indexes
            started = time.monotonic()
            restore_log_indexes()
            self.say(f"    event log indexes rebuilt: {time.monotonic() - started:.1f} s")

    def _insert_events(self, world: World, missing: int) -> None:
        started = time.monotonic()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # a crash would lose the last batches, no more
                cursor.execute("SET synchronous_commit TO off")
        kinds = [kind for kind, weight in EVENT_MIX for _ in range(weight)]
        start = self.now - HISTORY
        step = HISTORY / missing
        created_at = start
        batch: list[Event] = []
        for n in range(missing):
            if self.rng.random() >= 0.05:  # one event in twenty shares its predecessor's time
                created_at = start + step * n + timedelta(microseconds=self.rng.randint(0, 999))
            batch.append(self._event(world, self.rng.choice(kinds), created_at))
            if len(batch) == BATCH:
                Event.objects.bulk_create(batch)
                batch = []
                if (n + 1) % 100_000 == 0:
                    self.say(f"    {n + 1:,} events, {time.monotonic() - started:.1f} s")
        Event.objects.bulk_create(batch)

    def _event(self, world: World, sort: str, created_at: datetime) -> Event:
        rng = self.rng
        ip = f"203.0.113.{rng.randint(1, 254)}"
        if sort == "api_write" and world.tokens:
            token = rng.choice(world.tokens)
            zone = f"zone-{rng.randrange(max(1, len(world.zone_ids))):05}.{world.account.slug}"
            return Event(
                kind=EventKind.API_WRITE,
                created_at=created_at,
                account=world.account,
                actor_kind=ActorKind.TOKEN,
                actor_user_id=token.owner_id,
                actor_token_id=token.id,
                actor_token_type=token.type,
                actor_label=token.label,
                channel=EventChannel.API_TOKEN,
                **_about(token),  # no target token: the acting one (tokens.events.event_record)
                ip=ip,
                summary=f"{token.label} created record www A {ip} in {zone}.example",
                details={"zone": zone, "type": "A", "content": ip},
            )
        if sort == "token_lifecycle" and world.tokens:
            return self._token_event(world, rng.choice(world.tokens), created_at, ip)
        if sort == "role_changed":
            actor_id, actor_email = rng.choice(world.superusers)
            _pk, email, role = rng.choice(world.people)
            return Event(
                kind=EventKind.ROLE_CHANGED,
                created_at=created_at,
                account=world.account,
                actor_kind=ActorKind.USER,
                actor_user_id=actor_id,
                actor_label=actor_email,
                channel=EventChannel.PANEL,
                ip=ip,
                summary=f"{actor_email} changed the role of {email} from user to {role}",
                details={"member": email, "before": {"role": "user"}, "after": {"role": role}},
            )
        if sort == "support_or_system" and world.tokens:
            token = rng.choice(world.tokens)
            support = rng.random() < 0.5
            label = "support: support@example.com" if support else "stale-token cleanup"
            return Event(
                kind=EventKind.TOKEN_REVOKED,
                created_at=created_at,
                account=world.account if token.type == TokenType.AUTOMATION else None,
                actor_kind=ActorKind.SUPPORT if support else ActorKind.SYSTEM,
                actor_label=label,
                channel=EventChannel.ADMIN if support else EventChannel.COMMAND,
                **_about(token),
                summary=f"“{token.name}” ({token.display}) revoked by "
                f"{'support staff' if support else 'the stale-token cleanup'} ({label})",
                details={"revoked_by": "support" if support else "cleanup"},
            )
        person_id, email, _role = rng.choice(world.people)
        sudo = sort == "sudo"
        return Event(
            kind=EventKind.SUDO if sudo else EventKind.SIGN_IN,
            created_at=created_at,
            actor_kind=ActorKind.USER,
            actor_user_id=person_id,
            actor_label=email,
            channel=EventChannel.PANEL,
            ip=ip,
            summary=f"{email} confirmed their password (sudo mode)"
            if sudo
            else f"{email} signed in",
        )

    def _token_event(self, world: World, token: TokenInfo, created_at: datetime, ip: str) -> Event:
        if token.type == TokenType.AUTOMATION:
            actor_id, actor_email = self.rng.choice(world.superusers)
        else:
            actor_id, actor_email = next(
                (pk, email) for pk, email, _role in world.people if pk == token.owner_id
            )
        kind = self.rng.choice((EventKind.TOKEN_CREATED, EventKind.TOKEN_UPDATED))
        details: dict[str, Any] = {"permissions": {"name": token.name, "scopes": ["zones:read"]}}
        if kind == EventKind.TOKEN_UPDATED:
            details = {
                "before": {"name": token.name, "scopes": ["zones:read"]},
                "after": {"name": token.name, "scopes": ["zones:read", "zones:write"]},
            }
        verb = "created" if kind == EventKind.TOKEN_CREATED else "changed the permissions of"
        return Event(
            kind=kind,
            created_at=created_at,
            account=world.account if token.type == TokenType.AUTOMATION else None,
            actor_kind=ActorKind.USER,
            actor_user_id=actor_id,
            actor_label=actor_email,
            channel=EventChannel.PANEL,
            **_about(token),
            ip=ip,
            summary=f"{actor_email} {verb} “{token.name}” ({token.display})",
            details=details,
        )


def _about(token: TokenInfo) -> dict[str, Any]:
    """An event's snapshot of the token it is about."""
    return {
        "token_id": token.id,
        "token_name": token.name,
        "token_display": token.display,
        "token_type": token.type,
        "token_owner_id": token.owner_id,
    }


# --------------------------------------------------------------------------- shared reads


def events_seeded_for(account: Account) -> int:
    """Events in the account's name plus the personal events of its members (sign-ins and
    sudo included, which only the person sees)."""
    members = Membership.objects.filter(account=account).values("user_id")
    mine = Q(token_owner_id__in=members) | Q(actor_user_id__in=members)
    return Event.objects.filter(Q(account=account) | Q(account__isnull=True) & mine).count()


def _log_indexes() -> list[Any]:
    """The event log's own indexes (Event.Meta.indexes) that exist in the database."""
    with connection.cursor() as cursor:
        names = connection.introspection.get_constraints(cursor, Event._meta.db_table)
    return [index for index in Event._meta.indexes if index.name in names]


def restore_log_indexes() -> None:
    """Create any index of the event log that is missing (say, after an interrupted load)."""
    missing = [index for index in Event._meta.indexes if index not in _log_indexes()]
    if missing:
        with connection.schema_editor() as editor:
            for index in missing:
                editor.add_index(Event, index)
