"""Verifying a CI ID token for the exchange (SPEC 18), in the spec's order of checks.

signature (RS256 or ES256 only, against the issuer's JWKS, with joserfc), issuer,
audience, expired, not yet valid, too old; the caller (tokens.publishers.services) then
checks replay (`jti` once, in the database) and matches the publishers. The first check
that fails names itself in ExchangeRefused.

The issuer's keys come from accounts.oidc (https, public addresses, cached, refetched at
most once a minute), and only for an issuer some publisher trusts: never a URL a caller chose.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from accounts import oidc
from tokens.publishers.models import Publisher
from tokens.publishers.rules import audience_holds
from tokens.publishers.selectors import publishers_trusting

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
MAX_AGE_SECONDS = 10 * 60  # `iat` at most this old (plus the leeway)
MAX_ID_TOKEN_LENGTH = 16 * 1024


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
    key = oidc.KEYS.key(issuer, kid)
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
