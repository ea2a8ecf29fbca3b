"""The real OpenID provider the SSO tests run against (tests/support/oidc_provider.py).

Chromium walks the same flow in tests/browser/test_oidc_provider_flow.py; here the relying
party's part is played over HTTP, and every answer is checked the way an RP must check it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import InvalidClaimError
from joserfc.jwk import KeySet

from tests.support.oidc_provider import OidcClient, OidcProvider, pkce_pair
from tests.support.servers import RequestCatcher

SSO_DEMO = Path(__file__).resolve().parent / "support" / "sso_demo.json"


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def verified_claims(provider, id_token: str, *, audience: str, nonce: str) -> dict:
    """The ID token checked as an RP must: signature on the JWKS, then iss, aud, nonce, exp."""
    keys = KeySet.import_key_set(httpx.get(provider.endpoint("jwks")).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": audience},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
        sub={"essential": True},
    ).validate(token.claims)
    return token.claims


@pytest.fixture
def catcher():
    with RequestCatcher() as server:
        yield server


@pytest.fixture
def rp(oidc_provider, catcher):
    """A registered client whose redirect URI is the catcher, and a person to sign in."""
    client = oidc_provider.add_client(redirect_uris=[f"{catcher.url}/callback"])
    email = f"person-{secrets.token_hex(3)}@example.com"
    user = oidc_provider.add_user(email, "correct horse", name="Pat Person")
    return client, user


def test_discovery_and_jwks_are_served(oidc_provider):
    discovery = httpx.get(f"{oidc_provider.issuer}/.well-known/openid-configuration").json()

    assert discovery["issuer"] == oidc_provider.issuer
    assert oidc_provider.issuer.startswith("http://127.0.0.1:")
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "email", "profile"} <= set(discovery["scopes_supported"])
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    jwks = httpx.get(discovery["jwks_uri"]).json()
    assert [(key["kty"], key["alg"]) for key in jwks["keys"]] == [("RSA", "RS256")]
    assert jwks["keys"][0]["kid"]
    assert "d" not in jwks["keys"][0]  # the public half only


def test_code_flow_with_pkce_yields_a_signed_id_token(oidc_provider, rp):
    client, user = rp
    verifier, challenge = pkce_pair()
    nonce, state = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    url = oidc_provider.authorization_url(
        client, state=state, nonce=nonce, code_challenge=challenge
    )

    callback = oidc_provider.sign_in(url, email=user.email, password=user.password)

    assert callback.startswith(client.redirect_uris[0] + "?")
    answer = query_of(callback)
    assert answer["state"] == state
    assert answer["iss"] == oidc_provider.issuer
    tokens = oidc_provider.exchange_code(
        client, code=answer["code"], redirect_uri=client.redirect_uris[0], code_verifier=verifier
    )
    assert tokens.status_code == 200, tokens.text
    claims = verified_claims(
        oidc_provider, tokens.json()["id_token"], audience=client.client_id, nonce=nonce
    )
    assert claims["sub"] == user.sub
    assert (claims["email"], claims["email_verified"], claims["name"]) == (
        user.email,
        True,
        "Pat Person",
    )
    userinfo = httpx.get(
        oidc_provider.endpoint("userinfo"),
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
    ).json()
    assert userinfo["email"] == user.email


def test_id_token_for_another_client_fails_the_audience_check(oidc_provider, rp):
    client, user = rp
    verifier, challenge = pkce_pair()
    url = oidc_provider.authorization_url(client, state="s", nonce="n", code_challenge=challenge)
    code = query_of(oidc_provider.sign_in(url, email=user.email, password=user.password))["code"]
    tokens = oidc_provider.exchange_code(
        client, code=code, redirect_uri=client.redirect_uris[0], code_verifier=verifier
    ).json()

    with pytest.raises(InvalidClaimError, match="aud"):
        verified_claims(oidc_provider, tokens["id_token"], audience="another-client", nonce="n")
    with pytest.raises(InvalidClaimError, match="nonce"):
        verified_claims(oidc_provider, tokens["id_token"], audience=client.client_id, nonce="x")


def test_a_code_is_used_once_and_only_with_its_verifier(oidc_provider, rp):
    client, user = rp
    verifier, challenge = pkce_pair()
    url = oidc_provider.authorization_url(client, state="s", nonce="n", code_challenge=challenge)
    code = query_of(oidc_provider.sign_in(url, email=user.email, password=user.password))["code"]
    redirect_uri = client.redirect_uris[0]

    wrong = oidc_provider.exchange_code(
        client, code=code, redirect_uri=redirect_uri, code_verifier=pkce_pair()[0]
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")

    code = query_of(oidc_provider.sign_in(url, email=user.email, password=user.password))["code"]
    first = oidc_provider.exchange_code(
        client, code=code, redirect_uri=redirect_uri, code_verifier=verifier
    )
    again = oidc_provider.exchange_code(
        client, code=code, redirect_uri=redirect_uri, code_verifier=verifier
    )
    assert first.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_pkce_is_required(oidc_provider, rp):
    client, user = rp
    url = oidc_provider.authorization_url(client, state="s", nonce="n", code_challenge=None)

    callback = oidc_provider.sign_in(url, email=user.email, password=user.password)

    answer = query_of(callback)
    assert answer["error"] == "invalid_request"
    assert "requires PKCE" in answer["error_description"]
    assert "code" not in answer


def test_the_client_secret_is_checked(oidc_provider, rp):
    client, user = rp
    verifier, challenge = pkce_pair()
    url = oidc_provider.authorization_url(client, state="s", nonce="n", code_challenge=challenge)
    code = query_of(oidc_provider.sign_in(url, email=user.email, password=user.password))["code"]
    impostor = replace(client, client_secret="not-the-secret")

    answer = oidc_provider.exchange_code(
        impostor, code=code, redirect_uri=client.redirect_uris[0], code_verifier=verifier
    )

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_wrong_password_and_unknown_person_stay_on_the_sign_in_page(oidc_provider, rp):
    client, user = rp
    url = oidc_provider.authorization_url(client, state="s", nonce="n", code_challenge="x" * 43)

    with pytest.raises(AssertionError, match=r"401: .*Wrong email or password"):
        oidc_provider.sign_in(url, email=user.email, password="wrong")
    with pytest.raises(AssertionError, match="Wrong email or password"):
        oidc_provider.sign_in(url, email="nobody@example.com", password=user.password)


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(oidc_provider, rp, catcher):
    client, user = rp
    url = oidc_provider.authorization_url(
        client,
        state="s",
        nonce="n",
        code_challenge="x" * 43,
        redirect_uri=f"{catcher.url}/elsewhere",
    )

    with pytest.raises(AssertionError, match="redirect_uri did not match"):
        oidc_provider.sign_in(url, email=user.email, password=user.password)
    assert catcher.requests == []


def test_a_star_in_a_redirect_uri_matches_one_path_segment(oidc_provider, rp):
    _, user = rp
    client = oidc_provider.add_client(
        redirect_uris=["http://127.0.0.1:8000/accounts/oidc/*/login/callback/"]
    )
    acme = "http://127.0.0.1:8000/accounts/oidc/acme/login/callback/"
    nested = "http://127.0.0.1:8000/accounts/oidc/a/b/login/callback/"

    def authorize(redirect_uri: str) -> str:
        url = oidc_provider.authorization_url(
            client, state="s", nonce="n", code_challenge="x" * 43, redirect_uri=redirect_uri
        )
        return oidc_provider.sign_in(url, email=user.email, password=user.password)

    assert authorize(acme).startswith(acme + "?code=")
    with pytest.raises(AssertionError, match="redirect_uri did not match"):
        authorize(nested)


def test_the_admin_route_needs_the_runs_token(oidc_provider):
    client = {"client_id": "sneaky", "client_secret": "x", "redirect_uris": ["http://x.test/cb"]}

    for headers in ({}, {"Authorization": "Bearer guessed"}):
        answer = httpx.post(f"{oidc_provider.issuer}/_admin/clients", json=client, headers=headers)
        assert answer.status_code == 401


def test_the_sso_demo_configuration_signs_in_the_demo_owner():
    """What `make sso-demo` starts (on port 9400 there; a free port here)."""
    provider = OidcProvider(config=SSO_DEMO).start()
    try:
        callback = "http://127.0.0.1:8000/accounts/oidc/acme/login/callback/"
        client = OidcClient(
            "keyward-sso-demo", "keyward-sso-demo-secret", (callback,), "client_secret_post"
        )
        verifier, challenge = pkce_pair()
        url = provider.authorization_url(client, state="s", nonce="n", code_challenge=challenge)

        answer = query_of(provider.sign_in(url, email="owner@example.com", password="keyward-demo"))
        tokens = provider.exchange_code(
            client, code=answer["code"], redirect_uri=callback, code_verifier=verifier
        )

        claims = verified_claims(
            provider, tokens.json()["id_token"], audience="keyward-sso-demo", nonce="n"
        )
        assert (claims["email"], claims["name"]) == ("owner@example.com", "Olivia Owner")
    finally:
        provider.stop()
