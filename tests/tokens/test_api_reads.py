"""Resource reads take at most two queries on the warm path (SPEC 10): the token with its
account and role, then the resource(s) with the token's selection and the page's total.
The table is written by hand: it states the spec, it does not mirror the registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from accounts.models import Service
from tests.factories import (
    CertificateFactory,
    DomainFactory,
    RecordFactory,
    ServiceFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tokens.api.schemas import CertificateOut, DomainOut, RecordOut, ServiceOut, ZoneOut
from tokens.api.tokens import row_json
from tokens.events import Actor
from tokens.models import Token
from tokens.selections.selectors import token_selections
from tokens.services.roll import token_roll

pytestmark = pytest.mark.django_db

READS = [
    "/zones",
    "/zones/{zone}",
    "/zones/{zone}/records",
    "/domains",
    "/domains/{domain}",
    "/registrar/domains/{domain}",
    "/certificates",
    "/certificates/{certificate}",
    "/services",
    "/services/{service}",
    "/billing",
]


@pytest.fixture
def ids(account):
    zones = [ZoneFactory(account=account) for _ in range(35)]
    for zone in zones[:3]:
        RecordFactory(zone=zone)
    domains = DomainFactory.create_batch(35, account=account)
    certificates = CertificateFactory.create_batch(35, account=account)
    services = ServiceFactory.create_batch(35, account=account)
    return {
        "zone": zones[0].pk,
        "domain": domains[0].pk,
        "certificate": certificates[0].pk,
        "service": services[0].pk,
    }


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("selected", [False, True], ids=["all resources", "selected ones"])
def test_a_read_takes_two_queries(
    client, account, member_factory, ids, path, selected, django_assert_max_num_queries
):
    owner = member_factory(account, "superuser")
    resources = (
        {
            "zones": [ids["zone"]],
            "domains": [ids["domain"]],
            "registrar": [ids["domain"]],
            "certificates": [ids["certificate"]],
            "services": [ids["service"]],
        }
        if selected
        else None
    )
    secret = issue_user_token(owner, resources=resources).secret
    url = f"/api/v1/accounts/{account.pk}" + path.format(**ids)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get(url, **auth).status_code == 200  # the first use writes last_used

    with django_assert_max_num_queries(2):
        response = client.get(url, **auth)

    assert response.status_code == 200
    data = response.json()["data"]
    if isinstance(data, list) and path != "/zones/{zone}/records":
        assert len(data) == (1 if selected else 30)
        assert response.json()["pagination"]["total_entries"] == (1 if selected else 35)


def test_a_page_past_the_end_is_empty_and_counts_the_total(client, account, member_factory, ids):
    owner = member_factory(account, "superuser")
    secret = issue_user_token(owner).secret
    response = client.get(
        f"/api/v1/accounts/{account.pk}/zones?page=9", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["pagination"]["total_entries"] == 35


@pytest.mark.parametrize("microsecond", [0, 250_000], ids=["whole second", "fraction"])
def test_a_read_writes_the_fields_and_times_as_its_schema_does(
    client, account, member_factory, microsecond
):
    """The lean SQL (tokens.api.resources) answers what the Out schema would answer for the
    row, to the character: RFC 3339 times in UTC with `Z`, microseconds only when there are."""
    when = datetime(2026, 11, 23, 8, 30, 5, microsecond, tzinfo=UTC)
    zone = ZoneFactory(account=account, created_at=when)
    record = RecordFactory(zone=zone, created_at=when)
    domain = DomainFactory(account=account, registered_at=when, expires_at=when)
    certificate = CertificateFactory(account=account, issued_at=when, expires_at=when)
    service = ServiceFactory(account=account)
    Service.objects.filter(pk=service.pk).update(created_at=when, updated_at=when)
    service.refresh_from_db()
    owner = member_factory(account, "superuser")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_user_token(owner).secret}"}
    base = f"/api/v1/accounts/{account.pk}"
    expected = {
        f"{base}/zones/{zone.pk}": ZoneOut.model_validate({**vars(zone), "record_count": 1}),
        f"{base}/domains/{domain.pk}": DomainOut.model_validate(domain),
        f"{base}/registrar/domains/{domain.pk}": DomainOut.model_validate(domain),
        f"{base}/certificates/{certificate.pk}": CertificateOut.model_validate(certificate),
        f"{base}/services/{service.pk}": ServiceOut.model_validate(service),
    }
    for url, schema in expected.items():
        body = client.get(url, **auth).content
        assert body == orjson.dumps({"data": schema.model_dump()}, option=orjson.OPT_UTC_Z), url
    records = client.get(f"{base}/zones/{zone.pk}/records", **auth).json()["data"]
    as_json = orjson.dumps(RecordOut.model_validate(record).model_dump(), option=orjson.OPT_UTC_Z)
    assert records == [orjson.loads(as_json)]
    suffix = ".250000Z" if microsecond else "Z"
    assert records[0]["created_at"] == f"2026-11-23T08:30:05{suffix}"


def test_the_other_methods_of_a_read_path_answer_as_before(client, account, member_factory, ids):
    """A read's GET is served on the lean path; every other method of the same path still
    reaches its own operation, or a JSON 405 naming the methods there are."""
    owner = member_factory(account, "superuser")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_user_token(owner).secret}"}
    base = f"/api/v1/accounts/{account.pk}"

    refused = client.put(f"{base}/zones/{ids['zone']}", **auth)
    assert refused.status_code == 405
    assert refused.json()["error"] == "method_not_allowed"
    assert refused["Allow"] == "GET, HEAD"
    head = client.head(f"{base}/zones", **auth)  # GET's answer without its body
    assert head.status_code == 200 and head.content == b""

    created = client.post(
        f"{base}/domains", {"name": "new-one.example"}, content_type="application/json", **auth
    )
    assert created.status_code == 201, created.content
    renamed = client.patch(
        f"{base}/services/{ids['service']}",
        {"default_ttl": 600},
        content_type="application/json",
        **auth,
    )
    assert renamed.status_code == 200 and renamed.json()["data"]["default_ttl"] == 600
    assert client.delete(f"{base}/domains/{ids['domain']}", **auth).status_code == 204
    assert client.get(f"{base}/domains/{ids['domain']}", **auth).status_code == 404


def test_the_token_list_writes_each_token_as_the_token_json_does(
    client, account, member_factory, ids, django_assert_max_num_queries
):
    """GET /tokens reads its page in plain SQL (tokens.api.token_rows): the same JSON, to
    the character, as the one token JSON builder gives for the model rows."""
    owner = member_factory(account, "superuser")
    lister = issue_user_token(owner, name="lister").secret
    issue_user_token(
        owner,
        name="acme",
        scopes=["zones:write"],
        resources={"zones": [ids["zone"]], "services": [ids["service"]]},
        record_rules=[{"name": "_acme-challenge", "types": ["TXT"]}],
        allowed_ips=["203.0.113.0/24"],
        expires_at=None,
    )
    rolled = issue_user_token(owner, name="rolled", scopes=["global:read"]).token
    token_roll(actor=Actor.person(owner), token=rolled, grace_period=timedelta(hours=1))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {lister}"}
    client.get("/api/v1/tokens", **auth)  # the first use writes last_used

    with django_assert_max_num_queries(3):  # the token; the page; the selections
        response = client.get("/api/v1/tokens", **auth)

    tokens = list(Token.objects.filter(user=owner).select_related("user", "account"))
    selections = token_selections(token_ids=[t.pk for t in tokens])
    expected = [row_json(t, selections.get(t.pk, {})) for t in tokens]
    assert response.content == orjson.dumps(
        {"data": expected, "pagination": response.json()["pagination"]}, option=orjson.OPT_UTC_Z
    )
    assert [t["name"] for t in response.json()["data"]] == ["rolled", "acme", "lister"]
    page_two = client.get("/api/v1/tokens?per_page=2&page=2", **auth).json()
    assert [t["name"] for t in page_two["data"]] == ["lister"]
    assert page_two["pagination"]["total_entries"] == 3
    past = client.get("/api/v1/tokens?per_page=2&page=5", **auth).json()
    assert past["data"] == [] and past["pagination"]["total_entries"] == 3


def test_an_automation_token_lists_itself(client, account):
    created = issue_automation_token(account, scopes=["global"])
    response = client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    expected = row_json(Token.objects.select_related("account", "user").get(pk=created.token.pk))
    assert response.json()["data"] == [
        orjson.loads(orjson.dumps(expected, option=orjson.OPT_UTC_Z))
    ]
