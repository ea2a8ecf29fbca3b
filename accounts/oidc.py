"""OpenID Connect issuers: which may speak http, and their signing keys, fetched and cached.

Both uses of OpenID Connect read an issuer's keys here: single sign-on (accounts.sso) checks
an identity provider's ID tokens, and trusted publishers (tokens.publishers) check CI
jobs' ID tokens. One rule for both:

- https only, except issuers listed in KEYWARD_OIDC_INSECURE_ISSUERS (tests, the local demo);
- the keys come from the issuer's discovery document (`jwks_uri`), fetched with httpx, with
  timeouts, no redirects and a size limit, from public addresses only (not loopback,
  private, link-local or a cloud's metadata address) unless the issuer is listed as
  insecure: a URL typed into Keyward never makes it probe its own network;
- kept in the process (KEYS): fetched again when older than JWKS_MAX_AGE or when a token
  names a key they lack, at most once a minute per issuer.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from joserfc import jwk
from joserfc.errors import JoseError

logger = logging.getLogger(__name__)

JWKS_MAX_AGE = 15 * 60  # seconds a JWKS is used before it is fetched again
REFETCH_INTERVAL = 60  # at most one fetch a minute per issuer
FETCH_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_DOCUMENT_BYTES = 256 * 1024
DISCOVERY_PATH = "/.well-known/openid-configuration"
KEY_TYPES = ("RSA", "EC", "OKP")  # what a JWKS may hold for signing; the callers pick algorithms

# The process's clock for the JWKS cache (monotonic seconds); tests move it forward.
clock = time.monotonic


def insecure_issuer_allowed(issuer: str) -> bool:
    """An http issuer only where KEYWARD_OIDC_INSECURE_ISSUERS lists it (tests, the local demo)."""
    return issuer in settings.KEYWARD_OIDC_INSECURE_ISSUERS


class FetchFailed(Exception):
    """The issuer's discovery document or JWKS could not be read."""


def public_address_check(url: str) -> None:
    """Refuse (FetchFailed) a URL whose host is not public (loopback, private, link-local,
    a metadata address)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise FetchFailed(f"cannot resolve {host}") from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise FetchFailed(f"{host} is not a public address")


def json_get(client: httpx.Client, url: str, *, issuer: str) -> dict[str, Any]:
    """The JSON object at `url`, read for `issuer` (https unless it is listed as insecure;
    a public address unless it is), at most MAX_DOCUMENT_BYTES. Raises FetchFailed or
    httpx.HTTPError."""
    scheme = urlsplit(url).scheme
    insecure = insecure_issuer_allowed(issuer)
    if scheme != "https" and not (insecure and scheme == "http"):
        raise FetchFailed(f"{url} is not https")
    if not insecure:
        public_address_check(url)
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
    """The JWKS's signing keys (KEY_TYPES) by kid; other keys are skipped."""
    found: dict[str, Any] = {}
    keys = jwks.get("keys")
    for item in keys if isinstance(keys, list) else []:
        if not isinstance(item, dict) or item.get("kty") not in KEY_TYPES:
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
            discovery = json_get(client, issuer + DISCOVERY_PATH, issuer=issuer)
            if discovery.get("issuer") != issuer:
                raise FetchFailed("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise FetchFailed("the discovery document has no jwks_uri")
            return _import_keys(json_get(client, jwks_uri, issuer=issuer))
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


KEYS = KeyCache()  # read as oidc.KEYS at each use: tests give each test its own
