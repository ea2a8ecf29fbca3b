"""POST /api/v1/oidc/exchange (SPEC 18) against a real issuer: a CI ID token becomes a working,
correctly limited token in one request; every refusal names its check and mints nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from tests.support.issuer import expired, not_yet_valid, too_old
from tests.tokens.conftest import call
from tests.tokens.publishers.conftest import exchange, github_conditions
from tokens.models import Event, Token
from tokens.publishers.models import UsedIdToken

pytestmark = pytest.mark.django_db


def refused(response, check: str) -> str:
    """The 401 of a refused exchange, whose message starts with the failed check."""
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "invalid_token"
    assert body["message"].startswith(f"{check}: "), body["message"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    return body["message"]


def test_a_github_id_token_becomes_a_working_limited_token_in_one_request(
    client, issuer, world, django_assert_max_num_queries
):
    publisher = world.add(
        issuer,
        name="Deploys from prod",
        grant={
            "scopes": ["zones:read", "zones:write"],
            "resources": {"zones": [world.zone.pk]},
            "record_rules": [{"name": "_acme-challenge", "types": ["TXT"]}],
            "lifetime_minutes": 10,
        },
    )
    before = timezone.now()
    claims = issuer.github_claims()

    answer = exchange(client, issuer.mint(claims))

    assert answer.status_code == 201, answer.content
    data = answer.json()["data"]
    secret = data["token"]
    assert secret.startswith("kwa_") and len(secret) == 42
    assert data["type"] == "automation" and data["role"] == "engineer"
    assert data["account"]["id"] == world.account.pk
    assert data["scopes"] == ["zones:read", "zones:write"]
    assert data["resources"]["zones"] == [world.zone.pk]
    assert data["record_rules"] == [{"name": "_acme-challenge", "types": ["TXT"]}]
    assert data["minted_by"] == {"publisher": publisher.pk, "name": "Deploys from prod"}
    expires = timezone.datetime.fromisoformat(data["expires_at"])
    assert before + timedelta(minutes=10) <= expires <= timezone.now() + timedelta(minutes=10)
    assert answer["Cache-Control"] == "no-store"

    # It works, within its grant: the selected zone, its record rules, nothing else.
    zones = call(client, "GET", f"/accounts/{world.account.pk}/zones", secret)
    assert [zone["id"] for zone in zones.json()["data"]] == [world.zone.pk]
    path = f"/accounts/{world.account.pk}/zones/{world.zone.pk}/records"
    acme = {"type": "TXT", "name": "_acme-challenge", "content": "token-value"}
    assert call(client, "POST", path, secret, acme).status_code == 201
    www = {"type": "A", "name": "www", "content": "203.0.113.7"}
    assert call(client, "POST", path, secret, www).json()["error"] == "record_not_allowed"
    other = f"/accounts/{world.account.pk}/zones/{world.other_zone.pk}"
    assert call(client, "GET", other, secret).status_code == 404
    assert call(client, "GET", f"/accounts/{world.account.pk}/domains", secret).status_code == 403

    # The event log: minted, with what the ID token said; its API write carries the run.
    token = Token.objects.get(pk=data["id"])
    minted = Event.objects.get(kind="token.minted", token_id=token.pk)
    assert minted.account_id == world.account.pk
    assert minted.details["publisher"] == {"id": publisher.pk, "name": "Deploys from prod"}
    run = minted.details["run"]
    assert run["repository"] == "octo-org/octo-repo"
    assert run["run_id"] == claims["run_id"] and run["sha"] == claims["sha"]
    assert run["ref"] == "refs/heads/main" and run["environment"] == "prod"
    assert run["workflow"] == claims["job_workflow_ref"]
    write = Event.objects.get(kind="api.write", actor_token_id=token.pk)
    assert write.details["run"] == run
    assert secret not in str(minted.details) and secret not in write.summary

    # Nobody's 100: the minted token was created by no one.
    assert token.created_by is None and token.user is None
    assert not Token.objects.counting_towards_limit(world.owner).filter(pk=token.pk).exists()


def test_the_exchange_costs_a_bounded_number_of_queries(
    client, issuer, world, django_assert_max_num_queries
):
    world.add(issuer)
    id_token = issuer.github_token()
    exchange(client, issuer.github_token())  # the JWKS is fetched and cached
    # The publishers trusting its issuer; then in one transaction the jti, the publisher's
    # lock with its live tokens, the token (token_create's checks: the account, its
    # policies, the selections written), its event (and the transaction's own statements).
    with django_assert_max_num_queries(16):
        assert exchange(client, id_token).status_code == 201


def test_es256_and_gitlab_shaped_tokens_work(client, issuer, world):
    world.add(
        issuer,
        provider="gitlab",
        name="GitLab deploys",
        conditions={
            "project_path": "my-group/my-project",
            "project_id": 20,
            "ref": "refs/heads/main",
        },
    )
    answer = exchange(client, issuer.mint(issuer.gitlab_claims(), alg="ES256"))
    assert answer.status_code == 201, answer.content
    token = Token.objects.get(pk=answer.json()["data"]["id"])
    assert token.minted_run["project"] == "my-group/my-project"
    assert token.minted_run["run_id"] == "574"


def test_the_jwks_is_fetched_once_and_cached(client, issuer, world):
    world.add(issuer)
    for _ in range(3):
        assert exchange(client, issuer.github_token()).status_code == 201
    assert issuer.hits["/.well-known/jwks"] == 1


# --------------------------------------------------------------------------- refusals


def _tampered(id_token: str) -> str:
    header, claims, signature = id_token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    return f"{header}.{claims}.{flipped}"


@pytest.mark.parametrize(
    ("make", "check", "words"),
    [
        (lambda i: _tampered(i.github_token()), "signature", "does not verify"),
        (lambda i: i.mint_unsigned(i.github_claims()), "signature", "'none'"),
        (lambda i: i.mint_hs256_with_public_key(i.github_claims()), "signature", "'HS256'"),
        (lambda i: i.mint_unknown_kid(i.github_claims()), "signature", "unknown kid"),
        (lambda i: "not-a-jwt", "signature", "not a signed JWT"),
        (lambda i: i.github_token(iss="https://token.example.net"), "issuer", "token.example.net"),
        (lambda i: i.github_token(aud="someone-else"), "audience", "someone-else"),
        (lambda i: i.mint(expired(i.github_claims())), "expired", "expired"),
        (lambda i: i.mint(not_yet_valid(i.github_claims())), "not yet valid", "not valid yet"),
        (lambda i: i.mint(too_old(i.github_claims())), "too old", "15 minutes ago"),
        (lambda i: i.github_token(jti=None), "replayed", "no jti"),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "hs256-with-public-key",
        "unknown-kid",
        "malformed",
        "wrong-issuer",
        "wrong-audience",
        "expired",
        "not-yet-valid",
        "too-old",
        "no-jti",
    ],
)
def test_every_refusal_names_its_check_and_mints_nothing(client, issuer, world, make, check, words):
    world.add(issuer)
    message = refused(exchange(client, make(issuer)), check)
    assert words in message
    assert not Token.objects.exists()
    assert not UsedIdToken.objects.exists()


def test_a_replayed_id_token_is_refused(client, issuer, world):
    world.add(issuer)
    id_token = issuer.github_token()
    assert exchange(client, id_token).status_code == 201
    refused(exchange(client, id_token), "replayed")
    assert Token.objects.count() == 1


def test_a_re_registered_repository_name_never_matches(client, issuer, world):
    """octo-org/octo-repo deleted, and the name registered again: a new repository_id."""
    world.add(issuer)
    message = refused(
        exchange(client, issuer.github_token(repository_id="98765")), "no publisher matched"
    )
    assert "repository_id='98765'" in message and "repository='octo-org/octo-repo'" in message
    assert "'74'" not in message  # the publisher's own value is never shown
    assert not Token.objects.exists()


def test_a_forks_pull_request_never_gets_a_write_grant(client, issuer, world):
    world.add(issuer, conditions=github_conditions(environment=None, ref="refs/heads/main"))
    pull_request = issuer.github_token(
        event_name="pull_request", ref="refs/pull/7/merge", environment=None, head_ref="fork:main"
    )
    message = refused(exchange(client, pull_request), "no publisher matched")
    assert "ref='refs/pull/7/merge'" in message and "environment absent" in message
    assert not Token.objects.exists()


def test_another_accounts_configuration_is_never_shown(client, issuer, world, member_factory):
    stranger = Account.objects.create(name="Other", slug="other", plan="teams")
    person = member_factory(stranger, "superuser")
    from tests.tokens.publishers.conftest import add_publisher

    add_publisher(
        stranger, person, issuer, conditions=github_conditions(repository="secret-org/vault")
    )
    message = refused(exchange(client, issuer.github_token()), "no publisher matched")
    assert "secret-org" not in message and "vault" not in message


def test_a_refused_exchange_does_not_use_up_the_id_token(client, issuer, world):
    """The jti is recorded with the token, in one transaction: a refusal records nothing."""
    publisher = world.add(issuer, conditions=github_conditions(environment="staging"))
    id_token = issuer.github_token()  # environment prod
    refused(exchange(client, id_token), "no publisher matched")
    publisher.conditions = github_conditions()
    publisher.save()
    assert exchange(client, id_token).status_code == 201


def test_the_body_is_strict(client, issuer, world):
    answer = call(client, "POST", "/oidc/exchange", body={"token": "x", "audience": "keyward"})
    assert answer.status_code == 422
    assert "audience" in answer.json()["fields"]
    assert call(client, "POST", "/oidc/exchange", body={}).status_code == 422


def test_a_far_expiry_keeps_its_jti_only_as_long_as_the_age_limit(client, issuer, world):
    world.add(issuer)
    assert exchange(client, issuer.github_token(exp=2**40)).status_code == 201
    kept = UsedIdToken.objects.get().expires_at
    assert kept <= timezone.now() + timedelta(minutes=11, seconds=5)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_times_that_are_not_numbers_are_refused_not_a_500(client, issuer, world, claim):
    world.add(issuer)
    check = {"exp": "expired", "nbf": "not yet valid", "iat": "too old"}[claim]
    for value in (float("inf"), "soon", True):
        refused(exchange(client, issuer.github_token(**{claim: value})), check)
    assert not Token.objects.exists()
