"""Issue 9's API defects, each pinned: strict bodies, text no database stores, JSON under
/api/ for every path, token management needing `global`, and a JSON error writer that
cannot fail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from accounts.models import Certificate, Domain, Purge, Record
from tests.factories import (
    CertificateFactory,
    DomainFactory,
    RecordFactory,
    ServiceFactory,
    ZoneFactory,
    issue_user_token,
)
from tests.tokens.conftest import basic, call
from tokens.api.errors import error_response
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "t", "scope": ["zones:read"]}, "scope"),
        ({"name": "t", "Scopes": ["zones:read"]}, "Scopes"),
        ({"name": "t", "resource": {"zones": []}}, "resource"),
        ({"name": "t", "expires": None}, "expires"),
        ({"name": "t", "allowed_ips": ["10.0.0.0/8"]}, "allowed_ips"),
    ],
)
def test_an_unknown_field_is_refused_and_creates_nothing(client, owner, password, body, field):
    response = call(
        client,
        "POST",
        "/tokens",
        body=json.dumps(body),
        HTTP_AUTHORIZATION=basic(owner.email, password),
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["fields"]
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "bad \\ud800 name"}',
        '{"name": "t", "resources": {"\\ud800": "all"}}',
        '{"name": "t", "scopes": ["\\udfff"]}',
        '{"name": "nul \\u0000 byte"}',
    ],
)
def test_text_no_database_can_store_is_422_on_token_creation(client, owner, password, raw):
    response = call(
        client, "POST", "/tokens", body=raw, HTTP_AUTHORIZATION=basic(owner.email, password)
    )
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
    assert not Token.objects.exists()


def test_lone_surrogates_are_422_on_every_write_with_a_body(client, account, owner):
    zone = ZoneFactory(account=account)
    service = ServiceFactory(account=account)
    secret = issue_user_token(owner).secret
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    base = f"/accounts/{account.pk}"
    cases = [
        ("POST", f"{base}/zones/{zone.pk}/records", '{"type": "TXT", "content": "\\ud800"}'),
        ("POST", f"{base}/zones/{zone.pk}/records", '{"type": "A", "name": "\\udc00x"}'),
        ("PATCH", f"{base}/services/{service.pk}", '{"name": "\\ud800"}'),
        ("POST", f"{base}/services/{service.pk}/purge", '{"url": "https://x/\\ud800"}'),
        ("POST", f"{base}/domains", '{"name": "\\ud800.example"}'),
    ]
    for method, path, raw in cases:
        response = client.generic(
            method, f"/api/v1{path}", raw.encode(), content_type="application/json", **auth
        )
        assert response.status_code == 422, (path, response.content)
        assert response.json()["error"] == "invalid_request"
    assert not Record.objects.exists() and not Purge.objects.exists()


def test_the_error_writer_cannot_fail_on_unencodable_text():
    response = error_response(422, "invalid_request", "bad \ud800", fields={"\udfff": ["x"]})
    assert response.status_code == 422
    assert json.loads(response.content)["error"] == "invalid_request"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/foo%0Abar", "/api/v1/nothing/here", "/api/", "/api", "/api/v2/whoami", "/api/v1/"],
)
def test_every_path_under_api_answers_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"


def test_managing_tokens_needs_the_global_scope(client, owner):
    reader = issue_user_token(owner, name="reader", scopes=["zones:read"])
    full = issue_user_token(owner, name="full")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reader.secret}"}

    listed = client.get("/api/v1/tokens", **auth)
    revoked = client.delete(f"/api/v1/tokens/{full.token.pk}", **auth)

    for response in (listed, revoked):
        assert response.status_code == 403
        assert response.json()["error"] == "insufficient_scope"
        assert response.json()["required_scope"] == "global"
        assert 'scope="global"' in response["WWW-Authenticate"]
    assert Token.objects.filter(pk=full.token.pk).exists()
    # tokens/self needs no scope at all.
    assert client.get("/api/v1/tokens/self", **auth).status_code == 200
    assert client.delete("/api/v1/tokens/self", **auth).status_code == 204
    assert not Token.objects.filter(pk=reader.token.pk).exists()


def test_a_global_token_manages_its_owners_tokens(client, owner):
    full = issue_user_token(owner, name="full")
    other = issue_user_token(owner, name="other")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {full.secret}"}
    assert client.get("/api/v1/tokens", **auth).json()["pagination"]["total_entries"] == 2
    assert client.delete(f"/api/v1/tokens/{other.token.pk}", **auth).status_code == 204
    assert not Token.objects.filter(pk=other.token.pk).exists()


def test_records_of_a_foreign_zone_are_not_found(client, account, owner, member_factory):
    from tests.factories import AccountFactory

    elsewhere = AccountFactory(slug="elsewhere")
    foreign = ZoneFactory(account=elsewhere)
    RecordFactory(zone=foreign)
    secret = issue_user_token(owner).secret
    for path in (
        f"/api/v1/accounts/{account.pk}/zones/{foreign.pk}/records",
        f"/api/v1/accounts/{elsewhere.pk}/zones/{foreign.pk}/records",
        f"/api/v1/accounts/{account.pk}/zones/{foreign.pk}/records?page=3",
    ):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 404, path


def test_garbage_from_one_address_does_not_lock_out_tokens_that_worked_there(client, owner):
    """Behind a proxy everyone may share one address: a guesser must not lock them out."""
    from tokens.constants import BEARER_FAILURE_LIMIT

    used = issue_user_token(owner, name="in use").secret
    fresh = issue_user_token(owner, name="fresh").secret
    shared = {"REMOTE_ADDR": "198.51.100.7"}
    assert (
        client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {used}", **shared).status_code
        == 200
    )
    garbage = "kwu_" + "A" * 38
    for _ in range(BEARER_FAILURE_LIMIT):
        client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {garbage}", **shared)

    blocked = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {garbage}", **shared)
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert (
        client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {used}", **shared).status_code
        == 200
    )
    # A token never used from there waits like any guess would.
    assert (
        client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {fresh}", **shared).status_code
        == 429
    )
    other = {"REMOTE_ADDR": "203.0.113.9"}
    assert (
        client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {fresh}", **other).status_code
        == 200
    )


def _documented_operations():
    from tokens.api import api

    for path, methods in api.get_openapi_schema()["paths"].items():
        for method, operation in methods.items():
            if not operation.get("security"):
                continue  # public by design (leak reports, SPEC 12): tests/tokens/test_leaks.py
            yield method.upper(), path.replace("{", "").replace("}", "").replace("account_id", "1")


@pytest.mark.parametrize(("method", "path"), sorted(set(_documented_operations())))
def test_every_documented_operation_refuses_missing_and_bad_credentials(client, method, path):
    import re

    concrete = re.sub(r"[a-z_]+_id", "1", path)
    for credentials in ({}, {"HTTP_AUTHORIZATION": "Bearer kwu_" + "A" * 38}):
        response = client.generic(method, concrete, b"{}", "application/json", **credentials)
        assert response.status_code == 401, (method, concrete, credentials)
        assert "WWW-Authenticate" in response


# --------------------------------------------------------------------------- issue 18

SPOOFING_NAMES = [
    "invoice\u202etxt.exe",  # right-to-left override (Cf)
    "ci\u200ddeploy",  # zero-width joiner (Cf)
    "\u2066isolate",  # left-to-right isolate (Cf)
    "bell\x07",  # Cc
    "next\x85line",  # NEL (Cc)
    "two\u2028lines",  # line separator (Zl)
    "two\u2029paragraphs",  # paragraph separator (Zp)
]


@pytest.mark.parametrize("name", SPOOFING_NAMES)
def test_a_name_with_control_or_format_characters_is_422_naming_the_field(
    client, owner, password, name
):
    """Regression (issue 18): token names accepted U+202E, U+200D and other format characters."""
    response = call(
        client,
        "POST",
        "/tokens",
        body=json.dumps({"name": name}),
        HTTP_AUTHORIZATION=basic(owner.email, password),
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_request" and list(body["fields"]) == ["name"]
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('{"name": "t", "scopes": ["zones:read"], "scopes": ["global"]}', "scopes"),
        ('{"scopes": ["zones:read"], "name": "t", "scopes": ["zones:read"]}', "scopes"),
        ('{"name": "t", "resources": {"zones": [], "zones": "all"}}', "zones"),
        ('{"name": "a", "name": "b"}', "name"),
        ('{"name": "t", "record_rules": [{"name": "x", "name": "*"}]}', "name"),
    ],
)
def test_a_body_with_a_repeated_key_is_refused(client, owner, password, raw, key):
    """Regression (issue 18): the last of two `scopes` won, and a typo made a global token."""
    response = call(
        client, "POST", "/tokens", body=raw, HTTP_AUTHORIZATION=basic(owner.email, password)
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_request"
    assert f"“{key}”" in body["message"] and key in body["fields"]
    assert not Token.objects.exists()


def test_a_repeated_key_is_refused_on_every_route_with_a_body(client, account, owner):
    zone = ZoneFactory(account=account)
    service = ServiceFactory(account=account)
    secret = issue_user_token(owner).secret
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    base = f"/api/v1/accounts/{account.pk}"
    cases = [
        ("POST", f"{base}/zones/{zone.pk}/records", '{"type": "A", "type": "TXT", "content": "x"}'),
        ("PATCH", f"{base}/services/{service.pk}", '{"name": "a", "name": "b"}'),
        ("POST", f"{base}/services/{service.pk}/purge", '{"url": "https://a/", "url": "x"}'),
        ("POST", f"{base}/domains", '{"name": "a.example", "name": "b.example"}'),
    ]
    for method, path, raw in cases:
        response = client.generic(method, path, raw.encode(), "application/json", **auth)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["error"] == "invalid_request"
    assert not Record.objects.exists() and not Purge.objects.exists()
    assert service.name == type(service).objects.get(pk=service.pk).name


def test_a_signed_leak_report_with_a_repeated_key_revokes_nothing(client, owner, settings):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.KEYWARD_SECRET_SCANNING_KEYS = json.dumps(
        {"public_keys": [{"key_identifier": "key-1", "key": pem.decode(), "is_current": True}]}
    )
    live = issue_user_token(owner, name="Leaky")
    item = f'{{"token": "{live.secret}", "token": "x", "type": "t", "url": "u", "source": "s"}}'
    body = f"[{item}]".encode()
    signature = base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    response = client.post(
        "/api/v1/secret-scanning/github",
        data=body,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER="key-1",
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature,
    )
    assert response.status_code == 422 and "“token”" in response.json()["message"]
    assert Token.objects.filter(pk=live.token.pk).exists()


def test_head_answers_as_get_without_a_body(client, account, owner):
    """Regression (issue 18): HEAD on API reads answered 405."""
    zone = ZoneFactory(account=account)
    RecordFactory(zone=zone)
    secret = issue_user_token(owner).secret
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    base = f"/api/v1/accounts/{account.pk}"
    client.get("/api/v1/whoami", **auth)  # the first use is written now, not between GET and HEAD
    for path in (
        f"{base}/zones",  # the lean read path
        f"{base}/zones/{zone.pk}",
        f"{base}/zones/{zone.pk}/records?page=1&per_page=5",
        f"{base}/billing",  # served by ninja
        "/api/v1/whoami",
        "/api/v1/tokens/self",
        "/api/v1/accounts",
        "/api/v1/tokens",
        f"{base}/zones/999999",  # errors too: the same status and headers
        f"{base}/zones?page=0",
    ):
        got, head = client.get(path, **auth), client.head(path, **auth)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head["Content-Type"] == got["Content-Type"], path
        assert head["Content-Length"] == str(len(got.content)), path
        for name in ("Cache-Control", "X-Accepted-Scopes", "WWW-Authenticate"):
            assert head.get(name) == got.get(name), (path, name)
    anonymous = client.head(f"{base}/zones")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"]
    assert anonymous.content == b""


def test_allow_lists_head_wherever_get_is_served(client, account, owner):
    zone = ZoneFactory(account=account)
    token = issue_user_token(owner)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token.secret}"}
    base = f"/api/v1/accounts/{account.pk}"
    for path, allowed in [
        (f"{base}/zones/{zone.pk}", {"GET", "HEAD"}),  # the lean read path
        (f"{base}/domains", {"GET", "HEAD", "POST"}),
        ("/api/v1/whoami", {"GET", "HEAD"}),
        ("/api/v1/tokens/self", {"GET", "HEAD", "DELETE"}),
        (f"/api/v1/tokens/{token.token.pk}/roll", {"POST"}),  # no GET: no HEAD
    ]:
        response = client.put(path, **auth)
        assert response.status_code == 405, path
        assert set(response["Allow"].split(", ")) == allowed, path
    refused = client.head(f"/api/v1/tokens/{token.token.pk}/roll", **auth)
    assert refused.status_code == 405 and refused["Allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "model", "factory"),
    [
        ("registrar/domains/{id}/renewals", Domain, DomainFactory),
        ("certificates/{id}/renewals", Certificate, CertificateFactory),
    ],
)
def test_a_renewal_past_the_year_9999_is_422_naming_the_field(
    client, owner, account, path, model, factory
):
    last = datetime(9999, 12, 1, tzinfo=UTC)
    resource = factory(account=account, expires_at=last)
    secret = issue_user_token(owner).secret
    answer = client.post(
        f"/api/v1/accounts/{account.pk}/{path.format(id=resource.pk)}",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert "9999" in body["fields"]["expires_at"][0]
    assert model.objects.get(pk=resource.pk).expires_at == last
