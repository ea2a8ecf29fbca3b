"""SPEC 6 "Remove from <account>": a superuser of one account cuts a member's user token
off from that account only; the token keeps working in its owner's other accounts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import AccountFactory, MembershipFactory, UserFactory, issue_user_token
from tokens.models import Event, EventKind, Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_accounts():
    """solo@ manages Solo; owner@ is superuser in Acme and engineer in Solo (as the demo)."""
    acme, solo = AccountFactory(slug="acme"), AccountFactory(slug="solo", name="Solo Studio")
    owner, solo_admin = UserFactory(), UserFactory()
    MembershipFactory(user=owner, account=acme, role="superuser")
    MembershipFactory(user=owner, account=solo, role="engineer")
    MembershipFactory(user=solo_admin, account=solo, role="superuser")
    return acme, solo, owner, solo_admin


def whoami_in(client, secret, account):
    return client.get(
        f"/api/v1/accounts/{account.pk}/zones", HTTP_AUTHORIZATION=f"Bearer {secret}"
    ).status_code


def test_the_panel_removes_a_members_token_from_one_account_only(client, two_accounts):
    acme, solo, owner, solo_admin = two_accounts
    created = issue_user_token(owner, name="deploys")
    assert whoami_in(client, created.secret, solo) == 200
    client.force_login(solo_admin)
    url = reverse("tokens:delete", args=[created.token.pk]) + "?account=solo"

    page = client.get(url)
    assert "Remove from Solo Studio" in page.content.decode()
    response = client.post(url, {"account": "solo"})

    assert response.status_code == 302
    assert Token.objects.filter(pk=created.token.pk).exists()
    assert whoami_in(client, created.secret, solo) == 404
    assert whoami_in(client, created.secret, acme) == 200
    accounts = client.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert [a["slug"] for a in accounts.json()["data"]] == ["acme"]
    event = Event.objects.get(kind=EventKind.TOKEN_REMOVED)
    assert event.account == solo and event.actor_user == solo_admin
    # The owner sees who removed it from where; Solo's token page no longer lists it.
    client.force_login(owner)
    personal = client.get(reverse("tokens:list")).content.decode()
    assert f"Removed from Solo Studio by {solo_admin.email}" in personal
    client.force_login(solo_admin)
    listed = client.get(reverse("tokens:account-list", args=["solo"])).content.decode()
    assert "deploys" not in listed


def test_the_api_removes_instead_of_revoking(client, two_accounts):
    acme, solo, owner, solo_admin = two_accounts
    created = issue_user_token(owner, name="deploys")
    admin_token = issue_user_token(solo_admin, name="admin").secret

    response = client.delete(
        f"/api/v1/tokens/{created.token.pk}", HTTP_AUTHORIZATION=f"Bearer {admin_token}"
    )

    assert response.status_code == 204
    assert whoami_in(client, created.secret, solo) == 404
    assert whoami_in(client, created.secret, acme) == 200
    # Removed already: the superuser reaches it no more.
    again = client.delete(
        f"/api/v1/tokens/{created.token.pk}", HTTP_AUTHORIZATION=f"Bearer {admin_token}"
    )
    assert again.status_code == 404


def test_a_token_acting_only_where_the_superuser_manages_is_revoked_outright(client, two_accounts):
    _, solo, _, solo_admin = two_accounts
    member = UserFactory()
    MembershipFactory(user=member, account=solo, role="engineer")
    created = issue_user_token(member, name="only solo")
    client.force_login(solo_admin)
    url = reverse("tokens:delete", args=[created.token.pk]) + "?account=solo"
    assert "Delete token" in client.get(url).content.decode()
    client.post(url, {"account": "solo"})
    assert not Token.objects.filter(pk=created.token.pk).exists()


def test_removal_adds_no_query_to_the_request_path(client, two_accounts, django_assert_num_queries):
    acme, _, owner, _ = two_accounts
    secret = issue_user_token(owner).secret
    path = f"/api/v1/accounts/{acme.pk}/zones"
    client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")  # first use writes last_used
    with django_assert_num_queries(2):
        assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_the_token_page_and_the_api_explainer_leave_out_the_account(client, two_accounts):
    acme, _, owner, solo_admin = two_accounts
    created = issue_user_token(owner, name="deploys")
    client.force_login(solo_admin)
    client.post(
        reverse("tokens:delete", args=[created.token.pk]) + "?account=solo", {"account": "solo"}
    )
    explained = client.get(
        "/api/v1/tokens/self/permissions", HTTP_AUTHORIZATION=f"Bearer {created.secret}"
    ).json()["data"]
    assert [entry["account"]["slug"] for entry in explained["accounts"]] == ["acme"]
    client.force_login(owner)
    page = client.get(reverse("tokens:detail", args=[created.token.pk])).content.decode()
    assert "In Solo Studio" not in page and "In " + acme.name in page
