"""SPEC 14 through HTTP: record rules on record writes and lists, and on POST /tokens."""

from __future__ import annotations

import base64
import json

import pytest

from accounts.models import Record
from tests.factories import RecordFactory, ZoneFactory, issue_user_token
from tests.tokens.conftest import call
from tokens.models import Token

pytestmark = pytest.mark.django_db

ACME = [
    {"name": "_acme-challenge", "types": ["TXT"]},
    {"name": "_acme-challenge.*", "types": ["TXT"]},
]


@pytest.fixture
def dns(account, member_factory):
    engineer = member_factory(account, "engineer")
    zone = ZoneFactory(account=account, name="acme.example")
    other = ZoneFactory(account=account, name="acme.dev")
    return engineer, zone, other


def records_url(zone) -> str:
    return f"/accounts/{zone.account_id}/zones/{zone.pk}/records"


@pytest.mark.parametrize(
    ("name", "type", "allowed"),
    [
        ("_acme-challenge", "TXT", True),
        ("_acme-challenge.www", "TXT", True),
        ("_acme-challenge.a.b.acme.example.", "TXT", True),  # a full name, made relative
        ("_acme-challenge", "A", False),
        ("www", "A", False),
        ("www", "TXT", False),
        ("@", "TXT", False),
    ],
)
def test_record_create_within_the_rules(client, dns, name, type, allowed):
    engineer, zone, _ = dns
    secret = issue_user_token(engineer, scopes=["zones:write"], record_rules=ACME).secret
    content = "203.0.113.7" if type == "A" else "token-value"
    response = call(
        client, "POST", records_url(zone), secret, {"type": type, "name": name, "content": content}
    )
    if allowed:
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 403
        assert response.json() == {
            "error": "record_not_allowed",
            "message": "The token may only touch TXT records named _acme-challenge or "
            "_acme-challenge.*.",
        }
        assert not Record.objects.exists()


def test_rules_are_checked_before_the_content(client, dns):
    engineer, zone, _ = dns
    secret = issue_user_token(engineer, scopes=["zones:write"], record_rules=ACME).secret
    outside = {"type": "A", "name": "www", "content": "not an address"}
    assert call(client, "POST", records_url(zone), secret, outside).status_code == 403
    inside = {"type": "TXT", "name": "_acme-challenge", "content": "", "ttl": 1}
    response = call(client, "POST", records_url(zone), secret, inside)
    assert response.status_code == 422 and set(response.json()["fields"]) == {"content", "ttl"}


def test_record_delete_within_the_rules(client, dns):
    engineer, zone, _ = dns
    secret = issue_user_token(engineer, scopes=["zones:write"], record_rules=ACME).secret
    challenge = RecordFactory(zone=zone, name="_acme-challenge.www", type="TXT", content="x")
    www = RecordFactory(zone=zone, name="www", type="A", content="203.0.113.5")
    txt_www = RecordFactory(zone=zone, name="www", type="TXT", content="v=spf1 -all")
    for record in (www, txt_www):
        response = call(client, "DELETE", f"{records_url(zone)}/{record.pk}", secret)
        assert response.status_code == 403 and response.json()["error"] == "record_not_allowed"
    assert call(client, "DELETE", f"{records_url(zone)}/{challenge.pk}", secret).status_code == 204
    assert set(Record.objects.values_list("pk", flat=True)) == {www.pk, txt_www.pk}


