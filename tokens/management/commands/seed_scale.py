"""Create one big account to measure Keyward at scale: thousands of tokens, a million events.

`manage.py seed_scale [--tokens N] [--zones M] [--events K] [--slug scale] [--reset]`

The account (slug `scale`, plan enterprise) gets a superuser `scale-owner@example.com`
(password `keyward-demo`) and members, M zones with a few records each, N tokens
(user and automation, some with selected zones, some expired) and K events spread
over two years and every kind, some sharing a timestamp. Rows are written with
bulk_create in large batches, not through the services (which would take hours);
token digests come from tokens.crypto and the secrets are thrown away unprinted.

Run it again and it tops up what is missing; `--reset` deletes the account and its
people, tokens and events first. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.constants import Plan, RecordType, Role
from accounts.models import Account, Membership, Record, User, Zone
from tokens import crypto
from tokens.kinds import BY_KIND, Kind
from tokens.models import ActorKind, Event, EventChannel, EventKind, Token, TokenType
from tokens.selectors import tokens_acting_in

_ZONES = BY_KIND[Kind.ZONES]  # the kind whose selections the seed fills

PASSWORD = "keyward-demo"
HISTORY = timedelta(days=730)  # events and tokens are spread over the last two years
BATCH = 5000
REBUILD_INDEXES_FROM = 50_000  # events: a bigger load drops the log's indexes and rebuilds them
TOKENS_PER_MEMBER = 40  # members scale with tokens: nobody nears the 100-token limit
ROLE_CYCLE = (Role.SUPERUSER, Role.ENGINEER, Role.ENGINEER, Role.USER, Role.BILLING)
USER_SCOPES = (
    ["global"],
    ["global:read"],
    ["zones:read"],
    ["zones:read", "zones:write"],
    ["zones:read", "domains:read", "services:read"],
)
AUTOMATION_SCOPES = {
    Role.ENGINEER: (["zones:read", "zones:write"], ["purge_select"], ["global"]),
    Role.USER: (["zones:read"], ["global:read"]),
    Role.BILLING: (["registrar:read", "registrar:write"],),
}
PURPOSES = ("ci deploy", "terraform", "backup", "monitoring", "laptop", "dns sync", "cdn purge")
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


class Command(BaseCommand):
    help = "Create (or top up) a big account for scale measurements. Prints no secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="scale", help="the account's slug (default: scale)")
        parser.add_argument("--tokens", type=int, default=5000)
        parser.add_argument("--zones", type=int, default=500)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=2024, help="random seed (repeatable)")
        parser.add_argument("--reset", action="store_true", help="delete the account first")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["slug"]
        self.rng = random.Random(options["seed"])
        self.now = timezone.now()
        started = time.monotonic()
        _restore_log_indexes()  # a load interrupted by a crash may have left some out
        if options["reset"]:
            self._step("reset", lambda: scale_reset(slug))
        members = max(8, -(-options["tokens"] // TOKENS_PER_MEMBER))
        account = self._step("account and people", lambda: self._people(slug, members))
        self._step("zones", lambda: self._zones(account, options["zones"]))
        world = self._step("tokens", lambda: self._tokens(account, options["tokens"]))
        self._step("events", lambda: self._events(world, options["events"]))
        self._step("analyze", _analyze)
        self.stdout.write(
            f"{slug}: {len(world.people)} people, {len(world.zone_ids)} zones, "
            f"{len(world.tokens)} tokens, {events_seeded_for(account):,} events "
            f"in {time.monotonic() - started:.1f} s. Sign in as {slug}-owner@example.com "
            f"({PASSWORD})."
        )

    def _step(self, name: str, work: Any) -> Any:
        started = time.monotonic()
        result = work()
        self.stdout.write(f"  {name}: {time.monotonic() - started:.1f} s")
        return result

    # ----------------------------------------------------------------- account and people

    @transaction.atomic
    def _people(self, slug: str, members: int) -> Account:
        account, _ = Account.objects.get_or_create(
            slug=slug,
            defaults={"name": f"{slug.title()} Hosting", "plan": Plan.ENTERPRISE},
        )
        password = make_password(PASSWORD)  # hashed once, shared by every seeded person
        owner, _created = User.objects.get_or_create(
            email=f"{slug}-owner@example.com",
            defaults={"name": f"{slug.title()} Owner", "password": password},
        )
        Membership.objects.get_or_create(
            user=owner, account=account, defaults={"role": Role.SUPERUSER}
        )
        emails = [f"{slug}-member-{n:05}@example.com" for n in range(members)]
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        User.objects.bulk_create(
            [
                User(email=email, name=f"Member {n}", password=password)
                for n, email in enumerate(emails)
                if email not in existing
            ],
            batch_size=BATCH,
        )
        users = User.objects.filter(email__in=emails).in_bulk(field_name="email")
        joined = set(Membership.objects.filter(account=account).values_list("user_id", flat=True))
        Membership.objects.bulk_create(
            [
                Membership(user=users[email], account=account, role=ROLE_CYCLE[n % 5])
                for n, email in enumerate(emails)
                if users[email].pk not in joined
            ],
            batch_size=BATCH,
        )
        return account

    # ----------------------------------------------------------------- zones

    @transaction.atomic
    def _zones(self, account: Account, count: int) -> None:
        have = Zone.objects.filter(account=account).count()
        if have >= count:
            return
        zones = Zone.objects.bulk_create(
            [
                Zone(
                    account=account,
                    name=f"zone-{n:05}.{account.slug}.example",
                    created_at=self.now - HISTORY * self.rng.random(),
                )
                for n in range(have, count)
            ],
            batch_size=BATCH,
        )
        zones = list(Zone.objects.filter(name__in=[zone.name for zone in zones], account=account))
        records = []
        for zone in zones:
            records += [
                Record(zone=zone, type=RecordType.A, name="", content="203.0.113.10"),
                Record(zone=zone, type=RecordType.CNAME, name="www", content=f"{zone.name}."),
                Record(zone=zone, type=RecordType.TXT, name="", content="v=spf1 -all"),
            ]
        Record.objects.bulk_create(records, batch_size=BATCH)

    # ----------------------------------------------------------------- tokens

    def _world(self, account: Account) -> World:
        people = list(
            Membership.objects.filter(account=account)
            .order_by("user_id")
            .values_list("user_id", "user__email", "role")
        )
        tokens = [
            TokenInfo(*row)
            for row in tokens_acting_in(account)
            .order_by("id")
            .values_list("id", "type", "name", "display", "user_id")
        ]
        return World(
            account=account,
            people=people,
            superusers=[(pk, email) for pk, email, role in people if role == Role.SUPERUSER],
            zone_ids=list(
                Zone.objects.filter(account=account).order_by("id").values_list("id", flat=True)
            ),
            tokens=tokens,
        )

    @transaction.atomic
    def _tokens(self, account: Account, count: int) -> World:
        world = self._world(account)
        have = len(world.tokens)
        if have < count:
            tokens = [self._token(world, n) for n in range(have, count)]
            Token.objects.bulk_create(tokens, batch_size=BATCH)
            self._select_zones(world, tokens)
            world = self._world(account)
        return world

    def _token(self, world: World, n: int) -> Token:
        rng = self.rng
        automation = n % 10 < 3
        token_type = TokenType.AUTOMATION if automation else TokenType.USER
        secret = crypto.generate(token_type)
        created_at = self.now - HISTORY * rng.random()
        roll = rng.random()
        if roll < 0.15:
            expires_at = self.now - timedelta(days=rng.randint(1, 300))
        elif roll < 0.3:
            expires_at = None
        else:
            expires_at = self.now + timedelta(days=rng.randint(1, 365))
        fields: dict[str, Any] = {
            "type": token_type,
            "name": f"{rng.choice(PURPOSES)} {n:05}",
            "digest": crypto.digest(secret, settings.KEYWARD_TOKEN_PEPPERS[0]),
            "display": crypto.display_hint(secret),
            "created_at": created_at,
            "expires_at": expires_at,
            _ZONES.all_field: rng.random() >= 0.2,
        }
        if rng.random() < 0.6:
            fields["last_used_at"] = created_at + (self.now - created_at) * rng.random()
            fields["last_used_ip"] = f"198.51.100.{rng.randint(1, 254)}"
        if automation:
            role = rng.choice(list(AUTOMATION_SCOPES))
            creator_id, _email = world.superusers[n % len(world.superusers)]
            return Token(
                account=world.account,
                role=role,
                scopes=list(rng.choice(AUTOMATION_SCOPES[role])),
                created_by_id=creator_id,
                **fields,
            )
        owner_id = world.people[n % len(world.people)][0]
        return Token(
            user_id=owner_id,
            created_by_id=owner_id,
            scopes=list(rng.choice(USER_SCOPES)),
            **fields,
        )

    def _select_zones(self, world: World, tokens: list[Token]) -> None:
        if not world.zone_ids:
            return
        digests = [token.digest for token in tokens if not getattr(token, _ZONES.all_field)]
        ids = Token.objects.filter(digest__in=digests).values_list("id", flat=True)
        through = getattr(Token, _ZONES.selection_field).through
        rows = []
        for token_id in ids:
            picked = self.rng.sample(
                world.zone_ids, min(len(world.zone_ids), self.rng.randint(1, 8))
            )
            rows += [through(token_id=token_id, zone_id=zone_id) for zone_id in picked]
        through.objects.bulk_create(rows, batch_size=BATCH)

    # ----------------------------------------------------------------- events

    def _events(self, world: World, count: int) -> None:
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
            _restore_log_indexes()
            self.stdout.write(f"    event log indexes rebuilt: {time.monotonic() - started:.1f} s")

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
                    self.stdout.write(f"    {n + 1:,} events, {time.monotonic() - started:.1f} s")
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


def people_of(slug: str) -> Q:
    """The seeded people of the account `slug`, by their email."""
    return Q(email=f"{slug}-owner@example.com") | Q(
        email__startswith=f"{slug}-member-", email__endswith="@example.com"
    )


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


def _restore_log_indexes() -> None:
    """Create any index of the event log that is missing (say, after an interrupted load)."""
    missing = [index for index in Event._meta.indexes if index not in _log_indexes()]
    if missing:
        with connection.schema_editor() as editor:
            for index in missing:
                editor.add_index(Event, index)


def scale_reset(slug: str) -> None:
    """Delete the account `slug`, its seeded people, their tokens and every event of theirs."""
    people = User.objects.filter(people_of(slug))
    with transaction.atomic():
        Event.objects.filter(account__slug=slug).delete()
        Event.objects.filter(account__isnull=True).filter(
            Q(actor_user__in=people) | Q(token_owner__in=people)
        ).delete()
        Token.objects.filter(Q(user__in=people) | Q(account__slug=slug)).delete()
        Account.objects.filter(slug=slug).delete()
        people.delete()


def _analyze() -> None:
    """Fresh planner statistics after a bulk load (autovacuum would get there, later)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            for model in (Event, Token, Zone, Record, Membership, User):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        else:  # SQLite, or inside a transaction (tests): VACUUM cannot run there
            cursor.execute("ANALYZE")
