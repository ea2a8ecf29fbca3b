"""The exchange's keys (rotation, the JWKS cache and its refetch limit), its limits (50 live
tokens per publisher, exchanges per client IP), several matching publishers, custom issuers,
and a grant that a policy forbids by the time it mints."""

from __future__ import annotations

import pytest

from accounts import oidc
from tests.tokens.conftest import set_policy
from tests.tokens.publishers.conftest import add_publisher, exchange, github_conditions
from tests.tokens.publishers.test_exchange import refused
from tokens.models import Token
from tokens.publishers.services import MAX_LIVE_PER_PUBLISHER

pytestmark = pytest.mark.django_db

JWKS = "/.well-known/jwks"


@pytest.fixture
def later(monkeypatch):
    """later(seconds): the JWKS cache's clock moves forward by `seconds`."""
    offset = [0.0]
    real = oidc.clock
    monkeypatch.setattr(oidc, "clock", lambda: real() + offset[0])

    def move(seconds: float) -> None:
        offset[0] += seconds

    return move


def test_rotated_keys_old_kid_gone_new_kid_fetched_at_most_once_a_minute(
    client, issuer, world, later
):
    world.add(issuer)
    old_kid = issuer.key_for("RS256").kid
    old_token = issuer.github_token()  # signed before the rotation, exchanged after it
    assert exchange(client, issuer.github_token()).status_code == 201
    assert issuer.hits[JWKS] == 1

    issuer.rotate("RS256")
    new_token = issuer.github_token()
    later(30)  # within the minute: the unknown kid does not fetch again
    refused(exchange(client, new_token), "signature")
    assert issuer.hits[JWKS] == 1

    later(31)  # a minute on: fetched again, once, and the new key verifies
    assert exchange(client, new_token).status_code == 201
    assert issuer.hits[JWKS] == 2

    message = refused(exchange(client, old_token), "signature")  # its key is gone
    assert old_kid in message and "unknown kid" in message
    assert issuer.hits[JWKS] == 2  # and it did not fetch again within the minute


def test_an_unknown_kid_fetches_again_at_most_once_a_minute(client, issuer, world, later):
    world.add(issuer)
    assert exchange(client, issuer.github_token()).status_code == 201
    later(120)
    for _ in range(3):
        refused(exchange(client, issuer.mint_unknown_kid(issuer.github_claims())), "signature")
    assert issuer.hits[JWKS] == 2


def test_at_most_50_live_tokens_per_publisher(client, issuer, world):
    world.add(issuer)
    for _ in range(MAX_LIVE_PER_PUBLISHER):
        assert exchange(client, issuer.github_token()).status_code == 201
    answer = exchange(client, issuer.github_token())
    assert answer.status_code == 429
    assert answer.json()["error"] == "rate_limited"
    assert 0 < int(answer["Retry-After"]) <= 15 * 60 + 1
    assert Token.objects.count() == MAX_LIVE_PER_PUBLISHER


def test_exchanges_are_rate_limited_per_client_ip(client, issuer, world):
    for _ in range(60):
        refused(exchange(client, "not-a-jwt"), "signature")
    answer = exchange(client, issuer.github_token())
    assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
    assert int(answer["Retry-After"]) > 0
    other_ip = exchange(client, "not-a-jwt", REMOTE_ADDR="198.51.100.9")
    assert other_ip.status_code == 401


def test_several_matching_publishers_are_chosen_between_by_id(client, issuer, world):
    reader = world.add(issuer, name="Reads", grant={"scopes": ["zones:read"]})
    writer = world.add(issuer, name="Writes")
    message = refused(exchange(client, issuer.github_token()), "no publisher matched")
    assert "several" in message and '"publisher"' in message
    answer = exchange(client, issuer.github_token(), publisher=reader.pk)
    assert answer.status_code == 201
    assert answer.json()["data"]["minted_by"]["publisher"] == reader.pk
    assert answer.json()["data"]["scopes"] == ["zones:read"]
    assert writer.pk != reader.pk


def test_a_custom_issuer_matches_an_exact_sub_and_exact_claims(client, issuer, world):
    world.add(
        issuer,
        provider="custom",
        name="Buildkite",
        conditions={"sub": "organization:acme:pipeline:deploy", "pipeline_slug": "deploy"},
        grant={"scopes": ["zones:read"]},
    )
    claims = issuer.github_claims(sub="organization:acme:pipeline:deploy", pipeline_slug="deploy")
    assert exchange(client, issuer.mint(claims)).status_code == 201
    other = issuer.github_claims(sub="organization:acme:pipeline:deploy", pipeline_slug="build")
    message = refused(exchange(client, issuer.mint(other)), "no publisher matched")
    assert "pipeline_slug" not in message  # a custom publisher's claims are its configuration


def test_a_grant_a_policy_forbids_by_now_mints_nothing(client, issuer, world):
    world.add(issuer)
    set_policy(world.account, automation_requires_ip_allow_list=True)
    answer = exchange(client, issuer.github_token())
    assert answer.status_code == 403
    assert answer.json()["error"] == "policy_violation"
    assert "IP allow-list" in answer.json()["message"]
    assert not Token.objects.exists()


def test_selected_resources_deleted_since_are_left_out(client, issuer, world):
    world.add(issuer, grant={"resources": {"zones": [world.zone.pk, world.other_zone.pk]}})
    world.other_zone.delete()
    answer = exchange(client, issuer.github_token())
    assert answer.status_code == 201
    assert answer.json()["data"]["resources"]["zones"] == [world.zone.pk]


def test_an_issuer_that_cannot_be_reached_is_a_signature_refusal(client, issuer, world, settings):
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.KEYWARD_OIDC_INSECURE_ISSUERS = [issuer.issuer, dead]
    add_publisher(world.account, world.owner, issuer, issuer=dead, conditions=github_conditions())
    message = refused(exchange(client, issuer.github_token(iss=dead)), "signature")
    assert "unknown kid" in message
