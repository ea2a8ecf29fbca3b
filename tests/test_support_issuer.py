"""The CI ID-token issuer the trusted-publisher tests run against (tests/support/issuer.py).

Every token is checked the way a verifier must: keys fetched from the JWKS the discovery
document names, over HTTP, with joserfc and only RS256 and ES256 allowed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidKeyIdError,
    InvalidTokenError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from tests.support.issuer import expired, not_yet_valid, too_old

ALLOWED = ["RS256", "ES256"]


def served_keys(issuer_url: str) -> KeySet:
    """The issuer's keys as a verifier gets them: discovery, then its jwks_uri."""
    discovery = httpx.get(f"{issuer_url}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer_url
    return KeySet.import_key_set(httpx.get(discovery["jwks_uri"]).json())


def verify(issuer, token: str, *, leeway: int = 60) -> dict:
    """Signature on the served JWKS, then iss, aud, exp and nbf with a leeway."""
    decoded = jwt.decode(token, served_keys(issuer.issuer), algorithms=ALLOWED)
    jwt.JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer.issuer},
        aud={"essential": True, "value": issuer.audience},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    return decoded.claims


def header_of(token: str) -> dict:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_discovery_and_jwks_serve_an_rsa_and_an_ec_key(oidc_issuer):
    discovery = httpx.get(f"{oidc_issuer.url}/.well-known/openid-configuration").json()
    jwks = httpx.get(discovery["jwks_uri"]).json()

    assert discovery["issuer"] == oidc_issuer.issuer == oidc_issuer.url
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert sorted((key["kty"], key["alg"]) for key in jwks["keys"]) == [
        ("EC", "ES256"),
        ("RSA", "RS256"),
    ]
    assert all(key["kid"] and "d" not in key for key in jwks["keys"])  # public halves only
    assert httpx.get(f"{oidc_issuer.url}/other").status_code == 404


def test_each_run_makes_its_own_keys(oidc_issuer):
    from tests.support.issuer import OidcIssuer

    with OidcIssuer() as other:
        assert set(other.keys).isdisjoint(oidc_issuer.keys)


def test_github_shaped_token_verifies_with_rs256_and_es256(oidc_issuer):
    for alg in ALLOWED:
        token = oidc_issuer.mint(oidc_issuer.github_claims(), alg=alg)

        claims = verify(oidc_issuer, token)

        assert header_of(token)["alg"] == alg
        assert header_of(token)["kid"] == oidc_issuer.key_for(alg).kid
        assert claims["sub"] == "repo:octo-org/octo-repo:environment:prod"
        assert claims["repository"] == "octo-org/octo-repo"
        assert (claims["repository_id"], claims["repository_owner_id"]) == ("74", "65")
        assert claims["job_workflow_ref"].startswith("octo-org/octo-repo/.github/workflows/")
        assert claims["workflow_ref"].endswith("@refs/heads/main")
        for name in ("ref", "ref_type", "event_name", "run_id", "sha", "nbf", "exp"):
            assert claims[name]


def test_github_overrides_and_the_subject_that_follows_them(oidc_issuer):
    fork = oidc_issuer.github_claims(
        event_name="pull_request", ref="refs/pull/7/merge", environment=None
    )
    branch = oidc_issuer.github_claims(environment=None, repository="acme/dns")

    assert fork["sub"] == "repo:octo-org/octo-repo:pull_request"
    assert "environment" not in fork
    assert branch["sub"] == "repo:acme/dns:ref:refs/heads/main"
    assert branch["repository_owner"] == "acme"
    assert oidc_issuer.github_claims(sub="custom")["sub"] == "custom"
    assert oidc_issuer.github_claims()["jti"] != oidc_issuer.github_claims()["jti"]


def test_gitlab_shaped_token_verifies(oidc_issuer):
    token = oidc_issuer.gitlab_token(ref="release", environment="staging")

    claims = verify(oidc_issuer, token)

    assert claims["sub"] == "project_path:my-group/my-project:ref_type:branch:ref:release"
    assert (claims["project_path"], claims["project_id"]) == ("my-group/my-project", "20")
    assert (claims["namespace_path"], claims["namespace_id"]) == ("my-group", "72")
    assert claims["environment"] == "staging"
    for name in ("pipeline_id", "job_id", "sha", "user_login", "ref_type"):
        assert claims[name]


