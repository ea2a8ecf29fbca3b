"""The ID token checks Keyward adds to allauth's (accounts.sso.provider), on real ID tokens.

The tokens come from the real OpenID provider's token endpoint: one issued to another
client (another audience), one whose signature was altered, one that verifies.
"""

from __future__ import annotations

import base64

import pytest
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.test import RequestFactory

from accounts.sso.provider import SsoOAuth2Adapter
from tests.support.oidc_provider import pkce_pair
from tests.test_support_oidc_provider import query_of


def id_token_for(provider, client, email: str) -> str:
    verifier, challenge = pkce_pair()
    url = provider.authorization_url(client, state="s", nonce="n", code_challenge=challenge)
    code = query_of(provider.sign_in(url, email=email, password="idp-password"))["code"]
    answer = provider.exchange_code(
        client, code=code, redirect_uri=client.redirect_uris[0], code_verifier=verifier
    )
    return str(answer.json()["id_token"])


@pytest.fixture
def decode(sso_world):
    adapter = SsoOAuth2Adapter(RequestFactory().get("/"), sso_world.sso.provider_id)
    adapter._openid_config = sso_world.provider.discovery()
    app = SocialApp(provider="openid_connect", client_id=sso_world.client.client_id)
    return lambda token: adapter._decode_id_token(app, token)


def test_a_token_for_the_accounts_client_verifies(sso_world, decode):
    claims = decode(id_token_for(sso_world.provider, sso_world.client, sso_world.owner.email))
    assert claims["email"] == sso_world.owner.email
    assert claims["aud"] == sso_world.client.client_id


def test_an_id_token_for_another_audience_is_refused(sso_world, decode, oidc_provider):
    other = oidc_provider.add_client(redirect_uris=["http://testserver/elsewhere/"])
    with pytest.raises(OAuth2Error, match="id_token"):
        decode(id_token_for(oidc_provider, other, sso_world.owner.email))


def test_an_altered_signature_is_refused_even_from_the_token_endpoint(sso_world, decode):
    token = id_token_for(sso_world.provider, sso_world.client, sso_world.owner.email)
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(OAuth2Error, match="id_token"):
        decode(f"{header}.{payload}.{forged}")
