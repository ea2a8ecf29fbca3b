"""The judgement of new-network alerts (SPEC 19), when the usage buffer is flushed.

`networks_judge(token_id=...)` runs with the token's usage flush (the worker's flush of
every token every minute, a token's own once-a-minute flush, `manage.py flush_usage`);
`networks_judge_all` judges every token noted since the last run. For each network
noted on the request path (tokens.networks.buffer):

- a network the token used in the previous 90 days (TokenNetwork.last_seen) is known:
  its last-seen date is refreshed, nothing else;
- any other network is new: it is stored, and the event `token.new_network` is written
  (its account's webhooks get it through the event writer: automation tokens' events
  belong to their account, user tokens' to their owner). The token's owner (for an
  automation token, or an imported legacy key: the account's superusers) is emailed at
  most once an hour per token, from the queue.

A token's very first network is where it starts: it sets the baseline, with no alert
(every new token would alert otherwise). Networks unseen for 90 days are forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.dates import when_text
from tokens.events import Actor, event_record
from tokens.models import Event, EventKind, Token
from tokens.networks.buffer import networks_claim, tokens_with_noted_networks
from tokens.networks.models import TokenNetwork
from tokens.tasks import email_after_commit

KNOWN_FOR = timedelta(days=90)
EMAIL_AT_MOST_EVERY = timedelta(hours=1)


def _as_time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def networks_judge_all(*, now: datetime) -> int:
    """Judge every token with networks noted since the last run; how many were judged."""
    judged = 0
    for token_id in tokens_with_noted_networks():
        networks_judge(token_id=token_id, now=now)
        judged += 1
    return judged


def networks_judge(*, token_id: int, now: datetime) -> list[str]:
    """Judge the networks noted for one token; the new ones (each alerted once)."""
    noted = networks_claim(token_id)
    if not noted:
        return []
    token = Token.objects.select_related("user", "account").filter(pk=token_id).first()
    if token is None:
        return []  # revoked meanwhile
    with transaction.atomic():
        # Hold the token's row: a revocation racing this judgement waits for it, instead
        # of deleting the token under rows that point at it (a deferred foreign key
        # violation at commit on PostgreSQL).
        if not Token.objects.select_for_update().filter(pk=token_id).exists():
            return []  # revoked meanwhile
        new = _remember(token, noted, now)
        if new:
            _alert(token, new, now)
    return [network for network, _, _ in new]


def _remember(
    token: Token, noted: Sequence[tuple[str, str, float]], now: datetime
) -> list[tuple[str, str, datetime]]:
    """Store what was noted; the networks that are new to the token, with ip and time."""
    rows = {row.network: row for row in TokenNetwork.objects.filter(token=token)}
    cutoff = now - KNOWN_FOR
    known = {network for network, row in rows.items() if row.last_seen >= cutoff}
    has_history = bool(rows)
    new: list[tuple[str, str, datetime]] = []
    for network, ip, timestamp in noted:
        seen = _as_time(timestamp)
        row = rows.get(network)
        if row is None:
            row = _create(token, network, ip, seen)
            rows[network] = row
        elif seen > row.last_seen:
            TokenNetwork.objects.filter(pk=row.pk).update(last_seen=seen, last_ip=ip)
            row.last_seen = seen
        if network not in known and has_history:
            new.append((network, ip, seen))
        known.add(network)
        has_history = True
    TokenNetwork.objects.filter(token=token, last_seen__lt=cutoff).delete()
    return new


def _create(token: Token, network: str, ip: str, seen: datetime) -> TokenNetwork:
    try:
        with transaction.atomic():
            return TokenNetwork.objects.create(
                token=token, network=network, first_seen=seen, last_seen=seen, last_ip=ip
            )
    except IntegrityError:  # another judge stored it first
        return TokenNetwork.objects.get(token=token, network=network)


def _actor(token: Token, ip: str) -> Actor:
    """The token itself, as it authenticated from the new network."""
    return Actor.api_token(
        token_id=token.pk,
        token_type=token.type,
        owner=token.user,
        name=token.name,
        display=token.display,
        ip=ip,
    )


def _alert(token: Token, new: list[tuple[str, str, datetime]], now: datetime) -> None:
    recently = Event.objects.filter(
        token_id=token.pk,
        kind=EventKind.TOKEN_NEW_NETWORK,
        created_at__gte=now - EMAIL_AT_MOST_EVERY,
        details__emailed=True,
    ).exists()
    email = not recently
    for n, (network, ip, seen) in enumerate(new):
        event_record(
            kind=EventKind.TOKEN_NEW_NETWORK,
            actor=_actor(token, ip),
            account=token.account,
            token=token,
            summary=f"“{token.name}” ({token.display}) was used from a new network, "
            f"{network} ({ip})",
            details={
                "network": network,
                "ip": ip,
                "seen_at": seen.isoformat(),
                "emailed": email and n == 0,
            },
        )
    if email:
        _email(token, new)


def _email(token: Token, new: list[tuple[str, str, datetime]]) -> None:
    from tokens.leaks.services import token_recipients

    where = "\n".join(
        f"- {network} (address {ip}, {when_text(seen)} UTC)" for network, ip, seen in new
    )
    page = f"{settings.KEYWARD_SITE_URL}{reverse('tokens:detail', args=[token.pk])}"
    for person, _ in token_recipients([token]).values():
        email_after_commit(
            to=person.email,
            subject=f"Keyward token “{token.name}” was used from a new network",
            body="\n".join(
                [
                    f"Hello {person.get_short_name()},",
                    "",
                    f"The API token “{token.name}” ({token.display}) was used from a network it "
                    "had not used in the last 90 days:",
                    "",
                    where,
                    "",
                    "If that was you or your systems (a new CI runner, a new office, a VPN), "
                    "nothing needs doing. If not, roll or revoke the token now and check the "
                    "event log for what it did.",
                    "",
                    f"The token: {page}",
                    "",
                    "Keyward emails about a token's new networks at most once an hour; every "
                    "new network is in the event log.",
                    "",
                    "— Keyward",
                ]
            ),
        )
