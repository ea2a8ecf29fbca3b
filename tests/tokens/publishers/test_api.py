"""The publishers API (SPEC 18): GET/POST .../publishers, GET/DELETE .../publishers/{id}, for a
superuser's token with `global` on everything; the same rules as the page (422 naming the
field), and the account's reach."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import AccountFactory, issue_user_token
from tests.tokens.conftest import call, set_policy
from tests.tokens.publishers.conftest import exchange, github_conditions
from tokens.models import Event, Token
from tokens.publishers.models import Publisher

pytestmark = pytest.mark.django_db

KEYS = {"id", "name", "provider", "issuer", "conditions", "grant", "created_at"}
GRANT_KEYS = {"role", "scopes", "resources", "record_rules", "tls_access", "lifetime_minutes"}


def body(server, **overrides: Any) -> dict[str, Any]:
    """A publisher's JSON for the test issuer `server`; `overrides` replace its keys."""
    return {
        "name": "Deploys",
        "provider": "github",
        "issuer": server.issuer,
        "conditions": github_conditions(repository_id=74),
        "grant": {"scopes": ["zones:write"], "lifetime_minutes": 20},
        **overrides,
    }


def path(world, publisher_id: int | None = None) -> str:
    base = f"/accounts/{world.account.pk}/publishers"
    return base if publisher_id is None else f"{base}/{publisher_id}"


def test_create_list_get_and_delete(client, issuer, world, superuser_secret):
    created = call(client, "POST", path(world), superuser_secret, body(issuer))
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert set(data) == KEYS and set(data["grant"]) == GRANT_KEYS
    assert data["provider"] == "github" and data["issuer"] == issuer.issuer
    assert data["conditions"] == {
        "repository": "octo-org/octo-repo",
        "repository_id": "74",
        "repository_owner_id": "65",
        "environment": "prod",
    }
    assert data["grant"] == {
        "role": "engineer",
        "scopes": ["zones:write"],
        "resources": {kind: "all" for kind in GRANT_RESOURCE_KINDS},
        "record_rules": [],
        "tls_access": False,
        "lifetime_minutes": 20,
    }
    event = Event.objects.get(kind="publisher.created")
    assert event.account_id == world.account.pk and event.details["publisher"]["name"] == "Deploys"

    listed = call(client, "GET", path(world), superuser_secret).json()["data"]
    assert [item["id"] for item in listed] == [data["id"]]
    one = call(client, "GET", path(world, data["id"]), superuser_secret)
    assert one.json()["data"] == listed[0]

    minted = exchange(client, issuer.github_token()).json()["data"]
    assert call(client, "DELETE", path(world, data["id"]), superuser_secret).status_code == 204
    assert not Publisher.objects.exists()
    assert not Token.objects.filter(pk=minted["id"]).exists()  # its live token is revoked
    assert call(client, "GET", "/tokens/self", minted["token"]).status_code == 401
    assert Event.objects.filter(kind="publisher.deleted").count() == 1
    assert call(client, "GET", path(world, data["id"]), superuser_secret).status_code == 404


