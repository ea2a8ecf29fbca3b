"""A NUL character in any parameter of the panel or the admin is a 400, never a 500.

PostgreSQL refuses NUL in text: before RefuseNulCharacters, each of these reached
a query and crashed (they pass on SQLite only as a 400, which they did not give).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import issue_automation_token

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.fixture
def superuser(account, member_factory):
    return member_factory(account, "superuser")


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("support@keyward.test", "support-password")


def panel_requests(account, token_id):
    slug = account.slug
    return [
        ("get", f"/a/{slug}/events/", {"token": NUL}),
        ("get", f"/a/{slug}/events/", {"kind": NUL, "actor": NUL, "page": NUL}),
        ("get", "/tokens/resources/", {"kind": "zones", "zones_q": NUL}),
        ("get", "/tokens/new/permissions/", {"zones_q": NUL}),
        ("get", f"/a/{slug}/tokens/", {"owner": NUL, "type": NUL}),
        ("get", f"/tokens/{token_id}/delete/", {"account": NUL}),
        ("get", f"/tokens/{token_id}/row/", {"account": NUL}),
        ("post", f"/tokens/{token_id}/delete/", {"account": NUL}),
        ("post", f"/tokens/{token_id}/edit/", {"_refresh": "1", "zones_q": NUL}),
        ("get", f"/a/{slug}/events/", {NUL: "x"}),
    ]


def test_panel_filters_with_nul_are_a_400(client, account, superuser):
    token = issue_automation_token(account, creator=superuser).token
    client.force_login(superuser)
    for method, url, params in panel_requests(account, token.pk):
        response = getattr(client, method)(url, params)
        assert response.status_code == 400, (method, url, params)
        assert b"NUL" in response.content
    assert client.get(f"/a/{account.slug}/events/", {"token": "deploy"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"q": NUL}, {"q": f"acme{NUL}"}, {"type": NUL}, {"user__id__exact": NUL}],
)
@pytest.mark.parametrize(
    "changelist",
    [
        "admin:tokens_token_changelist",
        "admin:tokens_event_changelist",
        "admin:accounts_user_changelist",
        "admin:accounts_zone_changelist",
    ],
)
def test_admin_searches_and_filters_with_nul_are_a_400(client, staff, changelist, params):
    client.force_login(staff)
    assert client.get(reverse(changelist), params).status_code == 400


def test_admin_autocomplete_with_nul_is_a_400(client, staff):
    client.force_login(staff)
    params = {
        "term": NUL,
        "app_label": "accounts",
        "model_name": "membership",
        "field_name": "user",
    }
    assert client.get(reverse("admin:autocomplete"), params).status_code == 400


def test_sign_in_with_nul_is_a_400(client, account, member_factory, password):
    person = member_factory(account, "user")
    response = client.post(
        reverse("accounts:sign-in"), {"email": person.email + NUL, "password": password}
    )
    assert response.status_code == 400
