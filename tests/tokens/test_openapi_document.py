"""The OpenAPI document is a contract generated clients can use (SPEC 7).

Enums, never `const`; every status a route answers, with its error codes as an enum; the
headers of each answer. tests/tokens/test_api_schema.py checks the answers against it,
tests/tokens/test_generated_client.py drives a client generated from it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import issue_user_token

SCOPES = [
    "global",
    "global:read",
    "purge_select",
    "purge_all",
    "zones:read",
    "zones:write",
    "domains:read",
    "domains:write",
    "registrar:read",
    "registrar:write",
    "certificates:read",
    "certificates:write",
    "services:read",
    "services:write",
]
ACCOUNT = "/api/v1/accounts/{account_id}"
RECORDS = ACCOUNT + "/zones/{zone_id}/records"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from tokens.api import api

    return json.loads(json.dumps(api.get_openapi_schema()))  # as served: string keys


def component(document: dict[str, Any], ref: str) -> dict[str, Any]:
    section, name = ref.removeprefix("#/components/").split("/")
    return document["components"][section][name]


def operations(document: dict[str, Any]):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def error_codes(document: dict[str, Any], path: str, method: str, status: int) -> list[str]:
    answer = document["paths"][path][method]["responses"][str(status)]
    schema = component(document, answer["content"]["application/json"]["schema"]["$ref"])
    return schema["properties"]["error"]["enum"]


def headers(document: dict[str, Any], answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: component(document, ref["$ref"]) for name, ref in answer["headers"].items()}


def test_closed_sets_are_enums_never_const(document):
    assert '"const"' not in json.dumps(document)
    schemas = document["components"]["schemas"]
    assert schemas["Scope"]["enum"] == SCOPES
    assert schemas["Scope"]["x-enum-varnames"][:2] == ["GLOBAL", "GLOBAL_READ"]
    assert schemas["Role"]["enum"] == ["superuser", "engineer", "user", "billing"]
    assert schemas["Plan"]["enum"] == ["solo", "teams", "enterprise"]
    assert schemas["RecordType"]["enum"] == ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"]
    assert schemas["Kind"]["enum"] == ["zones", "domains", "registrar", "certificates", "services"]
    assert schemas["TokenType"]["enum"] == ["user", "automation"]
    assert schemas["All"]["enum"] == ["all"]

    token = schemas["TokenOut"]["properties"]
    assert token["scopes"]["items"] == {"$ref": "#/components/schemas/Scope"}
    assert {"$ref": "#/components/schemas/Role"} in token["role"]["anyOf"]
    assert token["resources"]["propertyNames"] == {"$ref": "#/components/schemas/Kind"}
    selection = token["resources"]["additionalProperties"]["anyOf"]
    assert selection == [
        {"$ref": "#/components/schemas/All"},
        {"items": {"type": "integer"}, "type": "array"},
    ]
    assert schemas["AccountOut"]["properties"]["plan"] == {"$ref": "#/components/schemas/Plan"}
    assert schemas["RecordOut"]["properties"]["type"] == {"$ref": "#/components/schemas/RecordType"}
    requested = schemas["TokenCreateIn"]["properties"]
    assert requested["scopes"]["items"] == {"$ref": "#/components/schemas/Scope"}
    rule = schemas["RecordRuleIn"]["properties"]["types"]
    assert rule["items"] == {"$ref": "#/components/schemas/RecordType"}


# Routes that take no bearer token: their 401 is not a Bearer challenge.
NO_BEARER = {"/api/v1/secret-scanning/github"}


def test_every_route_declares_405_and_503_and_never_to_cache(document):
    for path, method, operation in operations(document):
        answers = operation["responses"]
        assert {"405", "503"} <= set(answers), (method, path)
        assert error_codes(document, path, method, 405) == ["method_not_allowed"]
        assert headers(document, answers["405"])["Allow"]["required"] is True
        assert error_codes(document, path, method, 503) == ["unavailable"]
        assert headers(document, answers["503"])["Retry-After"]["required"] is True
        for status, answer in answers.items():
            declared = headers(document, answer)
            assert declared["Cache-Control"]["required"] is True, (method, path, status)
            if status == "429":
                assert declared["Retry-After"]["required"] is True
            if status == "401" and path not in NO_BEARER:
                assert declared["WWW-Authenticate"]["required"] is True, (method, path)
            if path.startswith(ACCOUNT) and status in ("200", "201", "202", "204", "403", "404"):
                assert "X-Accepted-Scopes" in declared, (method, path, status)
            if not path.startswith(ACCOUNT):
                assert "X-Accepted-Scopes" not in declared, (method, path, status)
            if status >= "400":  # every error: a code from a closed set
                assert error_codes(document, path, method, int(status)), (method, path, status)


@pytest.mark.parametrize(
    ("method", "path", "status", "codes"),
    [
        ("get", "/api/v1/whoami", 401, ["invalid_token"]),
        ("get", "/api/v1/tokens", 403, ["insufficient_scope"]),
        ("post", "/api/v1/tokens", 401, ["invalid_credentials"]),
        ("post", "/api/v1/tokens", 403, ["two_factor_required", "forbidden"]),
        ("post", "/api/v1/tokens", 409, ["token_limit_reached"]),
        ("post", "/api/v1/tokens", 422, ["invalid_request"]),
        ("post", "/api/v1/tokens", 429, ["rate_limited"]),
        ("post", "/api/v1/tokens/{token_id}/roll", 403, ["insufficient_scope", "policy_violation"]),
        ("get", ACCOUNT + "/zones", 403, ["insufficient_scope", "policy_violation"]),
        ("get", ACCOUNT + "/zones", 404, ["not_found"]),
        (
            "post",
            RECORDS,
            403,
            ["insufficient_scope", "policy_violation", "record_not_allowed"],
        ),
        (
            "delete",
            RECORDS + "/{record_id}",
            403,
            ["insufficient_scope", "policy_violation", "record_not_allowed"],
        ),
        ("post", RECORDS, 400, ["invalid_request"]),
        ("post", "/api/v1/secret-scanning/github", 401, ["invalid_signature"]),
        ("post", "/api/v1/credentials/revoke", 429, ["rate_limited"]),
    ],
)
def test_error_codes_per_status(document, method, path, status, codes):
    assert error_codes(document, path, method, status) == codes


def test_challenges_are_declared(document):
    create = document["paths"]["/api/v1/tokens"]["post"]["responses"]
    assert "Basic" in headers(document, create["401"])["WWW-Authenticate"]["description"]
    scope = document["paths"]["/api/v1/tokens"]["get"]["responses"]["403"]
    assert "insufficient_scope" in headers(document, scope)["WWW-Authenticate"]["description"]
    policy = document["paths"][ACCOUNT + "/zones"]["get"]["responses"]["403"]
    assert headers(document, policy)["WWW-Authenticate"]["required"] is False  # policy_violation


def test_text_limits_and_integers_are_written_down(document):
    schemas = document["components"]["schemas"]
    name = schemas["TokenCreateIn"]["properties"]["name"]
    assert "NUL" in name["description"] and name["pattern"] == "^[^\\u0000]*$"
    content = schemas["RecordIn"]["properties"]["content"]
    assert "NUL" in content["description"]
    credentials = schemas["CredentialsIn"]["properties"]["credentials"]
    assert "NUL" in credentials["items"]["description"]
    grace = schemas["TokenRollIn"]["properties"]["grace_period"]
    assert grace["type"] == "integer" and "553.0 is refused" in grace["description"]


@pytest.mark.django_db
def test_a_grace_period_written_as_a_float_is_refused(client, account, member_factory):
    created = issue_user_token(member_factory(account, "engineer"))
    for grace in ("553.0", "5.53e2", '"553"', "true"):
        response = client.post(
            "/api/v1/tokens/self/roll",
            f'{{"grace_period": {grace}}}',
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {created.secret}",
        )
        assert response.status_code == 422, grace
        assert list(response.json()["fields"]) == ["grace_period"]


@pytest.mark.django_db
def test_no_answer_may_be_cached(client, account, member_factory):
    """Success, errors and 204s alike: `Cache-Control: no-store`, as the document says."""
    secret = issue_user_token(member_factory(account, "engineer")).secret
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    answers = [
        client.get("/api/v1/whoami", **bearer),  # 200
        client.get("/api/v1/whoami"),  # 401
        client.get(f"/api/v1/accounts/{account.pk}/zones/999999", **bearer),  # 404
        client.put("/api/v1/whoami", **bearer),  # 405
        client.get(f"/api/v1/accounts/{account.pk}/zones?page=0", **bearer),  # 422
        client.post("/api/v1/tokens/self/roll", "{", "application/json", **bearer),  # 400
        client.delete("/api/v1/tokens/self", **bearer),  # 204
    ]
    statuses = [response.status_code for response in answers]
    assert statuses == [200, 401, 404, 405, 422, 400, 204]
    for response in answers:
        assert response["Cache-Control"] == "no-store", response.status_code
