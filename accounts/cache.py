"""The one door to Django's cache for rate limits and counters: it never raises.

SPEC 1: when the cache (Redis) is unreachable, limits fail open. Every function
here swallows cache errors and answers a neutral value (nothing found, nothing
counted), so an outage never turns into 500s or locks anyone out. After an
error the cache is skipped for BREAKER_SECONDS (one request then tries again):
an outage costs one connection timeout every few seconds per process, not one
per call. The error is logged at most once every LOG_INTERVAL_SECONDS.

Counters are atomic (`incr`: the cache's own increment; `add` opens a key only
if it is missing), so concurrent requests on any number of workers never lose a
count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from django.core.cache import cache as django_cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BREAKER_SECONDS = 5.0
LOG_INTERVAL_SECONDS = 60.0
PROBE_SECONDS = 5.0
_PROBE_KEY = "cache-probe"

# Redis client errors, and socket errors from any backend.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)

T = TypeVar("T")


class _Breaker:
    """Process-wide memory of the cache's health: when to try it again, when we last logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.open_until = 0.0  # monotonic time before which the cache is not tried
        self.failing = False
        self.logged_at: float | None = None
        self.outage_logged = False  # the recovery is logged once per logged outage
        self.next_probe = 0.0

    def trip(self, error: Exception) -> None:
        now = time.monotonic()
        with self.lock:
            self.open_until = now + BREAKER_SECONDS
            self.failing = True
            if self.logged_at is not None and now - self.logged_at < LOG_INTERVAL_SECONDS:
                return
            self.logged_at = now
            self.outage_logged = True
        logger.error(
            "Cache unavailable (%s: %s); rate limits fail open and counts are lost until it is"
            " back (this message repeats at most once a minute)",
            type(error).__name__,
            error,
        )

    def recovered(self) -> None:
        with self.lock:
            if not self.failing:
                return
            self.failing = False
            if not self.outage_logged:
                return
            self.outage_logged = False
        logger.warning("Cache reachable again; rate limits apply again")


_breaker = _Breaker()


@receiver(setting_changed)
def _forget_on_new_caches(*, setting: str, **kwargs: Any) -> None:
    """A different CACHES setting is a different cache: forget the old one's health."""
    if setting == "CACHES":
        _breaker.reset()


def _call(operation: Callable[[], T], neutral: T) -> T:
    if _breaker.open_until and _breaker.open_until > time.monotonic():
        return neutral
    try:
        result = operation()
    except CACHE_ERRORS as error:
        _breaker.trip(error)
        return neutral
    if _breaker.failing:
        _breaker.recovered()
    return result


def get(key: str, default: Any = None) -> Any:
    """The value at `key`, or `default` when missing or when the cache is unavailable."""
    return _call(lambda: django_cache.get(key, default), default)


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    """The keys found (all missing when the cache is unavailable)."""
    keys = list(keys)
    return _call(lambda: django_cache.get_many(keys), {})


def set(key: str, value: Any, timeout: float) -> None:
    """Store `value` for `timeout` seconds (nothing happens when the cache is unavailable)."""
    _call(lambda: django_cache.set(key, value, timeout), None)


def add(key: str, value: Any, timeout: float) -> bool:
    """Store `value` only if `key` is missing; True if stored (False when unavailable)."""
    return _call(lambda: bool(django_cache.add(key, value, timeout)), False)


def delete(*keys: str) -> None:
    """Remove the keys (nothing happens when the cache is unavailable)."""
    _call(lambda: django_cache.delete_many(keys), None)


def incr(key: str, delta: int = 1, *, timeout: float) -> int | None:
    """Add `delta` atomically to the counter at `key` and return the new count.

    A missing counter is opened at `delta`, expiring after `timeout` seconds;
    incrementing keeps that expiry. None when the cache is unavailable (count
    nothing: fail open).
    """

    def operation() -> int | None:
        try:
            return django_cache.incr(key, delta)
        except ValueError:  # missing: open it, unless another request just did
            if django_cache.add(key, delta, timeout):
                return delta
        try:
            return django_cache.incr(key, delta)
        except ValueError:  # expired in between: count this one as lost
            return None

    return _call(operation, None)


def decr(key: str, delta: int = 1) -> int | None:
    """Take `delta` off the counter at `key`; never creates it. None when missing or unavailable."""

    def operation() -> int | None:
        try:
            return django_cache.decr(key, delta)
        except ValueError:
            return None

    return _call(operation, None)


def status() -> Literal["ok", "unavailable"]:
    """The cache's health for /healthz, "ok" or "unavailable": cheap on every request.

    Reports what the last cache call saw, and touches the cache itself at most
    once every PROBE_SECONDS per process.
    """
    now = time.monotonic()
    if _breaker.open_until <= now and _breaker.next_probe <= now:
        _breaker.next_probe = now + PROBE_SECONDS
        get(_PROBE_KEY)
    return "unavailable" if _breaker.failing else "ok"
