"""Failure counters in the cache (local memory, or Redis across workers and machines).

A fixed window per key: the first failure opens the window (an atomic `add` of
its opening time), failures inside it are counted by atomic increments, and
once `max_failures` is reached the key is blocked until the window closes.

Passwords (`PasswordLimits`: sign-in, `POST /api/v1/tokens`, sudo) count
*failures*: a blocked key is refused before the password is checked, and only
a wrong password is counted, after the check. A right password never counts, so
any number of simultaneous correct sign-ins go through; simultaneous wrong ones
may each be checked before the first is counted (at most one per request in
flight beyond the limit), and every later one is refused until the window ends.

Reports (`count_attempt`) count every *attempt* first, before the work: the
attempt that takes the count over the limit is refused, however many run at once.

Every cache call goes through accounts.cache: when the cache is unavailable
nothing is counted and nothing is blocked (limits fail open, SPEC 1).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from accounts import cache
from accounts.constants import (
    SIGN_IN_MAX_FAILURES_PER_EMAIL,
    SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP,
    SIGN_IN_MAX_FAILURES_PER_IP,
    SIGN_IN_WINDOW_SECONDS,
)

# A window's counter outlives the window by this much, so an increment that
# races with its expiry never recreates it as a key that does not expire.
_COUNTER_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    """`max_failures` failures per `window_seconds`, counted separately per key."""

    name: str
    max_failures: int
    window_seconds: int

    def _window_key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"rl:{self.name}:{digest}"

    def _open_window(self, window_key: str) -> int | None:
        """When the current window opened (ms since the epoch), opening one if none is open."""
        opened = cache.get(window_key)
        if opened is None:
            now = time.time_ns() // 1_000_000
            opened = now if cache.add(window_key, now, self.window_seconds) else None
            if opened is None:  # another request opened it first, or the cache is down
                opened = cache.get(window_key)
        return opened

    def _wait(self, opened: int) -> int | None:
        remaining = opened / 1000 + self.window_seconds - time.time()
        return max(1, math.ceil(remaining)) if remaining > 0 else None

    def _count(self, key: str, delta: int) -> tuple[str, int, int] | None:
        """Add `delta` to `key`'s count: (counter key, window opening, new count), or None."""
        window_key = self._window_key(key)
        opened = self._open_window(window_key)
        if opened is None:
            return None
        counter = f"{window_key}:{opened}"
        count = cache.incr(counter, delta, timeout=self.window_seconds + _COUNTER_MARGIN_SECONDS)
        return None if count is None else (counter, opened, count)

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None when it is not blocked."""
        window_key = self._window_key(key)
        opened = cache.get(window_key)
        if opened is None:
            return None
        count = cache.get(f"{window_key}:{opened}")
        if count is None or count < self.max_failures:
            return None
        return self._wait(opened)

    def record_failure(self, key: str) -> None:
        """Count one failure of `key`, after the fact (the work was cheap enough to do)."""
        self._count(key, 1)

    def reset(self, key: str) -> None:
        """Forget `key`'s failures (a successful sign-in clears its email's count)."""
        window_key = self._window_key(key)
        opened = cache.get(window_key)
        cache.delete(window_key, *([f"{window_key}:{opened}"] if opened is not None else []))


def count_attempt(*limits: tuple[Limit, str]) -> int | None:
    """Count an attempt against each (limit, key) before doing the work; seconds to wait
    when it is refused, else None.

    Refused (nothing left counted) when any count goes over its limit: of N
    concurrent attempts on a fresh key, exactly `max_failures` go ahead.
    """
    counted: list[str] = []
    waits: list[int] = []
    for limit, key in limits:
        result = limit._count(key, 1)
        if result is None:  # cache unavailable: fail open
            continue
        counter, opened, count = result
        counted.append(counter)
        if count > limit.max_failures:
            waits.append(limit._wait(opened) or 1)
    if waits:
        for counter in counted:  # a refused attempt uses none of anyone's allowance
            cache.decr(counter)
        return max(waits)
    return None


@dataclass(frozen=True)
class PasswordLimits:
    """Wrong passwords of one kind, counted per person and IP, per person, and per IP.

    The person is an email for sign-in and a user id for sudo; every kind has the
    same limits (accounts.constants).
    """

    per_person_and_ip: Limit
    per_person: Limit
    per_ip: Limit

    @classmethod
    def named(cls, kind: str) -> PasswordLimits:
        window = SIGN_IN_WINDOW_SECONDS
        return cls(
            Limit(f"{kind}-person-ip", SIGN_IN_MAX_FAILURES_PER_EMAIL_AND_IP, window),
            Limit(f"{kind}-person", SIGN_IN_MAX_FAILURES_PER_EMAIL, window),
            Limit(f"{kind}-ip", SIGN_IN_MAX_FAILURES_PER_IP, window),
        )

    def _keyed(self, person: str, ip: str) -> tuple[tuple[Limit, str], ...]:
        return (
            (self.per_person_and_ip, f"{person}\n{ip}"),
            (self.per_person, person),
            (self.per_ip, ip),
        )

    def retry_after(self, person: str, ip: str) -> int | None:
        """Seconds until `person` may try a password from `ip` again, or None: check it."""
        waits = [limit.retry_after(key) for limit, key in self._keyed(person, ip)]
        return max((wait for wait in waits if wait), default=None)

    def failed(self, person: str, ip: str) -> None:
        """Count one wrong password."""
        for limit, key in self._keyed(person, ip):
            limit.record_failure(key)

    def succeeded(self, person: str, ip: str) -> None:
        """A right password: forget the person's failures from this address (a typo or
        two). The per-person ceiling stays: others may still be guessing from elsewhere."""
        self.per_person_and_ip.reset(f"{person}\n{ip}")


def minutes_text(seconds: int) -> str:
    """'1 minute', '15 minutes': a wait rounded up to whole minutes."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
