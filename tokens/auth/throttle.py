"""Throttling of failed bearer attempts (SPEC 10: rate limits on failed bearer attempts).

tokens.auth.bearer calls three functions and nothing else of this module:
`retry_after(ip, digests)` before the token lookup, `record_failure(ip)` after
a failed attempt and `record_success(ip, digest)` when a token's last use is
written (at most once a minute per token).

- Guessing stays expensive: failures are counted per client IP, and an IP with
  BEARER_FAILURE_LIMIT failures in its window is refused before any lookup.
- A blocked IP still reaches the tokens it used successfully before: a success
  leaves a marker keyed by a hash of (IP, digest) for KNOWN_TOKEN_SECONDS, and a
  blocked request whose digest has one goes through. So garbage from one client
  behind a shared address (a NAT, or every client when a load balancer's
  address is taken for theirs) does not lock out integrations already working
  from there; a token never used from that address waits for the window to end.
- The common path costs no cache read: only an IP that failed in this process
  lately reads the shared counter (and, while blocked, its markers).

When the cache is unavailable nothing is counted or blocked (accounts.cache).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from accounts import cache
from accounts.ratelimit import Limit
from tokens.constants import BEARER_FAILURE_LIMIT, BEARER_FAILURE_WINDOW_SECONDS

BEARER_FAILURES = Limit("bearer-failures", BEARER_FAILURE_LIMIT, BEARER_FAILURE_WINDOW_SECONDS)
KNOWN_TOKEN_SECONDS = 24 * 60 * 60

# Client IPs whose bearer attempts failed in this process lately, with when that
# memory lapses. Only they pay for reading the shared failure counter before the
# lookup; any IP's first failure here puts it on the list, so a blocked client
# gets at most one more lookup per worker. Bounded: cleared when it grows large.
_recent_failures: dict[str, float] = {}
_RECENT_FAILURES_MAX = 10_000


def _known_token_key(ip_key: str, digest: str) -> str:
    marker = hashlib.sha256(f"{ip_key}\n{digest}".encode()).hexdigest()[:32]
    return f"bearer-known:{marker}"


def record_failure(ip: str | None) -> None:
    """Count one failed bearer attempt from `ip`."""
    key = ip or "unknown"
    BEARER_FAILURES.record_failure(key)
    if len(_recent_failures) >= _RECENT_FAILURES_MAX:
        _recent_failures.clear()
    _recent_failures[key] = time.monotonic() + BEARER_FAILURE_WINDOW_SECONDS


def retry_after(ip: str | None, digests: Sequence[str] = ()) -> int | None:
    """Seconds `ip` must wait before this credential is looked up, or None.

    `digests` are the credential's digests (one per pepper): a blocked IP is let
    through for a token it used successfully before. No cache read for clients
    that have not failed lately in this process.
    """
    key = ip or "unknown"
    lapses = _recent_failures.get(key)
    if lapses is None:
        return None
    if lapses < time.monotonic():
        _recent_failures.pop(key, None)
        return None
    wait = BEARER_FAILURES.retry_after(key)
    if wait is None:
        return None
    if digests and cache.get_many([_known_token_key(key, digest) for digest in digests]):
        return None
    return wait


def record_success(ip: str | None, digest: str) -> None:
    """A token was used successfully from `ip` (called at most once a minute per token)."""
    cache.set(_known_token_key(ip or "unknown", digest), 1, KNOWN_TOKEN_SECONDS)
