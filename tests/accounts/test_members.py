"""The members page: superusers list members, change roles and remove members."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from tests.factories import AccountFactory, MembershipFactory, issue_user_token
from tokens.auth.bearer import authenticate
from tokens.models import Event, EventKind, Token

pytestmark = pytest.mark.django_db


def _principal(secret: str, account_id: int | None = None):
    request = RequestFactory().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return authenticate(request, account_id)


@pytest.fixture
def superuser(account, member_factory):
    return member_factory(account, "superuser", email="boss@example.org")


def _membership(user, account) -> Membership:
    return Membership.objects.get(user=user, account=account)


def test_superuser_sees_members_roles_and_active_token_counts(
    client, account, superuser, member_factory
):
    engineer = member_factory(account, "engineer", email="eng@example.org")
    issue_user_token(engineer, name="one")
    issue_user_token(engineer, name="two")
    expired = issue_user_token(engineer, name="old").token
    Token.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    client.force_login(superuser)

    response = client.get(reverse("accounts:members", args=[account.slug]))

    assert response.status_code == 200
    counts = {m.user.email: m.active_tokens for m, _form in response.context["rows"]}
    assert counts == {"boss@example.org": 0, "eng@example.org": 2}
    html = response.content.decode()
    assert "eng@example.org" in html
    assert "Change role" in html


@pytest.mark.parametrize("role", ["engineer", "user", "billing"])
def test_other_roles_get_403(client, account, member_factory, role):
    client.force_login(member_factory(account, role))
    response = client.get(reverse("accounts:members", args=[account.slug]))
    assert response.status_code == 403
    assert "Only superusers manage members" in response.content.decode()


def test_members_page_query_count_does_not_grow(client, account, superuser, member_factory):
    client.force_login(superuser)
    url = reverse("accounts:members", args=[account.slug])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(15):
        issue_user_token(member_factory(account, "user"))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_role_change_applies_to_the_members_token_on_the_next_request(
    client, account, superuser, member_factory
):
    engineer = member_factory(account, "engineer", email="eng@example.org")
    secret = issue_user_token(engineer).secret
    assert _principal(secret, account.pk).access.role == "engineer"
    membership = _membership(engineer, account)
    client.force_login(superuser)

    response = client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "user"},
    )

    assert response.status_code == 302
    assert _membership(engineer, account).role == "user"
    assert _principal(secret, account.pk).access.role == "user"
    event = Event.objects.get(kind=EventKind.ROLE_CHANGED)
    assert event.account == account
    assert event.actor_user == superuser
    assert event.details["before"] == {"role": "engineer"}
    assert event.details["after"] == {"role": "user"}
    assert "eng@example.org" in event.summary


def test_last_superuser_cannot_be_demoted(client, account, superuser):
    membership = _membership(superuser, account)
    client.force_login(superuser)
    response = client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "engineer"},
        follow=True,
    )
    assert _membership(superuser, account).role == "superuser"
    assert "only superuser" in response.content.decode()
    assert not Event.objects.filter(kind=EventKind.ROLE_CHANGED).exists()


def test_a_superuser_can_step_down_when_another_remains(client, account, superuser, member_factory):
    member_factory(account, "superuser")
    membership = _membership(superuser, account)
    client.force_login(superuser)
    response = client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "engineer"},
    )
    assert _membership(superuser, account).role == "engineer"
    assert response["Location"] == reverse("accounts:overview", args=[account.slug])


def test_bad_role_changes_nothing(client, account, superuser, member_factory):
    engineer = member_factory(account, "engineer")
    membership = _membership(engineer, account)
    client.force_login(superuser)
    response = client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "owner"},
        follow=True,
    )
    assert response.status_code == 200
    assert _membership(engineer, account).role == "engineer"
    assert "Choose superuser, engineer, user or billing." in response.content.decode()


def test_foreign_membership_is_404_and_unchanged(client, account, superuser):
    foreign = MembershipFactory(account=AccountFactory(), role="engineer")
    client.force_login(superuser)
    role_url = reverse("accounts:member-role", args=[account.slug, foreign.pk])
    remove_url = reverse("accounts:member-remove", args=[account.slug, foreign.pk])
    assert client.post(role_url, {f"m{foreign.pk}-role": "user"}).status_code == 404
    assert client.post(remove_url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == "engineer"


def test_non_superuser_cannot_change_roles(client, account, superuser, member_factory):
    engineer = member_factory(account, "engineer")
    membership = _membership(superuser, account)
    client.force_login(engineer)
    response = client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "billing"},
    )
    assert response.status_code == 403
    assert _membership(superuser, account).role == "superuser"


def test_remove_member_confirms_then_stops_their_tokens_in_this_account_only(
    client, account, superuser, member_factory
):
    engineer = member_factory(account, "engineer", email="eng@example.org")
    elsewhere = AccountFactory()
    MembershipFactory(user=engineer, account=elsewhere, role="user")
    secret = issue_user_token(engineer).secret
    membership = _membership(engineer, account)
    url = reverse("accounts:member-remove", args=[account.slug, membership.pk])
    client.force_login(superuser)

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "1 active personal token" in confirm.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()

    response = client.post(url)

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert _principal(secret, account.pk).access is None
    assert _principal(secret, elsewhere.pk).access.role == "user"
    event = Event.objects.get(kind=EventKind.MEMBER_REMOVED)
    assert event.account == account
    assert event.details["member"] == "eng@example.org"


def test_last_superuser_cannot_be_removed(client, account, superuser):
    membership = _membership(superuser, account)
    client.force_login(superuser)
    response = client.post(
        reverse("accounts:member-remove", args=[account.slug, membership.pk]), follow=True
    )
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "only superuser" in response.content.decode()


def test_role_change_is_post_only(client, account, superuser):
    membership = _membership(superuser, account)
    client.force_login(superuser)
    url = reverse("accounts:member-role", args=[account.slug, membership.pk])
    assert client.get(url).status_code == 405


def test_the_legacy_key_owner_does_not_count_as_a_superuser(client, account, superuser):
    synthetic = User.objects.create_user(
        "global-api-token+acme-test@keyward.invalid", None, is_synthetic=True
    )
    MembershipFactory(user=synthetic, account=account, role="superuser")
    membership = _membership(superuser, account)
    client.force_login(superuser)
    client.post(
        reverse("accounts:member-role", args=[account.slug, membership.pk]),
        {f"m{membership.pk}-role": "engineer"},
    )
    assert _membership(superuser, account).role == "superuser"
    # The synthetic member itself may be demoted freely.
    synthetic_membership = _membership(synthetic, account)
    client.post(
        reverse("accounts:member-role", args=[account.slug, synthetic_membership.pk]),
        {f"m{synthetic_membership.pk}-role": "user"},
    )
    assert _membership(synthetic, account).role == "user"


@pytest.mark.parametrize(
    ("role", "sees_members"),
    [("superuser", True), ("engineer", False), ("user", False), ("billing", False)],
)
def test_nav_shows_event_log_to_everyone_and_members_to_superusers(
    client, account, member_factory, role, sees_members
):
    client.force_login(member_factory(account, role))
    html = client.get(reverse("accounts:overview", args=[account.slug])).content.decode()
    assert f'href="{reverse("events:event-log", args=[account.slug])}"' in html
    members_link = f'href="{reverse("accounts:members", args=[account.slug])}"'
    assert (members_link in html) is sees_members