def test_alg_none_is_refused(oidc_issuer):
    token = oidc_issuer.mint_unsigned(oidc_issuer.github_claims())

    assert header_of(token)["alg"] == "none"
    assert token.endswith(".")
    with pytest.raises(UnsupportedAlgorithmError):
        verify(oidc_issuer, token)


def test_hs256_keyed_with_the_public_key_is_refused(oidc_issuer):
    token = oidc_issuer.mint_hs256_with_public_key(oidc_issuer.github_claims())

    # A naive verifier that takes "alg" from the header would accept it: the forgery is real.
    signing_input, _, signature = token.rpartition(".")
    public_pem = oidc_issuer.key_for("RS256").as_pem(private=False)
    expected = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature
    with pytest.raises(UnsupportedAlgorithmError):
        verify(oidc_issuer, token)


def test_a_kid_the_jwks_does_not_have_is_refused(oidc_issuer):
    token = oidc_issuer.mint_unknown_kid(oidc_issuer.github_claims())

    assert header_of(token)["kid"] not in oidc_issuer.keys
    with pytest.raises(InvalidKeyIdError):
        verify(oidc_issuer, token)


def test_a_token_signed_by_another_key_with_a_served_kid_is_refused(oidc_issuer):
    from tests.support.issuer import OidcIssuer

    with OidcIssuer() as impostor:
        token = impostor.mint(
            oidc_issuer.github_claims(), header={"kid": oidc_issuer.key_for("RS256").kid}
        )
    with pytest.raises(BadSignatureError):
        verify(oidc_issuer, token)


def test_rotation_changes_the_served_jwks(oidc_issuer):
    old_kid = oidc_issuer.key_for("RS256").kid
    old_token = oidc_issuer.github_token()
    jwks_fetches = oidc_issuer.hits["/.well-known/jwks"]

    new_kid = oidc_issuer.rotate("RS256")

    served = {key["kid"] for key in httpx.get(f"{oidc_issuer.url}/.well-known/jwks").json()["keys"]}
    assert new_kid in served
    assert old_kid not in served
    assert oidc_issuer.hits["/.well-known/jwks"] == jwks_fetches + 1
    assert header_of(oidc_issuer.github_token())["kid"] == new_kid
    assert verify(oidc_issuer, oidc_issuer.github_token())
    with pytest.raises(InvalidKeyIdError):
        verify(oidc_issuer, old_token)

    added = oidc_issuer.add_key("ES256")  # two ES256 keys served side by side
    assert verify(oidc_issuer, oidc_issuer.mint(oidc_issuer.gitlab_claims(), kid=added))
    oidc_issuer.remove_key(added)
    assert added not in {key.kid for key in served_keys(oidc_issuer.issuer).keys}


def test_expired_and_not_yet_valid_fail_their_checks_despite_the_leeway(oidc_issuer):
    stale = oidc_issuer.mint(expired(oidc_issuer.github_claims()))
    early = oidc_issuer.mint(not_yet_valid(oidc_issuer.github_claims()), alg="ES256")

    with pytest.raises(ExpiredTokenError):
        verify(oidc_issuer, stale)
    with pytest.raises(InvalidTokenError):
        verify(oidc_issuer, early)


def test_too_old_is_otherwise_valid(oidc_issuer):
    """Only `iat` is wrong: the 10-minute age rule is Keyward's to enforce, not joserfc's."""
    claims = verify(oidc_issuer, oidc_issuer.mint(too_old(oidc_issuer.gitlab_claims())))

    assert claims["iat"] <= time.time() - 14 * 60
    assert claims["exp"] > time.time()
    with pytest.raises(InvalidTokenError):
        verify(oidc_issuer, oidc_issuer.mint(too_old(oidc_issuer.github_claims(), minutes=-5)))


def test_wrong_audience_and_issuer_are_refused(oidc_issuer):
    from joserfc.errors import InvalidClaimError

    with pytest.raises(InvalidClaimError, match="aud"):
        verify(oidc_issuer, oidc_issuer.github_token(aud="https://github.com/octo-org"))
    with pytest.raises(InvalidClaimError, match="iss"):
        verify(
            oidc_issuer, oidc_issuer.github_token(iss="https://token.actions.githubusercontent.com")
        )
