"""Trusted publishers' world: an account, its superuser, a real CI issuer trusted over http,
and helpers to add a publisher (through the services) and to exchange an ID token (HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import ZoneFactory, issue_user_token
from tests.tokens.conftest import call
from tokens.events import Actor
from tokens.publishers.models import Publisher
from tokens.publishers.services import publisher_create
from tokens.publishers.validation import publisher_input_clean

EXCHANGE = "/oidc/exchange"


@pytest.fixture
def issuer(oidc_issuer, settings):
    """The test issuer (tests/support/issuer.py), trusted although it speaks http (each test
    starts with no keys cached: tests/conftest.py)."""
    settings.KEYWARD_OIDC_INSECURE_ISSUERS = [oidc_issuer.issuer]
    return oidc_issuer


@dataclass
class World:
    account: Any
    owner: Any
    zone: Any
    other_zone: Any

    def add(self, server, *, provider: str = "github", **fields: Any) -> Publisher:
        """A publisher of the account for the test issuer `server` (or `issuer=...`), saved
        through the rules and services as a person would."""
        return add_publisher(self.account, self.owner, server, provider=provider, **fields)


def github_conditions(**overrides: Any) -> dict[str, Any]:
    """The conditions that match the issuer's default GitHub claims (octo-org/octo-repo, prod)."""
    conditions = {
        "repository": "octo-org/octo-repo",
        "repository_id": "74",
        "repository_owner_id": "65",
        "environment": "prod",
        **overrides,
    }
    return {name: value for name, value in conditions.items() if value is not None}


def add_publisher(account, person, server, *, provider: str = "github", **fields: Any) -> Publisher:
    grant = {"role": "engineer", "scopes": ["zones:read", "zones:write"], **fields.pop("grant", {})}
    conditions = fields.pop("conditions", None)
    if conditions is None:
        conditions = github_conditions() if provider == "github" else {}
    cleaned = publisher_input_clean(
        account,
        name=fields.pop("name", "Deploys"),
        provider=provider,
        issuer=fields.pop("issuer", server.issuer),
        conditions=conditions,
        grant=grant,
    )
    assert not fields, f"unknown fields {fields}"
    return publisher_create(actor=Actor.person(person), account=account, cleaned=cleaned)


@pytest.fixture
def world(account, member_factory) -> World:
    owner = member_factory(account, "superuser", email="owner@example.org")
    zone = ZoneFactory(account=account, name="example.org")
    other_zone = ZoneFactory(account=account, name="other.example")
    return World(account=account, owner=owner, zone=zone, other_zone=other_zone)


@pytest.fixture
def superuser_secret(world) -> str:
    """A user token of the account's superuser with `global` on everything."""
    return issue_user_token(world.owner, name="admin").secret


def exchange(client, id_token: str, *, publisher: int | None = None, **request: Any):
    """POST /api/v1/oidc/exchange with the ID token (and `publisher` when given); `request`
    goes to the test client (REMOTE_ADDR=...)."""
    body: dict[str, Any] = {"token": id_token}
    if publisher is not None:
        body["publisher"] = publisher
    return call(client, "POST", EXCHANGE, body=body, **request)
