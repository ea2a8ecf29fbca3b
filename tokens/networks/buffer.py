"""The request path of new-network alerts: note the client's network in the cache (SPEC 19).

`network_note(token_id, ip)` runs on every successful authentication. It costs a
dict lookup when this process noted the same token and network in the last
NOTE_SECONDS; otherwise one cache `add`, and only for a (token, network) pair not
noted by any process in the last hour, a cache `incr` and a `set` that write the
pair into the token's ring of MAX_PENDING slots. Never SQL.

`networks_claim(token_id)` (the judgement, tokens.networks.services) takes what the
ring holds since the last claim, like the usage buffer's denials (tokens.usage).
"""

from __future__ import annotations

import functools
import ipaddress
import time

from accounts import cache

V4_PREFIX = 24
V6_PREFIX = 48
NOTE_SECONDS = 60.0  # per process: a token and network noted once a minute at most
REFRESH_SECONDS = 3600  # across processes: once an hour (refreshes "last seen")
MAX_PENDING = 32  # a token's networks noted between two judgements
BUFFER_SECONDS = 8 * 24 * 3600  # as long as the usage buffer keeps counts


@functools.lru_cache(maxsize=4096)
def network_of(ip: str) -> str | None:
    """The network an address belongs to for alerts: its IPv4 /24 or IPv6 /48, as text.

    An IPv4-mapped IPv6 address is its IPv4 address. None for anything unparsable.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = V4_PREFIX if address.version == 4 else V6_PREFIX
    return str(ipaddress.ip_network((address, prefix), strict=False))


def _seq_key(token_id: int) -> str:
    return f"net:n:{token_id}"


def _slot_key(token_id: int, seq: int) -> str:
    return f"net:s:{token_id}:{seq % MAX_PENDING}"


def _claimed_key(token_id: int) -> str:
    return f"net:c:{token_id}"


def _log_key(n: int | None = None) -> str:
    return "net:log" if n is None else f"net:log:{n}"


_LOG_DONE_KEY = "net:log:done"

# When this process last noted each (token, network); cleared when it grows large.
_noted: dict[tuple[int, str], float] = {}


def network_note(token_id: int, ip: str | None, now: float | None = None) -> None:
    """Note that the token authenticated from `ip` (cache only; never raises)."""
    if not ip:
        return
    network = network_of(ip)
    if network is None:
        return
    moment = time.monotonic()
    key = (token_id, network)
    if moment - _noted.get(key, -NOTE_SECONDS) < NOTE_SECONDS:
        return
    if len(_noted) > 10_000:
        _noted.clear()
    _noted[key] = moment
    if not cache.add(f"net:h:{token_id}:{network}", 1, REFRESH_SECONDS):
        return  # noted by some process within the hour
    seq = cache.incr(_seq_key(token_id), timeout=BUFFER_SECONDS)
    if seq is None:
        return  # the cache is down: nothing is noted (nor alerted)
    at = now if now is not None else time.time()
    cache.set(_slot_key(token_id, seq), (seq, network, ip, at), BUFFER_SECONDS)
    _register(token_id)


def _register(token_id: int) -> None:
    """List the token for the worker's judgement of every token (networks_judge_all)."""
    n = cache.incr(_log_key(), timeout=BUFFER_SECONDS)
    if n is not None:
        cache.set(_log_key(n), token_id, BUFFER_SECONDS)


def networks_claim(token_id: int) -> list[tuple[str, str, float]]:
    """What was noted for the token since the last claim: (network, ip, unix time), oldest first."""
    seq = int(cache.get(_seq_key(token_id)) or 0)
    claimed = int(cache.get(_claimed_key(token_id)) or 0)
    if seq == claimed:
        return []
    if claimed > seq:  # the counter was lost and restarted
        claimed = 0
    first = max(claimed + 1, seq - MAX_PENDING + 1)
    slots = cache.get_many(_slot_key(token_id, n) for n in range(first, seq + 1))
    rows = sorted(row for row in slots.values() if first <= row[0] <= seq)
    if rows:  # a slot not written yet (its request is between incr and set) waits
        cache.set(_claimed_key(token_id), rows[-1][0], BUFFER_SECONDS)
    return [(network, ip, at) for _, network, ip, at in rows]


def tokens_with_noted_networks() -> list[int]:
    """Tokens listed since the last call (for the worker's judgement of them all)."""
    n = int(cache.get(_log_key()) or 0)
    done = int(cache.get(_LOG_DONE_KEY) or 0)
    if done > n:
        done = 0
    if n == done:
        return []
    found = cache.get_many(_log_key(k) for k in range(done + 1, n + 1))
    cache.set(_LOG_DONE_KEY, n, BUFFER_SECONDS)
    return sorted({int(token_id) for token_id in found.values()})


def networks_forget_process_state() -> None:
    """Forget what this process noted (tests; a new process starts empty)."""
    _noted.clear()
