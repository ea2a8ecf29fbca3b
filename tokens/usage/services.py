"""What each token did: usage counted in the cache, written to the database later (SPEC 13).

The request path adds to an in-process tally, pushed to the cache (accounts.cache:
atomic, fails open) at most once a second and before any flush: one `incr` per
(token, UTC day, operation, allowed|denied) counter, and a `set` of the
operation's last time at most once a second; a denial also writes itself into a
ring of MAX_DENIALS slots at once. No SQL query is added to any request.

`usage_flush(token_id=...)` moves what is buffered into TokenUsage and
TokenDenial. It runs when a request writes the token's `last_used_at` (at most
once a minute per token, tokens.auth.bearer), before the usage API answers, and for
every token from `manage.py flush_usage`. It never double-counts: one flusher
per token at a time (a cache lock), and each counter is claimed by taking the
amount read off it (`decr`) before that amount is added to the database.

A cache outage loses counts and denials (never requests): while the cache is
unreachable nothing is counted, and what was buffered in a lost cache is gone.
Buffered counts live BUFFER_SECONDS; `flush_usage` runs well within that.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from accounts import cache
from tokens.models import Token
from tokens.networks.services import networks_judge, networks_judge_all
from tokens.usage.models import TokenDenial, TokenUsage
from tokens.usage.rules import COUNTED_OPERATIONS, Denial

MAX_DENIALS = 50
RETENTION = timedelta(days=90)
BUFFER_DAYS = 8
BUFFER_SECONDS = BUFFER_DAYS * 24 * 3600
LOCK_SECONDS = 30


_EPOCH = date(1970, 1, 1)


def _day(moment: datetime) -> int:
    """The UTC day of `moment` as days since 1970-01-01 (cheap: this runs on every request)."""
    return int(moment.timestamp()) // 86400


def _date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


# Last time this process wrote each (token, day, operation)'s last-use time: a busy
# token writes it at most once a second per process, not on every request.
_last_written: dict[tuple[int, int, str], float] = {}
LAST_AT_RESOLUTION = 1.0


def _count_key(token_id: int, day: int, operation: str, allowed: bool) -> str:
    return f"usage:n:{token_id}:{day}:{operation}:{'a' if allowed else 'd'}"


def _last_key(token_id: int, day: int, operation: str) -> str:
    return f"usage:t:{token_id}:{day}:{operation}"


def _denial_seq_key(token_id: int) -> str:
    return f"usage:dn:{token_id}"


def _denial_slot_key(token_id: int, seq: int) -> str:
    return f"usage:d:{token_id}:{seq % MAX_DENIALS}"


def _denials_flushed_key(token_id: int) -> str:
    return f"usage:df:{token_id}"


def _log_key(day: int, n: int | None = None) -> str:
    return f"usage:log:{day}" if n is None else f"usage:log:{day}:{n}"


# Counts of this process not yet added to the cache, per (token, day, operation,
# allowed): a request adds to this tally, and the tally goes to the cache at most
# once a PUSH_SECONDS (one `incr` per key, not per request) and before any flush.
_tally: dict[tuple[int, int, str, bool], int] = {}
_pushed_at = 0.0
PUSH_SECONDS = 1.0


def usage_push() -> None:
    """Add this process's tally to the shared buffer (the cache), then forget it."""
    global _pushed_at
    _pushed_at = time.monotonic()
    pending = list(_tally.items())
    _tally.clear()
    for (token_id, day, operation, allowed), delta in pending:
        key = _count_key(token_id, day, operation, allowed)
        count = cache.incr(key, delta, timeout=BUFFER_SECONDS)
        if count is not None and count == delta:
            _register(token_id, day)


def usage_record(
    *, token_id: int, operation: str, allowed: bool, now: datetime, denial: Denial | None = None
) -> None:
    """Count one request of the token (memory, then the cache; never SQL).

    A cache outage loses what is pushed meanwhile; a worker that dies loses at
    most its last PUSH_SECONDS of counts.
    """
    day = _day(now)
    where_counted = (token_id, day, operation, allowed)
    _tally[where_counted] = _tally.get(where_counted, 0) + 1
    if time.monotonic() - _pushed_at >= PUSH_SECONDS or denial is not None:
        usage_push()
    stamp = now.timestamp()
    where = (token_id, day, operation)
    if stamp - _last_written.get(where, 0.0) >= LAST_AT_RESOLUTION or denial is not None:
        if len(_last_written) > 10_000:
            _last_written.clear()
        _last_written[where] = stamp
        cache.set(_last_key(token_id, day, operation), stamp, BUFFER_SECONDS)
    if denial is not None:
        seq = cache.incr(_denial_seq_key(token_id), timeout=BUFFER_SECONDS)
        if seq is not None:
            row = (seq, now.timestamp(), *_denial_fields(denial))
            cache.set(_denial_slot_key(token_id, seq), row, BUFFER_SECONDS)


def _denial_fields(denial: Denial) -> tuple:
    return (
        denial.operation,
        denial.required_scope,
        denial.account_id,
        denial.resource_id,
        denial.ip,
        str(denial.reason),
    )


def _register(token_id: int, day: int) -> None:
    """Note that the token has counts buffered for `day`, for `flush_usage` to find."""
    if not cache.add(f"usage:seen:{day}:{token_id}", 1, BUFFER_SECONDS):
        return
    n = cache.incr(_log_key(day), timeout=BUFFER_SECONDS)
    if n is not None:
        cache.set(_log_key(day, n), token_id, BUFFER_SECONDS)


def buffered_days(now: datetime) -> list[int]:
    """The UTC days whose counts may still be in the cache, newest first."""
    today = _day(now)
    return [today - n for n in range(BUFFER_DAYS)]


