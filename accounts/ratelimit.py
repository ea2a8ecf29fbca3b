"""Failure counters in the cache (local memory, or Redis across workers and machines).

A fixed window per key: the first attempt opens the window (an atomic `add` of
its opening time), attempts inside it are counted by atomic increments, and
once `max_failures` is reached the key is blocked until the window closes.

Attempts before expensive work (a password check) are counted *first* and
checked after: `count_attempt` increments, and the attempt that takes the count
over the limit is refused before the work is done, however many requests run
at once. A successful attempt is taken back off the count (`Attempt.succeeded`).

Every cache call goes through accounts.cache: when the cache is unavailable
nothing is counted and nothing is blocked (limits fail open, SPEC 1).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from accounts import cache

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


@dataclass(frozen=True)
class Attempt:
    """An attempt counted against one or more limits; refused when `retry_after` is set."""

    counters: tuple[str, ...]
    retry_after: int | None

    def succeeded(self) -> None:
        """The attempt was not a failure: take it back off every count."""
        for counter in self.counters:
            cache.decr(counter)


def count_attempt(*limits: tuple[Limit, str]) -> Attempt:
    """Count an attempt against each (limit, key) before doing the expensive work.

    Refused (`retry_after` set, nothing left counted) when any count goes over
    its limit: of N concurrent attempts on a fresh key, exactly `max_failures`
    go ahead. The caller does the work only when `retry_after` is None, and then
    calls `succeeded()` unless the attempt failed.
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
        return Attempt(counters=(), retry_after=max(waits))
    return Attempt(counters=tuple(counted), retry_after=None)


def minutes_text(seconds: int) -> str:
    """'1 minute', '15 minutes': a wait rounded up to whole minutes."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
