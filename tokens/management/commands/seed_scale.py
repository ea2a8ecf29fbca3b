"""Create one big account to measure Keyward at scale: thousands of tokens, a million events.

`manage.py seed_scale [--tokens N] [--zones M] [--events K] [--slug scale] [--reset]`

The account (slug `scale`, plan enterprise) gets a superuser `scale-owner@example.com`
(password `keyward-demo`) and members, M zones with a few records each, N tokens
(user and automation, some with selected zones, some expired) and K events spread
over two years and every kind, some sharing a timestamp. Rows are written with
bulk_create in large batches, not through the services (which would take hours);
token digests come from tokens.crypto and the secrets are thrown away unprinted.
The events are tokens/management/scale_events.py.

Run it again and it tops up what is missing; `--reset` deletes the account and its
people, tokens and events first. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
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
from tokens.management.scale_events import (
    BATCH,
    HISTORY,
    EventSeeder,
    TokenInfo,
    World,
    events_seeded_for,
    restore_log_indexes,
)
from tokens.models import Event, Token, TokenType
from tokens.selectors import tokens_acting_in

_ZONES = BY_KIND[Kind.ZONES]  # the kind whose selections the seed fills

PASSWORD = "keyward-demo"
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
        restore_log_indexes()  # a load interrupted by a crash may have left some out
        if options["reset"]:
            self._step("reset", lambda: scale_reset(slug))
        members = max(8, -(-options["tokens"] // TOKENS_PER_MEMBER))
        account = self._step("account and people", lambda: self._people(slug, members))
        self._step("zones", lambda: self._zones(account, options["zones"]))
        world = self._step("tokens", lambda: self._tokens(account, options["tokens"]))
        seeder = EventSeeder(self.rng, self.now, self.stdout.write)
        self._step("events", lambda: seeder.events(world, options["events"]))
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


# --------------------------------------------------------------------------- shared reads


def people_of(slug: str) -> Q:
    """The seeded people of the account `slug`, by their email."""
    return Q(email=f"{slug}-owner@example.com") | Q(
        email__startswith=f"{slug}-member-", email__endswith="@example.com"
    )


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