def tokens_with_buffered_usage(now: datetime) -> dict[int, list[int]]:
    """Token id -> days it counted something on (from the cache's registry)."""
    days = buffered_days(now)
    sizes = cache.get_many(_log_key(day) for day in days)
    keys = [
        _log_key(day, n) for day in days for n in range(1, int(sizes.get(_log_key(day)) or 0) + 1)
    ]
    found = cache.get_many(keys)
    tokens: dict[int, list[int]] = {}
    for key, token_id in found.items():
        day = int(key.split(":")[2])
        tokens.setdefault(int(token_id), []).append(day)
    return tokens


def usage_flush(*, token_id: int, days: Iterable[int] | None = None, now: datetime) -> bool:
    """Write the token's buffered usage to the database; False if another flush holds it.

    `days` (UTC, from buffered_days) limits the days read; by default every day still buffered.
    """
    usage_push()  # this process's latest counts first
    lock = f"usage:flushing:{token_id}"
    if not cache.add(lock, 1, LOCK_SECONDS):
        return False
    try:
        days = list(days) if days is not None else buffered_days(now)
        counts, lasts = _claim_counts(token_id, days)
        denials = _claim_denials(token_id)
        if counts or denials:
            _write(token_id, counts, lasts, denials)
        networks_judge(token_id=token_id, now=now)  # new-network alerts (SPEC 19)
    finally:
        cache.delete(lock)
    return True


def _claim_counts(
    token_id: int, days: list[int]
) -> tuple[dict[tuple[int, str, bool], int], dict[tuple[int, str], float]]:
    count_keys = {
        _count_key(token_id, day, op, allowed): (day, op, allowed)
        for day in days
        for op in COUNTED_OPERATIONS
        for allowed in (True, False)
    }
    last_keys = {
        _last_key(token_id, day, op): (day, op) for day in days for op in COUNTED_OPERATIONS
    }
    found = cache.get_many([*count_keys, *last_keys])
    counts: dict[tuple[int, str, bool], int] = {}
    for key, where in count_keys.items():
        value = int(found.get(key) or 0)
        # Claim what was read: requests counted meanwhile stay for the next flush.
        if value > 0 and cache.decr(key, value) is not None:
            counts[where] = value
    lasts = {where: float(found[key]) for key, where in last_keys.items() if key in found}
    return counts, lasts


def _claim_denials(token_id: int) -> list[tuple]:
    seq = int(cache.get(_denial_seq_key(token_id)) or 0)
    flushed = int(cache.get(_denials_flushed_key(token_id)) or 0)
    if seq == flushed:
        return []
    if flushed > seq:  # the counter was lost and restarted
        flushed = 0
    first = max(flushed + 1, seq - MAX_DENIALS + 1)
    slots = cache.get_many(_denial_slot_key(token_id, n) for n in range(first, seq + 1))
    rows = [row for row in slots.values() if first <= row[0] <= seq]
    cache.set(_denials_flushed_key(token_id), seq, BUFFER_SECONDS)
    return rows


def _as_time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


@transaction.atomic
def _write(
    token_id: int,
    counts: dict[tuple[int, str, bool], int],
    lasts: dict[tuple[int, str], float],
    denials: list[tuple],
) -> None:
    """Add claimed counts and denials to the token's rows (nothing if the token is gone)."""
    if not Token.objects.filter(pk=token_id).exists():
        return
    totals: dict[tuple[int, str], list[int]] = {}
    for (day, op, was_allowed), value in counts.items():
        totals.setdefault((day, op), [0, 0])[0 if was_allowed else 1] += value
    for (day, op), (allowed, denied) in totals.items():
        last_at = _as_time(lasts[(day, op)]) if (day, op) in lasts else datetime.now(UTC)
        updated = TokenUsage.objects.filter(token_id=token_id, day=_date(day), operation=op).update(
            allowed=F("allowed") + allowed,
            denied=F("denied") + denied,
            last_at=Greatest(F("last_at"), last_at),
        )
        if not updated:
            TokenUsage.objects.create(
                token_id=token_id,
                day=_date(day),
                operation=op,
                allowed=allowed,
                denied=denied,
                last_at=last_at,
            )
    if denials:
        TokenDenial.objects.bulk_create(
            [
                TokenDenial(
                    token_id=token_id,
                    seq=seq,
                    at=_as_time(at),
                    operation=op,
                    required_scope=scope,
                    account_id=account_id,
                    resource_id=resource_id,
                    ip=ip,
                    reason=reason,
                )
                # A row buffered before reasons were kept has none.
                for seq, at, op, scope, account_id, resource_id, ip, reason in (
                    (*row, "")[:8] for row in denials
                )
            ],
            ignore_conflicts=True,
        )
        old = TokenDenial.objects.filter(token_id=token_id).values_list("pk", flat=True)
        TokenDenial.objects.filter(pk__in=list(old[MAX_DENIALS:])).delete()


def usage_flush_all(*, now: datetime) -> int:
    """Flush every token with buffered usage (`manage.py flush_usage`); how many were flushed."""
    flushed = 0
    usage_push()
    for token_id, days in tokens_with_buffered_usage(now).items():
        flushed += usage_flush(token_id=token_id, days=days, now=now)
    networks_judge_all(now=now)  # tokens that noted a network and counted nothing
    return flushed


def usage_delete_old(*, now: datetime) -> int:
    """Delete usage and denials older than RETENTION (the daily stale-token job)."""
    cutoff = now - RETENTION
    usage, _ = TokenUsage.objects.filter(day__lt=cutoff.astimezone(UTC).date()).delete()
    denials, _ = TokenDenial.objects.filter(at__lt=cutoff).delete()
    return usage + denials
