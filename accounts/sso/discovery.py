"""The identity provider's discovery document, fetched and checked when SSO is saved."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from accounts.oidc import DISCOVERY_PATH, FetchFailed, insecure_issuer_allowed, public_address_check

TIMEOUT_SECONDS = 5.0
REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class DiscoveryFailed(Exception):
    """The issuer's discovery document could not be fetched or is not usable (said in words)."""


def issuer_normalize(issuer: str) -> str:
    """The issuer URL as providers write it: no trailing slash, no discovery path."""
    issuer = issuer.strip()
    if issuer.endswith(DISCOVERY_PATH):
        issuer = issuer[: -len(DISCOVERY_PATH)]
    return issuer.rstrip("/")


def discovery_check(issuer: str) -> dict[str, object]:
    """Fetch `issuer`'s discovery document and check it is this issuer's, for the code flow.

    Raises DiscoveryFailed with what went wrong: not https, not a public address (unless
    the issuer is listed as insecure), unreachable, not JSON, an
    issuer that differs, a missing endpoint, no `code` response type or no S256 PKCE.
    """
    scheme = urlsplit(issuer).scheme
    if scheme != "https" and not (scheme == "http" and insecure_issuer_allowed(issuer)):
        raise DiscoveryFailed("The issuer URL must start with https://.")
    url = issuer + DISCOVERY_PATH
    if not insecure_issuer_allowed(issuer):
        try:
            public_address_check(url)  # never a probe of Keyward's own network
        except FetchFailed as refused:
            raise DiscoveryFailed(f"{url} cannot be used: {refused}.") from None
    try:
        response = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.TimeoutException:
        raise DiscoveryFailed(
            f"{url} did not answer within {TIMEOUT_SECONDS:.0f} seconds."
        ) from None
    except httpx.HTTPError as error:
        raise DiscoveryFailed(f"{url} could not be reached ({type(error).__name__}).") from None
    if response.status_code != 200:
        raise DiscoveryFailed(f"{url} answered {response.status_code}, not its discovery document.")
    try:
        document = response.json()
    except ValueError:
        raise DiscoveryFailed(f"{url} did not answer with JSON.") from None
    if not isinstance(document, dict):
        raise DiscoveryFailed(f"{url} did not answer with a discovery document.")
    _check_document(document, issuer)
    return document


def _check_document(document: dict[str, object], issuer: str) -> None:
    if document.get("issuer") != issuer:
        raise DiscoveryFailed(
            f"The discovery document names the issuer {document.get('issuer')!r}, not {issuer!r}."
        )
    missing = [key for key in REQUIRED if not isinstance(document.get(key), str)]
    if missing:
        raise DiscoveryFailed(f"The discovery document has no {', '.join(missing)}.")
    response_types = document.get("response_types_supported") or []
    if isinstance(response_types, list) and "code" not in response_types:
        raise DiscoveryFailed("The provider does not offer the authorization-code flow.")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise DiscoveryFailed("The provider does not offer PKCE with S256.")
