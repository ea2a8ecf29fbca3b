"""The HTTP API of SPEC 7, through HTTP: every route, its errors, and what it changes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.constants import Plan
from accounts.models import Domain, Membership, Purge, Record
from tests.factories import (
    AccountFactory,
    CertificateFactory,
    DomainFactory,
    RecordFactory,
    ServiceFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import basic, call
from tokens.api import schemas as api_schemas
from tokens.models import Event, Token
from tokens.permissions import required_scope

pytestmark = pytest.mark.django_db

TOKEN_KEYS = {
    "id",
    "name",
    "type",
    "role",
    "account",
    "user",
    "scopes",
    "resources",
    "record_rules",
    "tls_access",
    "created_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "display",
    "previous_secret_expires_at",
    "previous_secret_last_used_at",
}


@dataclass
class World:
    account: object
    owner: object
    engineer: object
    viewer: object
    billing: object
    zone: object
    other_zone: object
    record: object
    domain: object
    certificate: object
    service: object
    foreign_account: object
    foreign_owner: object
    foreign_zone: object

    def ids(self) -> dict[str, int]:
        return {
            "a": self.account.pk,
            "z": self.zone.pk,
            "r": self.record.pk,
            "d": self.domain.pk,
            "c": self.certificate.pk,
            "s": self.service.pk,
        }


@pytest.fixture
def world(account, member_factory) -> World:
    zone = ZoneFactory(account=account, name="acme.example")
    foreign_account = AccountFactory(name="Elsewhere", slug="elsewhere")
    foreign_owner = member_factory(foreign_account, "superuser")
    return World(
        account=account,
        owner=member_factory(account, "superuser"),
        engineer=member_factory(account, "engineer"),
        viewer=member_factory(account, "user"),
        billing=member_factory(account, "billing"),
        zone=zone,
        other_zone=ZoneFactory(account=account, name="acme.dev"),
        record=RecordFactory(zone=zone, name="www", content="203.0.113.5"),
        domain=DomainFactory(account=account, name="acme.example"),
        certificate=CertificateFactory(account=account, name="www.acme.example"),
        service=ServiceFactory(account=account, name="Web", hostname="www.acme.example"),
        foreign_account=foreign_account,
        foreign_owner=foreign_owner,
        foreign_zone=ZoneFactory(account=foreign_account, name="elsewhere.example"),
    )


def user_secret(user, **kwargs) -> str:
    return issue_user_token(user, **kwargs).secret


# (method, path, body, operation, success status). `{a}` etc. come from World.ids().
ROUTES = [
    ("GET", "/accounts/{a}/billing", None, "billing:read", 200),
    ("GET", "/accounts/{a}/zones", None, "zones:read", 200),
    ("GET", "/accounts/{a}/zones/{z}", None, "zones:read", 200),
    ("GET", "/accounts/{a}/zones/{z}/records", None, "zones:read", 200),
    (
        "POST",
        "/accounts/{a}/zones/{z}/records",
        {"type": "A", "name": "api", "content": "203.0.113.9"},
        "zones:write",
        201,
    ),
    ("DELETE", "/accounts/{a}/zones/{z}/records/{r}", None, "zones:write", 204),
    ("GET", "/accounts/{a}/domains", None, "domains:read", 200),
    ("GET", "/accounts/{a}/domains/{d}", None, "domains:read", 200),
    ("POST", "/accounts/{a}/domains", {"name": "new-domain.example"}, "domains:write", 201),
    ("DELETE", "/accounts/{a}/domains/{d}", None, "domains:write", 204),
    ("GET", "/accounts/{a}/registrar/domains/{d}", None, "registrar:read", 200),
    ("POST", "/accounts/{a}/registrar/domains/{d}/renewals", None, "registrar:write", 201),
    ("PUT", "/accounts/{a}/registrar/domains/{d}/auto_renewal", None, "registrar:write", 200),
    ("DELETE", "/accounts/{a}/registrar/domains/{d}/auto_renewal", None, "registrar:write", 200),
    ("GET", "/accounts/{a}/certificates", None, "certificates:read", 200),
    ("GET", "/accounts/{a}/certificates/{c}", None, "certificates:read", 200),
    ("POST", "/accounts/{a}/certificates/{c}/renewals", None, "certificates:write", 201),
    ("GET", "/accounts/{a}/services", None, "services:read", 200),
    ("GET", "/accounts/{a}/services/{s}", None, "services:read", 200),
    (
        "PATCH",
        "/accounts/{a}/services/{s}",
        {"origin": "new-origin.example"},
        "services:write",
        200,
    ),
    (
        "POST",
        "/accounts/{a}/services/{s}/purge",
        {"url": "https://www.acme.example/a.css"},
        "purge_select",
        202,
    ),
    ("POST", "/accounts/{a}/services/{s}/purge_all", None, "purge_all", 202),
]
ROUTE_IDS = [f"{method} {path}" for method, path, *_ in ROUTES]
# A scope that covers none of the route's operation.
UNRELATED = {"zones": "services:write", "billing": "zones:write"}


def unrelated_scope(operation: str) -> str:
    if operation.startswith(("zones", "billing")):
        return UNRELATED[operation.split(":")[0]]
    return "zones:write"


# --------------------------------------------------------------------------- every route


@pytest.mark.parametrize(("method", "path", "body", "operation", "status"), ROUTES, ids=ROUTE_IDS)
def test_every_route_works_with_an_allowed_token(
    client, world, method, path, body, operation, status
):
    secret = user_secret(world.owner, scopes=[required_scope(operation)])
    if path.endswith("auto_renewal") and method == "DELETE":
        Domain.objects.filter(pk=world.domain.pk).update(auto_renew=True)  # so it changes
    response = call(client, method, path.format(**world.ids()), secret, body)
    assert response.status_code == status, response.content
    if status == 204:
        assert response.content == b""
    else:
        payload = response.json()
        assert set(payload) <= {"data", "pagination"} and "data" in payload
        assert response["Cache-Control"] == "no-store"
    if method != "GET":
        event = Event.objects.filter(kind="api.write").latest("id")
        assert event.account == world.account and event.actor_kind == "token"
        assert event.summary.startswith("Token “Test token” (kwu_…")


@pytest.mark.parametrize(("method", "path", "body", "operation", "status"), ROUTES, ids=ROUTE_IDS)
def test_a_token_lacking_the_scope_gets_403_with_the_required_scope(
    client, world, method, path, body, operation, status
):
    secret = user_secret(world.owner, scopes=[unrelated_scope(operation)])
    before = (Record.objects.count(), Domain.objects.count(), Purge.objects.count())
    response = call(client, method, path.format(**world.ids()), secret, body)
    assert response.status_code == 403
    needed = required_scope(operation)
    assert response.json() == {
        "error": "insufficient_scope",
        "message": response.json()["message"],
        "required_scope": needed,
    }
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="keyward", error="insufficient_scope", scope="{needed}"'
    )
    assert (Record.objects.count(), Domain.objects.count(), Purge.objects.count()) == before
    assert not Event.objects.filter(kind="api.write").exists()


@pytest.mark.parametrize(("method", "path", "body", "operation", "status"), ROUTES, ids=ROUTE_IDS)
def test_a_token_of_another_account_gets_404(client, world, method, path, body, operation, status):
    secret = user_secret(world.foreign_owner)
    response = call(client, method, path.format(**world.ids()), secret, body)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": response.json()["message"]}
    automation = issue_automation_token(world.foreign_account).secret
    assert call(client, method, path.format(**world.ids()), automation, body).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/{a}/zones/{fz}",
        "/accounts/{a}/zones/{fz}/records",
        "/accounts/{fa}/zones/{z}",
        "/accounts/{a}/zones/99999999",
        "/accounts/999999999999999999/zones",
        "/accounts/99999999999999999999999/zones",
        "/accounts/abc/zones",
        "/no/such/route",
    ],
)
def test_foreign_unknown_and_malformed_ids_get_404(client, world, path):
    secret = user_secret(world.owner)
    ids = {**world.ids(), "fz": world.foreign_zone.pk, "fa": world.foreign_account.pk}
    response = call(client, "GET", path.format(**ids), secret)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("state", ["expired", "revoked"])
@pytest.mark.parametrize("path", ["/whoami", "/tokens/self", "/accounts", "/accounts/{a}/zones"])
def test_expired_and_revoked_tokens_get_401(client, world, state, path):
    created = issue_user_token(world.owner)
    if state == "expired":
        Token.objects.filter(pk=created.token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    else:
        Token.objects.filter(pk=created.token.pk).delete()
    response = call(client, "GET", path.format(**world.ids()), created.secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"] == 'Bearer realm="keyward", error="invalid_token"'


# --------------------------------------------------------------------------- authentication


def test_no_credentials_get_401_without_an_error_parameter(client, world):
    response = call(client, "GET", "/whoami")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"] == 'Bearer realm="keyward"'


def test_query_string_and_session_cookie_do_not_authenticate(client, world):
    secret = user_secret(world.owner)
    assert call(client, "GET", f"/whoami?access_token={secret}").status_code == 401
    assert call(client, "GET", f"/accounts?token={secret}").status_code == 401
    client.force_login(world.owner)
    assert call(client, "GET", "/whoami").status_code == 401
    assert call(client, "GET", f"/accounts/{world.account.pk}/zones").status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer kwu_" + "A" * 38,
        "Bearer kwu_aaa kwu_bbb",
        "Bearer {secret}, Bearer {secret}",
        "Bearer " + "x" * 10_000,
        "Bearer kwu_ääääääääääääääääääääääääääääääääääääää",
        "Bearer \x00\x01",
        "Bearer ' OR 1=1 --",
    ],
)
def test_garbage_authorization_headers_get_401_never_500(client, world, header):
    secret = user_secret(world.owner)
    for path in ("/whoami", f"/accounts/{world.account.pk}/zones"):
        response = call(client, "GET", path, HTTP_AUTHORIZATION=header.format(secret=secret))
        assert response.status_code == 401, header
        assert response.json()["error"] == "invalid_token"
        assert "Traceback" not in response.content.decode()


def test_the_scheme_is_case_insensitive(client, world):
    secret = user_secret(world.owner)
    response = call(client, "GET", "/whoami", HTTP_AUTHORIZATION=f"bearer {secret}")
    assert response.status_code == 200


def test_failed_attempts_are_rate_limited_per_ip(client, world):
    secret = user_secret(world.owner)
    for _ in range(30):
        assert call(client, "GET", "/whoami", "kwu_" + "A" * 38).status_code == 401
    response = call(client, "GET", "/whoami", secret)
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    # Another address is not affected.
    assert call(client, "GET", "/whoami", secret, REMOTE_ADDR="192.0.2.44").status_code == 200


# --------------------------------------------------------------------------- whoami and tokens


def test_whoami_for_a_user_token(client, world):
    created = issue_user_token(world.owner, name="CLI", scopes=["zones:read"])
    response = call(client, "GET", "/whoami", created.secret)
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"token", "user", "account"}
    assert set(data["token"]) == TOKEN_KEYS
    assert data["token"]["id"] == created.token.pk and data["token"]["type"] == "user"
    assert data["token"]["scopes"] == ["zones:read"] and data["token"]["role"] is None
    assert data["user"] == {
        "id": world.owner.pk,
        "email": world.owner.email,
        "name": world.owner.name,
    }
    assert data["account"] is None and "token" not in data["token"]
    assert created.secret not in response.content.decode()
    api_schemas.Data[api_schemas.WhoamiOut].model_validate(response.json())


def test_whoami_for_an_automation_token(client, world):
    created = issue_automation_token(
        world.account, creator=world.owner, role="billing", scopes=["global:read"]
    )
    data = call(client, "GET", "/whoami", created.secret).json()["data"]
    assert data["user"] is None
    assert data["account"] == {
        "id": world.account.pk,
        "slug": world.account.slug,
        "name": world.account.name,
        "plan": world.account.plan,
    }
    assert data["token"]["role"] == "billing" and data["token"]["account"] == data["account"]


def test_whoami_shows_selected_resources(client, world):
    created = issue_user_token(world.owner, resources={"zones": [world.zone.pk]})
    data = call(client, "GET", "/whoami", created.secret).json()["data"]
    assert data["token"]["resources"] == {
        "zones": [world.zone.pk],
        "domains": "all",
        "registrar": "all",
        "certificates": "all",
        "services": "all",
    }


def test_whoami_refuses_other_methods_with_json(client, world):
    response = call(client, "POST", "/whoami", user_secret(world.owner))
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_tokens_self_and_the_owners_token_list(client, world):
    first = issue_user_token(world.owner, name="First")
    issue_user_token(world.owner, name="Second", resources={"zones": [world.zone.pk]})
    issue_user_token(world.engineer, name="Not mine")
    me = call(client, "GET", "/tokens/self", first.secret).json()["data"]
    assert me["name"] == "First" and set(me) == TOKEN_KEYS
    listed = call(client, "GET", "/tokens", first.secret).json()
    assert sorted(token["name"] for token in listed["data"]) == ["First", "Second"]
    assert listed["pagination"]["total_entries"] == 2
    second = next(token for token in listed["data"] if token["name"] == "Second")
    assert second["resources"]["zones"] == [world.zone.pk]
    api_schemas.Page[api_schemas.TokenOut].model_validate(listed)


def test_delete_tokens_self_then_the_same_token_gets_401(client, world):
    created = issue_user_token(world.owner)
    response = call(client, "DELETE", "/tokens/self", created.secret)
    assert response.status_code == 204
    assert call(client, "GET", "/whoami", created.secret).status_code == 401
    event = Event.objects.get(kind="token.revoked")
    assert event.details["revoked_by"] == "self" and event.actor_token_id == created.token.pk


def test_delete_a_token_by_id(client, world):
    caller = issue_user_token(world.owner, name="Admin")
    own_other = issue_user_token(world.owner, name="Old")
    members = issue_user_token(world.viewer, name="Viewer's")
    automation = issue_automation_token(world.account, creator=world.owner)
    foreign = issue_user_token(world.foreign_owner)
    assert call(client, "DELETE", f"/tokens/{own_other.token.pk}", caller.secret).status_code == 204
    assert call(client, "DELETE", f"/tokens/{members.token.pk}", caller.secret).status_code == 204
    assert (
        call(client, "DELETE", f"/tokens/{automation.token.pk}", caller.secret).status_code == 204
    )
    assert call(client, "DELETE", f"/tokens/{foreign.token.pk}", caller.secret).status_code == 404
    assert call(client, "DELETE", "/tokens/999999", caller.secret).status_code == 404
    assert Token.objects.filter(pk=foreign.token.pk).exists()
    revoked_by = dict(
        Event.objects.filter(kind="token.revoked").values_list("token_name", "details__revoked_by")
    )
    assert revoked_by == {"Old": "owner", "Viewer's": "superuser", "CI token": "superuser"}


def test_deleting_others_tokens_needs_superuser_role_and_global_scope(client, world):
    target = issue_user_token(world.viewer, name="Target")
    engineer = user_secret(world.engineer)
    narrow = user_secret(world.owner, scopes=["global:read"])
    assert call(client, "DELETE", f"/tokens/{target.token.pk}", engineer).status_code == 404
    response = call(client, "DELETE", f"/tokens/{target.token.pk}", narrow)
    assert response.status_code == 403 and response.json()["required_scope"] == "global"
    viewer_automation = issue_automation_token(world.account, role="user")
    assert (
        call(client, "DELETE", f"/tokens/{target.token.pk}", viewer_automation.secret).status_code
        == 404
    )
    assert Token.objects.filter(pk=target.token.pk).exists()


# --------------------------------------------------------------------------- POST /tokens


def test_create_a_token_with_email_and_password_then_use_it(client, world, password):
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "From curl", "scopes": ["zones:read"]},
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert set(data) == TOKEN_KEYS | {"token", "blocked_in"}
    assert data["blocked_in"] == []
    assert data["scopes"] == ["zones:read"] and data["resources"]["zones"] == "all"
    assert data["user"]["email"] == world.owner.email and data["type"] == "user"
    expires = timezone.datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert response["Cache-Control"] == "no-store"
    api_schemas.Data[api_schemas.CreatedTokenOut].model_validate(response.json())
    secret = data["token"]
    assert call(client, "GET", f"/accounts/{world.account.pk}/zones", secret).status_code == 200
    assert call(client, "GET", f"/accounts/{world.account.pk}/domains", secret).status_code == 403
    # The secret is never shown again.
    assert secret not in call(client, "GET", "/tokens/self", secret).content.decode()
    assert secret not in call(client, "GET", "/tokens", secret).content.decode()


def test_create_defaults_and_never_expiring(client, world, password):
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "Forever", "expires_at": None},
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    data = response.json()["data"]
    assert data["scopes"] == ["global"] and data["expires_at"] is None
    assert set(data["resources"].values()) == {"all"}


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "invalid_credentials"),
        ("Basic !!!", 401, "invalid_credentials"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), 401, "invalid_credentials"),
        ("Bearer kwu_x", 401, "invalid_credentials"),
        ("wrong-password", 401, "invalid_credentials"),
    ],
)
def test_create_refuses_bad_credentials(client, world, header, status, code):
    if header == "wrong-password":
        header = basic(world.owner.email, "not the password")
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = call(client, "POST", "/tokens", body={"name": "x"}, **extra)
    assert response.status_code == status and response.json()["error"] == code
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not Token.objects.exists()


def test_create_is_throttled_like_sign_in(client, world, password):
    for _ in range(5):
        call(
            client,
            "POST",
            "/tokens",
            body={"name": "x"},
            HTTP_AUTHORIZATION=basic(world.owner.email, "wrong"),
        )
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "x"},
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    assert response.status_code == 429 and response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_create_throttles_the_guessing_address_not_the_person(client, world, password):
    for _ in range(5):
        call(
            client,
            "POST",
            "/tokens",
            body={"name": "x"},
            HTTP_AUTHORIZATION=basic(world.owner.email, "wrong"),
            REMOTE_ADDR="203.0.113.66",
        )
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "x"},
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
        REMOTE_ADDR="198.51.100.5",
    )
    assert response.status_code == 201


@pytest.mark.parametrize("flag", ["force_sso", "require_2fa"])
def test_create_is_refused_when_an_account_enforces_sso_or_2fa(client, world, password, flag):
    setattr(world.account, flag, True)
    world.account.save()
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "x"},
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    assert response.status_code == 403 and world.account.name in response.json()["message"]
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "scopes": ["root"]}, "scopes.0"),
        ({"name": "x", "scopes": "global"}, "scopes"),
        ({"name": "x", "resources": {"zones": [999999]}}, "resources.zones"),
        ({"name": "x", "resources": {"zones": "everything"}}, "resources.zones"),
        ({"name": "x", "expires_at": "yesterday"}, "expires_at"),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "expires_at": "2031-01-01T00:00:00"}, "expires_at"),
        ([], "body"),
    ],
)
def test_create_reports_invalid_fields(client, world, password, body, field):
    response = call(
        client,
        "POST",
        "/tokens",
        body=body,
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    assert response.status_code == 422, response.content
    payload = response.json()
    assert payload["error"] == "invalid_request" and field in payload["fields"]
    assert not Token.objects.exists()


def test_create_refuses_a_body_that_is_not_json(client, world, password):
    response = call(
        client,
        "POST",
        "/tokens",
        body="{not json",
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_101st_token_gets_409(client, world, password):
    for n in range(100):
        issue_user_token(world.owner, name=f"t{n}")
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "one more"},
        HTTP_AUTHORIZATION=basic(world.owner.email, password),
    )
    assert response.status_code == 409
    assert response.json()["error"] == "token_limit_reached"


# --------------------------------------------------------------------------- accounts


def test_accounts_lists_where_the_token_acts(client, world):
    second = AccountFactory(name="Another", slug="another", plan=Plan.ENTERPRISE)
    Membership.objects.create(user=world.owner, account=second, role="user")
    data = call(client, "GET", "/accounts", user_secret(world.owner)).json()["data"]
    assert data == [
        {
            "id": world.account.pk,
            "slug": world.account.slug,
            "name": world.account.name,
            "plan": world.account.plan,
        },
        {"id": second.pk, "slug": "another", "name": "Another", "plan": "enterprise"},
    ]  # "Acme Test" before "Another": ordered by name
    automation = issue_automation_token(world.account).secret
    assert [a["id"] for a in call(client, "GET", "/accounts", automation).json()["data"]] == [
        world.account.pk
    ]


def test_billing_shows_plan_and_price(client, world):
    world.account.billing_email = "invoices@example.org"
    world.account.save()
    data = call(
        client, "GET", f"/accounts/{world.account.pk}/billing", user_secret(world.billing)
    ).json()["data"]
    assert data["plan"] == "teams" and data["monthly_price"] == 50 and data["currency"] == "USD"
    assert data["billing_email"] == "invoices@example.org"
    response = call(
        client, "GET", f"/accounts/{world.account.pk}/billing", user_secret(world.engineer)
    )
    assert response.status_code == 403 and response.json()["required_scope"] == "global:read"


# --------------------------------------------------------------------------- lists


def test_lists_show_only_selected_resources(client, world):
    secret = user_secret(
        world.owner,
        scopes=["zones:read"],
        resources={"zones": [world.other_zone.pk]},
    )
    response = call(client, "GET", f"/accounts/{world.account.pk}/zones", secret)
    assert [zone["name"] for zone in response.json()["data"]] == ["acme.dev"]
    assert response.json()["pagination"]["total_entries"] == 1
    assert (
        call(
            client, "GET", f"/accounts/{world.account.pk}/zones/{world.zone.pk}", secret
        ).status_code
        == 404
    )
    assert (
        call(
            client, "GET", f"/accounts/{world.account.pk}/zones/{world.other_zone.pk}", secret
        ).status_code
        == 200
    )


def test_lists_are_paged(client, world):
    for n in range(5):
        ZoneFactory(account=world.account, name=f"z{n}.example")
    secret = user_secret(world.owner)
    path = f"/accounts/{world.account.pk}/zones"
    first = call(client, "GET", f"{path}?per_page=3", secret).json()
    assert len(first["data"]) == 3
    assert first["pagination"] == {
        "current_page": 1,
        "per_page": 3,
        "total_entries": 7,
        "total_pages": 3,
    }
    last = call(client, "GET", f"{path}?per_page=3&page=3", secret).json()
    assert len(last["data"]) == 1 and last["pagination"]["total_entries"] == 7
    beyond = call(client, "GET", f"{path}?per_page=3&page=9", secret).json()
    assert beyond["data"] == [] and beyond["pagination"]["total_entries"] == 7
    for query in ("page=0", "per_page=101", "page=abc", "per_page=-1"):
        response = call(client, "GET", f"{path}?{query}", secret)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request"


# --------------------------------------------------------------------------- writes change rows


def test_record_create_and_delete(client, world):
    secret = user_secret(world.engineer, scopes=["zones:write"])
    base = f"/accounts/{world.account.pk}/zones/{world.zone.pk}/records"
    response = call(
        client,
        "POST",
        base,
        secret,
        {"type": "MX", "name": "@", "content": "mail.acme.example.", "priority": 10},
    )
    assert response.status_code == 201, response.content
    record = Record.objects.get(pk=response.json()["data"]["id"])
    assert (record.type, record.name, record.priority) == ("MX", "", 10)
    event = Event.objects.get(kind="api.write")
    assert (
        event.summary
        == f"Token “Test token” ({Token.objects.get().display}) created MX record @ in acme.example"
    )
    assert call(client, "DELETE", f"{base}/{record.pk}", secret).status_code == 204
    assert not Record.objects.filter(pk=record.pk).exists()
    # A record of another zone is not reachable through this zone.
    elsewhere = RecordFactory(zone=world.other_zone)
    assert call(client, "DELETE", f"{base}/{elsewhere.pk}", secret).status_code == 404
    assert Record.objects.filter(pk=elsewhere.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "A", "content": "not-an-ip"}, "content"),
        ({"type": "AAAA", "content": "203.0.113.1"}, "content"),
        ({"type": "BOGUS", "content": "x"}, "type"),
        ({"type": "A", "content": "203.0.113.1", "ttl": 5}, "ttl"),
        ({"type": "MX", "content": "mail.example."}, "priority"),
        ({"type": "A", "content": "203.0.113.1", "priority": 3}, "priority"),
        ({"type": "CNAME", "name": "@", "content": "x.example."}, "name"),
        ({"type": "CNAME", "name": "www", "content": "x.example."}, "name"),
        ({"type": "A", "name": "bad name!", "content": "203.0.113.1"}, "name"),
        ({"type": "A", "content": ""}, "content"),
        ({"type": "A"}, "content"),
        ({"type": "A", "content": "203.0.113.1", "ttl": "soon"}, "ttl"),
    ],
)
def test_record_validation(client, world, body, field):
    secret = user_secret(world.owner)
    before = Record.objects.count()
    response = call(
        client, "POST", f"/accounts/{world.account.pk}/zones/{world.zone.pk}/records", secret, body
    )
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert Record.objects.count() == before and not Event.objects.filter(kind="api.write").exists()


def test_domain_create_needs_all_domains_and_unique_names(client, world):
    path = f"/accounts/{world.account.pk}/domains"
    selected = user_secret(world.owner, resources={"domains": [world.domain.pk]})
    response = call(client, "POST", path, selected, {"name": "fresh.example"})
    assert response.status_code == 403 and response.json()["required_scope"] == "domains:write"
    secret = user_secret(world.owner)
    assert call(client, "POST", path, secret, {"name": "acme.example"}).status_code == 422
    assert call(client, "POST", path, secret, {"name": "not a domain"}).status_code == 422
    response = call(client, "POST", path, secret, {"name": "Fresh.Example", "auto_renew": True})
    assert response.status_code == 201
    domain = Domain.objects.get(name="fresh.example")
    assert domain.auto_renew and domain.expires_at > timezone.now() + timedelta(days=364)
    assert call(client, "DELETE", f"{path}/{domain.pk}", secret).status_code == 204
    assert not Domain.objects.filter(pk=domain.pk).exists()


def test_registrar_renewal_and_auto_renewal(client, world):
    secret = user_secret(world.billing, scopes=["registrar:write"])
    path = f"/accounts/{world.account.pk}/registrar/domains/{world.domain.pk}"
    before = world.domain.expires_at
    response = call(client, "POST", f"{path}/renewals", secret)
    assert response.status_code == 201
    world.domain.refresh_from_db()
    assert timedelta(days=365) <= world.domain.expires_at - before <= timedelta(days=366)
    assert call(client, "PUT", f"{path}/auto_renewal", secret).json()["data"]["auto_renew"] is True
    world.domain.refresh_from_db()
    assert world.domain.auto_renew
    assert call(client, "DELETE", f"{path}/auto_renewal", secret).status_code == 200
    world.domain.refresh_from_db()
    assert not world.domain.auto_renew
    assert call(client, "GET", path, secret).json()["data"]["auto_renew"] is False


def test_certificate_renewal_extends_by_ninety_days(client, world):
    secret = user_secret(world.owner, scopes=["certificates:write"])
    before = world.certificate.expires_at
    response = call(
        client,
        "POST",
        f"/accounts/{world.account.pk}/certificates/{world.certificate.pk}/renewals",
        secret,
    )
    assert response.status_code == 201
    world.certificate.refresh_from_db()
    assert world.certificate.expires_at - before == timedelta(days=90)


def test_tls_management_renews_certificates_whatever_the_role(client, world):
    secret = issue_automation_token(
        world.account, role="user", scopes=["zones:read"], tls_access=True
    ).secret
    path = f"/accounts/{world.account.pk}/certificates/{world.certificate.pk}/renewals"
    assert call(client, "POST", path, secret).status_code == 201
    assert (
        call(
            client,
            "POST",
            f"/accounts/{world.account.pk}/zones/{world.zone.pk}/records",
            secret,
            {"type": "A", "content": "203.0.113.1"},
        ).status_code
        == 403
    )


def test_service_patch(client, world):
    secret = user_secret(world.engineer, scopes=["services:write"])
    path = f"/accounts/{world.account.pk}/services/{world.service.pk}"
    response = call(client, "PATCH", path, secret, {"name": "Website", "default_ttl": 600})
    assert response.status_code == 200
    world.service.refresh_from_db()
    assert (world.service.name, world.service.default_ttl) == ("Website", 600)
    for body, field in (
        ({"hostname": "not a host"}, "hostname"),
        ({"default_ttl": -5}, "default_ttl"),
        ({"name": None}, "name"),
        ({}, "__all__"),
        ({"name": ""}, "name"),
    ):
        response = call(client, "PATCH", path, secret, body)
        assert response.status_code == 422 and field in response.json()["fields"], body
    ServiceFactory(account=world.account, name="Taken")
    assert call(client, "PATCH", path, secret, {"name": "Taken"}).status_code == 422


def test_purges_are_recorded(client, world):
    secret = user_secret(world.engineer, scopes=["purge_select", "purge_all"])
    path = f"/accounts/{world.account.pk}/services/{world.service.pk}"
    assert (
        call(client, "POST", f"{path}/purge", secret, {"surrogate_key": "product-42"}).status_code
        == 202
    )
    assert call(client, "POST", f"{path}/purge_all", secret).status_code == 202
    assert list(Purge.objects.order_by("id").values_list("kind", "value")) == [
        ("surrogate_key", "product-42"),
        ("all", ""),
    ]
    for body in (
        {},
        {"url": "https://www.acme.example/", "surrogate_key": "x"},
        {"url": "ftp://www.acme.example/x"},
        {"url": "https://elsewhere.example/x"},
        {"surrogate_key": "has space"},
    ):
        response = call(client, "POST", f"{path}/purge", secret, body)
        assert response.status_code == 422, body
    assert Purge.objects.count() == 2


@pytest.mark.parametrize("body", ["null", "[]", '"text"', "{", '{"type": {"nested": 1}}', "1e999"])
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/{a}/zones/{z}/records",
        "/accounts/{a}/domains",
        "/accounts/{a}/services/{s}/purge",
    ],
)
def test_malformed_bodies_never_cause_a_500(client, world, body, path):
    response = call(client, "POST", path.format(**world.ids()), user_secret(world.owner), body)
    assert response.status_code in (400, 422)
    assert response.json()["error"] == "invalid_request"


def test_patch_with_malformed_body(client, world):
    path = f"/accounts/{world.account.pk}/services/{world.service.pk}"
    for body in ("[]", '{"default_ttl": "long"}', "{"):
        response = call(client, "PATCH", path, user_secret(world.owner), body)
        assert response.status_code in (400, 422)


# --------------------------------------------------------------------------- roles at request time


def test_demoting_the_owner_reduces_what_the_token_can_do_on_the_next_request(client, world):
    secret = user_secret(world.engineer)
    path = f"/accounts/{world.account.pk}/zones/{world.zone.pk}/records"
    body = {"type": "A", "name": "one", "content": "203.0.113.1"}
    assert call(client, "POST", path, secret, body).status_code == 201
    Membership.objects.filter(user=world.engineer).update(role="user")
    response = call(client, "POST", path, secret, {**body, "name": "two"})
    assert response.status_code == 403 and response.json()["required_scope"] == "zones:write"
    assert call(client, "GET", path, secret).status_code == 200
    Membership.objects.filter(user=world.engineer).delete()
    assert call(client, "GET", path, secret).status_code == 404
    world.engineer.is_active = False
    world.engineer.save()
    assert call(client, "GET", "/whoami", secret).status_code == 401


def test_an_ip_allow_list_is_enforced(client, world):
    secret = user_secret(world.owner, allowed_ips=["10.0.0.0/8"])
    assert call(client, "GET", "/whoami", secret, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert call(client, "GET", "/whoami", secret, REMOTE_ADDR="192.0.2.1").status_code == 401


# --------------------------------------------------------------------------- query counts


def test_authentication_and_authorization_take_two_queries_on_the_warm_path(client, world):
    secret = user_secret(world.owner)
    path = f"/accounts/{world.account.pk}/zones/{world.zone.pk}"
    assert call(client, "GET", path, secret).status_code == 200  # first use writes last_used
    with CaptureQueriesContext(connection) as queries:
        assert call(client, "GET", path, secret).status_code == 200
    tables = [query["sql"] for query in queries.captured_queries]
    assert len(tables) == 2, tables
    # The bearer lookup reads the account and the role there in the same query.
    assert "tokens_token" in tables[0] and "accounts_membership" in tables[0]
    assert "accounts_zone" in tables[1]  # the zone itself: not authentication


def test_whoami_takes_one_query(client, world, django_assert_num_queries):
    secret = user_secret(world.owner)
    call(client, "GET", "/whoami", secret)
    with django_assert_num_queries(1):
        assert call(client, "GET", "/whoami", secret).status_code == 200


def test_a_selected_resource_costs_one_more_query(client, world, django_assert_max_num_queries):
    secret = user_secret(world.owner, resources={"zones": [world.zone.pk]})
    path = f"/accounts/{world.account.pk}/zones/{world.zone.pk}"
    call(client, "GET", path, secret)
    with django_assert_max_num_queries(4):
        assert call(client, "GET", path, secret).status_code == 200


def test_list_queries_do_not_grow_with_rows(client, world, django_assert_max_num_queries):
    secret = user_secret(world.owner, resources={"zones": [world.zone.pk, world.other_zone.pk]})
    path = f"/accounts/{world.account.pk}/zones"
    call(client, "GET", path, secret)
    with django_assert_max_num_queries(3):
        call(client, "GET", path, secret)
    for n in range(40):
        RecordFactory(zone=ZoneFactory(account=world.account))
        issue_user_token(world.owner, name=f"n{n}", resources={"zones": [world.zone.pk]})
    with django_assert_max_num_queries(4):
        assert len(call(client, "GET", path, secret).json()["data"]) == 2
    with django_assert_max_num_queries(4):
        assert len(call(client, "GET", "/tokens?per_page=100", secret).json()["data"]) == 41


def test_last_used_is_written_at_most_once_a_minute(client, world):
    created = issue_user_token(world.owner)
    call(client, "GET", "/whoami", created.secret, HTTP_USER_AGENT="ci/1.0")
    token = Token.objects.get(pk=created.token.pk)
    assert token.last_used_ip == "127.0.0.1" and token.last_used_user_agent == "ci/1.0"
    first = token.last_used_at
    with CaptureQueriesContext(connection) as queries:
        call(client, "GET", "/whoami", created.secret)
    assert not any(query["sql"].startswith("UPDATE") for query in queries.captured_queries)
    assert Token.objects.get(pk=created.token.pk).last_used_at == first
    Token.objects.filter(pk=created.token.pk).update(last_used_at=first - timedelta(minutes=2))
    call(client, "GET", "/whoami", created.secret)
    assert Token.objects.get(pk=created.token.pk).last_used_at > first


# --------------------------------------------------------------------------- schema and docs


def test_openapi_schema_documents_every_route(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for method, path, *_ in ROUTES:
        documented = "/api/v1" + path.format(
            a="{account_id}",
            z="{zone_id}",
            r="{record_id}",
            d="{domain_id}",
            c="{certificate_id}",
            s="{service_id}",
        )
        assert method.lower() in paths[documented], documented
    for path in ("/api/v1/whoami", "/api/v1/tokens", "/api/v1/tokens/self", "/api/v1/accounts"):
        assert path in paths
    assert "bearer" in json.dumps(response.json()["components"]["securitySchemes"]).lower()


def test_docs_page_loads_its_scripts_from_this_site(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/ninja/swagger-ui-bundle.js"></script>' in html
    assert "cdn" not in html.lower() and "<script>" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/tokens", {"name": "a\x00b"}, "name"),
        ("POST", "/tokens", {"name": "x", "resources": {"zones": [10**30]}}, "resources.zones"),
        ("POST", "/accounts/{a}/services/{s}/purge", {"url": "https://[::1/"}, "url"),
        (
            "POST",
            "/accounts/{a}/services/{s}/purge",
            {"url": "https://www.acme.example/\x00"},
            "url",
        ),
        ("PATCH", "/accounts/{a}/services/{s}", {"name": "a\x00b"}, "name"),
        ("POST", "/accounts/{a}/zones/{z}/records", {"type": "TXT", "content": "a\x00"}, "content"),
        ("POST", "/accounts/{a}/domains", {"name": "a\x00.example"}, "name"),
        (
            "POST",
            "/accounts/{a}/zones/{z}/records",
            {"type": "A", "content": "203.0.113.1", "ttl": 10**30},
            "ttl",
        ),
    ],
)
def test_nasty_values_are_refused_not_a_500(client, world, password, method, path, body, field):
    """NUL bytes (PostgreSQL refuses them), 100-bit ids, unparsable URLs: 422, never 500."""
    if path == "/tokens":
        extra = {"HTTP_AUTHORIZATION": basic(world.owner.email, password)}
        response = call(client, method, path, body=body, **extra)
    else:
        response = call(client, method, path.format(**world.ids()), user_secret(world.owner), body)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]


def test_nul_in_basic_credentials_is_a_plain_401(client, world):
    response = call(
        client,
        "POST",
        "/tokens",
        body={"name": "x"},
        HTTP_AUTHORIZATION=basic("a\x00b@example.com", "x"),
    )
    assert response.status_code == 401


def test_a_wrong_method_answers_json_405(client, world):
    response = call(client, "PUT", "/tokens", user_secret(world.owner))
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