GRANT_RESOURCE_KINDS = ("zones", "domains", "registrar", "certificates", "services")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conditions": github_conditions(repository_id=None)}, "conditions.repository_id"),
        ({"conditions": github_conditions(repository_id="abc")}, "conditions.repository_id"),
        ({"conditions": github_conditions(repository="not a repo")}, "conditions.repository"),
        ({"conditions": github_conditions(branch="main")}, "conditions.branch"),
        ({"conditions": github_conditions(environment=None)}, "conditions.environment"),
        (
            {"conditions": github_conditions(environment=None, ref="refs/heads/*")},
            "conditions.environment",
        ),
        ({"conditions": github_conditions(ref="main")}, "conditions.ref"),
        ({"conditions": github_conditions(workflow="deploy.yml")}, "conditions.workflow"),
        ({"grant": {"scopes": ["zones:write"], "role": "user"}}, "grant.scopes"),
        ({"grant": {"scopes": ["zones:wrte"]}}, "grant.scopes"),
        ({"grant": {"scopes": ["zones:write"], "lifetime_minutes": 61}}, "grant.lifetime_minutes"),
        ({"grant": {"scopes": ["zones:write"], "lifetime_minutes": 4}}, "grant.lifetime_minutes"),
        (
            {"grant": {"scopes": ["zones:write"], "resources": {"zones": [999999]}}},
            "grant.resources.zones",
        ),
        (
            {"grant": {"scopes": ["zones:write"], "record_rules": [{"name": "A B", "types": []}]}},
            "grant.record_rules.0",
        ),
        ({"grant": {"scopes": ["zones:write"], "role": "superuser"}}, "grant.role"),
        ({"grant": {"scope": ["zones:write"]}}, "grant.scope"),
        ({"issuer": "http://ci.example.com"}, "issuer"),
        ({"provider": "bitbucket"}, "provider"),
        ({"name": ""}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_publishers_are_422_naming_the_field(
    client, issuer, world, superuser_secret, change, field
):
    answer = call(client, "POST", path(world), superuser_secret, body(issuer, **change))
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"] == "invalid_request"
    assert field in answer.json()["fields"], answer.json()
    assert not Publisher.objects.exists()


def test_a_read_only_grant_needs_no_pin_and_a_ref_pattern_is_fine_for_it(
    client, issuer, world, superuser_secret
):
    read_only = body(
        issuer,
        conditions=github_conditions(environment=None, ref="refs/tags/v*"),
        grant={"scopes": ["global:read"]},
    )
    assert call(client, "POST", path(world), superuser_secret, read_only).status_code == 201
    assert (
        exchange(client, issuer.github_token(environment=None, ref="refs/tags/v1.2")).status_code
        == 201
    )


def test_a_grant_a_policy_forbids_cannot_be_saved(client, issuer, world, superuser_secret):
    set_policy(world.account, automation_requires_ip_allow_list=True)
    answer = call(client, "POST", path(world), superuser_secret, body(issuer))
    assert answer.status_code == 422
    assert "IP allow-list" in " ".join(answer.json()["fields"]["grant.allowed_ips"])


def test_the_solo_plan_grant_is_global_capped_by_the_role(client, issuer, world, superuser_secret):
    world.account.plan = "solo"
    world.account.save()
    narrowed = call(client, "POST", path(world), superuser_secret, body(issuer))
    assert narrowed.status_code == 422 and "grant.scopes" in narrowed.json()["fields"]
    solo = call(client, "POST", path(world), superuser_secret, body(issuer, grant={}))
    assert solo.status_code == 201 and solo.json()["data"]["grant"]["scopes"] == ["global"]


def test_only_a_superusers_unrestricted_token_manages_publishers(
    client, issuer, world, member_factory
):
    engineer = issue_user_token(member_factory(world.account, "engineer")).secret
    narrowed = issue_user_token(world.owner, scopes=["zones:read"]).secret
    selected = issue_user_token(world.owner, resources={"zones": [world.zone.pk]}).secret
    for secret in (engineer, narrowed, selected):
        answer = call(client, "POST", path(world), secret, body(issuer))
        assert answer.status_code == 403, answer.content
        assert answer.json()["error"] == "insufficient_scope"
        assert call(client, "GET", path(world), secret).status_code == 403
    assert call(client, "GET", path(world)).status_code == 401
    assert not Publisher.objects.exists()


def test_another_accounts_publishers_are_not_found(
    client, issuer, world, superuser_secret, member_factory
):
    other = AccountFactory()
    stranger = member_factory(other, "superuser")
    theirs = call(
        client, "POST", f"/accounts/{other.pk}/publishers", issue_user_token(stranger).secret,
        body(issuer),
    ).json()["data"]  # fmt: skip
    assert (
        call(client, "GET", f"/accounts/{other.pk}/publishers", superuser_secret).status_code == 404
    )
    assert call(client, "GET", path(world, theirs["id"]), superuser_secret).status_code == 404
    assert call(client, "DELETE", path(world, theirs["id"]), superuser_secret).status_code == 404
    assert Publisher.objects.filter(pk=theirs["id"]).exists()


def test_names_are_unique_per_account(client, issuer, world, superuser_secret):
    assert call(client, "POST", path(world), superuser_secret, body(issuer)).status_code == 201
    again = call(client, "POST", path(world), superuser_secret, body(issuer))
    assert again.status_code == 422 and "name" in again.json()["fields"]
