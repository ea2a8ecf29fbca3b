"""Failure counters in Django's cache (local memory, or Redis across workers).

A fixed window per key: the first failure opens the window, later failures
count inside it, and once `max_failures` is reached the key is blocked until the
window closes. Callers check `retry_after` *before* doing expensive work (a
password hash, a database lookup), so a blocked caller costs one cache read.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    """`max_failures` failures per `window_seconds`, counted separately per key."""

    name: str
    max_failures: int
    window_seconds: int

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"rl:{self.name}:{digest}"

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None when it is not blocked."""
        state = cache.get(self._key(key))
        if not state:
            return None
        count, opened_at = state
        if count < self.max_failures:
            return None
        remaining = opened_at + self.window_seconds - time.time()
        return max(1, math.ceil(remaining)) if remaining > 0 else None

    def record_failure(self, key: str) -> None:
        cache_key = self._key(key)
        now = time.time()
        state = cache.get(cache_key)
        if not state or state[1] + self.window_seconds <= now:
            cache.set(cache_key, (1, now), self.window_seconds)
            return
        remaining = max(1, math.ceil(state[1] + self.window_seconds - now))
        cache.set(cache_key, (state[0] + 1, state[1]), remaining)

    def reset(self, key: str) -> None:
        cache.delete(self._key(key))


def minutes_text(seconds: int) -> str:
    """'1 minute', '15 minutes': a wait rounded up to whole minutes."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
