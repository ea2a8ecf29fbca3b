"""Verifying a CI ID token for the exchange (SPEC 18), in the spec's order of checks.

signature (RS256 or ES256 only, against the issuer's JWKS, with joserfc), issuer,
audience, expired, not yet valid, too old; the caller (tokens.publishers.services) then
checks replay (`jti` once, in the database) and matches the publishers. The first check
that fails names itself in ExchangeRefused.

The JWKS comes from the issuer's discovery document over https (KEYWARD_OIDC_INSECURE_ISSUERS
lists the http issuers allowed, for tests), fetched with httpx and timeouts, only for an
issuer some publisher trusts (never a URL a caller chose), from public addresses only
(unless listed as insecure), and cached in the process: fetched again when it is older than
JWKS_MAX_AGE or a token names a key it lacks, at most once a minute per issuer.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwk, jws
from joserfc.errors import JoseError

from tokens.publishers.models import Publisher
from tokens.publishers.rules import audience_holds, insecure_issuer_allowed
from tokens.publishers.selectors import publishers_trusting

logger = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
MAX_AGE_SECONDS = 10 * 60  # `iat` at most this old (plus the leeway)
MAX_ID_TOKEN_LENGTH = 16 * 1024
JWKS_MAX_AGE = 15 * 60  # seconds a JWKS is used before it is fetched again
REFETCH_INTERVAL = 60  # at most one fetch a minute per issuer
FETCH_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_DOCUMENT_BYTES = 256 * 1024
DISCOVERY_PATH = "/.well-known/openid-configuration"

# The process's clock for the JWKS cache (monotonic seconds); tests move it forward.
clock = time.monotonic


class ExchangeRefused(Exception):
    """The ID token is refused: `check` is the first check that failed (SPEC 18's names)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = f"{check}: {message}"


@dataclass(frozen=True)
class VerifiedIdToken:
    """An ID token whose signature, issuer, audience and times passed; `publishers` are those
    that trust its issuer (any account: the match is still to be made)."""

    issuer: str
    claims: dict[str, Any]
    jti: str
    expires_at: datetime  # until when it would pass the checks: its jti is kept that long
    publishers: list[Publisher] = field(default_factory=list)


# --------------------------------------------------------------------------- fetching keys


class FetchFailed(Exception):
    """The issuer's discovery document or JWKS could not be read."""


def _public_host(url: str) -> None:
    """Refuse an address that is not public (loopback, private, link-local, metadata)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise FetchFailed(f"cannot resolve {host}") from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise FetchFailed(f"{host} is not a public address")


def _get_json(client: httpx.Client, url: str, *, issuer: str) -> dict[str, Any]:
    scheme = urlsplit(url).scheme
    insecure = insecure_issuer_allowed(issuer)
    if scheme != "https" and not (insecure and scheme == "http"):
        raise FetchFailed(f"{url} is not https")
    if not insecure:
        _public_host(url)
    with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
        if response.status_code != 200:
            raise FetchFailed(f"{url} answered {response.status_code}")
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise FetchFailed(f"{url} is too large")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise FetchFailed(f"{url} is not JSON") from error
    if not isinstance(document, dict):
        raise FetchFailed(f"{url} is not a JSON object")
    return document


def _import_keys(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The JWKS's signing keys (RSA and EC) by kid; other keys are skipped."""
    found: dict[str, Any] = {}
    keys = jwks.get("keys")
    for item in keys if isinstance(keys, list) else []:
        if not isinstance(item, dict) or item.get("kty") not in ("RSA", "EC"):
            continue
        if item.get("use", "sig") != "sig":
            continue
        try:
            key = jwk.import_key(item)
        except (JoseError, ValueError, TypeError):
            continue
        found[str(item.get("kid", ""))] = key
    return found


def jwks_fetch(issuer: str) -> dict[str, Any]:
    """The issuer's signing keys by kid: its discovery document, then its `jwks_uri`."""
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
            discovery = _get_json(client, issuer + DISCOVERY_PATH, issuer=issuer)
            if discovery.get("issuer") != issuer:
                raise FetchFailed("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise FetchFailed("the discovery document has no jwks_uri")
            return _import_keys(_get_json(client, jwks_uri, issuer=issuer))
    except httpx.HTTPError as error:
        raise FetchFailed(f"{type(error).__name__}: {error}") from error


@dataclass
class _Entry:
    keys: dict[str, Any]
    fetched_at: float  # when these keys were read
    tried_at: float  # the latest fetch, successful or not


class KeyCache:
    """Each issuer's keys, in this process; fetched at most once a minute per issuer."""

    MAX_ISSUERS = 256

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def key(self, issuer: str, kid: str | None) -> Any | None:
        """The key `kid` of `issuer` (None: the issuer's only key), or None when it has none."""
        with self._lock:
            entry = self._entries.get(issuer)
            now = clock()
            wanted = entry is None or (kid not in entry.keys if kid else len(entry.keys) != 1)
            stale = entry is not None and now - entry.fetched_at > JWKS_MAX_AGE
            if (wanted or stale) and (entry is None or now - entry.tried_at >= REFETCH_INTERVAL):
                entry = self._refetch(issuer, entry, now)
        if entry is None:
            return None
        if kid is None:
            return next(iter(entry.keys.values())) if len(entry.keys) == 1 else None
        return entry.keys.get(kid)

    def _refetch(self, issuer: str, entry: _Entry | None, now: float) -> _Entry | None:
        try:
            keys = jwks_fetch(issuer)
        except FetchFailed as error:
            logger.warning("JWKS of %s not fetched: %s", issuer, error)
            if entry is not None:
                entry.tried_at = now  # keep the keys known until a fetch succeeds
            else:
                self._entries[issuer] = _Entry({}, fetched_at=float("-inf"), tried_at=now)
            return self._entries.get(issuer)
        if len(self._entries) >= self.MAX_ISSUERS and issuer not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        fresh = _Entry(keys, fetched_at=now, tried_at=now)
        self._entries[issuer] = fresh
        return fresh


KEYS = KeyCache()


# --------------------------------------------------------------------------- the checks


def _decoded(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims, unverified (only to find the issuer and its key)."""
    if not isinstance(raw, str) or len(raw) > MAX_ID_TOKEN_LENGTH or raw.count(".") != 2:
        raise ExchangeRefused(
            "signature", "the token is not a signed JWT (header.claims.signature)."
        )
    try:
        parsed = jws.extract_compact(raw.encode("ascii"))
        claims = json.loads(parsed.payload)
    except (JoseError, ValueError, UnicodeError):
        raise ExchangeRefused("signature", "the token is not a readable signed JWT.") from None
    if not isinstance(claims, dict):
        raise ExchangeRefused("signature", "the token's claims are not a JSON object.")
    return dict(parsed.headers()), claims


def unverified_claims(raw: str) -> dict[str, Any]:
    """An ID token's claims, nothing checked (the tester's: it mints nothing)."""
    return _decoded(raw)[1]


def _signature(raw: str, header: Mapping[str, Any], issuer: str) -> dict[str, Any]:
    """The claims, once the signature verifies with the issuer's key (RS256/ES256 only)."""
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise ExchangeRefused(
            "signature", f"the algorithm {str(alg)[:20]!r} is refused; only RS256 and ES256."
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ExchangeRefused("signature", "the token's kid is not text.")
    key = KEYS.key(issuer, kid)
    if key is None:
        raise ExchangeRefused(
            "signature", f"the issuer has no key {str(kid)[:80]!r} (unknown kid)."
        )
    try:
        verified = jws.deserialize_compact(raw, key, algorithms=[str(alg)])
        claims = json.loads(verified.payload)
    except (JoseError, ValueError):
        raise ExchangeRefused("signature", "the signature does not verify.") from None
    return claims


# The check a malformed time claim fails.
_TIME_CHECKS = {"exp": "expired", "nbf": "not yet valid", "iat": "too old"}


def _number(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExchangeRefused(_TIME_CHECKS[name], f"the claim {name} is not a time.")
    return int(value)


def _times(claims: Mapping[str, Any], now: int) -> int:
    """exp, nbf and iat with SPEC 18's leeway; returns until when a replay must be refused:
    the token's expiry, or sooner, when it becomes too old."""
    exp, nbf, iat = (_number(claims, name) for name in ("exp", "nbf", "iat"))
    if exp is None:
        raise ExchangeRefused("expired", "the token has no exp.")
    if now > exp + LEEWAY_SECONDS:
        raise ExchangeRefused("expired", f"the token expired {now - exp} seconds ago.")
    if (nbf is not None and nbf > now + LEEWAY_SECONDS) or (
        iat is not None and iat > now + LEEWAY_SECONDS
    ):
        raise ExchangeRefused("not yet valid", "the token is not valid yet (nbf or iat ahead).")
    if iat is None:
        raise ExchangeRefused("too old", "the token has no iat.")
    if now - iat > MAX_AGE_SECONDS + LEEWAY_SECONDS:
        raise ExchangeRefused(
            "too old", f"the token was issued {(now - iat) // 60} minutes ago; at most 10."
        )
    return min(exp, iat + MAX_AGE_SECONDS) + LEEWAY_SECONDS


def id_token_verify(raw: str, *, now: datetime) -> VerifiedIdToken:
    """Every check up to replay, in SPEC 18's order; ExchangeRefused names the first to fail."""
    header, unverified = _decoded(raw)
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not (publishers := publishers_trusting(issuer)):
        if header.get("alg") not in ALGORITHMS:
            _signature(raw, header, "")  # refused for its algorithm first
        raise ExchangeRefused(
            "issuer", f"no trusted publisher accepts ID tokens from {str(issuer)[:200]!r}."
        )
    claims = _signature(raw, header, issuer)
    if claims.get("iss") != issuer:
        raise ExchangeRefused("issuer", "the token's iss is not its issuer's.")
    if not audience_holds(claims):
        raise ExchangeRefused(
            "audience", f"the token's aud {str(claims.get('aud'))[:100]!r} is not this server's."
        )
    usable_until = _times(claims, int(now.timestamp()))
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise ExchangeRefused("replayed", "the token has no jti, so it could be replayed.")
    return VerifiedIdToken(
        issuer=issuer,
        claims=claims,
        jti=jti,
        expires_at=datetime.fromtimestamp(usable_until, tz=UTC),
        publishers=publishers,
    )
