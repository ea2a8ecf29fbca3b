"""What the demo tokens did (seed_demo): usage over the last weeks, last use and some denials.

So that a token's page is not empty on first look. Written where real usage ends up
(tokens.usage.services.usage_flush writes the same rows): TokenUsage per token, UTC day and
operation, TokenDenial for refused requests, and the token's `last_used_*` columns. The
numbers are made up but steady (a seeded generator, no clock but `now`), and a token that
already has usage is left alone, so running seed_demo again changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from accounts.models import Account, Service, Zone
from tokens.models import Token
from tokens.permissions import required_scope
from tokens.usage.models import TokenDenial, TokenUsage
from tokens.usage.rules import DenialReason


@dataclass(frozen=True)
class Refused:
    """A kind of refused request the token makes now and then."""

    operation: str
    reason: str
    times: int
    resource: str = ""  # "zone:<name>" or "service:<name>" in the token's account


@dataclass(frozen=True)
class Habit:
    """How one demo token is used: per operation, requests on a day it works."""

    per_day: dict[str, int]
    days: tuple[int, ...]  # ages in days (0 = today) on which it ran
    ip: str
    client: str
    last_seen: timedelta  # before now
    refused: tuple[Refused, ...] = field(default_factory=tuple)


_EVERY_DAY = tuple(range(30))
_WEEKDAYS = tuple(age for age in range(30) if age % 7 not in (5, 6))

HABITS: dict[str, Habit] = {
    "Laptop CLI": Habit(
        {"zones:read": 12, "domains:read": 3, "tokens": 2},
        tuple(age for age in range(30) if age % 3 != 1),
        "198.51.100.23",
        "keyward-cli/1.4 (darwin; arm64)",
        timedelta(hours=2),
    ),
    "DNS updater": Habit(
        {"zones:read": 40, "zones:write": 6},
        _EVERY_DAY,
        "203.0.113.45",
        "dns-updater/2.1 python-requests/2.32",
        timedelta(minutes=12),
        (Refused("zones:write", DenialReason.NOT_SELECTED, 3, "zone:acme.example"),),
    ),
    "certbot on web1": Habit(
        {"zones:read": 4, "zones:write": 2},
        (2, 9, 16, 23),
        "203.0.113.10",
        "certbot/2.11 certbot-dns-keyward/0.3",
        timedelta(days=2, hours=3),
        (Refused("zones:write", DenialReason.RECORD_NOT_ALLOWED, 1, "zone:acme.example"),),
    ),
    "Old deploy script": Habit(  # expired 30 days ago: only its last use is kept
        {"zones:write": 3},
        (),
        "198.51.100.9",
        "deploy.sh curl/7.88",
        timedelta(days=32),
    ),
    "Status dashboard": Habit(
        {"zones:read": 96, "domains:read": 24, "certificates:read": 24, "services:read": 48},
        _EVERY_DAY,
        "192.0.2.80",
        "grafana-keyward-datasource/1.0",
        timedelta(minutes=4),
    ),
    "CI deploys": Habit(
        {"zones:write": 8, "purge_select": 15},
        _WEEKDAYS,
        "192.0.2.10",
        "GitHub-Actions keyward-deploy/3.0",
        timedelta(hours=1, minutes=20),
        (
            Refused("purge_all", DenialReason.SCOPE, 2),
            Refused("purge_select", DenialReason.NOT_SELECTED, 4, "service:Acme website"),
        ),
    ),
    "Billing export": Habit(
        {"billing:read": 1},
        tuple(range(1, 30)),
        "192.0.2.140",
        "billing-export/0.9",
        timedelta(days=1, hours=5),
        (Refused("zones:read", DenialReason.ROLE, 1),),
    ),
    "Certificate renewer": Habit(
        {"certificates:read": 24, "certificates:write": 1},
        (0, 1, 2, 3, 5, 8, 13, 21),
        "203.0.113.60",
        "cert-renewer/1.2",
        timedelta(hours=6),
    ),
    "Studio site builds": Habit(
        {"zones:read": 5, "services:read": 2},
        (0, 3),
        "198.51.100.77",
        "netlify-build/29",
        timedelta(hours=3),
    ),
}


def _resource_id(account: Account | None, resource: str) -> int | None:
    """The id of "zone:<name>" or "service:<name>" in `account`, if it exists."""
    if not resource or account is None:
        return None
    kind, _, name = resource.partition(":")
    model = Zone if kind == "zone" else Service
    return model.objects.filter(account=account, name=name).values_list("pk", flat=True).first()


def _acting_account(token: Token) -> Account | None:
    """The account a demo token's requests go to: its own, or its owner's first."""
    if token.account is not None:
        return token.account
    if token.user is None:
        return None
    first = token.user.memberships.select_related("account").order_by("account__name").first()
    return first.account if first else None


def _usage_rows(token: Token, habit: Habit, now: datetime, rng: random.Random) -> list[TokenUsage]:
    today = now.astimezone(UTC).date()
    rows = []
    for age in habit.days:
        day = today - timedelta(days=age)
        last = datetime.combine(day, time(hour=rng.randint(7, 19)), tzinfo=UTC)
        last = min(last, now - habit.last_seen) if age == min(habit.days) else last
        for operation, typical in habit.per_day.items():
            allowed = max(1, round(typical * rng.uniform(0.6, 1.4)))
            rows.append(
                TokenUsage(
                    token=token,
                    day=day,
                    operation=operation,
                    allowed=allowed,
                    denied=0,
                    last_at=last,
                )
            )
    return rows


def _denial_rows(
    token: Token, habit: Habit, now: datetime, rng: random.Random, usage: list[TokenUsage]
) -> list[TokenDenial]:
    """The refused requests, each also counted as denied on its day."""
    account = _acting_account(token)
    denials = []
    by_key = {(row.day, row.operation): row for row in usage}
    seq = 0
    for refused in habit.refused:
        resource_id = _resource_id(account, refused.resource)
        for _ in range(refused.times):
            age = rng.choice(habit.days)
            at = datetime.combine(
                now.astimezone(UTC).date() - timedelta(days=age),
                time(hour=rng.randint(7, 19), minute=rng.randint(0, 59)),
                tzinfo=UTC,
            )
            at = min(at, now - habit.last_seen)
            seq += 1
            denials.append(
                TokenDenial(
                    token=token,
                    at=at,
                    seq=seq,
                    operation=refused.operation,
                    required_scope=required_scope(refused.operation),
                    reason=refused.reason,
                    account_id=account.pk if account else None,
                    resource_id=resource_id,
                    ip=habit.ip,
                )
            )
            row = by_key.get((at.date(), refused.operation))
            if row is None:
                row = TokenUsage(
                    token=token, day=at.date(), operation=refused.operation, last_at=at
                )
                by_key[(at.date(), refused.operation)] = row
                usage.append(row)
            row.denied += 1
    return denials


def seed_demo_usage(tokens: list[Token], now: datetime) -> int:
    """Usage, last use and denials for the demo tokens that have none yet; how many got some."""
    seeded = 0
    already = set(
        TokenUsage.objects.filter(token__in=tokens).values_list("token_id", flat=True).distinct()
    )
    for token in tokens:
        habit = HABITS.get(token.name)
        if habit is None or token.pk in already:
            continue
        rng = random.Random(token.name)  # the same numbers on every machine
        if token.expires_at is not None and token.expires_at <= now:
            # An expired token stopped working: it was last used before it expired.
            token.last_used_at = token.expires_at - timedelta(days=2)
        else:
            usage = _usage_rows(token, habit, now, rng)
            TokenDenial.objects.bulk_create(_denial_rows(token, habit, now, rng, usage))
            TokenUsage.objects.bulk_create(usage)
            token.last_used_at = now - habit.last_seen
            # It existed before its first use (its expiry stays what it was).
            first_use = datetime.combine(min(row.day for row in usage), time(), tzinfo=UTC)
            if token.created_at > first_use:
                token.created_at = first_use - timedelta(days=3) + timedelta(hours=9, minutes=14)
                Token.objects.filter(pk=token.pk).update(created_at=token.created_at)
        token.last_used_ip = habit.ip
        token.last_used_user_agent = habit.client
        token.save(update_fields=["last_used_at", "last_used_ip", "last_used_user_agent"])
        seeded += 1
    return seeded
