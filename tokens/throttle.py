"""Throttling of failed bearer attempts (SPEC 10: rate limits on failed bearer attempts).

tokens/auth.py calls three functions and nothing else of this module:
`retry_after(ip, digests)` before the token lookup, `record_failure(ip)` after
a failed attempt and `record_success(ip, digest)` when a token's last use is
written (at most once a minute per token).
"""

from __future__ import annotations

import time

from accounts.ratelimit import Limit
from tokens.constants import BEARER_FAILURE_LIMIT, BEARER_FAILURE_WINDOW_SECONDS

BEARER_FAILURES = Limit("bearer-failures", BEARER_FAILURE_LIMIT, BEARER_FAILURE_WINDOW_SECONDS)

# Client IPs whose bearer attempts failed in this process lately, with when that
# memory lapses. Only they pay for reading the shared failure counter before the
# lookup; any IP's first failure here puts it on the list, so a blocked client
# gets at most one more lookup per worker. Bounded: cleared when it grows large.
_recent_failures: dict[str, float] = {}
_RECENT_FAILURES_MAX = 10_000


def record_failure(ip: str | None) -> None:
    """Count one failed bearer attempt from `ip`."""
    key = ip or "unknown"
    BEARER_FAILURES.record_failure(key)
    if len(_recent_failures) >= _RECENT_FAILURES_MAX:
        _recent_failures.clear()
    _recent_failures[key] = time.monotonic() + BEARER_FAILURE_WINDOW_SECONDS


def retry_after(ip: str | None, digests: tuple[str, ...] = ()) -> int | None:
    """Seconds `ip` must wait before its credential is looked up, or None.

    No cache read for clients that have not failed lately in this process.
    """
    key = ip or "unknown"
    lapses = _recent_failures.get(key)
    if lapses is None:
        return None
    if lapses < time.monotonic():
        _recent_failures.pop(key, None)
        return None
    return BEARER_FAILURES.retry_after(key)


def record_success(ip: str | None, digest: str) -> None:
    """A token was used successfully from `ip` (called at most once a minute per token)."""