def test_record_list_shows_only_matching_records(client, dns, django_assert_max_num_queries):
    engineer, zone, _ = dns
    for name, type in [
        ("_acme-challenge", "TXT"),
        ("_acme-challenge", "A"),
        ("_acme-challenge.api", "TXT"),
        ("_acme-challengeX", "TXT"),  # not a dot after the name
        ("x_acme-challenge", "TXT"),  # "_" in the pattern is not LIKE's wildcard
        ("www", "A"),
        ("", "TXT"),
    ]:
        RecordFactory(zone=zone, name=name, type=type, content="203.0.113.1")
    secret = issue_user_token(engineer, scopes=["zones:read"], record_rules=ACME).secret
    call(client, "GET", "/whoami", secret)  # warm: last use is written once a minute
    with django_assert_max_num_queries(2):
        response = call(client, "GET", f"{records_url(zone)}?per_page=1", secret)
    assert response.status_code == 200
    body = response.json()
    assert [r["name"] for r in body["data"]] == ["_acme-challenge"]
    assert body["pagination"]["total_entries"] == 2
    page2 = call(client, "GET", f"{records_url(zone)}?per_page=1&page=2", secret).json()
    assert [(r["name"], r["type"]) for r in page2["data"]] == [("_acme-challenge.api", "TXT")]
    past = call(client, "GET", f"{records_url(zone)}?per_page=1&page=5", secret).json()
    assert past["data"] == [] and past["pagination"]["total_entries"] == 2

    apex = issue_user_token(engineer, name="Apex", record_rules=[{"name": "@"}]).secret
    shown = call(client, "GET", records_url(zone), apex).json()["data"]
    assert [(r["name"], r["type"]) for r in shown] == [("", "TXT")]
    everything = issue_user_token(engineer, name="All").secret
    assert len(call(client, "GET", records_url(zone), everything).json()["data"]) == 7


def test_an_empty_filtered_list_is_still_found(client, dns):
    engineer, zone, _ = dns
    RecordFactory(zone=zone, name="www")
    secret = issue_user_token(engineer, scopes=["zones:read"], record_rules=ACME).secret
    body = call(client, "GET", records_url(zone), secret).json()
    assert body["data"] == [] and body["pagination"]["total_entries"] == 0
    # Zone reads are unchanged by the rules.
    zone_json = call(client, "GET", f"/accounts/{zone.account_id}/zones/{zone.pk}", secret)
    assert zone_json.status_code == 200 and zone_json.json()["data"]["record_count"] == 1


def test_rules_with_selected_zones(client, dns):
    engineer, zone, other = dns
    secret = issue_user_token(
        engineer,
        scopes=["zones:write"],
        resources={"zones": [zone.pk]},
        record_rules=ACME,
    ).secret
    body = {"type": "TXT", "name": "_acme-challenge", "content": "v"}
    assert call(client, "POST", records_url(zone), secret, body).status_code == 201
    assert call(client, "POST", records_url(other), secret, body).status_code == 404
    www = {"type": "A", "name": "www", "content": "203.0.113.1"}
    assert call(client, "POST", records_url(zone), secret, www).status_code == 403


def test_token_json_carries_the_rules(client, dns):
    engineer, _, _ = dns
    secret = issue_user_token(engineer, scopes=["zones:write"], record_rules=ACME).secret
    token = call(client, "GET", "/whoami", secret).json()["data"]["token"]
    assert token["record_rules"] == ACME
    plain = issue_user_token(engineer, name="Plain").secret
    assert call(client, "GET", "/tokens/self", plain).json()["data"]["record_rules"] == []


def _basic(user, password):
    raw = base64.b64encode(f"{user.email}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def test_post_tokens_accepts_rules(client, dns, password):
    engineer, zone, _ = dns
    body = {"name": "certbot", "scopes": ["zones:write"], "record_rules": ACME}
    response = client.post(
        "/api/v1/tokens",
        json.dumps(body),
        content_type="application/json",
        **_basic(engineer, password),
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["record_rules"][1] == {"name": "_acme-challenge.*", "types": ["TXT"]}
    assert Token.objects.get(pk=data["id"]).record_rules == data["record_rules"]
    www = {"type": "A", "name": "www", "content": "203.0.113.1"}
    assert call(client, "POST", records_url(zone), data["token"], www).status_code == 403


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"name": "ok"}, {"name": "Bad"}], "record_rules.1"),
        ([{"name": "ok", "types": ["NOPE"]}], "record_rules.0.types.0"),
        ([{"name": "ok", "typez": ["TXT"]}], "record_rules.0.typez"),
        ([{"name": f"r{i}"} for i in range(21)], "record_rules"),
    ],
)
def test_post_tokens_refuses_bad_rules(client, dns, password, rules, field):
    engineer, _, _ = dns
    body = {"name": "certbot", "scopes": ["zones:write"], "record_rules": rules}
    response = client.post(
        "/api/v1/tokens",
        json.dumps(body),
        content_type="application/json",
        **_basic(engineer, password),
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["fields"]
    assert not Token.objects.exists()
