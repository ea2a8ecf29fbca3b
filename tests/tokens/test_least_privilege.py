"""SPEC 13 through the API: usage, the explainer, X-Accepted-Scopes; suggested scopes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.constants import Plan
from tests.factories import (
    AccountFactory,
    ZoneFactory,
    issue_automation_token,
    issue_user_token,
)
from tests.tokens.conftest import call
from tokens.permissions import suggest_scopes
from tokens.usage.rules import Denial
from tokens.usage.services import usage_record

# SPEC 4, "Roles cap everything", written out (tests state the spec).
ALL_OPERATIONS = {
    "zones:read", "zones:write", "domains:read", "domains:write", "registrar:read",
    "registrar:write", "certificates:read", "certificates:write", "services:read",
    "services:write", "purge_select", "purge_all", "billing:read", "manage_tokens",
}  # fmt: skip
ROLE_ALLOWS = {
    "superuser": ALL_OPERATIONS,
    "engineer": {
        "zones:read", "zones:write", "domains:read", "domains:write", "services:read",
        "services:write", "certificates:read", "registrar:read", "purge_select", "purge_all",
    },
    "user": {"zones:read", "domains:read", "services:read", "certificates:read", "registrar:read"},
    "billing": {"registrar:read", "registrar:write", "billing:read"},
}  # fmt: skip


def explained(client, secret):
    response = call(client, "GET", "/tokens/self/permissions", secret)
    assert response.status_code == 200
    return {entry["account"]["slug"]: entry for entry in response.json()["data"]["accounts"]}


# --------------------------------------------------------------------------- suggestions

SUGGESTIONS = [
    ([], []),
    (["tokens"], []),
    (["zones:read"], ["zones:read"]),
    (["zones:read", "zones:write"], ["zones:write"]),
    (["zones:write"], ["zones:write"]),
    (["zones:read", "domains:read", "zones:read"], ["zones:read", "domains:read"]),
    (
        ["services:read", "purge_all", "purge_select"],
        ["purge_select", "purge_all", "services:read"],
    ),
    (["billing:read"], []),  # only global:read covers it, and that is never suggested
    (["certificates:write", "registrar:read"], ["registrar:read", "certificates:write"]),
    (
        ["services:write", "services:read", "domains:write", "zones:read", "accounts"],
        ["zones:read", "domains:write", "services:write"],
    ),
]


@pytest.mark.parametrize(("operations", "expected"), SUGGESTIONS)
def test_suggested_scopes(operations, expected):
    assert suggest_scopes(operations) == expected


# --------------------------------------------------------------------------- the explainer


@pytest.mark.django_db
@pytest.mark.parametrize("plan", [Plan.SOLO, Plan.TEAMS])
@pytest.mark.parametrize("role", ["superuser", "engineer", "user", "billing"])
def test_a_global_user_token_may_do_what_its_role_allows(client, member_factory, role, plan):
    account = AccountFactory(slug="here", plan=plan)
    secret = issue_user_token(member_factory(account, role)).secret
    entry = explained(client, secret)["here"]
    assert entry["role"] == role
    assert set(entry["operations"]) == ALL_OPERATIONS
    for operation, verdict in entry["operations"].items():
        if operation in ROLE_ALLOWS[role]:
            assert verdict == {"allowed": True}, operation
        else:
            assert verdict["allowed"] is False and verdict["reason"] == "role", operation
    assert entry["resources"] == dict.fromkeys(
        ["zones", "domains", "registrar", "certificates", "services"], "all"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("plan", [Plan.SOLO, Plan.TEAMS])
def test_a_scoped_user_token_is_refused_by_scope_on_every_plan(client, member_factory, plan):
    account = AccountFactory(slug="here", plan=plan)
    zone = ZoneFactory(account=account)
    owner = member_factory(account, "engineer")
    elsewhere = AccountFactory(slug="there", plan=Plan.TEAMS)
    ZoneFactory(account=elsewhere)
    member_factory(elsewhere, "user", email="x@example.org")
    secret = issue_user_token(owner, scopes=["zones:write"], resources={"zones": [zone.pk]}).secret
    entries = explained(client, secret)
    assert list(entries) == ["here"]  # only the owner's accounts
    operations = entries["here"]["operations"]
    assert operations["zones:read"] == operations["zones:write"] == {"allowed": True}
    assert operations["domains:read"] == {
        "allowed": False,
        "reason": "scope",
        "required_scope": "domains:read",
    }
    assert operations["billing:read"]["reason"] == "role"
    assert entries["here"]["resources"]["zones"] == [zone.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["engineer", "user", "billing"])
def test_automation_tokens_by_role_and_plan(client, role):
    account = AccountFactory(slug="acct", plan=Plan.TEAMS)
    scoped = issue_automation_token(account, role=role, scopes=["registrar:read"]).secret
    operations = explained(client, scoped)["acct"]["operations"]
    for operation in ALL_OPERATIONS:
        verdict = operations[operation]
        if operation == "registrar:read":
            assert verdict == {"allowed": True}
        elif operation not in ROLE_ALLOWS[role]:
            assert verdict["reason"] == "role", operation
        else:
            assert verdict["reason"] == "scope", operation

    # Downgraded to Solo: a scoped automation token is refused by the plan, not widened.
    account.plan = Plan.SOLO
    account.save()
    operations = explained(client, scoped)["acct"]["operations"]
    for operation in ALL_OPERATIONS:
        expected = "plan" if operation in ROLE_ALLOWS[role] else "role"
        assert operations[operation]["reason"] == expected, operation
    assert (
        call(client, "GET", f"/accounts/{account.pk}/registrar/domains/1", scoped).status_code
        == 403
    )

    solo = AccountFactory(slug="solo", plan=Plan.SOLO)
    unscoped = issue_automation_token(solo, role=role).secret
    operations = explained(client, unscoped)["solo"]["operations"]
    assert {op for op, verdict in operations.items() if verdict["allowed"]} == ROLE_ALLOWS[role]


# --------------------------------------------------------------------------- X-Accepted-Scopes


@pytest.mark.django_db
def test_account_routes_name_the_accepted_scopes_on_2xx_and_403(client, account, member_factory):
    zone = ZoneFactory(account=account)
    secret = issue_user_token(member_factory(account, "superuser"), scopes=["zones:read"]).secret
    for path in (f"/accounts/{account.pk}/zones", f"/accounts/{account.pk}/zones/{zone.pk}"):
        response = call(client, "GET", path, secret)
        assert response.status_code == 200
        assert response["X-Accepted-Scopes"] == "zones:read, zones:write, global:read, global"
    refused = call(client, "DELETE", f"/accounts/{account.pk}/zones/{zone.pk}/records/1", secret)
    assert refused.status_code == 403
    assert refused["X-Accepted-Scopes"] == "zones:write, global"
    purge = client.post(
        f"/api/v1/accounts/{account.pk}/services/1/purge_all",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert purge.status_code == 403 and purge["X-Accepted-Scopes"] == "purge_all, global"
    billing = call(client, "GET", f"/accounts/{account.pk}/billing", secret)
    assert billing.status_code == 403 and billing["X-Accepted-Scopes"] == "global:read, global"
    assert "X-Accepted-Scopes" not in call(client, "GET", "/whoami", secret)


# --------------------------------------------------------------------------- usage API


@pytest.mark.django_db
def test_usage_of_the_calling_token(client, account, member_factory):
    zone = ZoneFactory(account=account)
    secret = issue_user_token(member_factory(account, "superuser"), scopes=["zones:write"]).secret
    call(client, "GET", f"/accounts/{account.pk}/zones", secret)
    call(client, "GET", f"/accounts/{account.pk}/zones/{zone.pk}", secret)
    call(client, "GET", f"/accounts/{account.pk}/domains", secret)
    response = call(client, "GET", "/tokens/self/usage", secret)  # includes what is still buffered
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["days"] == 30
    by_op = {entry["operation"]: entry for entry in data["operations"]}
    assert set(by_op) == {"zones:read", "domains:read", "tokens"}
    assert (by_op["zones:read"]["allowed"], by_op["zones:read"]["denied"]) == (2, 0)
    assert (by_op["domains:read"]["allowed"], by_op["domains:read"]["denied"]) == (0, 1)
    assert by_op["zones:read"]["last_at"].endswith("Z")
    assert data["denials"] == [
        {
            "at": data["denials"][0]["at"],
            "operation": "domains:read",
            "required_scope": "domains:read",
            "reason": "scope",
            "account_id": account.pk,
            "resource_id": None,
            "ip": "127.0.0.1",
        }
    ]
    assert data["suggested_scopes"] == ["zones:read"]
    again = call(client, "GET", "/tokens/self/usage?days=1", secret).json()["data"]
    assert again["days"] == 1
    assert {e["operation"]: e["allowed"] for e in again["operations"]}["tokens"] == 2  # both calls


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "91", "x"])
def test_usage_window_is_one_to_ninety_days(client, account, member_factory, days):
    secret = issue_user_token(member_factory(account, "superuser")).secret
    response = call(client, "GET", f"/tokens/self/usage?days={days}", secret)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


@pytest.mark.django_db
def test_usage_by_id_has_the_reach_of_revoke(client, account, member_factory):
    owner = member_factory(account, "superuser")
    member = member_factory(account, "engineer")
    stranger_account = AccountFactory(slug="other")
    stranger = member_factory(stranger_account, "superuser")
    member_token = issue_user_token(member)
    automation = issue_automation_token(account)
    stranger_token = issue_user_token(stranger)
    usage_record(
        token_id=member_token.token.pk,
        operation="zones:write",
        allowed=False,
        now=timezone.now(),
        denial=Denial("zones:write", "zones:write", account.pk, 7, "203.0.113.9"),
    )
    secret = issue_user_token(owner).secret
    response = call(client, "GET", f"/tokens/{member_token.token.pk}/usage", secret)
    assert response.status_code == 200
    assert response.json()["data"]["denials"][0]["resource_id"] == 7
    assert call(client, "GET", f"/tokens/{automation.token.pk}/usage", secret).status_code == 200
    assert (
        call(client, "GET", f"/tokens/{stranger_token.token.pk}/usage", secret).status_code == 404
    )
    assert call(client, "GET", "/tokens/999999/usage", secret).status_code == 404
    # A member reaches only their own tokens; an automation token only itself.
    assert (
        call(client, "GET", f"/tokens/{automation.token.pk}/usage", member_token.secret).status_code
        == 404
    )
    own = call(client, "GET", f"/tokens/{member_token.token.pk}/usage", member_token.secret)
    assert own.status_code == 200
    assert (
        call(client, "GET", f"/tokens/{member_token.token.pk}/usage", automation.secret).status_code
        == 404
    )
    narrow = issue_user_token(owner, scopes=["zones:read"]).secret
    refused = call(client, "GET", f"/tokens/{member_token.token.pk}/usage", narrow)
    assert refused.status_code == 403 and refused.json()["required_scope"] == "global"
