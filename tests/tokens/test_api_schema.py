"""The OpenAPI schema tells the truth: schemathesis sends what the schema allows (and what it
does not) to every operation and checks each answer against the schema: documented status,
content type, headers and body shape, and never a 500.

Bounded: a few examples per operation, so the whole run takes seconds, not minutes. One
check is left out: `positive_data_acceptance` expects every schema-valid body to succeed, but
some rules cannot be said in a schema (a domain name's syntax, an expiry in the future, a name
already taken): those answers are a documented 422. And `ignored_auth` replays requests
without credentials, which our auth provider puts back: tests/tokens/test_api.py sends every
route without a token, and with a bad one, and expects 401.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.factories import (
    PASSWORD,
    CertificateFactory,
    DomainFactory,
    RecordFactory,
    ServiceFactory,
    ZoneFactory,
    issue_user_token,
)
from tokens.models import Token

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
CURRENT: dict = {}  # the running example's world, for the auth provider


@schema.auth(refresh_interval=None)
class KeywardAuth:
    """Basic email and password for POST /tokens, a live global bearer token elsewhere.

    Given as an auth provider, so schemathesis knows these credentials are real and can
    replay each request without them (it must then be refused).
    """

    def get(self, case, context):
        world = CURRENT.get("world")
        if world is None:  # asked while collecting, before any example runs
            return ""
        if case.method.upper() == "POST" and case.path == "/api/v1/tokens":
            email = world["owner"].email
            return "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
        return f"Bearer {_bearer(world)}"

    def set(self, case, data, context):
        if data:
            case.headers = {**(case.headers or {}), "Authorization": data}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the raw WSGI handler, whose request signals would close the test's
    database connection (and its transaction) after every request; Django's test client
    disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(account, member_factory):
    owner = member_factory(account, "superuser")
    zone = ZoneFactory(account=account)
    return {
        "owner": owner,
        "ids": {
            "account_id": account.pk,
            "zone_id": zone.pk,
            "record_id": RecordFactory(zone=zone).pk,
            "domain_id": DomainFactory(account=account).pk,
            "certificate_id": CertificateFactory(account=account).pk,
            "service_id": ServiceFactory(account=account).pk,
        },
    }


def _bearer(world) -> str:
    """A live global token of the owner (an example may have revoked the last one)."""
    secret = world.get("secret")
    if secret is None or not Token.objects.filter(pk=world["token_id"]).exists():
        created = issue_user_token(world["owner"], name="schema")
        world["secret"], world["token_id"] = created.secret, created.token.pk
    return world["secret"]


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case, world):
    if not case.meta.is_negative_at(ParameterLocation.PATH):
        for name, value in world["ids"].items():  # real ids, so examples reach real rows
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
    CURRENT["world"] = world
    case.call_and_validate(excluded_checks=[positive_data_acceptance, ignored_auth])
