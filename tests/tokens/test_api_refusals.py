"""The API says what refuses (issue 14): the role, the plan or the scopes in 403s, and the
token rules of the wizard in `POST /api/v1/tokens` (422 naming the field)."""

from __future__ import annotations

import pytest

from accounts.constants import Plan, Role
from accounts.models import Record
from tests.factories import (
    AccountFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import basic, call
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def zone(account):
    return ZoneFactory(account=account, name="acme.example")


def _add_record(client, account, zone, secret):
    body = {"name": "www", "type": "A", "content": "203.0.113.9", "ttl": 300}
    return call(client, "POST", f"/accounts/{account.pk}/zones/{zone.pk}/records", secret, body)


def test_a_role_refusal_says_the_role_refuses(client, account, zone, member_factory):
    viewer = member_factory(account, Role.USER)
    secret = issue_user_token(viewer, scopes=["global"]).secret
    response = _add_record(client, account, zone, secret)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "insufficient_scope" and body["required_scope"] == "zones:write"
    assert body["message"] == (
        "Your role in Acme Test (user) does not allow zones:write, whatever the token's scopes."
    )
    assert 'scope="zones:write"' in response["WWW-Authenticate"]
    assert not Record.objects.exists()


def test_an_automation_role_refusal_names_the_tokens_role(client, account, zone):
    secret = issue_automation_token(account, role=Role.USER, scopes=["global"]).secret
    body = _add_record(client, account, zone, secret).json()
    assert body["required_scope"] == "zones:write"
    assert body["message"] == (
        "The token's role (user) does not allow zones:write in Acme Test, whatever its scopes."
    )


def test_a_scope_refusal_names_the_scope_it_needs(client, account, zone, member_factory):
    engineer = member_factory(account, Role.ENGINEER)
    secret = issue_user_token(engineer, scopes=["zones:read"]).secret
    body = _add_record(client, account, zone, secret).json()
    assert body["required_scope"] == "zones:write"
    assert body["message"] == "None of the token's scopes allows this; it needs “zones:write”."


def test_a_plan_refusal_names_the_plan(client, zone, member_factory):
    solo = AccountFactory(slug="solo-co", plan=Plan.TEAMS)
    token = issue_automation_token(solo, scopes=["zones:read"])
    solo.plan = Plan.SOLO
    solo.save()
    body = call(client, "GET", f"/accounts/{solo.pk}/zones", token.secret).json()
    assert body["error"] == "insufficient_scope" and body["required_scope"] == "zones:read"
    assert body["message"].startswith("On the Solo plan automation tokens have the scope")


def _create(client, user, password, **body):
    return call(
        client,
        "POST",
        "/tokens",
        body={"name": "From curl", **body},
        HTTP_AUTHORIZATION=basic(user.email, password),
    )


def test_create_refuses_selected_with_nothing(client, account, member_factory, password):
    engineer = member_factory(account, Role.ENGINEER)
    response = _create(client, engineer, password, scopes=["zones:read"], resources={"zones": []})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "resources.zones" in body["fields"]
    assert "select at least one" in body["fields"]["resources.zones"][0]
    assert not Token.objects.exists()
    # A kind the scopes do not reach: its empty selection is moot, the token is made.
    moot = _create(client, engineer, password, scopes=["zones:read"], resources={"services": []})
    assert moot.status_code == 201, moot.content


def test_create_refuses_a_write_scope_the_role_cannot_use(
    client, account, member_factory, password
):
    viewer = member_factory(account, Role.USER)
    response = _create(client, viewer, password, scopes=["zones:write"])
    assert response.status_code == 422
    message = response.json()["fields"]["scopes"][0]
    assert message == (
        "zones:write is not available: Your role in Acme Test (user) cannot change DNS zones "
        "and records."
    )
    assert not Token.objects.exists()


def test_create_reports_every_problem_at_once(client, account, member_factory, password):
    engineer = member_factory(account, Role.ENGINEER)
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": " ", "scopes": [], "expires_at": "2001-01-01T00:00:00Z"},
        HTTP_AUTHORIZATION=basic(engineer.email, password),
    )
    assert response.status_code == 422
    assert {"name", "scopes", "expires_at"} <= set(response.json()["fields"])


def test_a_read_refused_by_the_role_says_so(client, account, zone, member_factory):
    """GET reads are answered by the lean path (tokens.api.lean); the same authorize() speaks."""
    billing = member_factory(account, Role.BILLING)
    secret = issue_user_token(billing, scopes=["global"]).secret
    for path in (f"/accounts/{account.pk}/zones", f"/accounts/{account.pk}/zones/{zone.pk}"):
        response = call(client, "GET", path, secret)
        assert response.status_code == 403
        body = response.json()
        assert body["required_scope"] == "zones:read"
        assert body["message"] == (
            "Your role in Acme Test (billing) does not allow zones:read, "
            "whatever the token's scopes."
        )
