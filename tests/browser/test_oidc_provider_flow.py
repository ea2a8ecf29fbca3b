"""The real OpenID provider's sign-in, walked by Chromium (tests/support/oidc_provider.py).

What the SSO tests rely on: a person signs in on the provider's own page in a real browser,
and the relying party gets a code it can trade for an ID token it can verify.
"""

from __future__ import annotations

import secrets

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import expect

from tests.support.oidc_provider import pkce_pair
from tests.support.servers import RequestCatcher


def test_authorization_code_flow_with_pkce_in_chromium(page, oidc_provider):
    with RequestCatcher() as catcher:
        redirect_uri = f"{catcher.url}/login/callback/"
        client = oidc_provider.add_client(
            redirect_uris=[redirect_uri], token_endpoint_auth_method="client_secret_basic"
        )
        user = oidc_provider.add_user("browser-person@example.com", "s3cret-in-browser")
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)

        page.goto(
            oidc_provider.authorization_url(
                client, state=state, nonce=nonce, code_challenge=challenge, login_hint=user.email
            )
        )
        expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
        expect(page.get_by_label("Email")).to_have_value(user.email)
        page.get_by_label("Password").fill("not it")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
        page.get_by_label("Password").fill(user.password)
        page.get_by_role("button", name="Sign in").click()

        (callback,) = catcher.wait_for(1, path="/login/callback/")
        expect(page.get_by_text("Caught.")).to_be_visible()

    assert callback.path == "/login/callback/"
    assert callback.query["state"] == state
    tokens = oidc_provider.exchange_code(
        client, code=callback.query["code"], redirect_uri=redirect_uri, code_verifier=verifier
    )
    assert tokens.status_code == 200, tokens.text
    keys = KeySet.import_key_set(httpx.get(oidc_provider.endpoint("jwks")).json())
    id_token = jwt.decode(tokens.json()["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": oidc_provider.issuer},
        aud={"essential": True, "value": client.client_id},
        nonce={"essential": True, "value": nonce},
    ).validate(id_token.claims)
    assert id_token.claims["email"] == user.email
    assert id_token.claims["email_verified"] is True


def test_cancelling_the_sign_in_returns_access_denied(page, oidc_provider):
    with RequestCatcher() as catcher:
        client = oidc_provider.add_client(redirect_uris=[f"{catcher.url}/cb"])
        _, challenge = pkce_pair()
        page.goto(
            oidc_provider.authorization_url(client, state="st", nonce="n", code_challenge=challenge)
        )

        page.get_by_role("link", name="Cancel").click()

        (callback,) = catcher.wait_for(1, path="/cb")
    assert callback.query["error"] == "access_denied"
    assert callback.query["state"] == "st"
    assert "code" not in callback.query
